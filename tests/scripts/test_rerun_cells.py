"""A learner's second pass through a notebook: change a hyperparameter, re-run the cells.

After Run All (smoke mode), the test does what the notebooks invite: it edits the hyperparameter
cell (a new seed), re-runs the cells from there down to the one that builds the trainer, runs the
training cell, then runs the training cell once more and checks that the trainer continued (twice
the steps, read from its last progress line) instead of starting over. (The smoke run of
`make notebooks` runs every training cell of every notebook twice the same way.)
Every cell goes through the runner's own check, so an error or a panic fails the test.

    python tests/scripts/test_rerun_cells.py                 # notebook 04 (what make test runs)
    python tests/scripts/test_rerun_cells.py 02_dcgan 05_pix2pix
"""
import os
import re
import sys
import unittest
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
from run_notebooks import KERNEL, Client, check_cell  # noqa: E402

TRAINING_CELL = "// Run this cell again to train"


def rerun(name: str) -> tuple[int, int]:
    """Runs notebook `name` in smoke mode, then the second pass. Returns the step counts printed
    by the training cell's first and second run after the change."""
    path = ROOT / "notebooks" / f"{name}.ipynb"
    nb = nbformat.read(path, as_version=4)
    # The runner's client: it waits for a cell's late output (evcxr forwards it from a thread, so
    # the last progress line can reach Jupyter after the cell is reported done).
    client = Client(nb, kernel_name=KERNEL, timeout=1800, allow_errors=False,
                    resources={"metadata": {"path": str(path.parent)}})

    def run(index: int) -> str:
        cell = nb.cells[index]
        client.execute_cell(cell, index)
        check_cell(cell, index)
        return "".join(o.get("text", "") for o in cell.get("outputs", []))

    before = os.environ.get("GANS_SMOKE")
    os.environ["GANS_SMOKE"] = "1"  # the kernel inherits it
    try:
        return second_pass(nb, client, run, name)
    finally:
        if before is None:
            os.environ.pop("GANS_SMOKE", None)
        else:
            os.environ["GANS_SMOKE"] = before


def second_pass(nb, client, run, name) -> tuple[int, int]:
    with client.setup_kernel():
        for i, cell in enumerate(nb.cells):
            if cell.cell_type == "code":
                run(i)
        code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
        settings = next(i for i in code if "let seed: u64 = 0;" in nb.cells[i].source)
        training = next(i for i in code if nb.cells[i].source.startswith(TRAINING_CELL))
        building = max(i for i in code if i < training)
        nb.cells[settings].source = nb.cells[settings].source.replace(
            "let seed: u64 = 0;", "let seed: u64 = 1;")
        # What JupyterLab's "Run All Above Selected Cell" does from the settings down: the data
        # cells too, since building a trainer takes its data.
        for i in code:
            if settings <= i <= building:
                run(i)
        steps = []
        for _ in range(2):
            printed = run(training)
            found = re.findall(r"^step\s+(\d+) \|", printed, re.M)
            if not found:
                raise AssertionError(f"{name}: the training cell printed no step count:\n{printed}")
            steps.append(int(found[-1]))
    return steps[0], steps[1]


class RerunCells(unittest.TestCase):
    def test_changed_seed_then_training_continues(self):
        first, second = rerun("04_cgan")
        self.assertGreater(first, 0)
        self.assertEqual(second, 2 * first, "re-running the training cell must continue training")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        for name in sys.argv[1:]:
            first, second = rerun(name)
            status = "ok" if second == 2 * first > 0 else "FAILED"
            print(f"{name}: new seed, training cell run twice: {first} then {second} steps ({status})")
    else:
        unittest.main()
