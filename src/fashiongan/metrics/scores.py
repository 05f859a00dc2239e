"""One set of images -> every metric of the protocol, beside the real-data floor."""

from __future__ import annotations

import time

import torch

from fashiongan import data
from fashiongan.data import CLASS_NAMES
from fashiongan.metrics import evaluator
from fashiongan.metrics.classes import class_report, collapse_warning
from fashiongan.metrics.features import extract
from fashiongan.metrics.fid import Moments, frechet_distance
from fashiongan.metrics.kid import kid
from fashiongan.metrics.prdc import prdc
from fashiongan.metrics.reference import (
    K_DC,
    K_PR,
    Reference,
    cache_key,
    cached_json,
    floor_indices,
    load_reference,
)

KID_SUBSETS, KID_SUBSET_SIZE = 100, 1000
METRICS = ("fid", "kid", "precision", "recall", "density", "coverage")


def score(feats: torch.Tensor, classes: torch.Tensor, ref: Reference,
          labels: torch.Tensor | None = None) -> dict:
    """Every metric of features `feats` (and predicted classes) against the test set."""
    feats = feats.to(ref.features.device)
    fid = frechet_distance(*Moments.of(feats).mean_cov(), ref.mu, ref.sigma)
    kid_mean, kid_std, size = kid(ref.features, feats, KID_SUBSETS, KID_SUBSET_SIZE)
    out = {"n": len(feats), "fid": fid, "kid": kid_mean, "kid_std": kid_std,
           "kid_subset_size": size, **prdc(ref.features, feats, K_PR, K_DC, ref.radii)}
    out["classes"] = class_report(classes, labels)
    return out


def real_floor(n: int, net, digest: str, ref: Reference, data_dir=None) -> dict:
    """The same metrics for n training images (a perfect generator's score at this N)."""
    images, labels = data.load("train", data_dir)
    n = min(n, len(images))

    def compute():
        idx = floor_indices(n)
        feats, classes = extract(images[idx], net)
        return score(feats, classes, ref, labels[idx])

    return cached_json("floor", cache_key(kind="floor", reference=ref.key, n=n,
                                            kid=[KID_SUBSETS, KID_SUBSET_SIZE]), compute)


def evaluate_images(images, labels=None, data_dir=None, device="cpu", floor: bool = True,
                    weights=None) -> dict:
    """Score uint8 images [N,28,28] (with class labels for conditional samples); `weights`
    names another evaluator file than the shipped one (its numbers are not comparable)."""
    t0 = time.perf_counter()
    net, digest = evaluator.load(weights, device=device)
    ref = load_reference(net, digest, data_dir).to(device)
    t_ref = time.perf_counter()
    feats, classes = extract(images, net)
    y = None if labels is None else torch.as_tensor(labels, dtype=torch.long)
    result = {"evaluator_sha256": digest, "reference_key": ref.key,
              "samples": score(feats, classes, ref, y)}
    t_score = time.perf_counter()
    if floor:
        result["real_floor"] = real_floor(len(images), net, digest, ref, data_dir)
    warning = collapse_warning(result["samples"]["classes"])
    result["warnings"] = [warning] if warning else []
    result["timing_s"] = {"reference": t_ref - t0, "score": t_score - t_ref,
                          "floor": time.perf_counter() - t_score}
    return result


def metric_rows(s: dict, f: dict | None, features: str, header: str = ""):
    """Table rows (name, samples, floor) of FID, KID and PR/DC, and the `add` that appends
    more: the samples' scores `s` beside the floor's `f` (None: '-')."""
    rows = [(header or f"metric (N={s['n']})", "samples", "real floor")]

    def add(name, text):
        rows.append((name, text(s), text(f) if f else "-"))

    add(f"FID ({features})", lambda r: f"{r['fid']:.3f}")
    add("KID x 1000", lambda r: f"{1e3 * r['kid']:.3f} ±{1e3 * r['kid_std']:.3f}")
    for key, k in (("precision", K_PR), ("recall", K_PR), ("density", K_DC), ("coverage", K_DC)):
        add(f"{key} (k={k})", lambda r, key=key: f"{r[key]:.3f}")
    return rows, add


def format_table(result: dict) -> str:
    s, f = result["samples"], result.get("real_floor")
    rows, add = metric_rows(s, f, "evaluator features")
    max_bits = s["classes"]["max_entropy_bits"]
    add(f"class entropy (max {max_bits:.2f} bits)",
        lambda r: f"{r['classes']['entropy_bits']:.3f}")
    if "accuracy" in s["classes"]:
        add("evaluator accuracy", lambda r: f"{100 * r['classes']['accuracy']:.2f}%")
    return "\n".join(table_lines(rows, s["classes"]["histogram"], CLASS_NAMES,
                                 result.get("warnings", [])))


def table_lines(rows, histogram, names, warnings) -> list[str]:
    """The rows in columns, then the class histogram (shares in %) and any warnings."""
    lines = [f"{a:30s}{b:>16s}{c:>16s}" for a, b, c in rows]
    if histogram is not None:
        n = max(sum(histogram), 1)
        hist = ", ".join(f"{name} {100 * c / n:.1f}%"
                         for name, c in zip(names, histogram, strict=True))
        lines.append(f"class histogram: {hist}")
    return lines + [f"WARNING: {w}" for w in warnings]
