"""The `fashiongan` command: train | sample | data (more subcommands register themselves)."""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
import warnings
from pathlib import Path

import numpy as np

from fashiongan.data import CLASS_NAMES
from fashiongan.errors import UserError

MAX_GRID_PIXELS = 100_000_000  # a grid PNG beyond this is a typo in --scale, not a picture
CLASS_HELP = "classes: " + ", ".join(f"{i} {n}" for i, n in enumerate(CLASS_NAMES))


def _train(args) -> int:
    from fashiongan import config
    from fashiongan.training import distributed
    from fashiongan.training import rundir as runs
    from fashiongan.training.loop import pick_device, training_loop

    if args.nproc > 1 and not distributed.info().enabled:
        if args.data and not args.resume:  # import a folder once here, not once per rank
            _dataset(args.data, args)
        return distributed.launch(args.nproc, _without_nproc(args.argv))
    if args.on_nan:
        args.set.append(f"on_nan={args.on_nan}")
    if args.eval_every is not None:
        args.set.append(f"eval_every={args.eval_every}")
    plan = None
    if args.resume:
        plan = runs.plan_resume(args.resume, args.out, args.set, args.preset, args.overwrite)
        cfg, run_dir = plan.cfg, plan.run_dir
        if args.data:
            raise UserError("--data with --resume: a run continues on the data set it began "
                            "with (its data.json)")
        dataset = _dataset(plan.data, args) if plan.data else None
        prior = runs.prior_contents(run_dir) if plan.branch else "files"
        if plan.branch:
            distributed.on_main(lambda: runs.new_run_dir(str(run_dir), "", args.overwrite))
    else:
        dataset = _dataset(args.data, args) if args.data else None
        n_train = min(args.limit_data or math.inf, _train_size(dataset))
        cfg = config.resolve(args.preset, args.set, dataset.info if dataset else None, n_train)
        auto = config.small_data_augment(args.preset, args.set, n_train)
        if auto and distributed.info().is_main:  # once, not once per torchrun rank
            print(f"small training set ({n_train:,} images < {config.SMALL_DATA_IMAGES:,}): "
                  f"augment={auto} (set augment=none to turn it off)")
        name = Path(args.preset).stem if args.preset else config.DEFAULT_PRESET
        prior = runs.prior_contents(Path(args.out)) if args.out else "none"
        distributed.init(pick_device(cfg.device))  # so that rank 0 alone picks the folder
        run_dir = distributed.on_main(lambda: runs.new_run_dir(args.out, name, args.overwrite))
    main = distributed.info().is_main
    with runs.hold(run_dir) if main else contextlib.nullcontext():
        try:
            # a new run or a branch into a folder that holds another run: replace, never mix
            if (plan is None or plan.branch) and main and args.overwrite and prior == "files":
                gone = runs.clear_previous_run(run_dir)
                if gone:
                    print(f"--overwrite: removed the previous run's {', '.join(gone)} from "
                          f"{run_dir}")
            if plan is not None and main:
                plan.prepare()
            evaluator = None
            if cfg.eval_every and dataset is not None:
                # its judge is the Fashion-MNIST evaluator: on other images its FID means nothing
                raise UserError("--eval-every scores with the Fashion-MNIST evaluator, not on "
                                "--data; score the run afterwards with `fashiongan evaluate "
                                "RUN --data DATASET`")
            if cfg.eval_every:  # FID during training (fashiongan.metrics)
                from fashiongan.training.evaluation import make_evaluator

                evaluator = make_evaluator(cfg, run_dir, data_dir=args.data_dir)
            summary = training_loop(cfg, run_dir, data_dir=args.data_dir,
                                    resume=plan.state if plan else None,
                                    progress=not args.no_progress,
                                    max_train_images=args.limit_data,
                                    time_budget_s=args.time_budget, evaluator=evaluator,
                                    dataset=dataset)
        except BaseException:
            if main:  # failed before its first training state: leave no half-made folder
                runs.remove_unfinished(run_dir, prior, plan.state if plan else None)
            raise
    if main:
        print(f"{summary['status']} at iteration {summary['step']} in "
              f"{summary['wall_s']:.1f} s; run folder {run_dir}; samples {summary['grid']}")
    distributed.shutdown()
    return 0


def _train_size(dataset) -> int:
    """Training images of the data set (before --limit-data): its train split, or
    Fashion-MNIST's 60,000."""
    if dataset is not None:
        return len(dataset.train_index)
    from fashiongan.data.fmnist import FILES

    return FILES[("train", "images")].count


