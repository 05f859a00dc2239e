"""`fashiongan evaluator train|info`: the classifier behind the metrics, and a judge of an
imported data set (`train --data`)."""

from __future__ import annotations

import json
from pathlib import Path

from fashiongan.cli.common import input_files
from fashiongan.errors import UserError
from fashiongan.outputs import check_outputs


def _train(args) -> int:
    from fashiongan.metrics import evaluator

    if args.data:
        if args.train_images is not None:
            raise UserError("--train-images is for the Fashion-MNIST evaluator; a judge of "
                            "--data learns from the whole data set's training split")
        return _judge_train(args)
    recipe = evaluator.Recipe(epochs=args.epochs or evaluator.Recipe.epochs, seed=args.seed,
                              threads=args.threads)
    out = Path(args.out or evaluator.WEIGHTS_NAME)
    outputs, derived = _outputs(out, args.out)
    check_outputs(outputs, derived=derived)
    args.out = str(out)
    record = evaluator.train_and_save(args.out, recipe, args.data_dir,
                                      train_images=args.train_images)
    if Path(args.out).resolve() == evaluator.shipped_path().resolve() \
            and record["sha256"] != evaluator.WEIGHTS_SHA256 and args.train_images is None:
        print(f"note: to ship these weights, set WEIGHTS_SHA256 = \"{record['sha256']}\" in "
              "fashiongan/metrics/evaluator.py (the pin guards every reported number)")
    return 0


def _outputs(out: Path, given: str | None):
    """(outputs, derived) for check_outputs: the weights and the .json record beside them."""
    record = "the record beside --out (give another --out)"
    return ({"--out": out, record: out.with_suffix(".json")},
            (record,) if given else (record, "--out"))


def _judge_train(args) -> int:
    """A judge of a labelled data set (metrics/judge.py)."""
    from fashiongan.data.resolve import dataset_for
    from fashiongan.metrics import judge
    from fashiongan.metrics.cas import labelled_split

    ds = dataset_for(args.data, args.resolution, args.channels, progress=True, on_import=print)
    labelled_split(ds, "train")  # an unlabelled set is refused before anything else
    out = Path(args.out) if args.out else judge.default_path(ds)
    try:
        outputs, derived = _outputs(out, args.out)
        check_outputs(outputs, input_files(ds.path), derived)
    except UserError as e:
        if args.out:
            raise
        raise UserError(f"{e}; give --out PATH for the judge (and pass it to `evaluate "
                        "--evaluator PATH`)") from None
    recipe = judge.recipe_for(ds, epochs=args.epochs, seed=args.seed, threads=args.threads)
    judge.train_and_save(ds, out, recipe)
    return 0


def _info(args) -> int:
    from fashiongan.metrics import evaluator

    path = evaluator.shipped_path()
    print(f"evaluator weights: {path}")
    print(f"pinned SHA-256:    {evaluator.WEIGHTS_SHA256}")
    print(json.dumps(evaluator.read_record(), indent=2, sort_keys=True))
    return 0


def register(sub) -> None:
    from fashiongan.metrics.evaluator import Recipe
    from fashiongan.metrics.judge import MIN_STEPS

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
    t.add_argument("--train-images", type=int, metavar="N", default=None,
                   help="train on the first N training images only: a quick trial of the "
                   "recipe (the shipped judge learns from all 60,000)")
    t.add_argument("--seed", type=int, default=Recipe.seed)
    t.add_argument("--threads", type=int, default=Recipe.threads)
    t.add_argument("--data-dir", help="Fashion-MNIST folder (default: searched)")
    t.set_defaults(func=_train)
    i = evs.add_parser("info", help="where the shipped evaluator is, its pin and its record")
    i.set_defaults(func=_info)
