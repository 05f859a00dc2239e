"""Dressing a design: a grey garment design's silhouette filled with a fabric.

The design (a grey garment generator's sample, or one from an .npz) gives the mask (pixels
apart from its background, read off its border) and the shading (its grey levels); both are
enlarged `factor` times (bicubic: the mask's edge comes out soft, the folds smooth), the fabric
is woven at that size and drawn `scale` times larger, shaded, and laid on a light background.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from fashiongan.errors import UserError
from fashiongan.texture.weave import resample

BACKGROUND = 246  # light grey: the garment's own light tones stay visible on it
MIN_FACTOR, MAX_FACTOR = 4, 32
EDGE = 24  # grey levels from the background at which a pixel is half garment


def grey_design(image: np.ndarray) -> np.ndarray:
    """uint8 [H, W] or [H, W, 3] -> float [H, W] grey levels."""
    a = image.astype(np.float64)
    return a @ np.array([0.299, 0.587, 0.114]) if a.ndim == 3 else a


def mask_and_shade(design: np.ndarray, factor: int) -> tuple[np.ndarray, np.ndarray]:
    """(alpha, shade) at factor x the design's size, both float in [0, 1]."""
    v = grey_design(design)
    border = np.concatenate([v[0], v[-1], v[:, 0], v[:, -1]])
    bg = float(np.median(border))
    dist = np.abs(v - bg)
    x = torch.from_numpy(np.stack([dist, v]))[None].float()
    big = F.interpolate(x, scale_factor=factor, mode="bicubic", align_corners=False)[0].numpy()
    alpha = np.clip((big[0] - EDGE / 2) / EDGE, 0, 1)
    inside = v[dist >= EDGE]  # none: an empty design, dressed as the background alone
    lo, hi = (float(inside.min()), float(inside.max())) if inside.size else (0.0, 255.0)
    # the garment's grey levels as light: its brightest fold lit fully, its darkest at 35%
    tone = (big[1] - lo) / max(hi - lo, 1.0)
    if bg > 127:  # a light background: the garment's dark parts are its body, invert
        tone = 1 - tone
    shade = 0.35 + 0.65 * np.clip(tone, 0, 1)
    return alpha, shade


def dress(design: np.ndarray, loom, seed: int = 0, factor: int = 8,
          scale: float = 1.0) -> np.ndarray:
    """uint8 [H*factor, W*factor, 3]: the design in the loom's fabric on a light background."""
    if not MIN_FACTOR <= factor <= MAX_FACTOR:
        raise UserError(f"--factor {factor}: must be in [{MIN_FACTOR}, {MAX_FACTOR}]")
    if design.ndim not in (2, 3) or min(design.shape[:2]) < 8:
        raise UserError(f"a design must be an image of at least 8x8 px, got {design.shape}")
    alpha, shade = mask_and_shade(design, factor)
    h, w = alpha.shape
    if scale != 1.0:
        bw, bh = max(8, round(w / scale)), max(8, round(h / scale))
        fabric = resample(_hwc(loom.weave(seed, bw, bh)), w, h, False)
    else:
        fabric = _hwc(loom.weave(seed, w, h))
    fabric = fabric.astype(np.float64)
    if fabric.shape[2] == 1:
        fabric = np.repeat(fabric, 3, 2)
    a = alpha[..., None]
    out = BACKGROUND * (1 - a) + fabric * shade[..., None] * a
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def _hwc(a: np.ndarray) -> np.ndarray:
    return a[..., None] if a.ndim == 2 else a
