"""Blending two categories in one forward pass of a class-conditional generator.

The registry's conditional generators take a *soft class*: float class weights [N, num_classes]
besides int labels (see fashiongan.interpolate, which mixes classes the same way). A generator
that does not is still served: `soft_class_mode` probes it once, and its class then switches
abruptly at t = 0.5 instead of blending.
"""

from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F
from torch import nn

from ..sampling import latents


@torch.no_grad()
def forward_blend(g: nn.Module, z: torch.Tensor, class_a: torch.Tensor | None,
                  class_b: torch.Tensor | None, t: torch.Tensor, mode: str) -> torch.Tensor:
    """G's output for latents z, each row's class blended from class_a to class_b by t ([N])."""
    if mode == "none" or class_a is None:
        return g(z, None)
    # pure ends take the plain labelled path, so a blend at t=0 or 1 is exactly that design
    if class_b is None or bool((t == 0).all()) or bool((class_a == class_b).all()):
        return g(z, class_a)
    if bool((t == 1).all()):
        return g(z, class_b)
    if mode == "soft":
        k, w = g.num_classes, t.reshape(-1, 1).to(z.dtype)
        return g(z, (1 - w) * F.one_hot(class_a, k).to(z.dtype)
                 + w * F.one_hot(class_b, k).to(z.dtype))
    return g(z, torch.where(t < 0.5, class_a, class_b))


@torch.no_grad()
def soft_class_mode(g: nn.Module) -> str:
    """"none" (unconditional), "soft" (takes class weights) or "switch"; probes 2 images."""
    k = getattr(g, "num_classes", 0)
    if not k:
        return "none"
    z = latents([0, 1], g.latent_dim).to(next(g.parameters()).device)
    labels = torch.tensor([0, k - 1], device=z.device)
    # a generator that raises on float weights, or reads them otherwise, cannot blend
    with contextlib.suppress(Exception):
        if torch.allclose(g(z, F.one_hot(labels, k).to(z.dtype)), g(z, labels), atol=1e-5):
            return "soft"
    return "switch"
