"""The default thread count: one per idle core when the work starts, re-chosen in training as
other programs take cores or give them back."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
import torch

from fashiongan import cpuload
from fashiongan.accel import threads


def _fake_stat(monkeypatch, samples):
    """/proc/stat as (idle, total) jiffies read in turn; no reading from the start-up."""
    monkeypatch.setattr(threads, "recent_others", lambda: None)
    it = iter(samples)
    monkeypatch.setattr(cpuload, "cpu_times", lambda: next(it))
    monkeypatch.setattr(cpuload.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(threads, "usable_cores", lambda: 2)


@pytest.mark.parametrize("idle_delta, want", [(100, 2), (50, 1), (5, 1), (80, 2)])
def test_threads_follow_the_idle_cores(monkeypatch, idle_delta, want):
    _fake_stat(monkeypatch, [(0, 0), (idle_delta, 100)])  # 100 jiffies over both cores
    assert threads.auto_threads(window_s=0) == want


@pytest.mark.parametrize("others, want", [(0.0, 2), (0.3, 2), (0.7, 1), (1.0, 1), (2.0, 1)])
def test_the_start_ups_reading_decides_without_waiting(monkeypatch, others, want):
    monkeypatch.setattr(threads, "recent_others", lambda: others)
    monkeypatch.setattr(threads, "usable_cores", lambda: 2)
    monkeypatch.setattr(cpuload, "cpu_times", lambda: pytest.fail("waited for a window"))
    assert threads.auto_threads() == want


def test_unknown_load_uses_every_usable_core(monkeypatch):
    monkeypatch.setattr(threads, "recent_others", lambda: None)
    monkeypatch.setattr(cpuload, "cpu_times", lambda: None)
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


class _Load:
    """Other programs' cores, as OthersLoad.cores would read them, in turn."""

    def __init__(self, values):
        self.values = iter(values)

    def cores(self):
        return next(self.values)


@pytest.mark.parametrize("auto", [True, False])
def test_the_watch_follows_other_programs_and_leaves_a_fixed_count(monkeypatch, auto):
    monkeypatch.setattr(threads, "usable_cores", lambda: 2)
    old = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        watch = threads.ThreadWatch(auto=auto, every_s=0)
        watch.load = _Load([0.0, 0.7, 1.0, None, 0.1])
        seen = [watch.check() for _ in range(5)]
        if auto:  # idle: no change; a program takes ~a core: one thread; it leaves: two again
            assert seen == [None, 1, None, None, 2] and torch.get_num_threads() == 2
        else:
            assert seen == [None] * 5 and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(old)


def test_the_watch_waits_its_interval(monkeypatch):
    monkeypatch.setattr(threads, "usable_cores", lambda: 2)
    watch = threads.ThreadWatch(auto=True, every_s=3600)
    watch.load = _Load([])  # reading it would raise StopIteration
    assert watch.check() is None
