"""Designs around a projected photo (`fashiongan project`'s .npz): variations, restyles.

A variation is the projection's latent nudged by Gaussian noise, z + strength * e, and put
back on the projection's own norm: latents of N(0, I) live near a sphere (generate/latent.py),
and a nudge that left it would drift towards G's blurry middle instead of towards a neighbour.
Strength 0 is the projection itself; the distance to it grows with strength, and at 2-3 a
variation is as unrelated as another random sample. Noise i comes from seed + i's latent, so
a variation is found again from its seed.

A restyle keeps the latent and swaps the class (blend) for another category.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from fashiongan.errors import UserError
from fashiongan.generate.latent import latents
from fashiongan.generate.sampling import class_names, parse_class


@dataclass(frozen=True)
class Projected:
    """One projected photo: its latent [D] and, for a conditional G, class weights [K]."""

    z: torch.Tensor
    weights: torch.Tensor | None


def load_projected(path: str | Path, g: nn.Module, index: int = 0) -> Projected:
    """Design `index` of a `fashiongan project --out` file, checked against G."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in ("latents", "class_weights") if k in f.files}
    except FileNotFoundError:
        raise UserError(f"{path}: does not exist") from None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise UserError(f"{path}: not a readable .npz file ({e})") from None
    if "latents" not in arrays:
        raise UserError(f"{path}: no 'latents' in it; write one with `fashiongan project`")
    z = arrays["latents"]
    if z.ndim != 2 or z.shape[1] != g.latent_dim or z.dtype.kind != "f":
        raise UserError(f"{path}: 'latents' must be float Nx{g.latent_dim} for this "
                        f"generator, got {z.dtype} {'x'.join(map(str, z.shape))}")
    if not 0 <= index < len(z):
        raise UserError(f"--index {index}: {path} holds {len(z)} design(s)")
    k = int(getattr(g, "num_classes", 0))
    weights = None
    if k:
        w = arrays.get("class_weights")
        if w is None or w.shape != (len(z), k) or not np.isfinite(w).all():
            raise UserError(f"{path}: 'class_weights' must be Nx{k} for this conditional "
                            "generator (project with the same generator)")
        weights = torch.as_tensor(w[index], dtype=torch.float32)
    if not np.isfinite(z[index]).all():
        raise UserError(f"{path}: design {index} has a non-finite latent")
    return Projected(torch.as_tensor(z[index], dtype=torch.float32), weights)


def varied(z: torch.Tensor, n: int, strength: float, seed: int = 0) -> torch.Tensor:
    """n latents [n, D] around z [D]: z + strength * (seed + i's latent), at z's norm."""
    if strength < 0:
        raise UserError(f"--strength must be >= 0, got {strength}")
    noise = latents(range(seed, seed + n), z.shape[0])
    v = z[None] + strength * noise
    return v * (z.norm() / v.norm(dim=1, keepdim=True).clamp_min(1e-12))


def restyled(g: nn.Module, class_to) -> torch.Tensor:
    """The class weights [K] of `class_to` (a name or index) for the same latent."""
    k = int(getattr(g, "num_classes", 0))
    if not k:
        raise UserError("this generator is unconditional: it cannot restyle to a class")
    return torch.nn.functional.one_hot(torch.tensor(parse_class(class_to, class_names(g))),
                                       k).float()
