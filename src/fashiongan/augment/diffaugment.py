"""DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN
Training"): the same random, differentiable transforms on every image D sees, real or fake.

One function per operation, with the paper's ranges for images in [-1, 1]:

  brightness   add U(-0.5, 0.5) per image
  saturation   scale each pixel's deviation from its channel mean by U(0, 2) (identity on one
               channel, so skipped there)
  contrast     scale the deviation from the image mean by U(0.5, 1.5)
  translation  integer shift of up to 1/8 of the size each way, zero fill (0 is mid-grey)
  cutout       zero a square of half the size at a random position (clipped at the borders)

A policy is a comma list of groups, applied in the order given: "color" (brightness,
saturation, contrast), "translation", "cutout". All draws come from the caller's generator.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

DEFAULT_POLICY = "color,translation,cutout"


def _u(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """One U(0, 1) per image, shaped to broadcast over [N, C, H, W]."""
    return torch.rand(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype, generator=generator)


def brightness(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    return x + (_u(x, generator) - 0.5)


def saturation(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    if x.shape[1] == 1:
        return x
    mean = x.mean(dim=1, keepdim=True)
    return (x - mean) * (_u(x, generator) * 2) + mean


def contrast(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_u(x, generator) + 0.5) + mean


def translation(x: torch.Tensor, generator: torch.Generator, ratio: float = 0.125
                ) -> torch.Tensor:
    B, C, H, W = x.shape
    sy, sx = int(H * ratio + 0.5), int(W * ratio + 0.5)
    dy = torch.randint(-sy, sy + 1, (B, 1, 1), device=x.device, generator=generator)
    dx = torch.randint(-sx, sx + 1, (B, 1, 1), device=x.device, generator=generator)
    # Read out[i, j] = x[i - dy, j - dx] from a copy with a one-pixel zero border; sources off
    # the image are clamped onto that border, so they read 0 (the paper's zero fill).
    rows = (torch.arange(H, device=x.device).view(1, H, 1) - dy + 1).clamp(0, H + 1)
    cols = (torch.arange(W, device=x.device).view(1, 1, W) - dx + 1).clamp(0, W + 1)
    index = (rows * (W + 2) + cols).view(B, 1, H * W).expand(B, C, H * W)
    padded = F.pad(x, (1, 1, 1, 1)).reshape(B, C, (H + 2) * (W + 2))
    return padded.gather(2, index).view(B, C, H, W)


def cutout(x: torch.Tensor, generator: torch.Generator, ratio: float = 0.5) -> torch.Tensor:
    B, C, H, W = x.shape
    ch, cw = int(H * ratio + 0.5), int(W * ratio + 0.5)
    # Centres as the paper draws them: an odd-sized square may not be centred on the last row.
    cy = torch.randint(0, H + (1 - ch % 2), (B, 1, 1), device=x.device, generator=generator)
    cx = torch.randint(0, W + (1 - cw % 2), (B, 1, 1), device=x.device, generator=generator)
    r = torch.arange(H, device=x.device).view(1, H, 1) - (cy - ch // 2)
    c = torch.arange(W, device=x.device).view(1, 1, W) - (cx - cw // 2)
    hole = (r >= 0) & (r < ch) & (c >= 0) & (c < cw)
    return x * (~hole).unsqueeze(1).to(x.dtype)


POLICIES = {
    "color": (brightness, saturation, contrast),
    "translation": (translation,),
    "cutout": (cutout,),
}


def parse_policy(policy: str) -> tuple[str, ...]:
    """'color, translation' -> ('color', 'translation'); unknown names are a ValueError."""
    names = tuple(p.strip() for p in policy.split(",") if p.strip())
    unknown = [n for n in names if n not in POLICIES]
    if unknown:
        raise ValueError(f"unknown DiffAugment policy {', '.join(unknown)}; "
                         f"choose from {', '.join(POLICIES)}")
    return names


def diff_augment(x: torch.Tensor, policy: str = DEFAULT_POLICY, *,
                 generator: torch.Generator) -> torch.Tensor:
    """x [N, C, H, W] with every operation of the policy applied (an empty policy: x itself)."""
    for name in parse_policy(policy):
        for op in POLICIES[name]:
            x = op(x, generator)
    return x
