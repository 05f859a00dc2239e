"""`fashiongan sample --interpolate A B`: a strip walking between two designs, from seed A's
latent to seed B's, and for a class-conditional G optionally from one category to another (a
dress into a coat).

The path (slerp by default, and why) and the class blend are generate/latent.py's, shared with
the studio; this module adds the strip's arguments and its one batched run of G.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from fashiongan.errors import UserError
from fashiongan.generate.latent import METHODS, class_weights, latents, path_between
from fashiongan.generate.sampling import class_names, generate, parse_class


def interpolate(g: nn.Module, seed_a, seed_b, steps: int = 10,
                class_from=None, class_to=None, method: str = "slerp"):
    """`steps` images from end A to end B (both included). An end is a seed, or a projected
    photo (generate/variations.py's Projected: its latent and class weights).

    For a class-conditional G the class goes from `class_from` to `class_to` (names or
    indices). Without them a projected end keeps its own class blend; for seeds one of them
    alone holds the class fixed, and neither gives the class of image 0 of `sample`, i.e. 0.
    Returns (uint8 images [steps, H, W(, 3)], class weights [steps, K] float32 or None).
    """
    if steps < 2:
        raise UserError(f"--steps must be >= 2, got {steps}")
    if method not in METHODS:
        raise UserError(f"interpolation method must be slerp or lerp, got {method!r}")
    k = getattr(g, "num_classes", 0)
    if not k and (class_from is not None or class_to is not None):
        raise UserError("this generator is unconditional: it takes no class")
    t = torch.linspace(0, 1, steps)
    za, zb = (_latent(e, g.latent_dim) for e in (seed_a, seed_b))
    z = path_between(za, zb, t, method)
    weights = None
    if k:
        names = class_names(g)
        if class_from is not None or _is_seed(seed_a):
            c0 = _class(parse_class(class_from if class_from is not None else class_to or 0,
                                    names), steps)
        else:
            c0 = _class(seed_a.weights, steps)
        if class_to is not None or _is_seed(seed_b):
            c1 = c0 if class_to is None else _class(parse_class(class_to, names), steps)
        else:
            c1 = _class(seed_b.weights, steps)
        weights = class_weights(c0, c1, t, k)
    images = generate(g, z, weights)
    return images, None if weights is None else weights.numpy().astype(np.float32)


def _is_seed(end) -> bool:
    return isinstance(end, int | np.integer)


def _latent(end, latent_dim: int) -> torch.Tensor:
    return latents([int(end)], latent_dim)[0] if _is_seed(end) else torch.as_tensor(end.z)


def _class(c, steps: int) -> torch.Tensor:
    """One class (an index, or a row of class weights) for every frame."""
    if isinstance(c, int):
        return torch.full((steps,), c)
    return torch.as_tensor(c, dtype=torch.float32).expand(steps, -1)
