"""PNG written row by row (zlib streaming), so a 16384 x 16384 fabric never sits in memory
whole; the same pixels always give the same bytes (fixed filter and compression level)."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from PIL import Image

from fashiongan.fileio import atomic_write

SIGNATURE = b"\x89PNG\r\n\x1a\n"
LEVEL = 1  # textures are noise-like: level 6 made files 3% smaller and took 4x as long


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def write_strips(f, width: int, height: int, channels: int, strips: Iterable[np.ndarray]) -> None:
    """Write a PNG of uint8 strips [rows, width, channels] (top to bottom) to file object f."""
    colour = {1: 0, 3: 2}[channels]
    f.write(SIGNATURE + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, colour,
                                                     0, 0, 0)))
    z = zlib.compressobj(LEVEL)
    rows = 0
    for strip in strips:
        s = strip.reshape(strip.shape[0], width * channels)
        raw = np.zeros((s.shape[0], s.shape[1] + 1), np.uint8)  # filter byte 0 (None) per row
        raw[:, 1:] = s
        rows += s.shape[0]
        data = z.compress(raw.tobytes())
        if data:
            f.write(_chunk(b"IDAT", data))
    if rows != height:
        raise ValueError(f"PNG: {rows} rows written for a height of {height}")
    f.write(_chunk(b"IDAT", z.flush()) + _chunk(b"IEND", b""))


def save_png(path: str | Path, width: int, height: int, channels: int,
             strips: Iterable[np.ndarray]) -> Path:
    """Atomically: the file appears complete or not at all."""
    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            write_strips(f, width, height, channels, strips)

    return atomic_write(path, write)


def save_image(path: str | Path, image: np.ndarray) -> Path:
    """A uint8 [H, W] or [H, W, 3] array, through the same writer."""
    a = image if image.ndim == 3 else image[..., None]
    return save_png(path, a.shape[1], a.shape[0], a.shape[2], [a])


def as_image(a: np.ndarray) -> Image.Image:
    return Image.fromarray(a[..., 0] if a.ndim == 3 and a.shape[2] == 1 else a)