def _dataset(path: str, args):
    from fashiongan.data.resolve import dataset_for

    return dataset_for(path, args.resolution, args.channels, progress=not args.no_progress)


def _without_nproc(argv: list[str]) -> list[str]:
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == "--nproc":
            skip = True
        elif not a.startswith("--nproc="):
            out.append(a)
    return out


def _sample(args) -> int:
    from fashiongan import validate
    from fashiongan.fileio import atomic_write
    from fashiongan.generate.sampling import grid, sample
    from fashiongan.snapshot import load_generator

    count = 1 if args.interpolate else max(args.n, args.variations, 1)
    for seed in args.interpolate or [args.seed]:
        if isinstance(seed, int):  # not a projected design (FILE.npz:I)
            validate.seed(seed, "--seed" if not args.interpolate else "--interpolate", count)
    if args.from_ and args.interpolate:
        raise UserError("--from draws around one design; to walk between projected designs "
                        "give them to --interpolate as FILE.npz:INDEX")
    if not args.from_ and (args.variations or args.strength is not None):
        raise UserError("--variations/--strength draw around a projected design: give "
                        "--from FILE.npz (written by `fashiongan project`)")
    source = args.checkpoint or _default_checkpoint()
    g = load_generator(source, args.device)
    if args.interpolate:
        images, arrays = _interpolation(g, args)
        args.rows, args.cols = args.rows or 1, args.cols or len(images)
    elif args.from_:
        images, arrays = _from_projection(g, args)
    else:
        if args.class_from is not None or args.class_to is not None:
            raise UserError("--class-from/--class-to morph along --interpolate SEED_A SEED_B")
        images, labels = sample(g, args.n, seed=args.seed, labels=args.class_,
                                batch_size=args.batch_size, return_labels=True)
        arrays = {"images": images, "seeds": np.arange(args.seed, args.seed + args.n)}
        if labels is not None:
            arrays["labels"] = labels.astype(np.int64)
    if args.out:
        out = Path(args.out)
        _writable(out)
        atomic_write(out, lambda tmp: _savez(tmp, arrays))
        print(f"wrote {len(images)} images to {out}")
    if args.grid:
        cols = args.cols or min(len(images), 10)
        rows = args.rows or -(-len(images) // cols)
        h, w = images.shape[1:3]
        pixels = rows * (h + 2) * cols * (w + 2) * args.scale ** 2
        if pixels > MAX_GRID_PIXELS:
            raise UserError(f"--grid: {rows}x{cols} images at --scale {args.scale} would be "
                            f"{pixels / 1e6:.0f} megapixels; the limit is "
                            f"{MAX_GRID_PIXELS / 1e6:.0f}")
        img = grid(images, rows, cols, scale=args.scale)
        _writable(Path(args.grid))
        atomic_write(args.grid, lambda tmp: img.save(tmp, format="PNG"))
        print(f"wrote a {rows}x{cols} grid to {args.grid}")
    if not args.out and not args.grid:
        raise UserError("nothing to write: give --out FILE.npz and/or --grid FILE.png")
    return 0


def _interpolation(g, args):
    """`sample --interpolate A B`: a strip of --steps images; labels are each frame's main class.
    An end is a seed or a projected design (FILE.npz:INDEX)."""
    from fashiongan.generate.interpolate import interpolate
    from fashiongan.generate.variations import load_projected

    class_from = args.class_from if args.class_from is not None else args.class_
    class_to = args.class_to if args.class_to is not None else args.class_
    ends = [e if isinstance(e, int) else load_projected(e[0], g, e[1]) for e in args.interpolate]
    images, weights = interpolate(g, *ends, steps=args.steps, class_from=class_from,
                                  class_to=class_to, method=args.method)
    arrays = {"images": images, "t": np.linspace(0, 1, len(images))}
    if all(isinstance(e, int) for e in args.interpolate):
        arrays["seeds"] = np.array(args.interpolate)
    if weights is not None:
        arrays["labels"] = weights.argmax(1).astype(np.int64)
        arrays["class_weights"] = weights
    return images, arrays


def _from_projection(g, args):
    """`sample --from OUT.npz`: the projected design (--index), its --variations, and with
    --class-to all of it restyled into that category."""
    from fashiongan.generate.project import render
    from fashiongan.generate.variations import load_projected, restyled, varied

    if args.class_from is not None:
        raise UserError("--class-from: a projected design has its own class; --class-to "
                        "restyles it")
    design = load_projected(args.from_, g, args.index)
    weights = design.weights if args.class_to is None else restyled(g, args.class_to)
    strength = 0.5 if args.strength is None else args.strength
    n = args.variations
    z = varied(design.z, n, strength, args.seed) if n else design.z[None]
    w = None if weights is None else weights.expand(len(z), -1)
    arrays = {"images": render(g, z, w), "latents": z.numpy().astype(np.float32),
              "index": np.array(args.index)}
    if n:
        arrays.update(seeds=np.arange(args.seed, args.seed + n), strength=np.array(strength))
    if w is not None:
        arrays.update(labels=w.argmax(1).numpy().astype(np.int64),
                      class_weights=w.numpy().astype(np.float32))
    return arrays["images"], arrays


def _end(text: str):
    """An --interpolate end: a seed, or a projected design FILE.npz or FILE.npz:INDEX."""
    t = text.strip()
    if t.lstrip("+-").isdigit():
        return int(t)
    file, sep, index = t.rpartition(":")
    if sep and index.isdigit():
        return file, int(index)
    return t, 0


def _savez(path: str, arrays: dict) -> None:
    with open(path, "wb") as f:  # a file object, so numpy does not append ".npz" to the temp
        np.savez_compressed(f, **arrays)


def _writable(path: Path) -> None:
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        what = "is not a folder" if parent.exists() else "does not exist"
        raise UserError(f"{path}: {parent} {what}")


def _default_checkpoint() -> str:
    from fashiongan.snapshot import shipped_generator

    return str(shipped_generator("default"))


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line (a UserError) instead of the usage block."""

    def error(self, message):
        raise UserError(f"{self.prog}: {message} (see {self.prog} --help)")


def _at_least(low: float, kind=int):
    """An argparse type: a number >= low (sizes, counts, durations)."""
    def convert(text: str):
        value = kind(text)
        if not math.isfinite(value):  # nan < low is False: NaN would pass any bound
            raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
        if value < low:
            raise argparse.ArgumentTypeError(f"must be >= {low}, got {text}")
        return value

    convert.__name__ = kind.__name__  # argparse names the type in "invalid int value"
    return convert


def runtime_args(p: argparse.ArgumentParser) -> None:
    """--threads, --device, --data-dir: where a subcommand's work runs and what it reads."""
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: "
                   "torch's choice)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--data-dir", help="Fashion-MNIST folder (default: searched)")


