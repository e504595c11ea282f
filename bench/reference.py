"""PyTorch references for `make bench`: the course's models and training steps in Python.

Each model is the same architecture, batch, loss and optimiser as the Rust one in `gans`
(layer by layer: see the shape comments), trained one step at a time in two styles:

- tutorial: the way the PyTorch tutorials write it. A DataLoader over CPU tensors shuffles and
  batches, each batch is converted and moved to the device, and every step logs its numbers
  with `.item()` (each call waits for the device).
- tuned: the data lives on the device as uint8, batches are `index_select` of a shuffled index
  on the device, nothing is read back during the timed steps, and Adam runs its `foreach`
  implementation.

    python bench/reference.py MODEL STYLE [--width W] [--batch B] [--steps N] [--device D]

prints one line: `MODEL STYLE ms_per_step`. The data is random pixels of the dataset's shape
(the cost of a step does not depend on what the pixels show): Fashion-MNIST's 10,000 test
images for the 28×28 models, 2,000 RGB images for the 64×64 ones, as the Rust side uses.
"""

import argparse
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def bn(c):
    return nn.BatchNorm2d(c, eps=1e-5, momentum=0.1)


# ---------------------------------------------------------------- toy 2-D ring (notebook 01)
class ToyMlp(nn.Module):
    def __init__(self, inputs, width, layers, outputs):
        super().__init__()
        sizes = [inputs] + [width] * layers
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes, sizes[1:]))
        self.out = nn.Linear(sizes[-1], outputs)

    def forward(self, x):
        for layer in self.hidden:
            x = F.relu(layer(x))  # [B, 128]
        return self.out(x)


class ToyD(nn.Module):
    """Packs of 2 points (PacGAN) → one logit."""

    def __init__(self, pack=2):
        super().__init__()
        self.pack = pack
        self.net = ToyMlp(2 * pack, 128, 3, 1)

    def forward(self, points):
        return self.net(points.reshape(-1, 2 * self.pack)).view(-1)  # [B / pack]


def ring_sample(n, device):
    """8 Gaussians of σ = 0.02 on a circle of radius 2."""
    k = torch.randint(0, 8, (n,), device=device)
    angle = k.float() * (2 * torch.pi / 8)
    centres = torch.stack([angle.cos(), angle.sin()], 1) * 2.0
    return centres + 0.02 * torch.randn(n, 2, device=device)


# ---------------------------------------------------------------- MLP GAN (learner variant)
class MlpG(nn.Module):
    def __init__(self, latent=100, pixels=784):
        super().__init__()
        self.fc = nn.ModuleList(
            [nn.Linear(latent, 128), nn.Linear(128, 256), nn.Linear(256, 512),
             nn.Linear(512, 1024), nn.Linear(1024, pixels)])
        self.bn = nn.ModuleList([nn.BatchNorm1d(c, eps=1e-5) for c in (256, 512, 1024)])

    def forward(self, z):
        x = F.leaky_relu(self.fc[0](z), 0.2)  # [B, 128]
        for fc, norm in zip(self.fc[1:4], self.bn):
            x = F.leaky_relu(norm(fc(x)), 0.2)  # [B, 256] → [B, 512] → [B, 1024]
        return torch.tanh(self.fc[4](x)).view(-1, 1, 28, 28)


class MlpD(nn.Module):
    def __init__(self, pixels=784):
        super().__init__()
        self.fc1, self.fc2, self.out = nn.Linear(pixels, 512), nn.Linear(512, 256), nn.Linear(256, 1)

    def forward(self, x):
        x = F.leaky_relu(self.fc1(x.flatten(1)), 0.2)  # [B, 512]
        x = F.leaky_relu(self.fc2(x), 0.2)  # [B, 256]
        return self.out(x).view(-1)


# ---------------------------------------------------------------- DCGAN (28 or 64), cGAN, critic
class DcganG(nn.Module):
    def __init__(self, size, channels, width, latent=100, classes=0):
        super().__init__()
        w = width
        widths = {64: [8 * w, 4 * w, 2 * w, w], 28: [2 * w, w]}[size] + [channels]
        layers, inputs = [], latent + classes
        for i, c in enumerate(widths):
            first = i == 0
            k, s, p = (7 if size == 28 else 4, 1, 0) if first else (4, 2, 1)
            layers.append(nn.ConvTranspose2d(inputs, c, k, s, p, bias=False))
            if i < len(widths) - 1:
                layers += [bn(c), nn.ReLU()]
            inputs = c
        layers.append(nn.Tanh())
        self.net = nn.Sequential(*layers)
        self.classes = classes

    def forward(self, z, labels=None):
        if self.classes:
            z = torch.cat([z, F.one_hot(labels, self.classes).float()], 1)
        return self.net(z[:, :, None, None])  # [B, C, S, S]


