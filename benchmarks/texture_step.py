"""The texture generator's training step, trimmed body against a padded pass over the whole grid.

    python benchmarks/texture_step.py [--batch 8] [--reps 6]

In training G's resize body cuts each convolution's padded ring as it goes (models/texture.py),
so it computes only the pixels the halo keeps; the reference is the same G in eval mode,
which resizes, convolves over the whole noise grid and cuts the halo at the end (the same
values: tests/unit/models/test_texture.py; BatchNorm from its running statistics, a little
cheaper than from the batch's). Per crop size: multiply-adds of G's
forward pass counted by torch, and the CPU time of forward + backward under the training
precision (bf16 autocast where the CPU has it natively), one thread, the two alternated rep by
rep in one process so the machine's load moves both alike. Prints a table with the load
average it ran at.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fashiongan.accel.bf16 import fast_bf16
from fashiongan.models.texture import TextureGenerator


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--reps", type=int, default=6)
    args = ap.parse_args()
    torch.set_num_threads(1)
    dtype = torch.bfloat16 if fast_bf16(torch.device("cpu")) else torch.float32
    print(f"G's step, batch {args.batch}, {dtype}, 1 thread; load average "
          f"{os.getloadavg()[0]:.1f} at the start")
    print("| crop | G forward GMAC, whole grid | trimmed | whole / trimmed time |")
    print("|---:|---:|---:|---:|")
    for crop in (32, 56, 64, 128):
        torch.manual_seed(0)
        g = TextureGenerator(resolution=crop, **TextureGenerator.snapshot_kwargs())
        z = g.training_latents(args.batch, torch.Generator().manual_seed(1))
        runs = {"whole": lambda g=g, z=z: g.eval()(z), "trimmed": lambda g=g, z=z: g.train()(z)}
        macs, secs = {}, dict.fromkeys(runs, 0.0)
        for name, fn in runs.items():
            with torch.no_grad(), FlopCounterMode(display=False) as count:
                fn()
            macs[name] = count.get_total_flops() / 2 / 1e9

        def step(fn) -> None:
            with torch.autocast("cpu", dtype, enabled=dtype != torch.float32):
                out = fn()
            out.float().square().mean().backward()

        for fn in runs.values():
            step(fn)  # warm-up
        for _ in range(args.reps):
            for name, fn in runs.items():
                t0 = time.process_time()
                step(fn)
                secs[name] += time.process_time() - t0
        print(f"| {crop} | {macs['whole']:.2f} | {macs['trimmed']:.2f} | "
              f"{secs['whole'] / secs['trimmed']:.2f} |")


if __name__ == "__main__":
    main()
