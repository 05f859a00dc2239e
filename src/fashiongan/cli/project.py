"""`fashiongan project IMAGE...`: each photo in the data set's form, and the design closest to
it (generate/photo.py, generate/project.py); the .npz feeds `sample --from`."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from fashiongan.errors import UserError

GRID_SCALE = 4


def register(subparsers) -> None:
    from fashiongan.cli.common import CLASS_HELP, at_least, threads_arg
    from fashiongan.generate.project import STARTS, STEPS

    p = subparsers.add_parser(
        "project", help="find the design closest to each photo", epilog=CLASS_HELP,
        description="Turn each photo into the data set's form (grey, dark background, "
                    "garment centred, the model's size) and find the latent (and class "
                    "blend) whose sample is closest to it. Folders: their image files.")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files or folders")
    p.add_argument("--checkpoint", help="run folder, snapshot folder or .safetensors "
                   "(default: the pretrained generator shipped in the package)")
    p.add_argument("--class", dest="class_", default="auto", metavar="NAME|auto",
                   help="the category of every photo, or auto: searched and blended "
                   "(default: %(default)s)")
    p.add_argument("--steps", type=at_least(0), default=STEPS,
                   help="Adam steps per photo (default: %(default)s)")
    p.add_argument("--starts", type=at_least(1), default=STARTS,
                   help="random latents scored before refining (default: %(default)s)")
    p.add_argument("--seed", type=at_least(0), default=0, help="photo i uses seed+i")
    p.add_argument("--out", required=True, metavar="OUT.npz",
                   help="images (reconstructions), inputs (converted photos), latents, "
                   "labels, class_weights, distances, sources")
    p.add_argument("--grid", metavar="OUT.png",
                   help="a PNG: one row per photo, converted form | reconstruction")
    threads_arg(p)
    p.add_argument("--device", default="cpu")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_project)


def _project(args) -> int:
    from fashiongan.cli.common import default_checkpoint, savez, set_threads
    from fashiongan.fileio import atomic_write
    from fashiongan.generate.photo import dark_background, read_photo, to_dataset_form
    from fashiongan.generate.project import project
    from fashiongan.generate.sampling import class_labels, dataset_info
    from fashiongan.imageio import grid, save_png
    from fashiongan.outputs import check_outputs
    from fashiongan.snapshot import load_generator, snapshot_path

    out = Path(args.out)
    source = args.checkpoint or default_checkpoint()
    files = photo_files(args.images)
    check_outputs({"--out": out, "--grid": args.grid},
                  inputs=[snapshot_path(source), *(f for f, _ in files)])
    set_threads(args)
    g = load_generator(source, args.device)
    info = dataset_info(g)
    if args.class_ != "auto":  # a typo is told before minutes of work, not after
        class_labels(g, 1, args.class_)
    dark = dark_background(g)
    inputs, sources = [], []
    for path, skip_bad in files:  # every photo is read and converted before any projection
        try:
            im = read_photo(path)
            inputs.append(to_dataset_form(im, info.channels, info.resolution, dark,
                                          name=str(path)))
            sources.append(str(path))
        except UserError as e:
            if not skip_bad:
                raise
            warnings.warn(f"skipped {e}", stacklevel=1)
    if not inputs:
        raise UserError(f"{', '.join(args.images)}: no readable image in it")
    result = project(g, np.stack(inputs), args.class_, steps=args.steps, starts=args.starts,
                     seed=args.seed, progress=not args.no_progress)
    arrays = {**result.arrays(), "sources": np.array(sources), "seed": np.array(args.seed),
              "generator": np.array(str(source))}  # which generator the latents belong to
    atomic_write(out, lambda tmp: savez(tmp, arrays))
    print(f"wrote {len(sources)} projection(s) to {out} (mean {result.kind} distance "
          f"{result.distances.mean():.4f})")
    if args.grid:
        pairs = np.stack([result.inputs, result.images], 1).reshape(-1, *result.images.shape[1:])
        save_png(grid(pairs, len(sources), 2, scale=GRID_SCALE), args.grid)
        print(f"wrote {args.grid} (rows: converted photo | reconstruction)")
    return 0


def photo_files(paths: list[str]) -> list[tuple[Path, bool]]:
    """(file, skip when unreadable): files as given (a bad one is an error), a folder's image
    files in name order (digit runs as numbers), where a bad one is skipped with a warning."""
    from fashiongan.data.scan import IMAGE_EXTS, order_key

    out = []
    for text in paths:
        p = Path(text)
        if p.is_dir():
            found = sorted((f for f in p.iterdir() if f.is_file() and not f.name.startswith(".")
                            and f.suffix.lower() in IMAGE_EXTS), key=lambda f: order_key(f.name))
            if not found:
                raise UserError(f"{p}: no image files in this folder "
                                f"({', '.join(sorted(IMAGE_EXTS))})")
            out += [(f, True) for f in found]
        elif p.exists() or not text:
            out.append((p, False))
        else:
            raise UserError(f"{p}: does not exist")
    if not out:
        raise UserError("no image given")
    return out
