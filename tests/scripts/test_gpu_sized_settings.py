"""Which notebooks `make notebooks` must run with their GPU-sized settings.

A notebook whose `if gpu { … }` settings only pick other numbers (widths, batches, step counts)
takes the same code paths on a GPU as on a CPU: tests/gpu_sized.rs trains its wide networks. A
notebook whose GPU-sized settings pick anything else (another dataset, another image size by
expression, other options) must be in the Makefile's GPU_SIZED_NOTEBOOKS, which runs it whole.
This test fails when a notebook gains such a setting without being listed.
"""
import re
import unittest
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[2]

# `if gpu { BODY }` or `if gpu_sized() { BODY }`, BODY up to the first closing brace.
GPU_BRANCH = re.compile(r"if\s+(?:gpu|gpu_sized\(\))\s*\{(.*?)\}", re.S)
NUMBER = re.compile(r"^\s*-?[0-9][0-9_]*(\.[0-9_]+)?([eE]-?[0-9]+)?\s*$")


def listed() -> set[str]:
    makefile = (ROOT / "Makefile").read_text()
    line = re.search(r"^GPU_SIZED_NOTEBOOKS\s*=(.*)$", makefile, re.M)
    assert line, "the Makefile has no GPU_SIZED_NOTEBOOKS line"
    return {Path(p).name for p in line.group(1).split()}


def non_numeric_gpu_settings(path: Path) -> list[str]:
    nb = nbformat.read(path, as_version=4)
    found = []
    for cell in nb.cells:
        if cell.cell_type == "code":
            found += [body.strip() for body in GPU_BRANCH.findall(cell.source) if not NUMBER.match(body)]
    return found


class GpuSizedSettings(unittest.TestCase):
    def test_notebooks_with_other_gpu_paths_are_run_gpu_sized(self):
        names = listed()
        notebooks = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
        self.assertTrue(notebooks)
        for name in names:
            self.assertTrue((ROOT / "notebooks" / name).exists(), f"GPU_SIZED_NOTEBOOKS names {name}, which is not a notebook")
        for path in notebooks:
            other = non_numeric_gpu_settings(path)
            if other and path.name not in names:
                self.fail(f"{path.name} picks more than numbers on a GPU ({other}): add it to GPU_SIZED_NOTEBOOKS in the Makefile")

    def test_the_check_sees_a_non_numeric_setting(self):
        self.assertTrue(non_numeric_gpu_settings(ROOT / "notebooks" / "02_dcgan.ipynb"))
        self.assertFalse(non_numeric_gpu_settings(ROOT / "notebooks" / "04_cgan.ipynb"))
        self.assertTrue(GPU_BRANCH.findall("let w: i64 = if gpu { 64 } else { 16 };"))
        self.assertTrue(NUMBER.match(" 6_000 ") and NUMBER.match("2e-4") and not NUMBER.match("size(64)"))


if __name__ == "__main__":
    unittest.main()
