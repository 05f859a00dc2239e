"""Residual G and D in the style of SNGAN (Miyato et al. 2018) and BigGAN (Brock et al. 2019),
sized by the data set and by a CPU's budget.

G: z -> Linear -> g_width x SxS -> up-blocks (BN-ReLU-up-conv3-BN-ReLU-conv3, plus a nearest-
upsampled 1x1 shortcut), halving the channels each stage (at least 16) -> BN-ReLU-conv3 -> tanh.
S is 7 for 28 px, 4 for 32/64/128 px, as in the DCGAN models. With classes every BatchNorm is
conditional: BigGAN's shared embedding e(y) (`embed_dim` wide, one table for the whole net)
mapped by a linear layer per BatchNorm to its gain 1 + W_g e and bias W_b e, so classes share
what they learn about each other instead of 2 tables per layer.
D: down-blocks (ReLU-conv3-ReLU-conv3-avgpool, plus an avgpooled 1x1 shortcut; the first block
without the leading ReLU, as SNGAN's OptimizedBlock), doubling channels from d_width (at most
8 d_width), down to 4x4 (7 -> 4 by a padded 2x2 pool at 28 px), ReLU, sum over space into h;
logit = w.h (+ <embed(y), h>, the projection term of Miyato & Koyama 2018). Spectral norm on
every weight layer when `spectral_norm`. No BatchNorm in D (a per-sample function, which R1 and
the projection term assume).

Class weights [N, K] (float) are accepted wherever labels are, so the studio can morph classes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from fashiongan.models.dcgan import stages
from fashiongan.models.layers import maybe_sn

EMBED_DIM = 64  # BigGAN uses 128 for 1,000 classes; 10 garment classes need far fewer


def _class_vector(embed: nn.Embedding, labels: torch.Tensor) -> torch.Tensor:
    """embed(y) for indices, or the weighted mix of class vectors for class weights [N, K]."""
    return labels @ embed.weight if labels.is_floating_point() else embed(labels)


class SharedCondBN(nn.Module):
    """BatchNorm whose gain and bias are linear in a shared class embedding (BigGAN); plain
    affine BatchNorm when the model is unconditional (embed_dim 0)."""

    def __init__(self, channels: int, embed_dim: int):
        super().__init__()
        self.conditional = embed_dim > 0
        self.bn = nn.BatchNorm2d(channels, affine=not self.conditional)
        if self.conditional:
            self.gain = nn.Linear(embed_dim, channels, bias=False)
            self.bias = nn.Linear(embed_dim, channels, bias=False)
            nn.init.zeros_(self.gain.weight)  # at init: plain BatchNorm, gain 1 and bias 0
            nn.init.zeros_(self.bias.weight)

    def forward(self, x: torch.Tensor, e: torch.Tensor | None) -> torch.Tensor:
        h = self.bn(x)
        if not self.conditional:
            return h
        # One fused pass in h's precision: under bf16 autocast h is bf16, and a float32 gain
        # would promote the whole map to float32 (10x slower on a channels-last CPU map than
        # bf16 throughout, and the next convolution casts it back).
        gain = (1 + self.gain(e)).to(h.dtype)[:, :, None, None]
        return torch.addcmul(self.bias(e).to(h.dtype)[:, :, None, None], h, gain)


class UpBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, embed_dim: int):
        super().__init__()
        self.bn1, self.bn2 = SharedCondBN(c_in, embed_dim), SharedCondBN(c_out, embed_dim)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, 1, 1)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1)
        self.skip = nn.Conv2d(c_in, c_out, 1)

    def forward(self, x: torch.Tensor, e: torch.Tensor | None) -> torch.Tensor:
        h = F.interpolate(F.relu(self.bn1(x, e)), scale_factor=2.0)
        h = self.conv2(F.relu(self.bn2(self.conv1(h), e)))
        return h + self.skip(F.interpolate(x, scale_factor=2.0))


class DownBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, sn: bool, first: bool, odd: bool):
        super().__init__()
        self.first, self.odd = first, odd
        self.conv1 = maybe_sn(nn.Conv2d(c_in, c_out, 3, 1, 1), sn)
        self.conv2 = maybe_sn(nn.Conv2d(c_out, c_out, 3, 1, 1), sn)
        self.skip = maybe_sn(nn.Conv2d(c_in, c_out, 1), sn)

    def _pool(self, x: torch.Tensor) -> torch.Tensor:
        # 7x7 -> 4x4 at 28 px: the last row and column are pooled alone (ceil_mode)
        return F.avg_pool2d(x, 2, ceil_mode=self.odd)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x if self.first else F.relu(x)
        h = self._pool(self.conv2(F.relu(self.conv1(h))))
        # SNGAN's OptimizedBlock pools before the 1x1; the others after: same map, cheaper
        return h + self.skip(self._pool(x))


def _init(module: nn.Module) -> None:
    """Xavier-uniform convs and linears (SNGAN, BigGAN), zero biases; spectrally normalised
    layers too (the normalisation fixes only their scale). The conditional BatchNorms' maps
    keep their zeros: at init they are plain BatchNorm."""
    zeroed = {id(m) for b in module.modules() if isinstance(b, SharedCondBN) and b.conditional
              for m in (b.gain, b.bias)}
    for m in module.modules():
        if isinstance(m, nn.Conv2d | nn.Linear) and id(m) not in zeroed:
            sn = hasattr(m, "parametrizations")
            nn.init.xavier_uniform_(m.parametrizations.weight.original if sn else m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


class ResNetGenerator(nn.Module):
    def __init__(self, latent_dim: int = 100, g_width: int = 128, num_classes: int = 0,
                 channels: int = 1, resolution: int = 28, **_):
        super().__init__()
        start, n = stages(resolution)
        self.latent_dim, self.num_classes = latent_dim, num_classes
        self.channels, self.resolution, self.start = channels, resolution, start
        widths = [max(g_width >> i, 16) for i in range(n + 1)]
        embed_dim = EMBED_DIM if num_classes else 0
        self.embed = nn.Embedding(num_classes, embed_dim) if num_classes else None
        self.fc = nn.Linear(latent_dim, widths[0] * start * start)
        self.blocks = nn.ModuleList(UpBlock(widths[i], widths[i + 1], embed_dim)
                                    for i in range(n))
        self.bn_out = nn.BatchNorm2d(widths[-1])
        self.out = nn.Conv2d(widths[-1], channels, 3, 1, 1)
        self.c0 = widths[0]
        _init(self)
        if self.embed is not None:
            nn.init.normal_(self.embed.weight, 0.0, 1.0)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        e = None
        if self.embed is not None:
            if labels is None:
                raise ValueError("this generator is class-conditional: give labels")
            e = _class_vector(self.embed, labels)
        h = self.fc(z).view(-1, self.c0, self.start, self.start)
        for block in self.blocks:
            h = block(h, e)
        return torch.tanh(self.out(F.relu(self.bn_out(h))))


class ResNetDiscriminator(nn.Module):
    def __init__(self, d_width: int = 64, num_classes: int = 0, spectral_norm: bool = True,
                 channels: int = 1, resolution: int = 28, **_):
        super().__init__()
        self.num_classes, sn = num_classes, spectral_norm
        stages(resolution)  # the same resolutions as G
        blocks, c_in, size, i = [], channels, resolution, 0
        while size > 4:
            c_out = d_width * min(2**i, 8)
            blocks.append(DownBlock(c_in, c_out, sn, first=i == 0, odd=size % 2 == 1))
            c_in, size, i = c_out, (size + 1) // 2, i + 1
        self.blocks = nn.Sequential(*blocks)
        self.linear = maybe_sn(nn.Linear(c_in, 1), sn)
        self.embed = maybe_sn(nn.Embedding(num_classes, c_in), sn) if num_classes else None
        _init(self)
        if self.embed is not None:
            w = (self.embed.parametrizations.weight.original if sn else self.embed.weight)
            nn.init.xavier_uniform_(w)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = F.relu(self.blocks(x)).sum(dim=(2, 3))
        out = self.linear(h).squeeze(1)
        if self.embed is not None:
            if labels is None:
                raise ValueError("this discriminator is class-conditional: give labels")
            out = out + (_class_vector(self.embed, labels) * h).sum(dim=1)
        return out

