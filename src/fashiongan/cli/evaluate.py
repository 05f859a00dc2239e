"""`fashiongan evaluate`: a generator or a set of images scored against a data set's test split
beside the real floor (metrics/report.py), the same way for Fashion-MNIST and imported sets."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from fashiongan import validate
from fashiongan.cli.common import input_files, set_threads, threads_arg
from fashiongan.errors import UserError
from fashiongan.fileio import atomic_write_json
from fashiongan.outputs import check_outputs

DEFAULT_N = 10_000
MIN_IMAGES = 10  # k-nearest-neighbour metrics (k=3) and covariances need a few images
CAS_NEEDS = ("--cas needs class-conditional samples (a conditional generator, or an .npz "
             "with 'labels')")


def results_path(target: Path, kind: str) -> Path:
    """Where a command's KIND.json about target goes: inside a run folder, else beside the
    file or export folder as <name>.KIND.json (an export keeps to what it exported)."""
    if target.is_dir() and not is_image_target(target):
        return target / f"{kind}.json"
    return target.with_name(f"{target.stem}.{kind}.json")


def is_image_target(target: Path) -> bool:
    """An .npz or a `fashiongan export` folder: images to score, not a generator."""
    from fashiongan.export.manifest import is_export

    return target.suffix == ".npz" or is_export(target)


def read_image_target(target: Path):
    """(images, labels or None) of an .npz or of an export's train split (any format)."""
    if target.suffix == ".npz":
        return _read_npz(target)
    from fashiongan.export.manifest import read_export

    return read_export(target)[:2]


def _read_npz(target: Path):
    if not target.is_file():
        raise UserError(f"{target}: no such file")
    try:
        with np.load(target, allow_pickle=False) as z:
            return z["images"], z["labels"] if "labels" in z.files else None
    except (OSError, ValueError, KeyError) as e:
        raise UserError(f"{target}: not an .npz with an 'images' array ({e})") from None


def _dataset(args, resolution: int, channels: int):
    """--data (a FOLDER imported at the target's size), else Fashion-MNIST."""
    from fashiongan.data.resolve import resolve

    return resolve(args.data, resolution, channels, args.data_dir, progress=False,
                   on_import=print)


def _target(args):
    """(data set, generator or None, images or None, labels, n, source): an .npz or export is
    read and checked against the data set's shape and classes; a generator's DatasetInfo must
    be the data set's."""
    from fashiongan.imageio import sample_shape
    from fashiongan.metrics.reference import check_match, default_n
    from fashiongan.snapshot import load_generator

    target = Path(args.target)
    if not is_image_target(target):
        g = load_generator(target, args.device)
        ds = _dataset(args, g.dataset.resolution, g.dataset.channels)
        check_match(g.dataset, ds, str(target))
        n = args.n if args.n is not None else default_n(ds) if args.data else DEFAULT_N
        validate.seed(args.seed, "--seed", n)
        return ds, g, None, None, n, {"generator": str(target), "seed": args.seed}
    images, labels = read_image_target(target)
    ds = _dataset(args, images.shape[1] if images.ndim >= 3 else 64,
                  3 if images.ndim == 4 else 1)
    validate.images(images, str(target), sample_shape(ds.info))
    if len(images) < MIN_IMAGES:
        raise UserError(f"{target}: {len(images)} image(s); scoring needs at least "
                        f"{MIN_IMAGES} (k-nearest neighbours need company)")
    if labels is not None:
        if not ds.info.num_classes:
            raise UserError(f"{target}: has 'labels' but --data {ds.path} has no classes")
        labels = validate.labels(labels, len(images), ds.info.num_classes, str(target))
    n = len(images) if args.n is None else min(args.n, len(images))
    source = {"npz": str(target)} if target.suffix == ".npz" else {"export": str(target)}
    return ds, None, images[:n], None if labels is None else labels[:n], n, source


def _inception(args, default_dtype: str):
    import torch

    from fashiongan.metrics import inception

    dtype = getattr(torch, args.inception_dtype or default_dtype)
    return inception.feature_net(inception.open_network(args.inception_weights, args.device,
                                                        dtype))


def _networks(args, ds, incep):
    """(primary feature net, judge (net, record, path) or None, extra Inception net or None);
    `incep` is the Inception network, opened before the target is read.

    Fashion-MNIST: the shipped evaluator (or --evaluator), Inception beside it on request.
    An imported set: Inception, and its judge (DATASET/judge.safetensors or --evaluator)
    for the classes. Everything is loaded before minutes of sampling."""
    from fashiongan.metrics import evaluator, judge
    from fashiongan.metrics.features import classifier

    if ds.path is None:
        net, digest = evaluator.load(args.evaluator, device=args.device)
        return classifier(net, digest), None, incep
    jpath = Path(args.evaluator) if args.evaluator else judge.default_path(ds)
    judged = judge.load(jpath, ds, args.device) if args.evaluator or jpath.is_file() else None
    return incep, judged and (*judged, jpath), None


