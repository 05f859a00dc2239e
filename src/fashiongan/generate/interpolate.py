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

from ..errors import UserError
from ..sampling import class_names, generate, parse_class
from .latent import METHODS, class_weights, path


def interpolate(g: nn.Module, seed_a: int, seed_b: int, steps: int = 10,
                class_from=None, class_to=None, method: str = "slerp"):
    """`steps` images from seed_a to seed_b (both ends included).

    For a class-conditional G the class goes from `class_from` to `class_to` (names or indices;
    one of them alone holds the class fixed; neither: the class of image 0 of `sample`, i.e. 0).
    Returns (uint8 images [steps, 28, 28], class weights [steps, K] float32 or None).
    """
    if steps < 2:
        raise UserError(f"--steps must be >= 2, got {steps}")
    if method not in METHODS:
        raise UserError(f"interpolation method must be slerp or lerp, got {method!r}")
    k = getattr(g, "num_classes", 0)
    if not k and (class_from is not None or class_to is not None):
        raise UserError("this generator is unconditional: it takes no class")
    t = torch.linspace(0, 1, steps)
    z = path(seed_a, seed_b, t, g.latent_dim, method)
    weights = None
    if k:
        names = class_names(g)
        c0 = parse_class(class_from if class_from is not None else class_to or 0, names)
        c1 = parse_class(class_to if class_to is not None else c0, names)
        weights = class_weights(torch.full((steps,), c0), torch.full((steps,), c1), t, k)
    images = generate(g, z, weights)
    return images, None if weights is None else weights.numpy().astype(np.float32)
