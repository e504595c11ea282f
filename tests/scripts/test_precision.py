"""The crate's bf16 step against PyTorch's `torch.autocast(dtype=torch.bfloat16)`.

`examples/precision_check.rs` writes the weights of a DCGAN-28 (and of one whose critic has
layer norm, as WGAN-GP's does, played on the Wasserstein loss without the penalty) at step 0, a noise batch and a real batch, and the losses, fakes and gradients of one
step computed by the crate in fp32 and in bf16. This test loads the same weights into the
PyTorch reference networks of `bench/reference.py`, computes the same step in fp32 and under
autocast, and checks:

- fp32: the crate and PyTorch agree to float rounding (the networks are the same);
- bf16: the crate's bf16 numbers differ from fp32 (bf16 is really used), and they agree with
  PyTorch's bf16 numbers more closely than either agrees with fp32, within 0.5 % of each
  array's largest value. Both keep activations in bf16 between layers; they still differ in the
  last bits where libtorch's kernels sum in another order.

Skipped where the CPU has no bf16 instructions (the crate refuses bf16 there).
"""
import importlib.util
import os
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[2]


def bench_module(name):
    """bench/NAME.py, imported by path (bench/ is not a package)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def reference():
    return bench_module("reference")


cpu_has_bf16 = bench_module("run").cpu_has_bf16


def crate_numbers(model):
    """Runs the example (built by `cargo test --all-targets`, or built here) into a .npz."""
    out = Path(tempfile.mkdtemp(prefix="gans-precision-")) / f"{model}.npz"
    binary = ROOT / "target" / "debug" / "examples" / "precision_check"
    if not binary.exists():
        subprocess.run(["cargo", "build", "--quiet", "--example", "precision_check"], cwd=ROOT,
                       check=True)
    done = subprocess.run([str(binary), str(out), model], capture_output=True, text=True,
                          env={**os.environ, "GANS_QUIET": "1"}, timeout=300)
    if done.returncode != 0:
        raise AssertionError(f"precision_check {model} failed:\n{done.stdout}\n{done.stderr}")
    arrays = dict(np.load(out))
    out.unlink()
    out.parent.rmdir()
    return arrays


def layer_key(name):
    """`deconv2` → (2, 0), `bn2` / `norm2` → (2, 1): the crate's layers in forward order."""
    digits = "".join(c for c in name if c.isdigit())
    return int(digits), 0 if "conv" in name else 1


def load_weights(module, arrays, prefix):
    """Copies the crate's `w.{prefix}LAYER.{weight,bias,running_mean,running_var}` into the
    reference network's layers that hold parameters, in forward order; checks every shape."""
    layers = sorted({k[len("w." + prefix):].rsplit(".", 1)[0] for k in arrays
                     if k.startswith("w." + prefix)}, key=layer_key)
    torch_layers = [m for m in module.modules()
                    if list(m.parameters(recurse=False)) and m is not module]
    assert len(layers) == len(torch_layers), (layers, torch_layers)
    names = {}
    for name, layer in zip(layers, torch_layers):
        for field in ("weight", "bias", "running_mean", "running_var"):
            key = f"w.{prefix}{name}.{field}"
            target = getattr(layer, field, None)
            if key not in arrays:  # the crate's layer has no such tensor: nor may PyTorch's
                assert target is None, key
                continue
            value = torch.from_numpy(arrays[key])
            assert target is not None and target.shape == value.shape, (key, value.shape)
            with torch.no_grad():
                target.copy_(value)
            if field in ("weight", "bias"):
                names[target] = f"{prefix}{name}.{field}"
    return names


def torch_step(G, D, z, real, bf16, wasserstein, g_names, d_names):
    """Losses, fakes and gradients of one step, as the crate's example computes them."""
    out = {}
    for p in list(G.parameters()) + list(D.parameters()):
        p.grad = None
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        fake = G(z)
        real_scores, fake_scores = D(real).float(), D(fake.detach()).float()
    if wasserstein:
        loss_d = fake_scores.mean() - real_scores.mean()
    else:
        loss_d = (F.binary_cross_entropy_with_logits(real_scores, torch.ones_like(real_scores))
                  + F.binary_cross_entropy_with_logits(fake_scores, torch.zeros_like(fake_scores)))
    loss_d.backward()
    out.update({f"grad.{n}": p.grad.clone() for p, n in d_names.items()})
    for p in list(G.parameters()) + list(D.parameters()):
        p.grad = None
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        scores = D(fake).float()
    loss_g = -scores.mean() if wasserstein else F.binary_cross_entropy_with_logits(
        scores, torch.ones_like(scores))
    loss_g.backward()
    out.update({f"grad.{n}": p.grad.clone() for p, n in g_names.items()})
    out.update(loss_d=loss_d.detach(), loss_g=loss_g.detach(), fake=fake.detach().float())
    return {k: v.numpy().astype(np.float64) for k, v in out.items()}


def gap(a, b):
    """The largest difference, relative to the largest value of `b`."""
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-12))


@unittest.skipUnless(cpu_has_bf16(), "this CPU has no bf16 instructions: the crate refuses bf16")
class Bf16AgainstAutocast(unittest.TestCase):
    def check(self, model, norm, wasserstein):
        ref = reference()
        arrays = crate_numbers(model)
        G, D = ref.DcganG(28, 1, 16), ref.DcganD(28, 1, 16, norm=norm)
        g_names = load_weights(G, arrays, "generator.")
        d_names = load_weights(D, arrays, "discriminator.")
        G.train(), D.train()
        z, real = torch.from_numpy(arrays["z"]), torch.from_numpy(arrays["real"])
        theirs = {bf16: torch_step(G, D, z, real, bf16, wasserstein, g_names, d_names)
                  for bf16 in (False, True)}
        keys = sorted(theirs[False])
        self.assertGreater(len(keys), 8)
        rows = []
        for key in keys:
            ours32, ours16 = (arrays[f"{p}.{key}"].astype(np.float64) for p in ("fp32", "bf16"))
            t32, t16 = theirs[False][key], theirs[True][key]
            rows.append((key, gap(ours32, t32), gap(ours16, t32), gap(t16, t32), gap(ours16, t16)))
        print(f"\n{model}: largest difference ÷ largest value")
        print(f"  {'':<40} {'fp32 vs':>9} {'bf16 error':>11} {'bf16 error':>11} {'crate vs':>9}")
        print(f"  {'':<40} {'PyTorch':>9} {'crate':>11} {'PyTorch':>11} {'PyTorch':>9}")
        for key, fp32_gap, our_error, torch_error, between in rows:
            print(f"  {key:<40} {fp32_gap:>9.1e} {our_error:>11.1e} {torch_error:>11.1e} "
                  f"{between:>9.1e}")
        for key, fp32_gap, our_error, torch_error, between in rows:
            # the same networks: fp32 agrees to float rounding
            self.assertLess(fp32_gap, 1e-4, key)
            # bf16 is really used on both sides…
            self.assertGreater(our_error, 1e-5, key)
            self.assertGreater(torch_error, 1e-5, key)
            # …and the crate's bf16 step is PyTorch's: the two agree more closely than
            # either agrees with fp32, to within 0.5 % of the largest value
            self.assertLess(between, torch_error, key)
            self.assertLess(between, our_error, key)
            self.assertLess(between, 5e-3, key)

    def test_dcgan28_batch_norm(self):
        self.check("dcgan28", "batch", wasserstein=False)

    def test_wgan_gp28_layer_norm_critic(self):
        self.check("wgan-gp28", "layer", wasserstein=True)


if __name__ == "__main__":
    unittest.main()
