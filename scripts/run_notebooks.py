#!/usr/bin/env python3
"""Runs the course notebooks headless with the "Rust (gans)" kernel.

    run_notebooks.py [--smoke [--gpu-sized]] [--inplace] [NOTEBOOK ...]   (default: notebooks/*.ipynb)

--smoke    sets GANS_SMOKE=1, which the notebooks read to shrink their runs; the executed copies go
           to target/notebooks/ so the committed notebooks (real runs) are never overwritten.
           Every training cell (one that prints progress lines) also runs a second time and
           must continue where it stopped; a cell that builds its trainer and trains it fails.
--gpu-sized  with --smoke, also sets GANS_GPU_SIZED=1: the notebooks take their GPU-sized settings
           (wide models, 64×64 colour images) at smoke step counts on whatever device there is, so
           those paths are exercised on a CPU too; copies go to target/notebooks/gpu-sized/.
           Training cells run once here (the plain smoke pass checks that a re-run continues).
--inplace  writes the executed notebook back over the source (how the committed outputs are made);
           a run that fails leaves the source as it was and writes target/notebooks/NAME.failed.ipynb.

A cell fails when the kernel reports an error (a compile error, a `?` that returned Err) OR when it
panicked: evcxr reports a panicking cell as a success and only its stderr says `panicked at`, so
this runner reads every cell's stderr. Exit status 1 if any notebook failed.
"""
import argparse
import os
import re
import shutil
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parent.parent
KERNEL = "gans-rust"


class CellPanicked(Exception):
    pass


def stderr_of(cell):
    return "".join(o.get("text", "") for o in cell.get("outputs", [])
                   if o.get("output_type") == "stream" and o.get("name") == "stderr")


ANSI = re.compile(r"\x1b\[[0-9;]*m")


def describe_error(nb) -> str:
    """The first failed cell: its source, the kernel's error (colours stripped) and its stderr."""
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                trace = ANSI.sub("", "\n".join(output.get("traceback", [])))
                return (f"cell {index} failed: {output.get('ename')}: {output.get('evalue')}\n"
                        f"--- cell source ---\n{cell.source}\n--- error ---\n{trace}\n"
                        f"{stderr_of(cell).strip()}")
    return ""


FIGURE_TYPES = ("ImageGrid {", "LineChart {", "Animation {")


def check_cell(cell, cell_index, **_):
    """Fails a cell that evcxr reported as a success although it was not.

    evcxr shows a panic, and an `Err` returned through `?`, only as text on the cell's stderr,
    with no error status. The crate's own notices on stderr start with "gans:"; any other stderr
    line is taken as the error it almost always is.
    """
    text = stderr_of(cell)
    source = cell.source if len(cell.source) < 400 else cell.source[:400] + "…"
    if "panicked at" in text:
        raise CellPanicked(f"cell {cell_index} panicked:\n--- cell source ---\n{source}\n"
                           f"--- stderr ---\n{text.strip()}")
    foreign = [line for line in text.splitlines() if line.strip() and not line.startswith("gans:")]
    if foreign:
        raise CellPanicked(f"cell {cell_index} returned an error:\n--- cell source ---\n{source}\n"
                           f"--- stderr ---\n{text.strip()}")
    # A figure that evcxr could not display falls back to its Debug text: a wall of PNG bytes
    # where a picture should be (and hundreds of kilobytes in the committed notebook).
    for output in cell.get("outputs", []):
        data = output.get("data", {})
        plain = "".join(data.get("text/plain", ""))
        if plain.startswith(FIGURE_TYPES) and not any(k.startswith("image/") for k in data):
            raise CellPanicked(f"cell {cell_index} shows a figure as text ({plain[:40]}…), not as "
                               f"an image:\n--- cell source ---\n{source}")


PROGRESS = re.compile(r"^step\s+(\d+) \|", re.M)


