"""Latents, paths between them and class blends: the one copy that `fashiongan sample
--interpolate` (generate/interpolate.py) and the studio (serve/studio.py) both use, so that a
morph means the same thing, to the bit, in the command line and on the web page.

Seeds: each seed gets its own torch.Generator (as stylegan2-ada does), so the same seed gives the
same latent at any batch size, on any number of ranks, and a design found in the studio can be
found again from its seed.

Paths: latents are interpolated by slerp (White 2016, "Sampling generative networks"): z ~ N(0, I)
in 100 dimensions lives near a sphere of radius ~10, and the straight line (lerp) between two
such points passes through its inside, where G has seen no latents (the midpoint's norm is
~0.7x). Slerp keeps the norm and so every frame looks like a sample; lerp is there to compare.

Classes: a class-conditional G takes a *soft class*, float class weights [N, num_classes], besides
int labels. Two classes are mixed linearly as weights, which the conditional BatchNorm turns into
a linear mix of the two classes' gains and biases (models/layers.py). A generator that does not
take weights is still served: `soft_class_mode` probes it once, and its class then switches
abruptly at t = 0.5 instead of blending.

This module imports no other part of fashiongan (sampling.py imports it).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


def latents(seeds: Sequence[int], latent_dim: int, device="cpu") -> torch.Tensor:
    """Each seed's own N(0, I) latent: [len(seeds), latent_dim]."""
    z = torch.empty(len(seeds), latent_dim)
    for i, s in enumerate(seeds):
        z[i] = torch.randn(latent_dim, generator=torch.Generator().manual_seed(int(s)))
    return z.to(device)


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


METHODS = {"slerp": slerp, "lerp": lerp}


def path(seed_a: int, seed_b: int, t: torch.Tensor, latent_dim: int,
         method: str = "slerp") -> torch.Tensor:
    """The latents [T, latent_dim] at positions t [T] from seed_a's latent to seed_b's."""
    za, zb = latents([seed_a, seed_b], latent_dim)
    return path_between(za, zb, t, method)


def path_between(za: torch.Tensor, zb: torch.Tensor, t: torch.Tensor,
                 method: str = "slerp") -> torch.Tensor:
    """The latents [T, D] at positions t [T] from latent za to zb ([D] each: a seed's, or a
    projected photo's). The first and last rows are the ends themselves, not slerp's float64
    rounding of them, so a path's end frames are exactly those designs."""
    z = METHODS[method](za, zb, t)
    z[0], z[-1] = za, zb
    return z


def as_weights(classes: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Class indices [N] -> one-hot rows; class weights [N, K] (a soft class) as they are."""
    if classes.is_floating_point():
        return classes
    return F.one_hot(classes, num_classes).float()


def class_weights(class_a: torch.Tensor, class_b: torch.Tensor, t: torch.Tensor,
                  num_classes: int) -> torch.Tensor:
    """Soft classes [N, num_classes]: row i is (1 - t_i) a_i + t_i b_i, where a class is an
    int index (one-hot) or already a row of class weights (a projected photo's blend)."""
    w = t.reshape(-1, 1)
    return ((1 - w) * as_weights(class_a, num_classes).to(w.dtype)
            + w * as_weights(class_b, num_classes).to(w.dtype))


@torch.no_grad()
def forward_blend(g: nn.Module, z: torch.Tensor, class_a: torch.Tensor | None,
                  class_b: torch.Tensor | None, t: torch.Tensor, mode: str) -> torch.Tensor:
    """G's output for latents z, each row's class blended from class_a to class_b by t ([N]);
    a class is an int index or a row of class weights (as_weights); `mode` is
    soft_class_mode(g). A G that cannot blend takes a weights row as its main class."""
    if mode == "none" or class_a is None:
        return g(z, None)
    if mode != "soft":
        class_a, class_b = (c.argmax(1) if c is not None and c.is_floating_point() else c
                            for c in (class_a, class_b))
    # pure ends take the plain labelled path, so a blend at t=0 or 1 is exactly that design
    same = (class_a.shape == class_b.shape and bool((class_a == class_b).all())
            if class_b is not None else True)
    if same or bool((t == 0).all()):
        return g(z, class_a)
    if bool((t == 1).all()):
        return g(z, class_b)
    if mode == "soft":
        return g(z, class_weights(class_a, class_b, t.to(z.dtype), g.num_classes))
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
