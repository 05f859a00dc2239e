"""Finding the images under a folder (or .zip) to import, and their labels: from the first
level of subfolders (with classes.json's real names when present) or from a labels file.

Order: images are stored sorted by file name, digit runs compared as numbers (img2 before
img10), ties broken by the full relative path. Fashion-MNIST exported by
`classfolders.export_fmnist` is named by its original index, so importing it gives back the
original order.
"""

from __future__ import annotations

import json
import os
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np

from fashiongan.errors import UserError
from fashiongan.outputs import printable

IMAGE_EXTS = {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".bmp", ".dib", ".gif",
              ".tif", ".tiff"}
CLASSES_FILE = "classes.json"  # written by classfolders.py: real class names for its folders
# at the root: read as labels, or (export.json, what `fashiongan export` made) not an image
METADATA = {CLASSES_FILE, "dataset.json", "export.json"}
HIDDEN, NOT_IMAGE, NO_CLASS, UNLISTED = ("hidden", "not an image file", "not in a class folder",
                                         "not in the labels file")
ORDER = "file name (digit runs as numbers), then relative path"
MAX_CLASSES = 10_000  # integer labels beyond this are a slip, not a catalogue's categories
NOT_UTF8 = "file name is not valid UTF-8 (rename it to import it)"
UNSAFE = "unsafe path in the zip (absolute, or climbing out with ..)"


@dataclass
class Source:
    """What was found under SRC: the images to decode, with label keys, and what was skipped."""

    root: Path
    is_zip: bool
    images: list[str] = field(default_factory=list)  # relative paths (zip: member names)
    keys: list[str | None] = field(default_factory=list)  # label key per image (path parts)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)


# ---------------------------------------------------------------- finding the images


def _hidden(parts) -> bool:
    return any(p.startswith(".") or p == "__MACOSX" for p in parts)


def scan(src: str | os.PathLike) -> Source:
    """Walk a folder (recursively) or a .zip; hidden entries and non-image files are skipped
    here, by name; unreadable images only later, when decoded."""
    root = Path(src)
    if root.is_dir():
        out = Source(root, False)
        names = []
        for dirpath, dirnames, filenames in os.walk(root):
            rel_dir = Path(dirpath).relative_to(root)
            for d in sorted(dirnames):
                if _hidden([d]):
                    out.skipped.append((printable((rel_dir / d).as_posix() + "/"), HIDDEN))
            dirnames[:] = [d for d in dirnames if not _hidden([d])]  # do not descend
            names += [(rel_dir / f).as_posix() for f in filenames]
    elif root.is_file() and zipfile.is_zipfile(root):
        out = Source(root, True)
        try:
            with zipfile.ZipFile(root) as zf:
                names = [i.filename for i in zf.infolist() if not i.is_dir()]
        except (OSError, zipfile.BadZipFile) as e:
            raise UserError(f"{root}: unreadable zip file ({e})") from None
    elif root.exists():
        raise UserError(f"{root}: neither a folder nor a .zip file")
    else:
        raise UserError(f"{root}: does not exist")
    for name in names:
        parts = PurePosixPath(name).parts
        if not _utf8(name):  # cannot be written to the manifest, nor named to a person
            out.skipped.append((printable(name), NOT_UTF8))
        elif out.is_zip and (name.startswith(("/", "\\")) or ".." in parts
                             or re.match(r"[A-Za-z]:", name)):
            out.skipped.append((printable(name), UNSAFE))
        elif _hidden(parts):
            out.skipped.append((name, HIDDEN))
        elif len(parts) == 1 and name in METADATA:
            continue
        elif PurePosixPath(name).suffix.lower() not in IMAGE_EXTS:
            out.skipped.append((name, NOT_IMAGE))
        else:
            out.images.append(name)
    out.images.sort(key=order_key)
    out.skipped.sort()
    return out


def _utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
        return True
    except UnicodeEncodeError:  # os.walk gives undecodable bytes as surrogates
        return False


def order_key(rel: str):
    def natural(s: str):
        return [(0, int(t), "") if t.isdigit() else (1, 0, t)
                for t in re.split(r"(\d+)", s) if t]

    return natural(PurePosixPath(rel).name), rel


def _strip_common_root(names: list[str]) -> int:
    """How many leading folders all names share (a zip of a folder has one: its name)."""
    if not names:
        return 0
    first = PurePosixPath(names[0]).parts[:-1]
    depth = 0
    for i, part in enumerate(first):
        if all(len(PurePosixPath(n).parts) > i + 1 and PurePosixPath(n).parts[i] == part
               for n in names):
            depth += 1
        else:
            break
    return depth


# ---------------------------------------------------------------- labels


def assign_labels(source: Source, labels: str):
    """Returns (labels per kept image or None, class names, kept image paths). Images that
    get no label are moved to source.skipped."""
    if labels == "none":
        return None, (), list(source.images)
    if labels == "subfolders":
        return _subfolder_labels(source)
    path = Path(labels)
    if path.suffix.lower() != ".json" or not path.is_file():
        raise UserError(f"--labels {labels}: not 'subfolders', 'none' or an existing .json file")
    return _file_labels(source, path)


