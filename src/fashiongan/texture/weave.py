"""Weaving: a texture generator's fabric at any size, computed in pieces of bounded memory.

A seed addresses an unbounded canvas. Its noise is a function of the cell alone: the local
noise comes in blocks of BLOCK x BLOCK cells, each drawn from its own generator seeded by
(seed, block x, block y); the global vector and the phases are the seed's. The canvas is
computed in square pieces of `piece` cells on a grid anchored at the origin, each from its noise
window with the generator's halo around it (models/texture.py), always at the same tensor shape:
so a piece's pixels are the same whether the request was 64 px or 16384 px, and a larger
request is a larger crop of the same canvas, bit for bit. Only one row of pieces is held at once.

`tile=True` wraps the canvas: the noise indices are taken modulo the tile's cells and the wave
numbers are rounded to whole periods across it, so the tile is exactly one period of a
periodic canvas and its right edge continues into its left, its bottom into its top.
`morph_seed` spreads the global vector from the seed's (left) to morph_seed's (right), so the
fabric changes smoothly across the image.
"""

from __future__ import annotations

import copy
import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from fashiongan.accel.bf16 import fast_bf16
from fashiongan.errors import UserError
from fashiongan.models.texture import CELL

BLOCK = 32  # cells per seeded block of local noise
PIECE = 64  # cells per piece side: 512 px, about 60 MB of activations at g_width 32
MAX_SIDE = 32768  # px; a 32768 x 32768 fabric is 3 GB of PNG pixels, streamed by rows
MAX_TILE = 8192  # px; a tile's noise is held whole


def _seed_of(*parts: int) -> int:
    h = 0x9E3779B97F4A7C15
    for p in parts:
        h = (h * 6364136223846793005 + (p & 0xFFFFFFFFFFFF) + 1442695040888963407) % (2**63)
    return h


def check_texture(g: nn.Module, what: str = "fabric") -> None:
    if not getattr(g, "is_texture", False):
        name = getattr(g, "model_name", type(g).__name__)
        raise UserError(f"{what}: this is a garment generator ({name}), not a fabric; train one "
                        "with `fashiongan texture train SWATCH --out RUN`")


def check_size(width: int, height: int, tile: bool) -> None:
    for name, v in (("width", width), ("height", height)):
        if v <= 0:
            raise UserError(f"--{name} {v}: must be > 0")
        limit = MAX_TILE if tile else MAX_SIDE
        if v > limit:
            raise UserError(f"--{name} {v}: the limit is {limit} px"
                            + (" for a --tile" if tile else ""))
        if tile and v % CELL:
            raise UserError(f"--tile: {name} {v} must be a multiple of {CELL} (one noise cell), "
                            f"e.g. {max(CELL, v // CELL * CELL)}")


