"""The texture generator and its patch discriminator (Spatial GAN, Jetchev et al. 2016; Periodic
Spatial GAN, Bergmann et al. 2017; zalandoresearch/psgan).

G is fully convolutional over a grid of noise cells, 8 x 8 pixels each. Its input z is
[N, latent_dim + global_dim + periodic_dim + 2, h, w], channel groups in this order:
  local     iid N(0, 1) per cell: the texture's detail
  global    one N(0, 1) vector per image (spread over the grid; varying it across the grid
            varies the texture smoothly across the image)
  phase     one U(0, 2 pi) phase per periodic channel and image
  position  the cell's x and y on the canvas
G computes the periodic channels sin(k_x x + k_y y + phase) from them, with wave numbers k a
learnt function of the global channels at the cell, and maps all of it through one 3x3
convolution and three stride-2 transposed convolutions to pixels. Each output pixel depends on
the noise within HALO cells of its own cell only; the `halo` cells of every border of z are
there to be cut away: G returns the 8 (h - 2 halo) x 8 (w - 2 halo) pixels that z fully
determines, so one image computed in pieces equals the image computed whole (texture/weave.py),
and a noise grid that wraps around gives a tile whose edges continue into each other.
`period` (cells) rounds the wave numbers to whole periods across a tile.

D is fully convolutional too: one logit per overlapping 46-px patch, [N, h', w'].
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils import spectral_norm as sn

CELL = 8  # pixels per noise cell
HALO = 2  # cells of context cut from each border: more than G's reach (1.9 cells)


class TextureGenerator(nn.Module):
    is_texture = True  # commands that want a garment generator refuse it (and the reverse)
    train_channels_last = False  # NCHW trains 4x faster on CPU (BatchNorm at 64 px, NHWC)

    def __init__(self, latent_dim: int = 16, g_width: int = 32, num_classes: int = 0,
                 channels: int = 3, resolution: int = 128, global_dim: int = 16,
                 periodic_dim: int = 4, halo: int = HALO):
        super().__init__()
        if num_classes:
            raise ValueError("the texture generator is unconditional")
        if resolution % CELL:
            raise ValueError(f"resolution must be a multiple of {CELL}")
        self.latent_dim, self.global_dim, self.periodic_dim = latent_dim, global_dim, periodic_dim
        self.num_classes, self.channels, self.resolution, self.halo = 0, channels, resolution, halo
        self.in_channels = latent_dim + global_dim + periodic_dim + 2
        self.wave = nn.Sequential(nn.Conv2d(global_dim, 32, 1), nn.ReLU(True),
                                  nn.Conv2d(32, 2 * periodic_dim, 1))
        w = g_width
        self.body = nn.Sequential(
            nn.Conv2d(latent_dim + global_dim + periodic_dim, 4 * w, 3, padding=1, bias=False),
            nn.BatchNorm2d(4 * w), nn.ReLU(True),
            nn.ConvTranspose2d(4 * w, 2 * w, 4, 2, 1, bias=False),
            nn.BatchNorm2d(2 * w), nn.ReLU(True),
            nn.ConvTranspose2d(2 * w, w, 4, 2, 1, bias=False),
            nn.BatchNorm2d(w), nn.ReLU(True),
            nn.ConvTranspose2d(w, channels, 4, 2, 1), nn.Tanh())

    @staticmethod
    def snapshot_kwargs() -> dict:
        """The constructor's arguments beyond the shared five, stored in every snapshot."""
        return {"global_dim": 16, "periodic_dim": 4, "halo": HALO}

    def split(self, z: torch.Tensor):
        a = self.latent_dim
        b = a + self.global_dim
        c = b + self.periodic_dim
        return z[:, :a], z[:, a:b], z[:, b:c], z[:, c:]

    def wave_numbers(self, glob: torch.Tensor, period: tuple[int, int] | None = None):
        """(k_x, k_y), each [N, periodic_dim, h, w], in radians per cell; with `period`
        (cells across, cells down) rounded to whole periods across it."""
        k = self.wave(glob)
        kx, ky = k[:, : self.periodic_dim], k[:, self.periodic_dim:]
        if period is not None:
            px, py = period
            kx = torch.round(kx * (px / (2 * math.pi))) * (2 * math.pi / px)
            ky = torch.round(ky * (py / (2 * math.pi))) * (2 * math.pi / py)
        return kx, ky

    def features(self, z: torch.Tensor, period=None) -> torch.Tensor:
        """The body's input: local and global noise and the periodic channels."""
        local, glob, phase, pos = self.split(z)
        kx, ky = self.wave_numbers(glob, period)
        periodic = torch.sin(kx * pos[:, :1] + ky * pos[:, 1:2] + phase)
        return torch.cat([local, glob, periodic], 1)

    def crop(self, out: torch.Tensor) -> torch.Tensor:
        """The pixels the noise fully determines: the halo's cut from every border."""
        m = self.halo * CELL
        return out[:, :, m:out.shape[2] - m, m:out.shape[3] - m]

    def forward(self, z: torch.Tensor, labels=None, period=None) -> torch.Tensor:
        return self.crop(self.body(self.features(z, period)))

    def cells(self, pixels: int) -> int:
        """Noise cells across for `pixels` of output (a multiple of CELL)."""
        return pixels // CELL + 2 * self.halo

    def training_latents(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """Noise grids for n crops of `resolution` pixels: fresh local noise, one global
        vector and phase set per crop, positions from 0 (the random phase moves them)."""
        c, dev = self.cells(self.resolution), generator.device
        local = torch.randn(n, self.latent_dim, c, c, generator=generator, device=dev)
        glob = torch.randn(n, self.global_dim, 1, 1, generator=generator, device=dev)
        phase = torch.rand(n, self.periodic_dim, 1, 1, generator=generator, device=dev)
        ys, xs = torch.meshgrid(torch.arange(c, device=dev, dtype=torch.float32),
                                torch.arange(c, device=dev, dtype=torch.float32), indexing="ij")
        pos = torch.stack([xs, ys]).expand(n, 2, c, c)
        return torch.cat([local, glob.expand(-1, -1, c, c),
                          (2 * math.pi * phase).expand(-1, -1, c, c), pos], 1)


class TextureDiscriminator(nn.Module):
    def __init__(self, d_width: int = 32, num_classes: int = 0, spectral_norm: bool = False,
                 channels: int = 3, resolution: int = 128):
        super().__init__()
        wrap = sn if spectral_norm else (lambda m: m)
        d = d_width
        self.net = nn.Sequential(
            wrap(nn.Conv2d(channels, d, 4, 2, 1)), nn.LeakyReLU(0.2, True),
            wrap(nn.Conv2d(d, 2 * d, 4, 2, 1)), nn.LeakyReLU(0.2, True),
            wrap(nn.Conv2d(2 * d, 4 * d, 4, 2, 1)), nn.LeakyReLU(0.2, True),
            wrap(nn.Conv2d(4 * d, 1, 3, 1, 1)))

    def forward(self, x: torch.Tensor, labels=None) -> torch.Tensor:
        return self.net(x).squeeze(1)  # one logit per patch: [N, h', w']
