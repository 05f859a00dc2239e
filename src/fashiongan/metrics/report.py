"""One report for any data set and any feature network: FID, KID, precision/recall (k=3),
density/coverage (k=5) and, for a classifier, the class histogram and accuracy, each beside
the real floor of as many training-split images scored against the same test split.

A perfect generator scores like the floor at the same N; FID in particular falls with N, so a
figure means something only beside the floor of its own N.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from fashiongan.metrics import kid as kid_mod
from fashiongan.metrics.cache import cache_key, cached_json
from fashiongan.metrics.classes import class_report, collapse_warning
from fashiongan.metrics.features import FeatureNet
from fashiongan.metrics.fid import Moments, frechet_distance
from fashiongan.metrics.prdc import prdc
from fashiongan.metrics.reference import (
    FLOOR_SEED,
    K_DC,
    K_PR,
    Reference,
    floor_index,
    identity,
    reference,
)

METRICS = ("fid", "kid", "precision", "recall", "density", "coverage")


def score(feats: torch.Tensor, ref: Reference, classes: torch.Tensor | None = None,
          labels: torch.Tensor | None = None, num_classes: int = 0,
          with_kid: bool = True, with_prdc: bool = True) -> dict:
    """Every metric of features `feats` (and the classes a classifier predicted) against a
    reference; `labels`: the classes asked for, for conditional accuracy."""
    feats = feats.to(ref.features.device)
    mu, sigma = Moments.of(feats).mean_cov()
    out = {"n": len(feats), "fid": frechet_distance(mu, sigma, ref.mu, ref.sigma)}
    if with_kid:
        out["kid"], out["kid_std"], out["kid_subset_size"] = kid_mod.kid(
            ref.features, feats, kid_mod.SUBSETS, kid_mod.SUBSET_SIZE)
    if with_prdc and len(feats) > K_DC:
        out.update(prdc(ref.features, feats, K_PR, K_DC, real_radii=ref.radii))
    if classes is not None:
        out["classes"] = class_report(classes, labels, num_classes)
    return out


def real_floor(net: FeatureNet, ds, ref: Reference, n: int, progress: bool = True) -> dict:
    """The same metrics for min(n, training split) training images (cached)."""
    idx = floor_index(ds, n)

    def compute():
        feats, classes = net(np.asarray(ds.pixels[idx]), progress=progress,
                             desc=f"{net.name} features, {len(idx)} training images (floor, "
                             "once)")
        labels = None if ds.labels is None or classes is None else \
            torch.as_tensor(np.asarray(ds.labels[idx]), dtype=torch.long)
        return {**score(feats, ref, classes, labels, ds.info.num_classes),
                "split": "train"}

    key = cache_key(kind="floor", reference=ref.key, n=len(idx), seed=FLOOR_SEED,
                    kid=[kid_mod.SUBSETS, kid_mod.SUBSET_SIZE])
    return cached_json("floor", key, compute)


def evaluate(net: FeatureNet, ds, images, labels=None, floor: bool = True,
             progress: bool = True) -> dict:
    """Score uint8 images (sample layout or N x C x H x W; with the classes asked for when
    they were drawn conditionally) against ds's test split, with the floor of as many
    training images."""
    t0 = time.perf_counter()
    ref = reference(net, ds, progress)
    t_ref = time.perf_counter()
    feats, classes = net(images, progress=progress, desc=f"{net.name} features, "
                         f"{len(images)} samples")
    y = None if labels is None else torch.as_tensor(np.asarray(labels), dtype=torch.long)
    result = {"network": net.name, "network_key": net.key, "reference_key": ref.key,
              "test_images": len(ref.features),
              "samples": score(feats, ref, classes, y, ds.info.num_classes)}
    t_score = time.perf_counter()
    if floor:
        result["real_floor"] = real_floor(net, ds, ref, len(images), progress)
    warning = None if classes is None else collapse_warning(result["samples"]["classes"],
                                                            ds.info.class_names)
    result["warnings"] = [warning] if warning else []
    result["timing_s"] = {"reference": t_ref - t0, "score": t_score - t_ref,
                          "floor": time.perf_counter() - t_score}
    return result


def describe(ds) -> dict:
    """The data set a report scored against, as the report records it."""
    return {"path": None if ds.path is None else str(ds.path), **identity(ds),
            "train_images": len(ds.train_index), "test_images": len(ds.test_index)}


def format_table(result: dict, names) -> str:
    """The scores beside the floor, the class histogram and any warnings; a judge's
    conditional accuracy (result["judge"]) beside its accuracy on the real test split."""
    s, f = result["samples"], result.get("real_floor")
    header = f"metric (N={s['n']}" + (f", floor {f['n']}" if f else "") + \
        f" vs {result['test_images']})"
    rows = [(header, "samples", "real floor")]

    def add(name, text, floor_text=None):
        rows.append((name, text(s), (floor_text or text)(f) if f else "-"))

    add(f"FID ({result['network']} features)", lambda r: f"{r['fid']:.3f}")
    if "kid" in s:
        add("KID x 1000", lambda r: f"{1e3 * r['kid']:.3f} ±{1e3 * r['kid_std']:.3f}")
    for key, k in (("precision", K_PR), ("recall", K_PR), ("density", K_DC), ("coverage", K_DC)):
        if key in s:
            add(f"{key} (k={k})", lambda r, key=key: f"{r[key]:.3f}")
    classes = s.get("classes") or (result.get("judge") or {}).get("classes")
    if classes:
        rows.append((f"class entropy (max {classes['max_entropy_bits']:.2f} bits)",
                     f"{classes['entropy_bits']:.3f}",
                     f"{f['classes']['entropy_bits']:.3f}" if f and "classes" in f else "-"))
    if "classes" in s and "accuracy" in s["classes"]:
        add(f"{result['network']} accuracy", lambda r: f"{100 * r['classes']['accuracy']:.2f}%")
    j = result.get("judge")
    if j and "conditional_accuracy" in j:
        real = j.get("judge_test_accuracy")
        rows.append(("judge accuracy (floor: test)", f"{100 * j['conditional_accuracy']:.2f}%",
                     "-" if real is None else f"{100 * real:.2f}%"))
    lines = [f"{a:30s}{b:>16s}{c:>16s}" for a, b, c in rows]
    if classes:
        n = max(sum(classes["histogram"]), 1)
        lines.append("class histogram: " + ", ".join(
            f"{name} {100 * c / n:.1f}%"
            for name, c in zip(names, classes["histogram"], strict=True)))
    return "\n".join(lines + [f"WARNING: {w}" for w in result.get("warnings", [])])
