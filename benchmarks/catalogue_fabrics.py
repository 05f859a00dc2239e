"""Fabrics for the test catalogue (catalogue.py): RGB float images in [0, 1], H x W x 3, drawn
from a seeded numpy Generator. Plain colours, stripes, gingham checks, polka dots, florals,
denim-like twill, knit, and three of GIMP's patterns (Debian's gimp-data: burlap, leather,
leopard), tiled and tinted; without gimp-data those three fall back to a drawn fabric.
"""

from __future__ import annotations

import colorsys
import struct
from functools import cache
from pathlib import Path

import numpy as np

GIMP_PATTERNS = Path("/usr/share/gimp/2.0/patterns")
GIMP = {"burlap": "Fabric/burlap.pat", "leather": "Animal/leather.pat",
        "leopard": "Animal/leopard.pat"}

# base colours by family (RGB 0-255); a class draws from the families it lists
FAMILIES = {
    "red": [(190, 30, 45), (220, 60, 60), (150, 20, 40)],
    "pink": [(235, 130, 170), (240, 170, 190), (200, 70, 130)],
    "orange": [(235, 120, 40), (245, 160, 60)],
    "yellow": [(240, 205, 60), (230, 220, 120)],
    "green": [(40, 130, 70), (110, 160, 80), (60, 90, 50)],
    "teal": [(30, 140, 150), (80, 180, 170)],
    "blue": [(40, 80, 170), (90, 140, 210), (25, 40, 100)],
    "purple": [(110, 60, 150), (160, 120, 200)],
    "white": [(238, 236, 230), (250, 250, 248)],
    "grey": [(130, 130, 135), (175, 175, 170), (90, 90, 95)],
    "black": [(35, 35, 40), (55, 50, 50)],
    "brown": [(110, 70, 40), (150, 100, 60), (80, 50, 30)],
    "camel": [(190, 150, 100), (200, 170, 130)],
    "khaki": [(170, 160, 110), (140, 135, 90)],
    "navy": [(30, 40, 80), (40, 55, 100)],
}


def colour(rng: np.random.Generator, families: list[str]) -> np.ndarray:
    """A base colour of one of the families, its hue, saturation and value jittered."""
    fam = families[rng.integers(len(families))]
    base = np.array(FAMILIES[fam][rng.integers(len(FAMILIES[fam]))]) / 255
    h, s, v = colorsys.rgb_to_hsv(*base)
    h = (h + rng.normal(0, 0.015)) % 1
    s = float(np.clip(s * rng.uniform(0.85, 1.15), 0, 1))
    v = float(np.clip(v * rng.uniform(0.88, 1.12), 0, 1))
    return np.array(colorsys.hsv_to_rgb(h, s, v))


def _grid(size: int, rng, angle_sd: float = 0.0):
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    a = rng.normal(0, angle_sd) if angle_sd else 0.0
    ca, sa = np.cos(a), np.sin(a)
    return x * ca - y * sa + rng.uniform(0, 50), x * sa + y * ca + rng.uniform(0, 50)


