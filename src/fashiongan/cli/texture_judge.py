"""`fashiongan texture evaluate` (scores beside the real fabric's) and `fashiongan texture dress`
(a garment design in the fabric)."""

from __future__ import annotations

import json
from pathlib import Path

from fashiongan.cli.common import CLASS_HELP, at_least, input_files, set_threads, threads_arg
from fashiongan.errors import UserError
from fashiongan.outputs import check_outputs


def register(ts) -> None:
    e = ts.add_parser("evaluate", help="SIFID, seam, copy and diversity scores of a fabric run "
                      "or an image, beside the real swatch's own")
    e.add_argument("target", metavar="RUN|IMAGE", help="a fabric run folder, or an image file")
    e.add_argument("--swatch", help="the swatch to judge against (a run's default: its own)")
    e.add_argument("--seeds", type=at_least(2), default=8, help="seeds per score (run)")
    e.add_argument("--holdout", type=float, default=0.25,
                   help="IMAGE: share of the swatch's rows held out as the real floor")
    e.add_argument("--json", help="write the report here (default: RUN/texture-evaluate.json; "
                   "for an image, only printed)")
    threads_arg(e)
    precision_arg(e)
    e.set_defaults(func=_evaluate)

    d = ts.add_parser("dress", help="dress a garment design in a fabric", epilog=CLASS_HELP)
    d.add_argument("--fabric", required=True, metavar="RUN", help="a fabric run")
    d.add_argument("--checkpoint", help="a grey garment generator (default: the shipped one)")
    d.add_argument("--class", dest="class_", default=None, help="the design's class")
    d.add_argument("--seed", type=int, default=0, help="the design's seed (and the fabric's)")
    d.add_argument("--fabric-seed", type=int, default=None, help="the fabric's seed")
    d.add_argument("--npz", help="take the design from this .npz (`fashiongan sample --out`)")
    d.add_argument("--index", type=at_least(0), default=0, help="--npz: which design")
    d.add_argument("--factor", type=int, default=8, help="enlargement of the design (4-32)")
    d.add_argument("--scale", type=float, default=1.0, help="draw the fabric this many times "
                   "larger")
    d.add_argument("--out", required=True, help="the PNG to write")
    threads_arg(d)
    precision_arg(d)
    d.set_defaults(func=_dress)


def _evaluate(args) -> int:
    from fashiongan.texture import judge
    from fashiongan.texture.fabricdir import is_fabric_run, load_fabric

    set_threads(args)
    target = Path(args.target)
    if args.json:  # never over the image, run or swatch it scores
        check_outputs({"--json": args.json}, input_files(args.target, args.swatch))
    if target.is_dir():
        if not is_fabric_run(target):
            raise UserError(f"{target}: not a fabric run (no fabric/ in it); give a fabric run "
                            "folder or an image")
        loom = open_loom(str(target), args.precision)
        fabric = load_fabric(target)
        if args.swatch:
            from fashiongan.data.fabric import fabric_of
            from fashiongan.data.swatch import read_swatch

            fabric = fabric_of([read_swatch(args.swatch)], None, fabric.holdout, (args.swatch,))
        report = judge.evaluate_run(loom, fabric, args.seeds)
        print_json(report, args.json or str(target / "texture-evaluate.json"))
        return 0
    if not args.swatch:
        raise UserError("evaluate IMAGE: give the --swatch it is judged against")
    print_json(judge.evaluate_image(args.target, args.swatch, args.holdout), args.json)
    return 0


def _dress(args) -> int:
    import numpy as np

    from fashiongan import validate
    from fashiongan.cli.common import default_checkpoint
    from fashiongan.texture.dress import dress
    from fashiongan.texture.png import save_image

    validate.seed(args.seed, "--seed")
    fabric_seed = args.seed if args.fabric_seed is None else args.fabric_seed
    validate.seed(fabric_seed, "--fabric-seed")
    out = Path(args.out)
    check_outputs({"--out": out}, input_files(args.fabric, args.checkpoint, args.npz))
    set_threads(args)
    if args.npz:
        if args.checkpoint or args.class_ is not None:
            raise UserError("--npz brings its own design: leave --checkpoint and --class out")
        design = _design_from_npz(args.npz, args.index)
    else:
        from fashiongan.generate.sampling import sample
        from fashiongan.snapshot import load_generator

        g = load_generator(args.checkpoint or default_checkpoint())
        if getattr(g, "is_texture", False):
            raise UserError(f"--checkpoint {args.checkpoint}: this is a fabric, not a garment "
                            "generator; give the fabric as --fabric")
        labels = args.class_ if getattr(g, "num_classes", 0) else None
        if args.class_ is not None and labels is None:
            raise UserError("--class: this garment generator is unconditional")
        design = sample(g, 1, seed=args.seed, labels=labels)[0]
    loom = open_loom(args.fabric, args.precision)
    image = dress(np.asarray(design), loom, fabric_seed, args.factor, args.scale)
    save_image(out, image)
    print(f"wrote a {image.shape[1]}x{image.shape[0]} dressed design to {out}")
    return 0


def _design_from_npz(path: str, index: int):
    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as f:
            images = f["images"]
    except (OSError, ValueError, KeyError) as e:
        raise UserError(f"--npz {path}: not a designs file with an 'images' array ({e})") from None
    if images.dtype != np.uint8 or images.ndim not in (3, 4) or not len(images):
        raise UserError(f"--npz {path}: 'images' must be uint8 N x H x W (or N x H x W x 3)")
    if index >= len(images):
        raise UserError(f"--index {index}: {path} holds {len(images)} design(s)")
    return images[index]


def precision_arg(p) -> None:
    p.add_argument("--precision", choices=("auto", "bf16", "float32"), default="auto",
                   help="the weave's arithmetic: auto takes bf16 where the CPU or GPU computes "
                   "it natively (2-3x faster); float32 gives the same bytes on every machine")


def open_loom(run: str, precision: str = "auto"):
    from fashiongan.snapshot import load_generator
    from fashiongan.texture.weave import Loom, check_texture

    g = load_generator(run)
    check_texture(g, run)
    return Loom(g, precision=precision)


def print_json(report: dict, out: str | None) -> None:
    text = json.dumps(report, indent=2)
    if out:
        from fashiongan.fileio import atomic_write_json

        atomic_write_json(Path(out), report)  # checked by the command before any work
    print(text)
