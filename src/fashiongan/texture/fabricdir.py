"""A fabric run's own folder: RUN/fabric/ keeps the swatches it learnt from (as PNG, upright,
whole) and how they were split, so `--resume`, `evaluate`, `dress` and the studio find them
without the original files. Also the small eager weave the training previews use."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from fashiongan.data.fabric import Fabric, fabric_of
from fashiongan.errors import UserError
from fashiongan.fileio import atomic_write, atomic_write_json, file_digest
from fashiongan.models.texture import CELL
from fashiongan.texture.weave import NoiseField

FABRIC_DIR = "fabric"
FABRIC_JSON = "fabric.json"


def to_hwc(a: np.ndarray) -> np.ndarray:
    """uint8 C x H x W -> H x W (grey) or H x W x 3."""
    return a[0] if a.shape[0] == 1 else a.transpose(1, 2, 0)


def save_fabric(run_dir: Path, fabric: Fabric) -> None:
    folder = Path(run_dir) / FABRIC_DIR
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for i, s in enumerate(fabric.swatches):
        path = folder / f"swatch-{i:02d}.png"
        im = Image.fromarray(to_hwc(s))
        atomic_write(path, lambda tmp, im=im: im.save(tmp, format="PNG"))
        files.append({"file": path.name, "source": fabric.names[i] if fabric.names else "",
                      "sha256": file_digest(path), "height": s.shape[1], "width": s.shape[2]})
    atomic_write_json(folder / FABRIC_JSON, {"swatches": files, "holdout": fabric.holdout,
                                             "crop": fabric.crop,
                                             "channels": fabric.info.channels})


def is_fabric_run(path: Path) -> bool:
    return (Path(path) / FABRIC_DIR / FABRIC_JSON).is_file()


def load_fabric(run_dir: Path) -> Fabric:
    folder = Path(run_dir) / FABRIC_DIR
    try:
        meta = json.loads((folder / FABRIC_JSON).read_text())
        swatches = []
        for f in meta["swatches"]:
            a = np.asarray(Image.open(folder / f["file"]))
            swatches.append(a[None] if a.ndim == 2 else a.transpose(2, 0, 1))
    except (OSError, ValueError, KeyError) as e:
        raise UserError(f"{run_dir}: not a fabric run (no readable {FABRIC_DIR}/{FABRIC_JSON}: "
                        f"{e})") from None
    names = tuple(f.get("source", "") for f in meta["swatches"])
    swatches = [s if s.shape[0] == meta["channels"] else np.repeat(s, 3, 0) for s in swatches]
    return fabric_of(swatches, meta["crop"], meta["holdout"], names)


@torch.no_grad()
def weave_small(g: nn.Module, seed: int, width: int, height: int) -> np.ndarray:
    """uint8 [H, W, C] in one forward pass (previews: no tracing, G's mode restored)."""
    was = g.training
    g.eval()
    try:
        f = NoiseField(g, seed)
        cw, ch = -(-width // CELL), -(-height // CELL)
        dev = next(g.parameters()).device
        z = f.window(-g.halo, -g.halo, cw + 2 * g.halo, ch + 2 * g.halo).to(dev)
        out = g(z)[0, :, :height, :width]
    finally:
        g.train(was)
    return ((out.float() + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).permute(
        1, 2, 0).cpu().numpy()


def preview(fabric: Fabric, height: int = 256):
    """The training grid: the first swatch, four generated crops (seeds 0-3) at the crop
    size enlarged to fill a square, and one large sample (seed 0) at its own scale."""
    sw = fabric.swatches[0]
    scale = height / sw.shape[1]
    sw_im = Image.fromarray(to_hwc(sw)).convert("RGB").resize(
        (max(1, round(sw.shape[2] * scale)), height), Image.Resampling.LANCZOS)
    c = fabric.crop

    def draw(g: nn.Module) -> Image.Image:
        half = height // 2
        crops = Image.new("RGB", (height, height), (64, 64, 64))
        for i in range(4):
            a = weave_small(g, i, c, c)
            im = Image.fromarray(a[..., 0] if a.shape[2] == 1 else a).convert("RGB")
            crops.paste(im.resize((half - 2, half - 2), Image.Resampling.NEAREST),
                        ((i % 2) * half + 1, (i // 2) * half + 1))
        a = weave_small(g, 0, 2 * height, height)
        large = Image.fromarray(a[..., 0] if a.shape[2] == 1 else a).convert("RGB")
        canvas = Image.new("RGB", (sw_im.width + height + 2 * height + 8, height), (64, 64, 64))
        canvas.paste(sw_im, (0, 0))
        canvas.paste(crops, (sw_im.width + 4, 0))
        canvas.paste(large, (sw_im.width + height + 8, 0))
        return canvas

    return draw