class DcganD(nn.Module):
    """norm: 'batch' (DCGAN, WGAN with clipping) or 'layer' (WGAN-GP's critic)."""

    def __init__(self, size, channels, width, norm="batch", classes=0):
        super().__init__()
        w = width
        widths = {64: [w, 2 * w, 4 * w, 8 * w], 28: [w, 2 * w]}[size]
        layers, inputs, side = [], channels + classes, size
        for i, c in enumerate(widths):
            side //= 2
            layers.append(nn.Conv2d(inputs, c, 4, 2, 1, bias=False))
            if i > 0:
                layers.append(bn(c) if norm == "batch" else nn.LayerNorm([c, side, side]))
            layers.append(nn.LeakyReLU(0.2))
            inputs = c
        layers.append(nn.Conv2d(inputs, 1, 7 if size == 28 else 4, 1, 0, bias=False))
        self.net = nn.Sequential(*layers)
        self.classes = classes

    def forward(self, x, labels=None):
        if self.classes:
            planes = F.one_hot(labels, self.classes).float()[:, :, None, None]
            x = torch.cat([x, planes.expand(-1, -1, x.shape[2], x.shape[3])], 1)
        return self.net(x).view(-1)


# ---------------------------------------------------------------- Pix2Pix at 64: U-Net + PatchGAN
class Unet(nn.Module):
    def __init__(self, cin, cout, w, levels=6):
        super().__init__()
        ch = [min(w << min(i, 3), 8 * w) for i in range(levels)]
        self.down = nn.ModuleList()
        self.down_bn = nn.ModuleList()
        inputs = cin
        for i, c in enumerate(ch):
            self.down.append(nn.Conv2d(inputs, c, 4, 2, 1, bias=False))
            self.down_bn.append(bn(c) if 0 < i < levels - 1 else nn.Identity())
            inputs = c
        self.up = nn.ModuleList()
        self.up_bn = nn.ModuleList()
        for i in reversed(range(levels)):
            inputs = ch[i] if i == levels - 1 else 2 * ch[i]
            outputs = cout if i == 0 else ch[i - 1]
            self.up.append(nn.ConvTranspose2d(inputs, outputs, 4, 2, 1, bias=i == 0))
            self.up_bn.append(bn(outputs) if i > 0 else nn.Identity())

    def forward(self, x):
        skips = []
        for i, (conv, norm) in enumerate(zip(self.down, self.down_bn)):
            if i > 0:
                x = F.leaky_relu(x, 0.2)
            x = norm(conv(x))  # [B, w, 32, 32] → … → [B, 8w, 1, 1]
            skips.append(x)
        n = len(skips)
        for k, (deconv, norm) in enumerate(zip(self.up, self.up_bn)):
            if k > 0:
                x = torch.cat([x, skips[n - 1 - k]], 1)  # skip connection
            x = norm(deconv(F.relu(x)))
            if 1 <= k <= 3:
                x = F.dropout(x, 0.5, self.training)
        return torch.tanh(x)


class PatchGan(nn.Module):
    def __init__(self, cin, w):
        super().__init__()
        plan = [(cin, w, 2, False), (w, 2 * w, 2, True), (2 * w, 4 * w, 2, True),
                (4 * w, 8 * w, 1, True), (8 * w, 1, 1, False)]
        layers = []
        for i, (a, b, s, norm) in enumerate(plan):
            layers.append(nn.Conv2d(a, b, 4, s, 1, bias=not norm))
            if norm:
                layers.append(bn(b))
            if i < len(plan) - 1:
                layers.append(nn.LeakyReLU(0.2))
        self.net = nn.Sequential(*layers)

    def forward(self, inputs, candidate):
        return self.net(torch.cat([inputs, candidate], 1))  # [B, 1, N, N] patch logits


