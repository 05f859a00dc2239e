"""The machine's CPU load, read from /proc without torch: the package chooses OpenMP's wait
policy from it before torch loads its OpenMP runtime, and the thread count (accel/threads.py)
follows it while work runs.

Why both: measured on two cores (docs/results/2026-12-06-busy-machine.md), OpenMP's own
policy (threads spin a while before they sleep) is the fastest on an idle machine and several
times slower than one thread beside a busy program, while passive waiting is the reverse
(about 1.3x slower idle, safe busy). So: spin when every core is idle at start, wait passively
otherwise, and drop threads as other programs take cores.
"""

from __future__ import annotations

import os
import sys
import time

WINDOW_S = 0.1  # at import: ten ticks of the kernel's 100 Hz clock on each core


def usable_cores() -> int:
    """Cores this process may run on (its affinity mask, as taskset or a container sets it)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def cpu_times() -> tuple[int, int] | None:
    """(idle, total) jiffies of all cores, or None where /proc/stat is not there."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return idle, sum(fields[:8])


def own_jiffies() -> int | None:
    """CPU time this process (all its threads) has used, in the same ticks as /proc/stat."""
    try:
        with open("/proc/self/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()  # the name in () may hold spaces
        return int(fields[11]) + int(fields[12])  # utime + stime
    except (OSError, ValueError, IndexError):
        return None


def idle_cores(window_s: float = WINDOW_S) -> float | None:
    """How many cores' worth of time went unused over the window (None: cannot tell)."""
    first = cpu_times()
    if first is None:
        return None
    time.sleep(window_s)
    second = cpu_times()
    if second is None or second[1] <= first[1]:
        return None
    return (second[0] - first[0]) / (second[1] - first[1]) * (os.cpu_count() or 1)


def wait_policy(idle: float | None, usable: int) -> str | None:
    """OMP_WAIT_POLICY for a process about to load OpenMP: None (OpenMP's own, spinning) when
    every usable core is idle, PASSIVE when another program holds one or the load is unknown."""
    return None if idle is not None and idle >= usable - 0.5 else "PASSIVE"


class OthersLoad:
    """Cores' worth of CPU time that other processes used since the previous reading: the
    machine's busy time minus this process's own, so this process's threads do not count."""

    def __init__(self):
        self.prev = self._read()

    @staticmethod
    def _read():
        t, own = cpu_times(), own_jiffies()
        return None if t is None or own is None else (t, own)

    def cores(self) -> float | None:
        now, prev = self._read(), self.prev
        self.prev = now
        if now is None or prev is None or now[0][1] <= prev[0][1]:
            return None
        (idle0, total0), own0 = prev
        (idle1, total1), own1 = now
        span = total1 - total0
        others = span - (idle1 - idle0) - (own1 - own0)
        return max(0.0, others / span * (os.cpu_count() or 1))


_chosen: list = []  # [policy] once choose_wait_policy has decided, [] before
_since_import: list = []  # [(monotonic time, OthersLoad)] from the package's import on


def choose_wait_policy() -> str | None:
    """Set OMP_WAIT_POLICY for this process from the load now, unless the user set it or
    torch (with OpenMP) is loaded already; returns the policy in force (None: OpenMP's own)."""
    if "OMP_WAIT_POLICY" in os.environ or "torch" in sys.modules:
        return os.environ.get("OMP_WAIT_POLICY") or None
    policy = wait_policy(idle_cores(), usable_cores())
    if policy is not None:
        os.environ["OMP_WAIT_POLICY"] = policy
    _chosen.append(policy)
    _since_import.append((time.monotonic(), OthersLoad()))
    return policy


def others_since_import(min_s: float = 0.5, max_s: float = 10.0) -> float | None:
    """Cores' worth of CPU that other programs used while this process imported torch and
    the rest (the seconds a command spends starting): a reading that costs no waiting. None
    when it spans under min_s (too few clock ticks) or over max_s (no longer "now")."""
    if not _since_import:
        return None
    t0, load = _since_import[0]
    return load.cores() if min_s <= time.monotonic() - t0 <= max_s else None


def chosen_policy() -> str | None:
    """The policy choose_wait_policy set in this process (None: OpenMP's own, or it chose none)."""
    return _chosen[0] if _chosen else None


def forget_wait_policy() -> None:
    """Once OpenMP has read it (it does when torch loads): take the chosen policy out of the
    environment again, so that child processes (a fabric's training job) choose their own."""
    if _chosen and _chosen[0] is not None and os.environ.get("OMP_WAIT_POLICY") == _chosen[0]:
        del os.environ["OMP_WAIT_POLICY"]
