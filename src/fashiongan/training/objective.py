"""GAN objectives as pure functions of D's logits (no modules, no optimisers).

`d_loss(name, real, fake)` and `g_loss(name, fake)` return scalars to minimise.
bce is the article's: sigmoid + binary cross-entropy with targets 1 (real) and 0 (fake), and G
trained towards target 1 -- which *is* the non-saturating loss of Goodfellow et al., so
`non_saturating` is the same function under its paper name.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def bce_real(logits: torch.Tensor) -> torch.Tensor:
    """BCE against target 1 on logits: mean softplus(-x)."""
    return F.softplus(-logits).mean()


def bce_fake(logits: torch.Tensor) -> torch.Tensor:
    """BCE against target 0 on logits: mean softplus(x)."""
    return F.softplus(logits).mean()


def d_loss(name: str, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    if name in ("bce", "non_saturating"):
        # Keras reports the mean of the real and fake batch losses; same gradients up to 1/2.
        return 0.5 * (bce_real(real) + bce_fake(fake))
    if name == "hinge":
        return F.relu(1 - real).mean() + F.relu(1 + fake).mean()
    if name == "wgan_gp":
        return fake.mean() - real.mean()
    raise ValueError(f"unknown loss {name!r}")


def g_loss(name: str, fake: torch.Tensor) -> torch.Tensor:
    if name in ("bce", "non_saturating"):
        return bce_real(fake)
    if name in ("hinge", "wgan_gp"):
        return -fake.mean()
    raise ValueError(f"unknown loss {name!r}")


def gradient_penalty(d, real: torch.Tensor, fake: torch.Tensor, labels=None,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """WGAN-GP: (||grad D(x_hat)|| - 1)^2 at x_hat = eps*real + (1-eps)*fake, eps per sample."""
    eps = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device,
                     dtype=real.dtype, generator=generator)
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    out = d(x_hat, labels)
    (grad,) = torch.autograd.grad(out.sum(), x_hat, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


def r1_penalty(real_logits: torch.Tensor, inputs: torch.Tensor,
               n_real: int | None = None) -> torch.Tensor:
    """R1 (Mescheder et al. 2018): 0.5 * E||grad D(x)||^2 on real x. `inputs` is the tensor D
    ran on (with grad on): the real batch alone, or real and fake concatenated with the real
    ones first, `n_real` of them."""
    (grad,) = torch.autograd.grad(real_logits.sum(), inputs, create_graph=True)
    return 0.5 * grad[:n_real].pow(2).flatten(1).sum(1).mean()


def mode_seeking(fake: torch.Tensor, z: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """MSGAN's term (Mao et al. 2019) for a batch whose second half repeats the first half's
    labels with other noise: 1 / (mean |G(z1) - G(z2)| / mean |z1 - z2| + eps), so G pays for
    drawing the same picture from different noise (a class that comes in one colour)."""
    h = fake.shape[0] // 2
    images = (fake[:h] - fake[h:2 * h]).abs().mean()
    latents = (z[:h] - z[h:2 * h]).abs().mean()
    return 1 / (images / latents + eps)


def accuracy(real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Keras' binary accuracy at threshold 0.5 (sigmoid(x) > 0.5 is x > 0), as tensors so the
    caller decides when to synchronise with the device."""
    return (real > 0).float().mean(), (fake <= 0).float().mean()
