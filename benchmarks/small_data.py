"""Small catalogues: FID of the default preset on N training images, per augmentation mode.

    python benchmarks/small_data.py --sizes 2000 1000 5000 60000 \
        --modes none diffaugment ada --iterations 3000 --threads 1 --eval-n 5000 \
        --runs-dir /tmp/small-data-runs --plot docs/img/ada-p.png

Every run is the project's own command, trained by quality.py's `train` (printed with each row
so any row can be rerun alone): `fashiongan train --preset default --limit-data N --set
augment=MODE --set iterations=K`. `--limit-data N` is the first N training images, the same
fixed subset for every mode (60000 is the whole training split). The budget is the same number
of iterations K for every run, not wall-clock: augmentation costs little per iteration
(README, docs/augment.md) and iterations are immune to other jobs on a shared machine; each
row prints its wall time so that can be checked. Each run is then scored by the shipped judge,
`fashiongan evaluate RUN --n EVAL_N` (evaluator features, against the 10,000 test images),
which also gives the real-data floor. Finished runs and scores are reused unless --retrain.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

from quality import train  # noqa: E402

from fashiongan.fileio import atomic_write_json
from fashiongan.training.plots import aug_p_plot, fid_curves_plot, read_jsonl


def evaluate(run_dir: Path, n: int, threads: int, fresh: bool) -> tuple[str, dict]:
    """The shipped judge's scores of a run; reused when already written for this run and n."""
    out = run_dir / f"small-data-eval-{n}.json"
    cmd = ["fashiongan", "evaluate", str(run_dir), "--n", str(n), "--json", str(out),
           "--no-progress", *(["--threads", str(threads)] if threads else [])]
    trained = (run_dir / "quality-run.json").stat().st_mtime
    if not fresh and out.is_file() and out.stat().st_mtime > trained:
        return " ".join(cmd), json.loads(out.read_text())
    r = subprocess.run([sys.executable, "-m", "fashiongan", *cmd[1:]], text=True,
                       capture_output=True)
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stderr[-2000:]}")
    return " ".join(cmd), json.loads(out.read_text())


def row(size: int, mode: str, info: dict, result: dict, run_dir: Path) -> dict:
    s, f = result["samples"], result["real_floor"]
    records = read_jsonl(run_dir / "metrics.jsonl")
    ps = [r["aug_p"] for r in records if "aug_p" in r]
    during = [r for r in records if "fid" in r]  # --eval-every: FID of the EMA G over the run
    best = min(during, key=lambda r: r["fid"]) if during else None
    return {"size": size, "mode": mode, "iterations": info["step"], "train_s": info["wall_s"],
            "fid": s["fid"], "kid": s["kid"], "precision": s["precision"],
            "recall": s["recall"], "cond_accuracy": s["classes"].get("accuracy"),
            "floor_fid": f["fid"], "final_p": ps[-1] if ps else None,
            "best_fid": best and best["fid"], "best_step": best and best["step"],
            "command": " ".join(info["command"]), "run_dir": str(run_dir)}


def _opt(fmt: str):
    return lambda v: "-" if v is None else fmt.format(v)


# (header, row key, cell format): one markdown column each
COLUMNS = [("train images", "size", "{:,}".format), ("augment", "mode", str),
           ("iters", "iterations", str), ("train s", "train_s", "{:.0f}".format),
           ("FID", "fid", "{:.2f}".format), ("KID x1000", "kid", lambda v: f"{1000 * v:.1f}"),
           ("prec.", "precision", "{:.3f}".format), ("recall", "recall", "{:.3f}".format),
           ("cond. acc.", "cond_accuracy", lambda v: "-" if v is None else f"{100 * v:.1f}%"),
           ("ADA p at end", "final_p", _opt("{:.3f}")),
           ("best FID during run", "best_fid", _opt("{:.2f}")),
           ("at iter", "best_step", _opt("{:,}")),
           ("real floor FID", "floor_fid", "{:.2f}".format)]


def table(rows: list[dict]) -> str:
    cells = [[h for h, _, _ in COLUMNS], ["---" if k == "mode" else "---:" for _, k, _ in COLUMNS]]
    cells += [[fmt(r[k]) for _, k, fmt in COLUMNS] for r in rows]
    return "\n".join("| " + " | ".join(c) + " |" for c in cells)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[1000, 2000, 5000, 60000],
                   help="training images (the first N of the training split), in run order")
    p.add_argument("--modes", nargs="+", default=["none", "diffaugment", "ada"],
                   choices=("none", "diffaugment", "ada"))
    p.add_argument("--iterations", type=int, default=3000,
                   help="iterations of every run: the equal CPU budget")
    p.add_argument("--threads", type=int, default=1, help="torch threads of training and "
                   "evaluation (1: one run at a time on a shared machine)")
    p.add_argument("--runs-dir", default="/tmp/small-data-runs")
    p.add_argument("--eval-n", type=int, default=10_000, help="samples the judge scores")
    p.add_argument("--retrain", action="store_true", help="train and score even when done")
    p.add_argument("--plot", help="draw ADA's p over iterations per size to this PNG")
    p.add_argument("--eval-every", type=int, default=0, help="also score FID every this many "
                   "iterations during training (eval-n samples; the best-FID columns)")
    p.add_argument("--fid-plot", help="draw FID during training per run to this PNG "
                   "(needs --eval-every)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="more config overrides for every run, e.g. ada_target=0.4")
    p.add_argument("--data-dir")
    args = p.parse_args(argv)

    rows = []
    for size in args.sizes:
        for mode in args.modes:
            run_dir = Path(args.runs_dir) / f"n{size}-{mode}"
            # augment is set explicitly, so the default preset's own small-set choice (its
            # threshold, set from this table) does not change the "none" rows
            extra = [f"augment={mode}", f"iterations={args.iterations}", *args.set]
            if args.eval_every:
                extra += [f"eval_every={args.eval_every}", f"eval_samples={args.eval_n}"]
            _, info = train("default", run_dir, 0, args.threads, extra, args.retrain,
                            args.data_dir, flags=("--limit-data", str(size)))
            cmd, result = evaluate(run_dir, args.eval_n, args.threads, args.retrain)
            rows.append(row(size, mode, info, result, run_dir))
            rows[-1]["eval_command"] = cmd
            print(f"{size} images, augment={mode}: {info['step']} iterations in "
                  f"{info['wall_s']:.0f} s, FID {rows[-1]['fid']:.2f}", flush=True)
    print(f"\ndefault preset, {args.iterations} iterations each, first N training images, "
          f"FID of {args.eval_n} samples vs the 10,000 test images (evaluator features):\n")
    print(table(rows))
    if args.plot:
        series = {f"{r['size']:,} images": read_jsonl(Path(r["run_dir"]) / "metrics.jsonl")
                  for r in rows if r["mode"] == "ada"}
        if aug_p_plot(series, args.plot, f"ADA p, default preset, {args.iterations} "
                      "iterations"):
            print(f"plot written to {args.plot}")
    if args.fid_plot:
        series = {f"{r['size']:,} images, {r['mode']}":
                  read_jsonl(Path(r["run_dir"]) / "metrics.jsonl") for r in rows}
        if fid_curves_plot(series, args.fid_plot, f"FID during training ({args.eval_n} "
                           "samples), default preset"):
            print(f"plot written to {args.fid_plot}")
    out = Path(args.runs_dir) / "small-data.json"
    atomic_write_json(out, {"iterations": args.iterations, "eval_n": args.eval_n,
                            "rows": rows})
    print(f"rows written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
