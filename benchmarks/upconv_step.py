"""The colour preset's training iteration with G's resize-and-convolve stages computed as the
transposed convolutions they equal, against the resize-then-convolve pass they stand for.

    python benchmarks/upconv_step.py --data cat64 [--data cat128] [--iters 10] [--reps 5]

models/upconv.py computes nearest x2 + 3x3 convolution as one stride-2 transposed convolution
(the same function; tests/unit/models/test_upconv.py). The reference here is that definition,
F.interpolate then the convolution, swapped in for `up_conv` where models/fastgan.py calls it.
Per data set: G's forward multiply-adds per image counted by torch, and fashiongan's Trainer
(what `fashiongan train --data` runs, the `colour` preset fitted to the data) timed in blocks
of iterations by CPU time of the process, one thread, the two alternated block by block in one
process so the machine's load moves both alike (medians). Prints a table with the load average.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from fashiongan import presets  # noqa: E402
from fashiongan.data.store import open_dataset  # noqa: E402
from fashiongan.models import fastgan  # noqa: E402
from fashiongan.training import Trainer  # noqa: E402
from fashiongan.training.trainer import training_data  # noqa: E402

TRANSPOSED = fastgan.up_conv


def resize_then_convolve(x, conv):
    return conv(F.interpolate(x, scale_factor=2.0))


PASSES = {"resize then convolve": resize_then_convolve, "transposed (kept)": TRANSPOSED}


def g_macs(G, device) -> float:
    z = torch.randn(1, G.latent_dim, device=device)
    y = torch.zeros(1, dtype=torch.long, device=device) if G.num_classes else None
    with torch.no_grad(), FlopCounterMode(display=False) as count:
        G.eval()(z, y)
    G.train()
    return count.get_total_flops() / 2 / 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", action="append", required=True, help="an imported colour data set")
    ap.add_argument("--iters", type=int, default=10, help="iterations per timed block")
    ap.add_argument("--reps", type=int, default=5, help="timed blocks per pass")
    args = ap.parse_args()
    torch.set_num_threads(1)
    dev = torch.device("cpu")
    print(f"colour preset, 1 thread, CPU time; load average {os.getloadavg()[0]:.1f} at the start")
    print("| px | batch | G MMAC/img | pass | CPU ms/it | img per CPU s | speed-up |")
    print("|---:|---:|---:|---|---:|---:|---:|")
    for data in args.data:
        images, labels, info = training_data(open_dataset(data))
        cfg = presets.resolve("colour", ["threads=1"], info, len(images))
        trainers = {name: Trainer(cfg, images, labels, info, dev) for name in PASSES}
        ms, macs = {name: [] for name in PASSES}, {}
        for rep in range(args.reps + 1):
            for name, fn in PASSES.items():
                fastgan.up_conv = fn
                t0 = time.process_time()
                trainers[name].run(args.iters)
                if rep:  # the first block warms up
                    ms[name].append((time.process_time() - t0) / args.iters * 1e3)
        for name in PASSES:
            fastgan.up_conv = PASSES[name]
            macs[name] = g_macs(trainers[name].G, dev)
        fastgan.up_conv = TRANSPOSED
        ref = statistics.median(ms["resize then convolve"])
        batch = cfg.schedule.batch_size
        for name in PASSES:
            t = statistics.median(ms[name])
            print(f"| {info.resolution} | {batch} | {macs[name]:.1f} | {name} | {t:.1f} | "
                  f"{batch / t * 1e3:.0f} | {ref / t:.2f}x |")
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
