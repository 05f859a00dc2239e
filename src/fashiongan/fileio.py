"""Where files go and how they get there: atomic writes (a crash leaves the old file or the new
one, never half of one), the one writability check every command makes before it works, disk
space, digests and the cache root. (What may be written where: outputs.py.)"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
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


def remembered_digest(path: str | os.PathLike, fresh: bool = False) -> str:
    """file_digest, hashed once and then remembered (in the cache root) for as long as the
    file (its inode) keeps its size, modification and change times: any edit changes its
    ctime, which no one can set back. A cache that cannot be written only costs the hash.
    fresh: hash it now whatever is remembered (and remember that)."""
    path = Path(path)
    st = path.stat()
    key = f"{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}"
    # by inode: a folder renamed into place (an import's last step) keeps its files' entries
    entry = cache_root() / "digests" / f"{st.st_dev}-{st.st_ino}.json"
    with contextlib.suppress(OSError, ValueError, AttributeError):
        record = {} if fresh else json.loads(entry.read_text())
        if record.get("key") == key and isinstance(record.get("sha256"), str):
            return record["sha256"]
    digest = file_digest(path)
    with contextlib.suppress(OSError):
        atomic_write_json(entry, {"key": key, "sha256": digest})
    return digest


def megabytes(n: int) -> str:
    return f"{n / 1e6:,.1f} MB"


def free_bytes(folder: Path) -> int | None:
    try:
        st = os.statvfs(folder)
        return st.f_bavail * st.f_frsize
    except OSError:
        return None


def preallocate(f, size: int, path: Path) -> None:
    """Reserve `size` bytes for an open file before writing it, so that a full disk is found
    now, in one line naming the file and the space it needs, instead of midway (or, through
    a sparse memory map, by SIGBUS). File systems without fallocate just go on."""
    try:
        os.posix_fallocate(f.fileno(), 0, size)
    except OSError as e:
        if e.errno in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
            return
        raise space_error(e, path, size) from None


def space_error(e: OSError, path: Path, needed: int | None = None) -> OSError:
    """An OSError naming `path` (the file meant, not a temp file) and, when the disk is full,
    how much the file needs and how much is free."""
    text = f"cannot write: {e.strerror or e}"
    if needed is not None and e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        where = Path(path).absolute().parent
        while not where.exists() and where != where.parent:  # a folder not yet renamed in
            where = where.parent
        free = free_bytes(where)
        text += f" (needs {megabytes(needed)}" + (f", {megabytes(free)} free" if free is not
                                                 None else "") + ")"
    return OSError(e.errno, text, str(path))


def as_written_to(e: OSError, staging: Path, out: Path, current: Path | None = None) -> OSError:
    """An OSError about a file in a staging folder, told of the file under its final name;
    `current`: the file being written, for an error that names none (zipfile, Pillow)."""
    name = e.filename or current
    if not name or not Path(name).is_relative_to(staging):
        return e if name else OSError(e.errno, f"cannot write: {e.strerror or e}", str(out))
    strerror = e.strerror or str(e)
    if not strerror.startswith("cannot write"):
        strerror = f"cannot write: {strerror}"
    return OSError(e.errno, strerror, str(out / Path(name).relative_to(staging)))


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
