"""Do generated garments help a classifier trained on few real ones? (issue #37)

    nice -n 19 python benchmarks/data_growth.py --per-class 10 100 --synthetic 600 \
        --gen-budget 600 --seeds 0 1 2 --steps 400 --runs-dir runs/data-growth \
        --results runs/data-growth/results.jsonl

For each N (real training images per class: the first N of each class of Fashion-MNIST, or of
--data DATASET, a labelled data set with a test split such as the colour catalogue), one
class-conditional generator is trained on those N x 10 images exactly as `fashiongan data
grow` trains it (export/grow.py: the default preset, whose small-data switch turns on ADA under
2,500 images), for --gen-budget seconds of wall time (its iterations and time are printed beside
the rows). Then a classifier, the evaluator's network and recipe (metrics/evaluator.py) with a
fixed number of SGD steps of a fixed batch for every row (so a row with more images does not get
more training), is trained on

  a  the N real per class
  b  the N real + K synthetic per class from that generator
  c  the K synthetic per class only
  d  the N real with classic augmentation: horizontal flips (a flipped copy of every image)
     and random shifts of up to 3 px (the recipe's own shift is 1 px in every row)
  e  as b, the synthetic images kept only when a judge trained on the N real alone (row a's
     seed-0 classifier; a brand has no other) gives their class >= --min-confidence

and tested on the real test split (Fashion-MNIST's 10,000); mean ± std (n-1) over the
classifier seeds. Rows are appended to --results as they finish and skipped when already
there, so a killed run resumes; a generator's run folder resumes from its last checkpoint.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from fashiongan.data.resolve import resolve  # noqa: E402
from fashiongan.errors import UserError  # noqa: E402
from fashiongan.export import grow  # noqa: E402
from fashiongan.metrics import evaluator  # noqa: E402
from fashiongan.snapshot import load_generator  # noqa: E402
from fashiongan.training.plots import read_jsonl  # noqa: E402

ROWS = {"a": "N real", "b": "N real + K synthetic", "c": "K synthetic only",
        "d": "N real, flips + shifts", "e": "N real + K synthetic, judge-filtered"}


def classifier(x, y, seed: int, steps: int, batch: int, max_shift: int = 1,
               num_classes: int = 10):
    """The evaluator's network and recipe, `steps` SGD steps of `batch` images."""
    b = min(batch, len(x))
    epochs = math.ceil(steps / max(len(x) // b, 1))
    recipe = evaluator.Recipe(epochs=epochs, batch_size=b, seed=seed, max_shift=max_shift,
                              threads=1)
    return evaluator.train(torch.from_numpy(x), torch.from_numpy(y), recipe,
                           log=lambda line: None, max_steps=steps, num_classes=num_classes)


def generator(small, run_dir: Path, budget: float) -> dict:
    """Train (or resume, or reuse) the generator of N real per class; its record."""
    done = run_dir / "data-growth-generator.json"
    if done.is_file():
        return json.loads(done.read_text())
    resume, spent = None, 0.0
    if list((run_dir / "checkpoints").glob("state-*.pt")):
        resume = run_dir
        spent = max((r.get("wall_s", 0) for r in read_jsonl(run_dir / "metrics.jsonl")),
                    default=0.0)
    run_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    s = grow.train_generator(small, run_dir, time_budget_s=max(budget - spent, 1),
                             resume=resume)
    rec = {"step": s["step"], "wall_s": round(spent + time.perf_counter() - t0, 1),
           "augment": s["augment"], "train_images": s["train_images"],
           "status": s["status"], "resumed": resume is not None}
    done.write_text(json.dumps(rec))
    return rec


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", metavar="DATASET", help="a labelled data set folder with a test "
                   "split (default: Fashion-MNIST); its judge.safetensors, when there, gives "
                   "the audit its features")
    p.add_argument("--per-class", type=int, nargs="+", default=[10, 100])
    p.add_argument("--synthetic", type=int, default=600, help="K synthetic per class")
    p.add_argument("--gen-budget", type=float, default=600, help="generator seconds per N")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--steps", type=int, default=400)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--min-confidence", type=float, default=0.8)
    p.add_argument("--rows", default="abcde")
    p.add_argument("--runs-dir", type=Path, default=Path("runs/data-growth"))
    p.add_argument("--results", type=Path, nargs="+",
                   default=[Path("runs/data-growth/results.jsonl")],
                   help="rows are appended to the first; the table reads them all")
    p.add_argument("--test-limit", type=int, default=0, help="first N test images (smoke)")
    p.add_argument("--table-only", action="store_true", help="print the table of --results")
    p.add_argument("--diagnose", action="store_true", help="also: how recognisable each N's "
                   "synthetic images are to the shipped evaluator (trained on all 60,000)")
    args = p.parse_args()
    if args.diagnose and args.data:
        p.error("--diagnose uses the shipped Fashion-MNIST evaluator: not with --data")
    if not args.table_only:
        run(args)
    print(table([r for f in args.results for r in read_jsonl(f)]))
    if args.diagnose:
        diagnose(args)


