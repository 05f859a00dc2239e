"""Where files go and how they get there: atomic writes (a crash leaves the old file or the new
one, never half of one), folders staged beside their destination and renamed into place, the one
writability check every command makes before it works, and the cache root."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
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
