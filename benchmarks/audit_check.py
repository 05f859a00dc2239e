"""The audit's own check on the whole of Fashion-MNIST: does it flag copies of training images
and pass unseen ones at the calibrated rate?

    PYTHONPATH=src python benchmarks/audit_check.py [--copies 1000] [--threads 1]

The training split (60,000) is the index. The copy threshold is calibrated on the first half
of the test split (5,000 images); the second half, never seen by the calibration, must be
flagged at about its 5 %. --copies training images, exact, with Gaussian noise of sigma 0.02
(of full scale) and shifted by one pixel (right, and down; the row or column that comes in is
black), must all be flagged, and found as themselves. Prints a table and a JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from fashiongan import data
from fashiongan.metrics import audit, evaluator


def variants(x: np.ndarray, rng) -> dict[str, np.ndarray]:
    noised = np.clip(x + rng.normal(0, 0.02 * 255, x.shape), 0, 255).round().astype(np.uint8)
    right, down = np.zeros_like(x), np.zeros_like(x)
    right[:, :, 1:] = x[:, :, :-1]
    down[:, 1:] = x[:, :-1]
    return {"exact copy": x, "noised copy (sigma 0.02)": noised,
            "copy shifted 1 px right": right, "copy shifted 1 px down": down}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--copies", type=int, default=1000)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    x, y = (t.numpy() for t in data.load("train"))
    xt, yt = (t.numpy() for t in data.load("test"))
    t0 = time.perf_counter()
    index = audit.TrainingIndex(x, evaluator.load()[0])
    half = len(xt) // 2
    cal = audit.calibrate(index, xt[:half], yt[:half], 10)
    rows = {}
    _, d = index.nearest(xt[half:])
    rows["unseen test images (2nd half)"] = {
        "n": len(d), "flagged": float(audit.flagged(d, cal, yt[half:]).mean()),
        "found_itself": None, "median_distance": float(np.median(d))}
    rng = np.random.default_rng(0)
    pick = rng.choice(len(x), args.copies, replace=False)
    for name, q in variants(x[pick], rng).items():
        found, d = index.nearest(q)
        rows[name] = {"n": len(q), "flagged": float(audit.flagged(d, cal, y[pick]).mean()),
                      "found_itself": float((found == pick).mean()),
                      "median_distance": float(np.median(d)), "max_distance": float(d.max())}
    wall = time.perf_counter() - t0
    print(f"threshold: {cal.quantile:.0%} quantile of {half} test images' distances, per class "
          f"(overall {cal.threshold:.4f})")
    print(f"{'images':32s} {'n':>6s} {'flagged':>8s} {'found itself':>13s} {'median d':>9s}")
    for name, r in rows.items():
        found = "-" if r["found_itself"] is None else f"{100 * r['found_itself']:.1f}%"
        print(f"{name:32s} {r['n']:6d} {100 * r['flagged']:7.2f}% {found:>13s} "
              f"{r['median_distance']:9.4f}")
    print(f"({wall:.0f} s)")
    print(json.dumps({"calibration": cal.to_dict(), "rows": rows, "wall_s": wall}))


if __name__ == "__main__":
    main()
