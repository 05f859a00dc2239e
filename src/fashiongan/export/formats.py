"""The four layouts an export is written in, each fed chunk by chunk (never all images).

  idx      train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz (and t10k-... for a test
           split): the original Fashion-MNIST files' layout (idx.py)
  png      OUT/<class folder>/<index>.png and classes.json, the layout `data import` reads
           (class folders named as `data export-fmnist` names them); unlabelled: OUT/<index>.png
  npz      OUT/samples.npz: images (N x H x W, or N x H x W x 3), labels, seeds, confidence
           (and test_* arrays), each array streamed into its zip member
  dataset  an imported data set (data/store.py) with its own manifest: `train --data OUT`

Every layout is built in a hidden folder beside OUT and renamed to OUT only when complete,
export.json last (the data set's Writer does the same), so a failed or killed export leaves
nothing under OUT's name.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

from fashiongan.data import store
from fashiongan.data.classfolders import class_folders, write_classes_file
from fashiongan.data.store import TEST, TRAIN, Writer
from fashiongan.errors import UserError
from fashiongan.export import idx
from fashiongan.export.plan import Chunk
from fashiongan.fileio import atomic_write_json
from fashiongan.outputs import Owned, replace_folder, staging_folder

MANIFEST = "export.json"
FORMAT = "fashiongan-export"
FORMATS = ("idx", "png", "npz", "dataset")
IDX_PREFIX = {"train": "train", "test": "t10k"}
NPZ_FILE = "samples.npz"
_TOP = re.compile(r"(train|t10k)-(images-idx[34]|labels-idx1)-ubyte\.gz|samples\.npz|"
                  r"classes\.json|\d+\.png")


def _expected(rel: str, m: dict) -> bool:
    """The files an export of any layout holds: IDX files, samples.npz, numbered PNGs (in
    the class folders its class names give), a data set's files."""
    if m.get("export_format") == "dataset" and rel in (store.MANIFEST, *store.FILES):
        return True
    names = m.get("class_names")
    folders = class_folders(names) if isinstance(names, list) and all(
        isinstance(n, str) for n in names) else []
    parts = rel.rstrip("/").split("/")
    if rel.endswith("/"):
        return len(parts) == 1 and parts[0] in folders
    if len(parts) == 1:
        return bool(_TOP.fullmatch(rel))
    return len(parts) == 2 and parts[0] in folders and bool(re.fullmatch(r"\d+\.png", parts[1]))


OWNED = Owned(MANIFEST, "a fashiongan-export description",
              ours=lambda m: m.get("format") == FORMAT, expected=_expected)


