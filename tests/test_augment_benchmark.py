"""benchmarks/augment_overhead.py end to end, tiny: one round of short blocks."""

from __future__ import annotations

import re

import torch


def test_overhead_table_has_every_batch_and_method(data_dir, capsys):
    from benchmarks import augment_overhead

    threads = torch.get_num_threads()
    try:
        augment_overhead.main(["--rounds", "1", "--seconds", "0.01"])
    finally:
        torch.set_num_threads(threads)  # the benchmark sets its own count
    rows = [line.split() for line in capsys.readouterr().out.splitlines()[2:]]
    assert [(r[0], r[1]) for r in rows] == [
        (b, m) for b in ("32x1x28x28", "32x3x64x64") for m in ("none", "diffaugment", "ada")]
    for r in rows:
        ratio = float(r[-1].rstrip("x"))
        assert ratio == 1.0 if r[1] == "none" else 0 < ratio < 2
        assert all(re.fullmatch(r"[\d,]+|-|p=0.5", c) for c in r[2:-1])
