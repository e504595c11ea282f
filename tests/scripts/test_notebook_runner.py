"""The headless notebook runner fails on a panicking cell and on an error, and passes a good one.

evcxr reports a panicking cell as a success (only stderr says `panicked at`), so without the
runner's own check a panic would pass CI. Each case builds a small notebook on the fly and runs
scripts/run_notebooks.py on it with the project's kernel.
"""
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[2]
RUNNER = ROOT / "scripts" / "run_notebooks.py"


def notebook(path: Path, *cells: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "gans-rust", "display_name": "Rust (gans)", "language": "rust"}
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nbformat.write(nb, path)
    return path


class NotebookRunner(unittest.TestCase):
    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="gans-runner-test-"))

    def tearDown(self):
        shutil.rmtree(self.tmp)
        for name in ("zz_panics.ipynb", "zz_error.ipynb", "zz_question.ipynb", "zz_good.ipynb", "zz_figure.ipynb", "zz_one.ipynb", "zz_two.ipynb",
                     "zz_continues.ipynb", "zz_restarts.ipynb", "zz_gpu_sized.ipynb", "zz_builds.ipynb", "zz_inplace.failed.ipynb"):
            (ROOT / "target" / "notebooks" / name).unlink(missing_ok=True)

    def run_runner(self, path):
        return subprocess.run([sys.executable, str(RUNNER), str(path)], capture_output=True, text=True, timeout=600)

    def test_panicking_cell_fails(self):
        path = notebook(self.tmp / "zz_panics.ipynb",
                        'println!("before");',
                        'let v: Vec<i32> = Vec::new();\nprintln!("{}", v[3]);',
                        'println!("after");')
        result = self.run_runner(path)
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        self.assertIn("cell 1 panicked", result.stderr)
        self.assertIn("index out of bounds", result.stderr)
        # The run stopped at the panic: the last cell never ran.
        executed = nbformat.read(ROOT / "target" / "notebooks" / "zz_panics.ipynb", as_version=4)
        self.assertEqual(executed.cells[2].get("outputs"), [])

    def test_compile_error_fails(self):
        path = notebook(self.tmp / "zz_error.ipynb", 'let x: i32 = "not a number";')
        result = self.run_runner(path)
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        self.assertIn("mismatched types", result.stderr)

    def test_error_returned_through_question_mark_fails(self):
        # evcxr prints the error on stderr and reports success; the runner must not.
        path = notebook(self.tmp / "zz_question.ipynb",
                        'fn check(n: i32) -> Result<i32, String> { if n > 0 { Ok(n) } else { Err(format!("{n} is not positive")) } }',
                        'let n = check(-1)?;',
                        'println!("after");')
        result = self.run_runner(path)
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        self.assertIn("cell 1 returned an error", result.stderr)
        self.assertIn("-1 is not positive", result.stderr)

    def test_error_text_that_arrives_late_fails(self):
        # evcxr forwards a cell's stderr from a thread: on a loaded machine the error text can
        # come after the cell is reported done. Here a thread writes it 100 ms after the last
        # cell ends (a later cell would collect it itself); the runner must still see it.
        path = notebook(self.tmp / "zz_late.ipynb",
                        'std::thread::spawn(|| { std::thread::sleep(std::time::Duration::from_millis(100)); '
                        'eprintln!("late trouble"); });')
        result = self.run_runner(path)
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        self.assertIn("late trouble", result.stderr)

    def test_figure_shown_as_debug_text_fails(self):
        # A figure that evcxr cannot display falls back to Debug: bytes where a picture should be.
        path = notebook(self.tmp / "zz_figure.ipynb",
                        '#[derive(Debug)] struct ImageGrid { png: Vec<u8> }',
                        'ImageGrid { png: vec![137, 80, 78, 71] }')
        result = self.run_runner(path)
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        self.assertIn("cell 1 shows a figure as text", result.stderr)

    def test_good_notebook_passes(self):
        path = notebook(self.tmp / "zz_good.ipynb", 'let answer = 6 * 7;', 'assert_eq!(answer, 42);')
        result = self.run_runner(path)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("zz_good.ipynb: ok", result.stdout)

    def run_smoke(self, path):
        return subprocess.run([sys.executable, str(RUNNER), "--smoke", str(path)], capture_output=True, text=True, timeout=600)

    # A "training cell" prints progress lines (`step N | …`); smoke runs run each one twice.
    def test_training_cell_that_continues_passes(self):
        path = notebook(self.tmp / "zz_continues.ipynb", 'let mut steps = 0;',
                        'steps += 10;\nprintln!("step {steps:>6} | loss_d 1.0");')
        result = self.run_smoke(path)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        executed = nbformat.read(ROOT / "target" / "notebooks" / "zz_continues.ipynb", as_version=4)
        self.assertIn("step     20 |", "".join(o.get("text", "") for o in executed.cells[1].outputs))

    def test_training_cell_that_starts_over_fails(self):
        path = notebook(self.tmp / "zz_restarts.ipynb",
                        'let mut steps = 0;\nsteps += 10;\nprintln!("step {steps:>6} | loss_d 1.0");')
        result = self.run_smoke(path)
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        self.assertIn("trained to step 10, and run again it ended at step 10", result.stderr)

    def test_training_cell_that_builds_its_trainer_fails(self):
        path = notebook(self.tmp / "zz_builds.ipynb",
                        '// let mut gan = Trainer::new(config, data)?; gan.train(10)?;\nprintln!("step     10 | loss_d 1.0");')
        result = self.run_smoke(path)
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        self.assertIn("builds its trainer and trains it", result.stderr)

    # The GPU-sized smoke pass reaches the kernel's environment and writes its copies apart.
    def test_gpu_sized_switch_reaches_the_kernel(self):
        path = notebook(self.tmp / "zz_gpu_sized.ipynb",
                        'assert_eq!(std::env::var("GANS_GPU_SIZED").as_deref(), Ok("1"));\n'
                        'assert_eq!(std::env::var("GANS_SMOKE").as_deref(), Ok("1"));')
        result = subprocess.run([sys.executable, str(RUNNER), "--smoke", "--gpu-sized", str(path)],
                                capture_output=True, text=True, timeout=600)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        copy = ROOT / "target" / "notebooks" / "gpu-sized" / "zz_gpu_sized.ipynb"
        self.assertTrue(copy.exists())
        copy.unlink()
        # Without the switch the variable is unset, and the same cell fails.
        result = self.run_smoke(path)
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        # A committed notebook is a real run: --gpu-sized refuses to go without --smoke.
        result = subprocess.run([sys.executable, str(RUNNER), "--inplace", "--gpu-sized", str(path)],
                                capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 2, result.stdout + result.stderr)
        self.assertIn("--gpu-sized only goes with --smoke", result.stderr)

    def test_failed_inplace_run_leaves_the_notebook_as_it_was(self):
        path = notebook(self.tmp / "zz_inplace.ipynb", 'println!("fine");', 'let x: i32 = "not a number";')
        before = path.read_bytes()
        result = subprocess.run([sys.executable, str(RUNNER), "--inplace", str(path)], capture_output=True, text=True, timeout=600)
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        self.assertEqual(path.read_bytes(), before)
        self.assertIn("zz_inplace.failed.ipynb", result.stderr)
        self.assertTrue((ROOT / "target" / "notebooks" / "zz_inplace.failed.ipynb").exists())

    def test_two_notebooks_at_once_build_in_separate_slots(self):
        # Two kernels alive at the same time, both building the crate: each must get its own
        # build folder (slot), and both must succeed.
        # The notebooks' own `:dep` line (without the command's dependencies), so the warm slot
        # has nothing new to build.
        cells = (f':dep gans = {{ path = "{ROOT}", default-features = false }}',
                 'use gans::prelude::*;',
                 'println!("slot={}", std::env::var("EVCXR_TMPDIR").unwrap());',
                 'let x = Tensor::ones([3], (Kind::Float, Device::Cpu)).sum(Kind::Float).double_value(&[]);\nassert_eq!(x, 3.0);')
        paths = [notebook(self.tmp / name, *cells) for name in ("zz_one.ipynb", "zz_two.ipynb")]
        runs = [subprocess.Popen([sys.executable, str(RUNNER), str(p)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for p in paths]
        results = [r.communicate(timeout=900) + (r.returncode,) for r in runs]
        for out, err, code in results:
            self.assertEqual(code, 0, out + err)
        slots = set()
        for name in ("zz_one.ipynb", "zz_two.ipynb"):
            executed = nbformat.read(ROOT / "target" / "notebooks" / name, as_version=4)
            text = "".join(o.get("text", "") for o in executed.cells[2].outputs)
            slots.add(text.strip())
        self.assertEqual(len(slots), 2, f"both kernels used the same build folder: {slots}")


if __name__ == "__main__":
    unittest.main()
