"""Setup stops with a clear message when a prerequisite is missing (scripts/bootstrap.sh)."""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BOOTSTRAP = ROOT / "scripts" / "bootstrap.sh"
BASH = shutil.which("bash")


def run(args, env=None, user=None):
    cmd = [BASH, str(BOOTSTRAP), *args]
    if user is not None:
        cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)


class MissingPrerequisites(unittest.TestCase):
    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="gans-setup-test-"))

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def path_with(self, *tools):
        """A PATH holding only the named tools (links to the real ones)."""
        bin_dir = self.tmp / "bin"
        bin_dir.mkdir(exist_ok=True)
        for tool in tools:
            # python3 may be a pyenv shim that needs its own tools: link the interpreter itself.
            real = os.path.realpath(sys.executable) if tool == "python3" else shutil.which(tool)
            self.assertIsNotNone(real, f"{tool} is needed to run this test")
            (bin_dir / tool).symlink_to(real)
        return str(bin_dir)

    def test_no_npm(self):
        env = dict(os.environ, PATH=self.path_with("dirname", "python3", "cargo", "rustc"))
        result = run(["check"], env=env)
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        self.assertIn("npm not found", result.stderr)
        self.assertIn("apt-get install npm", result.stderr)

    def test_wrong_python(self):
        fake = self.tmp / "python3.8"
        fake.write_text("#!/bin/sh\necho 3.8\n")
        fake.chmod(0o755)
        result = run(["check"], env=dict(os.environ, PYTHON=str(fake)))
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        self.assertIn("is Python 3.8", result.stderr)
        self.assertIn("Python 3.10-3.14", result.stderr)
        self.assertIn("make PYTHON=python3.11", result.stderr)

    def test_missing_python(self):
        result = run(["check"], env=dict(os.environ, PYTHON="/nonexistent/python3"))
        self.assertEqual(result.returncode, 1)
        self.assertIn("/nonexistent/python3 not found", result.stderr)

    @unittest.skipUnless(os.geteuid() == 0 and shutil.which("setpriv"), "needs root to act as another user")
    def test_no_apt_permission(self):
        # As an unprivileged user, a missing Debian package cannot be installed: say how to.
        result = run(["debian", "gans-test-no-such-package"], user="65534")  # nobody
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        self.assertIn("cannot run apt-get", result.stderr)
        self.assertIn("sudo apt-get install gans-test-no-such-package", result.stderr)

    def test_unknown_step(self):
        result = run(["frobnicate"])
        self.assertEqual(result.returncode, 1)
        self.assertIn("unknown step 'frobnicate'", result.stderr)


class LabSettings(unittest.TestCase):
    def test_no_news_prompt_and_no_update_check(self):
        # The project's JupyterLab (inside .venv) must not ask "get notified about official Jupyter
        # news?": its settings override says Never, with values its own schema accepts.
        import json
        result = run(["lab-settings"])
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        overrides = json.loads((ROOT / ".venv/share/jupyter/lab/settings/overrides.json").read_text())
        notification = overrides["@jupyterlab/apputils-extension:notification"]
        self.assertEqual(notification, {"fetchNews": "false", "checkForUpdates": False})
        schema = json.loads((ROOT / ".venv/share/jupyter/lab/schemas/@jupyterlab/apputils-extension/notification.json").read_text())
        allowed = [choice["const"] for choice in schema["properties"]["fetchNews"]["oneOf"]]
        self.assertIn(notification["fetchNews"], allowed)
        self.assertEqual(schema["properties"]["checkForUpdates"]["type"], "boolean")


if __name__ == "__main__":
    unittest.main()
