"""The notebooks read as lessons, not as test harnesses.

- No settings branch on the test switches: a notebook's sizes come from the crate's budget
  (`Budget::for_this_machine().dcgan()` …), so no `if smoke`, `if gpu`, `gpu_sized()` or `GANS_…`
  appears in a cell.
- Markdown cells stay short (250 words at most) and a cell with a heading has one, first.
- No lesson text names build commands, examples, crate tests or the machine a number came from.
- A check a learner reads is one short line (130 characters at most).
- Every trainer that trains for the lesson is kept in a run folder of its notebook
  (`Trainer::kept("runs/NN/…")`, each folder once) and shown live (`.live()`), and the first
  cell says what the stop button does.
- The notebooks whose GPU budget changes what they train (notebook 02's `DcganSizes`: image size
  and dataset; notebook 07's `CycleGanSizes`: image size) are listed in the Makefile's GPU_SIZED_NOTEBOOKS, which runs them whole; the other
  budgets differ only in widths, batches and step counts, which tests/gpu_sized.rs covers.
"""
import re
import unittest
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SWITCHES = re.compile(r"if\s+!?(smoke|gpu)\b|gpu_sized\(\)|gans::smoke\(\)|GANS_[A-Z_]+")
TOOLING = re.compile(r"\bmake\b|\bcargo\b|examples?/|\btests?/|crate'?s? tests?|this machine|\b\d-core\b|\bCI\b|smoke")
KEPT = re.compile(r'Trainer::kept\(\s*"([^"]+)"')


def cells(path: Path):
    return nbformat.read(path, as_version=4).cells


class Lessons(unittest.TestCase):
    def test_there_are_notebooks(self):
        self.assertGreaterEqual(len(NOTEBOOKS), 7)

    def test_no_test_switches_in_cells(self):
        for path in NOTEBOOKS:
            for i, cell in enumerate(cells(path)):
                if cell.cell_type == "code":
                    found = SWITCHES.search(cell.source)
                    self.assertIsNone(found, f"{path.name} cell {i}: {found and found.group(0)!r}")

    def test_markdown_is_short_with_its_heading_first(self):
        for path in NOTEBOOKS:
            for i, cell in enumerate(cells(path)):
                if cell.cell_type != "markdown":
                    continue
                where = f"{path.name} cell {i} ({cell.source[:40]!r})"
                words = len(cell.source.split())
                self.assertLessEqual(words, 250, f"{where}: {words} words")
                headings = [n for n, line in enumerate(cell.source.split("\n")) if line.startswith("#")]
                self.assertIn(headings, ([], [0]), f"{where}: headings on lines {headings}")
                if path.name != "00_setup.ipynb":
                    found = TOOLING.search(cell.source)
                    self.assertIsNone(found, f"{where}: names {found and found.group(0)!r}")

    def test_checks_are_one_short_line(self):
        for path in NOTEBOOKS:
            for i, cell in enumerate(cells(path)):
                for line in cell.source.split("\n") if cell.cell_type == "code" else []:
                    if re.search(r"\bcheck(_full)?\(", line):
                        self.assertLessEqual(len(line), 130, f"{path.name} cell {i}: {line.strip()[:60]}…")

    def test_trainers_are_kept_and_live(self):
        for path in NOTEBOOKS:
            source = "\n".join(c.source for c in cells(path) if c.cell_type == "code")
            trains = re.search(r"\.train(_with)?\(", source)
            folders = KEPT.findall(source)
            if not trains:
                continue
            number = path.name[:2]
            self.assertTrue(folders, f"{path.name} trains but keeps no trainer")
            for folder in folders:
                self.assertTrue(folder.startswith(f"runs/{number}/"), f"{path.name}: {folder}")
            self.assertEqual(len(folders), len(set(folders)), f"{path.name}: a folder used twice")
            self.assertEqual(source.count(".live()"), len(folders), f"{path.name}: a kept trainer without a live view")
            first = cells(path)[0]
            self.assertIn("stop button", first.source, f"{path.name}: the first cell says nothing of the stop button")

    def test_notebooks_whose_gpu_budget_changes_the_data_run_gpu_sized(self):
        makefile = (ROOT / "Makefile").read_text()
        line = re.search(r"^GPU_SIZED_NOTEBOOKS\s*=(.*)$", makefile, re.M)
        self.assertIsNotNone(line, "the Makefile has no GPU_SIZED_NOTEBOOKS line")
        listed = {Path(p).name for p in line.group(1).split()}
        for path in NOTEBOOKS:
            source = "\n".join(c.source for c in cells(path))
            if "budget.dcgan()" in source or "budget.cyclegan()" in source:
                self.assertIn(path.name, listed)


if __name__ == "__main__":
    unittest.main()
