"""benchmarks/augment_overhead.py end to end, tiny: one round of short blocks."""

from __future__ import annotations

import re

import torch


def test_overhead_table_has_every_batch_and_method(data_dir, capsys):
    from benchmarks import augment_overhead

    threads = torch.get_num_threads()
    try:
        augment_overhead.main(["--rounds", "1", "--seconds", "0.01", "--channels-last"])
    finally:
        torch.set_num_threads(threads)  # the benchmark sets its own count
    rows = [line.split() for line in capsys.readouterr().out.splitlines()[2:]]
    methods = ("none", "diffaugment", "ada@0.5", "ada@0.125", "every@0.125")
    assert [(r[0], r[1]) for r in rows] == [
        (b, m) for b in ("32x1x28x28", "32x3x64x64") for m in methods]
    for r in rows:
        # a ratio to the "none" row of its batch (which is 1.00x by construction); its value
        # is a timing and is not asserted
        assert re.fullmatch(r"\d+\.\d+x", r[-1]) and (r[1] != "none" or r[-1] == "1.00x")
        assert all(re.fullmatch(r"[\d,]+|-", c) for c in r[2:-1])
