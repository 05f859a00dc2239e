"""Judges for imported data sets: the evaluator's network and recipe (evaluator.py) trained on
a labelled data set's training split, `fashiongan evaluator train --data DATASET`.

A judge answers two questions about a class-conditional generator of that data set, beside
its own accuracy on the real test split: conditional accuracy (do the samples generated for
class k look like class k to it?) and, with `evaluate --cas`, the classification accuracy
score (the same recipe trained on generated images only, tested on the real test split).

The weights (safetensors) name their data set in their metadata, as does the JSON record
beside them: the SHA-256 of its pixels and split (from its manifest) and its class names.
`evaluate` refuses a judge of another data set. Default place: DATASET/judge.safetensors,
found there by `evaluate --data DATASET`; a read-only data set needs `--out` (and then
`evaluate --evaluator PATH`).
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import torch

from fashiongan.errors import UserError
from fashiongan.imageio import to_nchw
from fashiongan.metrics import evaluator
from fashiongan.metrics.cas import labelled_split
from fashiongan.metrics.classes import class_report
from fashiongan.metrics.features import extract
from fashiongan.metrics.reference import identity

JUDGE_NAME = "judge.safetensors"
MIN_STEPS = 400  # a small data set gets more epochs than the recipe's 12 (12 x 540 images
# would be 48 steps); 400 steps of 128 took about 2 minutes at 32 px on one busy core
MIN_TRAIN = 20


def default_path(ds) -> Path:
    return Path(ds.path) / JUDGE_NAME


def recipe_for(ds, **changes) -> evaluator.Recipe:
    """The evaluator's recipe, with batches no larger than the training split and at least
    MIN_STEPS steps (unless `epochs` is given)."""
    n = len(ds.train_index)
    batch = min(evaluator.Recipe.batch_size, n)
    epochs = max(evaluator.Recipe.epochs, math.ceil(MIN_STEPS / max(n // batch, 1)))
    return evaluator.Recipe(**{"batch_size": batch, "epochs": epochs,
                               **{k: v for k, v in changes.items() if v}})




def per_class_accuracy(pred: torch.Tensor, labels: torch.Tensor, k: int) -> list[float | None]:
    pred, labels = pred.cpu(), labels.cpu()
    return [float((pred[labels == c] == c).double().mean()) if bool((labels == c).any())
            else None for c in range(k)]


def accuracy_report(net, images, labels, k: int) -> dict:
    """The judge's predictions of uint8 images (any layout) against their labels."""
    _, pred = extract(to_nchw(images, "judge input"), net)
    y = torch.as_tensor(np.asarray(labels), dtype=torch.long)
    return {"accuracy": float((pred.cpu() == y).double().mean()), "n": len(y),
            "per_class": per_class_accuracy(pred, y, k)}


def train_and_save(ds, out: str | Path, recipe: evaluator.Recipe, log=print,
                   max_steps: int = 0) -> dict:
    """`fashiongan evaluator train --data DATASET`: train on the training split, report the
    test split's accuracy, write weights and record (both name the data set)."""
    x, y = labelled_split(ds, "train")
    xt, yt = labelled_split(ds, "test")
    if len(x) < MIN_TRAIN or not len(xt):
        raise UserError(f"{ds.path}: {len(x)} training and {len(xt)} test images; a judge "
                        f"needs at least {MIN_TRAIN} and 1")
    k = ds.info.num_classes
    t0 = time.perf_counter()
    net = evaluator.train(x, y, recipe, log=log, max_steps=max_steps, num_classes=k,
                          on_epoch=lambda n: "" if recipe.epochs > 20 else
                          f", test accuracy {100 * evaluator.accuracy(n, xt, yt):.2f}%")
    wall = time.perf_counter() - t0
    test = accuracy_report(net, xt, yt, k)
    ident = identity(ds)
    record = {**evaluator.recipe_record(recipe, test["accuracy"], wall),
              "command": "fashiongan evaluator train --data", "dataset": ident,
              "dataset_path": str(ds.path), "train_images": len(x), "test_images": len(xt),
              "test_per_class": test["per_class"], "max_steps": max_steps or None}
    record["sha256"] = evaluator.save(net, out, record, {"dataset": json.dumps(ident)})
    log(f"test accuracy {100 * test['accuracy']:.2f}% ({len(xt)} test images) after "
        f"{wall:.0f} s; wrote {out} (sha256 {record['sha256']})")
    return record


def load(path: str | Path, ds, device="cpu") -> tuple[evaluator.EvaluatorNet, dict]:
    """(judge network, its record) for data set ds; a judge of any other data set (other
    pixels, split or class names) is a one-line UserError."""
    net, digest = evaluator.load(path, device)
    try:
        own = json.loads(evaluator.read_metadata(path).get("dataset", "null"))
    except ValueError:
        own = None
    if not isinstance(own, dict):
        raise UserError(f"{path}: not a judge of an imported data set (no data set in its "
                        "metadata); train one with `fashiongan evaluator train --data DATASET`")
    want = identity(ds)
    keys = ("pixels_sha256", "split_sha256", "class_names")
    if any(own.get(key) != want[key] for key in keys):
        raise UserError(f"{path}: a judge of another data set ({own.get('name') or '?'}, pixels "
                        f"{str(own.get('pixels_sha256'))[:12]}...), not of --data {ds.path} "
                        f"(pixels {want['pixels_sha256'][:12]}...)")
    record = evaluator.read_record(path)
    record["sha256"] = digest
    return net, record


def conditional(net, record: dict, ds, images, labels) -> dict:
    """What the judge sees in the samples: class histogram and entropy, and for labelled
    (class-conditional) samples the conditional accuracy, overall and per class."""
    k = ds.info.num_classes
    _, pred = extract(to_nchw(images, "judge input"), net)
    y = None if labels is None else torch.as_tensor(np.asarray(labels), dtype=torch.long)
    out = {"judge_sha256": record.get("sha256"),
           "judge_test_accuracy": record.get("test_accuracy"),
           "classes": class_report(pred, y, k)}
    if y is not None:
        out["conditional_accuracy"] = out["classes"]["accuracy"]
        out["per_class"] = per_class_accuracy(pred, y, k)
    return out




def for_images(info, path: str | Path | None = None):
    """(network, SHA-256) that judges images of data set `info` (a DatasetInfo), or (None,
    None) when none is given or known: for Fashion-MNIST the shipped evaluator (or PATH); for
    another data set the judge at PATH, whose metadata must name its classes and shape."""
    from fashiongan.data import FASHION_MNIST

    fmnist = (info.shape, info.class_names) == (FASHION_MNIST.shape, FASHION_MNIST.class_names)
    if path is None:
        return evaluator.load() if fmnist else (None, None)
    net, digest = evaluator.load(path)
    if fmnist and "dataset" not in evaluator.read_metadata(path):
        return net, digest  # another Fashion-MNIST evaluator (`evaluator train --out`)
    try:
        own = json.loads(evaluator.read_metadata(path).get("dataset", "null")) or {}
    except ValueError:
        own = {}
    if (own.get("class_names"), net.channels, net.resolution) != (
            list(info.class_names), info.channels, info.resolution):
        raise UserError(f"{path}: a judge of {own.get('name') or 'another data set'} "
                        f"({net.channels}x{net.resolution}x{net.resolution}, classes "
                        f"{own.get('class_names')}), not of {info.name or 'these images'} "
                        f"({info.channels}x{info.resolution}x{info.resolution}, classes "
                        f"{list(info.class_names)})")
    return net, digest
