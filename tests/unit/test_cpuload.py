"""The load as /proc tells it: OpenMP's wait policy chosen at import, and the cores other
programs use, this process's own threads not counted."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from fashiongan import cpuload


@pytest.mark.parametrize("idle, usable, want", [
    (2.0, 2, None), (1.6, 2, None), (1.4, 2, "PASSIVE"), (0.9, 2, "PASSIVE"),
    (None, 2, "PASSIVE"), (7.8, 8, None), (6.9, 8, "PASSIVE"), (1.0, 1, None)])
def test_spin_only_where_every_core_is_idle(idle, usable, want):
    assert cpuload.wait_policy(idle, usable) == want


def _readings(monkeypatch, machine, own):
    """/proc/stat's (idle, total) and this process's jiffies, read in turn, on 2 cores."""
    m, o = iter(machine), iter(own)
    monkeypatch.setattr(cpuload, "cpu_times", lambda: next(m))
    monkeypatch.setattr(cpuload, "own_jiffies", lambda: next(o))
    monkeypatch.setattr(cpuload.os, "cpu_count", lambda: 2)


def test_others_load_leaves_out_this_process(monkeypatch):
    # 200 jiffies over both cores: 20 idle, 120 ours -> the others used 60 = 0.6 of a core
    _readings(monkeypatch, [(0, 0), (20, 200), (220, 400)], [0, 120, 120])
    load = cpuload.OthersLoad()
    assert load.cores() == pytest.approx(0.6)
    assert load.cores() == pytest.approx(0.0)  # all idle but ours: nobody else


def test_others_load_is_none_when_proc_cannot_be_read(monkeypatch):
    _readings(monkeypatch, [(0, 0), None], [0, 5])
    assert cpuload.OthersLoad().cores() is None


def _hog():
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    time.sleep(0.3)
    return hog


def test_own_time_is_read_in_the_machines_ticks():
    hz = os.sysconf("SC_CLK_TCK")
    j0, t0 = cpuload.own_jiffies(), time.process_time()
    while time.process_time() - t0 < 0.5:  # this process busy on a core
        pass
    used = (cpuload.own_jiffies() - j0) / hz
    assert used == pytest.approx(time.process_time() - t0, abs=0.05)


def test_a_real_busy_program_is_counted():
    hog = _hog()
    try:
        load = cpuload.OthersLoad()
        time.sleep(0.5)
        theirs = load.cores()
    finally:
        hog.kill()
        hog.wait()
    assert theirs is not None and theirs >= 0.6


def _policy(env: dict) -> tuple[str, str]:
    code = ("import os, fashiongan; from fashiongan import cpuload; "
            "print(cpuload.chosen_policy(), os.environ.get('OMP_WAIT_POLICY'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         check=True)
    chosen, left = out.stdout.split()
    return chosen, left


def test_beside_a_busy_program_openmp_waits_passively_and_children_choose_again():
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    hog = _hog()
    try:
        assert _policy(env) == ("PASSIVE", "None")  # out of the environment once torch loaded
    finally:
        hog.kill()
        hog.wait()


def test_the_users_own_policy_wins():
    env = {**os.environ, "OMP_WAIT_POLICY": "ACTIVE"}
    assert _policy(env) == ("None", "ACTIVE")


def test_the_start_up_reading_sees_a_busy_program_and_expires():
    code = ("import time, fashiongan; from fashiongan import cpuload; "
            "print(cpuload.others_since_import(), cpuload.others_since_import(max_s=0))")
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    hog = _hog()
    try:  # importing torch takes seconds: a reading of that span, with the hog in it
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env=env, check=True).stdout.split()
    finally:
        hog.kill()
        hog.wait()
    assert float(out[0]) >= 0.6 and out[1] == "None"
