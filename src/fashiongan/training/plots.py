"""Pictures of a run: loss and accuracy curves from metrics.jsonl (matplotlib, Agg backend)."""

from __future__ import annotations

import json
from pathlib import Path

from fashiongan.fileio import atomic_write


def _pyplot():
    """matplotlib on first draw, not at import: it costs ~0.8 s of a run's start-up, and the first
    picture is drawn only after sample_interval iterations."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def read_jsonl(path: str | Path) -> list[dict]:
    path = Path(path)
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a line cut short by a crash
    return rows


def loss_plot(records: list[dict], out: str | Path, title: str = "") -> Path | None:
    rows = [r for r in records if "d_loss" in r]
    if not rows:
        return None
    steps = [r["step"] for r in rows]
    plt = _pyplot()
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    ax1.plot(steps, [r["d_loss"] for r in rows], label="D loss", lw=1)
    ax1.plot(steps, [r["g_loss"] for r in rows], label="G loss", lw=1)
    ax1.set_ylabel("loss")
    ax1.legend()
    ax1.grid(alpha=0.3)
    ax1.set_title(title or "training losses")
    ax2.plot(steps, [r["acc_real"] for r in rows], label="D acc. on real", lw=1)
    ax2.plot(steps, [r["acc_fake"] for r in rows], label="D acc. on fake", lw=1)
    ax2.set_ylim(-0.02, 1.02)
    ax2.set_xlabel("iteration")
    ax2.set_ylabel("accuracy")
    ax2.legend()
    ax2.grid(alpha=0.3)
    fig.tight_layout()
    atomic_write(out, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    plt.close(fig)
    return Path(out)


def fid_plot(records: list[dict], out: str | Path, title: str = "") -> Path | None:
    """FID against iteration from the {"step", "fid"} lines of metrics.jsonl; best marked."""
    rows = [r for r in records if "fid" in r]
    if not rows:
        return None
    steps, fids = [r["step"] for r in rows], [r["fid"] for r in rows]
    best = min(range(len(fids)), key=fids.__getitem__)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 3.5))
    ax.plot(steps, fids, marker="o", ms=3, lw=1, label="FID")
    ax.plot([steps[best]], [fids[best]], "r*", ms=12,
            label=f"best {fids[best]:.2f} at {steps[best]}")
    log = max(fids) > 5 * min(fids) > 0  # early FIDs dwarf the later ones
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.set_ylabel("FID (log scale)" if log else "FID")
    ax.set_title(title or "FID")
    ax.legend()
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    atomic_write(out, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    plt.close(fig)
    return Path(out)


def aug_p_plot(series: dict[str, list[dict]], out: str | Path, title: str = "") -> Path | None:
    """ADA's p against iteration, one line per run (label -> its metrics.jsonl records)."""
    return _curves(series, "aug_p", "ADA p", out, title or "ADA augmentation probability p")


def fid_curves_plot(series: dict[str, list[dict]], out: str | Path,
                    title: str = "") -> Path | None:
    """FID during training (`--eval-every`) against iteration, one line per run."""
    return _curves(series, "fid", "FID", out, title or "FID during training", marker="o")


def _curves(series: dict[str, list[dict]], key: str, ylabel: str, out: str | Path, title: str,
            marker: str | None = None) -> Path | None:
    """One line per run of metrics.jsonl's `key` against iteration; None when no run has it."""
    lines = {k: [r for r in v if key in r] for k, v in series.items()}
    lines = {k: v for k, v in lines.items() if v}
    if not lines:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3))
    for label, rows in lines.items():
        ax.plot([r["step"] for r in rows], [r[key] for r in rows], lw=1.2, label=label,
                marker=marker, ms=3)
    ax.set_xlabel("iteration")
    ax.set_ylabel(ylabel)
    ax.set_ylim(bottom=0)
    ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    atomic_write(out, lambda tmp: fig.savefig(tmp, format="png", dpi=80))
    plt.close(fig)
    return Path(out)
