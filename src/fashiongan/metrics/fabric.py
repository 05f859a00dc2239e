"""A fabric's own scores, on uint8 images [H, W] (grey) or [H, W, 3].

seam      The image tiled 2 x 2: the mean squared step across its wrap-around seams (its last
          column into its first, its last row into its first) over the mean squared step
          across its interior lines, both directions pooled. 1.0: a seam like any other line
          (invisible); a photo or an untiled sample, whose edges are unrelated, scores well
          above it.
copy      The share of the image's PATCH x PATCH patches (a grid of them, at most MAX_QUERIES)
          that are near-verbatim patches of the swatch: the nearest swatch patch (searched at
          every pixel offset, on luma) differs by an RMS under COPY_RMS of the patch's contrast
          (its standard deviation, at least 8 grey levels). A collage of the photo scores near
          1, a new weave near the share that the real fabric repeats itself (the held-out
          strip's own score, reported beside it).
diversity The mean RMS difference between images of different seeds over the mean RMS
          difference between windows of the swatch of the same size: 0 when every seed draws
          the same image, about 1 when seeds differ as much as parts of the real fabric.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

PATCH = 16
COPY_RMS = 0.06
MAX_QUERIES = 512
MIN_CONTRAST = 8.0


def _hwc(a: np.ndarray) -> np.ndarray:
    return (a[..., None] if a.ndim == 2 else a).astype(np.float64)


def seam_score(image: np.ndarray) -> float:
    a = _hwc(image)
    seam = (np.square(a[:, 0] - a[:, -1]).sum() + np.square(a[0] - a[-1]).sum())
    n_seam = a.shape[0] + a.shape[1]
    inner = (np.square(np.diff(a, axis=1)).sum() + np.square(np.diff(a, axis=0)).sum())
    n_inner = a.shape[0] * (a.shape[1] - 1) + (a.shape[0] - 1) * a.shape[1]
    return float((seam / n_seam) / max(inner / n_inner, 1e-12))


def _luma(a: np.ndarray) -> torch.Tensor:
    x = torch.from_numpy(_hwc(a)).permute(2, 0, 1).float()
    if x.shape[0] == 3:
        x = (0.299 * x[0] + 0.587 * x[1] + 0.114 * x[2])[None]
    return x


def _queries(h: int, w: int) -> list[tuple[int, int]]:
    grid = [(y, x) for y in range(0, h - PATCH + 1, PATCH) for x in range(0, w - PATCH + 1, PATCH)]
    if len(grid) > MAX_QUERIES:
        pick = np.random.default_rng(0).choice(len(grid), MAX_QUERIES, replace=False)
        grid = [grid[i] for i in sorted(pick)]
    return grid


def nearest_patches(image: np.ndarray, swatch: np.ndarray) -> np.ndarray:
    """For each query patch of `image`: its RMS distance (full colour, grey levels) to the
    nearest swatch patch over its contrast."""
    if min(image.shape[:2]) < PATCH or min(swatch.shape[:2]) < PATCH:
        raise ValueError(f"copy score needs images of at least {PATCH} px a side")
    img, sw = _hwc(image), _hwc(swatch)
    if img.shape[2] != sw.shape[2]:  # grey against colour: compare in grey
        img, sw = _hwc(_luma(img)[0].numpy()), _hwc(_luma(sw)[0].numpy())
    q_at = _queries(*img.shape[:2])
    li, ls = _luma(img), _luma(sw)
    q = torch.stack([li[:, y:y + PATCH, x:x + PATCH] for y, x in q_at])  # [n, 1, P, P]
    with torch.no_grad():
        dots = torch.cat([F.conv2d(ls[None], q[i:i + 64]) for i in range(0, len(q), 64)], 1)[0]
        s2 = F.conv2d(ls[None].square(), torch.ones(1, 1, PATCH, PATCH))[0]  # [1, h', w']
        d2 = s2 - 2 * dots + q.square().flatten(1).sum(1)[:, None, None]
    best = d2.flatten(1).argmin(1).tolist()
    wd = s2.shape[2]
    out = []
    for (y, x), b in zip(q_at, best, strict=True):
        sy, sx = divmod(b, wd)
        a = img[y:y + PATCH, x:x + PATCH]
        rms = np.sqrt(np.square(a - sw[sy:sy + PATCH, sx:sx + PATCH]).mean())
        out.append(rms / max(a.std(), MIN_CONTRAST))
    return np.asarray(out)


def copy_score(image: np.ndarray, swatch: np.ndarray) -> float:
    return float((nearest_patches(image, swatch) < COPY_RMS).mean())


def rms(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.square(_hwc(a) - _hwc(b)).mean()))


def diversity(images: list[np.ndarray], swatch: np.ndarray, pairs: int = 16) -> float:
    """Images of different seeds (same size, at most the swatch's) against swatch windows."""
    n = len(images)
    gen = [rms(images[i], images[j]) for i in range(n) for j in range(i + 1, n)]
    h, w = images[0].shape[:2]
    H, W = swatch.shape[:2]
    if h > H or w > W or n < 2:
        raise ValueError("diversity needs two images no larger than the swatch")
    rng = np.random.default_rng(0)
    real = []
    for _ in range(pairs):
        (y1, y2), (x1, x2) = rng.integers(0, H - h + 1, 2), rng.integers(0, W - w + 1, 2)
        real.append(rms(swatch[y1:y1 + h, x1:x1 + w], swatch[y2:y2 + h, x2:x2 + w]))
    if np.mean(real) < 1e-6:  # the swatch holds one window of that size: no yardstick
        return float("nan")
    return float(np.mean(gen) / np.mean(real))
