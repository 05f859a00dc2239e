"""Time to quality: wall-clock seconds until a preset's FID first drops below a threshold.

    .venv/bin/python benchmarks/time_to_quality.py --preset default --threshold 40 \
        --eval-every 500 --threads 1

It trains with the project's own loop (fashiongan.training.loop.training_loop, files and all, into
--out or a temporary folder) and the project's in-training FID (fashiongan.training.evaluation:
evaluator features, --eval-samples samples from fixed seeds against the test set) every
--eval-every iterations, and stops at the first evaluation under the threshold. It prints one
row per evaluation and the result: training seconds (time spent evaluating is taken out: a run
without --eval-every does not pay it) and wall seconds with the evaluations in. The FID of a
few thousand samples is biased upwards against the 10,000-sample figure of `fashiongan
evaluate`, so a threshold met here is met there too.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from fashiongan import presets
from fashiongan.training.evaluation import make_evaluator
from fashiongan.training.loop import training_loop


class Reached(Exception):
    pass


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="default")
    ap.add_argument("--threshold", type=float, required=True, help="stop when FID < this")
    ap.add_argument("--also", default="", help="comma list of higher thresholds to report")
    ap.add_argument("--eval-every", type=int, default=500, help="iterations between FIDs")
    ap.add_argument("--eval-samples", type=int, default=5000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--max-seconds", type=float, default=3600, help="give up after this")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--out", default=None, help="run folder (default: a temporary one)")
    ap.add_argument("--data-dir", default=None)
    args = ap.parse_args(argv)

    cfg = presets.resolve(args.preset, args.set + [
        f"eval_every={args.eval_every}", f"eval_samples={args.eval_samples}",
        f"threads={args.threads}"])
    torch.set_num_threads(args.threads)
    tmp = None if args.out else tempfile.TemporaryDirectory(prefix="ttq-")
    run_dir = Path(args.out or tmp.name)
    fid_at = make_evaluator(cfg, run_dir, data_dir=args.data_dir)
    spent_evaluating, rows = 0.0, []
    print(
        f"{args.preset}: {cfg.model.arch}, batch {cfg.schedule.batch_size}, "
        f"{args.threads} thread(s); "
        f"FID of {args.eval_samples} samples every {args.eval_every} iterations, "
        f"threshold {args.threshold}\n"
    )
    print("| iteration | images seen | training s | wall s | FID |")
    print("|---|---|---|---|---|")

    def judge(g, step):
        nonlocal spent_evaluating
        t = time.perf_counter()
        fid = fid_at(g, step)["fid"]
        spent_evaluating += time.perf_counter() - t
        wall = time.perf_counter() - t0
        train_s = wall - spent_evaluating
        print(
            f"| {step} | {step * cfg.schedule.batch_size} | {train_s:.0f} | {wall:.0f} "
            f"| {fid:.2f} |",
            flush=True,
        )
        rows.append((step, train_s, wall, fid))
        if fid < args.threshold:
            raise Reached(step, train_s, wall, fid)

    t0 = time.perf_counter()
    try:
        summary = training_loop(
            cfg,
            run_dir,
            data_dir=args.data_dir,
            progress=False,
            time_budget_s=args.max_seconds,
            evaluator=judge,
        )
    except Reached as r:
        step, train_s, wall, fid = r.args
        print(
            f"\nFID {fid:.2f} < {args.threshold} first at iteration {step}: "
            f"{train_s:.0f} s of training ({wall:.0f} s wall with the evaluations)"
        )
    else:
        print(
            f"\nthreshold {args.threshold} not reached: {summary['status']} at iteration "
            f"{summary['step']} after {time.perf_counter() - t0:.0f} s"
        )
    finally:
        if tmp is not None:
            tmp.cleanup()
    for t in sorted((float(x) for x in args.also.split(",") if x), reverse=True):
        hit = next((r for r in rows if r[3] < t), None)
        print(
            f"FID < {t:g}: "
            + (
                f"iteration {hit[0]}, {hit[1]:.0f} s of training ({hit[2]:.0f} s wall)"
                if hit
                else "not reached"
            )
        )


if __name__ == "__main__":
    main()