class _Folder:
    """A hidden folder beside OUT; commit() writes export.json and renames it to OUT."""

    def __init__(self, out: Path, overwrite: bool):
        self.out, self.overwrite = Path(out), overwrite
        self.root = staging_folder(self.out, overwrite, OWNED, "exporting")
        self.current: Path | None = None  # the file being written (named by a write error)

    @property
    def staging(self) -> Path:
        return self.root

    def commit(self, manifest: dict) -> None:
        self.finish()
        atomic_write_json(self.root / MANIFEST, manifest)
        self.root.chmod(0o755)  # mkdtemp's 0700 would hide the export from others
        replace_folder(self.root, self.out, self.overwrite, OWNED)

    def finish(self) -> None:
        """Close what is open (all chunks are written)."""

    def discard(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def files(self) -> list[str]:
        return sorted(p.name for p in self.root.iterdir() if p.is_file())


class IdxSink(_Folder):
    def __init__(self, out, overwrite, shape, sizes: dict[str, int], labelled: bool):
        super().__init__(out, overwrite)
        self.shape, self.sizes, self.labelled = shape, sizes, labelled
        self.writer, self.split, self.labels = None, None, []

    def write(self, chunk: Chunk) -> None:
        if chunk.split != self.split:
            self.finish()
            self.split = chunk.split
            name = f"{IDX_PREFIX[chunk.split]}-images-idx{1 + len(self.shape)}-ubyte.gz"
            self.current = self.root / name
            self.writer = idx.IdxWriter(self.current, (self.sizes[chunk.split], *self.shape))
        self.writer.write(chunk.images)
        if chunk.labels is not None:
            self.labels.append(chunk.labels)

    def finish(self) -> None:
        if self.writer is None:
            return
        self.writer.close()
        if self.labelled:  # labels are one byte an image: held until the images are done
            self.current = self.root / f"{IDX_PREFIX[self.split]}-labels-idx1-ubyte.gz"
            idx.write(self.root / f"{IDX_PREFIX[self.split]}-labels-idx1-ubyte.gz",
                      np.concatenate(self.labels).astype(np.uint8))
        self.writer, self.labels = None, []

    def discard(self) -> None:
        if self.writer is not None:
            self.writer.abort()
        super().discard()


class PngSink(_Folder):
    def __init__(self, out, overwrite, names, n: int):
        super().__init__(out, overwrite)
        self.folders = class_folders(names) if names else []
        for f in self.folders:
            (self.root / f).mkdir()
        if names:
            write_classes_file(self.root, self.folders, names, "fashiongan export",
                               "file name = index in the export")
        self.width, self.count = len(str(max(n - 1, 0))), 0

    def write(self, chunk: Chunk) -> None:
        for i, img in enumerate(chunk.images):
            folder = self.root / self.folders[chunk.labels[i]] if self.folders else self.root
            self.current = folder / f"{self.count:0{self.width}d}.png"
            Image.fromarray(img, "RGB" if img.ndim == 3 else "L").save(self.current,
                                                                        compress_level=1)
            self.count += 1


class NpzSink(_Folder):
    """samples.npz written member by member: each array's .npy header first (its shape is
    known), then its rows as they come; zip64 so that it may pass 4 GB."""

    def __init__(self, out, overwrite, shape, sizes: dict[str, int]):
        super().__init__(out, overwrite)
        self.shape, self.sizes = shape, sizes
        self.current = self.root / NPZ_FILE
        self.zip = zipfile.ZipFile(self.current, "w", zipfile.ZIP_DEFLATED, compresslevel=1)
        self.member, self.split, self.small = None, None, {}

    def write(self, chunk: Chunk) -> None:
        if chunk.split != self.split:
            self._end_split()
            self.split = chunk.split
            prefix = "" if chunk.split == "train" else "test_"
            self.member = self.zip.open(f"{prefix}images.npy", "w", force_zip64=True)
            np.lib.format.write_array_header_1_0(self.member, {
                "descr": "|u1", "fortran_order": False,
                "shape": (self.sizes[chunk.split], *self.shape)})
        self.member.write(np.ascontiguousarray(chunk.images).tobytes())
        for key in ("labels", "confidence", "seeds"):
            if getattr(chunk, key) is not None:
                self.small.setdefault(key, []).append(getattr(chunk, key))

    def _end_split(self) -> None:
        if self.member is None:
            return
        self.member.close()
        prefix = "" if self.split == "train" else "test_"
        for key, parts in self.small.items():
            with self.zip.open(f"{prefix}{key}.npy", "w") as f:
                np.lib.format.write_array(f, np.concatenate(parts), allow_pickle=False)
        self.member, self.small = None, {}

    def finish(self) -> None:
        self._end_split()
        self.zip.close()

    def discard(self) -> None:
        with contextlib.suppress(Exception):  # a half member: the folder goes anyway
            if self.member is not None:
                self.member.close()
            self.zip.close()
        super().discard()


class DatasetSink:
    """An imported data set's folder (store.Writer streams the pixels into a memmap)."""

    def __init__(self, out, overwrite, info, sizes: dict[str, int]):
        self.info, self.sizes = info, sizes
        self.writer = Writer(out, sum(sizes.values()), info.shape, overwrite=overwrite,
                             owned=OWNED)
        self.labels, self.split = [], []
        self.staging, self.current = self.writer.tmp, self.writer.tmp / "pixels.npy"

    def write(self, chunk: Chunk) -> None:
        for img in chunk.images:
            self.writer.add(img if img.ndim == 2 else img.transpose(2, 0, 1))
        if chunk.labels is not None:
            self.labels.append(chunk.labels)
        self.split.append(np.full(len(chunk.images), TRAIN if chunk.split == "train"
                                  else TEST, np.uint8))

    def finish(self) -> None:
        """Nothing to close: the pixels are a memmap, the rest is written by commit()."""

    def files(self) -> list[str]:
        return ["pixels.npy", "split.npy", *(["labels.npy"] if self.labels else []),
                "manifest.json"]

    def commit(self, manifest: dict) -> None:
        labels = np.concatenate(self.labels).astype(np.int64) if self.labels else None
        split = np.concatenate(self.split)
        atomic_write_json(self.writer.tmp / MANIFEST, manifest)
        names = list(self.info.class_names) if labels is not None else []
        counts = np.bincount(labels, minlength=len(names)).tolist() if names else []
        self.writer.commit({
            "name": manifest["name"], "resolution": self.info.resolution,
            "channels": self.info.channels, "class_names": names,
            "counts_per_class": dict(zip(names, counts, strict=True)),
            "skipped_per_class": dict.fromkeys(names, 0),
            "pixels": {"file": "pixels.npy", "dtype": "uint8", "layout": "N x C x H x W",
                       "shape": [len(split), *self.info.shape]},
            "labels": "labels.npy" if labels is not None else None,
            "split": {"file": "split.npy", "values": {str(TRAIN): "train", str(TEST): "test"},
                      "seed": manifest["seed"], "test_fraction": None, "stratified": False,
                      "train": int((split == TRAIN).sum()), "test": int((split == TEST).sum())},
            "source": {"path": manifest["generator"]["path"], "kind": "generator"},
            "labels_from": manifest["labels_from"], "background": None,
            "order": "export order (seeds ascending, train split first)",
            "skipped": [], "skipped_counts": {}, "command": manifest["command"]}, labels, split)

    def discard(self) -> None:
        self.writer.discard()


def open_sink(fmt: str, out, overwrite: bool, info, sizes: dict[str, int], labelled: bool):
    """The writer of format `fmt` for images of data set `info` (a DatasetInfo)."""
    shape = (info.resolution, info.resolution) if info.channels == 1 else \
        (info.resolution, info.resolution, 3)
    if fmt == "idx":
        if max(sizes.values()) > idx.MAX_ITEMS:
            raise UserError(f"--n {max(sizes.values())}: the IDX header holds at most "
                            f"{idx.MAX_ITEMS} items a file; use npz or dataset")
        return IdxSink(out, overwrite, shape, sizes, labelled)
    if fmt == "png":
        if sizes.get("test"):
            raise UserError("--test-n: the png layout holds one split (class folders); use "
                            "idx, npz or dataset for a test split, or a second export")
        return PngSink(out, overwrite, info.class_names if labelled else (), sizes["train"])
    if fmt == "npz":
        return NpzSink(out, overwrite, shape, sizes)
    if fmt == "dataset":
        return DatasetSink(out, overwrite, info, sizes)
    raise UserError(f"--format {fmt}: one of {', '.join(FORMATS)}")
