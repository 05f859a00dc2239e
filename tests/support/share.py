"""Packages under test: a tiny run folder laid out as `fashiongan train` leaves one, and the
model card's figures read back."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.support.studio import tiny_snapshot


def tiny_run(run: Path, model: str = "cdcgan") -> Path:
    """A run folder with a tiny generator's snapshot, config.json and metrics.jsonl."""
    tiny_snapshot(run / "snapshot", model)
    (run / "config.json").write_text(json.dumps({"model": model, "loss": "hinge",
                                                 "batch_size": 32}))
    (run / "metrics.jsonl").write_text(json.dumps({"step": 10, "wall_s": 12.5}) + "\n"
                                       + json.dumps({"step": 20, "wall_s": 25.25}) + "\n")
    return run


def card_table(card: str) -> dict[str, tuple[float, float | None]]:
    """The evaluation table: metric name -> (value, real floor or None)."""
    rows = {}
    for name, value, floor in re.findall(r"^\| ([^|]+?) \| ([-0-9.e+]+) \| ([-0-9.e+]+) \|$",
                                         card, re.M):
        rows[name] = (float(value), None if floor == "-" else float(floor))
    return rows


def card_section(card: str, title: str) -> str:
    """The text of the card's '## title' section."""
    m = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", card, re.M | re.S)
    assert m, f"no section {title!r} in the card"
    return m.group(1)
