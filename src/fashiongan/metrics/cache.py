"""Statistics computed once and kept on disk ($FASHIONGAN_CACHE, else ~/.cache/fashiongan).

A cache key hashes everything an entry depends on: the protocol version (bump it when any
computation behind an entry changes), the feature network's key, the data set's identity and
the parameters (N of a floor, neighbour counts). Change any of them and a new entry is
computed; stale entries are never read. Files are written atomically, so concurrent runs at
worst compute the same entry twice; a damaged entry is recomputed and replaced.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import torch

from fashiongan.fileio import atomic_write, atomic_write_json, cache_root

PROTOCOL_VERSION = 2


def cache_key(**parts) -> str:
    text = json.dumps({"protocol": PROTOCOL_VERSION, **parts}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _save_npz(path: Path, arrays: dict) -> None:
    def write(tmp):
        with open(tmp, "wb") as f:  # a file object: numpy would append ".npz" to a name
            np.savez(f, **arrays)

    atomic_write(path, write)


def cached_npz(name: str, key: str, compute, names: tuple[str, ...]) -> dict[str, torch.Tensor]:
    """compute() -> {name: tensor}, cached as <cache>/<name>-<key>.npz; an entry that is
    damaged or lacks one of `names` is recomputed and replaced."""
    path = cache_root() / f"{name}-{key}.npz"
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as z:
                t = {n: torch.from_numpy(z[n]) for n in z.files}
            if set(names) <= set(t):
                return t
        except (OSError, KeyError, ValueError):
            pass  # a damaged entry is recomputed and replaced
    t = compute()
    _save_npz(path, {n: v.numpy() for n, v in t.items()})
    return t


def cached_json(name: str, key: str, compute) -> dict:
    """compute() -> dict, cached as <cache>/<name>-<key>.json."""
    path = cache_root() / f"{name}-{key}.json"
    if path.is_file():
        try:
            return json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            pass
    value = compute()
    atomic_write_json(path, value)
    return value
