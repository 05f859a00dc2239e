"""Colour garments at 64-128 px: train a preset for a fixed CPU time, then score it.

    python benchmarks/colour.py train RUN --data cat64 --preset colour --cpu-budget 600
    python benchmarks/colour.py train RUN --data cat64 \
        --preset benchmarks/presets/default-64-old.yaml --cpu-budget 600
    fashiongan evaluate RUN/snapshot --data cat64 --n 2000 --json RUN/eval.json
    python benchmarks/colour.py spectrum RUN --data cat64
    python benchmarks/colour.py background RUN --data cat64

`train` drives fashiongan's Trainer (what `fashiongan train` runs) in blocks of iterations until
the process has used --cpu-budget seconds of CPU time (all its threads; time.process_time), so
that runs on a shared machine get the same arithmetic whatever the load; it writes
RUN/snapshot (a snapshot every command reads), RUN/grid.png (columns are classes) and
RUN/colour-run.json (the command, CPU and wall seconds, iterations, load averages); with
--also-ema K [K ...] also RUN/snapshot-emaK, G's moving average at a half-life of K kimg kept
beside the run's own (the average feeds nothing back, so it is the sample model the preset with
`ema_halflife_kimg: K` would have made: one run scores several half-lives). A run that
finds its colour-run.json finished with the same command is left as it is. `spectrum` draws N
samples and prints their share of spectral energy at the 2-px period beside the real test
images' (metrics/spectrum.py); `background` the share of samples on a darker background than
the catalogue's photos have (a leak of D's augmentation). `speed` times variants
(PRESET[,KEY=VALUE...]) in alternating blocks by CPU time (one thread; with --threads N by the
wall clock, for an idle machine), with each one's FLOPs per iteration and the floor at the best
one-thread float32 rate the same run measured (the 28-px method of throughput.py), times N.

    python benchmarks/colour.py speed --data cat64 benchmarks/presets/default-64-old.yaml \
        colour colour,amp=bf16
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

from throughput import iteration_flops  # noqa: E402

from fashiongan import presets  # noqa: E402
from fashiongan.data.store import open_dataset  # noqa: E402
from fashiongan.fileio import atomic_write_json  # noqa: E402
from fashiongan.generate.sampling import sample  # noqa: E402
from fashiongan.imageio import from_nchw, grid  # noqa: E402
from fashiongan.metrics.spectrum import nyquist_share  # noqa: E402
from fashiongan.snapshot import load_generator, save_snapshot  # noqa: E402
from fashiongan.training import Trainer  # noqa: E402
from fashiongan.training.ema import EMA  # noqa: E402
from fashiongan.training.trainer import training_data  # noqa: E402


def train(args) -> dict:
    run = Path(args.run)
    cmd = ["benchmarks/colour.py", "train", str(run), "--data", args.data, "--preset",
           args.preset, "--cpu-budget", str(args.cpu_budget), "--threads", str(args.threads),
           *[f"--set={kv}" for kv in args.set],
           *([f"--also-ema={k:g}" for k in args.also_ema] if args.also_ema else [])]
    done = run / "colour-run.json"
    if done.is_file() and json.loads(done.read_text()).get("command") == cmd:
        return json.loads(done.read_text())
    torch.set_num_threads(args.threads)
    ds = open_dataset(args.data)
    images, labels, info = training_data(ds)
    cfg = presets.resolve(args.preset, [*args.set, f"threads={args.threads}"], info,
                          len(images))
    load0 = os.getloadavg()
    t0, c0 = time.perf_counter(), time.process_time()
    tr = Trainer(cfg, images, labels, info, torch.device("cpu"))
    emas = also_ema(tr, args.also_ema)
    marks = sorted(m for m in args.marks if m < args.cpu_budget)
    while time.process_time() - c0 < args.cpu_budget:
        tr.run(args.block)
        if marks and time.process_time() - c0 >= marks[0]:
            # an earlier budget's figure from the same run: nothing in the preset depends on
            # the total length, so the first M CPU seconds of a longer run are an M-second run
            mark = marks.pop(0)
            finish(tr, cfg, info, run / f"at-{mark:g}", {**base(cmd, load0), "mark": mark},
                   c0, t0, emas)
    return finish(tr, cfg, info, run, base(cmd, load0), c0, t0, emas)


def also_ema(tr, halflives: list[float]) -> dict[float, EMA]:
    """EMAs of G at other half-lives, made from G before its first step as the run's own is,
    and updated right after it with the same arguments on every iteration."""
    if not halflives:
        return {}
    if tr.ema is None:
        raise SystemExit("colour.py: --also-ema needs a preset with ema_halflife_kimg")
    emas = {h: EMA(tr.G, h, tr.ema.rampup) for h in halflives}
    own = tr.ema.update

    def update(model, batch_images, images_seen):
        own(model, batch_images, images_seen)
        for e in emas.values():
            e.update(model, batch_images, images_seen)

    tr.ema.update = update
    return emas


def base(cmd, load0) -> dict:
    return {"command": cmd, "loadavg_start": load0}


def finish(tr, cfg, info, run: Path, out: dict, c0: float, t0: float,
           emas: dict[float, EMA]) -> dict:
    """Write RUN/snapshot (and RUN/snapshot-emaK of each extra average), RUN/grid.png (columns
    are classes) and RUN/colour-run.json."""
    cpu, wall = time.process_time() - c0, time.perf_counter() - t0
    save_snapshot(tr.sample_model, cfg, run / "snapshot", dataset=info)
    for h, e in emas.items():
        save_snapshot(e.model, cfg, run / f"snapshot-ema{h:g}", dataset=info)
    imgs = sample(tr.sample_model, 100)
    grid(imgs, 10, 10, scale=2 if info.resolution <= 64 else 1).save(run / "grid.png")
    out = {**out, "config": cfg.to_dict(), "step": tr.step, "images_seen": tr.images_seen,
           "cpu_s": cpu, "wall_s": wall, "img_per_cpu_s": tr.images_seen / cpu,
           "augment_p": tr.gan.aug.p,  # ADA's strength when the run stopped (else 0)
           "loadavg_end": os.getloadavg(), "time": time.strftime("%Y-%m-%d %H:%M:%S")}
    atomic_write_json(run / "colour-run.json", out)
    return out


def spectrum(args) -> dict:
    ds = open_dataset(args.data)
    g = load_generator(Path(args.run) / "snapshot")
    fake = sample(g, args.n)
    real = from_nchw(ds.test()[0])
    out = {"samples": nyquist_share(fake), "real_test": nyquist_share(real), "n": args.n}
    out["ratio"] = out["samples"] / out["real_test"]
    atomic_write_json(Path(args.run) / "spectrum.json", out)
    return out


def corner_grey(images: np.ndarray) -> np.ndarray:
    """[N, H, W, 3] uint8 -> each image's mean grey level over its four 4x4 corners."""
    c = np.concatenate([images[:, :4, :4], images[:, :4, -4:], images[:, -4:, :4],
                        images[:, -4:, -4:]], axis=1)
    return c.reshape(len(images), -1).astype(np.float64).mean(axis=1)


