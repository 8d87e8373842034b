"""A plain CPU PyTorch implementation of the paper's network and update (bench-only).

The same networks as vgan_tf.models at any size (TwoStreamGenerator, Discriminator: the
layer table of the original, main.lua) and the same update as vgan_tf.tasks.VideoGAN:
Adam 2e-4 / beta1 0.5 for both networks, D on the real and the fake batch as separate
batches (separate BatchNorm statistics), BCE(real -> 1) + BCE(fake -> 0), the
non-saturating G loss plus 0.1 * mean|mask|; `g_step` "updated_d" (a third D forward on
the fake batch after the D update, D's weights frozen for G's backward) or "paper" (one D
forward on the fake batch serves both updates). Layout NCDHW (PyTorch's default), fp32 or
bf16 autocast (`torch.autocast("cpu", torch.bfloat16)`, losses in fp32).

Torch is never imported by vgan_tf. It lives in its own venv so that it cannot change the
project venv's packages (installing torch into .venv would upgrade its setuptools):

    python3 -m venv .venv-torch && .venv-torch/bin/pip install torch==2.14.1 numpy

Used by bench/train_step.py as a worker process (`--worker`: JSON commands on stdin, one
JSON answer per line on stdout), so the torch rounds interleave with the vgan_tf rounds
of one run; alone it times itself:

    .venv-torch/bin/python bench/torch_reference.py --batch=8 --precision=bf16
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import time

import torch
from torch import nn
import torch.nn.functional as F


def layout(frames=32, size=64, base_width=64):
    """(seed_frames, widths from the latent outwards), as vgan_tf.config.layout."""
    ups = {8: 1, 16: 2, 32: 3, 64: 4, 128: 5}[size]
    widths = [base_width * 2 ** (ups - 1 - i) for i in range(ups)]
    return frames // 2 ** ups, widths


def _init(module):
    if isinstance(module, (nn.Conv3d, nn.ConvTranspose3d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.01)
        nn.init.zeros_(module.bias)
    elif isinstance(module, (nn.BatchNorm2d, nn.BatchNorm3d)):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def _stream(rank, seed_frames, widths, latent):
    up = nn.ConvTranspose3d if rank == 3 else nn.ConvTranspose2d
    bn = nn.BatchNorm3d if rank == 3 else nn.BatchNorm2d
    layers, cin = [], latent
    for i, width in enumerate(widths):
        if i == 0:
            kernel = (seed_frames, 4, 4) if rank == 3 else 4
            layers.append(up(cin, width, kernel, 1, 0))
        else:
            layers.append(up(cin, width, 4, 2, 1))
        layers += [bn(width, eps=1e-5, momentum=0.1), nn.ReLU(inplace=True)]
        cin = width
    return nn.Sequential(*layers)


class TwoStreamGenerator(nn.Module):
    def __init__(self, frames=32, size=64, latent=100, base_width=64):
        super().__init__()
        seed_frames, widths = layout(frames, size, base_width)
        self.latent = latent
        self.fg = _stream(3, seed_frames, widths, latent)
        self.fg_out = nn.ConvTranspose3d(widths[-1], 3, 4, 2, 1)
        self.mask_out = nn.ConvTranspose3d(widths[-1], 1, 4, 2, 1)
        self.bg = nn.Sequential(_stream(2, seed_frames, widths, latent),
                                nn.ConvTranspose2d(widths[-1], 3, 4, 2, 1))
        self.apply(_init)

    def forward(self, z):
        hidden = self.fg(z.view(z.shape[0], self.latent, 1, 1, 1))
        foreground = torch.tanh(self.fg_out(hidden).float())
        mask = torch.sigmoid(self.mask_out(hidden).float())
        background = torch.tanh(self.bg(z.view(z.shape[0], self.latent, 1, 1)).float())
        video = mask * foreground + (1 - mask) * background.unsqueeze(2)
        return video, mask


class Discriminator(nn.Module):
    def __init__(self, frames=32, size=64, base_width=64):
        super().__init__()
        seed_frames, widths = layout(frames, size, base_width)
        widths = widths[::-1]
        layers = [nn.Conv3d(3, widths[0], 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)]
        for cin, cout in zip(widths[:-1], widths[1:]):
            layers += [nn.Conv3d(cin, cout, 4, 2, 1), nn.BatchNorm3d(cout, eps=1e-3),
                       nn.LeakyReLU(0.2, inplace=True)]
        self.features = nn.Sequential(*layers)
        self.logit = nn.Conv3d(widths[-1], 1, (seed_frames, 4, 4))
        self.apply(_init)

    def forward(self, video):
        return self.logit(self.features(video)).float().flatten(1)


def bce(logits, target):
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


class Trainer:
    """One GAN step of the paper's update on a fixed real batch."""

    def __init__(self, batch, precision="fp32", g_step="updated_d", frames=32, size=64,
                 base_width=64, latent=100, mask_weight=0.1, seed=0):
        torch.manual_seed(seed)
        self.G = TwoStreamGenerator(frames, size, latent, base_width)
        self.D = Discriminator(frames, size, base_width)
        adam = dict(lr=2e-4, betas=(0.5, 0.999), eps=1e-8)
        self.opt_g = torch.optim.Adam(self.G.parameters(), **adam)
        self.opt_d = torch.optim.Adam(self.D.parameters(), **adam)
        self.batch, self.latent, self.mask_weight = batch, latent, mask_weight
        self.real = torch.rand(batch, 3, frames, size, size) * 2 - 1
        self.precision, self.g_step = precision, g_step

    def _autocast(self):
        if self.precision == "bf16":
            return torch.autocast("cpu", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _set_d_grad(self, flag):
        for p in self.D.parameters():
            p.requires_grad_(flag)

    def step(self):
        z = torch.randn(self.batch, self.latent)
        if self.g_step == "paper":
            return self._paper_step(z)
        with self._autocast():
            fake, mask = self.G(z)
            real_logits = self.D(self.real)
            fake_logits = self.D(fake.detach())
        d_loss = bce(real_logits, 1.0) + bce(fake_logits, 0.0)
        self.opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        self.opt_d.step()
        self._set_d_grad(False)
        with self._autocast():
            gen_logits = self.D(fake)
        g_loss = bce(gen_logits, 1.0) + self.mask_weight * mask.abs().mean()
        self.opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        self.opt_g.step()
        self._set_d_grad(True)
        return float(d_loss.detach()), float(g_loss.detach())

    def _paper_step(self, z):
        with self._autocast():
            fake, mask = self.G(z)
            real_logits = self.D(self.real)
            fake_logits = self.D(fake)
        d_loss = bce(real_logits, 1.0) + bce(fake_logits, 0.0)
        g_loss = bce(fake_logits, 1.0) + self.mask_weight * mask.abs().mean()
        d_params, g_params = list(self.D.parameters()), list(self.G.parameters())
        d_grads = torch.autograd.grad(d_loss, d_params, retain_graph=True)
        g_grads = torch.autograd.grad(g_loss, g_params)
        for p, g in zip(d_params, d_grads):
            p.grad = g
        for p, g in zip(g_params, g_grads):
            p.grad = g
        self.opt_d.step()
        self.opt_g.step()
        return float(d_loss.detach()), float(g_loss.detach())

    def time_steps(self, steps):
        """Seconds of `steps` consecutive steps."""
        start = time.perf_counter()
        for _ in range(steps):
            self.step()
        return time.perf_counter() - start


def matmul_rate(precision, n=4096, reps=5):
    """Best GFLOP/s of an n x n matmul in `precision` (fp32 or bf16)."""
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    torch.mm(a, b)
    best = min(_timed(lambda: torch.mm(a, b)) for _ in range(reps))
    return 2 * n ** 3 / best / 1e9


def _timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def worker():
    """Answers JSON commands on stdin, one JSON line each:
    {"cmd": "build", "key", "batch", "precision", "g_step", "warmup", sizes...};
    {"cmd": "round", "key", "steps"} -> {"seconds"}; {"cmd": "matmul", "precision"}."""
    trainers = {}
    for line in sys.stdin:
        command = json.loads(line)
        cmd = command.pop("cmd")
        if cmd == "build":
            key, warmup = command.pop("key"), command.pop("warmup", 2)
            trainers[key] = Trainer(**command)
            for _ in range(warmup):
                trainers[key].step()
            answer = {"ok": True}
        elif cmd == "round":
            answer = {"seconds": trainers[command["key"]].time_steps(command["steps"])}
        elif cmd == "matmul":
            answer = {"gflops": matmul_rate(command["precision"])}
        elif cmd == "info":
            answer = {"torch": torch.__version__, "threads": torch.get_num_threads(),
                      "mkldnn": torch.backends.mkldnn.is_available()}
        else:
            answer = {"error": f"unknown command {cmd!r}"}
        print(json.dumps(answer), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--worker", action="store_true")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="fp32")
    parser.add_argument("--g_step", choices=("updated_d", "paper"), default="updated_d")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=3)
    args = parser.parse_args()
    if args.worker:
        return worker()
    trainer = Trainer(args.batch, args.precision, args.g_step)
    for _ in range(2):
        trainer.step()
    per_step = [trainer.time_steps(args.steps) / args.steps for _ in range(args.rounds)]
    median = statistics.median(per_step)
    print(f"torch {torch.__version__} threads {torch.get_num_threads()} batch {args.batch} "
          f"{args.precision} {args.g_step}: {args.batch / median:.2f} videos/s median, "
          f"{args.batch / min(per_step):.2f} best; load {os.getloadavg()}")


if __name__ == "__main__":
    main()