def set_threads(args) -> None:
    if args.threads < 0:
        raise UserError(f"--threads must be >= 0, got {args.threads}")
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)


def build_parser() -> argparse.ArgumentParser:
    from fashiongan import config

    p = _Parser(prog="fashiongan", description="GANs on Fashion-MNIST")
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a GAN", description="Train a GAN. Presets: "
                       + ", ".join(config.preset_names()) + ". Config keys: "
                       + ", ".join(config.FIELDS))
    t.add_argument("--preset", help="preset name or YAML file (default: %(default)s)",
                   default=None)
    t.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override one config key (repeatable)")
    t.add_argument("--out", help="run folder (default: runs/<preset>-NNN, a new one)")
    t.add_argument("--overwrite", action="store_true", help="reuse a non-empty --out folder")
    t.add_argument("--resume", metavar="PATH|latest",
                   help="continue from a training state, a run folder, or the latest run")
    t.add_argument("--data", metavar="DATASET|FOLDER",
                   help="train on an imported data set, or a folder/.zip of images with one "
                   "subfolder per class (imported once into a cache; default: Fashion-MNIST)")
    t.add_argument("--resolution", type=int, choices=(28, 32, 64, 128), default=64,
                   help="--data FOLDER: import at this size (default: %(default)s)")
    t.add_argument("--channels", type=int, choices=(1, 3), default=3,
                   help="--data FOLDER: 3 colour, 1 grey (default: %(default)s)")
    t.add_argument("--data-dir", help="Fashion-MNIST folder (default: searched)")
    t.add_argument("--limit-data", type=_at_least(0), default=0, metavar="N",
                   help="train on the first N training images only (quick tries)")
    t.add_argument("--time-budget", type=_at_least(0, float), default=0.0, metavar="SECONDS",
                   help="stop, with a checkpoint, after this wall-clock time")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    t.add_argument("--eval-every", type=int, default=None, metavar="N",
                   help="FID (evaluator features, eval_samples samples) every N iterations: "
                   "metrics.jsonl, fid.png, snapshot-best/ (sets config key eval_every)")
    t.add_argument("--nproc", type=_at_least(1), default=1, metavar="N",
                   help="train on N processes of this host (launches torchrun; DDP with NCCL "
                   "on CUDA, gloo on CPU); batch_size is per process")
    t.add_argument("--on-nan", choices=("stop", "rollback"),
                   help="on a NaN/inf loss: stop (default) or reload the last good state "
                   "and go on with half the learning rate")
    t.set_defaults(func=_train)

    s = sub.add_parser("sample", help="sample images from a generator", epilog=CLASS_HELP)
    s.add_argument("checkpoint", nargs="?", help="run folder, snapshot folder or .safetensors "
                   "(default: the pretrained generator shipped in the package)")
    s.add_argument("--n", type=int, default=50, help="number of images (default: %(default)s)")
    s.add_argument("--seed", type=int, default=0, help="first seed; image i uses seed+i")
    s.add_argument("--class", dest="class_", metavar="CLASS",
                   help="class name or index for a conditional generator")
    s.add_argument("--out", help="write images (uint8 NxHxW grey, NxHxWx3 colour), seeds and "
                   "labels to this .npz")
    s.add_argument("--grid", help="write a PNG grid here")
    s.add_argument("--rows", type=_at_least(0), default=0)
    s.add_argument("--cols", type=_at_least(0), default=0)
    s.add_argument("--scale", type=_at_least(1), default=1,
                   help="enlarge the grid PNG by this factor")
    s.add_argument("--batch-size", type=int, default=500)
    s.add_argument("--device", default="cpu")
    s.add_argument("--interpolate", nargs=2, type=_end, metavar=("A", "B"),
                   help="write a strip walking from A to B (slerp) instead of --n samples; "
                   "an end is a seed or a projected design FILE.npz:INDEX")
    s.add_argument("--steps", type=_at_least(2), default=10, help="frames of --interpolate")
    s.add_argument("--class-from", metavar="CLASS", help="--interpolate: morph from this class")
    s.add_argument("--class-to", metavar="CLASS", help="--interpolate: ... into this class; "
                   "--from: restyle the design into this class")
    s.add_argument("--method", choices=("slerp", "lerp"), default="slerp",
                   help="--interpolate: latent path (default: %(default)s)")
    s.add_argument("--from", dest="from_", metavar="FILE.npz",
                   help="start from a projected design (written by `fashiongan project`)")
    s.add_argument("--index", type=_at_least(0), default=0,
                   help="--from: which design of the file (default: %(default)s)")
    s.add_argument("--variations", type=_at_least(0), default=0, metavar="N",
                   help="--from: N variations around the design (noise from seeds seed..)")
    s.add_argument("--strength", type=_at_least(0, float), default=None,
                   help="--from: how far the variations stray (default 0.5; 0: the design)")
    s.set_defaults(func=_sample)


    for register in _extensions():
        register(sub)
    return p


