"""What the evaluator thinks the samples are: class histogram, its entropy, mode collapse."""

from __future__ import annotations

import math

import torch

COLLAPSE_FRACTION = 1 / 3  # a class under a third of its fair share counts as dropped


def class_report(pred: torch.Tensor, labels: torch.Tensor | None, num_classes: int) -> dict:
    """Histogram of predicted classes, entropy in bits (log2(10) = 3.32 when uniform), the
    classes under COLLAPSE_FRACTION of 1/num_classes, and for labelled samples the evaluator's
    accuracy against the labels."""
    counts = torch.bincount(pred.cpu(), minlength=num_classes)[:num_classes]
    n = int(counts.sum())
    share = counts.double() / max(n, 1)
    entropy = float(-(share[share > 0] * share[share > 0].log2()).sum()) + 0.0  # not -0.0
    low = [i for i in range(num_classes) if share[i] < COLLAPSE_FRACTION / num_classes]
    out = {"histogram": counts.tolist(), "entropy_bits": entropy,
           "max_entropy_bits": math.log2(num_classes), "collapsed_classes": low}
    if labels is not None:
        out["accuracy"] = float((pred.cpu() == labels.cpu()).double().mean())
    return out


def collapse_warning(report: dict, names) -> str | None:
    """A plain sentence naming the classes the samples (almost) never show, or None."""
    low = report["collapsed_classes"]
    if not low:
        return None
    n = max(sum(report["histogram"]), 1)
    k = len(report["histogram"])
    named = ", ".join(f"{names[i]} {100 * report['histogram'][i] / n:.1f}%" for i in low)
    return (f"mode collapse: {len(low)} of {k} classes get under a third of their "
            f"{100 / k:.0f}% share ({named})")
