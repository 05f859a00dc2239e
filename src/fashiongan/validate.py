"""The one validation layer for values that come from outside: devices, seeds, numbers, arrays.

Every check raises a one-line UserError naming the input, so a bad value is refused where it
enters (the CLI, a config, a file) instead of failing deep inside torch with a traceback.
"""

from __future__ import annotations

import contextlib
import math
from pathlib import Path

import numpy as np
import torch

from fashiongan.errors import UserError

SEED_LIMIT = 2**63  # torch generators take 64-bit seeds; ours are mixed into int64 arithmetic


def device(name: str, what: str = "--device") -> torch.device:
    """auto | cpu | cuda | cuda:N, checked against this machine."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except (RuntimeError, ValueError):
        raise UserError(f"{what} {name!r}: not a device; use auto, cpu, cuda or cuda:N") from None
    if dev.type not in ("cpu", "cuda"):
        raise UserError(f"{what} {name!r}: only cpu and cuda devices are supported")
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise UserError(f"{what} {name!r}: CUDA is not available on this machine")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise UserError(f"{what} {name!r}: this machine has {torch.cuda.device_count()} "
                            "CUDA device(s)")
    return dev


def seed(value: int, what: str = "seed", count: int = 1) -> int:
    """A seed (and the count - 1 seeds after it) in [0, 2^63)."""
    if value < 0 or value + max(count, 1) - 1 >= SEED_LIMIT:
        span = f" (with {count} images, up to {value + count - 1})" if count > 1 else ""
        raise UserError(f"{what} must be in [0, 2^63), got {value}{span}")
    return value


def finite(name: str, value: float) -> float:
    if not math.isfinite(value):
        raise UserError(f"config: {name} must be a finite number, got {value}")
    return value


def images(arr: np.ndarray, source: str, shape: tuple[int, ...]) -> np.ndarray:
    """uint8 N x shape images, N >= 1; shape is one image's: (H, W) grey, (H, W, 3) colour."""
    if arr.dtype != np.uint8 or arr.ndim != 1 + len(shape) or tuple(arr.shape[1:]) != shape:
        want = "x".join(map(str, shape))
        raise UserError(f"{source}: 'images' must be uint8 Nx{want}, got {arr.dtype} "
                        f"{'x'.join(map(str, arr.shape))}")
    return arr


def labels(arr: np.ndarray, n: int, num_classes: int, source: str) -> np.ndarray:
    """Integer class indices, one per image, each in [0, num_classes); returned as int64."""
    if arr.dtype.kind not in "iu":
        raise UserError(f"{source}: 'labels' must be integers, got {arr.dtype}")
    if arr.ndim != 1:
        raise UserError(f"{source}: 'labels' must be one per image (shape N), got shape "
                        f"{'x'.join(map(str, arr.shape))}")
    if len(arr) != n:
        raise UserError(f"{source}: {len(arr)} labels for {n} images")
    if len(arr) and (arr.min() < 0 or arr.max() >= num_classes):
        raise UserError(f"{source}: labels must be in 0..{num_classes - 1}, got "
                        f"{arr.min()}..{arr.max()}")
    return arr.astype(np.int64)


def available_memory() -> int | None:
    """Bytes this process may still take: the machine's MemAvailable, or less where a cgroup
    (a container) caps it; None where neither can be read."""
    found = []
    with contextlib.suppress(OSError, ValueError, IndexError), open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                found.append(int(line.split()[1]) * 1024)
    with contextlib.suppress(OSError, ValueError):
        cgroup = Path("/sys/fs/cgroup")
        limit = (cgroup / "memory.max").read_text().strip()
        used = int((cgroup / "memory.current").read_text().strip())
        if limit != "max":
            found.append(int(limit) - used)
    return min(found) if found else None


def fits_in_memory(nbytes: int, what: str) -> None:
    """Refuse, in one line, to hold `what` (nbytes) when it would not fit in memory: a typo in
    --n must not take the machine down."""
    free = available_memory()
    if free is not None and nbytes > free:
        raise UserError(f"{what} would take {nbytes / 1e9:,.1f} GB of memory; "
                        f"{free / 1e9:,.1f} GB is available (ask for fewer)")