def _extensions():
    """Subcommands that live beside their feature (evaluate, serve, ...)."""
    import importlib

    found = []
    for mod in ("fashiongan.cli.evaluate", "fashiongan.cli.serve", "fashiongan.cli.data",
                "fashiongan.cli.project", "fashiongan.cli.export",
                "fashiongan.cli.audit"):
        try:
            found.append(importlib.import_module(mod).register)
        except ModuleNotFoundError as e:
            if e.name and not e.name.startswith("fashiongan"):
                raise
    return found


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    return f"fashiongan: warning: {message}\n"


def main(argv: list[str] | None = None) -> int:
    warnings.formatwarning = _one_line_warning
    try:
        args = build_parser().parse_args(argv)
        args.argv = list(sys.argv[1:] if argv is None else argv)
        if getattr(args, "n", 1) is not None and getattr(args, "n", 1) < 0:
            raise UserError(f"--n must be >= 0, got {args.n}")
        if getattr(args, "batch_size", 1) < 1:
            raise UserError(f"--batch-size must be >= 1, got {args.batch_size}")
        if getattr(args, "device", None) is not None:
            from fashiongan.validate import device

            args.device = str(device(args.device))
        return args.func(args)
    except UserError as e:
        print(f"fashiongan: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # disk full, no permission, not a folder...: the machine, not the code
        where = e.filename2 or e.filename
        print(f"fashiongan: error: {f'{where}: ' if where else ''}{e.strerror or e}",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt as e:
        print(f"fashiongan: {e or 'interrupted'}", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - a fault of ours: still one line, naming the input
        if os.environ.get("FASHIONGAN_TRACEBACK"):
            raise
        cmd = " ".join(sys.argv[1:] if argv is None else argv)
        print(f"fashiongan: error: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
              f" (in `fashiongan {cmd}`; FASHIONGAN_TRACEBACK=1 shows where)", file=sys.stderr)
        return 1
