"""Quality at a wall-clock budget: train each preset for the same time, judge each the same way.

    python benchmarks/quality.py --budget 900 --presets article dcgan cdcgan default \
        --threads 1 --grids docs

Each preset is trained by the project's own command (printed, so any row can be rerun alone):
`fashiongan train --preset P --out RUNS/P-<budget>s --time-budget B --no-progress` (a preset
whose own `iterations` end sooner stops there: the article's 5,000). A run folder that already
holds a finished run of the same preset and budget is scored again without retraining
(`--retrain` forces it). Then 10,000 samples (seeds 0..9999; class i % 10 for a conditional
G, as `fashiongan evaluate RUN` draws them) are scored against the 10,000 test images in the
feature space of the project's evaluator (fashiongan.metrics), beside the real-data floor.
With EMA on, the raw G of the last training state is scored too (column "FID raw G").

The machine is shared: iterations reached within the budget are printed with every row, and
the table is only comparable between rows of one invocation on one machine.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import torch

from fashiongan import config, load_generator, sample
from fashiongan.data import CLASS_NAMES
from fashiongan.data.resolve import fashion_mnist as fmnist_dataset
from fashiongan.fileio import atomic_write_json
from fashiongan.metrics import evaluator, report
from fashiongan.metrics.features import classifier
from fashiongan.models import build_generator
from fashiongan.training import states

N_SAMPLES = 10_000


def same_run(a: list[str], b: list[str]) -> bool:
    """Whether two train commands ask for the same run: equal but for `--set threads=N`, which
    says how many cores compute the run, not which run (its float rounding may differ)."""

    def strip(cmd: list[str]) -> list[str]:
        keep = [True] * len(cmd)
        for i in range(len(cmd) - 1):
            if cmd[i] == "--set" and cmd[i + 1].startswith("threads="):
                keep[i] = keep[i + 1] = False
        return [x for x, k in zip(cmd, keep, strict=True) if k]

    return strip(a) == strip(b)


def train(preset: str, run_dir: Path, budget: float, threads: int, extra: list[str],
          retrain: bool, data_dir: str | None,
          flags: tuple[str, ...] = ()) -> tuple[list[str], dict]:
    """Train (or find finished) one run. budget 0: no wall-clock limit, the run's own
    `iterations` end it (small_data.py's fixed-iteration budget); flags: more train options."""
    cmd = ["fashiongan", "train", "--preset", preset, "--out", str(run_dir), "--overwrite",
           "--no-progress", *(["--time-budget", str(budget)] if budget else []), *flags]
    if threads:
        cmd += ["--set", f"threads={threads}"]
    if data_dir:
        cmd += ["--data-dir", data_dir]
    for kv in extra:
        cmd += ["--set", kv]
    done = run_dir / "quality-run.json"
    if not retrain and done.is_file():
        prior = json.loads(done.read_text())
        if same_run(prior.get("command", []), cmd):
            return prior["command"], prior
        # the train command's --overwrite would delete hours of training for a typo: refuse
        raise SystemExit(f"{run_dir} holds a finished run of another command:\n  "
                         f"{' '.join(prior.get('command', []))}\nthis call would train:\n  "
                         f"{' '.join(cmd)}\n--retrain replaces it; another runs folder keeps "
                         "both")
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "fashiongan", *cmd[1:]], text=True,
                       capture_output=True)
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stderr[-2000:]}")
    snap = json.loads((run_dir / "snapshot" / "config.json").read_text())
    info = {"command": cmd, "step": snap["step"], "images_seen": snap["images_seen"],
            "wall_s": time.perf_counter() - t0, "last_line": r.stdout.strip().splitlines()[-1]}
    atomic_write_json(done, info)
    return cmd, info


def existing(run_dir: Path) -> tuple[list[str], dict]:
    """A run trained outside this script (`--existing PRESET=DIR`): steps and time from its
    files; its command is the one recorded beside it in quality-run.json when there is one."""
    snap = json.loads((run_dir / "snapshot" / "config.json").read_text())
    rows = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    rec = run_dir / "quality-run.json"
    cmd = json.loads(rec.read_text())["command"] if rec.is_file() else [f"(run {run_dir})"]
    return cmd, {"command": cmd, "step": snap["step"], "images_seen": snap["images_seen"],
                 "wall_s": rows[-1]["wall_s"] if rows else float("nan")}


def raw_generator(run_dir: Path):
    """G itself (not its EMA) from the newest training state, or None when EMA is off."""
    cfg = config.load_json(run_dir / "config.json")
    if not cfg.schedule.ema_halflife_kimg:
        return None
    state = states.load_state(run_dir)
    g = build_generator(cfg)
    g.load_state_dict(state["G"])
    return g.eval()


def score(g, data_dir) -> dict:
    images, labels = sample(g, N_SAMPLES, seed=0, return_labels=True)
    net = classifier(*evaluator.load())
    return report.evaluate(net, fmnist_dataset(data_dir), images, labels, progress=False)


