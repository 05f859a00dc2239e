"""`fashiongan evaluate` and `fashiongan evaluator train|info`."""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from fashiongan import validate
from fashiongan.data import CLASS_NAMES, FASHION_MNIST
from fashiongan.errors import UserError
from fashiongan.fileio import atomic_write_json

DEFAULT_N = 10_000
MIN_IMAGES = 10  # k-nearest-neighbour metrics (k=3) and covariances need a few images
CAS_NEEDS = ("--cas needs class-conditional samples (a conditional generator, or an .npz "
             "with 'labels')")


def _load_target(args):
    """(images uint8 [N,28,28], labels or None, description) from an .npz or a generator."""
    target = Path(args.target)
    if is_image_target(target):
        images, labels = read_image_target(target)
        validate.images(images, str(target), (FASHION_MNIST.resolution,) * 2)  # grey
        _check_count(images, target)
        if labels is not None:  # checked whole, before --n cuts both
            labels = validate.labels(labels, len(images), len(CLASS_NAMES), str(target))
        n = len(images) if args.n is None else min(args.n, len(images))
        return images[:n], None if labels is None else labels[:n], _source(target)
    from fashiongan.generate.sampling import sample
    from fashiongan.snapshot import load_generator

    n = DEFAULT_N if args.n is None else args.n
    validate.seed(args.seed, "--seed", n)
    g = load_generator(target, args.device)
    if g.dataset.shape != FASHION_MNIST.shape or g.dataset.class_names != CLASS_NAMES:
        # the judges here score against Fashion-MNIST's test split; scoring another data set
        # against it would print numbers that mean nothing
        raise UserError(f"{target}: trained on {g.dataset.name or 'another data set'} "
                        f"({g.dataset.channels}x{g.dataset.resolution}x{g.dataset.resolution}); "
                        "evaluate scores Fashion-MNIST generators only so far")
    images, labels = sample(g, n, seed=args.seed, batch_size=args.batch_size, return_labels=True)
    return images, labels, {"generator": str(target), "seed": args.seed}


def _json_path(args) -> Path:
    return Path(args.json) if args.json else results_path(Path(args.target), "evaluation")


def results_path(target: Path, kind: str) -> Path:
    """Where a command's KIND.json about target goes: inside a run folder, else beside the
    file or export folder as <name>.KIND.json (an export keeps to what it exported)."""
    if target.is_dir() and not is_image_target(target):
        return target / f"{kind}.json"
    return target.with_name(f"{target.stem}.{kind}.json")


