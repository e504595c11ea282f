"""How close a training step is to what this machine can compute: the FLOPs of one step of each
conv model, and the machine's measured matrix-product peak in fp32 and in bf16.

    python bench/ceiling.py [--device cpu] [--only dcgan28,pix2pix64] [--ms MODEL=FP32,BF16 ...]

- FLOPs: `torch.utils.flop_counter.FlopCounterMode` around one step of the tuned reference
  (bench/reference.py: the same networks, batch and losses as the Rust step; it counts
  convolutions and matrix products, forward and backward, which are nearly all of the work;
  it cannot follow WGAN-GP's double backward, so that row is not counted).
- Peak: the best of 5 timings of a 2048×2048 matrix product (2·2048³ FLOPs) in each dtype.
- `--ms MODEL=FP32,BF16`: step times to set against them (the Rust columns of `make bench`);
  prints GFLOP/s and the share of the peak of that dtype.
"""
import argparse
import importlib.util
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

ROOT = Path(__file__).resolve().parent
PLAN = [("dcgan28", 64, 64), ("cgan28", 32, 64), ("wgan28", 32, 64), ("wgan-gp28", 32, 64),
        ("dcgan64", 32, 64), ("pix2pix64", 32, 16)]


def reference():
    spec = importlib.util.spec_from_file_location("reference", ROOT / "reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def peak(dtype, device, n=2048, repeats=5):
    a = torch.randn(n, n, device=device).to(dtype)
    b = torch.randn(n, n, device=device).to(dtype)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        sync()
        start = time.perf_counter()
        a @ b
        sync()
        best = min(best, time.perf_counter() - start)
    return 2 * n ** 3 / best / 1e9


def step_flops(ref, model, width, batch, device):
    torch.manual_seed(0)
    setup = ref.Setup(model, width, device, True, channels_last=True)
    data = ref.data_tensors(model, batch)
    batches = ref.tuned_batches(model, data, batch, device)
    setup.step(batches)  # warm-up: optimiser state created
    with FlopCounterMode(display=False) as counter:
        setup.step(batches)
    return counter.get_total_flops()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--only")
    parser.add_argument("--ms", nargs="*", default=[], help="MODEL=FP32_MS,BF16_MS")
    args = parser.parse_args()
    device = torch.device(args.device)
    times = {}
    for item in args.ms:
        model, values = item.split("=")
        times[model] = [float(v) for v in values.split(",")]
    ref = reference()
    fp32, bf16 = peak(torch.float32, device), peak(torch.bfloat16, device)
    where = torch.cuda.get_device_name(0) if device.type == "cuda" else (
        f"CPU, {torch.get_num_threads()} threads")
    print(f"torch {torch.__version__} on {where}")
    print(f"2048×2048 matrix product: fp32 {fp32:.0f} GFLOP/s, bf16 {bf16:.0f} GFLOP/s "
          f"({bf16 / fp32:.2f}×)\n")
    print("| model | width | batch | GFLOP per step | fp32 ms | fp32 GFLOP/s | of fp32 peak "
          "| bf16 ms | bf16 GFLOP/s | of bf16 peak |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    wanted = set(args.only.split(",")) if args.only else None
    for model, width, batch in PLAN:
        if wanted and model not in wanted:
            continue
        try:
            gflop = step_flops(ref, model, width, batch, device) / 1e9
        except RuntimeError as e:  # the counter's hooks cannot follow a double backward (GP)
            print(f"| {model} | {width} | {batch} | not counted: {str(e).splitlines()[0][:60]}… |")
            continue
        cells = ["", "", "", "", "", ""]
        if model in times:
            t32, t16 = times[model]
            cells = [f"{t32:.1f}", f"{gflop / t32 * 1e3:.0f}", f"{gflop / t32 * 1e3 / fp32:.0%}",
                     f"{t16:.1f}", f"{gflop / t16 * 1e3:.0f}", f"{gflop / t16 * 1e3 / bf16:.0%}"]
        print(f"| {model} | {width} | {batch} | {gflop:.1f} | " + " | ".join(cells) + " |",
              flush=True)


if __name__ == "__main__":
    main()