def _evaluate(args) -> int:
    from fashiongan.generate.sampling import sample
    from fashiongan.metrics import judge, report
    from fashiongan.metrics.classes import collapse_warning

    set_threads(args)
    if args.n is not None and args.n < MIN_IMAGES:
        raise UserError(f"--n must be at least {MIN_IMAGES} (k-nearest neighbours need company), "
                        f"got {args.n}")
    out = Path(args.json) if args.json else results_path(Path(args.target), "evaluation")
    # before minutes of sampling and scoring, not after
    check_outputs({"--json": out}, input_files(args.target, args.data, args.evaluator,
                                               args.inception_weights),
                  derived=() if args.json else ("--json",))
    t0 = time.perf_counter()
    incep = _inception(args, "bfloat16" if args.data else "float32") \
        if args.data or args.inception or args.inception_weights else None
    ds, g, images, labels, n, source = _target(args)
    if ds.path is not None and len(ds.test_index) <= MIN_IMAGES:
        raise UserError(f"--data {ds.path}: {len(ds.test_index)} test images; scoring needs "
                        f"more than {MIN_IMAGES} (import with a larger --test-fraction)")
    if args.cas and (labels is None if g is None else not getattr(g, "num_classes", 0)):
        raise UserError(CAS_NEEDS)
    net, judged, extra = _networks(args, ds, incep)
    if g is not None:
        images, labels = sample(g, n, seed=args.seed, batch_size=args.batch_size,
                                return_labels=True)
    t_sample = time.perf_counter() - t0
    progress = not args.no_progress
    result = {"source": source, "command": " ".join(["fashiongan", *sys.argv[1:]]),
              "dataset": report.describe(ds),
              **report.evaluate(net, ds, images, labels, floor=not args.no_floor,
                                progress=progress)}
    if ds.path is None:
        result["evaluator_sha256"] = net.key.split(":", 1)[1]
    if judged is not None:
        jnet, record, jpath = judged
        result["judge"] = {"path": str(jpath), **judge.conditional(jnet, record, ds, images,
                                                                  labels)}
        warning = collapse_warning(result["judge"]["classes"], ds.info.class_names)
        result["warnings"] = [warning] if warning else []
    print(report.format_table(result, ds.info.class_names))
    if extra is not None:
        result["inception"] = report.evaluate(extra, ds, images, floor=not args.no_floor,
                                              progress=progress)
        print(report.format_table(result["inception"], ds.info.class_names))
    if args.cas:
        from fashiongan.cli.cas import classification_accuracy

        result["cas"] = classification_accuracy(args, ds, g, judged, images, labels)
    result["timing_s"] = {"sample": t_sample, **result["timing_s"],
                          "total": time.perf_counter() - t0}
    atomic_write_json(out, result)
    print(f"wrote {out} ({result['timing_s']['total']:.1f} s)")
    return 0


def register(sub) -> None:
    from fashiongan.metrics.evaluator import Recipe

    e = sub.add_parser(
        "evaluate", help="score a generator or a set of images (FID, KID, PR/DC, classes)",
        description="Score generated images against a data set's test split: FID, KID, "
        "precision/recall (k=3), density/coverage (k=5), class histogram; each beside the "
        "real-data floor (as many training images vs the test split). Fashion-MNIST is scored "
        "in the shipped evaluator's features, an imported data set (--data) in Inception's.")
    e.add_argument("target", help="run folder, snapshot folder, generator .safetensors, or an "
                   ".npz with 'images' (uint8 NxHxW grey or NxHxWx3 colour at the data set's "
                   "resolution) and optionally 'labels', or a folder made by `fashiongan "
                   "export` (its train split; --cas trains on it)")
    e.add_argument("--data", metavar="DATASET|FOLDER",
                   help="score against this imported data set's test split (default: "
                   "Fashion-MNIST); with its judge (DATASET/judge.safetensors or --evaluator) "
                   "also the conditional accuracy")
    e.add_argument("--n", type=int, default=None,
                   help=f"samples to score (default: {DEFAULT_N}; with --data twice the test "
                   "split, at most 5000; all images of an .npz)")
    e.add_argument("--seed", type=int, default=0, help="first sample seed (image i: seed+i)")
    e.add_argument("--json", help="write results here (default: evaluation.json in the "
                   "target folder, or <name>.evaluation.json beside the file)")
    e.add_argument("--no-floor", action="store_true",
                   help="skip the real-data floor (it is cached after the first time)")
    e.add_argument("--cas", action="store_true", help="also the classification accuracy score "
                   "(conditional models; trains a classifier on generated data: slow)")
    e.add_argument("--cas-n", type=int, default=None, help="generated training images for "
                   "--cas (default: as many as the data set's training split)")
    e.add_argument("--cas-epochs", type=int, default=0,
                   help=f"epochs for --cas (default: the evaluator's {Recipe.epochs}; with "
                   "--data the judge's)")
    e.add_argument("--inception", action="store_true", help="Fashion-MNIST: also Inception "
                   "FID, KID and PR/DC, with the network that fashiongan[metrics] installs "
                   "(slow on a CPU); --data always uses it")
    e.add_argument("--inception-weights", metavar="PATH",
                   help="the same with StyleGAN2-ADA's inception-2015-12-05.pt instead")
    e.add_argument("--inception-dtype", choices=("float32", "bfloat16"), help="Inception "
                   "arithmetic (default: float32, the papers'; with --data bfloat16, 4x faster "
                   "on a CPU, and the floor is computed the same way)")
    e.add_argument("--evaluator", metavar="PATH", help="another evaluator weights file than "
                   "the shipped one (e.g. from `evaluator train`); numbers will not compare; "
                   "with --data: the data set's judge (default: DATASET/judge.safetensors)")
    e.add_argument("--no-progress", action="store_true", help="no progress bars")
    e.add_argument("--batch-size", type=int, default=500)
    threads_arg(e)
    e.add_argument("--device", default="cpu")
    e.add_argument("--data-dir", help="Fashion-MNIST folder (default: searched)")
    e.set_defaults(func=_evaluate)
