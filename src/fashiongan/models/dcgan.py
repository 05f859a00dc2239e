"""DCGAN (Radford et al. 2016) sized by the data set, and its class-conditional form.

G: z -> Linear -> g_width x SxS -> stride-2 ConvT 4x4 stages, halving the channels, up to the
resolution -> Conv 3x3 -> C channels, tanh; BatchNorm + ReLU after every layer but the last.
S is 7 for 28 px (7 -> 14 -> 28) and 4 for 32/64/128 px (4 -> 8 -> ... -> R).
D: stride-2 convs, doubling the channels from d_width (at most 8 d_width), down to 4x4 (the last
one 3x3 at 28 px: 28 -> 14 -> 7 -> 4), LeakyReLU 0.2 after each, summed over space into features
h; logit = w.h (+ embed(y).h). At 28 px grey the layers and their names are those of the first
version, so its snapshots (the shipped generator) load unchanged.

D has no BatchNorm: a per-sample function of its input is what WGAN-GP's and R1's gradient
penalties assume, and what the projection term needs. The conditional G swaps BatchNorm for
conditional BatchNorm (a gain and bias per class); the conditional D adds the projection term
<embed(y), h> of Miyato & Koyama (2018) to the unconditional logit.
"""

from __future__ import annotations

import torch
from torch import nn

from fashiongan.errors import UserError
from fashiongan.models.layers import CondBatchNorm2d, dcgan_init, maybe_sn


def stages(resolution: int) -> tuple[int, int]:
    """(start size, number of stride-2 stages) that reach `resolution` exactly."""
    start = 7 if resolution % 7 == 0 else 4
    n, size = 0, start
    while size < resolution:
        size, n = size * 2, n + 1
    if size != resolution or n == 0:
        raise UserError(f"the DCGAN models need a resolution of 7 or 4 times a power of two "
                        f"(28, 32, 64, 128...), got {resolution}")
    return start, n


class DCGANGenerator(nn.Module):
    def __init__(self, latent_dim: int = 100, g_width: int = 128, num_classes: int = 0,
                 channels: int = 1, resolution: int = 28, **_):
        super().__init__()
        start, n = stages(resolution)
        if g_width % 2**n:
            raise UserError(f"g_width must be a multiple of {2**n} at {resolution} px "
                            f"(it is halved {n} times), got {g_width}")
        self.latent_dim, self.num_classes = latent_dim, num_classes
        self.channels, self.resolution, self.start = channels, resolution, start
        widths = [g_width >> i for i in range(n + 1)]
        self.fc = nn.Linear(latent_dim, widths[0] * start * start, bias=False)
        for i in range(n):  # up1, up2, ...: the names of the first version
            setattr(self, f"up{i + 1}", nn.ConvTranspose2d(widths[i], widths[i + 1], 4, 2, 1,
                                                           bias=False))
        self.n_up = n
        self.out = nn.Conv2d(widths[-1], channels, 3, 1, 1)
        if num_classes:
            self.norms = nn.ModuleList(CondBatchNorm2d(c, num_classes) for c in widths)
        else:
            self.norms = nn.ModuleList(nn.BatchNorm2d(c) for c in widths)
        self.act = nn.ReLU()
        self.c7 = widths[0]
        dcgan_init(self)

    def _norm(self, i: int, h: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        if self.num_classes:
            if labels is None:
                raise ValueError("this generator is class-conditional: give labels")
            return self.act(self.norms[i](h, labels))
        return self.act(self.norms[i](h))

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = self._norm(0, self.fc(z).view(-1, self.c7, self.start, self.start), labels)
        for i in range(self.n_up):
            h = self._norm(i + 1, getattr(self, f"up{i + 1}")(h), labels)
        return torch.tanh(self.out(h))


class DCGANDiscriminator(nn.Module):
    def __init__(self, d_width: int = 64, num_classes: int = 0, spectral_norm: bool = False,
                 channels: int = 1, resolution: int = 28, **_):
        super().__init__()
        self.num_classes = num_classes
        w, sn = d_width, spectral_norm
        _, n = stages(resolution)
        layers, c_in, size = [], channels, resolution
        for i in range(n + 1 if resolution % 7 == 0 else n):
            c_out = w * min(2**i, 8)
            last_odd = size % 2 == 1  # 7 -> 4 at 28 px: a 3x3 kernel, as the first version
            layers += [maybe_sn(nn.Conv2d(c_in, c_out, 3 if last_odd else 4, 2, 1), sn),
                       nn.LeakyReLU(0.2)]
            c_in, size = c_out, (size + 1) // 2
        self.features = nn.Sequential(*layers)
        self.linear = maybe_sn(nn.Linear(c_in, 1), sn)
        self.embed = maybe_sn(nn.Embedding(num_classes, c_in), sn) if num_classes else None
        dcgan_init(self)
        if self.embed is not None and not sn:
            nn.init.normal_(self.embed.weight, 0.0, 0.02)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.head(self.features(x), labels)

    def head(self, h: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """The logits from the last feature map."""
        h = h.sum(dim=(2, 3))  # global sum pooling, as in SNGAN's ResNet D
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
