#!/usr/bin/env python3
"""Times the `:dep gans` cell in a new kernel, as a learner's first notebook meets it.

    .venv/bin/python scripts/time_dep_cell.py [--cold] [--crate DIR] [--dep SPEC]

--cold   first moves every notebook build slot (target/evcxr/) aside, so the kernel builds the
         crate and tch's C++ glue from nothing, as on a machine that never opened a notebook; the
         slots are put back afterwards (the new, cold-built one is removed).
--crate  the crate to build (default: this one), e.g. a `git worktree` of an older commit
--dep    the dependency as the notebooks write it (default: '{ path = "..", default-features = false }')
Prints the seconds of each cell. Figures are in environment.md.
"""
import argparse
import shutil
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", action="store_true", help="build in an empty slot")
    parser.add_argument("--crate", type=Path, default=ROOT)
    parser.add_argument("--dep", default='{ path = "..", default-features = false }')
    args = parser.parse_args()
    slots = ROOT / "target" / "evcxr"
    aside = ROOT / "target" / "evcxr.aside"
    if args.cold and slots.exists():
        slots.rename(aside)
    try:
        cells = [f":dep gans = {args.dep}", "use gans::prelude::*;", 'println!("{}", 1 + 1);']
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
        times = []
        client = NotebookClient(nb, kernel_name="gans-rust", timeout=1800,
                                resources={"metadata": {"path": str(args.crate.resolve() / "notebooks")}})
        with client.setup_kernel():
            for index, cell in enumerate(nb.cells):
                start = time.monotonic()
                client.execute_cell(cell, index)
                times.append(time.monotonic() - start)
        for source, seconds in zip(cells, times):
            print(f"{seconds:7.1f} s  {source}")
    finally:
        if args.cold and aside.exists():
            shutil.rmtree(slots, ignore_errors=True)
            aside.rename(slots)


if __name__ == "__main__":
    main()
