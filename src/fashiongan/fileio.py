"""Where files go and how they get there: atomic writes (a crash leaves the old file or the new
one, never half of one), folders staged beside their destination and renamed into place, the one
writability check every command makes before it works, and the cache root."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from fashiongan.errors import UserError


def cache_root() -> Path:
    """Where imported data sets, reference statistics and the Fashion-MNIST download live:
    $FASHIONGAN_CACHE when set and not empty, else ~/.cache/fashiongan."""
    return Path(os.environ.get("FASHIONGAN_CACHE") or Path.home() / ".cache" / "fashiongan")


def check_writable(out: str | os.PathLike) -> Path:
    """out can be created as a file: not a folder, its folder exists and takes a new file (a
    temp file is made and removed; os.access would say yes to root on a read-only mount)."""
    out = Path(out)
    parent = out.parent if str(out.parent) else Path(".")
    if out.is_dir():
        raise UserError(f"{out}: cannot write: is a directory (it is a folder, not a file)")
    if parent.exists() and not parent.is_dir():
        raise UserError(f"{out}: {parent} is not a folder")
    if not parent.is_dir():
        raise UserError(f"{out}: folder {parent} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(dir=parent, prefix=f".{out.name}.", suffix=".tmp")
        os.close(fd)
        os.unlink(tmp)
    except OSError as e:
        raise UserError(f"{out}: cannot write: {e.strerror or e}") from None
    return out


def file_digest(path: str | os.PathLike, algorithm: str = "sha256") -> str:
    """Hex digest of a file's bytes, read in blocks (hashlib.file_digest: no copy in Python)."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, algorithm).hexdigest()


def umask() -> int:
    """The process umask, read without changing it (os.umask sets while it reads, which races
    with the studio's threads); Linux reports it in /proc/self/status."""
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status") as f:
        for line in f:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    old = os.umask(0o022)
    os.umask(old)
    return old


def plain_open_mode(path: Path) -> int:
    """The mode `open(path, "w")` would leave: an existing file keeps its own, a new one gets
    0666 less the umask. mkstemp makes 0600 files, which would hide results from other users
    and web servers."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return 0o666 & ~umask()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[str]:
    """A temp file beside `path` to write to inside the block; on leaving it the file is
    fsynced, given the mode a plain open() would give it and os.replace'd in. An exception
    (or an interrupt) deletes it instead, so `path` never holds half a file. Streaming
    writers hold the block open across many writes (export/idx.py)."""
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(fd)
        yield tmp
        with open(tmp, "rb+") as f:
            os.fchmod(f.fileno(), plain_open_mode(path))
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        if isinstance(e, OSError):  # disk full, no permission...: name the file meant, not tmp
            raise OSError(e.errno, f"cannot write: {e.strerror or e}", str(path)) from e
        raise


def atomic_write(path: str | os.PathLike, write: Callable[[str], None]) -> Path:
    """Call write(tmp_path) on a temp file beside `path`, fsync it, then os.replace it in; the
    file ends with the mode a plain open() would give it."""
    with atomic_path(path) as tmp:
        write(tmp)
    return Path(path)


def atomic_write_bytes(path, data: bytes) -> Path:
    def write(tmp):
        with open(tmp, "wb") as f:
            f.write(data)

    return atomic_write(path, write)


def atomic_write_json(path, obj) -> Path:
    return atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())


# --- folders built beside their destination ----------------------------------------------

def replace_folder(tmp: Path, out: Path, overwrite: bool, marker: str) -> None:
    """Rename the finished folder tmp to out; an existing non-empty out is replaced only with
    overwrite and when it holds `marker` (checked again: it may have appeared meanwhile)."""
    old = None
    if out.exists() and not is_empty_dir(out):
        check_out(out, overwrite, marker)
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        os.rename(out, old)
    elif out.exists():
        out.rmdir()
    os.rename(tmp, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    fsync_dir(out.parent)


def staging_folder(out: Path, overwrite: bool, marker: str, doing: str) -> Path:
    """A hidden folder beside out to build it in, once out is known to be writable
    (check_out); replace_folder() renames it into place."""
    check_out(out, overwrite, marker)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.{doing}-"))
    except OSError as e:
        raise UserError(f"--out {out}: cannot write there ({e.strerror or e})") from None


def check_out(out: Path, overwrite: bool, marker: str) -> None:
    """out may be written: absent, an empty folder, or with overwrite a folder holding
    `marker` (a data set's manifest, an export's), never some other folder a typo named."""
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: exists and is not a folder")
    if out.is_dir() and not is_empty_dir(out) and not overwrite:
        raise UserError(f"--out {out}: exists and is not empty; give --overwrite to replace it")
    if out.is_dir() and overwrite and not is_empty_dir(out) and not (out / marker).is_file():
        raise UserError(f"--out {out}: not made by fashiongan (no {marker}); refusing to "
                        "replace it")


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
