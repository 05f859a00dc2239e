"""What every subcommand shares: the one-line argparse, number bounds, the shared options
(--threads, --device, --data-dir), the default generator and output checks."""

from __future__ import annotations

import argparse
import contextlib
import math
from pathlib import Path

import numpy as np

from fashiongan.data import CLASS_NAMES
from fashiongan.errors import UserError

MAX_GRID_PIXELS = 100_000_000  # a grid PNG beyond this is a typo in --scale, not a picture
CLASS_HELP = "classes: " + ", ".join(f"{i} {n}" for i, n in enumerate(CLASS_NAMES))


class Parser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line (a UserError) instead of the usage block."""

    def error(self, message):
        raise UserError(f"{self.prog}: {message} (see {self.prog} --help)")


def at_least(low: float, kind=int):
    """An argparse type: a number >= low (sizes, counts, durations)."""
    def convert(text: str):
        value = kind(text)
        if not math.isfinite(value):  # nan < low is False: NaN would pass any bound
            raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
        if value < low:
            raise argparse.ArgumentTypeError(f"must be >= {low}, got {text}")
        return value

    convert.__name__ = kind.__name__  # argparse names the type in "invalid int value"
    return convert


def threads_arg(p: argparse.ArgumentParser) -> None:
    """--threads: 0 (the default) lets accel/threads.py count the idle cores."""
    p.add_argument("--threads", type=at_least(0), default=0, help="torch CPU threads (default: "
                   "one per idle core when the command starts)")


def runtime_args(p: argparse.ArgumentParser) -> None:
    """--threads, --device, --data-dir: where a subcommand's work runs and what it reads."""
    threads_arg(p)
    p.add_argument("--device", default="cpu")
    p.add_argument("--data-dir", help="Fashion-MNIST folder (default: searched)")


def set_threads(args) -> int:
    """--threads N, or 0: as many as there are idle cores now (accel/threads.py)."""
    from fashiongan.accel.threads import use_threads

    if args.threads < 0:
        raise UserError(f"--threads must be >= 0, got {args.threads}")
    return use_threads(args.threads)


def default_checkpoint() -> str:
    from fashiongan.snapshot import shipped_generator

    return str(shipped_generator())


def savez(path: str, arrays: dict) -> None:
    with open(path, "wb") as f:  # a file object, so numpy does not append ".npz" to the temp
        np.savez_compressed(f, **arrays)


def input_files(*paths) -> list[Path]:
    """The files a command reads, for outputs.check_outputs: a generator's snapshot file (of a
    run or snapshot folder), a data set's or an export's files, any other file as given."""
    from fashiongan.snapshot import snapshot_path

    out = []
    for p in paths:
        if p is None:
            continue
        p = Path(p)
        if p.is_dir():
            if (p / "manifest.json").is_file():  # a data set or an export: its files
                out += [f for f in p.iterdir() if f.is_file()]
            with contextlib.suppress(UserError):  # a run's or snapshot's generator file, not
                out.append(snapshot_path(p))  # the results a command wrote beside it
        else:
            out.append(p)
    return out