def row(preset: str, info: dict, result: dict, raw: dict | None) -> dict:
    s = result["samples"]
    hist = s["classes"]["histogram"]
    return {
        "preset": preset, "iterations": info["step"], "kimg": info["images_seen"] / 1000,
        "train_s": info["wall_s"], "fid": s["fid"], "fid_raw": raw["samples"]["fid"] if raw
        else None, "precision": s["precision"], "recall": s["recall"],
        "entropy_bits": s["classes"]["entropy_bits"], "min_class_share": min(hist) / sum(hist),
        "min_class": CLASS_NAMES[hist.index(min(hist))],
        "cond_accuracy": s["classes"].get("accuracy"), "histogram": hist,
        "command": " ".join(info["command"]),
    }


def table(rows: list[dict], floor: dict) -> str:
    head = (f"{'preset':10s}{'iters':>7s}{'kimg':>7s}{'train s':>9s}{'FID':>9s}"
            f"{'FID raw G':>11s}{'prec.':>8s}{'recall':>8s}{'entropy':>9s}{'min class':>11s}"
            f"{'cond. acc.':>12s}")
    lines = [head]
    for r in rows:
        raw = f"{r['fid_raw']:.2f}" if r["fid_raw"] is not None else "-"
        acc = f"{100 * r['cond_accuracy']:.1f}%" if r["cond_accuracy"] is not None else "-"
        lines.append(f"{r['preset']:10s}{r['iterations']:7d}{r['kimg']:7.0f}"
                     f"{r['train_s']:9.0f}{r['fid']:9.2f}{raw:>11s}{r['precision']:8.3f}"
                     f"{r['recall']:8.3f}{r['entropy_bits']:9.3f}"
                     f"{100 * r['min_class_share']:10.1f}%{acc:>12s}")
    fs = floor.get("samples", floor)
    lines.append(f"{'real floor':10s}{'':7s}{'':7s}{'':9s}{fs['fid']:9.2f}{'-':>11s}"
                 f"{fs['precision']:8.3f}{fs['recall']:8.3f}"
                 f"{fs['classes']['entropy_bits']:9.3f}{'':11s}{'':12s}")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--budget", type=float, default=900, help="seconds of training per preset")
    p.add_argument("--presets", nargs="+", default=["article", "dcgan", "cdcgan", "default"])
    p.add_argument("--runs", default="runs/quality", help="where the run folders go")
    p.add_argument("--threads", type=int, default=0,
                   help="torch CPU threads per training (0: torch's default); on a shared "
                   "machine 1 avoids two threads spinning against other processes")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="config override for every preset (repeatable)")
    p.add_argument("--retrain", action="store_true", help="train even when a run exists")
    p.add_argument("--existing", action="append", default=[], metavar="PRESET=DIR",
                   help="score this run folder as PRESET's row instead of training it")
    p.add_argument("--grids", metavar="DIR", help="copy each preset's final grid to "
                   "DIR/grid-<preset>.png")
    p.add_argument("--train-only", action="store_true",
                   help="train the runs (one after the other) and score nothing")
    p.add_argument("--data-dir")
    p.add_argument("--json", help="write the rows here (default: RUNS/quality-<budget>s.json)")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    given = dict(kv.split("=", 1) for kv in args.existing)
    rows, floor = [], None
    for preset in args.presets:
        if preset in given:
            run_dir = Path(given[preset])
            _, info = existing(run_dir)
        else:
            run_dir = Path(args.runs) / f"{Path(preset).stem}-{args.budget:g}s"
            _, info = train(preset, run_dir, args.budget, args.threads, args.set,
                            args.retrain, args.data_dir)
        if args.train_only:
            print(f"{preset}: {info['step']} iterations in {info['wall_s']:.0f} s", flush=True)
            continue
        result = score(load_generator(run_dir), args.data_dir)
        raw_g = raw_generator(run_dir)
        raw = score(raw_g, args.data_dir) if raw_g is not None else None
        floor = result["real_floor"]
        rows.append(row(preset, info, result, raw))
        print(f"{preset}: {rows[-1]['iterations']} iterations in {info['wall_s']:.0f} s, "
              f"FID {rows[-1]['fid']:.2f}", flush=True)
        if args.grids:
            Path(args.grids).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(run_dir / "samples" / "grid-final.png",
                            Path(args.grids) / f"grid-{Path(preset).stem}.png")
    if args.train_only:
        return 0
    print(f"\nquality at a {args.budget:g} s training budget, {N_SAMPLES} samples vs the "
          "10,000 test images, evaluator features (fashiongan.metrics):")
    print(table(rows, floor))
    out = Path(args.json or Path(args.runs) / f"quality-{args.budget:g}s.json")
    atomic_write_json(out, {"budget_s": args.budget, "rows": rows, "real_floor": floor,
                            "evaluator_sha256": evaluator.WEIGHTS_SHA256})
    print(f"rows written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
