"""Per-image geometric transforms for ADA, differentiable with respect to the images.

Two kinds, as in Karras et al. (2020):

- `blit`: x-flip, 90-degree rotation and integer translation. Each output pixel is a copy of
  one input pixel, so they are done with one `gather` (exact: no interpolation blur, and the
  gradient is a scatter of the output gradient). Pixels that come from outside the image are
  read from its mirror image (reflection without repeating the edge, ADA's padding), so no
  constant border appears that D could use to tell augmented images apart.
- `scale`: isotropic/anisotropic scaling about the centre with bilinear `grid_sample` and
  reflection padding. ADA's wavelet up/down-sampling around the warp (anti-aliasing) is left
  out: at 28-128 px and scale factors 2^N(0, 0.2) the bilinear warp is what we can afford.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def reflect_index(i: torch.Tensor, n: int) -> torch.Tensor:
    """Indices folded into [0, n) by mirroring at the edges without repeating them
    (-1 -> 1, n -> n-2), like F.pad(mode="reflect"); any distance, via the period 2(n-1)."""
    if n == 1:
        return torch.zeros_like(i)
    period = 2 * (n - 1)
    i = torch.remainder(i, period)
    return torch.where(i < n, i, period - i)


def blit(x: torch.Tensor, flip: torch.Tensor, rot: torch.Tensor, tx: torch.Tensor,
         ty: torch.Tensor) -> torch.Tensor:
    """out = translate(rotate90(flip(x))) per image.

    flip: [B] bool (mirror left-right); rot: [B] int in 0..3 (quarter turns counter-clockwise,
    as torch.rot90 on dims (2, 3)); tx, ty: [B] int pixels (right, down). Rotation needs square
    images (the caller checks).
    """
    B, C, H, W = x.shape
    dev = x.device
    # Centred coordinates of the output pixels, doubled so that they are integers for even and
    # odd sizes alike (pixel centres sit at half-integers around the centre of an even image).
    v = (2 * torch.arange(H, device=dev) - (H - 1)).view(1, H, 1).expand(B, H, W)
    u = (2 * torch.arange(W, device=dev) - (W - 1)).view(1, 1, W).expand(B, H, W)
    # Walk each output pixel back to its source: undo the translation, then the rotation,
    # then the flip (the forward order is flip, rotate, translate, as in ADA's matrix product).
    u = u - 2 * tx.view(B, 1, 1)
    v = v - 2 * ty.view(B, 1, 1)
    k = rot.view(B, 1, 1)
    # A quarter turn counter-clockwise (torch.rot90, k=1) puts the source pixel at centred
    # (col u', row v') on the output pixel (col v', row -u'); undone: u' = -v, v' = u.
    for turn in range(1, 4):
        on = k == turn
        uu, vv = u, v
        for _ in range(turn):
            uu, vv = -vv, uu
        u, v = torch.where(on, uu, u), torch.where(on, vv, v)
    u = torch.where(flip.view(B, 1, 1), -u, u)
    col = reflect_index(torch.div(u + (W - 1), 2, rounding_mode="floor"), W)
    row = reflect_index(torch.div(v + (H - 1), 2, rounding_mode="floor"), H)
    index = (row * W + col).view(B, 1, H * W).expand(B, C, H * W)
    return x.reshape(B, C, H * W).gather(2, index).view(B, C, H, W)


def scale(x: torch.Tensor, sx: torch.Tensor, sy: torch.Tensor) -> torch.Tensor:
    """Magnify image b by sx[b] horizontally and sy[b] vertically about its centre (bilinear,
    reflection padding). Images whose factors are exactly 1 come back bit for bit."""
    B = x.shape[0]
    # affine_grid maps output coordinates to input ones: magnifying by s samples at q / s.
    theta = torch.zeros(B, 2, 3, device=x.device, dtype=x.dtype)
    theta[:, 0, 0] = 1 / sx.to(x.dtype)
    theta[:, 1, 1] = 1 / sy.to(x.dtype)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    warped = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection",
                           align_corners=False)
    # bilinear weights at an identity grid are not exactly 0/1 in floating point; unscaled
    # images are passed through untouched instead of coming back slightly altered.
    same = ((sx == 1) & (sy == 1)).view(B, 1, 1, 1)
    return torch.where(same, x, warped)
