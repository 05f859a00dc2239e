"""What a command may write where: a folder is replaced only when it is provably fashiongan's,
no output may be one of the command's inputs (or an existing file the user did not name), and
folders are built beside their destination and renamed into place."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fashiongan.errors import UserError
from fashiongan.fileio import check_writable

# --- what may be replaced, and what may not be written at all ------------------------------

@dataclass(frozen=True)
class Owned:
    """How a folder made by fashiongan is told from a person's: its `marker` (a JSON file)
    parses and `ours(content)` accepts it (its "format" names the format), and every other
    path in it (relative, POSIX; a folder with a trailing /) is one `expected(rel, content)`
    accepts. Only such a folder is ever replaced (--overwrite): a web project's manifest.json,
    or a data set with a person's notes beside it, is not."""

    marker: str
    kind: str  # named in the refusal: "a fashiongan-dataset manifest"
    ours: Callable[[dict], bool]
    expected: Callable[[str, dict], bool]


def why_not_ours(folder: Path, owned: Owned) -> str | None:
    """None when `folder` is provably fashiongan's (Owned); else what says it is not."""
    mpath = folder / owned.marker
    try:
        content = json.loads(mpath.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return f"not made by fashiongan (no {owned.marker})"
    except (OSError, ValueError, RecursionError):
        return f"{owned.marker} is unreadable, not {owned.kind}"
    if not isinstance(content, dict) or not owned.ours(content):
        return f"{owned.marker} is not {owned.kind}"
    for dirpath, dirnames, filenames in os.walk(folder):
        rel_dir = Path(dirpath).relative_to(folder)
        for name, tail in [*((d, "/") for d in sorted(dirnames)),
                           *((f, "") for f in sorted(filenames))]:
            rel = (rel_dir / name).as_posix() + tail
            if rel != owned.marker and not owned.expected(rel, content):
                return f"holds {printable(rel)}, which fashiongan did not write"
    return None


def same_path(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """a and b are one file or folder: the same path once resolved, or the same inode (a
    hard link, a bind mount)."""
    a, b = Path(a), Path(b)
    if a.resolve() == b.resolve():
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def inside(inner: str | os.PathLike, outer: str | os.PathLike) -> bool:
    """inner is outer or lies below it (paths resolved)."""
    inner, outer = Path(inner).resolve(), Path(outer).resolve()
    return inner == outer or outer in inner.parents


def check_outputs(outputs: dict, inputs=(), derived=()) -> None:
    """Every output a command is about to write, checked before any work: `outputs` maps the
    option that names it ("--json") to its path (None: not written). Each can be written
    (check_writable), is none of `inputs` (a file read is never the file written), is not
    another output, and when its option is in `derived` (a path the user did not name, such
    as the PNG beside --json) does not replace an existing file that fashiongan did not
    write."""
    inputs = [Path(i) for i in inputs if i is not None]
    seen: dict[Path, str] = {}
    for option, path in outputs.items():
        if path is None:
            continue
        path = Path(path)
        for other, other_option in seen.items():
            if same_path(path, other):
                raise UserError(f"{other_option} and {option} name the same file ({path})")
        for i in inputs:
            if i.exists() and same_path(path, i):
                raise UserError(f"{option} {path}: is an input of this command; refusing to "
                                "write over it (name another file)")
        check_writable(path)
        if option in derived and path.exists() and not written_by_fashiongan(path):
            hint = (f"name a file with {option}: that one, to replace it" if " " not in option
                    else option)
            raise UserError(f"{path}: exists and was not written by fashiongan; refusing to "
                            f"replace it ({hint})")
        seen[path] = option


def check_folder_output(out: Path, inputs: dict) -> None:
    """A folder a command builds and renames into place (replacing it with --overwrite) is
    none of its `inputs` (path -> what it is: "the folder being imported") and holds none."""
    for i, what in inputs.items():
        if i is None or not Path(i).exists():
            continue
        if same_path(out, i):
            raise UserError(f"--out {out}: is {what}; refusing to write over it")
        if inside(i, out):
            raise UserError(f"--out {out}: holds {what} ({i}); refusing to write over it")


def written_by_fashiongan(path: Path) -> bool:
    """Whether an existing result file is one of ours, so writing it again loses nothing:
    a PNG stamped Software=fashiongan (imageio.save_png), a JSON result that names a
    fashiongan command or format, a safetensors file with fashiongan's metadata."""
    try:
        with open(path, "rb") as f:
            head = f.read(1 << 16)
    except OSError:
        return False
    if head.startswith(PNG_SIGNATURE):
        return PNG_STAMP in _png_text(head)
    if path.suffix == ".safetensors" and len(head) > 8:
        return b'"__metadata__"' in head[8:] and (b'"feature_dim"' in head or
                                                   b'"fashiongan"' in head)
    try:
        obj = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return False
    if not isinstance(obj, dict):
        return False
    return ("fashiongan" in str(obj.get("command", "")) or
            str(obj.get("format", "")).startswith("fashiongan") or
            ("recipe" in obj and "sha256" in obj))


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_STAMP = ("Software", "fashiongan")  # the tEXt chunk imageio.save_png writes


def _png_text(head: bytes) -> set[tuple[str, str]]:
    """The (keyword, text) pairs of the tEXt chunks before the image data."""
    out, pos = set(), len(PNG_SIGNATURE)
    while pos + 8 <= len(head):
        size, kind = int.from_bytes(head[pos:pos + 4], "big"), head[pos + 4:pos + 8]
        if kind in (b"IDAT", b"IEND"):
            break
        if kind == b"tEXt":
            key, _, text = head[pos + 8:pos + 8 + size].partition(b"\0")
            out.add((key.decode("latin-1"), text.decode("latin-1")))
        pos += 12 + size
    return out


def printable(text: str) -> str:
    """A name as one printable line: control characters (a newline in a file name) and bytes
    that are not UTF-8 shown escaped, so that no name can start a forged line of output."""
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                   for c in text)


# --- folders built beside their destination ----------------------------------------------

def replace_folder(tmp: Path, out: Path, overwrite: bool, owned: Owned) -> None:
    """Rename the finished folder tmp to out; an existing non-empty out is replaced only with
    overwrite and when it is provably ours (checked again: it may have changed meanwhile)."""
    old = None
    if out.exists() and not is_empty_dir(out):
        check_out(out, overwrite, owned)
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        os.rename(out, old)
    elif out.exists():
        out.rmdir()
    os.rename(tmp, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    fsync_dir(out.parent)


def staging_folder(out: Path, overwrite: bool, owned: Owned, doing: str) -> Path:
    """A hidden folder beside out to build it in, once out is known to be writable
    (check_out); replace_folder() renames it into place."""
    check_out(out, overwrite, owned)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.{doing}-"))
    except OSError as e:
        raise UserError(f"--out {out}: cannot write there ({e.strerror or e})") from None


def check_out(out: Path, overwrite: bool, owned: Owned) -> None:
    """out may be written: absent, an empty folder, or with overwrite a folder that is
    provably fashiongan's (why_not_ours), never some other folder a typo named."""
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: exists and is not a folder")
    if out.is_dir() and not is_empty_dir(out) and not overwrite:
        raise UserError(f"--out {out}: exists and is not empty; give --overwrite to replace it")
    if out.is_dir() and overwrite and not is_empty_dir(out):
        why = why_not_ours(out, owned)
        if why:
            raise UserError(f"--out {out}: {why}; refusing to replace it")


def is_empty_dir(p: Path) -> bool:
    try:
        return p.is_dir() and not any(p.iterdir())
    except OSError:
        return False


def fsync_dir(d: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(d, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