@dataclass
class NoiseField:
    """The noise grid of one seed's canvas, cell by cell (see the module's docstring)."""

    g: nn.Module
    seed: int
    morph_seed: int | None = None
    morph_cells: int = 1  # the width (cells) over which the morph runs
    period: tuple[int, int] | None = None  # (cells across, cells down) for a tile

    def __post_init__(self):
        self._blocks: dict[tuple[int, int], torch.Tensor] = {}
        self.glob = self._vector(self.seed, 1, self.g.global_dim)
        self.glob_b = None if self.morph_seed is None else self._vector(self.morph_seed, 1,
                                                                         self.g.global_dim)
        gen = torch.Generator().manual_seed(_seed_of(self.seed, 2))
        self.phase = 2 * math.pi * torch.rand(self.g.phase_dim, generator=gen)

    @staticmethod
    def _vector(seed: int, kind: int, n: int) -> torch.Tensor:
        return torch.randn(n, generator=torch.Generator().manual_seed(_seed_of(seed, kind)))

    def _block(self, bx: int, by: int) -> torch.Tensor:
        key = (bx, by)
        if key not in self._blocks:
            if len(self._blocks) > 64:  # a row of pieces needs a few; keep memory bounded
                self._blocks.clear()
            gen = torch.Generator().manual_seed(_seed_of(self.seed, 3, bx, by))
            self._blocks[key] = torch.randn(self.g.latent_dim, BLOCK, BLOCK, generator=gen)
        return self._blocks[key]

    def _local(self, xs: np.ndarray, ys: np.ndarray) -> torch.Tensor:
        """Local noise [latent_dim, len(ys), len(xs)] at the (possibly wrapped) cells."""
        out = torch.empty(self.g.latent_dim, len(ys), len(xs))
        bxs, bys = np.floor_divide(xs, BLOCK), np.floor_divide(ys, BLOCK)
        for by in np.unique(bys):
            rows = np.flatnonzero(bys == by)
            r_out, r_in = torch.from_numpy(rows), torch.from_numpy(ys[rows] % BLOCK)
            for bx in np.unique(bxs):
                cols = np.flatnonzero(bxs == bx)
                c_out, c_in = torch.from_numpy(cols), torch.from_numpy(xs[cols] % BLOCK)
                block = self._block(int(bx), int(by))
                out[:, r_out[:, None], c_out[None, :]] = block[:, r_in[:, None], c_in[None, :]]
        return out

    def window(self, x0: int, y0: int, w: int, h: int) -> torch.Tensor:
        """z [1, C, h, w] for the cells x0..x0+w-1, y0..y0+h-1 (negative ones too)."""
        xs, ys = np.arange(x0, x0 + w), np.arange(y0, y0 + h)
        if self.period is not None:
            xs, ys = xs % self.period[0], ys % self.period[1]
        local = self._local(xs, ys)
        if self.glob_b is None:
            glob = self.glob[:, None, None].expand(-1, h, w)
        else:  # smoothstep from a to b across the image; the sum keeps N(0, 1) statistics
            t = np.clip(xs / max(self.morph_cells - 1, 1), 0, 1)
            t = torch.from_numpy(t * t * (3 - 2 * t)).float()
            mix = (self.glob[:, None] * (1 - t) + self.glob_b[:, None] * t)
            mix = mix / torch.sqrt((1 - t) ** 2 + t ** 2)
            glob = mix[:, None, :].expand(-1, h, w)
        phase = self.phase[:, None, None].expand(-1, h, w)
        px = torch.from_numpy(xs.astype(np.float32))[None, None, :].expand(1, h, w)
        py = torch.from_numpy(ys.astype(np.float32))[None, :, None].expand(1, h, w)
        return torch.cat([local, glob, phase, px, py])[None]


PRECISIONS = ("auto", "bf16", "float32")


def weave_dtype(precision: str, device: torch.device) -> torch.dtype:
    """bf16 where the device computes it natively (`auto`): 2-3x faster than float32 on an
    AVX512-BF16 CPU, within 2.2 levels of 255 of the float32 weave (docs/results/
    2026-12-06-fabrics.md); where it would be emulated, float32. A seed's bytes are fixed per
    precision, so `float32` is the choice for the same bytes on every kind of machine."""
    if precision not in PRECISIONS:
        raise UserError(f"--precision {precision!r}: choose one of {', '.join(PRECISIONS)}")
    if precision == "auto":
        precision = "bf16" if fast_bf16(device) else "float32"
    return torch.bfloat16 if precision == "bf16" else torch.float32


