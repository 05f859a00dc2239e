"""Import a folder (or .zip) of garment photos into a DATASET/ folder (store.py), and export
Fashion-MNIST as such a folder.

Order: images are stored sorted by file name, digit runs compared as numbers (img2 before
img10), ties broken by the full relative path. Fashion-MNIST exported by `export_fmnist` is
named by its original index, so importing it gives back the original order.

Every image becomes square by padding (never stretching) with the background colour, then
is resized with LANCZOS (after Pillow's JPEG draft mode and reduce() for big shrinks, which
is how Image.thumbnail keeps quality while decoding 4-16x less).
"""

from __future__ import annotations

import io
import json
import multiprocessing as mp
import os
import re
import shutil
import signal
import sys
import tempfile
import unicodedata
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image, ImageColor, ImageOps

from fashiongan.data.store import TEST, TRAIN, Writer
from fashiongan.errors import UserError

IMAGE_EXTS = {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".bmp", ".dib", ".gif",
              ".tif", ".tiff"}
CLASSES_FILE = "classes.json"  # written by export_fmnist: real class names for its folders
# at the root: read as labels, or (export.json, what `fashiongan export` made) not an image
METADATA = {CLASSES_FILE, "dataset.json", "export.json"}
HIDDEN, NOT_IMAGE, NO_CLASS, UNLISTED = ("hidden", "not an image file", "not in a class folder",
                                         "not in the labels file")
ORDER = "file name (digit runs as numbers), then relative path"


@dataclass
class Options:
    resolution: int = 64
    channels: int = 3
    background: tuple[int, int, int] = (255, 255, 255)


@dataclass
class Source:
    """What was found under SRC: the images to decode, with label keys, and what was skipped."""

    root: Path
    is_zip: bool
    images: list[str] = field(default_factory=list)  # relative paths (zip: member names)
    keys: list[str | None] = field(default_factory=list)  # label key per image (path parts)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)


def parse_background(text: str) -> tuple[int, int, int]:
    try:
        rgb = ImageColor.getrgb(text)
    except ValueError:
        raise UserError(f"--background {text}: not a colour (white, black, #RRGGBB...)") from None
    return tuple(rgb[:3])


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
                    out.skipped.append(((rel_dir / d).as_posix() + "/", HIDDEN))
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
        if _hidden(parts):
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
    except (OSError, ValueError, TypeError) as e:
        raise UserError(f"--labels {path}: not a labels file ({e})") from None
    values = [v for v in table.values() if v is not None]
    if not values:  # stylegan2-ada writes "labels": null entries for unlabelled sets
        return None, (), [n for n in source.images if _lookup(table, n, source) is not _MISSING]
    if all(isinstance(v, str) for v in values):
        names = tuple(sorted(set(values)))
        code = {n: i for i, n in enumerate(names)}
    elif all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in values):
        names = tuple(classes) if classes else tuple(str(i) for i in range(max(values) + 1))
        if max(values) >= len(names):
            raise UserError(f"--labels {path}: label {max(values)} but {len(names)} classes")
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


# ---------------------------------------------------------------- decoding


def prepare(im: Image.Image, opts: Options) -> np.ndarray:
    """One opened image -> uint8 C x H x W at opts.resolution, on opts.background."""
    res = opts.resolution
    im = upright(im, 2 * res, opts.background)  # 2x the target kept, as Image.thumbnail does
    im = im.convert("L" if opts.channels == 1 else "RGB")
    im = resize_square(pad_square(im, opts.background), res)
    a = np.asarray(im, dtype=np.uint8)
    return a[None] if a.ndim == 2 else a.transpose(2, 0, 1)


