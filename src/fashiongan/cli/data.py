"""`fashiongan data [check] | import | info | export-fmnist | grow` (grow: cli/grow.py).

Plain `fashiongan data [--data-dir DIR] [--download [DIR]]` keeps its old meaning (find and
verify Fashion-MNIST, or download it); `data check` is the same thing by name.
"""

from __future__ import annotations

import argparse
import sys

from fashiongan.cli import grow
from fashiongan.errors import UserError


def register(subparsers) -> None:
    d = subparsers.add_parser(
        "data", help="Fashion-MNIST files; import your own images as a data set",
        description="Without a subcommand: find and verify the Fashion-MNIST files "
                    "(same as `data check`).")
    _check_args(d)
    d.set_defaults(func=_check)
    sub = d.add_subparsers(dest="data_command", metavar="{check,import,info,export-fmnist,grow}")

    c = sub.add_parser("check", help="find and verify the Fashion-MNIST files (the default)")
    _check_args(c)
    c.set_defaults(func=_check)

    i = sub.add_parser(
        "import", help="make a data set folder from a folder or .zip of images",
        description="Read every image under SRC (JPEG, PNG, WebP, BMP, GIF, TIFF; recursively), "
                    "pad it to a square with --background, resize it and write DATASET/ "
                    "(pixels.npy, labels.npy, split.npy, manifest.json).")
    i.add_argument("src", metavar="SRC", help="folder or .zip of images")
    i.add_argument("--out", required=True, metavar="DATASET", help="data set folder to write")
    i.add_argument("--resolution", type=int, default=64,
                   help="square side in pixels (default: %(default)s; the models use 28, 32, "
                        "64, 128)")
    i.add_argument("--channels", type=int, choices=(1, 3), default=3,
                   help="3 RGB or 1 grey (default: %(default)s)")
    i.add_argument("--labels", default="subfolders", metavar="subfolders|none|FILE.json",
                   help="class per image: the first-level folder names (default), none, or a "
                        "JSON file {\"path\": label} or stylegan2-ada's dataset.json")
    i.add_argument("--test-fraction", type=float, default=0.1,
                   help="share of each class held out as the test split (default: %(default)s)")
    i.add_argument("--seed", type=int, default=0, help="seed of the split (default: 0)")
    i.add_argument("--split", choices=("random", "names"), default="random",
                   help="random: a seeded share of each class (--test-fraction); names: a file "
                        "whose name starts with 'test' is held out, the others train (a "
                        "catalogue's own split, benchmarks/catalogue.py) (default: %(default)s)")
    i.add_argument("--background", default="white",
                   help="colour behind transparent pixels and of the padding that makes an "
                        "image square (default: %(default)s, as on product photos)")
    i.add_argument("--jobs", type=int, default=0,
                   help="decoding processes (default: 0 = one per CPU; 1 = no pool)")
    i.add_argument("--overwrite", action="store_true", help="replace an existing DATASET")
    i.add_argument("--no-progress", action="store_true", help="no progress bar")
    i.set_defaults(func=_import)

    n = sub.add_parser("info", help="summarise a data set folder and verify its checksums")
    n.add_argument("dataset", metavar="DATASET")
    n.add_argument("--no-verify", action="store_true", help="skip the SHA-256 check")
    n.set_defaults(func=_info)

    e = sub.add_parser("export-fmnist", help="write Fashion-MNIST as PNG class folders",
                       description="DIR/<class>/<index>.png and DIR/classes.json (the real "
                                   "class names); `data import DIR --resolution 28 --channels 1` "
                                   "gives back the same pixels, labels and order.")
    e.add_argument("dir", metavar="DIR")
    e.add_argument("--split", choices=("train", "test"), default="train")
    e.add_argument("--format", choices=("png",), default="png",
                   help="png only: lossless, so the round trip is exact")
    e.add_argument("--limit", type=int, default=0, metavar="N", help="first N images only")
    e.add_argument("--data-dir", help="Fashion-MNIST folder (default: searched)")
    e.add_argument("--overwrite", action="store_true", help="replace an earlier export in DIR")
    e.add_argument("--no-progress", action="store_true")
    e.set_defaults(func=_export)

    grow.register(sub)


def _check_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", help="look here first")
    p.add_argument("--download", nargs="?", const="", metavar="DIR",
                   help="download the four files (default DIR: fashion-mnist/ in "
                   "$FASHIONGAN_CACHE, else in ~/.cache/fashiongan)")


def _check(args) -> int:
    """The old `fashiongan data`, unchanged."""
    from fashiongan import data

    if args.download is not None:
        d = data.download(args.download or None)
        print(f"downloaded and verified Fashion-MNIST into {d}")
        return 0
    d = data.find_data_dir(args.data_dir)
    print(f"Fashion-MNIST found in {d}")
    for path, digest in data.verify(d):
        print(f"  ok  {path.name:28s} sha256 {digest}")
    print(f"classes: {', '.join(data.CLASS_NAMES)}")
    return 0


def _import(args) -> int:
    from fashiongan.data.importer import default_jobs, import_images
    from fashiongan.data.prepare import parse_background

    if args.jobs < 0:
        raise UserError(f"--jobs must be >= 0, got {args.jobs}")
    command = ["fashiongan", *getattr(args, "argv", sys.argv[1:])]
    m = import_images(args.src, args.out, resolution=args.resolution, channels=args.channels,
                      labels=args.labels, test_fraction=args.test_fraction, seed=args.seed,
                      split=args.split, background=parse_background(args.background),
                      jobs=args.jobs or default_jobs(), progress=not args.no_progress,
                      overwrite=args.overwrite, command=command)
    print(summary(m, args.out))
    return 0


def summary(m: dict, where) -> str:
    """The import's (and `data info`'s) few lines: counts per class, skips per reason."""
    from fashiongan.outputs import printable

    n, skipped = m["count"], len(m["skipped"])
    lines = [f"{where}: {n} images {m['channels']}x{m['resolution']}x{m['resolution']}, "
             f"{m['split']['train']} train / {m['split']['test']} test "
             f"(seed {m['split']['seed']}); skipped {skipped} file(s)"]
    if m["skipped_counts"]:
        lines.append("  skipped: " + ", ".join(f"{k} {v}" for k, v in
                                                sorted(m["skipped_counts"].items())))
    if m["class_names"]:
        width = max(12, *(len(printable(c)) for c in m["class_names"]))
        lines.append(f"  {'class':{width}s} {'images':>7s} {'skipped':>8s}")
        for c in m["class_names"]:
            lines.append(f"  {printable(c):{width}s} {m['counts_per_class'][c]:7d} "
                         f"{m['skipped_per_class'].get(c, 0):8d}")
    else:
        lines.append("  unlabelled")
    return "\n".join(lines)


def _info(args) -> int:
    from fashiongan.data.store import read_manifest, verify_dataset

    m = read_manifest(args.dataset)
    print(summary(m, args.dataset))
    print(f"  from {m['source']['path']} ({m['source']['kind']}), labels {m['labels_from']}, "
          f"background {m['background']}")
    if not args.no_verify:
        for name, digest in verify_dataset(args.dataset):
            print(f"  ok  {name:12s} sha256 {digest}")
    return 0


def _export(args) -> int:
    from fashiongan.data.classfolders import export_fmnist

    if args.limit < 0:
        raise UserError(f"--limit must be >= 0, got {args.limit}")
    out, n = export_fmnist(args.dir, args.split, args.data_dir, args.limit,
                           progress=not args.no_progress, overwrite=args.overwrite)
    print(f"wrote {n} Fashion-MNIST {args.split} images as PNG class folders to {out}")
    return 0
