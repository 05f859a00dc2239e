"""Woven and knitted fabric swatches made here (no photos ship): twill, plaid, houndstooth and
knit, drawn thread by thread from continuous coordinates, with yarn noise (each thread its own
shade, fibres streaked along it), uneven lighting and a slight rotation, supersampled 2x.
Also GIMP's patterns (`gimp-data`) written as `.pat` files, and scikit-image's texture photos.
Used by the texture tests and by benchmarks/fabrics.py."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
from PIL import Image

KINDS = ("twill", "plaid", "houndstooth", "knit")
GIMP = Path("/usr/share/gimp/2.0/patterns")
GIMP_FABRICS = ("Fabric/burlap.pat", "Animal/leather.pat", "Animal/leopard.pat")


def _coords(size: int, angle_deg: float, ss: int = 2):
    n = size * ss
    y, x = np.mgrid[0:n, 0:n].astype(np.float64) / ss
    t = np.deg2rad(angle_deg)
    return x * np.cos(t) + y * np.sin(t), -x * np.sin(t) + y * np.cos(t)


def _thread_shading(u: np.ndarray, pitch: float) -> np.ndarray:
    """Round yarn: bright along a thread's middle, darker at its edges."""
    f = (u / pitch) % 1.0
    return 0.72 + 0.28 * np.sin(np.pi * f)


def _weave(u, v, pitch, warp_rgb, weft_rgb, rng, twill=2):
    """A 2/2 (twill=2) twill: warp over where (i + j) mod 2*twill < twill."""
    i, j = np.floor(u / pitch).astype(int), np.floor(v / pitch).astype(int)
    up = ((i + j) % (2 * twill)) < twill
    shade_warp = _thread_shading(u, pitch)[..., None]
    shade_weft = _thread_shading(v, pitch)[..., None]
    # every thread its own shade (yarn noise), fibres streaked along it
    tw = 1 + 0.08 * rng.standard_normal(4096)
    streak_u = 1 + 0.05 * rng.standard_normal(8192)
    warp = warp_rgb * shade_warp * tw[i % 4096][..., None]
    warp = warp * streak_u[(np.floor(v * 3).astype(int) + 97 * i) % 8192][..., None]
    weft = weft_rgb * shade_weft * tw[(j + 2048) % 4096][..., None]
    weft = weft * streak_u[(np.floor(u * 3).astype(int) + 89 * j) % 8192][..., None]
    return np.where(up[..., None], warp, weft)


def _stripes(index: np.ndarray, palette: list, widths: list[int]) -> np.ndarray:
    seq = np.concatenate([np.full(w, k) for k, w in enumerate(widths)])
    return np.asarray(palette, np.float64)[seq[index % len(seq)]]


def woven(kind: str, size: int = 256, seed: int = 0) -> np.ndarray:
    """uint8 [size, size, 3] swatch of the named kind."""
    rng = np.random.default_rng(seed)
    angle = rng.uniform(-4, 4)
    u, v = _coords(size, angle)
    if kind == "twill":
        img = _weave(u, v, 3.0, np.array([40, 60, 120.0]), np.array([200, 195, 185.0]), rng)
    elif kind == "plaid":
        pitch = 2.5
        i, j = np.floor(u / pitch).astype(int), np.floor(v / pitch).astype(int)
        pal = [(150, 20, 30), (20, 40, 90), (220, 200, 60), (20, 70, 40)]
        warp_c = _stripes(i, pal, [10, 6, 2, 6])
        weft_c = _stripes(j, pal, [10, 6, 2, 6])
        img = _weave(u, v, pitch, 1, 1, rng)
        up = ((i + j) % 4) < 2
        img = img * np.where(up[..., None], warp_c, weft_c)
    elif kind == "houndstooth":
        pitch = 3.0
        i, j = np.floor(u / pitch).astype(int), np.floor(v / pitch).astype(int)
        pal = [(25, 25, 30), (235, 230, 220)]
        warp_c = _stripes(i, pal, [4, 4])
        weft_c = _stripes(j, pal, [4, 4])
        img = _weave(u, v, pitch, 1, 1, rng)
        up = ((i + j) % 4) < 2
        img = img * np.where(up[..., None], warp_c, weft_c)
    elif kind == "knit":
        w, h = 8.0, 7.0
        fu, fv = (u / w) % 1.0, (v / h) % 1.0
        # two legs of a V per stitch
        d = np.minimum(np.abs(fu - 0.25 - 0.25 * fv), np.abs(fu - 0.75 + 0.25 * fv))
        lum = np.clip(1.0 - d * 5.0, 0.25, 1.0) * (0.85 + 0.15 * np.sin(np.pi * fv))
        col = np.array([170, 70, 90.0]) * (1 + 0.06 * rng.standard_normal(3))
        stitch = 1 + 0.07 * rng.standard_normal(65536)
        k = (np.floor(u / w).astype(int) * 131 + np.floor(v / h).astype(int) * 7) % 65536
        img = col * (lum * stitch[k])[..., None]
    else:
        raise ValueError(kind)
    n = u.shape[0]
    y, x = np.mgrid[0:n, 0:n] / n
    phase = rng.uniform(0, 2 * np.pi, 2)
    light = 1 + 0.12 * np.sin(2 * np.pi * 0.7 * x + phase[0]) * np.cos(2 * np.pi * 0.5 * y
                                                                        + phase[1])
    img = img * light[..., None] + rng.normal(0, 4, img.shape)
    img = np.clip(img, 0, 255).astype(np.uint8)
    return np.asarray(Image.fromarray(img).resize((size, size), Image.Resampling.BOX))


def write_pat(path: Path, pixels: np.ndarray, name: str = "pattern") -> Path:
    """A GIMP .pat file of uint8 [H, W] (grey) or [H, W, C] pixels."""
    a = pixels if pixels.ndim == 3 else pixels[..., None]
    h, w, c = a.shape
    name_b = name.encode() + b"\0"
    head = struct.pack(">5I", 24 + len(name_b), 1, w, h, c) + b"GPAT" + name_b
    path.write_bytes(head + np.ascontiguousarray(a, np.uint8).tobytes())
    return path


def skimage_texture(name: str) -> Path | None:
    """scikit-image's 512-px grey texture photos (brick, grass, gravel), when installed."""
    try:
        import skimage
    except ImportError:
        return None
    p = Path(skimage.__file__).parent / "data" / f"{name}.png"
    return p if p.is_file() else None