def last_step(cell) -> int | None:
    """The step of the last progress line a cell printed (None: it trained nothing)."""
    found = PROGRESS.findall("".join(o.get("text", "") for o in cell.get("outputs", [])))
    return int(found[-1]) if found else None


# A cell may build a trainer and train it at once when it compares two fresh runs, or trains a
# run of the learner's own data only when an environment variable points at it.
MAY_BUILD_AND_TRAIN = ("max_difference(", "std::env::var(")


class Client(NotebookClient):
    """An nbclient that waits for a cell's late stderr before judging it.

    evcxr runs a cell in a child process and forwards that process's stderr from a thread, so
    the error text of a `?` or a panic can reach Jupyter after the cell has been reported done.
    nbclient drops such late messages; on a loaded machine that made a failing cell pass (seen
    once in CI). So after each cell, iopub is read until it has been quiet for LATE seconds, and
    the cell's own late stream output is added to it before check_cell judges it."""

    LATE = 0.25
    # Run every training cell a second time and check that it continued (smoke runs).
    rerun_training = False

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        cell = await self.execute_and_check(cell, cell_index, execution_count, store_history)
        first = last_step(cell) if cell.cell_type == "code" else None
        if self.rerun_training and first is not None:
            source = cell.source
            if "Trainer::new(" in source and not any(k in source for k in MAY_BUILD_AND_TRAIN):
                raise CellPanicked(
                    f"cell {cell_index} builds its trainer and trains it: running it again starts "
                    f"over instead of continuing. Build the trainer in the cell above.\n"
                    f"--- cell source ---\n{source}")
            if not any(k in source for k in MAY_BUILD_AND_TRAIN):
                cell = await self.execute_and_check(cell, cell_index, execution_count, store_history)
                second = last_step(cell)
                if second is None or second <= first:
                    raise CellPanicked(
                        f"cell {cell_index} trained to step {first}, and run again it ended at "
                        f"step {second}: a training cell run twice must continue.\n"
                        f"--- cell source ---\n{source}")
        return cell

    async def execute_and_check(self, cell, cell_index, execution_count, store_history):
        cell = await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        if cell.cell_type == "code":
            # Cells run one at a time: a stream message now belongs to the cell just run.
            while True:
                try:
                    msg = await self.kc.get_iopub_msg(timeout=self.LATE)
                except Exception:  # queue.Empty: quiet for LATE seconds
                    break
                if msg["msg_type"] == "stream":
                    self.process_message(msg, cell, cell_index)
            check_cell(cell, cell_index)
        return cell


def clean_runs_folder(path: Path) -> Path:
    """A new, empty folder for the kept trainers of one run of notebook `path`: the kernel gets
    it as GANS_RUNS_DIR, under which `Trainer::kept("runs/…")` saves. So a run of the runner
    never resumes a learner's progress in notebooks/runs/, nor an earlier run's."""
    kind = "gpu-sized" if os.environ.get("GANS_GPU_SIZED") == "1" else "plain"
    runs = ROOT / "target" / "notebook-runs" / kind / path.stem
    shutil.rmtree(runs, ignore_errors=True)
    runs.mkdir(parents=True)
    return runs


