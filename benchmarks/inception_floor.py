"""Inception scores of real training images and of the shipped generator against the test set.

    python benchmarks/inception_floor.py --n 10000 --dtype bfloat16 --json floor.json
    python benchmarks/inception_floor.py --sets generator --generator RUN --n 10000

The real-data floor uses the same training images as the evaluator's floor
(metrics.reference.floor_index); the generator's samples are those of `fashiongan evaluate` (seed 0,
image i from seed i). Prints one line per set and writes all numbers and timings as JSON.
"""

from __future__ import annotations

import argparse
import time

import torch

from fashiongan.data.store import fmnist_dataset
from fashiongan.fileio import atomic_write_json
from fashiongan.metrics import inception, report
from fashiongan.metrics.reference import floor_index


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--dtype", choices=["float32", "bfloat16"], default="float32")
    ap.add_argument("--generator", help="generator: a path or a shipped name (default: the "
                    "shipped best)")
    ap.add_argument("--sets", default="train,generator",
                    help="which sets to score, comma-separated (default: %(default)s)")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--data-dir")
    args = ap.parse_args(argv)
    from fashiongan.generate.sampling import sample
    from fashiongan.snapshot import load_generator, shipped_generator

    net = inception.feature_net(inception.load_shipped(dtype=getattr(torch, args.dtype)))
    ds = fmnist_dataset(args.data_dir)
    gen_path = args.generator or str(shipped_generator())
    sets = {"train": lambda: ds.pixels[floor_index(ds, args.n)],
            "generator": lambda: torch.as_tensor(sample(load_generator(gen_path), args.n,
                                                        seed=0))}
    out = {"n": args.n, "dtype": args.dtype, "threads": torch.get_num_threads(),
           "generator": gen_path}
    wanted = args.sets.split(",")
    if unknown := set(wanted) - set(sets):
        ap.error(f"--sets: unknown {', '.join(sorted(unknown))} (choose from train, generator)")
    for name in wanted:
        make = sets[name]
        t0 = time.perf_counter()
        res = report.evaluate(net, ds, make(), floor=False)
        res["timing_s"]["total"] = time.perf_counter() - t0
        out[name] = res
        print(f"{name}:\n{report.format_table(res, ds.info.class_names)}\n[{res['timing_s']}]",
              flush=True)
        if args.json:
            atomic_write_json(args.json, out)


if __name__ == "__main__":
    main()
