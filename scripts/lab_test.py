#!/usr/bin/env python3
"""JupyterLab in a real browser: the live view redraws while a cell trains, and the stop button
loses nothing.

Starts JupyterLab (the project's .venv) on a folder holding one small notebook, then drives it in
headless Chromium through scripts/lab_test.cjs (playwright-core): Run All; while the training
cell runs, the live view's pictures must change at least three times; then the stop button
(Kernel → Interrupt, which evcxr answers by restarting the process that holds the variables);
then Run All again, which must resume the kept trainer at a saved step and finish its cell.
Last, the view's cost: the same training with and without a view, in turns, must differ by no
more than 5 % in steps per second. A screenshot of the live view goes to docs/lab-live-view.png.
LAB_TEST_STEPS (6000) and LAB_TEST_MEASURE (1000, three times each) set the step counts.

    make lab-test        (installs Chromium from Debian and playwright-core from npm first)
"""
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "target" / "lab-test"
NODE_MODULES = ROOT / "target" / "lab-test-tools" / "node_modules"

CELLS = [
    f':dep gans = {{ path = "{ROOT}", default-features = false }}',
    "use gans::prelude::*;\n"
    "let config = TrainConfig::gan(DcganConfig { image_size: 28, channels: 1, width: 16, ..DcganConfig::default() })\n"
    "    .batch_size(64).seed(0).snapshot_every(0).n_fixed(36);\n"
    'let mut gan = Trainer::kept("runs/lab/mnist", config, mnist::load(Split::Train, Device::Cpu)?)?;\n'
    "gan.save_every(3.0)?;",
    "gan.live()?",
    "// Run this cell again to train on\ngan.train(STEPS)?;",
    'println!("done at step {}", gan.steps_done());',
    # What the view costs: the same training with and without one, in turns. Both trainers are
    # kept (each saves at the end of every call, and every 30 s as in a lesson), so that the
    # view is the only difference.
    "let mut plain = Trainer::kept(\"runs/lab/plain\", gan.config().clone(), mnist::load(Split::Train, Device::Cpu)?)?;\n"
    "gan.save_every(30.0)?;",
] + ["plain.train(MEASURE)?;", "gan.train(MEASURE)?;"] * 3


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    steps = int(os.environ.get("LAB_TEST_STEPS", "6000"))
    measure = int(os.environ.get("LAB_TEST_MEASURE", "1000"))
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        print("lab-test: Chromium is missing: run scripts/bootstrap.sh lab-test (or apt-get install chromium)", file=sys.stderr)
        return 2
    if not (NODE_MODULES / "playwright-core").is_dir():
        print(f"lab-test: playwright-core is missing from {NODE_MODULES}: run scripts/bootstrap.sh lab-test", file=sys.stderr)
        return 2
    shutil.rmtree(WORK, ignore_errors=True)
    (WORK / "nb").mkdir(parents=True)
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "gans-rust", "display_name": "Rust (gans)", "language": "rust"}
    nb.cells = [nbformat.v4.new_code_cell(c.replace("STEPS", str(steps)).replace("MEASURE", str(measure))) for c in CELLS]
    nbformat.write(nb, WORK / "nb" / "live.ipynb")

    port, token = free_port(), secrets.token_hex(16)
    env = dict(os.environ, GANS_DATA_DIR=os.environ.get("GANS_DATA_DIR", str(ROOT / "data")))
    log = open(WORK / "jupyter.log", "w")
    server = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "jupyter"), "lab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
         f"--ServerApp.token={token}", f"--notebook-dir={WORK / 'nb'}", "--LabApp.expose_app_in_browser=True",
         "--MappingKernelManager.default_kernel_name=gans-rust", "--allow-root"],
        stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        else:
            print(f"lab-test: JupyterLab did not start: see {WORK / 'jupyter.log'}", file=sys.stderr)
            return 1
        start = time.time()
        result = subprocess.run(
            ["node", str(ROOT / "scripts" / "lab_test.cjs")],
            env=dict(env, NODE_PATH=str(NODE_MODULES), LAB_URL=url, LAB_TOKEN=token, CHROMIUM=chromium,
                     LAB_STEPS=str(steps), SCREENSHOT=str(ROOT / "docs" / "lab-live-view.png")),
            timeout=1200)
        print(f"lab-test: {'passed' if result.returncode == 0 else 'FAILED'} in {time.time() - start:.0f} s")
        return result.returncode
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


if __name__ == "__main__":
    sys.exit(main())