def writable(out: Path) -> None:
    """The results file can be created: its folder exists and takes a new file (a temp file is
    made and removed; os.access would say yes to root on a read-only mount)."""
    if out.is_dir():
        raise UserError(f"{out}: is a folder, not a file to write the results to")
    if not out.parent.is_dir():
        raise UserError(f"{out}: folder {out.parent} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
        os.close(fd)
        os.unlink(tmp)
    except OSError as e:
        raise UserError(f"{out}: cannot write: {e.strerror or e}") from None


def _evaluate(args) -> int:
    from fashiongan.metrics import scores

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    if args.n is not None and args.n < MIN_IMAGES:
        raise UserError(f"--n must be at least {MIN_IMAGES} (k-nearest neighbours need company), "
                        f"got {args.n}")
    out = _json_path(args)
    writable(out)  # before minutes of sampling and scoring, not after
    if args.data:
        return _evaluate_dataset(args, out)
    if args.inception or args.inception_weights:
        net = _inception(args, "float32")  # fail before sampling
    t0 = time.perf_counter()
    images, labels, source = _load_target(args)
    t_sample = time.perf_counter() - t0
    if args.cas and labels is None:
        raise UserError(CAS_NEEDS)
    result = scores.evaluate_images(images, labels, args.data_dir, args.device,
                                    floor=not args.no_floor, weights=args.evaluator)
    result = {"source": source, "command": " ".join(["fashiongan", *sys.argv[1:]]), **result}
    result["timing_s"] = {"sample": t_sample, **result["timing_s"],
                          "total": time.perf_counter() - t0}
    print(scores.format_table(result))
    if args.inception or args.inception_weights:
        from fashiongan.metrics import inception_scores

        result["inception"] = inception_scores.scores(net, images, args.data_dir)
        print(inception_scores.format_line(result["inception"]))
    if args.cas:
        result["cas"] = _cas(args, images, labels)
    result["timing_s"]["total"] = time.perf_counter() - t0
    atomic_write_json(out, result)
    print(f"wrote {out} ({result['timing_s']['total']:.1f} s)")
    return 0


def _inception(args, default_dtype: str):
    import torch

    from fashiongan.metrics import inception

    dtype = getattr(torch, args.inception_dtype or default_dtype)
    return inception.open_network(args.inception_weights, args.device, dtype)


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


def _source(target: Path) -> dict:
    return {"npz": str(target)} if target.suffix == ".npz" else {"export": str(target)}


def _read_npz(target: Path):
    """(images, labels or None) of an .npz with 'images' (and 'labels')."""
    if not target.is_file():
        raise UserError(f"{target}: no such file")
    try:
        with np.load(target, allow_pickle=False) as z:
            return z["images"], z["labels"] if "labels" in z.files else None
    except (OSError, ValueError, KeyError) as e:
        raise UserError(f"{target}: not an .npz with an 'images' array ({e})") from None


def _check_count(images, target) -> None:
    if len(images) < MIN_IMAGES:
        raise UserError(f"{target}: {len(images)} image(s); scoring needs at least "
                        f"{MIN_IMAGES} (k-nearest neighbours need company)")


def _dataset_target(args):
    """(data set, generator or None, images or None, labels, n, source) of `evaluate TARGET
    --data D`: an .npz is read and checked against D's shape and classes; a generator's
    DatasetInfo must be D's. A FOLDER for D is imported at the target's size."""
    from fashiongan.data.resolve import dataset_for
    from fashiongan.metrics import dataset_scores
    from fashiongan.snapshot import load_generator

    target = Path(args.target)
    if not is_image_target(target):
        g = load_generator(target, args.device)
        ds = dataset_for(args.data, g.dataset.resolution, g.dataset.channels, progress=False,
                         on_import=print)
        dataset_scores.check_match(g.dataset, ds, str(target))
        n = dataset_scores.default_n(ds) if args.n is None else args.n
        validate.seed(args.seed, "--seed", n)
        return ds, g, None, None, n, {"generator": str(target), "seed": args.seed}
    images, labels = read_image_target(target)
    ds = dataset_for(args.data, images.shape[1] if images.ndim >= 3 else 64,
                     3 if images.ndim == 4 else 1, progress=False, on_import=print)
    validate.images(images, str(target), dataset_scores.sample_shape(ds.info))
    _check_count(images, target)
    if labels is not None:
        if not ds.info.num_classes:
            raise UserError(f"{target}: has 'labels' but --data {ds.path} has no classes")
        labels = validate.labels(labels, len(images), ds.info.num_classes, str(target))
    n = len(images) if args.n is None else min(args.n, len(images))
    return ds, None, images[:n], None if labels is None else labels[:n], n, _source(target)


def _evaluate_dataset(args, out: Path) -> int:
    """`evaluate TARGET --data DATASET`: Inception scores against DATASET's test split beside
    its floor, and the judge's view when DATASET has one (metrics/dataset_scores.py, judge.py).
    Every check (shapes, classes, the judge's data set) comes before the network is loaded."""
    from fashiongan.generate.sampling import sample
    from fashiongan.metrics import dataset_scores, judge
    from fashiongan.metrics.classes import collapse_warning

    t0 = time.perf_counter()
    ds, g, images, labels, n, source = _dataset_target(args)
    if len(ds.test_index) <= MIN_IMAGES:
        raise UserError(f"--data {ds.path}: {len(ds.test_index)} test images; scoring needs "
                        f"more than {MIN_IMAGES} (import with a larger --test-fraction)")
    jpath = Path(args.evaluator) if args.evaluator else judge.default_path(ds)
    judged = judge.load(jpath, ds, args.device) if args.evaluator or jpath.is_file() else None
    if args.cas and (labels is None if g is None else not getattr(g, "num_classes", 0)):
        raise UserError(CAS_NEEDS)
    net = _inception(args, "bfloat16")  # before minutes of sampling
    if g is not None:
        images, labels = sample(g, n, seed=args.seed, batch_size=args.batch_size,
                                return_labels=True)
    t_sample = time.perf_counter() - t0
    result = {"source": source, "command": " ".join(["fashiongan", *sys.argv[1:]]),
              "dataset": {"path": str(ds.path), **dataset_scores.identity(ds),
                          "train_images": len(ds.train_index),
                          "test_images": len(ds.test_index)},
              **dataset_scores.evaluate(net, ds, images, floor=not args.no_floor,
                                        progress=not args.no_progress), "warnings": []}
    if judged is not None:
        result["judge"] = {"path": str(jpath), **judge.conditional(*judged, ds, images, labels)}
        warning = collapse_warning(result["judge"]["classes"], ds.info.class_names)
        result["warnings"] = [warning] if warning else []
    print(dataset_scores.format_table(result))
    if args.cas:
        if g is not None:  # as many fresh samples as the training split has images
            images, labels = sample(g, args.cas_n or len(ds.train_index),
                                    seed=args.seed + 1_000_000, batch_size=args.batch_size,
                                    return_labels=True)
        result["cas"] = _dataset_cas(args, ds, judged, images, labels)
    result["timing_s"] = {"sample": t_sample, **result["timing_s"],
                          "total": time.perf_counter() - t0}
    atomic_write_json(out, result)
    print(f"wrote {out} ({result['timing_s']['total']:.1f} s)")
    return 0


def _dataset_cas(args, ds, judged, images, labels) -> dict:
    """CAS with the judge's recipe (its epochs unless --cas-epochs), beside the judge's
    accuracy on the same real test split."""
    from fashiongan.metrics import judge
    from fashiongan.metrics.evaluator import Recipe

    if judged is None:
        recipe = judge.recipe_for(ds, epochs=args.cas_epochs)
    else:
        recipe = Recipe(**{**judged[1]["recipe"],
                           **({"epochs": args.cas_epochs} if args.cas_epochs else {})})
    res = judge.cas(ds, images, labels, recipe)
    real = res["real_data_accuracy"] = None if judged is None else judged[1].get("test_accuracy")
    res["like_for_like"] = judged is not None and len(images) == len(ds.train_index) \
        and recipe.epochs == judged[1]["recipe"]["epochs"]
    print(f"classification accuracy score: {100 * res['cas_accuracy']:.2f}% on the "
          f"{res['test_images']} real test images (" + (
              f"the judge, trained on {judged[1].get('train_images')} real images: "
              f"{100 * real:.2f}%" if real is not None else
              "no judge to compare with: `fashiongan evaluator train --data DATASET`")
          + ("" if res["like_for_like"] or real is None else
             f"; not like for like: {len(images)} generated images, {recipe.epochs} epochs")
          + ")")
    return res


def _cas(args, images, labels) -> dict:
    from fashiongan.generate.sampling import sample
    from fashiongan.metrics import cas, evaluator
    from fashiongan.snapshot import load_generator

    if not is_image_target(Path(args.target)):  # train on 60,000 fresh samples, as the data
        g = load_generator(args.target, args.device)
        images, labels = sample(g, args.cas_n or 60_000, seed=args.seed + 1_000_000,
                                batch_size=args.batch_size, return_labels=True)
    recipe = evaluator.Recipe(**({"epochs": args.cas_epochs} if args.cas_epochs else {}))
    res = cas.cas(images, labels, args.data_dir, recipe)
    shipped = evaluator.read_record().get("recipe", {})
    res["like_for_like"] = len(images) == 60_000 and recipe.epochs == shipped.get("epochs")
    print(f"classification accuracy score: {100 * res['cas_accuracy']:.2f}% on the real test "
          f"set (same classifier trained on real data: {100 * res['real_data_accuracy']:.2f}%"
          + ("" if res["like_for_like"] else f"; not like for like: that one saw 60,000 real "
             f"images for {shipped.get('epochs')} epochs, this one {len(images)} generated "
             f"for {recipe.epochs}") + ")")
    return res


def _evaluator_train(args) -> int:
    from fashiongan.metrics import evaluator

    if args.data:
        return _judge_train(args)
    recipe = evaluator.Recipe(epochs=args.epochs or evaluator.Recipe.epochs, seed=args.seed,
                              threads=args.threads)
    args.out = args.out or evaluator.WEIGHTS_NAME
    record = evaluator.train_and_save(args.out, recipe, args.data_dir)
    if Path(args.out).resolve() == evaluator.shipped_path().resolve() \
            and record["sha256"] != evaluator.WEIGHTS_SHA256:
        print(f"note: to ship these weights, set WEIGHTS_SHA256 = \"{record['sha256']}\" in "
              "fashiongan/metrics/evaluator.py (the pin guards every reported number)")
    return 0


def _judge_train(args) -> int:
    """`evaluator train --data DATASET`: a judge of that data set (metrics/judge.py)."""
    from fashiongan.data.resolve import dataset_for
    from fashiongan.metrics import judge

    ds = dataset_for(args.data, args.resolution, args.channels, progress=True, on_import=print)
    judge._labelled_split(ds, "train")  # an unlabelled set is refused before anything else
    out = Path(args.out) if args.out else judge.default_path(ds)
    try:
        writable(out)
    except UserError as e:
        if args.out:
            raise
        raise UserError(f"{e}; give --out PATH for the judge (and pass it to `evaluate "
                        "--evaluator PATH`)") from None
    recipe = judge.recipe_for(ds, epochs=args.epochs, seed=args.seed, threads=args.threads)
    judge.train_and_save(ds, out, recipe)
    return 0


def _evaluator_info(args) -> int:
    from fashiongan.metrics import evaluator

    path = evaluator.shipped_path()
    print(f"evaluator weights: {path}")
    print(f"pinned SHA-256:    {evaluator.WEIGHTS_SHA256}")
    print(json.dumps(evaluator.read_record(), indent=2, sort_keys=True))
    return 0


def register(sub) -> None:
    from fashiongan.metrics.evaluator import Recipe
    from fashiongan.metrics.judge import MIN_STEPS

    e = sub.add_parser(
        "evaluate", help="score a generator or a set of images (FID, KID, PR/DC, classes)",
        description="Score generated images in the feature space of the shipped Fashion-MNIST "
        "evaluator: FID, KID, precision/recall (k=3), density/coverage (k=5), class "
        "histogram; each beside the real-data floor (training images vs test).")
    e.add_argument("target", help="run folder, snapshot folder, generator .safetensors, or an "
                   ".npz with 'images' (uint8 Nx28x28; with --data NxHxW grey or NxHxWx3 "
                   "colour at the data set's resolution) and optionally 'labels', or a folder "
                   "made by `fashiongan export` (its train split; --cas trains on it)")
    e.add_argument("--data", metavar="DATASET|FOLDER",
                   help="score a generator of an imported data set against its test split, in "
                   "Inception features, beside the floor of as many training-split images; "
                   "with its judge (DATASET/judge.safetensors or --evaluator) also the "
                   "conditional accuracy")
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
                   "--cas (default: as many as the real training set: 60000, or the data "
                   "set's training split)")
    e.add_argument("--cas-epochs", type=int, default=0,
                   help=f"epochs for --cas (default: the evaluator's {Recipe.epochs}; with "
                   "--data the judge's)")
    e.add_argument("--inception", action="store_true", help="also Inception FID, KID and "
                   "PR/DC, with the network that fashiongan[metrics] installs (slow on a CPU)")
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
    e.add_argument("--threads", type=int, default=0, help="CPU threads for torch (default: "
                   "torch's choice); 1 was 3x faster than 2 on a busy two-core machine")
    e.add_argument("--device", default="cpu")
    e.add_argument("--data-dir", help="Fashion-MNIST folder (default: searched)")
    e.set_defaults(func=_evaluate)

    ev = sub.add_parser("evaluator", help="the classifier behind the metrics: train | info")
    evs = ev.add_subparsers(dest="evaluator_command", required=True)
    t = evs.add_parser("train", help="train the evaluator from its fixed recipe",
                       description="Train the evaluator on the training split and report its "
                       "test accuracy. Deterministic for a given thread count. With --data: "
                       "a judge of a labelled imported data set.")
    t.add_argument("--data", metavar="DATASET|FOLDER", help="train a judge of this labelled "
                   "data set (a FOLDER is imported as `train --data` imports it)")
    t.add_argument("--resolution", type=int, choices=(28, 32, 64, 128), default=64,
                   help="--data FOLDER: import at this size (default: %(default)s)")
    t.add_argument("--channels", type=int, choices=(1, 3), default=3,
                   help="--data FOLDER: 3 colour, 1 grey (default: %(default)s)")
    t.add_argument("--out", default=None,
                   help="weights file (a .json record is written beside it; default: "
                   "evaluator.safetensors; with --data DATASET/judge.safetensors)")
    t.add_argument("--epochs", type=int, default=0, help=f"default: {Recipe.epochs}; with "
                   f"--data as many as make {MIN_STEPS} steps, at least {Recipe.epochs}")
    t.add_argument("--seed", type=int, default=Recipe.seed)
    t.add_argument("--threads", type=int, default=Recipe.threads)
    t.add_argument("--data-dir", help="Fashion-MNIST folder (default: searched)")
    t.set_defaults(func=_evaluator_train)
    i = evs.add_parser("info", help="where the shipped evaluator is, its pin and its record")
    i.set_defaults(func=_evaluator_info)
