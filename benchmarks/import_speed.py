"""How fast `fashiongan data import` is: 10,000 JPEGs made from Fashion-MNIST (tinted per class,
enlarged to 96 px RGB) in a temp folder, imported at 64 px serially and with a process pool.

    PYTHONPATH=src python benchmarks/import_speed.py [--n 10000] [--size 96] [--jobs 1,2]

Prints a table of images/s; the JPEG-making time is not counted.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from fashiongan import data
from fashiongan.data import importer, store

TINTS = np.array([(255, 64, 64), (64, 255, 64), (64, 64, 255), (255, 255, 64), (255, 64, 255),
                  (64, 255, 255), (255, 160, 64), (160, 64, 255), (128, 128, 128),
                  (200, 200, 255)], np.float32) / 255


def make_jpegs(root: Path, n: int, size: int) -> None:
    x, y = data.load("train")
    x, y = x[:n].numpy(), y[:n].numpy()
    for c in range(10):
        (root / f"class-{c}").mkdir(parents=True)
    for i in range(n):
        big = np.asarray(Image.fromarray(x[i], "L").resize((size, size), Image.BICUBIC))
        # garments dark on white, as on product photos: the importer's default background
        rgb = 255 - (big[..., None] * (1 - TINTS[y[i]])).round().astype(np.uint8)
        Image.fromarray(rgb, "RGB").save(root / f"class-{y[i]}" / f"{i:05d}.jpg", quality=90)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=10000)
    p.add_argument("--size", type=int, default=96)
    p.add_argument("--resolution", type=int, default=64)
    p.add_argument("--jobs", default=f"1,{importer.default_jobs()}",
                   help="comma-separated pool sizes to time (1 = serial, no pool)")
    args = p.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="import-speed-"))
    try:
        t = time.perf_counter()
        make_jpegs(tmp / "src", args.n, args.size)
        print(f"made {args.n} JPEGs of {args.size} px in {time.perf_counter() - t:.1f} s "
              f"({os.cpu_count()} CPUs)")
        rows = []
        for jobs in [int(j) for j in args.jobs.split(",")]:
            out = tmp / f"ds-{jobs}"
            t = time.perf_counter()
            importer.import_images(tmp / "src", out, resolution=args.resolution, jobs=jobs,
                                 progress=False, log=lambda line: None)
            dt = time.perf_counter() - t
            ds = store.open_dataset(out)
            rows.append((jobs, dt, len(ds) / dt, store.sha256_file(out / "pixels.npy")))
        print(f"\n{'jobs':>6s} {'seconds':>8s} {'images/s':>9s}  pixels.npy sha256")
        for jobs, dt, rate, digest in rows:
            name = "serial" if jobs == 1 else f"{jobs}"
            print(f"{name:>6s} {dt:8.2f} {rate:9.0f}  {digest[:16]}")
        if len({r[3] for r in rows}) != 1:
            raise SystemExit("serial and parallel imports differ")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
