"""export.json, the description beside every export, and reading an export back.

It names the generator (its file's SHA-256, model, data set), the command, the seeds (the
first of each split and how many were tried: with them the export can be made again), the
class counts, the judge and the filter, each file's SHA-256 (idx, npz) and the audit's figures
(metrics/audit.py: how many images lie closer to a training image than real unseen images do).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from fashiongan.data.store import open_dataset, read_format_json
from fashiongan.errors import UserError
from fashiongan.export import idx
from fashiongan.export.formats import FORMAT, IDX_PREFIX, MANIFEST, NPZ_FILE
from fashiongan.fileio import file_digest
from fashiongan.imageio import from_nchw

FORMAT_VERSION = 1


def file_records(root: Path, names: list[str]) -> dict:
    return {n: {"sha256": file_digest(root / n), "bytes": (root / n).stat().st_size}
            for n in names}


def read_manifest(folder: str | Path) -> dict:
    return read_format_json(Path(folder) / MANIFEST, FORMAT, "an export made by "
                            "`fashiongan export`")


def is_export(path: str | Path) -> bool:
    return (Path(path) / MANIFEST).is_file()


def read_export(folder: str | Path, split: str = "train"):
    """(images uint8 in the sample layout, labels int64 or None, manifest) of an export."""
    folder = Path(folder)
    m = read_manifest(folder)
    fmt = m.get("export_format")
    try:
        if fmt == "idx":
            images = idx.read(folder / f"{IDX_PREFIX[split]}-images-idx"
                                       f"{3 if m['channels'] == 1 else 4}-ubyte.gz")
            lab = folder / f"{IDX_PREFIX[split]}-labels-idx1-ubyte.gz"
            labels = idx.read(lab).astype(np.int64) if lab.is_file() else None
        elif fmt == "npz":
            prefix = "" if split == "train" else "test_"
            with np.load(folder / NPZ_FILE, allow_pickle=False) as z:
                images = z[f"{prefix}images"]
                labels = z[f"{prefix}labels"] if f"{prefix}labels" in z.files else None
        elif fmt == "png":
            images, labels = _read_png(folder, m)
        elif fmt == "dataset":
            ds = open_dataset(folder)
            x, labels = ds.train() if split == "train" else ds.test()
            images = from_nchw(x)
        else:
            raise UserError(f"{folder / MANIFEST}: unknown export format {fmt!r}")
    except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError) as e:
        raise UserError(f"{folder}: a damaged {fmt} export ({type(e).__name__}: "
                        f"{str(e)[:200]})") from None
    return images, None if labels is None else np.asarray(labels, np.int64), m


def _read_png(folder: Path, m: dict):
    """The PNGs in export order (their file names), labels from their class folders."""
    found = []
    folders = json.loads((folder / "classes.json").read_text(encoding="utf-8"))["folders"] \
        if (folder / "classes.json").is_file() else []
    for label, sub in enumerate(folders or [""]):
        for p in (folder / sub).glob("*.png"):
            found.append((int(p.stem), label if folders else None, p))
    found.sort(key=lambda t: t[0])
    images = np.stack([np.asarray(Image.open(p)) for _, _, p in found])
    labels = np.array([lab for _, lab, _ in found], np.int64) if folders else None
    return images, labels
