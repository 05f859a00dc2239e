"""What augmentation costs: images/s of diffaugment and ada against none, in one run.

    .venv/bin/python benchmarks/augment_overhead.py
    .venv/bin/python benchmarks/augment_overhead.py --threads 2 --rounds 9
    .venv/bin/python benchmarks/augment_overhead.py --channels-last   # as training lays it out

For batches of 32x1x28x28 (Fashion-MNIST) and 32x3x64x64 (real garments, three per colour
image, resized) it times three things per method:

  aug fwd    the augmentation call alone
  aug f+b    the call and its backward (what G's step adds: gradients flow through it)
  D step     augmentation, then a DCGAN D's forward and backward (fashiongan's dcgan D, width
             32 as in the dcgan preset; a 3-channel first layer for the 64 px batch), the unit
             that a D or G pass of training costs

ADA runs at p = 0.5 and at p = 0.125 (where the colour preset's ADA settles); `every@0.125`
is ADA at 0.125 with the pipeline computed on every image of the batch, where fashiongan
computes only the images some operation changes (augment/ada.apply): the reference for that
saving.
`none` is the input itself, so its "aug" columns are not printed; the ratio column is the D
step's images/s relative to none's. Methods alternate in rounds and each number is the median
over the rounds, so a load change on the machine hits all of them alike.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from fashiongan import data
from fashiongan.augment import AdaController, Augmenter, ada
from fashiongan.models.dcgan import DCGANDiscriminator

SHAPES = [(32, 1, 28), (32, 3, 64)]


def batch(n: int, channels: int, size: int) -> torch.Tensor:
    images, _ = data.load("train")
    x = images[:n * channels].float().div(127.5).sub(1.0).view(channels, n, 28, 28)
    x = x.transpose(0, 1).contiguous()
    if size != 28:
        x = nn.functional.interpolate(x, size=(size, size), mode="bilinear",
                                      align_corners=False)
    return x


def discriminator(channels: int) -> nn.Module:
    torch.manual_seed(0)
    D = DCGANDiscriminator(d_width=32)
    if channels != 1:
        D.features[0] = nn.Conv2d(channels, 32, 4, 2, 1)
    return D


class EveryImage(Augmenter):
    """ADA with its pipeline computed on every image, changed or not."""

    def __call__(self, x: torch.Tensor, *, generator: torch.Generator) -> torch.Tensor:
        o = self.ada_options
        return ada.every_image(x, ada.sample(x, self.p, generator, o), o)


def timed(fn, n: int) -> float:
    t = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t) / n


def tasks(aug: Augmenter, x: torch.Tensor, D: nn.Module) -> dict:
    g = torch.Generator().manual_seed(0)

    def fwd():
        aug(x, generator=g)

    xg = x.clone().requires_grad_(True)

    def fwd_bwd():
        y = aug(xg, generator=g)
        y.backward(torch.ones_like(y))

    def d_step():
        y = aug(xg, generator=g)
        D.zero_grad(set_to_none=True)
        D(y).sum().backward()

    return {"aug fwd": fwd, "aug f+b": fwd_bwd, "D step": d_step}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--seconds", type=float, default=0.25, help="per timed block")
    ap.add_argument("--channels-last", action="store_true",
                    help="images and D in channels-last, the layout training uses")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    methods = {"none": Augmenter("none"), "diffaugment": Augmenter("diffaugment"),
               "ada@0.5": Augmenter("ada", controller=AdaController(p=0.5)),
               "ada@0.125": Augmenter("ada", controller=AdaController(p=0.125)),
               "every@0.125": EveryImage("ada", controller=AdaController(p=0.125))}
    print(f"torch {torch.__version__}, {args.threads} thread(s), median of {args.rounds} "
          f"rounds, images/s")
    print(f"{'batch':<12} {'method':<12} {'aug fwd':>10} {'aug f+b':>10} {'D step':>10} "
          f"{'vs none':>8}")
    for n, c, s in SHAPES:
        x, D = batch(n, c, s), discriminator(c)
        if args.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
            D = D.to(memory_format=torch.channels_last)
        jobs = {m: tasks(a, x, D) for m, a in methods.items()}
        iters = {}
        for m, t in jobs.items():  # warm up, and size each block to about --seconds
            for name, fn in t.items():
                fn()
                iters[m, name] = max(1, int(args.seconds / max(timed(fn, 3), 1e-6)))
        rates = {k: [] for k in iters}
        for _ in range(args.rounds):
            for m, t in jobs.items():
                for name, fn in t.items():
                    rates[m, name].append(n / timed(fn, iters[m, name]))
        med = {k: statistics.median(v) for k, v in rates.items()}
        base = med["none", "D step"]
        for m in methods:
            cols = ["-" if m == "none" else f"{med[m, k]:,.0f}" for k in ("aug fwd", "aug f+b")]
            print(f"{n}x{c}x{s}x{s:<5} {m:<12} {cols[0]:>10} {cols[1]:>10} "
                  f"{med[m, 'D step']:>10,.0f} {med[m, 'D step'] / base:>7.2f}x")


if __name__ == "__main__":
    main()
