"""An imported data set on disk (DATASET/) and the one type training reads: `Dataset`.

DATASET/ holds
  pixels.npy     uint8 N x C x H x W, plain .npy so np.load(mmap_mode="r") maps it at once
  labels.npy     int64 N (absent for an unlabelled set)
  split.npy      uint8 N, 0 = train, 1 = test (the seeded split made at import)
  manifest.json  what it is, where every image came from, and each file's SHA-256

A folder appears under its final name only when complete: everything is written into a
hidden temp folder beside it, the manifest last, and the folder is renamed into place.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fashiongan.data.info import DatasetInfo
from fashiongan.errors import UserError
from fashiongan.fileio import as_written_to, preallocate, remembered_digest, space_error, umask
from fashiongan.outputs import Owned, replace_folder, staging_folder

FORMAT = "fashiongan-dataset"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
TRAIN, TEST = 0, 1  # the values of split.npy
# what fashiongan writes into DATASET/: the import's files, a judge (`evaluator train --data`)
# and, for `export --format dataset`, the export's description
FILES = ("pixels.npy", "labels.npy", "split.npy", "judge.safetensors", "judge.json",
         "export.json")
EXTRA_ARRAY = re.compile(r"[a-z][a-z0-9_]{0,40}\.npy")
OWNED = Owned(MANIFEST, "a fashiongan-dataset manifest",
              ours=lambda m: m.get("format") == FORMAT,
              expected=lambda rel, m: rel in FILES or rel in m.get("files", {}))


@dataclass(frozen=True)
class Dataset:
    """Images with their labels, description and train/test split.

    `pixels` is uint8 N x C x H x W (a read-only memmap for an imported set); `labels` int64 N
    or None; `split` uint8 N (TRAIN or TEST per image).
    """

    pixels: np.ndarray
    labels: np.ndarray | None
    info: DatasetInfo
    split: np.ndarray
    path: Path | None = None

    def __len__(self) -> int:
        return len(self.pixels)

    @property
    def train_index(self) -> np.ndarray:
        return np.flatnonzero(self.split == TRAIN)

    @property
    def test_index(self) -> np.ndarray:
        return np.flatnonzero(self.split == TEST)

    def train(self):
        """(pixels, labels or None) of the training split."""
        return self._take(self.train_index)

    def test(self):
        """(pixels, labels or None) of the test split."""
        return self._take(self.test_index)

    def _take(self, index: np.ndarray):
        # a contiguous run (Fashion-MNIST's official split) is a view, not a copy of the data
        if len(index) and index[-1] - index[0] + 1 == len(index):
            sel = slice(int(index[0]), int(index[-1]) + 1)
        else:
            sel = index
        labels = None if self.labels is None else self.labels[sel]
        return self.pixels[sel], labels




def sha256_file(f: Path) -> str:
    """A digest for the manifest: computed now, and remembered for the check at every open."""
    return remembered_digest(f, fresh=True)


def read_manifest(path: str | os.PathLike) -> dict:
    path = Path(path)
    mpath = path / MANIFEST
    if not path.is_dir():
        raise UserError(f"{path}: not a folder (a data set is a folder made by "
                        "`fashiongan data import`)")
    manifest = read_format_json(mpath, FORMAT, "a data set made by `fashiongan data import`")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise UserError(f"{mpath}: format version {manifest.get('format_version')}, this "
                        f"fashiongan reads version {FORMAT_VERSION}")
    fault = _manifest_fault(manifest)
    if fault:
        raise UserError(f"{mpath}: not a valid data set manifest ({fault})")
    return manifest


def _manifest_fault(m: dict) -> str | None:
    """What is missing or of the wrong type in a data set's manifest (None: nothing)."""
    def count(v):
        return isinstance(v, int) and not isinstance(v, bool) and v >= 0

    if not count(m.get("count")):
        return f"'count' must be an integer >= 0, got {_show(m.get('count'))}"
    for key in ("resolution", "channels"):
        if not count(m.get(key)):
            return f"{key!r} must be an integer, got {_show(m.get(key))}"
    names = m.get("class_names", [])
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names) \
            or len(set(names)) != len(names):
        return "'class_names' must be a list of different, non-empty strings"
    if not isinstance(m.get("name", ""), str):
        return "'name' must be a string"
    files = m.get("files")
    if not isinstance(files, dict) or not {"pixels.npy", "split.npy"} <= set(files):
        return "'files' must map pixels.npy, split.npy (and labels.npy) to their digests"
    for name, spec in files.items():
        # its own arrays, or a per-image array beside them (origin.npy of `data grow`): a plain
        # name in the folder, never a path out of it
        if name not in ("pixels.npy", "labels.npy", "split.npy") and not EXTRA_ARRAY.fullmatch(
                str(name)):
            return f"'files' lists {_show(name)}, which a data set does not hold"
        if not isinstance(spec, dict) or not count(spec.get("bytes")) or not (
                isinstance(spec.get("sha256"), str) and len(spec["sha256"]) == 64):
            return f"'files' {name}: needs 'sha256' (64 hex digits) and 'bytes'"
    return None


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def read_format_json(mpath: Path, fmt: str, made_by: str) -> dict:
    """A folder's JSON description whose "format" is fmt; a one-line UserError otherwise."""
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{mpath.parent}: no {mpath.name}; not {made_by} (or it did not "
                        "finish)") from None
    except (OSError, ValueError, RecursionError) as e:
        raise UserError(f"{mpath}: unreadable ({e})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != fmt:
        raise UserError(f"{mpath}: not a {fmt} manifest")
    return manifest


def verify_dataset(path: str | os.PathLike, fresh: bool = True) -> list[tuple[str, str]]:
    """Check every file listed in the manifest against its size and SHA-256; (name, sha256)
    per file. A mismatch is a UserError naming the file. fresh=False takes a digest
    remembered from an earlier reading of the unchanged file (fileio.remembered_digest)."""
    path = Path(path)
    manifest = read_manifest(path)
    out = []
    for name, spec in manifest["files"].items():
        f = path / name
        if not f.is_file():
            raise UserError(f"{f}: missing (the manifest lists it)")
        size = f.stat().st_size
        if size != spec["bytes"]:
            raise UserError(f"{f}: {size} bytes, the manifest says {spec['bytes']} (changed "
                            "or damaged after import)")
        digest = remembered_digest(f, fresh)
        if digest != spec["sha256"]:
            raise UserError(f"{f}: SHA-256 {digest[:16]}... does not match the manifest's "
                            f"{spec['sha256'][:16]}... (changed or damaged after import)")
        out.append((name, digest))
    return out


def open_dataset(path: str | os.PathLike, verify: bool = True) -> Dataset:
    """Map DATASET/ (pixels stay on disk until read), its shapes checked against the manifest
    and every file against its size and SHA-256: edited pixels are refused, never trained on.
    The digest is computed once and remembered while the file is unchanged (verify_dataset)."""
    path = Path(path)
    manifest = read_manifest(path)
    if verify:
        verify_dataset(path, fresh=False)
    info = DatasetInfo.from_dict(manifest)  # resolution, channels, class_names, name
    n = manifest["count"]
    pixels = _load(path / "pixels.npy", (n, *info.shape), np.uint8, mmap=True)
    labels = None
    if "labels.npy" in manifest["files"]:
        labels = _load(path / "labels.npy", (n,), np.int64, mmap=False)
        if n and (labels.min() < 0 or labels.max() >= max(info.num_classes, 1)):
            raise UserError(f"{path / 'labels.npy'}: labels outside 0..{info.num_classes - 1}")
    split = _load(path / "split.npy", (n,), np.uint8, mmap=False)
    return Dataset(pixels, labels, info, split, path)


def _load(f: Path, shape, dtype, mmap: bool) -> np.ndarray:
    try:
        a = np.load(f, mmap_mode="r" if mmap else None, allow_pickle=False)
    except FileNotFoundError:
        raise UserError(f"{f}: missing (the manifest lists it)") from None
    except (OSError, ValueError) as e:
        raise UserError(f"{f}: unreadable ({e})") from None
    if a.shape != tuple(shape) or a.dtype != dtype:
        raise UserError(f"{f}: {a.dtype} {a.shape}, the manifest says {np.dtype(dtype)} "
                        f"{tuple(shape)}")
    return a


class Writer:
    """Builds DATASET/ in a hidden temp folder beside it; `commit()` renames it into place.

    Used as a context manager: leaving the block by an exception (or an interrupt) removes the
    temp folder, so DATASET/ never exists half-written. Pixels are written as they come into
    a file reserved (fallocate) for every candidate image, and cut to the images actually read
    at the end: a large import never holds its pixels in memory, and a full disk is found at
    the start, in one line naming the file and the space it needs (never SIGBUS, which a
    sparse memory map gave).
    """

    def __init__(self, out: str | os.PathLike, capacity: int, shape: tuple[int, int, int],
                 overwrite: bool = False, owned: Owned = OWNED):
        self.out = Path(out)
        self.overwrite, self.owned = overwrite, owned
        self.shape = shape
        self.tmp = staging_folder(self.out, overwrite, owned, "importing")
        self.capacity = capacity
        self.count = 0
        self.row = int(np.prod(shape))
        self.file = None
        try:
            self.file = open(self.tmp / "pixels.npy", "wb")  # noqa: SIM115 - closed by commit
            np.lib.format.write_array_header_1_0(self.file, {
                "descr": "|u1", "fortran_order": False, "shape": (capacity, *shape)})
            self.offset = self.file.tell()
            preallocate(self.file, self.offset + capacity * self.row, self.out / "pixels.npy")
        except BaseException as e:
            self.discard()
            if isinstance(e, OSError):
                raise as_written_to(e, self.tmp, self.out) from None
            raise

    def __enter__(self):
        return self

    def __exit__(self, kind, value, tb):
        if kind is not None:
            self.discard()
        return False

    def add(self, image: np.ndarray) -> int:
        """Store one C x H x W uint8 image; returns its index."""
        image = np.ascontiguousarray(image, np.uint8)
        if image.size != self.row or self.count >= self.capacity:  # H x W is 1 x H x W
            raise ValueError(f"image {image.shape} #{self.count + 1}, the data set holds "
                             f"{self.capacity} of {self.shape}")
        try:
            self.file.write(image.tobytes())
        except OSError as e:
            raise space_error(e, self.out / "pixels.npy",
                              self.offset + self.capacity * self.row) from None
        self.count += 1
        return self.count - 1

    def discard(self) -> None:
        if self.file is not None:
            with contextlib.suppress(OSError):
                self.file.close()
            self.file = None
        shutil.rmtree(self.tmp, ignore_errors=True)

    def commit(self, manifest: dict, labels: np.ndarray | None, split: np.ndarray,
               extra: dict[str, np.ndarray] | None = None) -> dict:
        """Write labels, split, any `extra` arrays (file name -> array, one value per image,
        listed with their digests like the rest) and (last) the manifest, then rename the
        folder into place; returns the manifest as written."""
        try:
            return self._commit(manifest, labels, split, extra)
        except OSError as e:  # named as the file meant, not as the hidden folder's
            raise as_written_to(e, self.tmp, self.out) from None

    def _commit(self, manifest: dict, labels: np.ndarray | None, split: np.ndarray,
                extra: dict[str, np.ndarray] | None) -> dict:
        n = self.count
        self.file.close()
        self.file = None
        _truncate_npy(self.tmp / "pixels.npy", (n, *self.shape))
        files = {"pixels.npy": None}
        if labels is not None:
            np.save(self.tmp / "labels.npy", np.asarray(labels, np.int64))
            files["labels.npy"] = None
        np.save(self.tmp / "split.npy", np.asarray(split, np.uint8))
        files["split.npy"] = None
        for name, array in (extra or {}).items():
            np.save(self.tmp / name, np.asarray(array))
            files[name] = None
        for name in files:
            f = self.tmp / name
            _fsync(f)
            files[name] = {"sha256": sha256_file(f), "bytes": f.stat().st_size}
        manifest = {"format": FORMAT, "format_version": FORMAT_VERSION, "count": n,
                    **manifest, "files": files}
        fault = _manifest_fault(manifest)
        if fault:  # a fault of ours: found before the folder takes its name
            raise ValueError(f"the manifest about to be written is invalid: {fault}")
        with open(self.tmp / MANIFEST, "w", encoding="utf-8") as f:
            json.dump(manifest, f, indent=1, ensure_ascii=False)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.chmod(self.tmp, 0o777 & ~umask())  # mkdtemp's 0700 would hide it from others
        self._rename_into_place()
        return manifest

    def _rename_into_place(self) -> None:
        replace_folder(self.tmp, self.out, self.overwrite, self.owned)


def _truncate_npy(f: Path, shape: tuple) -> None:
    """Rewrite a version-1.0 .npy header for fewer rows and cut the file; the new header is
    padded to the old length so the data offset stays where it is."""
    with open(f, "r+b") as fh:
        version = np.lib.format.read_magic(fh)
        read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                else np.lib.format.read_array_header_2_0)
        _, fortran, dtype = read(fh)
        offset = fh.tell()
        text = repr({"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": fortran,
                     "shape": tuple(shape)})
        prefix = 6 + 2 + (2 if version == (1, 0) else 4)
        pad = offset - prefix - len(text) - 1
        if pad < 0:  # cannot happen: fewer rows never lengthen the shape's text by much
            raise RuntimeError(f"{f}: header too short to rewrite")
        header = text + " " * pad + "\n"
        fh.seek(prefix)
        fh.write(header.encode("latin1"))
        fh.truncate(offset + int(np.prod(shape)) * dtype.itemsize)


def _fsync(f: Path) -> None:
    with open(f, "rb+") as fh:
        os.fsync(fh.fileno())
