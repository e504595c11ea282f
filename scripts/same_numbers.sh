#!/usr/bin/env bash
# A refactor changes no number: short runs of every model, to compare before and after.
#
#   scripts/same_numbers.sh run GANS_BINARY OUT_DIR     train every case below into OUT_DIR
#   scripts/same_numbers.sh compare DIR_BEFORE DIR_AFTER
#
# Typical use: build the binary at the old commit, copy it out of target/, run it into one folder;
# build the new code, run it into another; compare. `compare` checks, byte for byte, each run's
# loss history, step counters and snapshots (checkpoint.json without its timings), every tensor
# of its checkpoint (weights, moving average, optimiser moments, fixed input, snapshots, history
# window), its sample grid and GIF, and the output of `gans sample`. It exits 1 on any difference.
# The data comes from GANS_DATA_DIR when set (a binary built in another checkout looks in that
# checkout's data/ otherwise). About 4 minutes on 2 CPU cores.
set -euo pipefail

cases() {
    # name | arguments of `gans train` (each run also goes through --resume to its last step)
    cat <<'EOF'
vanilla-mnist|vanilla --dataset mnist --steps 30
vanilla-ring|vanilla --dataset ring --steps 40
dcgan-tuned|dcgan --dataset fashion-mnist --steps 24 --width 16 --batch-size 32
dcgan-paper|dcgan --dataset fashion-mnist --steps 24 --width 16 --batch-size 32 --preset paper
dcgan-remedies|dcgan --dataset mnist --steps 24 --width 16 --batch-size 32 --preset paper --spectral-norm --hinge --r1 1 --diff-augment --lr-d 4e-4 --ema 0.9
dcgan-mbstd|dcgan --dataset mnist --steps 24 --width 16 --batch-size 32 --minibatch-std --real-label 0.9
wgan|wgan --dataset mnist --steps 24 --width 16 --batch-size 32
wgan-gp|wgan-gp --dataset mnist --steps 24 --width 16 --batch-size 32
cgan|cgan --dataset mnist --steps 24 --width 16 --batch-size 32
pix2pix|pix2pix --dataset edges2fashion --steps 24 --width 8 --batch-size 4
EOF
}

run_all() {
    local bin="$1" out="$2"
    mkdir -p "$out"
    cases | while IFS='|' read -r name args; do
        [ -n "${ONLY:-}" ] && [[ ",$ONLY," != *",$name,"* ]] && continue
        local dir="$out/$name"
        rm -rf "$dir"
        # Half the steps, then resume to the end: the resumed path is compared too.
        local steps half
        steps=$(sed -E 's/.*--steps ([0-9]+).*/\1/' <<<"$args")
        half=$((steps / 2))
        local failed="$name failed: see $out/$name.log"
        # shellcheck disable=SC2086
        "$bin" train ${args/--steps $steps/--steps $half} --out "$dir" --print-every 1000 \
            --checkpoint-every 2 --device cpu >"$out/$name.log" 2>&1 || { echo "$failed"; exit 1; }
        "$bin" train --resume "$dir" --steps "$steps" --print-every 1000 --device cpu \
            >>"$out/$name.log" 2>&1 || { echo "$failed"; exit 1; }
        # (The ring's points have no picture to sample: its samples.svg is compared instead.)
        [[ "$name" == *-ring ]] || "$bin" sample --checkpoint "$dir" --n 16 --out "$dir/drawn.png" --seed 3 --device cpu \
            >>"$out/$name.log" 2>&1 || { echo "$failed"; exit 1; }
        echo "$name: trained to step $steps"
    done
}

compare() {
    "${PYTHON:-python3}" - "$1" "$2" <<'PY'
import json, struct, sys, pathlib

def tensors(path):
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    body = raw[8 + n:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__" or name == "meta/json":
            continue
        a, b = info["data_offsets"]
        out[name] = (info["dtype"], info["shape"], body[a:b])
    return out

def meta(path):
    m = json.loads(path.read_text())
    m.pop("seconds", None)
    m.pop("crate_version", None)
    return m

before, after = map(pathlib.Path, sys.argv[1:3])
bad = 0
runs = sorted(p.name for p in before.iterdir() if p.is_dir())
for name in runs:
    a, b = before / name, after / name
    problems = []
    if not b.is_dir():
        problems.append("missing after")
    else:
        ta = tensors(a / "checkpoint" / "checkpoint.safetensors")
        tb = tensors(b / "checkpoint" / "checkpoint.safetensors")
        if set(ta) != set(tb):
            problems.append(f"tensor names differ: {sorted(set(ta) ^ set(tb))[:6]}")
        for key in sorted(set(ta) & set(tb)):
            if ta[key] != tb[key]:
                problems.append(f"tensor {key} differs")
        if meta(a / "checkpoint" / "checkpoint.json") != meta(b / "checkpoint" / "checkpoint.json"):
            problems.append("checkpoint.json (history, config or counters) differs")
        for f in sorted(p.name for p in a.iterdir() if p.suffix in (".png", ".gif", ".npy", ".svg")):
            if not (b / f).is_file() or (a / f).read_bytes() != (b / f).read_bytes():
                problems.append(f"{f} differs")
    count = len(tensors(a / "checkpoint" / "checkpoint.safetensors"))
    print(f"{name}: " + ("identical" if not problems else "; ".join(problems[:8]))
          + f" ({count} tensors, history of {len(meta(a / 'checkpoint' / 'checkpoint.json')['history']['step'])} points)")
    bad += bool(problems)
sys.exit(1 if bad else 0)
PY
}

case "${1:-}" in
    run) run_all "$2" "$3" ;;
    compare) compare "$2" "$3" ;;
    *) echo "usage: $0 run GANS_BINARY OUT_DIR | compare DIR_BEFORE DIR_AFTER" >&2; exit 2 ;;
esac