def background(args) -> dict:
    """The share of samples whose corners are darker than --below grey levels, beside the
    real training images' share and darkest corners: every catalogue photo stands on a light
    studio background, so a dark one is a leak of D's augmentation into G (docs/augment.md)."""
    ds = open_dataset(args.data)
    g = load_generator(Path(args.run) / "snapshot")
    fake = corner_grey(sample(g, args.n))
    real = corner_grey(from_nchw(ds.train()[0]))
    out = {"n": args.n, "below": args.below, "samples_share": float((fake < args.below).mean()),
           "real_share": float((real < args.below).mean()), "real_min": float(real.min()),
           "samples_p1": float(np.percentile(fake, 1))}
    atomic_write_json(Path(args.run) / "background.json", out)
    return out


def cpu_gflops(reps: int = 5) -> float:
    """The best float32 rate of one thread by CPU time: a 1024^3 GEMM and a DCGAN-sized
    convolution (3x3, 128 -> 128, 64 x 14x14), as throughput.py's floor but not by the wall
    clock, which a loaded machine stretches."""
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    x, w = torch.randn(64, 128, 14, 14), torch.randn(128, 128, 3, 3)
    jobs = [(lambda: a @ b, 2 * 1024**3),
            (lambda: F.conv2d(x, w, padding=1), 2 * 64 * 128 * 128 * 9 * 14 * 14)]
    best = 0.0
    for fn, flop in jobs:
        fn()
        c = time.process_time()
        for _ in range(reps):
            fn()
        best = max(best, flop * reps / (time.process_time() - c) / 1e9)
    return best


