"""The shipped generators side by side: load time, sampling time, size.

    python benchmarks/shipped.py                 # every generator in fashiongan/weights
    python benchmarks/shipped.py --threads 1 2 --reps 50

For each name in checkpoint.SHIPPED: the file's size and parameter count, the time to load it
(`fashiongan.load_generator`, in a fresh process each rep, import of fashiongan excluded, so it
is the file read + model build + weights copy a `sample` or `serve` start pays), and the median
time of `fashiongan.sample(g, 16, seed)` (16 designs, one per call, fresh seeds) at each thread
count. The default generator is the reference row: the ratio column is each row's sampling
median over the default's, measured in the same run, which is the figure to compare between
machines. The issue's bars (load < 1 s, 16 designs < 30 ms) are absolute, so the milliseconds
are printed too, with the load average: the machine is shared.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

import torch

import fashiongan
from fashiongan.errors import UserError
from fashiongan.snapshot import SHIPPED, shipped_generator

LOAD = """
import sys, time
import fashiongan
t = time.perf_counter()
fashiongan.load_generator(sys.argv[1])
print(time.perf_counter() - t)
"""


def load_seconds(file: str, reps: int) -> float:
    """Median seconds of load_generator(file), each rep in a fresh process."""
    runs = [float(subprocess.run([sys.executable, "-c", LOAD, file], capture_output=True,
                                 text=True, check=True).stdout) for _ in range(reps)]
    return statistics.median(runs)


def sample_ms(g, threads: int, reps: int) -> float:
    """Median ms of one 16-design `sample` call (after 3 warm-up calls) at `threads`."""
    torch.set_num_threads(threads)
    for s in range(3):
        fashiongan.sample(g, 16, seed=s)
    times = []
    for s in range(reps):
        t = time.perf_counter()
        fashiongan.sample(g, 16, seed=1000 + s)
        times.append(time.perf_counter() - t)
    return 1000 * statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--reps", type=int, default=50, help="timed sample calls per case")
    ap.add_argument("--load-reps", type=int, default=5, help="fresh processes per load time")
    args = ap.parse_args()
    rows, names = [], {}
    for name in SHIPPED:  # names of one file (best, long) share a row
        try:
            names.setdefault(shipped_generator(name), []).append(name)
        except UserError as e:
            print(f"{name}: {e}")
    for file, aliases in names.items():
        g = fashiongan.load_generator(file)
        rows.append((" = ".join(aliases), g, file, load_seconds(str(file), args.load_reps),
                     {t: sample_ms(g, t, args.reps) for t in args.threads}))
    ref = rows[0][4]
    print(f"load average {os.getloadavg()[0]:.2f}; {args.reps} calls of 16 designs per case\n")
    head = " | ".join(f"16 designs, {t} thr (ms, × default)" for t in args.threads)
    print(f"| generator | model | params | MB | load s | {head} |")
    print("|---|---|---:|---:|---:|" + "---:|" * len(args.threads))
    for name, g, file, load_s, ms in rows:
        params = sum(p.numel() for p in g.parameters())
        cells = " | ".join(f"{ms[t]:.1f} ({ms[t] / ref[t]:.2f}×)" for t in args.threads)
        print(f"| {name} | {g.model_name} | {params:,} | {file.stat().st_size / 2**20:.1f} "
              f"| {load_s:.2f} | {cells} |")


if __name__ == "__main__":
    main()
