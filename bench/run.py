"""`make bench`: ms per training step of every model, in Rust (the `gans` crate's Trainer) and in
the two PyTorch references of bench/reference.py, on the same libtorch, interleaved and repeated.

    python bench/run.py [--repeats 3] [--only toy,mlp28] [--device cpu|cuda]
                        [--step-time BIN] [--data test|random] [--epoch] [--trials]

Prints one markdown table (the median of the repeats; the ratios are reference ÷ Rust, so above
1 means Rust is faster) and checks the targets of docs/performance.md on a CPU.

The conv models run channels-last on both sides: the Rust trainer's default, and
`--channels-last` for the tuned reference (the tutorial style stays as the tutorials write it).

- `--step-time BIN` times a `step_time` binary built elsewhere instead of building one with
  cargo (a GPU machine without a Rust toolchain).
- `--data random` gives the Rust side random pixels, as the references have (no data files).
- `--epoch`: the issue's GPU figure instead of the table, one Fashion-MNIST DCGAN-28 epoch
  (60,000 images, batch 128: 468 full batches) in each of the three.
- `--trials`: channels-last and bf16 autocast on the 64×64 DCGAN and Pix2Pix, each on and off.
- `--precision-only`: only the bf16 table (below), not the fp32 one.

After the fp32 table, every conv model again in fp32 and bf16, Rust (`GANS_PRECISION`) and the
tuned reference (`--bf16`: autocast), interleaved; on a CPU with bf16 instructions the targets
are BF16_SPEEDUP and Rust bf16 no slower than PyTorch bf16.
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
    ("dcgan64", 32, 64, 15),  # 6 timed steps let one slow moment decide its bf16 row
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
CONV = {"dcgan28", "cgan28", "wgan28", "wgan-gp28", "dcgan64", "pix2pix64"}
# One Fashion-MNIST epoch at batch 128 (the last, partial batch is dropped).
EPOCH_IMAGES, EPOCH_BATCH = 60_000, 128
EPOCH_STEPS = EPOCH_IMAGES // EPOCH_BATCH
# Where the step is overhead-bound on a CPU, Rust must beat the tutorial style by this much.
OVERHEAD_BOUND = {"toy": 1.3, "mlp28": 1.3}
# bf16 (`--precision bf16`) must make these Rust steps at least this much faster than fp32 on a
# CPU with bf16 instructions; and no conv model's Rust bf16 step may be slower than PyTorch's.
BF16_SPEEDUP = {"dcgan28": 1.3, "pix2pix64": 1.3}
# The fast-EMA DCGAN preset (notebook 06) may cost at most this much more per step than the
# paper's DCGAN, both in Rust, at notebook 02's CPU size (width 48, batch 64).
PRESET_COST = 1.10


def rust_ms(model, width, batch, steps, device, binary, data="test", channels_last=None,
            precision="fp32"):
    env = {**os.environ, "GANS_DEVICE": device, "GANS_BENCH_DATA": data,
           "GANS_PRECISION": precision}
    if channels_last is not None:
        env["GANS_CHANNELS_LAST"] = "1" if channels_last else "0"
    out = subprocess.run([binary, model, str(width), str(batch), str(steps)],
                         cwd=ROOT, capture_output=True, text=True, env=env)
    match = re.search(r"([\d.]+) ms/step", out.stdout)
    if out.returncode != 0 or not match:
        sys.exit(f"step_time {model} failed:\n{out.stdout}\n{out.stderr}")
    return float(match.group(1))


def python_ms(model, style, width, batch, steps, device, *flags):
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "reference.py"), model, style,
         "--width", str(width), "--batch", str(batch), "--steps", str(steps),
         "--device", device, *flags],
        capture_output=True, text=True,
    )
    if out.returncode != 0:
        sys.exit(f"reference {model} {style} {' '.join(flags)} failed:\n{out.stdout}\n"
                 f"{out.stderr}")
    return float(out.stdout.split()[-1])


def tuned_flags(model):
    return ("--channels-last",) if model in CONV else ()


def epoch(args, binary, device):
    """One Fashion-MNIST DCGAN-28 epoch (width 64, batch 128) in Rust and both references."""
    times = {"rust": [], "tutorial": [], "tuned": []}
    for _ in range(args.repeats):
        ms = rust_ms("dcgan28", 64, EPOCH_BATCH, EPOCH_STEPS, device, binary, data="train")
        times["rust"].append(ms)
        for style in ("tutorial", "tuned"):
            flags = ("--images", str(EPOCH_IMAGES)) + (tuned_flags("dcgan28") if style == "tuned" else ())
            times[style].append(python_ms("dcgan28", style, 64, EPOCH_BATCH, EPOCH_STEPS,
                                          device, *flags))
    seconds = {k: statistics.median(v) * EPOCH_STEPS / 1000 for k, v in times.items()}
    print(f"Fashion-MNIST DCGAN-28 epoch ({EPOCH_IMAGES:,} images, batch {EPOCH_BATCH}, "
          f"{EPOCH_STEPS} steps), median of {args.repeats}:")
    for k, v in seconds.items():
        print(f"  {k}: {v:.2f} s  (runs: {', '.join(f'{t:.2f}' for t in times[k])} ms/step)")
    print(f"  tutorial ÷ Rust {seconds['tutorial'] / seconds['rust']:.2f}, "
          f"tuned ÷ Rust {seconds['tuned'] / seconds['rust']:.2f}")
    return seconds


def trials(args, binary, device, plan):
    """Channels-last and bf16 autocast on the 64×64 models, interleaved, medians."""
    print("| model | Rust contiguous | Rust channels-last | PyTorch tuned | + channels-last "
          "| + bf16 | + both |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for model, width, batch, steps in plan:
        if model not in ("dcgan64", "pix2pix64"):
            continue
        variants = {
            "rust0": lambda: rust_ms(model, width, batch, steps, device, binary, args.data, False),
            "rust1": lambda: rust_ms(model, width, batch, steps, device, binary, args.data, True),
        }
        for name, flags in [("py", ()), ("py_cl", ("--channels-last",)), ("py_bf16", ("--bf16",)),
                            ("py_both", ("--channels-last", "--bf16"))]:
            variants[name] = (lambda f=flags: python_ms(model, "tuned", width, batch, steps,
                                                         device, *f))
        times = {k: [] for k in variants}
        for _ in range(args.repeats):
            for k, run in variants.items():
                times[k].append(run())
        row = " | ".join(f"{statistics.median(times[k]):.2f}" for k in variants)
        print(f"| {model} | {row} |", flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only")
    parser.add_argument("--device")
    parser.add_argument("--step-time", help="a step_time binary built elsewhere")
    parser.add_argument("--data", default="test", choices=["test", "random"])
    parser.add_argument("--epoch", action="store_true")
    parser.add_argument("--trials", action="store_true")
    parser.add_argument("--precision-only", action="store_true")
    args = parser.parse_args()
    import torch

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    plan = GPU if device.startswith("cuda") else CPU
    if args.only:
        wanted = set(args.only.split(","))
        plan = [p for p in plan if p[0] in wanted]
        if not plan:
            sys.exit(f"--only {args.only}: no such model")
    if args.step_time:
        binary = str(Path(args.step_time).resolve())
    else:
        subprocess.run(["cargo", "build", "--quiet", "--release", "--example", "step_time"],
                       cwd=ROOT, check=True)
        binary = str(ROOT / "target" / "release" / "examples" / "step_time")
    where = torch.cuda.get_device_name(0) if device.startswith("cuda") else (
        f"CPU, {torch.get_num_threads()} threads")
    print(f"torch {torch.__version__} on {where}; median of {args.repeats} runs", flush=True)
    if args.epoch:
        epoch(args, binary, device)
        return
    if args.trials:
        trials(args, binary, device, plan)
        return
    rows, failures = [], []
    if args.precision_only:
        failures = precisions(args, binary, device, plan)
        if failures:
            print("\ntargets missed:\n  " + "\n  ".join(failures))
            sys.exit(1)
        return
    for model, width, batch, steps in plan:
        times = {"rust": [], "tutorial": [], "tuned": []}
        for _ in range(args.repeats):  # interleaved, so a slow moment hits all three
            times["rust"].append(rust_ms(model, width, batch, steps, device, binary, args.data))
            times["tutorial"].append(python_ms(model, "tutorial", width, batch, steps, device))
            times["tuned"].append(python_ms(model, "tuned", width, batch, steps, device,
                                            *tuned_flags(model)))
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
    if any(p[0] == "dcgan28" for p in plan):
        failures += presets(args, binary, device)
    failures += precisions(args, binary, device, plan)
    if failures:
        print("\ntargets missed:\n  " + "\n  ".join(failures))
        sys.exit(1)


def presets(args, binary, device):
    """The fast-EMA DCGAN preset against the paper's, both in Rust, interleaved."""
    width, batch, steps = (48, 64, 15) if device == "cpu" else (64, 128, 200)
    times = {"dcgan28": [], "dcgan28-fast-ema": []}
    for _ in range(args.repeats):
        for model in times:
            times[model].append(rust_ms(model, width, batch, steps, device, binary, args.data))
    paper, fast = (statistics.median(times[k]) for k in times)
    ratio = fast / paper
    print(f"\nDCGAN presets (width {width}, batch {batch}): paper {paper:.2f} ms/step, fast-EMA "
          f"{fast:.2f} ms/step, fast-EMA ÷ paper {ratio:.2f} (target ≤ {PRESET_COST})")
    return [] if ratio <= PRESET_COST else [f"fast-EMA preset costs {ratio:.2f} × the paper's"]


