"""How many CPU threads torch uses when the user does not say: as many as there are idle cores
when the work starts.

On a two-core machine with another program busy on one core, torch's default (one thread per
core) made a training run 5.3x slower than one thread: every parallel region waits for the
thread that shares its core with the other program. Counting the idle cores first (their idle
time in /proc/stat over a short window) gives that thread count by itself; on an idle machine
it is every core, as before. Together with OpenMP's passive waiting (set in the package's
__init__, before torch loads its OpenMP runtime), a thread that waits sleeps instead of
spinning on a core another program needs. Measured: docs/results/2026-12-06-busy-machine.md.
"""

from __future__ import annotations

import os
import time

import torch

WINDOW_S = 0.25  # long enough to see a busy program, short beside any command's start-up


def usable_cores() -> int:
    """Cores this process may run on (its affinity mask, as taskset or a container sets it)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _cpu_times() -> tuple[int, int] | None:
    """(idle, total) jiffies of all cores, or None where /proc/stat is not there."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return idle, sum(fields[:8])


def idle_cores(window_s: float = WINDOW_S) -> float | None:
    """How many cores' worth of time went unused over the window (None: cannot tell)."""
    first = _cpu_times()
    if first is None:
        return None
    time.sleep(window_s)
    second = _cpu_times()
    if second is None or second[1] <= first[1]:
        return None
    share = (second[0] - first[0]) / (second[1] - first[1])
    return share * (os.cpu_count() or 1)


def auto_threads(window_s: float = WINDOW_S) -> int:
    """The thread count for work about to start: the idle cores (rounded), at least one, at
    most the usable cores; every usable core where the load cannot be read."""
    usable = usable_cores()
    idle = idle_cores(window_s)
    if idle is None:
        return usable
    return max(1, min(usable, round(idle)))


def use_threads(threads: int = 0) -> int:
    """Set torch's thread count: `threads` when given (> 0), else auto_threads(); returns it."""
    n = threads if threads > 0 else auto_threads()
    torch.set_num_threads(n)
    return n