def upright(im: Image.Image, keep: int, background) -> Image.Image:
    """An opened image as L or RGB pixels the right way up, transparency on `background`;
    a JPEG is decoded at 1/2..1/8 scale in libjpeg when its longer side stays >= `keep`."""
    if im.format == "JPEG":
        w, h = im.size
        m = max(w, h)
        im.draft(None, (max(1, keep * w // m), max(1, keep * h // m)))
    im = ImageOps.exif_transpose(im)  # phone photos store "rotate me" instead of rotating
    return _to_rgb_or_l(im, background)


def pad_square(im: Image.Image, background) -> Image.Image:
    """Pad, never stretch, to a square, the image centred: a garment's proportions are what
    it is. `background` is an RGB triple (its grey for an L image)."""
    w, h = im.size
    if w == h:
        return im
    side = max(w, h)
    fill = tuple(background) if im.mode == "RGB" else _grey(background)
    canvas = Image.new(im.mode, (side, side), fill)
    canvas.paste(im, ((side - w) // 2, (side - h) // 2))
    return canvas


def resize_square(im: Image.Image, res: int) -> Image.Image:
    """A square image to res x res, LANCZOS (with reduce() first for big shrinks)."""
    if im.size[0] == res:
        return im
    return im.resize((res, res), Image.Resampling.LANCZOS,
                     reducing_gap=3.0 if im.size[0] >= 3 * res else None)


def _grey(rgb) -> int:
    return Image.new("RGB", (1, 1), tuple(rgb)).convert("L").getpixel((0, 0))


def _to_rgb_or_l(im: Image.Image, background) -> Image.Image:
    if im.mode.startswith("I") or im.mode == "F":
        a = np.asarray(im)
        if im.mode == "F":  # Pillow's own F -> L rule: values are 0..255, clipped
            a8 = np.clip(np.rint(a), 0, 255)
        else:  # 16-bit grey (PNG I;16, or I holding 0..65535): 65535 -> 255, rounded
            a8 = (np.clip(a.astype(np.int64), 0, 65535) * 255 + 32767) // 65535
        return Image.fromarray(a8.astype(np.uint8), "L")
    has_alpha = im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info
    if has_alpha:
        rgba = im.convert("RGBA")
        base = Image.new("RGBA", rgba.size, (*background, 255))
        return Image.alpha_composite(base, rgba).convert("RGB")
    if im.mode in ("L", "RGB"):
        return im
    if im.mode == "1":
        return im.convert("L")
    return im.convert("RGB")  # P, CMYK (Pillow undoes Adobe's inverted CMYK), YCbCr, LAB, HSV


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
            data = _WORKER["zip"].read(name)
            if not data:
                return None, "empty file"
            fp = io.BytesIO(data)
        else:
            fp = os.path.join(_WORKER["root"], name)
            if os.path.getsize(fp) == 0:
                return None, "empty file"
        with Image.open(fp) as im:
            return prepare(im, _WORKER["opts"]).tobytes(), None
    except Image.UnidentifiedImageError:
        return None, "not a readable image (unknown format or damaged)"
    except Exception as e:  # noqa: BLE001 - any decoder fault skips the file, named, not the run
        text = str(e).splitlines()[0] if str(e) else ""
        if "truncated" in text:
            return None, f"truncated ({text})"
        return None, f"unreadable ({type(e).__name__}: {text})"


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
                  background=(255, 255, 255), jobs: int | None = None, progress: bool = True,
                  overwrite: bool = False, command: list[str] | None = None,
                  log=None) -> dict:
    """Import SRC into OUT (see the module doc); returns the manifest written.

    log(line) gets one line per unreadable file (default: stderr, beside the progress bar).
    """
    from fashiongan.data.info import DatasetInfo

    if not 0 <= test_fraction < 1:
        raise UserError(f"--test-fraction must be in [0, 1), got {test_fraction}")
    info = DatasetInfo(resolution, channels)  # checks resolution and channels
    if resolution > 1024:
        raise UserError(f"--resolution {resolution}: more than 1024 is not a GAN training size")
    opts = Options(resolution, channels, tuple(background))
    source = scan(src)
    label_of, class_names, names = assign_labels(source, labels)
    if not names:
        why = _skip_text(Counter(r for _, r in source.skipped))
        raise UserError(f"{src}: no image to import ({why})")
    if log is None:
        from tqdm import tqdm

        def log(line):
            tqdm.write(line, file=sys.stderr)

    shape = info.shape
    kept_labels, sources = [], []
    with Writer(out, len(names), shape, overwrite=overwrite) as w:
        for i, data, reason in decode_all(source, names, opts, jobs or default_jobs(), progress):
            if data is None:
                source.skipped.append((names[i], reason))
                log(f"skipped {names[i]}: {reason}")
                continue
            w.add(np.frombuffer(data, np.uint8).reshape(shape))
            sources.append(names[i])
            if label_of is not None:
                kept_labels.append(label_of[i])
        if not sources:
            raise UserError(f"{src}: none of its {len(names)} image files could be read")
        lab = np.array(kept_labels, np.int64) if label_of is not None else None
        split = make_split(lab, len(sources), test_fraction, seed)
        manifest = _manifest(src, labels, class_names, lab, split, sources, source, opts,
                             test_fraction, seed, command, names, label_of)
        return w.commit(manifest, lab, split)


def _manifest(src, labels, class_names, lab, split, sources, source, opts, test_fraction, seed,
              command, names, label_of) -> dict:
    counts = np.bincount(lab, minlength=len(class_names)).tolist() if lab is not None else []
    label_by_name = dict(zip(names, label_of, strict=True)) if label_of is not None else {}
    skipped_per_class = Counter(class_names[label_by_name[p]] for p, _ in source.skipped
                                if p in label_by_name)
    return {
        "name": Path(src).stem,
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
        "source": {"path": str(Path(src).resolve()), "kind": "zip" if source.is_zip else "folder"},
        "labels_from": labels if labels in ("subfolders", "none") else str(Path(labels).resolve()),
        "background": "#" + "".join(f"{v:02x}" for v in opts.background),
        "order": ORDER,
        "sources": sources,
        "skipped": [{"path": p, "reason": r} for p, r in sorted(source.skipped)],
        "skipped_counts": dict(Counter(_reason_kind(r) for _, r in source.skipped)),
        "command": list(command) if command is not None else sys.argv,
    }


def _reason_kind(reason: str) -> str:
    return reason.split(" (")[0]


def _skip_text(counts: Counter) -> str:
    if not counts:
        return "the folder holds no files"
    return "skipped: " + ", ".join(f"{n} {r}" for r, n in sorted(counts.items()))


# ---------------------------------------------------------------- Fashion-MNIST export

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


def export_fmnist(out, split: str = "train", data_dir=None, limit: int = 0,
                  progress: bool = True, overwrite: bool = False) -> tuple[Path, int]:
    """Fashion-MNIST as OUT/<class folder>/<index>.png (index zero-padded, its place in the
    split) plus OUT/classes.json with the real names; importing OUT with --resolution 28
    --channels 1 gives back the same pixels and labels in the same order."""
    from tqdm import tqdm

    from fashiongan.data import CLASS_NAMES, load

    if split not in ("train", "test"):
        raise UserError(f"--split must be train or test, got {split!r}")
    x, y = load(split, data_dir)
    x, y = x.numpy(), y.numpy()
    if limit:
        x, y = x[:limit], y[:limit]
    folders = class_folders(CLASS_NAMES)
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        if not overwrite:
            raise UserError(f"{out}: exists and is not empty; give --overwrite to replace it")
        if not (out / CLASSES_FILE).is_file():  # replace an export, never some other folder
            raise UserError(f"{out}: not an export (no {CLASSES_FILE}); refusing to replace it")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.exporting-"))
    except OSError as e:
        raise UserError(f"{out}: cannot write there ({e.strerror or e})") from None
    try:
        for f in folders:
            (tmp / f).mkdir()
        width = len(str(len(x) - 1))
        for i in tqdm(range(len(x)), unit="img", desc="export", disable=not progress,
                      file=sys.stderr):
            Image.fromarray(x[i], "L").save(tmp / folders[y[i]] / f"{i:0{width}d}.png")
        write_classes_file(tmp, folders, CLASS_NAMES, f"fashion-mnist {split}",
                           "file name = index in the split")
        os.chmod(tmp, 0o755)
        if out.exists():
            shutil.rmtree(out) if overwrite else out.rmdir()
        os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out, len(x)
