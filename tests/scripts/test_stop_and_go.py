"""The stop button, then Run All: a kept trainer picks up where it saved and ends where a run
that was never stopped ends.

A small notebook trains a kept DCGAN (`Trainer::kept`). The test starts its training cell, waits
for the trainer's first save, and interrupts the kernel as Jupyter's stop button does (evcxr then
restarts the process that holds the variables). It runs every cell again: the trainer must say it
resumed at the saved step, the training cell where it picked up, and the last cell must print the
same step and the same last loss as the same notebook run once without a stop.
"""
import json
import os
import queue
import shutil
import tempfile
import time
import unittest
from pathlib import Path

from jupyter_client.manager import KernelManager

ROOT = Path(__file__).resolve().parents[2]
STEPS = 1500

CELLS = [
    f':dep gans = {{ path = "{ROOT}", default-features = false }}',
    "use gans::prelude::*;\n"
    "let config = TrainConfig::gan(DcganConfig { image_size: 28, channels: 1, width: 8, ..DcganConfig::default() })\n"
    "    .batch_size(32).seed(0).snapshot_every(0).n_fixed(16);\n"
    'let mut gan = Trainer::kept("runs/stop/mnist", config, mnist::load(Split::Train, Device::Cpu)?)?;\n'
    "gan.save_every(1.0)?;",
    f"gan.train({STEPS})?;",
    'println!("at step {} last loss_g {:.9}", gan.steps_done(), gan.history().loss_g.last().unwrap());',
]


def run(kc, code: str, timeout: float = 900) -> tuple[str, str]:
    """Executes `code`, returns (its stdout, the reply's status)."""
    msg_id = kc.execute(code)
    out, status, end = [], None, time.monotonic() + timeout
    while True:
        try:
            msg = kc.get_iopub_msg(timeout=max(0.1, end - time.monotonic()))
        except queue.Empty:
            raise AssertionError(f"no answer within {timeout} s to:\n{code}")
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            out.append(content["text"])
        elif kind == "error":
            out.append("\n".join(content.get("traceback", [])) or content.get("evalue", ""))
        elif kind == "status" and content["execution_state"] == "idle":
            break
    reply = kc.get_shell_msg(timeout=60)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = kc.get_shell_msg(timeout=60)
    status = reply["content"]["status"]
    return "".join(out), status


class Kernel:
    """The project's kernel with GANS_RUNS_DIR set to `runs`, in the folder `cwd`."""

    def __init__(self, runs: Path, cwd: Path):
        self.km = KernelManager(kernel_name="gans-rust")
        env = dict(os.environ, GANS_RUNS_DIR=str(runs))
        self.km.start_kernel(cwd=str(cwd), env=env)
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=120)

    def close(self):
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


def check(output: str, status: str, cell: int):
    if status != "ok" or "panicked" in output:
        raise AssertionError(f"cell {cell} failed ({status}):\n{output}")


class StopAndGo(unittest.TestCase):
    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="gans-stop-and-go-"))

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def run_all(self, kernel) -> list[str]:
        outputs = []
        for i, code in enumerate(CELLS):
            output, status = run(kernel.kc, code)
            check(output, status, i)
            outputs.append(output)
        return outputs

    def test_stop_then_run_all_resumes_and_ends_as_the_unstopped_run(self):
        # The notebook run once, never stopped.
        kernel = Kernel(self.tmp / "straight", self.tmp)
        try:
            straight = self.run_all(kernel)[-1]
        finally:
            kernel.close()

        runs = self.tmp / "stopped"
        saved = runs / "runs" / "stop" / "mnist" / "checkpoint.json"
        kernel = Kernel(runs, self.tmp)
        try:
            for i in (0, 1):
                check(*run(kernel.kc, CELLS[i]), i)
            # The training cell, stopped after the trainer's first save mid-call.
            msg_id = kernel.kc.execute(CELLS[2])
            end = time.monotonic() + 300
            while not (saved.exists() and json.loads(saved.read_text())["step"] > 0):
                self.assertLess(time.monotonic(), end, "the kept trainer never saved")
                time.sleep(0.2)
            step_at_stop = json.loads(saved.read_text())["step"]
            self.assertLess(step_at_stop, STEPS, "the call ended before the stop: raise STEPS")
            kernel.km.interrupt_kernel()
            while True:
                reply = kernel.kc.get_shell_msg(timeout=120)
                if reply["parent_header"].get("msg_id") == msg_id:
                    break
            self.assertNotEqual(reply["content"]["status"], "ok", "the interrupted cell reported success")
            # Run All again.
            again = self.run_all(kernel)
        finally:
            kernel.close()
        print(f"\n  saved at step {step_at_stop} before the stop; then: {again[1].strip()} / "
              f"{again[2].strip().splitlines()[0]} / {again[3].strip()}")
        self.assertRegex(again[1], r"resumed at step [\d,]+ from runs/stop/mnist")
        self.assertIn("picked up at step", again[2])
        self.assertEqual(again[3].strip(), straight.strip(), "the stopped run must end as the unstopped one")
        self.assertIn(f"at step {STEPS} ", again[3])


if __name__ == "__main__":
    unittest.main()
