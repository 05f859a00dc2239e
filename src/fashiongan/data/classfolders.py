"""Class folders: a class name as a folder name on any file system, the classes.json that
keeps the real names, and Fashion-MNIST exported as such a folder (one subfolder per class).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import unicodedata
from pathlib import Path

from PIL import Image

from fashiongan.data.fmnist import CLASS_NAMES
from fashiongan.data.scan import CLASSES_FILE
from fashiongan.errors import UserError
from fashiongan.fileio import as_written_to
from fashiongan.outputs import Owned, replace_folder, staging_folder

_UNSAFE = re.compile(r'[/\\:*?"<>|\x00-\x1f]')


def folder_name(name: str) -> str:
    """A class name as a folder name on any file system: "T-shirt/top" -> "T-shirt_top"."""
    safe = _UNSAFE.sub("_", unicodedata.normalize("NFC", name)).rstrip(" .")
    return safe or "_"


def class_folders(names) -> list[str]:
    """One folder name per class name, safe on any file system and all different."""
    folders = []
    for name in names:
        f = folder_name(name)
        while f in folders:  # two names that sanitise alike stay apart
            f += "_"
        folders.append(f)
    return folders


def write_classes_file(root: Path, folders, names, source: str, order: str) -> None:
    """root/classes.json: which folder is which class (folder order = label order), and the
    real names, which `data import` reads back."""
    (root / CLASSES_FILE).write_text(json.dumps(
        {"folders": list(folders), "names": list(names), "source": source, "order": order},
        indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def _fmnist_file(rel: str, meta: dict) -> bool:
    folder, _, name = rel.partition("/")
    return folder in meta["folders"] and (name == "" or bool(re.fullmatch(r"\d+\.png", name)))


# `data export-fmnist` replaces only its own earlier export: Fashion-MNIST's class folders of
# numbered PNGs, and a classes.json that says so (a person's class folders have their own)
FMNIST_EXPORT = Owned(CLASSES_FILE, "a Fashion-MNIST export's classes.json",
                      ours=lambda m: m.get("source") in ("fashion-mnist train",
                                                         "fashion-mnist test")
                      and m.get("folders") == class_folders(CLASS_NAMES),
                      expected=_fmnist_file)


def export_fmnist(out, split: str = "train", data_dir=None, limit: int = 0,
                  progress: bool = True, overwrite: bool = False) -> tuple[Path, int]:
    """Fashion-MNIST as OUT/<class folder>/<index>.png (index zero-padded, its place in the
    split) plus OUT/classes.json with the real names; importing OUT with --resolution 28
    --channels 1 gives back the same pixels and labels in the same order."""
    from tqdm import tqdm

    from fashiongan.data import load

    if split not in ("train", "test"):
        raise UserError(f"--split must be train or test, got {split!r}")
    x, y = load(split, data_dir)
    x, y = x.numpy(), y.numpy()
    if limit:
        x, y = x[:limit], y[:limit]
    folders = class_folders(CLASS_NAMES)
    out = Path(out)
    tmp = staging_folder(out, overwrite, FMNIST_EXPORT, "exporting")
    current = tmp / CLASSES_FILE  # the file being written, named by a write error
    try:
        for f in folders:
            (tmp / f).mkdir()
        width = len(str(len(x) - 1))
        for i in tqdm(range(len(x)), unit="img", desc="export", disable=not progress,
                      file=sys.stderr):
            current = tmp / folders[y[i]] / f"{i:0{width}d}.png"
            Image.fromarray(x[i], "L").save(current)
        current = tmp / CLASSES_FILE
        write_classes_file(tmp, folders, CLASS_NAMES, f"fashion-mnist {split}",
                           "file name = index in the split")
        os.chmod(tmp, 0o755)
        replace_folder(tmp, out, overwrite, FMNIST_EXPORT)
    except BaseException as e:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(e, OSError):  # disk full...: the file of OUT meant, not the temp one
            raise as_written_to(e, tmp, out, current) from None
        raise
    return out, len(x)
