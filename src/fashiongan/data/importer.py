"""Import a folder (or .zip) of garment photos into a DATASET/ folder (store.py): the images
found and labelled (scan.py), decoded and prepared in a pool of processes (prepare.py), split
into train and test, and described by a manifest that names every skipped file and why.
"""

from __future__ import annotations

import io
import multiprocessing as mp
import os
import signal
import sys
import zipfile
from collections import Counter
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image

from fashiongan.data.prepare import MAX_FILE_BYTES, Options, open_image, prepare
from fashiongan.data.scan import NOT_UTF8, ORDER, UNSAFE, Source, assign_labels, scan
from fashiongan.data.store import TEST, TRAIN, Writer
from fashiongan.errors import UserError
from fashiongan.outputs import check_folder_output, printable

# ---------------------------------------------------------------- decoding, in a pool

_WORKER: dict = {}


def _init_worker(root: str, is_zip: bool, opts: Options, in_child: bool) -> None:
    if in_child:  # Ctrl-C is the parent's to handle: no traceback from every worker
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    _WORKER.update(root=root, is_zip=is_zip, opts=opts, zip=None)


def _decode(name: str):
    """(C x H x W bytes, None) or (None, reason)."""
    try:
        if _WORKER["is_zip"]:
            if _WORKER["zip"] is None:  # one handle per process, opened on first use
                _WORKER["zip"] = zipfile.ZipFile(_WORKER["root"])
            size = _WORKER["zip"].getinfo(name).file_size  # declared; read no more than it
            if size > MAX_FILE_BYTES:
                return None, _too_big(size)
            with _WORKER["zip"].open(name) as member:
                data = member.read(MAX_FILE_BYTES + 1)
            if len(data) > MAX_FILE_BYTES:
                return None, _too_big(len(data))
            if not data:
                return None, "empty file"
            fp = io.BytesIO(data)
        else:
            fp = os.path.join(_WORKER["root"], name)
            size = os.path.getsize(fp)
            if size == 0:
                return None, "empty file"
            if size > MAX_FILE_BYTES:
                return None, _too_big(size)
        with open_image(fp) as im:
            return prepare(im, _WORKER["opts"]).tobytes(), None
    except UserError as e:  # too many pixels
        return None, str(e)
    except Image.UnidentifiedImageError:
        return None, "not a readable image (unknown format or damaged)"
    except Exception as e:  # noqa: BLE001 - any decoder fault skips the file, named, not the run
        text = str(e).splitlines()[0] if str(e) else ""
        if "truncated" in text:
            return None, f"truncated ({text})"
        return None, f"unreadable ({type(e).__name__}: {text})"


def _too_big(size: int) -> str:
    return f"too large ({size / 2**20:,.0f} MB; the limit is {MAX_FILE_BYTES // 2**20} MB)"


