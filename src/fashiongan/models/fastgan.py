"""A generator for colour garments at 32-128 px on a CPU, after FastGAN (Liu et al. 2021).

G: z -> Linear -> g_width x 4x4 -> up-stages (nearest x2 -> conv 3x3 -> BN -> ReLU) halving the
channels but never below `min_width` (the late stages stay wide: the ConvTranspose DCGAN's
64-px stages were 8-16 channels) up to R/2 -> nearest x2 -> conv 3x3 -> C channels, tanh.
Resize-then-convolve (Odena et al. 2016) instead of free stride-2 transposed convolutions:
nearest upsampling has no energy at the 2-px period, and a convolution after it adds none, so
the checkerboards of uneven kernel overlap cannot appear (metrics/spectrum.py measures it).
Each resize and 3x3 convolution runs as the one transposed convolution it equals
(models/upconv.py: the same function at 4/9 of the multiply-adds). The
full-resolution stage is the RGB convolution alone: a 3x3 conv at R x R costs 4x one at R/2,
which is where the width is paid for.
Skip-layer excitation (FastGAN's SLE): the 4x4 features gate the channels of the R/4 stage
(pool to 4x4 -> conv 4x4 -> LeakyReLU -> conv 1x1 -> sigmoid), a cheap path from the global
layout to the textures.
With classes every BatchNorm is conditional through BigGAN's shared class embedding
(resnet.SharedCondBN); class weights [N, K] are accepted for the studio's morphs.
D: the DCGAN discriminator (stride-2 4x4 convs, projection term), which measured cheapest per
image; FastGAN's reconstruction head is not here (it needs a loss term in the objective).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from fashiongan.errors import UserError
from fashiongan.models.dcgan import DCGANDiscriminator
from fashiongan.models.resnet import EMBED_DIM, SharedCondBN
from fashiongan.models.upconv import up_conv


def up_stages(resolution: int) -> int:
    """Stride-2 stages from 4x4 to `resolution` (a power of two from 16 to 1024)."""
    n, size = 0, 4
    while size < resolution:
        size, n = size * 2, n + 1
    if size != resolution or n < 2:
        raise UserError(f"the fastgan model needs a power-of-two resolution from 16 px "
                        f"(32, 64, 128...), got {resolution}")
    return n


def class_vector(embed: nn.Embedding, labels: torch.Tensor) -> torch.Tensor:
    """embed(y) for indices, or the weighted mix of class vectors for class weights [N, K]."""
    return labels @ embed.weight if labels.is_floating_point() else embed(labels)


class SLE(nn.Module):
    """Skip-layer excitation: channel gates for a large map from a small one."""

    def __init__(self, c_small: int, c_big: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c_small, c_big, 4)
        self.conv2 = nn.Conv2d(c_big, c_big, 1)

    def forward(self, small: torch.Tensor, big: torch.Tensor) -> torch.Tensor:
        g = F.leaky_relu(self.conv1(F.adaptive_avg_pool2d(small, 4)), 0.1)
        return big * torch.sigmoid(self.conv2(g))


class UpStage(nn.Module):
    def __init__(self, c_in: int, c_out: int, embed_dim: int):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 3, 1, 1, bias=False)
        self.bn = SharedCondBN(c_out, embed_dim)

    def forward(self, x: torch.Tensor, e: torch.Tensor | None) -> torch.Tensor:
        return F.relu(self.bn(up_conv(x, self.conv), e))


class FastGANGenerator(nn.Module):
    def __init__(self, latent_dim: int = 100, g_width: int = 128, num_classes: int = 0,
                 channels: int = 3, resolution: int = 64, min_width: int = 32, **_):
        super().__init__()
        n = up_stages(resolution)
        self.latent_dim, self.num_classes = latent_dim, num_classes
        self.channels, self.resolution = channels, resolution
        widths = [max(g_width >> i, min(min_width, g_width)) for i in range(n)]  # 4 .. R/2
        embed_dim = EMBED_DIM if num_classes else 0
        self.embed = nn.Embedding(num_classes, embed_dim) if num_classes else None
        self.fc = nn.Linear(latent_dim, widths[0] * 16, bias=False)
        self.bn0 = SharedCondBN(widths[0], embed_dim)
        self.stages = nn.ModuleList(UpStage(widths[i], widths[i + 1], embed_dim)
                                    for i in range(n - 1))
        self.sle_at = n - 3  # the stage whose output (R/4) the 4x4 features gate
        self.sle = SLE(widths[0], widths[-2]) if n >= 3 else None
        self.out = nn.Conv2d(widths[-1], channels, 3, 1, 1)
        self.c0 = widths[0]
        zeroed = {id(m) for m in _zeroed(self)}
        for m in self.modules():
            if isinstance(m, nn.Conv2d | nn.Linear) and id(m) not in zeroed:
                nn.init.xavier_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        if self.embed is not None:
            nn.init.normal_(self.embed.weight, 0.0, 1.0)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        e = None
        if self.embed is not None:
            if labels is None:
                raise ValueError("this generator is class-conditional: give labels")
            e = class_vector(self.embed, labels)
        h0 = F.relu(self.bn0(self.fc(z).view(-1, self.c0, 4, 4), e))
        h = h0
        for i, stage in enumerate(self.stages):
            h = stage(h, e)
            if self.sle is not None and i == self.sle_at:
                h = self.sle(h0, h)
        return torch.tanh(up_conv(h, self.out))


def _zeroed(g: nn.Module) -> list[nn.Module]:
    """The conditional BatchNorms' maps: zero at init, so that they start as plain BN."""
    return [m for b in g.modules() if isinstance(b, SharedCondBN) and b.conditional
            for m in (b.gain, b.bias)]


