"""Command to first iteration: how long `fashiongan train` takes before it has trained once.

    python benchmarks/startup.py               # 5 runs of the article preset
    python benchmarks/startup.py --reps 9 --preset default

Each run is the real command in a fresh process (`python -m fashiongan train ... --set
log_interval=1`); the time to its first iteration is when the first line of metrics.jsonl, which
is written right after iteration 1, appears on disk (polled every 5 ms). The reference row is
`python -c "import torch"` in the same run: the floor no change of ours can go below, and the
ratio to it is the figure to compare between machines. The machine is shared: compare rows of
one invocation; the load average is printed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def time_command(cmd: list[str], first_line: Path | None = None) -> tuple[float, float]:
    """(seconds until `first_line` holds a line, or the end; seconds until the process ended)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    first = None
    while proc.poll() is None:
        if first is None and first_line is not None and first_line.is_file() \
                and first_line.read_text().strip():
            first = time.perf_counter() - t0
        time.sleep(0.005)
    total = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {proc.stderr.read()[-2000:]}")
    return (first if first is not None else total), total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--preset", default="article")
    args = ap.parse_args()
    rows = {"python -c 'import torch' (floor)": [], f"train --preset {args.preset}": []}
    firsts = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.reps):  # interleaved, so a burst of load hits both rows alike
            _, t = time_command([sys.executable, "-c", "import torch"])
            rows["python -c 'import torch' (floor)"].append(t)
            out = Path(tmp) / f"run{i}"
            first, total = time_command(
                [sys.executable, "-m", "fashiongan", "train", "--preset", args.preset,
                 "--set", "iterations=2", "--set", "log_interval=1", "--no-progress",
                 "--out", str(out)], out / "metrics.jsonl")
            firsts.append(first)
            rows[f"train --preset {args.preset}"].append(total)
    floor = statistics.median(rows["python -c 'import torch' (floor)"])
    print(f"load average {os.getloadavg()[0]:.2f}, {args.reps} runs each, median seconds")
    print(f"{'command':40s} {'to 1st iteration':>17s} {'to exit':>9s} {'x floor':>8s}")
    for name, times in rows.items():
        med = statistics.median(times)
        first = statistics.median(firsts) if name.startswith("train") else med
        print(f"{name:40s} {first:17.2f} {med:9.2f} {first / floor:8.2f}")


if __name__ == "__main__":
    main()
