"""The texture generator and its patch discriminator (Spatial GAN, Jetchev et al. 2016; Periodic
Spatial GAN, Bergmann et al. 2017; zalandoresearch/psgan).

G is fully convolutional over a grid of noise cells, 8 x 8 pixels each. Its input z is
[N, latent_dim + global_dim + periodic_dim + fine_dim + 2, h, w], channel groups in this order:
  local     iid N(0, 1) per cell: the texture's detail
  global    one N(0, 1) vector per image (spread over the grid; varying it across the grid
            varies the texture smoothly across the image)
  phase     one U(0, 2 pi) phase per periodic channel, then per fine wave, and image
  position  the cell's x and y on the canvas
G computes the periodic channels sin(k_x x + k_y y + phase) per cell from them, with wave
numbers k a learnt function of the global channels at the cell (PSGAN's: the large-scale
periodicity), and maps all of it to pixels through 3x3 convolutions, each after a nearest x2
resize (the transposed convolutions of the first fabrics drew a 2-px checkerboard). The fine
waves are sin(k . x + phase) at every pixel, x the pixel's place on the canvas, with one learnt
wave number per wave and G (not per image: a wave number that varied across a canvas would
chirp), started at the fabric's strongest spatial frequencies (data/fabric.py); they join
before the last two convolutions. A woven cloth is a lattice: without them G drew the twill's
diagonals in patches whose phase jumped every cell or two, which SIFID punishes as much as a
collage of 8-px patches (docs/results/2026-12-06-fabrics.md).

With `fine_phase="shift"` (new models) the wave numbers are fixed at the swatch's, measured to
1/64 of an FFT bin, and the waves' phases are one random translation s of the image, k . s, plus
a learnt phase per wave (started at the swatch's own): harmonics of one pattern (a houndstooth's
check, a plaid's sett) keep the relation between their phases that draws the pattern's shape, as
in a crop of the photo at a random place. The translation is drawn from `fine_shift` pixels
(256 for new models): the measured harmonics are multiples of their fundamental only to ~1/64
of a bin, 2.5e-4 rad/px on the plaid, and over 4,096 px (the first shifted-phase models) that
spread their relative phases over ~1 rad, so G drew the plaid's yellow lines from its 30-px
harmonic alone, twice per sett. With "free" (the first fine-wave models) each wave's
phase was drawn on its own and its wave number learnt: G saw shapes the swatch never shows, and
the houndstooth's 24-px period drifted to 25.5 px, so G drew grey diagonals at 16x SIFID's floor
(docs/results/2026-12-06-fabrics.md).
With `fine_quadrature` (new models) each wave enters as sin and cos of its argument, so the next
convolution can set its phase per channel: the waves are the swatch's strongest in any colour
channel (data/fabric.py), and a plaid's sett stands at different phases in red, green and
blue.

Each output pixel depends on the noise within HALO cells of its own cell only; the `halo`
cells of every border of z are there to be cut away: G returns the 8 (h - 2 halo) x
8 (w - 2 halo) pixels that z fully determines, so one image computed in pieces equals the image
computed whole (texture/weave.py), and a noise grid that wraps around gives a tile whose edges
continue into each other. `period` (cells) rounds both kinds of wave number to whole periods
across a tile, the fine waves of a lattice together (`lattice_periods`).

D is fully convolutional too: one logit per overlapping 38-px patch, [N, h', w'].
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils import spectral_norm as sn

CELL = 8  # pixels per noise cell
HALO = 2  # cells of context cut from each border: G's reach (1.9 cells transposed, 2 resized)
FINE_DIM = 8  # full-resolution waves of a new G (the fabric's strongest frequencies)
SHIFT = 4096  # pixels: the translation range of the first shifted-phase models
FINE_SHIFT = 256  # pixels: the translation range of new models


class TextureGenerator(nn.Module):
    is_texture = True  # commands that want a garment generator refuse it (and the reverse)
    train_channels_last = False  # NCHW trains 4x faster on CPU (BatchNorm at 64 px, NHWC)

    def __init__(self, latent_dim: int = 16, g_width: int = 32, num_classes: int = 0,
                 channels: int = 3, resolution: int = 128, global_dim: int = 16,
                 periodic_dim: int = 4, halo: int = HALO, upsample: str = "transpose",
                 fine_dim: int = 0, fine_phase: str = "free", fine_quadrature: bool = False,
                 fine_shift: int = SHIFT):
        super().__init__()
        if num_classes:
            raise ValueError("the texture generator is unconditional")
        if resolution % CELL:
            raise ValueError(f"resolution must be a multiple of {CELL}")
        self.latent_dim, self.global_dim, self.periodic_dim = latent_dim, global_dim, periodic_dim
        self.num_classes, self.channels, self.resolution, self.halo = 0, channels, resolution, halo
        if upsample == "resize" and halo * CELL < ResizeBody.REACH:
            raise ValueError(f"halo must be >= {ResizeBody.REACH // CELL} cells (G's reach)")
        if fine_dim and upsample != "resize":
            raise ValueError("fine waves enter the resize body only")
        if fine_phase not in ("free", "shift") or (fine_phase == "shift" and fine_dim < 2):
            raise ValueError(f"fine_phase must be free or shift (with fine_dim >= 2), not "
                             f"{fine_phase!r}")
        self.fine_dim, self.fine_phase = fine_dim, fine_phase
        self.fine_quadrature, self.fine_shift = fine_quadrature, fine_shift
        self.in_channels = latent_dim + global_dim + periodic_dim + fine_dim + 2
        self.wave = nn.Sequential(nn.Conv2d(global_dim, 32, 1), nn.ReLU(True),
                                  nn.Conv2d(32, 2 * periodic_dim, 1))
        w = g_width
        self.upsample = upsample
        if upsample == "transpose":
            self.body = nn.Sequential(
                nn.Conv2d(latent_dim + global_dim + periodic_dim, 4 * w, 3, padding=1,
                          bias=False), nn.BatchNorm2d(4 * w), nn.ReLU(True),
                nn.ConvTranspose2d(4 * w, 2 * w, 4, 2, 1, bias=False),
                nn.BatchNorm2d(2 * w), nn.ReLU(True),
                nn.ConvTranspose2d(2 * w, w, 4, 2, 1, bias=False),
                nn.BatchNorm2d(w), nn.ReLU(True),
                nn.ConvTranspose2d(w, channels, 4, 2, 1), nn.Tanh())
        elif upsample == "resize":
            self.body = ResizeBody(latent_dim + global_dim + periodic_dim, w, channels,
                                   fine_dim * (2 if fine_quadrature else 1))
            # the fine waves' wave numbers (rad/px), one column per wave: a spread of
            # directions at a 8-px period until a fabric sets its own (set_fine_waves)
            angle = torch.arange(fine_dim) * math.pi / max(fine_dim, 1)
            self.fine_k = nn.Parameter(2 * math.pi / CELL * torch.stack([angle.cos(),
                                                                        angle.sin()]))
            if fine_phase == "shift":  # each wave's phase at the canvas' origin
                self.fine_phi = nn.Parameter(torch.zeros(fine_dim))
                self.fine_k.requires_grad_(False)  # the swatch's measured lattice, fixed
        else:
            raise ValueError(f"upsample must be transpose or resize, not {upsample!r}")

    @staticmethod
    def snapshot_kwargs() -> dict:
        """The constructor's arguments beyond the shared five, stored in every snapshot."""
        return {"global_dim": 16, "periodic_dim": 4, "halo": HALO, "upsample": "resize",
                "fine_dim": FINE_DIM, "fine_phase": "shift", "fine_quadrature": True,
                "fine_shift": FINE_SHIFT}

    @property
    def phase_dim(self) -> int:
        return self.periodic_dim + self.fine_dim

    def split(self, z: torch.Tensor):
        a = self.latent_dim
        b = a + self.global_dim
        c = b + self.phase_dim
        return z[:, :a], z[:, a:b], z[:, b:c], z[:, c:]

    def wave_numbers(self, glob: torch.Tensor, period: tuple[int, int] | None = None):
        """(k_x, k_y), each [N, periodic_dim, h, w], in radians per cell; with `period`
        (cells across, cells down) rounded to whole periods across it."""
        k = self.wave(glob)
        kx, ky = k[:, : self.periodic_dim], k[:, self.periodic_dim:]
        if period is not None:
            kx, ky = whole_periods(kx, period[0]), whole_periods(ky, period[1])
        return kx, ky

    def features(self, z: torch.Tensor, period=None) -> tuple[torch.Tensor, ...]:
        """The body's inputs: local and global noise and the periodic channels per cell, then
        the fine waves at every pixel when G has them."""
        local, glob, phase, pos = self.split(z)
        kx, ky = self.wave_numbers(glob, period)
        p = self.periodic_dim
        periodic = torch.sin(kx * pos[:, :1] + ky * pos[:, 1:2] + phase[:, :p])
        x = torch.cat([local, glob, periodic], 1)
        if not self.fine_dim:
            return (x,)
        return x, self.fine_waves(phase[:, p:, :1, :1], pos, period)

    def fine_waves(self, phase: torch.Tensor, pos: torch.Tensor, period=None) -> torch.Tensor:
        """sin(k . x + phase) at every pixel, [N, fine_dim, 8h, 8w] (then the cosines, with
        quadrature): x is the pixel's place on the canvas, 8 x its cell's position (wrapped in a
        tile) plus its place in the cell, so a wave continues across pieces and, with k rounded
        to whole periods, across a tile."""
        inside = torch.arange(CELL, device=pos.device, dtype=pos.dtype)
        px = (pos[:, 0, 0, :, None] * CELL + inside).flatten(1)  # [N, 8w]
        py = (pos[:, 1, :, 0, None] * CELL + inside).flatten(1)  # [N, 8h]
        kx, ky = self.fine_k[0], self.fine_k[1]
        if period is not None:
            kx, ky = lattice_periods(self.fine_k, (period[0] * CELL, period[1] * CELL))
        if self.fine_phase == "shift":
            phase = self.shifted_phase(phase, kx, ky)
        arg = (kx[None, :, None, None] * px[:, None, None, :]
               + ky[None, :, None, None] * py[:, None, :, None] + phase)
        if self.fine_quadrature:
            return torch.cat([torch.sin(arg), torch.cos(arg)], 1)
        return torch.sin(arg)

    def shifted_phase(self, phase: torch.Tensor, kx: torch.Tensor, ky: torch.Tensor):
        """The waves' phases [N, fine_dim, 1, 1] for a translation s of each image by
        (phase_0, phase_1) / 2 pi x fine_shift pixels (its first two phase draws, U(0, 2 pi)):
        k . s mod 2 pi plus the learnt phases. k . s carries no gradient: across hundreds of
        pixels it would swamp the wave numbers' own."""
        s = phase[:, :2] * (self.fine_shift / (2 * math.pi))
        kx, ky = kx.detach()[None, :, None, None], ky.detach()[None, :, None, None]
        ks = kx * s[:, :1] + ky * s[:, 1:]
        return torch.remainder(ks, 2 * math.pi) + self.fine_phi[None, :, None, None]

    @torch.no_grad()
    def set_fine_waves(self, k: torch.Tensor, phi: torch.Tensor | None = None) -> None:
        """Start the fine waves at these wave numbers [2, n <= fine_dim] (rad/px): a fabric's
        strongest spatial frequencies (data/fabric.py), which gradient descent could not find
        from afar (a wave number off by 0.1 rad/px is off by 10 rad across a crop); and, where
        the phases are shifted together, at the fabric's phases phi [n] (sin(k . x + phi))."""
        n = min(k.shape[1], self.fine_dim)
        self.fine_k[:, :n] = k[:, :n].to(self.fine_k)
        if phi is not None and self.fine_phase == "shift":
            self.fine_phi[:n] = phi[:n].to(self.fine_phi)

    def crop(self, out: torch.Tensor) -> torch.Tensor:
        """The pixels the noise fully determines: the halo's cut from every border (less what
        the resize body cut already)."""
        m = self.halo * CELL - (ResizeBody.REACH if self.upsample == "resize" else 0)
        return out[:, :, m:out.shape[2] - m, m:out.shape[3] - m]

    def forward(self, z: torch.Tensor, labels=None, period=None) -> torch.Tensor:
        return self.crop(self.body(*self.features(z, period)))

    def cells(self, pixels: int) -> int:
        """Noise cells across for `pixels` of output (a multiple of CELL)."""
        return pixels // CELL + 2 * self.halo

    def training_latents(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """Noise grids for n crops of `resolution` pixels: fresh local noise, one global
        vector and phase set per crop, positions from 0 (the random phase moves them)."""
        c, dev = self.cells(self.resolution), generator.device
        local = torch.randn(n, self.latent_dim, c, c, generator=generator, device=dev)
        glob = torch.randn(n, self.global_dim, 1, 1, generator=generator, device=dev)
        phase = torch.rand(n, self.phase_dim, 1, 1, generator=generator, device=dev)
        ys, xs = torch.meshgrid(torch.arange(c, device=dev, dtype=torch.float32),
                                torch.arange(c, device=dev, dtype=torch.float32), indexing="ij")
        pos = torch.stack([xs, ys]).expand(n, 2, c, c)
        return torch.cat([local, glob.expand(-1, -1, c, c),
                          (2 * math.pi * phase).expand(-1, -1, c, c), pos], 1)


def whole_periods(k: torch.Tensor, length: int) -> torch.Tensor:
    """Wave numbers rounded to whole periods across `length` (cells or pixels, as k's units)."""
    return torch.round(k * (length / (2 * math.pi))) * (2 * math.pi / length)


def lattice_periods(k: torch.Tensor, size: tuple[int, int], tol: float = 0.1,
                    max_stretch: float = 0.1) -> torch.Tensor:
    """Wave numbers [2, n] (rad/px) rounded to whole periods across a tile of size (width,
    height) px, a lattice's harmonics kept in step: the waves that are whole combinations
    m b1 + n b2 (to `tol`) of the first wave and the first one not parallel to it are made
    the same combinations of those two rounded; the others are rounded each on its own. Each
    on its own, a plaid's 60-px fundamental becomes 64 px across 256 and its 30-px harmonic
    28.4 px (9 periods, not 8), and the tile draws another pattern (SIFID of 256-px tiles 2-3x
    that of the untiled weave, docs/results/2026-12-06-fabrics.md). Where rounding moves b1 or
    b2 by more than `max_stretch` (a 60-px sett in a 96-px tile becomes 48 px) every wave is
    rounded on its own: the measured tiles were better so."""
    kd = k.detach().double()

    def whole(v: torch.Tensor) -> torch.Tensor:
        return torch.stack([whole_periods(v[0], size[0]), whole_periods(v[1], size[1])])

    out = whole(kd)
    b1 = kd[:, 0]
    cross = (b1[0] * kd[1] - b1[1] * kd[0]).abs()
    second = (cross > 0.2 * b1.norm() * kd.norm(dim=0)).nonzero()
    if len(second):
        basis = torch.stack([b1, kd[:, second[0, 0]]], 1)  # [2, 2]: columns b1, b2
        rounded = whole(basis)
        if ((rounded - basis).norm(dim=0) <= max_stretch * basis.norm(dim=0)).all():
            c = torch.linalg.solve(basis, kd)  # each wave's coordinates in the basis
            on = ((c - c.round()).abs() < tol).all(0)
            out[:, on] = (rounded @ c.round())[:, on]
    return out.to(k)


def _conv(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(True)]


class ResizeBody(nn.Module):
    """Cells to pixels by nearest x2 resizes, each followed by a 3x3 convolution (no
    transposed convolutions: their uneven overlap draws a 2-px checkerboard, which SIFID's
    early features see); the fine waves join at full resolution, before the last two.

    Each convolution's outermost ring depends on its zero padding, so it is cut after every
    convolution: the body returns only pixels its input fully determines, REACH pixels in from
    every border, the same values a padded pass over the whole grid would give there (and in
    training BatchNorm's statistics are those pixels' alone). A 64-px
    training crop's grid is 96 px wide, so the whole-grid pass spent over half of G's
    arithmetic on pixels the halo then threw away (the full-resolution stage at 96 x 96 px
    instead of 68 x 68). In eval mode the whole grid is computed and cut once at the end: a
    weave's 512-px pieces lose only 9 % of their arithmetic to the halo, and cut as it went
    the frozen trace wove 1.4x slower (1.30 against 0.92 s for 2048 x 2048 px, bf16, two
    threads), likely because a cut between a convolution and its BatchNorm keeps them from
    being folded into one."""

    REACH = 2 * CELL  # pixels cut from each border: one unit of every level, two at full res

    def __init__(self, cin: int, w: int, channels: int, fine_dim: int):
        super().__init__()
        self.coarse = nn.Sequential(
            *_conv(cin, 4 * w),
            nn.Upsample(scale_factor=2), *_conv(4 * w, 2 * w),
            nn.Upsample(scale_factor=2), *_conv(2 * w, w),
            nn.Upsample(scale_factor=2))
        self.fine = nn.Sequential(*_conv(w + fine_dim, w), nn.Conv2d(w, channels, 3, padding=1),
                                  nn.Tanh())

    def _run(self, layers: nn.Sequential, h: torch.Tensor) -> torch.Tensor:
        for layer in layers:
            h = layer(h)
            if self.training and isinstance(layer, nn.Conv2d):  # its ring saw the padding
                h = h[:, :, 1:-1, 1:-1]
        return h

    def forward(self, x: torch.Tensor, waves: torch.Tensor | None = None) -> torch.Tensor:
        h = self._run(self.coarse, x)
        if waves is not None:  # computed over the whole grid: the middle is h's
            m = (waves.shape[-1] - h.shape[-1]) // 2
            waves = waves[:, :, m:waves.shape[-2] - m, m:waves.shape[-1] - m]
            h = torch.cat([h, waves], 1)
        h = self._run(self.fine, h)
        if self.training:
            return h
        m = self.REACH  # cut once at the end: the same pixels
        return h[:, :, m:h.shape[2] - m, m:h.shape[3] - m]


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