# ---------------------------------------------------------------- the step, per model
def dcgan_init(module):
    """N(0, 0.02) for conv weights, N(1, 0.02) for batch-norm scales (the DCGAN paper)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def gradient_penalty(critic, real, fake, lam=10.0):
    alpha = torch.rand(real.shape[0], 1, 1, 1, device=real.device)
    mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    scores = critic(mixed)
    (grad,) = torch.autograd.grad(scores.sum(), mixed, create_graph=True)
    return lam * ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


SPECS = {
    # name: (image shape or None, dataset size, default width, default batch)
    "toy": (None, 0, 128, 256),
    "mlp28": ((1, 28, 28), 10000, 0, 64),
    "dcgan28": ((1, 28, 28), 10000, 64, 64),
    "cgan28": ((1, 28, 28), 10000, 32, 64),
    "wgan28": ((1, 28, 28), 10000, 32, 64),
    "wgan-gp28": ((1, 28, 28), 10000, 32, 64),
    "dcgan64": ((3, 64, 64), 2000, 32, 64),
    "pix2pix64": ((3, 64, 64), 2000, 32, 16),
}


class Setup:
    """Networks, optimisers and one training step for `model`."""

    def __init__(self, model, width, device, tuned, channels_last=False, bf16=False):
        self.model, self.device, self.bf16 = model, device, bf16
        adam = dict(foreach=True) if tuned else dict(foreach=False)
        self.n_critic, self.clip, self.gp, self.classes = 1, None, False, 0
        if model == "toy":
            self.G, self.D = ToyMlp(16, 128, 3, 2), ToyD()
            self.latent, lr = 16, 1e-3
        elif model == "mlp28":
            self.G, self.D = MlpG(), MlpD()
            self.latent, lr = 100, 2e-4
        elif model in ("dcgan28", "cgan28", "wgan28", "wgan-gp28", "dcgan64"):
            size, channels = (64, 3) if model == "dcgan64" else (28, 1)
            self.classes = 10 if model == "cgan28" else 0
            norm = "layer" if model == "wgan-gp28" else "batch"
            self.G = DcganG(size, channels, width, classes=self.classes)
            self.D = DcganD(size, channels, width, norm=norm, classes=self.classes)
            dcgan_init(self.G)
            dcgan_init(self.D)
            self.latent, lr = 100, 2e-4
        elif model == "pix2pix64":
            self.G, self.D = Unet(1, 3, width), PatchGan(4, width)
            dcgan_init(self.G)
            dcgan_init(self.D)
            self.latent, lr = None, 2e-4
        else:
            raise SystemExit(f"unknown model {model!r}: use one of {', '.join(SPECS)}")
        self.G.to(device).train()
        self.D.to(device).train()
        if channels_last:
            self.G.to(memory_format=torch.channels_last)
            self.D.to(memory_format=torch.channels_last)
        if model == "wgan28":
            self.n_critic, self.clip = 5, 0.01
            self.opt_g = torch.optim.RMSprop(self.G.parameters(), lr=5e-5, **adam)
            self.opt_d = torch.optim.RMSprop(self.D.parameters(), lr=5e-5, **adam)
        elif model == "wgan-gp28":
            self.n_critic, self.gp = 5, True
            self.opt_g = torch.optim.Adam(self.G.parameters(), 1e-4, betas=(0.0, 0.9), **adam)
            self.opt_d = torch.optim.Adam(self.D.parameters(), 1e-4, betas=(0.0, 0.9), **adam)
        else:
            self.opt_g = torch.optim.Adam(self.G.parameters(), lr, betas=(0.5, 0.999), **adam)
            self.opt_d = torch.optim.Adam(self.D.parameters(), lr, betas=(0.5, 0.999), **adam)
        self.wasserstein = model in ("wgan28", "wgan-gp28")

    def autocast(self):
        """bf16 autocast around the forward passes and losses when asked for (backward runs
        outside it, as the PyTorch AMP recipe does); a no-op otherwise."""
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16)

    def d_scores(self, x, labels):
        return self.D(x, labels) if self.classes else self.D(x)

    def generate(self, n, labels):
        z = torch.randn(n, self.latent, device=self.device)
        return self.G(z, labels) if self.classes else self.G(z)

    def step(self, batches):
        """One generator step after `n_critic` critic steps; `batches` yields (real, labels)
        on the device (Pix2Pix: (target, input)). Returns the numbers a run logs, as tensors."""
        for i in range(self.n_critic):
            real, labels = next(batches)
            with self.autocast():
                if self.model == "pix2pix64":
                    fake = self.G(labels)
                    real_scores = self.D(labels, real)
                    fake_scores = self.D(labels, fake.detach())
                else:
                    fake = self.generate(real.shape[0], labels) if self.n_critic == 1 else None
                    if fake is None:
                        with torch.no_grad():
                            fake = self.generate(real.shape[0], labels)
                    real_scores = self.d_scores(real, labels)
                    fake_scores = self.d_scores(fake.detach(), labels)
                if self.wasserstein:
                    loss_d = fake_scores.mean() - real_scores.mean()
                    if self.gp:
                        loss_d = loss_d + gradient_penalty(self.D, real, fake.detach())
                else:
                    loss_d = F.binary_cross_entropy_with_logits(
                        real_scores, torch.ones_like(real_scores)
                    ) + F.binary_cross_entropy_with_logits(
                        fake_scores, torch.zeros_like(fake_scores)
                    )
            self.opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            self.opt_d.step()
            if self.clip:
                with torch.no_grad():
                    for p in self.D.parameters():
                        p.clamp_(-self.clip, self.clip)
        with self.autocast():
            if self.n_critic > 1:
                fake = self.generate(real.shape[0], labels)
            if self.model == "pix2pix64":
                scores = self.D(labels, fake)
                loss_g = F.binary_cross_entropy_with_logits(scores, torch.ones_like(scores))
                loss_g = loss_g + 100.0 * (fake - real).abs().mean()
            else:
                scores = self.d_scores(fake, labels)
                if self.wasserstein:
                    loss_g = -scores.mean()
                else:
                    loss_g = F.binary_cross_entropy_with_logits(scores, torch.ones_like(scores))
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        self.opt_g.step()
        d_x = real_scores.detach().mean() if self.wasserstein else real_scores.detach().sigmoid().mean()
        d_gz = fake_scores.detach().mean() if self.wasserstein else fake_scores.detach().sigmoid().mean()
        return loss_d.detach(), loss_g.detach(), d_x, d_gz


def data_tensors(model, batch, n=None):
    """Random uint8 images (and labels, or input images for Pix2Pix) of the dataset's shape;
    `n` of them (default: the dataset's size in SPECS)."""
    shape, size, _, _ = SPECS[model]
    n = n or size
    if shape is None:
        return None
    images = torch.randint(0, 256, (n, *shape), dtype=torch.uint8)
    if model == "pix2pix64":
        extra = torch.randint(0, 256, (n, 1, 64, 64), dtype=torch.uint8)
    else:
        extra = torch.randint(0, 10, (n,))
    return images, extra


def to_float(x):
    return x.float() / 127.5 - 1.0


def tutorial_batches(model, data, batch, device):
    """A DataLoader over CPU tensors; every batch converted and copied to the device."""
    if data is None:  # the toy ring: drawn on the CPU with numpy-style code, then moved
        while True:
            yield ring_sample(batch, "cpu").to(device), None
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(*data), batch_size=batch, shuffle=True, drop_last=True
    )
    while True:
        for images, extra in loader:
            extra = to_float(extra).to(device) if model == "pix2pix64" else extra.to(device)
            yield to_float(images).to(device), extra


