"""Walks between two designs: from seed A's latent to seed B's, and for a class-conditional G
optionally from one category to another (a dress into a coat).

Latents are interpolated by slerp (White 2016, "Sampling generative networks"): z ~ N(0, I) in
100 dimensions lives near a sphere of radius ~10, and the straight line (lerp) between two such
points passes through its inside, where G has seen no latents (the midpoint's norm is ~0.7x).
Slerp keeps the norm and so every frame looks like a sample; `method="lerp"` is there to compare.
Classes are mixed linearly as class weights, which the conditional BatchNorm turns into a
linear mix of the two classes' gains and biases.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .errors import UserError
from .sampling import class_names, generate, latents, parse_class


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation of vectors a, b [D] at positions t [T] -> [T, D]; falls back to
    lerp when a and b are (anti)parallel, where the great circle is undefined."""
    a64, b64, t64 = a.double(), b.double(), t.double()[:, None]
    cos = (a64 @ b64 / (a64.norm() * b64.norm())).clamp(-1, 1)
    omega = torch.arccos(cos)
    if torch.sin(omega).abs() < 1e-6:
        return lerp(a, b, t)
    out = (torch.sin((1 - t64) * omega) * a64 + torch.sin(t64 * omega) * b64) / torch.sin(omega)
    return out.to(a.dtype)


def lerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    return a[None] + t[:, None].to(a.dtype) * (b - a)[None]


def interpolate(g: nn.Module, seed_a: int, seed_b: int, steps: int = 10,
                class_from=None, class_to=None, method: str = "slerp"):
    """`steps` images from seed_a to seed_b (both ends included).

    For a class-conditional G the class goes from `class_from` to `class_to` (names or indices;
    one of them alone holds the class fixed; neither: the class of image 0 of `sample`, i.e. 0).
    Returns (uint8 images [steps, 28, 28], class weights [steps, K] float32 or None).
    """
    if steps < 2:
        raise UserError(f"--steps must be >= 2, got {steps}")
    if method not in ("slerp", "lerp"):
        raise UserError(f"interpolation method must be slerp or lerp, got {method!r}")
    k = getattr(g, "num_classes", 0)
    if not k and (class_from is not None or class_to is not None):
        raise UserError("this generator is unconditional: it takes no class")
    za, zb = latents([seed_a, seed_b], g.latent_dim)
    t = torch.linspace(0, 1, steps)
    z = (slerp if method == "slerp" else lerp)(za, zb, t)
    z[0], z[-1] = za, zb  # the ends are the seeds' own latents, free of float64 round-off
    weights = None
    if k:
        names = class_names(g)
        c0 = parse_class(class_from if class_from is not None else class_to or 0, names)
        c1 = parse_class(class_to if class_to is not None else c0, names)
        weights = torch.zeros(steps, k)
        weights[:, c0] += 1 - t
        weights[:, c1] += t
    images = generate(g, z, weights)
    return images, None if weights is None else weights.numpy().astype(np.float32)
