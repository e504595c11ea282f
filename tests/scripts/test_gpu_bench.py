"""scripts/gpu_bench.sh, the GPU figures' script, without a GPU: it refuses clearly when the
binaries are missing or a part is unknown, and runs a part with libtorch on LD_LIBRARY_PATH.

Stub binaries stand in for the Rust ones (a fresh clone has no release build); the real binaries
were rehearsed on the CPU (docs/performance.md, "GPU").
"""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "gpu_bench.sh"


class GpuBench(unittest.TestCase):
    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="gans-gpu-bench-test-"))
        self.out = self.tmp / "out"

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def run_script(self, bin_dir, *parts):
        env = {**os.environ, "GANS_BIN_DIR": str(bin_dir), "GANS_BENCH_DEVICE": "cpu",
               "PYTHON": sys.executable}
        return subprocess.run([str(SCRIPT), str(self.out), *parts], capture_output=True,
                              text=True, env=env, timeout=120)

    def stubs(self):
        """A `gans` that prints its arguments and LD_LIBRARY_PATH, and a `step_time`."""
        bin_dir = self.tmp / "bin"
        (bin_dir / "examples").mkdir(parents=True)
        for name in ("gans", "examples/step_time"):
            path = bin_dir / name
            path.write_text('#!/bin/sh\necho "stub $0 $*"\necho "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"\n')
            path.chmod(0o755)
        return bin_dir

    def test_missing_binaries_are_named_with_the_build_command(self):
        result = self.run_script(self.tmp / "nothing-here", "info")
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn("nothing-here/gans is missing", result.stderr)
        self.assertIn("cargo build --release --bin gans --example step_time", result.stderr)

    def test_unknown_part_is_refused(self):
        result = self.run_script(self.stubs(), "benchmark")
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn("unknown part benchmark", result.stderr)

    def test_info_runs_gans_with_torch_on_the_library_path(self):
        result = self.run_script(self.stubs(), "info")
        self.assertEqual(result.returncode, 0, result.stderr)
        info = (self.out / "info.txt").read_text()
        self.assertIn("gans info --device cpu", info)
        import torch
        torch_lib = os.path.join(os.path.dirname(torch.__file__), "lib")
        self.assertIn(f"LD_LIBRARY_PATH={torch_lib}", info)


if __name__ == "__main__":
    unittest.main()
