"""Grow a small labelled data set with generated garments: `fashiongan data grow`.

The case is a brand with a few labelled photos per category. From a labelled data set (or the
first N training images of each class) a class-conditional generator is trained, sized for that
little data by the default preset's small-data switch (ADA below presets.SMALL_DATA_IMAGES),
or an existing one is taken; then a new data set is written that holds

  the real training images (first N per class, in the source's order),
  K generated images per class (balanced, seeds seed, seed+1, ...; optionally only those the
    judge gives their class a probability >= min_confidence, export/plan.py),
  the source's whole test split, real, so a classifier trained on it is tested as before,

with origin.npy (uint8 per image: 0 real, 1 synthetic), named in the manifest under "origin",
and the memorisation audit of the synthetic images against the real training images they were
learnt from (metrics/audit.py's copy fraction) under "growth". It is an ordinary data set:
`train --data`, `evaluate --data`, `evaluator train --data` read it as they read any other.
Whether the generated images help a classifier: docs/data-growth.md.
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import numpy as np

from fashiongan import presets
from fashiongan.data.store import OWNED, TEST, TRAIN, Dataset, Writer
from fashiongan.errors import UserError
from fashiongan.export import plan
from fashiongan.imageio import to_nchw
from fashiongan.metrics import audit

ORIGIN_FILE = "origin.npy"
REAL, SYNTHETIC = 0, 1
ORIGIN_VALUES = {str(REAL): "real", str(SYNTHETIC): "synthetic"}


def check_out(out: Path, overwrite: bool) -> None:
    """out may be written (outputs.check_out with a data set's manifest as its marker)."""
    from fashiongan.outputs import check_out as check

    check(Path(out), overwrite, OWNED)


def first_per_class(ds: Dataset, per_class: int) -> np.ndarray:
    """Indices (into ds) of the first `per_class` training images of every class, in the data
    set's order; per_class 0: every training image. A one-line UserError for an unlabelled
    set, a negative N, or a class with fewer training images than N."""
    if ds.labels is None or not ds.info.num_classes:
        where = ds.path or ds.info.name or "the data set"
        raise UserError(f"{where}: unlabelled; growing needs a class per image (import with "
                        "class subfolders or --labels FILE.json)")
    if per_class < 0:
        raise UserError(f"--per-class must be >= 1 (0: every training image), got {per_class}")
    train = ds.train_index
    if per_class == 0:
        return train
    y = np.asarray(ds.labels)[train]
    short = [f"{name} {int((y == c).sum())}" for c, name in enumerate(ds.info.class_names)
             if (y == c).sum() < per_class]
    if short:
        raise UserError(f"--per-class {per_class}: too few training images in "
                        f"{', '.join(short)}")
    return np.sort(np.concatenate([train[y == c][:per_class]
                                   for c in range(ds.info.num_classes)]))


def subset(ds: Dataset, per_class: int) -> Dataset:
    """ds with its training split cut to first_per_class(ds, per_class) and its test split
    whole, as an in-memory Dataset (what the generator learns from and the audit searches)."""
    keep = np.concatenate([first_per_class(ds, per_class), ds.test_index])
    split = np.asarray(ds.split)[keep]
    return Dataset(np.array(ds.pixels[keep]), np.asarray(ds.labels)[keep].astype(np.int64),
                   ds.info, split)


def synthetic_per_class(small: Dataset, synthetic: int | None, ratio: float | None) -> int:
    """K generated images per class: `synthetic` as given, or `ratio` x the real training
    images per class (rounded), or as many as the real ones (ratio 1) when neither is given."""
    if synthetic is not None and ratio is not None:
        raise UserError("--synthetic and --ratio: give one (K per class, or K = ratio x real)")
    if synthetic is not None:
        if synthetic < 0:
            raise UserError(f"--synthetic must be >= 0, got {synthetic}")
        return synthetic
    ratio = 1.0 if ratio is None else ratio
    if not math.isfinite(ratio) or ratio < 0:
        raise UserError(f"--ratio must be a number >= 0, got {ratio}")
    return round(ratio * len(small.train_index) / small.info.num_classes)


def generator_config(small: Dataset, preset: str | None = None, overrides=()):
    """(config, the augment mode the small-data switch chose or None) for a generator of
    `small`'s training split, as `fashiongan train --data` would resolve it."""
    n = len(small.train_index)
    cfg = presets.resolve(preset, list(overrides), small.info, n)
    return cfg, presets.small_data_augment(preset, list(overrides), n)


def train_generator(small: Dataset, run_dir, *, preset: str | None = None, overrides=(),
                    time_budget_s: float = 0.0, progress: bool = False,
                    resume=None) -> dict:
    """Train the generator on `small`'s training split into run_dir (the ordinary run folder:
    checkpoints, snapshot/, grids); returns the training loop's summary plus "augment"."""
    from fashiongan.training.loop import training_loop

    cfg, auto = generator_config(small, preset, overrides)
    summary = training_loop(cfg, run_dir, dataset=small, time_budget_s=time_budget_s,
                            progress=progress, resume=resume)
    return {**summary, "augment": cfg.augment.mode, "small_data_switch": auto,
            "train_images": len(small.train_index)}


def draw(g, per_class: int, seed: int = 0, judge=None, min_confidence: float = 0.0,
         chunk: int = 1000) -> tuple[np.ndarray, np.ndarray, int]:
    """(uint8 N x C x H x W, labels, seeds tried): per_class images of every class from a
    class-conditional G, kept only when the judge gives their class >= min_confidence."""
    k = int(getattr(g, "num_classes", 0))
    if not k:
        raise UserError("the generator is unconditional: growing a labelled data set needs a "
                        "class-conditional one (the default preset on labelled data)")
    shape = tuple(g.dataset.shape)
    if per_class == 0:
        return np.zeros((0, *shape), np.uint8), np.zeros(0, np.int64), 0
    req = plan.Request(per_class * k, seed=seed, min_confidence=min_confidence, chunk=chunk)
    images, labels, tried = [], [], 0
    for c, tally in plan.stream(g, req, judge if min_confidence else None):
        images.append(to_nchw(c.images))
        labels.append(c.labels)
        tried = tally.tried
    return np.concatenate(images), np.concatenate(labels).astype(np.int64), tried


def copy_audit(small: Dataset, images, labels, net=None, net_sha256=None) -> dict:
    """metrics.audit's figures for the synthetic images against the real training images the
    generator learnt from, calibrated on the real test split (real unseen images: 5 %)."""
    if not len(images):
        return {"skipped": "no synthetic images"}
    if not len(small.test_index):
        return {"skipped": "no test split to calibrate the copy threshold on"}
    index, calibration = audit.reference(small, net, net_sha256)
    nearest, dist = index.nearest(images)
    out = audit.summary(nearest, dist, calibration, labels, small.info.class_names)
    return {"of": "the synthetic images, against the real training images kept",
            "space": index.space, **out}


def write(out, small: Dataset, images: np.ndarray, labels: np.ndarray, growth: dict,
          overwrite: bool = False, command: list[str] | None = None) -> dict:
    """DATASET/: the real training images, the synthetic ones, the real test split; returns
    the manifest (store.Writer: staged, then renamed into place)."""
    info = small.info
    real_x, real_y = small.train()
    test_x, test_y = small.test()
    n = len(real_x) + len(images) + len(test_x)
    with Writer(out, n, info.shape, overwrite=overwrite) as w:
        for part in (real_x, images, test_x):
            for img in part:
                w.add(img)
        y = np.concatenate([real_y, labels, test_y]).astype(np.int64)
        split = np.repeat(np.array([TRAIN, TRAIN, TEST], np.uint8),
                          [len(real_x), len(images), len(test_x)])
        origin = np.repeat(np.array([REAL, SYNTHETIC, REAL], np.uint8),
                           [len(real_x), len(images), len(test_x)])
        names = list(info.class_names)
        counts = np.bincount(y, minlength=len(names)).tolist()
        manifest = {
            "name": f"{info.name or 'data'}-grown", "resolution": info.resolution,
            "channels": info.channels, "class_names": names,
            "counts_per_class": dict(zip(names, counts, strict=True)),
            "skipped_per_class": dict.fromkeys(names, 0),
            "pixels": {"file": "pixels.npy", "dtype": "uint8", "layout": "N x C x H x W",
                       "shape": [n, *info.shape]},
            "labels": "labels.npy",
            "split": {"file": "split.npy", "values": {str(TRAIN): "train", str(TEST): "test"},
                      "train": int((split == TRAIN).sum()), "test": int((split == TEST).sum()),
                      "seed": None, "test_fraction": None, "stratified": False},
            "origin": {"file": ORIGIN_FILE, "dtype": "uint8", "values": ORIGIN_VALUES,
                       "real": int((origin == REAL).sum()),
                       "synthetic": int((origin == SYNTHETIC).sum())},
            "source": {"path": growth.get("source", ""), "kind": "grown"},
            "labels_from": "the source's labels (real); the generator's class (synthetic)",
            "background": None,
            "order": "real training images, synthetic (seeds ascending), real test images",
            "skipped": [], "skipped_counts": {}, "command": command or sys.argv,
            "growth": growth,
        }
        return w.commit(manifest, y, split, extra={ORIGIN_FILE: origin})


def read_origin(path) -> np.ndarray:
    """origin.npy of a grown data set (0 real, 1 synthetic per image); a one-line UserError for
    a data set that has none."""
    from fashiongan.data.store import read_manifest

    m = read_manifest(path)
    if "origin" not in m or ORIGIN_FILE not in m["files"]:
        raise UserError(f"{path}: not a grown data set (no {ORIGIN_FILE} in its manifest)")
    return np.load(Path(path) / ORIGIN_FILE, allow_pickle=False)


def grow(ds: Dataset, out, *, per_class: int = 0, synthetic: int | None = None,
         ratio: float | None = None, generator=None, run_dir=None, preset: str | None = None,
         overrides=(), time_budget_s: float = 0.0, judge=None, judge_sha256=None,
         min_confidence: float = 0.0, audit_copies: bool = True, seed: int = 0,
         overwrite: bool = False, progress: bool = False, command=None, log=None) -> dict:
    """The whole workflow (module doc); returns the manifest written. `generator`: a run
    folder, snapshot or .safetensors to use (then nothing is trained), else one is trained
    into run_dir. `judge`: the network
    that filters (min_confidence) and whose features the audit searches with (None: spectrum
    only). log(line) hears each stage (the CLI prints it; the library prints nothing)."""
    from fashiongan.fileio import file_digest
    from fashiongan.metrics.reference import check_match
    from fashiongan.snapshot import load_generator, snapshot_path

    log = log or (lambda line: None)
    check_out(Path(out), overwrite)  # before the training, not after it
    small = subset(ds, per_class)
    k = synthetic_per_class(small, synthetic, ratio)
    if min_confidence and judge is None:
        raise UserError("--filter min_confidence needs a judge: give --evaluator JUDGE (the "
                        "shipped evaluator is the default for Fashion-MNIST only)")
    growth = {"source": str(ds.path or ds.info.name), "per_class": per_class or None,
              "real_train_images": len(small.train_index), "synthetic_per_class": k,
              "min_confidence": min_confidence or None, "seed": seed}
    if generator is None:
        if run_dir is None:
            raise UserError("no --generator: a run folder is needed to train one into")
        cfg, auto = generator_config(small, preset, overrides)
        log(f"training a generator on {len(small.train_index):,} real images "
            f"({cfg.model.arch}, augment {auto or 'as the preset says'}"
            f"{f', {time_budget_s:.0f} s budget' if time_budget_s else ''}) into {run_dir}")
        t0 = time.perf_counter()
        summary = train_generator(small, run_dir, preset=preset, overrides=overrides,
                                  time_budget_s=time_budget_s, progress=progress)
        growth["generator_training"] = {
            "run_dir": str(run_dir), "status": summary["status"], "step": summary["step"],
            "wall_s": round(time.perf_counter() - t0, 1), "small_data_switch": auto,
            "preset": preset or presets.DEFAULT_PRESET, "overrides": list(overrides)}
        generator = run_dir
    else:
        growth["generator_training"] = None
    file = snapshot_path(generator)
    g = load_generator(file)
    check_match(g.dataset, ds, "the generator")
    growth["generator"] = {"path": str(Path(file).resolve()), "sha256": file_digest(file),
                           "model": g.model_name, "snapshot": g.snapshot_info}
    log(f"drawing {k:,} synthetic images per class"
        + (f" (judge confidence >= {min_confidence})" if min_confidence else ""))
    images, labels, tried = draw(g, k, seed, judge, min_confidence)
    growth["seeds_tried"] = tried
    growth["judge_sha256"] = judge_sha256
    growth["audit"] = (copy_audit(small, images, labels, judge, judge_sha256) if audit_copies
                       else {"skipped": "--no-audit"})
    return write(out, small, images, labels, growth, overwrite, command)
