"""The default thread count: one per idle core when the work starts."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
import torch

from fashiongan.accel import threads


def _fake_stat(monkeypatch, samples):
    """/proc/stat as (idle, total) jiffies read in turn."""
    it = iter(samples)
    monkeypatch.setattr(threads, "_cpu_times", lambda: next(it))
    monkeypatch.setattr(threads.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(threads, "usable_cores", lambda: 2)


@pytest.mark.parametrize("idle_delta, want", [(100, 2), (50, 1), (5, 1), (80, 2)])
def test_threads_follow_the_idle_cores(monkeypatch, idle_delta, want):
    _fake_stat(monkeypatch, [(0, 0), (idle_delta, 100)])  # 100 jiffies over both cores
    assert threads.auto_threads(window_s=0) == want


def test_unknown_load_uses_every_usable_core(monkeypatch):
    monkeypatch.setattr(threads, "_cpu_times", lambda: None)
    monkeypatch.setattr(threads, "usable_cores", lambda: 3)
    assert threads.auto_threads(window_s=0) == 3


def test_a_given_count_wins_and_is_applied():
    old = torch.get_num_threads()
    try:
        assert threads.use_threads(1) == 1 and torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(old)


def test_a_busy_core_is_seen_as_busy():
    """With a process spinning on one core, at least that core is not counted idle."""
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)  # let it get going
        idle = threads.idle_cores(window_s=0.5)
    finally:
        hog.kill()
        hog.wait()
    assert idle is not None and idle <= (os.cpu_count() or 1) - 0.6


def test_the_package_asks_openmp_to_wait_passively():
    code = "import fashiongan, os; print(os.environ['OMP_WAIT_POLICY'])"
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.stdout.strip() == "PASSIVE"
    env["OMP_WAIT_POLICY"] = "ACTIVE"  # a user's own choice wins
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.stdout.strip() == "ACTIVE"
