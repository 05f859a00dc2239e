"""Throughput of 1 vs N CPU ranks (torchrun + gloo), the same preset and per-rank batch.

    python benchmarks/ddp_throughput.py --preset article --iterations 600 --nproc 1 2

Each configuration runs the real `fashiongan train` command; images/s is read from the run's
metrics.jsonl (global images per second), skipping the first tick as warm-up. Configurations
are interleaved over --repeats so that background load hits them alike; the table gives medians.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path


def run(preset: str, nproc: int, iterations: int, batch: int, limit: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        cmd = [sys.executable, "-m", "fashiongan", "train", "--preset", preset, "--out", str(out),
               "--no-progress", "--set", f"iterations={iterations}", "--set", "log_interval=50",
               "--set", f"batch_size={batch}", "--set", "sample_interval=1000000",
               "--set", "checkpoint_interval=1000000", "--limit-data", str(limit)]
        if nproc > 1:
            cmd[4:4] = ["--nproc", str(nproc)]
        else:
            cmd += ["--set", "threads=1"]  # torchrun gives each rank one thread: same here
        subprocess.run(cmd, check=True, capture_output=True, text=True)
        rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
        steady = rows[1:]
        seconds = sum(50 / r["it_per_s"] for r in steady)
        return (steady[-1]["images_seen"] - rows[0]["images_seen"]) / seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="article")
    ap.add_argument("--iterations", type=int, default=600)
    ap.add_argument("--batch-size", type=int, default=32, help="per rank")
    ap.add_argument("--nproc", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--limit-data", type=int, default=60000)
    a = ap.parse_args()
    results = {n: [] for n in a.nproc}
    for _ in range(a.repeats):
        for n in a.nproc:
            results[n].append(run(a.preset, n, a.iterations, a.batch_size, a.limit_data))
    base = statistics.median(results[a.nproc[0]])
    print(f"| preset | ranks | batch/rank | global batch | images/s (median of {a.repeats}) "
          f"| vs {a.nproc[0]} rank |")
    print("|---|---|---|---|---|---|")
    for n in a.nproc:
        med = statistics.median(results[n])
        print(f"| {a.preset} | {n} | {a.batch_size} | {n * a.batch_size} | {med:,.0f} | "
              f"{med / base:.2f}x |")


if __name__ == "__main__":
    main()
