"""Tiny generators saved as real snapshots, and reading the studio's answers back."""

from __future__ import annotations

import base64
import io

import numpy as np
import torch
from PIL import Image

from fashiongan import config, presets
from fashiongan.models import build_generator
from fashiongan.snapshot import save_snapshot

SIZES = {"cdcgan": dict(g_width=16, d_width=16, num_classes=10),
         "article": dict(g_width=16, d_width=32, num_classes=0)}


def tiny_snapshot(folder, model: str = "cdcgan"):
    """A small untrained generator of `model`, saved as a snapshot. Its class tables, conv
    weights and BatchNorm statistics get spread-out values, so that seeds, classes and eval
    mode differ visibly (a fresh conditional BatchNorm treats every class alike)."""
    cfg = config.from_dict({**presets.resolve("article").to_dict(), "model": model,
                            **SIZES[model]})
    torch.manual_seed(0)
    g = build_generator(cfg)
    with torch.no_grad():
        for m in g.modules():
            if isinstance(m, torch.nn.Embedding):
                m.weight.normal_(1.0 if m.weight.mean() > 0.5 else 0.0, 0.5)
            elif isinstance(m, torch.nn.Conv2d | torch.nn.ConvTranspose2d):
                m.reset_parameters()  # PyTorch's wider init: DCGAN's N(0, 0.02) gives flat grey
        g.train()
        for _ in range(3):
            y = torch.arange(64) % 10 if cfg.model.num_classes else None
            g(torch.randn(64, cfg.model.latent_dim), y)
    return save_snapshot(g, cfg, folder, {"step": 0})


def png_array(data: bytes) -> np.ndarray:
    im = Image.open(io.BytesIO(data))
    assert im.format == "PNG" and im.mode == "L"
    return np.asarray(im)


def designs(client, **params) -> list[dict]:
    r = client.get("/api/generate", params={**params, "format": "json"})
    assert r.status_code == 200, r.text
    return r.json()["images"]


def pixels(item: dict) -> np.ndarray:
    return png_array(base64.b64decode(item["png"]))


class HardLabelsOnly(torch.nn.Module):
    """A conditional generator that refuses class weights, as a third-party model might."""

    def __init__(self, inner):
        super().__init__()
        self.inner, self.latent_dim, self.num_classes = inner, inner.latent_dim, 10

    def forward(self, z, labels):
        if labels.is_floating_point():
            raise TypeError("int labels only")
        return self.inner(z, labels)
