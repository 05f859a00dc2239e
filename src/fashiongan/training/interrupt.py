"""Stopping a run between iterations: SIGINT/SIGTERM set a flag the loop reads, so a training
state is never written from the middle of an optimiser step."""

from __future__ import annotations

import signal


class Interrupt:
    """SIGINT/SIGTERM set a flag that the loop reads between iterations, so a training state is
    never saved from the middle of an optimiser step; a second Ctrl-C stops at once."""

    def __init__(self):
        self.signum = 0
        self._old = {}

    def __enter__(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.signum and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.signum = signum

    def __exit__(self, *exc):
        for sig, old in self._old.items():
            signal.signal(sig, old)