def diagnose(args) -> None:
    """The shipped evaluator's accuracy on each generator's K synthetic per class (the images
    rows b and c train on): a diagnosis only; a brand with N photos has no such judge."""
    from fashiongan.metrics.features import extract

    torch.set_num_threads(1)
    for n in args.per_class:
        g = load_generator(args.runs_dir / f"n{n}")
        xs, ys, _ = grow.draw(g, args.synthetic, seed=0)
        _, pred = extract(xs)
        acc = float((pred.cpu().numpy() == ys).mean())
        print(f"N={n}: the shipped evaluator puts {100 * acc:.1f}% of the {len(xs):,} "
              "synthetic images in the class they were generated for", flush=True)


def run(args) -> None:
    torch.set_num_threads(1)
    ds = resolve(args.data)  # None: Fashion-MNIST
    xt, yt = (torch.from_numpy(np.array(a[:args.test_limit or None])) for a in ds.test())
    k = len(ds.info.class_names)
    out = args.results[0]
    out.parent.mkdir(parents=True, exist_ok=True)
    have = {(r["n"], r["row"], r["seed"]) for r in read_jsonl(out) if r["k"] == args.synthetic}
    # the audit's features: the shipped evaluator's for Fashion-MNIST, else the data set's judge
    audit_net = audit_sha = None
    if args.data is None:
        audit_net, audit_sha = evaluator.load()
    elif (Path(args.data) / "judge.safetensors").is_file():
        audit_net, audit_sha = evaluator.load(Path(args.data) / "judge.safetensors")

    def fit(x, y, seed, max_shift=1):
        return classifier(x, y, seed, args.steps, args.batch, max_shift, k)

    for n in args.per_class:
        small = grow.subset(ds, n)
        x, y = (np.array(a) for a in small.train())
        gen = generator(small, args.runs_dir / f"n{n}", args.gen_budget)
        print(f"N={n}: generator {gen}", flush=True)
        g = load_generator(args.runs_dir / f"n{n}")
        xs, ys, _ = grow.draw(g, args.synthetic, seed=0)
        audit = grow.copy_audit(small, xs, ys, audit_net, audit_sha)
        judge = filtered = None
        for seed in args.seeds:
            for row in args.rows:
                if (n, row, seed) in have:
                    continue
                t0 = time.perf_counter()
                extra = {}
                if row == "a":
                    net = fit(x, y, seed)
                    if seed == args.seeds[0]:
                        judge = net
                elif row == "b":
                    net = fit(np.concatenate([x, xs]), np.concatenate([y, ys]), seed)
                elif row == "c":
                    net = fit(xs, ys, seed)
                elif row == "d":
                    net = fit(np.concatenate([x, x[..., ::-1]]), np.concatenate([y, y]), seed,
                              max_shift=3)  # [..., ::-1]: the width axis of N,H,W and N,C,H,W
                else:
                    if filtered is None:
                        if judge is None:  # row a's seed-0 classifier came from an earlier run
                            judge = fit(x, y, args.seeds[0])
                        try:
                            filtered = grow.draw(g, args.synthetic, seed=0, judge=judge,
                                                 min_confidence=args.min_confidence)
                        except UserError as e:
                            print(f"N={n} e: {e}", flush=True)
                            filtered = False
                    if filtered is False:
                        continue
                    xf, yf, tried = filtered
                    extra = {"seeds_tried": tried, "kept": len(xf)}
                    net = fit(np.concatenate([x, xf]), np.concatenate([y, yf]), seed)
                acc = evaluator.accuracy(net, xt, yt)
                rec = {"n": n, "row": row, "seed": seed, "accuracy": acc,
                       "train_s": round(time.perf_counter() - t0, 1), "k": args.synthetic,
                       "steps": args.steps, "batch": args.batch, "generator": gen,
                       "copy_fraction": audit.get("copy_fraction"),
                       "min_confidence": args.min_confidence if row == "e" else None, **extra}
                with open(out, "a") as f:
                    f.write(json.dumps(rec) + "\n")
                have.add((n, row, seed))
                print(f"N={n} {row} seed {seed}: {100 * acc:.2f}% ({rec['train_s']} s)",
                      flush=True)


def table(records: list[dict]) -> str:
    lines = ["| real per class | row | training set | test accuracy (mean ± std) | seeds | "
             "generator (iterations, wall s, augment) | copy fraction |",
             "| ---: | --- | --- | ---: | ---: | --- | ---: |"]
    ks = sorted({r["k"] for r in records}, reverse=True)
    for n in sorted({r["n"] for r in records}):
        for row, k in ((w, k) for w in ROWS for k in (ks if w in "bce" else ks[:1])):
            rs = [r for r in records if r["n"] == n and r["row"] == row
                  and (r["k"] == k or row not in "bce")]
            if not rs:
                continue
            acc = np.array([100 * r["accuracy"] for r in rs])
            sd = acc.std(ddof=1) if len(acc) > 1 else float("nan")
            g = rs[0]["generator"]
            uses_g = row in "bce"
            what = ROWS[row].replace("K", str(rs[0]["k"]))
            if row == "e":
                what += f" (p >= {rs[0]['min_confidence']}, {rs[0]['kept']:,} kept of " \
                        f"{rs[0]['seeds_tried']:,} drawn)"
            lines.append(
                f"| {n:,} | {row} | {what} | {acc.mean():.2f} ± {sd:.2f} | {len(acc)} | "
                + (f"{g['step']:,} it, {g['wall_s']:.0f} s, {g['augment']}" if uses_g else "-")
                + " | " + (f"{rs[0]['copy_fraction']:.3f}" if uses_g else "-") + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
