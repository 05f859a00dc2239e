"""Which switches pay: fashiongan's loop under variants of one preset, timed in one run.

    .venv/bin/python benchmarks/variants.py --preset article compile=true
    .venv/bin/python benchmarks/variants.py --preset cdcgan channels_last=false compile=true
    .venv/bin/python benchmarks/variants.py --preset article adam=foreach threads=2

Each positional argument is a variant: comma-separated KEY=VALUE config overrides, plus three
keys that are not config keys: channels_last=true|false (GANStep's layout; default on for conv
models), adam=fused|foreach (the optimiser kernel) and threads=N. The baseline (the preset as
it is) is always timed first. The variants' first iterations are timed apart (that is where
torch.compile compiles), then blocks of iterations alternate between the variants and the
medians are printed with the ratio to the baseline and the iteration count from which the
variant's warm-up is paid back.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

from throughput import timed, warm_up  # noqa: E402

from fashiongan import data, presets
from fashiongan.training import Trainer
from fashiongan.training.loop import pick_device
from fashiongan.training.trainer import training_data

EXTRA = ("channels_last", "adam", "threads")


def build(preset: str, spec: str, images, labels, device, default_threads: int):
    pairs = [p for p in spec.split(",") if p]
    extra = {k: v for k, _, v in (p.partition("=") for p in pairs) if k in EXTRA}
    overrides = [p for p in pairs if p.partition("=")[0] not in EXTRA]
    cfg = presets.resolve(preset, overrides)
    threads = int(extra.get("threads", default_threads))
    torch.set_num_threads(threads)
    loop = Trainer(cfg, images, labels, data.FASHION_MNIST, device,
                   channels_last={"true": True, "false": False}.get(extra.get("channels_last")))
    if extra.get("adam") == "foreach":
        g = loop.gan
        for name, model, lr in (
            ("opt_g", g.G, cfg.optim.lr),
            ("opt_d", g.D, cfg.optim.d_learning_rate),
        ):
            setattr(
                g,
                name,
                torch.optim.Adam(
                    model.parameters(),
                    lr=lr,
                    foreach=True,
                    betas=(cfg.optim.beta1, cfg.optim.beta2),
                    eps=cfg.optim.adam_eps,
                ),
            )
    return loop, threads


def interleaved_ms(loops: dict, n: int, reps: int, device) -> dict[str, list[float]]:
    """ms per iteration of each (trainer, threads) in `loops`, blocks of n iterations taken in
    turn `reps` times, so a load that comes and goes on a shared machine hits every variant."""
    ms = {s: [] for s in loops}
    for _ in range(reps):
        for spec, (loop, threads) in loops.items():
            torch.set_num_threads(threads)
            ms[spec].append(timed(loop.run, n, device))
    return ms


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("variants", nargs="*", help="KEY=VALUE[,KEY=VALUE...] per variant")
    ap.add_argument("--preset", default="default")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--iters", type=int, default=0, help="per block (default: ~0.5 s)")
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--data-dir", default=None)
    args = ap.parse_args(argv)

    device = pick_device(args.device)
    images, labels, _ = training_data(None, args.data_dir)
    specs = ["", *args.variants]
    loops, warm = {}, {}
    for spec in specs:
        loop, threads = build(args.preset, spec, images, labels, device, args.threads)
        warm[spec] = warm_up(loop)
        loops[spec] = (loop, threads)
    base_loop = loops[""][0]
    t = time.perf_counter()
    base_loop.run(3)
    n = args.iters or max(3, min(200, int(0.5 / ((time.perf_counter() - t) / 3))))
    ms = interleaved_ms(loops, n, args.reps, device)
    base = statistics.median(ms[""])
    print(f"{args.preset} on {device}, blocks of {n} iterations, medians of {args.reps}\n")
    print("| variant | ms/it | vs preset | first 3 its (s) | pays back after (its) |")
    print("|---|---|---|---|---|")
    for spec in specs:
        m = statistics.median(ms[spec])
        extra_s = warm[spec] - 3 * m / 1e3 - (warm[""] - 3 * base / 1e3)
        gain = (base - m) / 1e3
        back = "-" if extra_s <= 0 else f"{extra_s / gain:.0f}" if gain > 0 else "never"
        print(f"| {spec or '(preset)'} | {m:.2f} | {base / m:.2f}x | {warm[spec]:.1f} | {back} |")


if __name__ == "__main__":
    main()
