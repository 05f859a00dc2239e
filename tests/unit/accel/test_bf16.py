"""`amp: auto`: bf16 autocast only where the device runs it fast, and a run records which."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from fashiongan import presets
from fashiongan.accel.bf16 import fast_bf16, resolve_amp
from fashiongan.training.loop import training_loop
from tests.unit.models.test_fastgan import catalogue_set


def _cpu_flags() -> set[str]:
    text = Path("/proc/cpuinfo").read_text()
    line = next(ln for ln in text.splitlines() if ln.startswith("flags"))
    return set(line.split(":", 1)[1].split())


@pytest.mark.skipif(not Path("/proc/cpuinfo").is_file(), reason="needs Linux's /proc/cpuinfo")
def test_auto_follows_the_cpus_bf16_instructions():
    flags = _cpu_flags()
    has = bool({"avx512_bf16", "amx_bf16"} & flags)
    assert fast_bf16(torch.device("cpu")) == has
    assert resolve_amp("auto", torch.device("cpu")) == ("bf16" if has else "none")


def test_a_fixed_choice_is_kept():
    for amp in ("none", "bf16"):
        assert resolve_amp(amp, torch.device("cpu")) == amp
    assert fast_bf16(torch.device("meta")) is False


def test_a_run_records_the_concrete_choice(tmp_path):
    cfg = presets.resolve("colour", ["iterations=2", "checkpoint_interval=2", "threads=1",
                                     "sample_interval=2", "log_interval=1", "batch_size=8",
                                     "g_width=32", "d_width=8", "num_classes=10"])
    assert cfg.runtime.amp == "auto"  # the colour preset's
    training_loop(cfg, tmp_path / "run", progress=False, dataset=catalogue_set(64, 16))
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["amp"] == resolve_amp("auto", torch.device("cpu")) != "auto"