class FastGANDiscriminator(DCGANDiscriminator):
    """The DCGAN discriminator under this registry name, at the same resolutions as G, with
    FastGAN's reconstruction head when asked (`reconstruct`, config recon_weight): a decoder
    from D's 8x8 features to a 32x32 picture, trained to redraw each real image (downsampled),
    so that D's features must describe the whole garment and not only what tells real from
    fake. FastGAN also redraws a random quarter of the 16x16 features at more detail; at
    64-128 px the whole-image decoder is the part kept, and L1 stands in for its LPIPS (whose
    weights are not at hand offline)."""

    can_reconstruct = True

    def __init__(self, d_width: int = 16, num_classes: int = 0, spectral_norm: bool = False,
                 channels: int = 3, resolution: int = 64, reconstruct: bool = False, **kw):
        up_stages(resolution)
        super().__init__(d_width, num_classes, spectral_norm, channels, resolution, **kw)
        # features is (conv stride 2, LeakyReLU) per halving: the 8x8 map leaves pair i8
        i8 = next(i for i in range(len(self.features) // 2) if resolution >> (i + 1) == 8)
        self.split_at = 2 * i8 + 2
        c8 = self.features[2 * i8].out_channels
        self.decoder = Decoder(c8, channels) if reconstruct else None

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None,
                reconstruct_n: int = 0):
        """Logits [N]; with `reconstruct_n` also the decoder's mean L1 error on the first
        reconstruct_n images (the real ones of the step's joint batch)."""
        if not reconstruct_n:
            return super().forward(x, labels)
        if self.decoder is None:
            raise ValueError("this discriminator was built without its reconstruction head")
        at8 = self.features[:self.split_at](x)
        h = self.features[self.split_at:](at8)
        drawn = self.decoder(at8[:reconstruct_n])
        target = F.adaptive_avg_pool2d(x[:reconstruct_n].detach(), drawn.shape[-1])
        return self.head(h, labels), (drawn.float() - target.float()).abs().mean()


class Decoder(nn.Module):
    """8x8 features -> 32x32 image: two (nearest x2, conv 3x3, BN, GLU) stages, conv 3x3, tanh
    (FastGAN's SimpleDecoder, two stages shorter)."""

    def __init__(self, c_in: int, channels: int):
        super().__init__()
        layers, c = [], c_in
        for c_out in (max(c // 2, 16), max(c // 4, 16)):
            layers += [nn.Upsample(scale_factor=2), nn.Conv2d(c, 2 * c_out, 3, 1, 1, bias=False),
                       nn.BatchNorm2d(2 * c_out), nn.GLU(dim=1)]
            c = c_out
        self.net = nn.Sequential(*layers, nn.Conv2d(c, channels, 3, 1, 1), nn.Tanh())

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.net(h)