def _mix(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    return a[None, None] * (1 - t[..., None]) + b[None, None] * t[..., None]


def _band(u: np.ndarray, period: float, duty: float) -> np.ndarray:
    """1 inside the band of each period, 0 outside, edges smoothed over one pixel."""
    d = np.abs(((u / period) % 1) - 0.5) * period  # distance from the band's centre
    return np.clip(duty * period / 2 - d + 0.5, 0, 1)


def plain(size, rng, c1, c2):
    noise = rng.normal(0, 0.012, (size, size, 1))
    return np.clip(np.broadcast_to(c1, (size, size, 3)) + noise, 0, 1)


def stripes(size, rng, c1, c2):
    x, y = _grid(size, rng, 0.05)
    u = y if rng.random() < 0.75 else x  # mostly horizontal (Breton), some vertical
    return _mix(c1, c2, _band(u, size / rng.uniform(6, 14), rng.uniform(0.3, 0.55)))


def checks(size, rng, c1, c2):
    x, y = _grid(size, rng)
    p = size / rng.uniform(5, 11)
    t = 0.5 * (_band(x, p, 0.5) + _band(y, p, 0.5))  # gingham: crossings darkest
    return _mix(c1, c2, t)


def dots(size, rng, c1, c2):
    x, y = _grid(size, rng)
    p = size / rng.uniform(7, 13)
    r = p * rng.uniform(0.18, 0.3)
    dx, dy = (x % p) - p / 2, (y % p) - p / 2
    return _mix(c1, c2, np.clip(r - np.hypot(dx, dy) + 0.5, 0, 1))


def florals(size, rng, c1, c2):
    out = np.broadcast_to(c1, (size, size, 3)).copy()
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    centre = np.array([0.95, 0.85, 0.3])
    for _ in range(int(rng.uniform(0.8, 1.4) * (size / 14) ** 2)):
        cx, cy = rng.uniform(0, size, 2)
        rad, petals, turn = size * rng.uniform(0.035, 0.06), rng.integers(5, 7), rng.uniform(0, 7)
        dx, dy = x - cx, y - cy
        rr, th = np.hypot(dx, dy), np.arctan2(dy, dx)
        petal = np.clip(rad * (0.55 + 0.45 * np.cos(petals * th + turn)) - rr + 0.5, 0, 1)
        heart = np.clip(rad * 0.28 - rr + 0.5, 0, 1)
        tint = c2 * rng.uniform(0.85, 1.1)
        out = out * (1 - petal[..., None]) + np.clip(tint, 0, 1) * petal[..., None]
        out = out * (1 - heart[..., None]) + centre * heart[..., None]
    return out


def twill(size, rng, c1, c2):
    """Denim-like: diagonal wales of indigo warp over a paler weft, with slubs."""
    x, y = _grid(size, rng)
    p = max(2.5, size / rng.uniform(28, 40))
    wale = 0.5 + 0.5 * np.sin(2 * np.pi * (x + y) / p)
    slub = rng.normal(0, 1, (size // 4 + 1, 1)).repeat(4, 0)[:size]
    t = np.clip(0.25 * wale + 0.05 * slub + rng.normal(0, 0.04, (size, size)), 0, 1)
    return _mix(c1, np.clip(c1 * 0.5 + 0.5, 0, 1), t)


def knit(size, rng, c1, c2):
    """Rows of V-shaped stitches (stockinette), each stitch shaded at its edges."""
    x, y = _grid(size, rng)
    px = size / rng.uniform(12, 20)
    py = px * 0.8
    v = np.abs(((x / px) % 1) - 0.5)  # V: the row's phase bends with x
    s = np.sin(np.pi * (((y / py) + v) % 1))
    return np.clip(c1[None, None] * (0.7 + 0.35 * s[..., None]), 0, 1)


@cache
def _gimp(name: str) -> np.ndarray | None:
    """A GIMP .pat pattern as H x W x 3 floats, or None when gimp-data is not installed."""
    path = GIMP_PATTERNS / GIMP[name]
    if not path.is_file():
        return None
    raw = path.read_bytes()
    header, _, w, h, bpp = struct.unpack(">5I", raw[:20])
    px = np.frombuffer(raw[header:header + w * h * bpp], np.uint8).reshape(h, w, bpp)
    return (px[..., :3] if bpp >= 3 else px[..., :1].repeat(3, 2)).astype(np.float32) / 255


def gimp(name: str):
    def draw(size, rng, c1, c2):
        pat = _gimp(name)
        if pat is None:  # no gimp-data: a drawn fabric of the same kind
            return (plain if name == "leather" else dots)(size, rng, c1, c2)
        step = rng.uniform(0.5, 1.0)  # pattern pixels per image pixel: a few tiles per garment
        y, x = np.mgrid[0:size, 0:size]
        oy, ox = rng.integers(0, pat.shape[0]), rng.integers(0, pat.shape[1])
        tile = pat[(oy + (y * step).astype(int)) % pat.shape[0],
                   (ox + (x * step).astype(int)) % pat.shape[1]]
        if name == "leopard":
            return tile  # its own colours
        lum = tile.mean(2, keepdims=True)
        return np.clip(c1[None, None] * (0.55 + 0.9 * lum), 0, 1)  # tinted by the base colour
    return draw


FABRICS = {"plain": plain, "stripes": stripes, "checks": checks, "dots": dots,
           "florals": florals, "twill": twill, "knit": knit, "burlap": gimp("burlap"),
           "leather": gimp("leather"), "leopard": gimp("leopard")}