def cpu_has_bf16():
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def precisions(args, binary, device, plan):
    """Every conv model in fp32 and bf16, Rust and the tuned reference, interleaved."""
    conv = [p for p in plan if p[0] in CONV]
    if not conv:
        return []
    if device != "cpu":
        print("\nbf16: the crate refuses --precision bf16 on CUDA until a GPU has run it")
        return []
    if not cpu_has_bf16():
        print("\nbf16: this CPU has no avx512_bf16 or amx_bf16; Rust refuses bf16 here")
        return []
    print("\n| model | Rust fp32 | Rust bf16 | Rust fp32 ÷ bf16 | PyTorch fp32 | PyTorch bf16 "
          "| PyTorch fp32 ÷ bf16 | PyTorch bf16 ÷ Rust bf16 |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    failures = []
    for model, width, batch, steps in conv:
        runs = {
            "rust32": lambda: rust_ms(model, width, batch, steps, device, binary, args.data),
            "rust16": lambda: rust_ms(model, width, batch, steps, device, binary, args.data,
                                      precision="bf16"),
            "py32": lambda: python_ms(model, "tuned", width, batch, steps, device,
                                      *tuned_flags(model)),
            "py16": lambda: python_ms(model, "tuned", width, batch, steps, device,
                                      *tuned_flags(model), "--bf16"),
        }
        times = {k: [] for k in runs}
        for _ in range(args.repeats):  # interleaved, so a slow moment hits all four
            for k, run in runs.items():
                times[k].append(run())
        r32, r16, p32, p16 = (statistics.median(times[k]) for k in runs)
        print(f"| {model} | {r32:.2f} | {r16:.2f} | {r32 / r16:.2f} | {p32:.2f} | {p16:.2f} "
              f"| {p32 / p16:.2f} | {p16 / r16:.2f} |", flush=True)
        if device == "cpu":
            need = BF16_SPEEDUP.get(model)
            if need and r32 / r16 < need:
                failures.append(f"{model}: Rust fp32 ÷ bf16 = {r32 / r16:.2f} < {need}")
            if p16 / r16 < 1.0:
                failures.append(f"{model}: PyTorch bf16 ÷ Rust bf16 = {p16 / r16:.2f} < 1")
    return failures


if __name__ == "__main__":
    main()