def _subfolder_labels(source: Source):
    # a zip usually holds one folder named after itself: its class folders lie below that
    depth = _strip_common_root(source.images) if source.is_zip else 0
    keys = []
    for name in source.images:
        parts = PurePosixPath(name).parts[depth:]
        keys.append(parts[0] if len(parts) > 1 else None)
    folders = sorted({k for k in keys if k is not None})
    names = folders
    meta = _read_classes_file(source, depth)
    if meta is not None:
        listed = dict(zip(meta["folders"], meta["names"], strict=True))
        unknown = [f for f in folders if f not in listed]
        if unknown:
            raise UserError(f"{source.root}: {CLASSES_FILE} does not list the folder "
                            f"{unknown[0]!r}")
        folders, names = list(meta["folders"]), list(meta["names"])
    index = {f: i for i, f in enumerate(folders)}
    out_labels, kept = [], []
    for name, key in zip(source.images, keys, strict=True):
        if key is None:
            source.skipped.append((name, NO_CLASS))
        else:
            out_labels.append(index[key])
            kept.append(name)
    return np.array(out_labels, np.int64), tuple(names), kept


def _read_classes_file(source: Source, depth: int) -> dict | None:
    """classes.json {"folders": [...], "names": [...]}: folder order = label order, and the
    real names (Fashion-MNIST's "T-shirt/top" cannot be a folder name)."""
    try:
        if source.is_zip:
            prefix = "/".join(PurePosixPath(source.images[0]).parts[:depth]) if depth else ""
            member = f"{prefix}/{CLASSES_FILE}" if prefix else CLASSES_FILE
            with zipfile.ZipFile(source.root) as zf:
                if member not in zf.namelist():
                    return None
                text = zf.read(member).decode("utf-8")
        else:
            f = source.root / CLASSES_FILE
            if not f.is_file():
                return None
            text = f.read_text(encoding="utf-8")
        meta = json.loads(text)
        if (len(meta["folders"]) != len(meta["names"])
                or not all(isinstance(x, str) for x in meta["folders"] + meta["names"])):
            raise ValueError("folders and names must be lists of strings of one length")
        return meta
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise UserError(f"{source.root}: {CLASSES_FILE} unreadable ({e})") from None


def _file_labels(source: Source, path: Path):
    """{"path": label, ...}, or stylegan2-ada's dataset.json {"labels": [["path", int], ...]}
    (optionally with "classes": [names]); labels are ints or class-name strings."""
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
        classes = None
        if isinstance(obj, dict) and "labels" in obj:
            classes = obj.get("classes")
            obj = obj["labels"]
        pairs = obj.items() if isinstance(obj, dict) else [tuple(p) for p in obj]
        table = {PurePosixPath(str(p)).as_posix().removeprefix("./"): v for p, v in pairs}
    except (OSError, ValueError, TypeError, RecursionError) as e:
        raise UserError(f"--labels {path}: not a labels file ({type(e).__name__}: "
                        f"{str(e)[:200]})") from None
    if classes is not None and (not isinstance(classes, list) or not all(
            isinstance(c, str) and c for c in classes) or len(set(classes)) != len(classes)):
        raise UserError(f"--labels {path}: classes must be a list of different class names "
                        "(non-empty strings)")
    values = [v for v in table.values() if v is not None]
    if not values:  # stylegan2-ada writes "labels": null entries for unlabelled sets
        return None, (), [n for n in source.images if _lookup(table, n, source) is not _MISSING]
    if all(isinstance(v, str) and v for v in values):
        names = tuple(sorted(set(values)))
        code = {n: i for i, n in enumerate(names)}
    elif all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in values):
        top = max(values)  # checked before any name is made: a label of 10^11 is a typo
        if top >= (len(classes) if classes else MAX_CLASSES):
            raise UserError(f"--labels {path}: label {top} but "
                            + (f"{len(classes)} classes" if classes else
                               f"at most {MAX_CLASSES} classes (0..{MAX_CLASSES - 1})"))
        names = tuple(classes) if classes else tuple(str(i) for i in range(top + 1))
        code = None
    else:
        raise UserError(f"--labels {path}: labels must be all class names or all integers >= 0")
    out_labels, kept = [], []
    for name in source.images:
        v = _lookup(table, name, source)
        if v is _MISSING or v is None:
            source.skipped.append((name, UNLISTED))
            continue
        out_labels.append(code[v] if code else v)
        kept.append(name)
    return np.array(out_labels, np.int64), names, kept


_MISSING = object()


def _lookup(table: dict, name: str, source: Source):
    if name in table:
        return table[name]
    if source.is_zip:  # also accept paths below the zip's own top folder
        parts = PurePosixPath(name).parts
        return table.get("/".join(parts[1:]), _MISSING) if len(parts) > 1 else _MISSING
    return _MISSING