def run_one(path: Path, out: Path, timeout: int, rerun_training: bool = False) -> tuple[bool, float, str]:
    nb = nbformat.read(path, as_version=4)
    os.environ["GANS_RUNS_DIR"] = str(clean_runs_folder(path))  # the kernel inherits it
    client = Client(
        nb, kernel_name=KERNEL, timeout=timeout, allow_errors=False,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.rerun_training = rerun_training
    start = time.monotonic()
    message = ""
    try:
        client.execute()
        ok = True
    except CellPanicked as e:
        ok, message = False, str(e)
    except CellExecutionError as e:
        ok, message = False, describe_error(nb) or str(e)
    except Exception as e:  # kernel died, timeout, …
        ok, message = False, f"{type(e).__name__}: {e}"
    finally:
        # nbclient stops the kernel on success; make sure it is gone on failure too.
        km = getattr(client, "km", None)
        if km is not None and km.has_kernel:
            km.shutdown_kernel(now=True)
    elapsed = time.monotonic() - start
    if not ok and out == path:
        # A failed run never replaces the committed notebook: its outputs go beside the runs of
        # `--smoke`, for reading.
        out = ROOT / "target" / "notebooks" / f"{path.stem}.failed.ipynb"
        message += f"\n(the committed {path.name} is unchanged; this run's outputs: {out})"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    nbformat.write(nb, tmp)
    tmp.replace(out)  # atomic: a failed run never leaves a half-written notebook
    return ok, elapsed, message


def warm_up() -> int:
    """Builds `gans` in the first notebook build slot, so that the learner's first `:dep` cell
    takes seconds instead of minutes. Does nothing when a slot has been built already."""
    if any((ROOT / "target" / "evcxr").glob("slot-*/target")):
        return 0
    print("[notebooks] building the crate for notebooks once (a few minutes, only the first time) ...", flush=True)
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": KERNEL, "display_name": "Rust (gans)", "language": "rust"}
    nb.cells = [nbformat.v4.new_code_cell(f':dep gans = {{ path = "{ROOT}", default-features = false }}'),
                nbformat.v4.new_code_cell("use gans::prelude::*;")]
    path = ROOT / "target" / "notebooks" / "warm-up.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    ok, elapsed, message = run_one(path, path, timeout=1800)
    print(f"[notebooks] warm-up: {'ok' if ok else 'FAILED'} in {elapsed:.1f} s", flush=True)
    if not ok:
        print(message, file=sys.stderr)
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--smoke", action="store_true", help="small runs (GANS_SMOKE=1), outputs to target/notebooks/")
    parser.add_argument("--gpu-sized", action="store_true",
                        help="with --smoke: the notebooks' GPU-sized settings (GANS_GPU_SIZED=1), outputs to target/notebooks/gpu-sized/")
    parser.add_argument("--inplace", action="store_true", help="write executed notebooks over the sources")
    parser.add_argument("--warm", action="store_true",
                        help="only build the crate in a notebook build slot (what `make lab` does first), unless one is built")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds one cell may take (default 1800)")
    args = parser.parse_args()
    if args.smoke and args.inplace:
        parser.error("--smoke runs must not overwrite the committed notebooks: drop --inplace")
    if args.gpu_sized and not args.smoke:
        parser.error("--gpu-sized only goes with --smoke: a committed notebook is a real run of the device it ran on")
    if args.warm:
        return warm_up()
    notebooks = args.notebooks or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if not notebooks:
        print("no notebooks found", file=sys.stderr)
        return 1
    if args.smoke:
        os.environ["GANS_SMOKE"] = "1"
    outputs = ROOT / "target" / "notebooks"
    if args.gpu_sized:
        os.environ["GANS_GPU_SIZED"] = "1"
        outputs = outputs / "gpu-sized"
    failures = []
    for path in notebooks:
        path = path.resolve()
        out = path if args.inplace else outputs / path.name
        print(f"[notebooks] {path.name} ...", flush=True)
        # That a re-run training cell continues is the trainer's property, not the settings':
        # the plain smoke pass checks it, the GPU-sized pass runs each cell once.
        rerun = args.smoke and not args.gpu_sized
        ok, elapsed, message = run_one(path, out, args.timeout, rerun_training=rerun)
        status = "ok" if ok else "FAILED"
        print(f"[notebooks] {path.name}: {status} in {elapsed:.1f} s (executed copy: {out})", flush=True)
        if not ok:
            print(message, file=sys.stderr, flush=True)
            failures.append(path.name)
    if failures:
        print(f"[notebooks] {len(failures)} failed: {', '.join(failures)}", file=sys.stderr)
        return 1
    print(f"[notebooks] all {len(notebooks)} passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