def speed(args) -> dict:
    # one thread: CPU time of the process, which the machine's load barely moves; more: the
    # wall clock, as a user on an idle machine sees it (CPU time would count the threads'
    # waits at their barriers), so only on an idle machine
    torch.set_num_threads(args.threads)
    clock = time.process_time if args.threads == 1 else time.perf_counter
    ds = open_dataset(args.data)
    images, labels, info = training_data(ds)
    loops, flops = {}, {}
    for spec in args.variants:
        preset, *kv = spec.split(",")
        cfg = presets.resolve(preset, [*kv, f"threads={args.threads}"], info, len(images))
        loops[spec] = Trainer(cfg, images, labels, info, torch.device("cpu"))
        loops[spec].run(3)
        plain = cfg.replace(compile=False, fused_step=False, onednn_linear=False)
        counted = Trainer(plain, images, labels, info, torch.device("cpu"))
        counted.run(1)  # step 0 takes lazy R1, which FlopCounterMode cannot follow: not counted
        flops[spec] = iteration_flops(counted)
    ms = {s: [] for s in loops}
    rates = []
    for _ in range(args.reps):
        for spec, tr in loops.items():
            c = clock()
            tr.run(args.iters)
            ms[spec].append((clock() - c) / args.iters * 1e3)
        torch.set_num_threads(1)
        rates.append(cpu_gflops())
        torch.set_num_threads(args.threads)
    best = statistics.median(rates)
    rows = {}
    for spec, tr in loops.items():
        m = statistics.median(ms[spec])
        floor = flops[spec] / 1e9 / best * 1e3 / args.threads
        rows[spec] = {"threads": args.threads, "clock": clock.__name__,
                      "ms_per_it": m, "img_per_s": tr.cfg.schedule.batch_size / m * 1e3,
                      "gflop_per_it": flops[spec] / 1e9, "best_gflops": best,
                      "floor_ms": floor, "floor_share": floor / m}
    out = {"rows": rows, "reps": args.reps, "iters": args.iters, "loadavg": os.getloadavg()}
    if args.json:
        atomic_write_json(Path(args.json), out)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="what", required=True)
    t = sub.add_parser("train")
    t.add_argument("run")
    t.add_argument("--data", required=True)
    t.add_argument("--preset", default="colour")
    t.add_argument("--cpu-budget", type=float, default=600.0, help="CPU seconds")
    t.add_argument("--threads", type=int, default=1)
    t.add_argument("--block", type=int, default=20, help="iterations between clock reads")
    t.add_argument("--marks", type=float, nargs="*", default=[], metavar="CPU_S",
                   help="also write RUN/at-CPU_S/ when the run passes these CPU seconds")
    t.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    t.add_argument("--also-ema", type=float, nargs="*", default=[], metavar="KIMG",
                   help="also write RUN/snapshot-emaKIMG: G's average at these half-lives")
    s = sub.add_parser("spectrum")
    s.add_argument("run")
    s.add_argument("--data", required=True)
    s.add_argument("--n", type=int, default=2000)
    b = sub.add_parser("background")
    b.add_argument("run")
    b.add_argument("--data", required=True)
    b.add_argument("--n", type=int, default=1000)
    b.add_argument("--below", type=float, default=180.0, help="grey level of a dark corner")
    v = sub.add_parser("speed")
    v.add_argument("variants", nargs="+", help="PRESET[,KEY=VALUE...]")
    v.add_argument("--data", required=True)
    v.add_argument("--iters", type=int, default=10)
    v.add_argument("--reps", type=int, default=5)
    v.add_argument("--threads", type=int, default=1,
                   help="torch threads; above 1 timed by the wall clock (an idle machine)")
    v.add_argument("--json")
    args = p.parse_args(argv)
    out = {"train": train, "spectrum": spectrum, "background": background,
           "speed": speed}[args.what](args)
    print(json.dumps({k: v for k, v in out.items() if k != "config"}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
