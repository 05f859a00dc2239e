"""How many CPU threads torch uses when the user does not say: as many as there are idle cores
when the work starts, and in training as many as other programs leave free as they come and go.

On a two-core machine with another program busy on one core, torch's default (one thread per
core) made a training run 5.3x slower than one thread: every parallel region waits for the
thread that shares its core with the other program. Counting the idle cores first (their idle
time in /proc/stat over a short window) gives that thread count by itself; on an idle machine
it is every core, as before. OpenMP's wait policy is chosen at import (fashiongan/__init__.py,
cpuload.py). Measured: docs/results/2026-12-06-busy-machine.md.
"""

from __future__ import annotations

import time

import torch

from fashiongan.cpuload import OthersLoad, idle_cores, others_since_import, usable_cores

WINDOW_S = 0.25  # long enough to see a busy program, short beside any command's start-up
RECHECK_S = 0.5  # how often a training run looks at the load again (two reads of /proc)


def recent_others() -> float | None:
    """Other programs' cores over this process's start-up, when that was just now."""
    return others_since_import()


def left_free(others: float) -> int:
    """Threads for the usable cores that other programs (`others` cores' worth) leave free:
    rounded, at least one."""
    usable = usable_cores()
    return max(1, min(usable, round(usable - others)))


def auto_threads(window_s: float = WINDOW_S) -> int:
    """The thread count for work about to start: the cores other programs left free while
    this process started (no waiting), else the idle cores over `window_s`; rounded, at least
    one, at most the usable cores; every usable core where the load cannot be read."""
    usable = usable_cores()
    others = recent_others()
    if others is not None:
        return left_free(others)
    idle = idle_cores(window_s)
    if idle is None:
        return usable
    return max(1, min(usable, round(idle)))


def use_threads(threads: int = 0) -> int:
    """Set torch's thread count: `threads` when given (> 0), else auto_threads(); returns it."""
    n = threads if threads > 0 else auto_threads()
    torch.set_num_threads(n)
    return n


class ThreadWatch:
    """For an automatic thread count (threads=0): every RECHECK_S, the cores other programs
    used since the last look decide the count again (what is left of the usable cores,
    rounded, at least one). A fixed count is never touched. The count changes MKL's float32
    rounding, so a run that must repeat bit for bit fixes it (`--set threads=N`)."""

    def __init__(self, auto: bool, every_s: float | None = None):
        self.auto, self.every_s = auto, every_s if every_s is not None else RECHECK_S
        self.load = OthersLoad() if auto else None
        self.last = time.monotonic()

    def check(self) -> int | None:
        """The new thread count when it changed now, else None."""
        if not self.auto or time.monotonic() - self.last < self.every_s:
            return None
        self.last = time.monotonic()
        others = self.load.cores()
        if others is None:
            return None
        want = left_free(others)
        if want == torch.get_num_threads():
            return None
        torch.set_num_threads(want)
        return want
