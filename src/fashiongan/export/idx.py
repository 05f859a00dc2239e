"""IDX files, the layout of the original MNIST and Fashion-MNIST files, written as a stream.

Layout (LeCun's MNIST page): a 4-byte big-endian magic 0x00 0x00 <type> <ndim> (type 0x08 =
unsigned byte), then ndim big-endian uint32 sizes, then the data in C order. Images are
0x00000803 (N, rows, cols), labels 0x00000801 (N); colour images get 0x00000804 (N, rows,
cols, 3), which readers of 3-d files refuse rather than misread. The files are gzip-compressed
as the originals are distributed (`train-images-idx3-ubyte.gz`), with mtime 0 and no name
in the header, so the same export gives the same bytes.

The header holds N, so N is fixed when the file is opened; the writer then takes the images
chunk by chunk (never all of them) into a temp file beside the target, which is renamed into
place only when exactly N items have been written. An exception or a kill leaves no file
under the final name.
"""

from __future__ import annotations

import contextlib
import gzip
import struct
from pathlib import Path

import numpy as np

from fashiongan.fileio import atomic_path

UBYTE = 0x08
MAX_ITEMS = 2**32 - 1  # a size is a big-endian uint32


def header(shape: tuple[int, ...]) -> bytes:
    return struct.pack(">BBBB", 0, 0, UBYTE, len(shape)) + struct.pack(f">{len(shape)}I",
                                                                        *shape)


class IdxWriter:
    """with IdxWriter(path, (N, 28, 28)) as w: w.write(chunk) ...; uint8 chunks [b, 28, 28]."""

    def __init__(self, path: str | Path, shape: tuple[int, ...]):
        self.path, self.shape = Path(path), tuple(int(v) for v in shape)
        self.written = 0
        self._stack = contextlib.ExitStack()
        tmp = self._stack.enter_context(atomic_path(self.path))
        raw = self._stack.enter_context(open(tmp, "wb"))  # noqa: SIM115 - held by the stack
        # no file name in the gzip header (it would be the temp file's) and mtime 0
        self._gz = self._stack.enter_context(gzip.GzipFile("", "wb", 6, raw, mtime=0))
        self._gz.write(header(self.shape))

    def write(self, chunk: np.ndarray) -> None:
        chunk = np.ascontiguousarray(chunk)
        if chunk.dtype != np.uint8 or chunk.shape[1:] != self.shape[1:]:
            raise ValueError(f"{self.path.name}: chunk {chunk.dtype} {chunk.shape}, the file "
                             f"holds uint8 {self.shape[1:]}")
        if self.written + len(chunk) > self.shape[0]:
            raise ValueError(f"{self.path.name}: more than the {self.shape[0]} items its "
                             "header declares")
        self._gz.write(chunk.tobytes())
        self.written += len(chunk)

    def close(self) -> Path:
        """Finish the file and rename it into place; a short file is deleted instead."""
        if self.written != self.shape[0]:
            error = ValueError(f"{self.path.name}: {self.written} of the {self.shape[0]} "
                               "items its header declares")
            self._stack.__exit__(ValueError, error, None)  # deletes the temp file
            raise error
        self._stack.close()
        return self.path

    def abort(self) -> None:
        """Delete the temp file: the export failed elsewhere."""
        error = RuntimeError(f"{self.path.name}: export aborted")
        with contextlib.suppress(OSError):  # closing flushes: on a full disk that fails too
            self._stack.__exit__(RuntimeError, error, None)

    def __enter__(self):
        return self

    def __exit__(self, kind, value, tb):
        if kind is None:
            self.close()
            return False
        return self._stack.__exit__(kind, value, tb)


def write(path: str | Path, array: np.ndarray) -> Path:
    """A whole (small) array as one IDX file, e.g. the labels."""
    with IdxWriter(path, array.shape) as w:
        w.write(array)
    return Path(path)


def read(path: str | Path) -> np.ndarray:
    """An IDX file (.gz or plain) of unsigned bytes as an array of its declared shape."""
    raw = Path(path).read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    zero, kind, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or kind != UBYTE:
        raise ValueError(f"{path}: not an IDX file of unsigned bytes")
    shape = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    data = np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{path}: {data.size} bytes of data, its header says {shape}")
    return data.reshape(shape).copy()  # writable: frombuffer's view of bytes is read-only
