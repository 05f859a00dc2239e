"""Which changes make better clothes: the default preset plus one change at a time, greedily.

    python benchmarks/ablation.py --budget-iterations 6000 --threads 1 --eval-n 10000 \
        --runs-dir /tmp/ablation

Steps are taken in order; each adds one change (config overrides) to the best set so far, and
is kept when its FID (the shipped judge, `fashiongan evaluate RUN --n EVAL_N`, against the
10,000 test images) is lower than the best so far. The budget is the same CPU time for every
run, stated as the reference's iterations: a change that makes an iteration k times slower gets
1/k of the iterations. The speed ratios are measured in this run before each training (blocks
of iterations of the candidate and the reference taken in turn, medians; benchmarks/variants.py),
so a load that comes and goes on a shared machine hits both; a ratio within NOISE of 1 counts as
1 (on a busy two-core machine a change that costs nothing, the hinge loss, measured 0.82x), so
only a real cost changes the iterations. The iterations actually run and the wall time are in
the table. Every run is the project's own command (quality.py's `train`), printed with
its row, so any row can be rerun alone. Finished runs and scores are reused unless --retrain.

`--start loss=hinge --steps NAME ...` continues an earlier chain: its kept set is the base,
retrained in this run so that the new steps are compared on the same machine and load.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

from quality import train  # noqa: E402
from small_data import evaluate  # noqa: E402
from throughput import warm_up  # noqa: E402
from variants import build, interleaved_ms  # noqa: E402

from fashiongan.fileio import atomic_write_json
from fashiongan.training.trainer import training_data

# (name, overrides added to the best set so far). What the literature says helps a small
# conditional GAN: hinge loss and spectral norm (SNGAN, BigGAN), DiffAugment on full data
# (Zhao et al. 2020 report it for CIFAR-10 at 100%), R1 (Mescheder et al. 2018), residual
# blocks with BigGAN's shared-embedding conditional BN, wider nets, larger batches.
STEPS = [
    ("hinge loss", ["loss=hinge"]),
    ("spectral norm in D", ["spectral_norm=true"]),
    ("DiffAugment (color, translation, cutout)", ["augment=diffaugment"]),
    ("R1, gamma 0.1", ["r1_gamma=0.1"]),
    ("batch 64", ["batch_size=64"]),
    ("wider: g 128, d 64", ["g_width=128", "d_width=64"]),
    ("residual G and D (resnet, g 64, d 32)", ["model=resnet"]),
    # the remaining candidates (tests/unit/training/test_knobs.py): a warm-up of 1,000
    # iterations, class-balanced real batches and fake labels, StyleGAN2's lazy R1 (interval 16)
    ("learning-rate warm-up, 32 kimg", ["lr_warmup_kimg=32"]),
    ("class-balanced batches", ["batch_sampling=balanced"]),
    ("lazy R1, gamma 0.1 every 16 iterations", ["r1_gamma=0.1", "r1_interval=16"]),
]


NOISE = 0.10  # a slowdown within 10% of 1 is timing noise here, not a cost


def speed_ratios(candidates: dict[str, list[str]], threads: int, reps: int) -> dict[str, float]:
    """ms per iteration of each candidate divided by the reference's (key "")."""
    images, labels, _ = training_data()
    device = torch.device("cpu")
    loops = {}
    for key, overrides in candidates.items():
        loop, t = build("default", ",".join(overrides), images, labels, device, threads)
        warm_up(loop)
        loops[key] = (loop, t)
    ms = interleaved_ms(loops, 30, reps, device)
    base = statistics.median(ms[""])
    return {k: statistics.median(v) / base for k, v in ms.items()}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--budget-iterations", type=int, default=6000,
                   help="the reference's (default preset's) iterations: the CPU budget of all")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--eval-n", type=int, default=10_000)
    p.add_argument("--reps", type=int, default=5, help="timing blocks per candidate")
    p.add_argument("--runs-dir", default="/tmp/ablation")
    p.add_argument("--retrain", action="store_true")
    p.add_argument("--alone", nargs="*", default=[], choices=[n for n, _ in STEPS],
                   metavar="STEP", help="also measure these steps each alone on the default "
                   "preset (outside the greedy chain)")
    p.add_argument("--start", nargs="*", default=[], metavar="KEY=VALUE",
                   help="begin the chain from this kept set (an earlier run's), e.g. loss=hinge")
    p.add_argument("--steps", nargs="*", choices=[n for n, _ in STEPS], metavar="STEP",
                   help="only these steps of the chain (default: all)")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    chain = [(n, c) for n, c in STEPS if args.steps is None or n in args.steps]

    runs = Path(args.runs_dir)
    # a rerun reuses the slowdown measured for the same candidate, hence its finished run
    old = runs / "ablation.json"
    prior = {} if args.retrain or not old.is_file() else {
        (r["step"], tuple(r["overrides"])): r["slowdown"]
        for r in json.loads(old.read_text())["rows"]}
    rows, kept = [], list(args.start)

    def measure(name: str, overrides: list[str], run_dir: Path) -> dict:
        ratio = prior.get((name, tuple(overrides)))
        if ratio is None:
            ratio = (speed_ratios({"": [], "x": overrides}, args.threads, args.reps)["x"]
                     if overrides else 1.0)
        cost = 1.0 if abs(ratio - 1) <= NOISE else ratio
        iterations = max(100, round(args.budget_iterations / cost))
        _, info = train("default", run_dir, 0, args.threads,
                        [*overrides, f"iterations={iterations}"], args.retrain, None)
        eval_cmd, result = evaluate(run_dir, args.eval_n, args.threads, args.retrain)
        s = result["samples"]
        return {"step": name, "overrides": overrides, "slowdown": ratio,
                "iterations": info["step"], "train_s": info["wall_s"], "fid": s["fid"],
                "kid": s["kid"], "precision": s["precision"], "recall": s["recall"],
                "cond_accuracy": s["classes"].get("accuracy"),
                "command": " ".join(info["command"]), "eval_command": eval_cmd}

    def save():
        atomic_write_json(old, {"budget_iterations": args.budget_iterations,
                                "eval_n": args.eval_n, "rows": rows})

    # every candidate is the kept set plus one step, so the ratios are measured as we go
    # run folders: step0 (+ the start set) for the base, stepK for STEPS[K-1] on top of it
    base = " + ".join(["default preset", *args.start])
    dirs = ["step0" + "".join(f"-{kv}" for kv in args.start),
            *(f"step{STEPS.index(s) + 1}" for s in chain)]
    for i, (name, change) in enumerate([(base, []), *chain]):
        r = measure(name, [*kept, *change], runs / dirs[i])
        best = min((x["fid"] for x in rows if x["kept"]), default=float("inf"))
        r["kept"] = r["fid"] < best or not i
        if r["kept"] and i:
            kept = r["overrides"]
        rows.append(r)
        print(f"{name}: {r['iterations']} iterations ({r['slowdown']:.2f}x slower) in "
              f"{r['train_s']:.0f} s, FID {r['fid']:.2f} -> "
              f"{'kept' if r['kept'] else 'dropped'}", flush=True)
        save()
    steps = dict(STEPS)
    for name in args.alone:  # outside the greedy chain: one change on the default alone
        r = measure(f"{name} (alone)", steps[name], runs / f"alone-{list(steps).index(name)}")
        r["kept"] = None
        rows.append(r)
        print(f"{name} alone: FID {r['fid']:.2f}", flush=True)
        save()
    print(f"\nsame CPU budget as {args.budget_iterations} default-preset iterations, FID of "
          f"{args.eval_n} samples vs the 10,000 test images (evaluator features):\n")
    print("| change (on the kept set) | slowdown | iters | train s | FID | KID x1000 | prec. "
          "| recall | cond. acc. | kept |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        acc = "-" if r["cond_accuracy"] is None else f"{100 * r['cond_accuracy']:.1f}%"
        mark = {True: "yes", False: "no", None: "-"}[r["kept"]]
        print(f"| {r['step']} | {r['slowdown']:.2f}x | {r['iterations']} | {r['train_s']:.0f} | "
              f"{r['fid']:.2f} | {1000 * r['kid']:.1f} | {r['precision']:.3f} | "
              f"{r['recall']:.3f} | {acc} | {mark} |")
    chain = next(x["overrides"] for x in reversed(rows) if x["kept"])
    print(f"\nkept: {' '.join(chain) or '(nothing)'}; rows in {runs / 'ablation.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
