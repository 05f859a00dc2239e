"""Fashion-MNIST: find the IDX files, check them, read them into uint8 tensors, download them.

The IDX reader is ours (a dozen lines) because the format is trivial and torchvision's reader
would pull in a package whose PyPI build does not import beside the CPU torch wheel.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from fashiongan.errors import UserError
from fashiongan.fileio import atomic_write_bytes, cache_root

CLASS_NAMES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
APT_PACKAGE = "dataset-fashion-mnist"
SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")
MIRROR = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"


@dataclass(frozen=True)
class IdxFile:
    name: str
    size: int  # bytes of the decompressed content
    sha256: str  # of the decompressed content: .gz bytes differ between mirrors
    magic: int
    count: int


FILES = {
    ("train", "images"): IdxFile(
        "train-images-idx3-ubyte", 47040016,
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888", 2051, 60000),
    ("train", "labels"): IdxFile(
        "train-labels-idx1-ubyte", 60008,
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9", 2049, 60000),
    ("test", "images"): IdxFile(
        "t10k-images-idx3-ubyte", 7840016,
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b", 2051, 10000),
    ("test", "labels"): IdxFile(
        "t10k-labels-idx1-ubyte", 10008,
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34", 2049, 10000),
}


class DataError(UserError):
    """A data file is missing or damaged; the message names the file and the fault."""


def candidate_dirs(data_dir: str | os.PathLike | None = None) -> list[Path]:
    """Where the data is looked for, in order."""
    dirs = []
    if data_dir:
        dirs.append(Path(data_dir))
    if os.environ.get("FASHION_MNIST_DIR"):
        dirs.append(Path(os.environ["FASHION_MNIST_DIR"]))
    dirs.append(cache_root() / "fashion-mnist")
    dirs.append(SYSTEM_DIR)
    return dirs


def _path_of(directory: Path, spec: IdxFile) -> Path | None:
    for name in (spec.name, spec.name + ".gz"):
        if (directory / name).is_file():
            return directory / name
    return None


def find_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The first candidate folder holding all four files (plain or .gz).

    An explicitly named folder is never skipped over: if it lacks a file, that is the error.
    """
    dirs = candidate_dirs(data_dir)
    if data_dir:
        _require_all(dirs[0])
        return dirs[0]
    for d in dirs:
        if all(_path_of(d, spec) for spec in FILES.values()):
            return d
    raise DataError(
        "Fashion-MNIST not found in " + ", ".join(str(d) for d in dirs)
        + f"; install it with `apt-get install {APT_PACKAGE}` or run `fashiongan data --download`"
    )


def _require_all(directory: Path) -> None:
    for spec in FILES.values():
        if _path_of(directory, spec) is None:
            raise DataError(f"{directory / spec.name}: missing (neither it nor its .gz exists)")


def _read_content(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
        return gzip.decompress(raw) if path.suffix == ".gz" else raw
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise DataError(f"{path}: unreadable or truncated ({e})") from None


def _check(path: Path, spec: IdxFile, content: bytes, verify_hash: bool) -> None:
    if len(content) < 8:
        raise DataError(f"{path}: truncated ({len(content)} bytes)")
    magic, count = struct.unpack(">II", content[:8])
    if magic != spec.magic:
        raise DataError(f"{path}: wrong magic number {magic:#x}, expected {spec.magic:#x}")
    if count != spec.count:
        raise DataError(f"{path}: holds {count} items, expected {spec.count}")
    if len(content) != spec.size:
        raise DataError(f"{path}: {len(content)} bytes of content, expected {spec.size}")
    if verify_hash:
        digest = hashlib.sha256(content).hexdigest()
        if digest != spec.sha256:
            raise DataError(f"{path}: SHA-256 {digest} does not match {spec.sha256}")


def read_idx(directory: Path, split: str, kind: str, verify_hash: bool = False) -> np.ndarray:
    spec = FILES[(split, kind)]
    path = _path_of(directory, spec)
    if path is None:
        raise DataError(f"{directory / spec.name}: missing (neither it nor its .gz exists)")
    content = _read_content(path)
    _check(path, spec, content, verify_hash)
    header = 16 if kind == "images" else 8
    arr = np.frombuffer(content, dtype=np.uint8, offset=header)
    return arr.reshape(spec.count, 28, 28) if kind == "images" else arr


_CACHE: dict = {}


def load(split: str = "train", data_dir=None, verify_hash: bool = False):
    """(images uint8 [N,28,28], labels int64 [N]) as CPU tensors; 0 is the black background.

    Decompressing the 26 MB .gz takes ~0.3 s, so each split is read once per process; the
    returned tensors are shared: do not modify them in place.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', not {split!r}")
    d = find_data_dir(data_dir)
    key = (str(d.resolve()), split)
    if key not in _CACHE or verify_hash:
        images = torch.from_numpy(read_idx(d, split, "images", verify_hash).copy())
        labels = torch.from_numpy(read_idx(d, split, "labels", verify_hash).astype(np.int64))
        _CACHE[key] = (images, labels)
    return _CACHE[key]


def verify(data_dir=None) -> list[tuple[Path, str]]:
    """Check every file's size, header and SHA-256; returns (path, sha256) per file."""
    d = find_data_dir(data_dir)
    out = []
    for (split, kind), spec in FILES.items():
        path = _path_of(d, spec)
        read_idx(d, split, kind, verify_hash=True)
        out.append((path, spec.sha256))
    return out


def download(directory: str | os.PathLike | None = None, mirror: str = MIRROR) -> Path:
    """Fetch the four .gz files, verify their content, and write each atomically."""
    d = Path(directory) if directory else candidate_dirs()[-2]
    d.mkdir(parents=True, exist_ok=True)
    for spec in FILES.values():
        url = mirror + spec.name + ".gz"
        try:
            with urllib.request.urlopen(url, timeout=30) as r:
                raw = r.read()
        except (urllib.error.URLError, OSError) as e:
            raise DataError(
                f"cannot download {url} ({getattr(e, 'reason', e)}); offline, install the "
                f"Debian package instead: apt-get install {APT_PACKAGE}"
            ) from None
        try:
            content = gzip.decompress(raw)
        except (OSError, EOFError) as e:
            raise DataError(f"{url}: not a valid gzip file ({e})") from None
        _check(Path(url), spec, content, verify_hash=True)
        atomic_write_bytes(d / (spec.name + ".gz"), raw)
    return d
