"""Images per second through the shipped Inception network, variant by variant.

    python benchmarks/inception_speed.py                  # batch 32, 2 rounds
    python benchmarks/inception_speed.py --batch 16 --rounds 3 --threads 2

Variants (each includes the resize to 299 and the scaling, i.e. what `--inception` runs):

* scripted NCHW: default_1.pt as torch.jit.load gives it, contiguous input
* scripted NHWC: the same, channels-last input
* folded NHWC: frozen, weight casts and .contiguous() dropped, batch norm folded into the
  convolutions (metrics/inception_graph.py); what `--inception` uses
* folded NHWC bf16: the same graph in bfloat16 (oneDNN; AMX / AVX512-BF16 where present)

Rounds are interleaved (variant A, B, C, D, A, B, ...) and the best round is reported, so that
a neighbour's burst of work on a shared machine hits all variants alike; the load average is
printed. The floor: the network's multiply-adds counted by torch's FLOP counter.
"""

from __future__ import annotations

import argparse
import os
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from fashiongan import data, imageio
from fashiongan.metrics import inception


def flops_per_image(module) -> float:
    x = torch.zeros(1, 3, 299, 299)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        module(x)
    return counter.get_total_flops()


def scripted(layout):
    module = torch.jit.load(str(inception.shipped_path())).eval()

    def run(batch):
        x = inception.preprocess(batch)  # channels-last
        return module(x.contiguous() if layout == "nchw" else x)

    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    inception.check_pinned(inception.shipped_path())
    images = imageio.to_nchw(data.load("test")[0][:args.batch])
    variants = {
        "scripted NCHW fp32": scripted("nchw"),
        "scripted NHWC fp32": scripted("nhwc"),
        "folded NHWC fp32": inception.load_shipped().run,
        "folded NHWC bf16": inception.load_shipped(dtype=torch.bfloat16).run,
    }
    flops = flops_per_image(torch.jit.load(str(inception.shipped_path())).eval())
    best = dict.fromkeys(variants, float("inf"))
    with torch.no_grad():
        for run in variants.values():
            run(images[:2])  # first calls pick kernels and allocate
        for _ in range(args.rounds):
            for name, run in variants.items():
                t0 = time.perf_counter()
                run(images)
                best[name] = min(best[name], time.perf_counter() - t0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch}, "
          f"best of {args.rounds} interleaved rounds, load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"network: {flops / 1e9:.2f} GFLOP per image ({flops / 2e9:.2f} G multiply-adds); "
          f"10,000 images = {flops * 1e4 / 1e12:.0f} TFLOP")
    base = args.batch / best["scripted NCHW fp32"]
    print(f"{'variant':<22}{'img/s':>8}{'GFLOP/s':>9}{'vs NCHW':>9}{'10k images':>12}")
    for name, t in best.items():
        rate = args.batch / t
        print(f"{name:<22}{rate:8.2f}{rate * flops / 1e9:9.1f}{rate / base:8.2f}x"
              f"{1e4 / rate / 60:9.1f} min")


if __name__ == "__main__":
    main()
