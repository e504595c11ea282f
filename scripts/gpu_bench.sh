#!/usr/bin/env bash
# The GPU figures of docs/performance.md, on a machine with an NVIDIA GPU, a PyTorch 2.11 install
# and no Rust toolchain, from binaries built on another machine:
#
#   (here)   cargo build --release --bin gans --example step_time
#   (there)  scripts/gpu_bench.sh OUT_DIR [info] [epoch] [train] [trials] [bench]
#
# with target/release/gans, target/release/examples/step_time and data/fashion-mnist copied
# over (GANS_BIN_DIR names another folder for the two binaries). Each part writes OUT_DIR/<part>.txt; with no part named, all of them run (about 12
# minutes on an H100, most of it process start-up: split the parts over calls where a call's
# time is limited).
#   info    nvidia-smi, and `gans info`: tch::Cuda::is_available() and the device, the proof
#           that the Rust side really runs on the GPU
#   epoch   one Fashion-MNIST DCGAN-28 epoch (60,000 images, batch 128) in Rust and in the two
#           PyTorch references (the issue's target: ≤ 2 s, ≥ 2× the tutorial style)
#   train   the same epoch through the `gans train` command, start-up and files included
#   trials  channels-last and bf16 autocast on the 64×64 DCGAN and on Pix2Pix
#   bench   the `make bench` table with the GPU plan of bench/run.py
set -euo pipefail

out=${1:?usage: scripts/gpu_bench.sh OUT_DIR [info] [epoch] [train] [trials] [bench]}
shift
parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(info epoch train trials bench)
cd "$(dirname "$0")/.."
mkdir -p "$out"

python=${PYTHON:-python3}
bin=${GANS_BIN_DIR:-target/release}
gans=$bin/gans
step_time=$bin/examples/step_time
for binary in "$gans" "$step_time"; do
    [ -x "$binary" ] || {
        echo "error: $binary is missing: build it with \`cargo build --release --bin gans" \
             "--example step_time\` and copy it here" >&2
        exit 1
    }
done
# The binaries find libtorch (and, through it, the CUDA backend) in this machine's PyTorch.
torch_lib=$("$python" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')
export LD_LIBRARY_PATH="$torch_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export GANS_DATA_DIR=${GANS_DATA_DIR:-$PWD/data}
# GANS_BENCH_DEVICE=cpu rehearses the script on a machine without a GPU.
device=${GANS_BENCH_DEVICE:-cuda}

for part in "${parts[@]}"; do
    echo "== $part" >&2
    case $part in
        info)
            { nvidia-smi || true; "$gans" info --device "$device"; } 2>&1 | tee "$out/info.txt" ;;
        epoch)
            "$python" bench/run.py --device "$device" --step-time "$step_time" --epoch 2>&1 \
                | tee "$out/epoch.txt" ;;
        train)
            rm -rf "$out/fashion-epoch"
            TIMEFORMAT='wall time of the command: %R s'
            { time "$gans" train dcgan --preset paper --dataset fashion-mnist --epochs 1 --batch-size 128 \
                  --device "$device" --out "$out/fashion-epoch" --print-every 100; } 2>&1 \
                | tee "$out/train.txt" ;;
        trials)
            "$python" bench/run.py --device "$device" --step-time "$step_time" --data random \
                --trials 2>&1 | tee "$out/trials.txt" ;;
        bench)
            "$python" bench/run.py --device "$device" --step-time "$step_time" --data random 2>&1 \
                | tee "$out/bench.txt" ;;
        *)
            echo "error: unknown part $part (info, epoch, train, trials or bench)" >&2
            exit 1 ;;
    esac
done
