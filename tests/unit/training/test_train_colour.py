"""Training on a data set other than Fashion-MNIST's IDX files: colour, 32 and 64 px, own class
names. The images are real: Fashion-MNIST garments tinted per class and enlarged."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import torch
from PIL import Image

from fashiongan import config, data, presets, snapshot
from fashiongan.data import DatasetInfo
from fashiongan.errors import UserError
from fashiongan.generate.sampling import sample
from fashiongan.training import states
from fashiongan.training.loop import training_loop

TINTS = np.array([[230, 60, 60], [60, 200, 60], [60, 90, 230], [230, 200, 40], [200, 60, 200],
                  [40, 200, 200], [240, 140, 40], [140, 90, 40], [120, 120, 120],
                  [250, 250, 250]], np.float32) / 255


@dataclass
class InMemory:
    """The part of data.store.Dataset that training reads."""
    pixels: np.ndarray
    labels: np.ndarray | None
    info: DatasetInfo

    def train(self):
        return self.pixels, self.labels


def colour_fmnist(n: int, resolution: int, labelled: bool = True) -> InMemory:
    """The first n training garments, each tinted with its class's colour, resized (Lanczos)."""
    x, y = data.load("train")
    out = np.empty((n, 3, resolution, resolution), np.uint8)
    for i in range(n):
        grey = Image.fromarray(x[i].numpy()).resize((resolution, resolution), Image.LANCZOS)
        rgb = np.asarray(grey, np.float32)[..., None] * TINTS[int(y[i])]
        out[i] = rgb.round().clip(0, 255).astype(np.uint8).transpose(2, 0, 1)
    names = tuple(f"{n} ({c})" for n, c in zip(data.CLASS_NAMES, "rgbyrcoawn", strict=True))
    info = DatasetInfo(resolution, 3, names if labelled else (), name="tinted")
    return InMemory(out, y[:n].numpy() if labelled else None, info)


def _cfg(model: str, **kw):
    base = presets.resolve(model).to_dict()
    base.update(iterations=20, log_interval=10, sample_interval=10, checkpoint_interval=10,
                batch_size=16, threads=1, g_width=32, d_width=8, grid_rows=2, grid_cols=5,
                grid_scale=1)
    base.update(kw)
    return config.from_dict(base)


@pytest.mark.parametrize("model,resolution", [("dcgan", 32), ("cdcgan", 64), ("article", 32)])
def test_a_colour_data_set_trains_and_samples_in_colour(tmp_path, model, resolution):
    ds = colour_fmnist(256, resolution, labelled=model == "cdcgan")
    extra = {"num_classes": 10} if model == "cdcgan" else {}
    if model == "article":
        extra.update(g_width=16, d_width=32)
    out = tmp_path / "run"
    summary = training_loop(_cfg(model, **extra), out, progress=False, dataset=ds)
    assert summary["step"] == 20
    im = Image.open(out / "samples" / "grid-final.png")
    assert im.mode == "RGB" and im.size == (5 * (resolution + 2) + 2, 2 * (resolution + 2) + 2)
    g = snapshot.load_generator(out)
    assert g.dataset == ds.info
    images = sample(g, 6, seed=3, labels="Dress (y)" if model == "cdcgan" else None)
    assert images.shape == (6, resolution, resolution, 3) and images.dtype == np.uint8
    # the grid's first cells are the snapshot's samples of seeds 0.. (row 0: class 0)
    first = sample(g, 1, seed=0, labels=0 if model == "cdcgan" else None)[0]
    cell = np.asarray(im)[2:2 + resolution, 2:2 + resolution]
    assert np.array_equal(cell, first)


def test_colour_resume_is_bit_identical(tmp_path):
    ds = colour_fmnist(256, 32)
    cfg = _cfg("dcgan")
    training_loop(cfg, tmp_path / "straight", progress=False, dataset=ds)
    training_loop(cfg.replace(iterations=10), tmp_path / "split", progress=False, dataset=ds)
    training_loop(cfg, tmp_path / "split", progress=False, dataset=ds,
                  resume=tmp_path / "split")
    a = states.load_state(tmp_path / "straight")["G"]
    b = states.load_state(tmp_path / "split")["G"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_num_classes_must_match_the_data_sets(tmp_path):
    ds = colour_fmnist(64, 32, labelled=False)
    with pytest.raises(UserError, match="num_classes must be 0"):
        training_loop(_cfg("cdcgan", num_classes=10), tmp_path / "run", progress=False,
                      dataset=ds)
