"""DCGAN (Radford et al. 2016) sized for 28x28, and its class-conditional form.

G: z -> Linear -> g_width x 7x7 -> ConvT 4x4/2 -> g_width/2 x 14x14 -> ConvT 4x4/2 ->
g_width/4 x 28x28 -> Conv 3x3 -> 1 x 28x28, tanh; BatchNorm + ReLU after every layer but the last.
D: Conv 4x4/2 -> d_width x 14x14 -> Conv 4x4/2 -> 2 d_width x 7x7 -> Conv 3x3/2 -> 4 d_width x 4x4,
LeakyReLU 0.2 after each, summed over space into features h; logit = w.h (+ embed(y).h).

D has no BatchNorm: a per-sample function of its input is what WGAN-GP's and R1's gradient
penalties assume, and what the projection term needs. The conditional G swaps BatchNorm for
conditional BatchNorm (a gain and bias per class); the conditional D adds the projection term
<embed(y), h> of Miyato & Koyama (2018) to the unconditional logit.
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import UserError
from .layers import CondBatchNorm2d, dcgan_init, maybe_sn


class DCGANGenerator(nn.Module):
    def __init__(self, latent_dim: int = 100, g_width: int = 128, num_classes: int = 0, **_):
        super().__init__()
        if g_width % 4:
            raise UserError(f"g_width must be a multiple of 4, got {g_width}")
        self.latent_dim, self.num_classes = latent_dim, num_classes
        c7, c14, c28 = g_width, g_width // 2, g_width // 4
        self.fc = nn.Linear(latent_dim, c7 * 7 * 7, bias=False)
        self.up1 = nn.ConvTranspose2d(c7, c14, 4, 2, 1, bias=False)
        self.up2 = nn.ConvTranspose2d(c14, c28, 4, 2, 1, bias=False)
        self.out = nn.Conv2d(c28, 1, 3, 1, 1)
        if num_classes:
            self.norms = nn.ModuleList(CondBatchNorm2d(c, num_classes) for c in (c7, c14, c28))
        else:
            self.norms = nn.ModuleList(nn.BatchNorm2d(c) for c in (c7, c14, c28))
        self.act = nn.ReLU()
        self.c7 = c7
        dcgan_init(self)

    def _norm(self, i: int, h: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        if self.num_classes:
            if labels is None:
                raise ValueError("this generator is class-conditional: give labels")
            return self.act(self.norms[i](h, labels))
        return self.act(self.norms[i](h))

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = self._norm(0, self.fc(z).view(-1, self.c7, 7, 7), labels)
        h = self._norm(1, self.up1(h), labels)
        h = self._norm(2, self.up2(h), labels)
        return torch.tanh(self.out(h))


class DCGANDiscriminator(nn.Module):
    def __init__(self, d_width: int = 64, num_classes: int = 0, spectral_norm: bool = False,
                 **_):
        super().__init__()
        self.num_classes = num_classes
        w, sn = d_width, spectral_norm
        self.features = nn.Sequential(
            maybe_sn(nn.Conv2d(1, w, 4, 2, 1), sn), nn.LeakyReLU(0.2),
            maybe_sn(nn.Conv2d(w, 2 * w, 4, 2, 1), sn), nn.LeakyReLU(0.2),
            maybe_sn(nn.Conv2d(2 * w, 4 * w, 3, 2, 1), sn), nn.LeakyReLU(0.2),
        )
        self.linear = maybe_sn(nn.Linear(4 * w, 1), sn)
        self.embed = maybe_sn(nn.Embedding(num_classes, 4 * w), sn) if num_classes else None
        dcgan_init(self)
        if self.embed is not None and not sn:
            nn.init.normal_(self.embed.weight, 0.0, 0.02)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = self.features(x).sum(dim=(2, 3))  # global sum pooling, as in SNGAN's ResNet D
        out = self.linear(h).squeeze(1)
        if self.embed is not None:
            if labels is None:
                raise ValueError("this discriminator is class-conditional: give labels")
            out = out + (self.embed(labels) * h).sum(dim=1)
        return out


class ConditionalDCGANGenerator(DCGANGenerator):
    """The `cdcgan` registry entry: a DCGAN generator that insists on classes."""

    def __init__(self, latent_dim: int = 100, g_width: int = 128, num_classes: int = 10, **kw):
        if not num_classes:
            raise UserError("cdcgan is class-conditional: num_classes must be > 0")
        super().__init__(latent_dim, g_width, num_classes, **kw)


class ConditionalDCGANDiscriminator(DCGANDiscriminator):
    def __init__(self, d_width: int = 64, num_classes: int = 10, spectral_norm: bool = False,
                 **kw):
        if not num_classes:
            raise UserError("cdcgan is class-conditional: num_classes must be > 0")
        super().__init__(d_width, num_classes, spectral_norm, **kw)
