"""`fashiongan sample`: seeds to images (.npz and a grid), walks between designs, and
variations of a projected design."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fashiongan.cli.common import (
    CLASS_HELP,
    MAX_GRID_PIXELS,
    at_least,
    default_checkpoint,
    savez,
    set_threads,
    threads_arg,
)
from fashiongan.errors import UserError


def register(sub) -> None:
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
    s.add_argument("--rows", type=at_least(0), default=0)
    s.add_argument("--cols", type=at_least(0), default=0)
    s.add_argument("--scale", type=at_least(1), default=1,
                   help="enlarge the grid PNG by this factor")
    s.add_argument("--batch-size", type=int, default=500)
    s.add_argument("--device", default="cpu")
    threads_arg(s)
    s.add_argument("--interpolate", nargs=2, type=_end, metavar=("A", "B"),
                   help="write a strip walking from A to B (slerp) instead of --n samples; "
                   "an end is a seed or a projected design FILE.npz:INDEX")
    s.add_argument("--steps", type=at_least(2), default=10, help="frames of --interpolate")
    s.add_argument("--class-from", metavar="CLASS", help="--interpolate: morph from this class")
    s.add_argument("--class-to", metavar="CLASS", help="--interpolate: ... into this class; "
                   "--from: restyle the design into this class")
    s.add_argument("--method", choices=("slerp", "lerp"), default="slerp",
                   help="--interpolate: latent path (default: %(default)s)")
    s.add_argument("--from", dest="from_", metavar="FILE.npz",
                   help="start from a projected design (written by `fashiongan project`)")
    s.add_argument("--index", type=at_least(0), default=0,
                   help="--from: which design of the file (default: %(default)s)")
    s.add_argument("--variations", type=at_least(0), default=0, metavar="N",
                   help="--from: N variations around the design (noise from seeds seed..)")
    s.add_argument("--strength", type=at_least(0, float), default=None,
                   help="--from: how far the variations stray (default 0.5; 0: the design)")
    s.set_defaults(func=_sample)


def _sample(args) -> int:
    from fashiongan import validate
    from fashiongan.fileio import atomic_write
    from fashiongan.generate.sampling import sample
    from fashiongan.imageio import grid, save_png
    from fashiongan.outputs import check_outputs
    from fashiongan.snapshot import load_generator, snapshot_path

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
    set_threads(args)
    source = args.checkpoint or default_checkpoint()
    if not args.out and not args.grid:
        raise UserError("nothing to write: give --out FILE.npz and/or --grid FILE.png")
    ends = [e[0] for e in args.interpolate or [] if not isinstance(e, int)]
    check_outputs({"--out": args.out, "--grid": args.grid},
                  inputs=[snapshot_path(source), args.from_, *ends])
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
        atomic_write(out, lambda tmp: savez(tmp, arrays))
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
        save_png(grid(images, rows, cols, scale=args.scale), args.grid)
        print(f"wrote a {rows}x{cols} grid to {args.grid}")
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
