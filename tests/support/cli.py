"""The real CLI, run as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys


def run_cli(*args, cwd=None, env=None, timeout=600):
    """Run `python -m fashiongan ARGS` for real; returns the CompletedProcess."""
    return subprocess.run([sys.executable, "-m", "fashiongan", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=timeout,
                          env={**os.environ, **(env or {})})