class Loom:
    """A texture generator ready to weave: eval mode, its heavy body traced for the piece's
    fixed shape and frozen (BatchNorm folded) in channels-last (oneDNN's fast layout; its
    further `optimize_for_inference` measured 1.7x slower here); the cheap periodic channels
    are computed eagerly in float32, so one trace serves tiles too, and only the body runs in
    the weave's precision."""

    def __init__(self, g: nn.Module, piece: int = PIECE, precision: str = "auto"):
        check_texture(g)
        self.g = g.eval()
        self.piece = piece
        self.device = next(g.parameters()).device
        self.dtype = weave_dtype(precision, self.device)
        self.channels = g.channels
        cells = piece + 2 * g.halo
        with torch.no_grad():  # the body's inputs for one piece, at their shapes
            example = self._inputs(g.features(torch.zeros(1, g.in_channels, cells, cells,
                                                          device=self.device)))
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # torch 2.x marks jit so
            body = copy.deepcopy(g.body).eval().to(self.dtype)
            self.body = torch.jit.freeze(torch.jit.trace(body, example))

    def _inputs(self, features: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        return tuple(f.to(self.dtype).contiguous(memory_format=torch.channels_last)
                     for f in features)

    @torch.no_grad()
    def piece_at(self, field: NoiseField, px: int, py: int) -> np.ndarray:
        """uint8 [piece*8, piece*8, C]: piece (px, py) of the canvas."""
        h, p = self.g.halo, self.piece
        z = field.window(px * p - h, py * p - h, p + 2 * h, p + 2 * h).to(self.device)
        out = self.g.crop(self.body(*self._inputs(self.g.features(z, field.period))))
        out = ((out[0].float() + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)
        return out.permute(1, 2, 0).cpu().numpy()

    def strips(self, field: NoiseField, width: int, height: int) -> Iterator[np.ndarray]:
        """The canvas's top-left width x height pixels as uint8 [rows, width, C] strips, one
        row of pieces at a time."""
        side = self.piece * CELL
        for py in range(-(-height // side)):
            rows = min(side, height - py * side)
            strip = np.empty((rows, width, self.channels), np.uint8)
            for px in range(-(-width // side)):
                cols = min(side, width - px * side)
                strip[:, px * side:px * side + cols] = self.piece_at(field, px, py)[:rows, :cols]
            yield strip

    def field(self, seed: int, width: int, height: int, tile: bool = False,
              morph_seed: int | None = None) -> NoiseField:
        check_size(width, height, tile)
        if tile and morph_seed is not None:
            raise UserError("--morph varies the fabric across the image; a --tile repeats it: "
                            "choose one")
        return NoiseField(self.g, seed, morph_seed, -(-width // CELL),
                          (width // CELL, height // CELL) if tile else None)

    def weave(self, seed: int, width: int, height: int, tile: bool = False,
              morph_seed: int | None = None) -> np.ndarray:
        """The whole image in memory: uint8 [H, W] grey or [H, W, 3]."""
        field = self.field(seed, width, height, tile, morph_seed)
        img = np.concatenate(list(self.strips(field, width, height)))
        if tile:
            img = np.roll(img, tile_offset(seed, width, height), (0, 1))
        return img[..., 0] if self.channels == 1 else img


def tile_offset(seed: int, width: int, height: int) -> tuple[int, int]:
    """Where a tile starts in its period: any start gives the same repeating fabric, and a
    seeded one puts its edges at any pixel of the 8-px noise cell, not always on a cell's
    border (where G's lines differ from the average line, the seam score's yardstick)."""
    rng = np.random.default_rng(_seed_of(seed, 4))
    return int(rng.integers(height)), int(rng.integers(width))


def resample(img: np.ndarray, width: int, height: int, wrap: bool) -> np.ndarray:
    """uint8 [h, w, C] -> [height, width, C], bicubic; wrap: the edges sampled across the
    wrap-around (a tile stays seamless at any scale), else clamped."""
    h, w, _ = img.shape
    pad = 3
    x = torch.from_numpy(np.pad(img, ((pad, pad), (pad, pad), (0, 0)),
                                mode="wrap" if wrap else "edge")).permute(2, 0, 1)[None].float()
    sx = (torch.arange(width, dtype=torch.float64) + 0.5) * (w / width) - 0.5 + pad
    sy = (torch.arange(height, dtype=torch.float64) + 0.5) * (h / height) - 0.5 + pad
    gx = (2 * sx + 1) / (w + 2 * pad) - 1  # grid_sample's align_corners=False units
    gy = (2 * sy + 1) / (h + 2 * pad) - 1
    grid = torch.stack(torch.meshgrid(gy, gx, indexing="ij")[::-1], -1)[None].float()
    out = torch.nn.functional.grid_sample(x, grid, mode="bicubic", padding_mode="border",
                                          align_corners=False)
    return out[0].permute(1, 2, 0).round().clamp(0, 255).to(torch.uint8).numpy()


def scaled_size(width: int, height: int, scale: float, tile: bool) -> tuple[int, int]:
    """The canvas drawn before resampling by `scale` (a tile's: whole cells)."""
    if not 0.125 <= scale <= 16:
        raise UserError(f"--scale {scale}: must be in [0.125, 16]")
    bw, bh = max(1, round(width / scale)), max(1, round(height / scale))
    if tile:
        bw, bh = max(CELL, round(bw / CELL) * CELL), max(CELL, round(bh / CELL) * CELL)
    if max(bw, bh, width, height) > MAX_TILE:
        raise UserError(f"--scale: images and their unscaled canvas are limited to {MAX_TILE} px "
                        "a side (leave --scale out for larger ones)")
    return bw, bh
