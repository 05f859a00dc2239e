"""Reading a swatch: one photo of a fabric, at its own size, as uint8 C x H x W.

Any format Pillow reads (EXIF orientation applied, transparency on white, 16-bit and palette
images converted as `data import` converts them: data/prepare.upright) and GIMP's `.pat`
patterns, which Pillow does not read: a 24-byte big-endian header (header size, version,
width, height, bytes per pixel, the magic `GPAT`), the pattern's name, then the raw pixels.
A colour photo whose three channels are equal everywhere is grey (1 channel).
"""

from __future__ import annotations

import os
import struct
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from fashiongan.data.prepare import upright
from fashiongan.errors import UserError

MIN_SIDE = 40  # the smallest crop (32 px) plus a held-out strip of 8 rows
MAX_PIXELS = 50_000_000  # a swatch photo past this is a decompression bomb or a mistake
MAX_FILE_BYTES = 512 << 20
WHITE = (255, 255, 255)
PAT_MAGIC = b"GPAT"
PAT_MODES = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}


def is_pat(head: bytes) -> bool:
    return len(head) >= 24 and head[20:24] == PAT_MAGIC


def read_pat(data: bytes, name: str) -> Image.Image:
    """A GIMP pattern's pixels as a Pillow image (alpha kept; `read_swatch` flattens it)."""
    header_size, version, w, h, bpp = struct.unpack(">5I", data[:20])
    if version != 1 or bpp not in PAT_MODES or header_size < 24 or header_size > len(data):
        raise UserError(f"{name}: damaged GIMP pattern (version {version}, {bpp} bytes per "
                        f"pixel, header {header_size} bytes)")
    check_size(name, w, h)
    need = w * h * bpp
    pixels = data[header_size:header_size + need]
    if len(pixels) != need:
        raise UserError(f"{name}: truncated GIMP pattern ({len(pixels)} of {need} pixel bytes)")
    return Image.frombytes(PAT_MODES[bpp], (w, h), pixels)


def check_size(name: str, w: int, h: int) -> None:
    if w * h > MAX_PIXELS:
        raise UserError(f"{name}: {w}x{h} pixels; a swatch may have at most "
                        f"{MAX_PIXELS / 1e6:.0f} megapixels (a decompression bomb?)")
    if min(w, h) < MIN_SIDE:
        raise UserError(f"{name}: {w}x{h} pixels is too small for a swatch (at least "
                        f"{MIN_SIDE} px a side)")


def read_swatch(path: str | os.PathLike) -> np.ndarray:
    """uint8 [1|3, H, W]: the photo upright, at its own size, grey when it has no colour."""
    p = Path(path)
    name = str(path)
    if not p.is_file():
        raise UserError(f"{name}: no such file")
    if p.stat().st_size > MAX_FILE_BYTES:
        raise UserError(f"{name}: {p.stat().st_size / 2**20:.0f} MiB is too large for a swatch")
    data = p.read_bytes()
    if not data:
        raise UserError(f"{name}: empty file")
    im = read_pat(data, name) if is_pat(data[:24]) else _open(p, name)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = upright(im, max(im.size), WHITE)
            a = np.asarray(im, dtype=np.uint8)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombWarning) as e:
        text = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise UserError(f"{name}: unreadable image ({text})") from None
    check_size(name, a.shape[1], a.shape[0])
    if a.ndim == 2:
        return a[None].copy()
    a = a.transpose(2, 0, 1)
    if np.array_equal(a[0], a[1]) and np.array_equal(a[0], a[2]):
        return a[:1].copy()
    return np.ascontiguousarray(a)


def _open(p: Path, name: str) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(p)
            check_size(name, *im.size)  # before any pixel is decoded
            return im
    except UnidentifiedImageError:
        raise UserError(f"{name}: not an image (unknown format or damaged)") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UserError(f"{name}: too many pixels for a swatch (a decompression bomb?)") from None
    except (OSError, ValueError, SyntaxError) as e:
        text = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise UserError(f"{name}: unreadable image ({text})") from None


def as_channels(swatch: np.ndarray, channels: int) -> np.ndarray:
    """A grey swatch repeated to colour when a colour one sits beside it."""
    return np.repeat(swatch, 3, axis=0) if channels == 3 and swatch.shape[0] == 1 else swatch