def tuned_batches(model, data, batch, device):
    """The data on the device as uint8; a shuffled index on the device; index_select."""
    if data is None:
        while True:
            yield ring_sample(batch, device), None
    images, extra = (t.to(device) for t in data)
    n = images.shape[0]
    while True:
        order = torch.randperm(n, device=device)
        for start in range(0, n - batch + 1, batch):
            index = order[start : start + batch]
            picked = extra.index_select(0, index)
            if model == "pix2pix64":
                picked = to_float(picked)
            yield to_float(images.index_select(0, index)), picked


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", choices=list(SPECS))
    parser.add_argument("style", choices=["tutorial", "tuned"])
    parser.add_argument("--width", type=int)
    parser.add_argument("--batch", type=int)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--images", type=int, help="dataset size (default: as in SPECS)")
    parser.add_argument("--channels-last", action="store_true",
                        help="models and batches in torch.channels_last")
    parser.add_argument("--bf16", action="store_true", help="bf16 autocast (forward and losses)")
    args = parser.parse_args()
    _, _, width, batch = SPECS[args.model]
    width, batch = args.width or width, args.batch or batch
    device = torch.device(args.device)
    torch.manual_seed(0)
    tuned = args.style == "tuned"
    setup = Setup(args.model, width, device, tuned, args.channels_last, args.bf16)
    data = data_tensors(args.model, batch, args.images)
    batches = (tuned_batches if tuned else tutorial_batches)(args.model, data, batch, device)
    if args.channels_last:
        batches = (
            tuple(t.contiguous(memory_format=torch.channels_last) if t is not None and t.dim() == 4
                  else t for t in pair)
            for pair in batches
        )
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    log = []
    def one_step():
        numbers = setup.step(batches)
        if not tuned:  # the tutorials print or store these every step
            log.append([t.item() for t in numbers])

    for _ in range(3):  # warm-up
        one_step()
    sync()
    start = time.perf_counter()
    for _ in range(args.steps):
        one_step()
    sync()
    ms = (time.perf_counter() - start) * 1000 / args.steps
    print(f"{args.model} {args.style} {ms:.2f}")


if __name__ == "__main__":
    main()
