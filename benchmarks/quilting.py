"""Image quilting (Efros & Freeman 2001), the non-parametric baseline of the fabrics benchmark:
no training; the output is laid block by block, each block a patch of the swatch whose overlap
with the blocks already laid is within (1 + TOLERANCE) of the best match, joined along the
minimum-error cut through the overlap. It copies the photo's patches by design.

    python benchmarks/quilting.py SWATCH.png --size 256 --out quilt.png
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from PIL import Image

# candidate blocks every STRIDE px of the swatch (4: a 384-px swatch gives 7,000 candidates)
BLOCK, OVERLAP, TOLERANCE, STRIDE = 32, 8, 0.1, 4


def _min_cut(err: np.ndarray) -> np.ndarray:
    """Boolean mask [h, w] of an overlap err [h, w] (cut runs top to bottom): True right of
    the cheapest path (dynamic programming), where the new block's pixels go."""
    h, w = err.shape
    cost = err.copy()
    for y in range(1, h):
        left = np.r_[np.inf, cost[y - 1, :-1]]
        right = np.r_[cost[y - 1, 1:], np.inf]
        cost[y] += np.minimum(np.minimum(left, cost[y - 1]), right)
    mask = np.zeros((h, w), bool)
    x = int(cost[-1].argmin())
    for y in range(h - 1, -1, -1):
        mask[y, x:] = True
        if y:
            lo, hi = max(0, x - 1), min(w, x + 2)
            x = lo + int(cost[y - 1, lo:hi].argmin())
    return mask


def quilt(swatch: np.ndarray, width: int, height: int, seed: int = 0) -> np.ndarray:
    """uint8 [H, W(, 3)] swatch -> [height, width(, 3)] quilt."""
    src = swatch.astype(np.float32)
    src = src[..., None] if src.ndim == 2 else src
    rng = np.random.default_rng(seed)
    b, o = BLOCK, OVERLAP
    step = b - o
    ys = np.arange(0, src.shape[0] - b + 1, STRIDE)
    xs = np.arange(0, src.shape[1] - b + 1, STRIDE)
    cand = np.stack(np.meshgrid(ys, xs, indexing="ij"), -1).reshape(-1, 2)
    patches = np.lib.stride_tricks.sliding_window_view(src, (b, b), (0, 1))  # [Y, X, C, b, b]
    patches = np.ascontiguousarray(
        patches[ys][:, xs].reshape(len(cand), src.shape[2], b, b).transpose(0, 2, 3, 1))
    ny, nx = -(-(height - o) // step), -(-(width - o) // step)
    out = np.zeros((ny * step + o, nx * step + o, src.shape[2]), np.float32)
    for i in range(ny):
        for j in range(nx):
            y, x = i * step, j * step
            here = out[y:y + b, x:x + b]
            err = np.zeros(len(cand))
            if j:
                err += np.square(patches[:, :, :o] - here[None, :, :o]).sum((1, 2, 3))
            if i:
                err += np.square(patches[:, :o, :] - here[None, :o, :]).sum((1, 2, 3))
            if i or j:
                ok = np.flatnonzero(err <= err.min() * (1 + TOLERANCE) + 1e-9)
                k = int(rng.choice(ok))
            else:
                k = int(rng.integers(len(cand)))
            block = patches[k]
            mask = np.ones((b, b), bool)
            if j:
                e = np.square(block[:, :o] - here[:, :o]).sum(-1)
                mask[:, :o] &= _min_cut(e)
            if i:
                e = np.square(block[:o] - here[:o]).sum(-1)
                mask[:o, :] &= _min_cut(e.T).T
            here[mask] = block[mask]
    res = np.clip(np.round(out[:height, :width]), 0, 255).astype(np.uint8)
    return res[..., 0] if swatch.ndim == 2 else res


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("swatch")
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    sw = np.asarray(Image.open(a.swatch))
    t = time.perf_counter()
    img = quilt(sw, a.size, a.size, a.seed)
    Image.fromarray(img).save(a.out)
    print(f"quilted {a.size}x{a.size} in {time.perf_counter() - t:.2f} s -> {a.out}")


if __name__ == "__main__":
    main()
