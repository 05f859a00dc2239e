"""`fashiongan texture`: learn a fabric from swatch photos (train), weave it at any size or as a
seamless tile (sample), judge it (evaluate) and dress garment designs in it (dress)."""

from __future__ import annotations

from pathlib import Path

from fashiongan.cli.common import at_least, input_files, set_threads, threads_arg
from fashiongan.errors import UserError
from fashiongan.outputs import check_outputs


def register(sub) -> None:
    t = sub.add_parser("texture", help="fabrics: learn a textile from a swatch photo, weave it, "
                       "judge it, dress designs in it")
    ts = t.add_subparsers(dest="texture_command", required=True)

    tr = ts.add_parser("train", help="train a texture generator on one or a few swatch photos")
    tr.add_argument("swatches", nargs="*", metavar="SWATCH",
                    help="photos of one fabric (any format `data import` reads, or GIMP .pat)")
    tr.add_argument("--out", help="the run folder")
    tr.add_argument("--crop", type=int, default=None,
                    help="crop size in px, a multiple of 8 (default: 64, or what fits)")
    tr.add_argument("--holdout", type=float, default=0.25,
                    help="share of each swatch's rows held out of training (default: 0.25)")
    tr.add_argument("--time-budget", type=at_least(0, float), default=None, metavar="SECONDS",
                    help="stop, with a checkpoint, after this time (default: 600; 0: none)")
    threads_arg(tr)
    tr.add_argument("--resume", metavar="RUN|STATE", help="continue a fabric run")
    tr.add_argument("--overwrite", action="store_true", help="reuse a non-empty --out folder")
    tr.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override one config key of the texture preset (repeatable)")
    tr.add_argument("--no-progress", action="store_true")
    tr.set_defaults(func=_train)

    s = ts.add_parser("sample", help="weave a fabric at any size, or a seamless tile")
    s.add_argument("run", metavar="RUN", help="a fabric run folder or its snapshot")
    s.add_argument("--size", type=int, default=1024, help="width and height in px")
    s.add_argument("--width", type=int, help="width in px (default: --size)")
    s.add_argument("--height", type=int, help="height in px (default: --size)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--out", required=True, help="the PNG to write")
    s.add_argument("--tile", action="store_true",
                   help="a seamless tile: its right edge continues into its left, bottom into top")
    s.add_argument("--scale", type=float, default=1.0,
                   help="draw the fabric this many times larger (0.125-16)")
    s.add_argument("--morph", type=int, metavar="SEED2",
                   help="vary the fabric smoothly from --seed (left) to SEED2 (right)")
    threads_arg(s)
    from fashiongan.cli import texture_judge

    texture_judge.precision_arg(s)
    s.set_defaults(func=_sample)
    texture_judge.register(ts)


def _train(args) -> int:
    from fashiongan.texture.train import DEFAULT_BUDGET_S, train_fabric

    set_threads(args)
    if args.threads:
        args.set.append(f"threads={args.threads}")
    budget = DEFAULT_BUDGET_S if args.time_budget is None else args.time_budget
    summary = train_fabric(args.swatches, args.out, crop=args.crop, holdout=args.holdout,
                           overrides=args.set, resume=args.resume, overwrite=args.overwrite,
                           time_budget_s=budget, progress=not args.no_progress, note=print)
    print(f"{summary['status']} at iteration {summary['step']} in {summary['wall_s']:.1f} s; "
          f"run folder {summary['run_dir']}; preview {summary['grid']}")
    return 0


def _sample(args) -> int:
    import numpy as np

    from fashiongan import validate
    from fashiongan.texture import weave
    from fashiongan.texture.png import save_image, save_png

    width = args.width if args.width is not None else args.size
    height = args.height if args.height is not None else args.size
    for name, v in (("--width", args.width), ("--height", args.height), ("--size", args.size)):
        if v is not None and v <= 0:
            raise UserError(f"{name} {v}: must be > 0")
    validate.seed(args.seed, "--seed")
    if args.morph is not None:
        validate.seed(args.morph, "--morph")
    out = Path(args.out)
    check_outputs({"--out": out}, input_files(args.run))  # never over the run it reads
    if args.scale != 1.0:
        weave.check_size(width, height, False)
        bw, bh = weave.scaled_size(width, height, args.scale, args.tile)
    else:
        weave.check_size(width, height, args.tile)
        bw, bh = width, height
    set_threads(args)
    from fashiongan.cli.texture_judge import open_loom

    loom = open_loom(args.run, args.precision)
    field = loom.field(args.seed, bw, bh, args.tile, args.morph)
    if args.tile:  # held whole (at most MAX_TILE a side) to start at its seeded offset
        base = loom.weave(args.seed, bw, bh, tile=True)
        if (bw, bh) != (width, height):  # resampled across the wrap, then started anywhere
            base = np.roll(weave.resample(_hwc(base), width, height, True),
                           weave.tile_offset(args.seed, width, height), (0, 1))
        save_image(out, base)
    elif (bw, bh) == (width, height):  # streamed, a row of pieces at a time
        save_png(out, width, height, loom.channels, loom.strips(field, width, height))
    else:
        base = loom.weave(args.seed, bw, bh, morph_seed=args.morph)  # at most MAX_TILE a side
        save_image(out, weave.resample(_hwc(base), width, height, False))
    kind = "seamless tile" if args.tile else "fabric"
    print(f"wrote a {width}x{height} {kind} (seed {args.seed}) to {out}")
    return 0


def _hwc(a):
    return a[..., None] if a.ndim == 2 else a