def decode_all(source: Source, names: list[str], opts: Options, jobs: int, progress: bool):
    """Yields (index, C x H x W bytes or None, reason or None) in order of `names`."""
    from tqdm import tqdm

    args = (str(source.root), source.is_zip, opts)
    bar = tqdm(total=len(names), unit="img", desc="import", disable=not progress,
               file=sys.stderr, dynamic_ncols=True)
    try:
        if jobs <= 1 or len(names) < 64:  # a pool costs more than it saves on a handful
            _init_worker(*args, in_child=False)
            results = map(_decode, names)
            yield from _counted(results, bar)
        else:
            ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
            chunk = max(1, min(64, len(names) // (jobs * 8)))
            with ctx.Pool(jobs, initializer=_init_worker, initargs=(*args, True)) as pool:
                yield from _counted(pool.imap(_decode, names, chunksize=chunk), bar)
    finally:
        bar.close()


def _counted(results, bar):
    for i, (data, reason) in enumerate(results):
        bar.update(1)
        yield i, data, reason


def default_jobs() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


# ---------------------------------------------------------------- the import


def names_split(names: list[str]) -> np.ndarray:
    """uint8 per image: TEST where the file's name starts with 'test', TRAIN otherwise."""
    return np.array([TEST if PurePosixPath(n).name.lower().startswith("test") else TRAIN
                     for n in names], np.uint8)


def make_split(labels: np.ndarray | None, n: int, test_fraction: float, seed: int):
    """uint8 per image, TEST for round(fraction x count) images of each class (stratified, so
    a rare class is in both splits), chosen by a seeded permutation."""
    split = np.full(n, TRAIN, np.uint8)
    rng = np.random.default_rng(seed)
    groups = [np.arange(n)] if labels is None else [np.flatnonzero(labels == c)
                                                      for c in np.unique(labels)]
    for g in groups:
        k = int(round(len(g) * test_fraction))
        split[rng.permutation(g)[:k]] = TEST
    return split


def import_images(src, out, *, resolution: int = 64, channels: int = 3,
                  labels: str = "subfolders", test_fraction: float = 0.1, seed: int = 0,
                  split: str = "random",
                  background=(255, 255, 255), jobs: int | None = None, progress: bool = True,
                  overwrite: bool = False, command: list[str] | None = None,
                  log=None) -> dict:
    """Import SRC into OUT (see the module doc, and scan.py for the order and the labels);
    returns the manifest written.

    log(line) gets one line per unreadable file (default: stderr, beside the progress bar).
    split: "random" (a seeded, stratified `test_fraction`) or "names" (names_split).
    """
    from fashiongan.data.info import DatasetInfo

    if split not in ("random", "names"):
        raise UserError(f"--split must be random or names, got {split!r}")
    if not 0 <= test_fraction < 1:
        raise UserError(f"--test-fraction must be in [0, 1), got {test_fraction}")
    info = DatasetInfo(resolution, channels)  # checks resolution and channels
    if resolution > 1024:
        raise UserError(f"--resolution {resolution}: more than 1024 is not a GAN training size")
    opts = Options(resolution, channels, tuple(background))
    labels_file = None if labels in ("subfolders", "none") else Path(labels)
    check_folder_output(Path(out), {Path(src): "the folder being imported",
                                    labels_file: "the labels file"})
    source = scan(src)
    label_of, class_names, names = assign_labels(source, labels)
    if not names:
        why = _skip_text(Counter(r for _, r in source.skipped))
        raise UserError(f"{src}: no image to import ({why})")
    if log is None:
        from tqdm import tqdm

        def log(line):
            tqdm.write(line, file=sys.stderr)

    for path, reason in source.skipped:  # names no manifest could hold: told by name
        if reason in (NOT_UTF8, UNSAFE):
            log(f"skipped {path}: {reason}")
    shape = info.shape
    kept_labels, sources = [], []
    with Writer(out, len(names), shape, overwrite=overwrite) as w:
        for i, data, reason in decode_all(source, names, opts, jobs or default_jobs(), progress):
            if data is None:
                source.skipped.append((names[i], reason))
                log(f"skipped {printable(names[i])}: {printable(reason)}")
                continue
            w.add(np.frombuffer(data, np.uint8).reshape(shape))
            sources.append(names[i])
            if label_of is not None:
                kept_labels.append(label_of[i])
        if not sources:
            raise UserError(f"{src}: none of its {len(names)} image files could be read")
        lab = np.array(kept_labels, np.int64) if label_of is not None else None
        by_names = split == "names"
        split = names_split(sources) if by_names else make_split(lab, len(sources),
                                                                   test_fraction, seed)
        manifest = _manifest(src, labels, class_names, lab, split, sources, source, opts,
                             test_fraction, seed, command, names, label_of)
        if by_names:
            manifest["split"]["by"] = "names"
        return w.commit(manifest, lab, split)


def _manifest(src, labels, class_names, lab, split, sources, source, opts, test_fraction, seed,
              command, names, label_of) -> dict:
    counts = np.bincount(lab, minlength=len(class_names)).tolist() if lab is not None else []
    label_by_name = dict(zip(names, label_of, strict=True)) if label_of is not None else {}
    skipped_per_class = Counter(class_names[label_by_name[p]] for p, _ in source.skipped
                                if p in label_by_name)
    return {
        "name": printable(Path(src).stem),
        "resolution": opts.resolution,
        "channels": opts.channels,
        "class_names": list(class_names),
        "counts_per_class": dict(zip(class_names, counts, strict=True)),
        "skipped_per_class": {c: skipped_per_class.get(c, 0) for c in class_names},
        "pixels": {"file": "pixels.npy", "dtype": "uint8", "layout": "N x C x H x W",
                   "shape": [len(sources), opts.channels, opts.resolution, opts.resolution]},
        "labels": "labels.npy" if lab is not None else None,
        "split": {"file": "split.npy", "values": {str(TRAIN): "train", str(TEST): "test"},
                  "seed": seed, "test_fraction": test_fraction, "stratified": lab is not None,
                  "train": int((split == TRAIN).sum()), "test": int((split == TEST).sum())},
        "source": {"path": printable(str(Path(src).resolve())),
                   "kind": "zip" if source.is_zip else "folder"},
        "labels_from": labels if labels in ("subfolders", "none") else
        printable(str(Path(labels).resolve())),
        "background": "#" + "".join(f"{v:02x}" for v in opts.background),
        "order": ORDER,
        "sources": sources,
        "skipped": [{"path": p, "reason": r} for p, r in sorted(source.skipped)],
        "skipped_counts": dict(Counter(_reason_kind(r) for _, r in source.skipped)),
        "command": [printable(a) for a in (command if command is not None else sys.argv)],
    }


def _reason_kind(reason: str) -> str:
    return reason.split(" (")[0]


def _skip_text(counts: Counter) -> str:
    if not counts:
        return "the folder holds no files"
    return "skipped: " + ", ".join(f"{n} {r}" for r, n in sorted(counts.items()))

