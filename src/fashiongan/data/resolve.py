"""Which data set a command works on: none given means Fashion-MNIST (here and nowhere else);
`--data X` an imported DATASET folder, or a folder/.zip of images imported once into
a cache keyed by its contents (so the second run starts at once and an edited folder is seen).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from fashiongan.data import FASHION_MNIST, load
from fashiongan.data.store import TEST, TRAIN, Dataset, open_dataset
from fashiongan.errors import UserError
from fashiongan.fileio import cache_root

MANIFEST = "manifest.json"


def contents_key(src: Path, resolution: int, channels: int) -> str:
    """SHA-256 over every file's relative path and bytes (and the import settings): a folder of
    a few thousand photos hashes in about a second; mtimes would miss a copy with new dates."""
    h = hashlib.sha256(f"{resolution} {channels}\n".encode())
    files = [src] if src.is_file() else sorted(p for p in src.rglob("*") if p.is_file())
    for p in files:
        h.update(str(p.relative_to(src) if p != src else p.name).encode() + b"\0")
        with open(p, "rb") as f:
            for block in iter(lambda f=f: f.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()[:16]


def dataset_for(path: str, resolution: int = 64, channels: int = 3, progress: bool = True,
                on_import: Callable[[str], None] | None = None) -> Dataset:
    """The data set at PATH: an imported DATASET folder as it is, a folder or .zip of images
    through the cache (imported there on first use). on_import(line) hears, before an import
    starts, what is imported where (the commands print it; the library prints nothing)."""
    p = Path(path)
    if (p / MANIFEST).is_file():
        return open_dataset(p)
    if not p.exists():
        raise UserError(f"--data {path}: no such folder or file")
    from fashiongan.data.importer import default_jobs, import_images

    out = cache_root() / "datasets" / f"{p.name}-{contents_key(p, resolution, channels)}"
    if not (out / MANIFEST).is_file():
        if on_import is not None:
            on_import(f"importing {p} into {out} (once; later runs reuse it)")
        import_images(p, out, resolution=resolution, channels=channels, labels="subfolders",
                      jobs=default_jobs(), progress=progress,
                      command=["fashiongan", "train", "--data", str(p)])
    return open_dataset(out)

def fashion_mnist(data_dir=None) -> Dataset:
    """Fashion-MNIST as a Dataset: 70,000 x 1 x 28 x 28, train = the official 60,000, test =
    the official 10,000 (in that order)."""
    xtr, ytr = load("train", data_dir)
    xte, yte = load("test", data_dir)
    pixels = np.concatenate([xtr.numpy(), xte.numpy()])[:, None]
    labels = np.concatenate([ytr.numpy(), yte.numpy()]).astype(np.int64)
    split = np.repeat(np.array([TRAIN, TEST], np.uint8), [len(xtr), len(xte)])
    return Dataset(pixels, labels, FASHION_MNIST, split)


def resolve(path: str | None, resolution: int = 64, channels: int = 3, data_dir=None,
            progress: bool = True, on_import: Callable[[str], None] | None = None) -> Dataset:
    """--data PATH (dataset_for), or Fashion-MNIST from data_dir when no path is given."""
    if path is None:
        return fashion_mnist(data_dir)
    return dataset_for(path, resolution, channels, progress, on_import)
