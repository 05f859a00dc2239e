"""One opened image -> the pixels a data set stores: upright (EXIF), transparency on the
background, L or RGB, square, at the data set's resolution.

Every image becomes square by padding (never stretching) with the background colour, then
is resized with LANCZOS (after Pillow's JPEG draft mode and reduce() for big shrinks, which
is how Image.thumbnail keeps quality while decoding 4-16x less).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageColor, ImageOps

from fashiongan.errors import UserError

# The formats the README lists, and only those: Pillow opens every format it knows, and some
# (EPS, PDF) are handed to outside programs such as Ghostscript. A camera's MPO opens as JPEG.
FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "DIB", "GIF", "TIFF")
MAX_PIXELS = 40_000_000  # a larger picture is refused from its header, before it is decoded
MAX_FILE_BYTES = 256 * 2**20  # a larger file is not a photo (a zip member is read whole)


def too_large(w: int, h: int) -> str | None:
    """Why a picture of w x h pixels is not decoded (None: it may be)."""
    if w * h > MAX_PIXELS:
        return (f"too large ({w}x{h} pixels; the limit is {MAX_PIXELS / 1e6:.0f} "
                "megapixels)")
    return None


def open_image(fp) -> Image.Image:
    """Image.open of the listed FORMATS only; the pixel count is checked from the header, so
    a decompression bomb is never decoded. UserError (too large) or Pillow's errors."""
    im = Image.open(fp, formats=FORMATS)
    why = too_large(*im.size)
    if why:
        im.close()
        raise UserError(why)
    return im


@dataclass
class Options:
    """What every image becomes: resolution x resolution, 1 (L) or 3 (RGB) channels,
    transparency and padding in the background colour."""

    resolution: int = 64
    channels: int = 3
    background: tuple[int, int, int] = (255, 255, 255)


def parse_background(text: str) -> tuple[int, int, int]:
    try:
        rgb = ImageColor.getrgb(text)
    except ValueError:
        raise UserError(f"--background {text}: not a colour (white, black, #RRGGBB...)") from None
    return tuple(rgb[:3])


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
    if im.format in ("JPEG", "MPO"):  # MPO: a camera's JPEG with a second picture
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


