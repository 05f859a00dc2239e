"""Atomic file writes: a crash leaves either the old file or the new one, never half of one."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path


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
