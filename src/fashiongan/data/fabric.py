"""A fabric as a data set: one to a few swatch photos of any size, sampled by random crops.

Each swatch is split once: its bottom `holdout` share of rows is held out (the real floor of
SIFID is that strip against the rest) and never reaches training: `CropSampler` holds only the
training parts. A crop is `crop` pixels square, a multiple of 8 (the texture generator's
noise cell). The default crop is 64 px (`--crop 128` for larger motifs, at 4x the time per
iteration), or, for a swatch whose training part is smaller, the largest multiple of 8 that fits
it (at least 32): a 64-px GIMP pattern trains on 48-px crops. An explicit crop that does not
fit is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from fashiongan.data.info import DatasetInfo
from fashiongan.data.swatch import as_channels, read_swatch
from fashiongan.errors import UserError

CELL = 8  # pixels per noise cell of the texture generator
MIN_CROP = 32
DEFAULT_CROP = 64  # 4x cheaper per iteration than 128: what fits a 10-minute CPU run
DEFAULT_HOLDOUT = 0.25
MIN_HELD_OUT = 8  # rows


def held_out_rows(height: int, holdout: float) -> int:
    return 0 if holdout <= 0 else max(MIN_HELD_OUT, round(height * holdout))


@dataclass(frozen=True)
class Fabric:
    """Swatches (uint8 C x H x W, whole), the held-out share of rows, the crop size."""

    swatches: tuple[np.ndarray, ...]
    crop: int
    holdout: float = DEFAULT_HOLDOUT
    names: tuple[str, ...] = ()
    info: DatasetInfo = field(init=False)
    path = None  # not a DATASET folder: the run folder keeps the swatches (texture.run)

    def __post_init__(self):
        c = self.swatches[0].shape[0]
        name = Path(self.names[0]).stem if self.names else "fabric"
        object.__setattr__(self, "info", DatasetInfo(self.crop, c, (), f"fabric:{name}"))

    def train_part(self, i: int) -> np.ndarray:
        s = self.swatches[i]
        return s[:, : s.shape[1] - held_out_rows(s.shape[1], self.holdout)]

    def held_out_part(self, i: int) -> np.ndarray:
        s = self.swatches[i]
        return s[:, s.shape[1] - held_out_rows(s.shape[1], self.holdout):]

    def init_generator(self, g) -> None:
        """What a new texture generator starts from: its fine waves at this fabric's strongest
        spatial frequencies and their phases (the first swatch's training part)."""
        if getattr(g, "fine_dim", 0):
            part = self.train_part(0)
            k = refine_waves(part, strongest_waves(part, g.fine_dim))
            g.set_fine_waves(k, wave_phases(part, k))

    def batches(self, batch_size: int, seed: int, device: torch.device, rank: int = 0,
                world_size: int = 1) -> CropSampler:
        """The Trainer's batch source: random crops of the training parts."""
        parts = [self.train_part(i) for i in range(len(self.swatches))]
        return CropSampler(parts, self.crop, batch_size, seed, device, rank, world_size)


def strongest_waves(part: np.ndarray, n: int) -> torch.Tensor:
    """The wave numbers (rad/px) of the n strongest peaks of a swatch's power spectrum, [2, n]
    (x, y): local maxima of the Hann-windowed channels' |FFT|^2 summed over the channels, the
    constant and the lowest frequency (lighting) left out, each wave once (k and -k are one
    wave). Summed, not of the grey image: a plaid's sett is colour blocks, which grey averages
    away (its 60-px fundamental was not among the grey image's 8 strongest)."""
    g = _windowed(part)
    h, w = g.shape[1:]
    power = (np.abs(np.fft.rfft2(g)) ** 2).sum(0)  # [h, w // 2 + 1], over the channels
    fy = np.fft.fftfreq(h)[:, None] * np.ones((1, power.shape[1]))
    fx = np.fft.rfftfreq(w)[None, :] * np.ones((h, 1))
    low = (np.abs(fy) * h <= 1.5) & (fx * w <= 1.5)
    power[low | ((fx == 0) & (fy < 0))] = 0
    padded = np.pad(power, 1, mode="wrap")  # a peak beats its 8 neighbours
    around = np.max([np.roll(np.roll(padded, dy, 0), dx, 1)[1:-1, 1:-1]
                     for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx], axis=0)
    peaks = np.flatnonzero((power > around).ravel())
    best = peaks[np.argsort(power.ravel()[peaks])[::-1][:n]]
    k = 2 * np.pi * np.stack([fx.ravel()[best], fy.ravel()[best]])
    return torch.from_numpy(k).float()


def refine_waves(part: np.ndarray, k: torch.Tensor, rounds: int = 3) -> torch.Tensor:
    """Wave numbers [2, n] moved to where the Hann-windowed channels' projections on
    exp(-i k . x) peak (their power summed), to 1/64 of an FFT bin: a bin is 2 pi / 384
    rad/px on a 384-px swatch, a phase error of 1 rad across a 64-px crop, which G cannot undo
    when k is fixed."""
    g = _windowed(part)
    out = k.double().numpy().copy()
    step = np.array([2 * np.pi / g.shape[2], 2 * np.pi / g.shape[1]])  # one bin
    grid = np.stack(np.meshgrid(np.linspace(-1, 1, 9), np.linspace(-1, 1, 9))).reshape(2, -1)
    for _ in range(rounds):  # +-1 bin in quarters, then +-1/4 in sixteenths, ...
        for i in range(out.shape[1]):
            cand = out[:, i, None] + grid * step[:, None]  # [2, 81]
            out[:, i] = cand[:, (np.abs(_projection(g, cand)) ** 2).sum(0).argmax()]
        step = step / 4
    return torch.from_numpy(out).float()


def wave_phases(part: np.ndarray, k: torch.Tensor) -> torch.Tensor:
    """phi [n] with a channel ~ sum of a sin(k . x + phi), x = (column, row): each wave's
    phase in the channel where it is strongest, from the Hann-windowed channel's projection on
    exp(-i k . x)."""
    c = _projection(_windowed(part), k.double().numpy())  # [C, n]
    c = c[np.abs(c).argmax(0), np.arange(c.shape[1])]  # each wave's strongest channel
    return torch.from_numpy(np.angle(c) + np.pi / 2).float()


def _windowed(part: np.ndarray) -> np.ndarray:
    """Each channel less its mean, Hann-windowed: [C, H, W]."""
    x = part.astype(np.float64)
    h, w = x.shape[1:]
    return (x - x.mean((1, 2), keepdims=True)) * np.outer(np.hanning(h), np.hanning(w))


def _projection(g: np.ndarray, k: np.ndarray) -> np.ndarray:
    """sum over pixels of g(x) exp(-i k . x) per channel and column of k [2, n]: complex [C, n]."""
    ex = np.exp(-1j * np.outer(k[0], np.arange(g.shape[2])))  # [n, w]
    ey = np.exp(-1j * np.outer(k[1], np.arange(g.shape[1])))  # [n, h]
    return np.einsum("cyx,nx,ny->cn", g, ex, ey)


def fit_crop(parts_hw: list[tuple[int, int]], crop: int | None) -> int:
    """The crop size: `crop` (checked to fit), or the default fitted to the smallest part."""
    fits = min(min(h, w) for h, w in parts_hw) // CELL * CELL
    if crop is None:
        crop = min(DEFAULT_CROP, fits)
        if crop < MIN_CROP:
            h, w = min(parts_hw)
            raise UserError(f"a swatch's training part is {w}x{h} px: smaller than the "
                            f"smallest crop ({MIN_CROP} px); give a larger photo")
        return crop
    if crop % CELL or crop < MIN_CROP:
        raise UserError(f"--crop {crop}: must be a multiple of {CELL}, at least {MIN_CROP}")
    if crop > fits:
        h, w = min(parts_hw)
        raise UserError(f"--crop {crop}: a swatch's training part is only {w}x{h} px (after "
                        f"holding out its bottom rows); use --crop {max(fits, MIN_CROP)} or "
                        "leave --crop out")
    return crop


def open_fabric(paths: list[str], crop: int | None = None,
                holdout: float = DEFAULT_HOLDOUT) -> Fabric:
    """Swatch files -> a Fabric (all grey, or all colour when any is)."""
    if not paths:
        raise UserError("no swatch given")
    if not 0 <= holdout < 0.75:
        raise UserError(f"--holdout {holdout}: must be in [0, 0.75)")
    swatches = [read_swatch(p) for p in paths]
    return fabric_of(swatches, crop, holdout, tuple(str(p) for p in paths))


def fabric_of(swatches: list[np.ndarray], crop: int | None, holdout: float,
              names: tuple[str, ...] = ()) -> Fabric:
    c = max(s.shape[0] for s in swatches)
    swatches = [np.ascontiguousarray(as_channels(s, c)) for s in swatches]
    parts = [(s.shape[1] - held_out_rows(s.shape[1], holdout), s.shape[2]) for s in swatches]
    return Fabric(tuple(swatches), fit_crop(parts, crop), holdout, names)


class CropSampler:
    """Batches of random crops as a pure function of the step (so resume needs no state).

    A crop's swatch is drawn in proportion to its crop positions, then its offset uniformly.
    No flips or turns: a twill's diagonal and a print's direction are part of the fabric."""

    def __init__(self, parts: list[np.ndarray], crop: int, batch_size: int, seed: int,
                 device: torch.device, rank: int = 0, world_size: int = 1):
        self.parts = [torch.from_numpy(np.ascontiguousarray(p)).to(device) for p in parts]
        self.crop, self.bs, self.seed, self.device = crop, batch_size, seed, device
        self.rank = rank
        self.n = len(parts)  # what a training state records as its training images
        counts = [(p.shape[1] - crop + 1) * (p.shape[2] - crop + 1) for p in parts]
        self.weights = torch.tensor(counts, dtype=torch.float64)

    def generator(self, step: int) -> torch.Generator:
        return torch.Generator().manual_seed(
            (self.seed * 1_000_003 + step * 7919 + self.rank * 104_729 + 4242) % (2**63))

    def offsets(self, step: int) -> list[tuple[int, int, int]]:
        """(swatch, top, left) of each crop of the step's batch."""
        g = self.generator(step)
        which = torch.multinomial(self.weights, self.bs, replacement=True, generator=g)
        u = torch.rand(self.bs, 2, generator=g, dtype=torch.float64)
        out = []
        for i, (a, b) in zip(which.tolist(), u.tolist(), strict=True):
            h, w = self.parts[i].shape[1:]
            out.append((i, int(a * (h - self.crop + 1)), int(b * (w - self.crop + 1))))
        return out

    def __call__(self, step: int) -> tuple[torch.Tensor, None]:
        """float [B, C, crop, crop] in [-1, 1]; no labels."""
        c = self.crop
        crops = [self.parts[i][:, y:y + c, x:x + c] for i, y, x in self.offsets(step)]
        return torch.stack(crops).float().div_(127.5).sub_(1.0), None
