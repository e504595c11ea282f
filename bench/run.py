"""`make bench`: ms per training step of every model, in Rust (the `gans` crate's Trainer) and in
the two PyTorch references of bench/reference.py, on the same libtorch, interleaved and repeated.

    python bench/run.py [--repeats 3] [--only toy,mlp28] [--device cpu|cuda]

Prints one markdown table (the median of the repeats; the ratios are reference ÷ Rust, so above
1 means Rust is faster) and checks the targets of docs/performance.md on a CPU.
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# model, width, batch, timed steps (CPU); a GPU takes the papers' widths and more steps.
CPU = [
    ("toy", 128, 256, 300),
    ("mlp28", 0, 64, 150),
    ("dcgan28", 64, 64, 15),
    ("cgan28", 32, 64, 20),
    ("wgan28", 32, 64, 8),
    ("wgan-gp28", 32, 64, 6),
    ("dcgan64", 32, 64, 6),
    ("pix2pix64", 32, 16, 8),
]
GPU = [
    ("toy", 128, 256, 500),
    ("mlp28", 0, 64, 500),
    ("dcgan28", 64, 128, 200),
    ("cgan28", 64, 128, 200),
    ("wgan28", 64, 64, 100),
    ("wgan-gp28", 64, 64, 100),
    ("dcgan64", 64, 128, 100),
    ("pix2pix64", 64, 16, 200),
]
# Where the step is overhead-bound on a CPU, Rust must beat the tutorial style by this much.
OVERHEAD_BOUND = {"toy": 1.3, "mlp28": 1.3}


def rust_ms(model, width, batch, steps, device):
    out = subprocess.run(
        ["cargo", "run", "--quiet", "--release", "--example", "step_time", "--",
         model, str(width), str(batch), str(steps)],
        cwd=ROOT, capture_output=True, text=True,
        env={**os.environ, "GANS_DEVICE": device},
    )
    match = re.search(r"([\d.]+) ms/step", out.stdout)
    if out.returncode != 0 or not match:
        sys.exit(f"step_time {model} failed:\n{out.stdout}\n{out.stderr}")
    return float(match.group(1))


def python_ms(model, style, width, batch, steps, device):
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "reference.py"), model, style,
         "--width", str(width), "--batch", str(batch), "--steps", str(steps),
         "--device", device],
        capture_output=True, text=True,
    )
    if out.returncode != 0:
        sys.exit(f"reference {model} {style} failed:\n{out.stdout}\n{out.stderr}")
    return float(out.stdout.split()[-1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only")
    parser.add_argument("--device")
    args = parser.parse_args()
    import torch

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    plan = GPU if device.startswith("cuda") else CPU
    if args.only:
        wanted = set(args.only.split(","))
        plan = [p for p in plan if p[0] in wanted]
        if not plan:
            sys.exit(f"--only {args.only}: no such model")
    subprocess.run(["cargo", "build", "--quiet", "--release", "--example", "step_time"],
                   cwd=ROOT, check=True)
    where = torch.cuda.get_device_name(0) if device.startswith("cuda") else (
        f"CPU, {torch.get_num_threads()} threads")
    print(f"torch {torch.__version__} on {where}; median of {args.repeats} runs", flush=True)
    rows, failures = [], []
    for model, width, batch, steps in plan:
        times = {"rust": [], "tutorial": [], "tuned": []}
        for _ in range(args.repeats):  # interleaved, so a slow moment hits all three
            times["rust"].append(rust_ms(model, width, batch, steps, device))
            for style in ("tutorial", "tuned"):
                times[style].append(python_ms(model, style, width, batch, steps, device))
        rust, tutorial, tuned = (statistics.median(times[k]) for k in ("rust", "tutorial", "tuned"))
        rows.append((model, width, batch, rust, tutorial, tuned))
        print(f"  {model}: rust {rust:.2f}  tutorial {tutorial:.2f}  tuned {tuned:.2f} ms/step",
              flush=True)
        if device == "cpu":
            need = OVERHEAD_BOUND.get(model, 1.0)
            if tutorial / rust < need:
                failures.append(f"{model}: tutorial/rust = {tutorial / rust:.2f} < {need}")
            if tuned / rust < 1.0:
                failures.append(f"{model}: tuned/rust = {tuned / rust:.2f} < 1")
    print()
    print("| model | width | batch | Rust ms/step | tutorial ms/step | tuned ms/step "
          "| tutorial ÷ Rust | tuned ÷ Rust |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for model, width, batch, rust, tutorial, tuned in rows:
        print(f"| {model} | {width or '-'} | {batch} | {rust:.2f} | {tutorial:.2f} | {tuned:.2f} "
              f"| {tutorial / rust:.2f} | {tuned / rust:.2f} |")
    if failures:
        print("\ntargets missed:\n  " + "\n  ".join(failures))
        sys.exit(1)


if __name__ == "__main__":
    main()
