"""A photo -> the data set's own form, so that G can be asked for the design closest to it
(generate/project.py).

Fashion-MNIST's form (Xiao et al. 2017, how the product shots were made into it): grey, the
garment light on a black background, trimmed to its bounding box, its longer side the full
28 px, centred. A shop photo is the opposite on most counts (colour, a white background,
margins, any size), so:

1. decoded upright (EXIF), transparency on white, as the importer does (data/prepare.py);
2. grey for a grey model, RGB for a colour one;
3. the background is the median of the border pixels; when it is light and the data set's is
   dark (or the other way round) the picture is inverted;
4. contrast stretched: the background to black, the garment's brightest (99.5th percentile)
   to white;
5. cropped to the garment's bounding box (pixels clearly apart from the background), its
   longer side resized (LANCZOS) to the model's resolution, padded to a square, centred;
6. inverted back when the data set's background is light (an imported shop catalogue).

Everything happens in a "dark background" working space, so steps 3-5 are written once.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from fashiongan.data.prepare import FORMATS, MAX_PIXELS, upright
from fashiongan.errors import UserError

MIN_SIDE = 8  # smaller is an icon, not a photo of a garment
BORDER = 0.04  # the outer 4% of each side (at least a pixel) is where the background is read
GARMENT = 0.08  # a pixel is garment when it is this far (of the largest such distance) from it
TOP = 99.9  # percentile of the garment's brightness stretched to white
WHITE = (255, 255, 255)


def read_photo(source: str | os.PathLike | bytes, name: str | None = None) -> Image.Image:
    """Open a photo file (or its bytes) and decode it; every fault is a one-line UserError
    naming it. The pixel count is checked from the header, before decoding."""
    name = name or (str(source) if not isinstance(source, bytes) else "upload")
    if isinstance(source, bytes):
        if not source:
            raise UserError(f"{name}: empty file")
        fp = io.BytesIO(source)
    else:
        path = Path(source)
        if not path.is_file():
            raise UserError(f"{name}: {'not a file' if path.exists() else 'does not exist'}")
        if path.stat().st_size == 0:
            raise UserError(f"{name}: empty file")
        fp = path
    try:
        im = Image.open(fp, formats=FORMATS)  # never EPS to Ghostscript, PDF...
        w, h = im.size
        if w * h > MAX_PIXELS:
            raise UserError(f"{name}: {w}x{h} pixels; the limit is {MAX_PIXELS / 1e6:.0f} "
                            "megapixels")
        if min(w, h) < MIN_SIDE:
            raise UserError(f"{name}: {w}x{h} pixels is too small to be a photo of a garment "
                            f"(at least {MIN_SIDE} px a side)")
        im.load()
        return im
    except UnidentifiedImageError:
        raise UserError(f"{name}: not an image (unknown format or damaged)") from None
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
        text = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise UserError(f"{name}: unreadable image ({text})") from None


def dark_background(g) -> bool:
    """Whether G's data set has a dark background, read off the borders of 16 of its samples
    (a snapshot carries no pixels of its data set, but its samples show it)."""
    from fashiongan.generate.sampling import sample

    images = sample(g, 16, seed=0).astype(np.float32)
    images = images if images.ndim == 4 else images[..., None]
    return not _light(np.concatenate([_border(im) for im in images]))


def to_dataset_form(im: Image.Image, channels: int, resolution: int, dark: bool = True,
                    name: str = "image") -> np.ndarray:
    """An opened photo -> uint8 [R,R] (grey) or [R,R,3] (colour), the layout `sample` writes;
    `dark`: the data set's background is dark (Fashion-MNIST's is black)."""
    im = upright(im, 8 * resolution, WHITE)  # 8x kept: the crop below may be a small part
    a = np.asarray(im.convert("L" if channels == 1 else "RGB"), dtype=np.float32)
    a = a[..., None] if a.ndim == 2 else a
    if _light(_border(a)):
        a = 255 - a  # the working space has a dark background
    a = _stretch(a, name)
    a = _crop(a, name)
    out = Image.fromarray(a.squeeze(-1) if channels == 1 else a, "L" if channels == 1 else "RGB")
    out = np.asarray(_fit(out, resolution), dtype=np.uint8)
    return out if dark else 255 - out


def _fit(im: Image.Image, res: int) -> Image.Image:
    """The longer side resized to `res` (LANCZOS), the shorter to whole pixels, then padded to a
    square with black, an odd pixel going left/top: how Fashion-MNIST placed its garments
    (a 27-px-wide shirt fills columns 1-27). Centring before the resize instead put photos
    of its own test images half a pixel off, which on a textured garment is 10 grey levels
    of error per pixel."""
    w, h = im.size
    side = max(w, h)
    size = (max(1, round(w * res / side)), max(1, round(h * res / side)))
    if size != im.size:
        im = im.resize(size, Image.Resampling.LANCZOS,
                       reducing_gap=3.0 if side >= 3 * res else None)
    canvas = Image.new(im.mode, (res, res), 0)
    canvas.paste(im, (-(-(res - size[0]) // 2), -(-(res - size[1]) // 2)))
    return canvas


def _border(a: np.ndarray) -> np.ndarray:
    """The pixels [M, C] of the outer frame, BORDER of each side wide."""
    h, w = a.shape[:2]
    by, bx = max(1, round(h * BORDER)), max(1, round(w * BORDER))
    return np.concatenate([a[:by].reshape(-1, a.shape[2]), a[-by:].reshape(-1, a.shape[2]),
                           a[:, :bx].reshape(-1, a.shape[2]), a[:, -bx:].reshape(-1, a.shape[2])])


def _light(pixels: np.ndarray) -> bool:
    return float(np.median(pixels.mean(1))) >= 128


def _stretch(a: np.ndarray, name: str) -> np.ndarray:
    """Background -> 0, the garment's brightest -> 255 (uint8). The background colour is the
    border's median; the garment, the pixels at least GARMENT of the largest distance from it
    (the percentile is taken over those alone: a small garment on a big sheet keeps it)."""
    bg = np.median(_border(a), axis=0)
    dist = np.abs(a - bg).max(2)
    garment = dist[dist >= GARMENT * dist.max()]
    top = float(np.percentile(garment, TOP))
    if top < 8:  # under 8 grey levels from the background all over: nothing to see
        raise UserError(f"{name}: no garment found (the picture is one flat colour)")
    out = (a - bg).clip(0, None) * (255.0 / top)
    return out.clip(0, 255).round().astype(np.uint8)


def _crop(a: np.ndarray, name: str) -> np.ndarray:
    """The bounding box of the garment: rows and columns with pixels clearly off black."""
    lum = a.max(2).astype(np.float32)
    mask = lum > GARMENT * 255
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    if not len(rows):
        raise UserError(f"{name}: no garment found (nothing stands out from the background)")
    return a[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
