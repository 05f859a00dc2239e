"""Exponential moving average of G's weights, with the half-life counted in images (as in edm).

A fixed decay such as 0.999 over a 2,000-step run still carries ~14% of the random initial
weights; counting the half-life in images and capping it at `rampup` x images seen so far keeps
the average young early in training and long later.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    def __init__(self, model: nn.Module, halflife_kimg: float, rampup: float = 0.05):
        self.halflife_kimg, self.rampup = halflife_kimg, rampup
        self.model = copy.deepcopy(model).eval().requires_grad_(False)

    def beta(self, batch_images: int, images_seen: int) -> float:
        halflife = self.halflife_kimg * 1000
        if self.rampup:
            halflife = min(halflife, images_seen * self.rampup)
        return 0.5 ** (batch_images / max(halflife, 1e-8))

    @torch.no_grad()
    def update(self, model: nn.Module, batch_images: int, images_seen: int) -> None:
        b = self.beta(batch_images, images_seen)
        src = list(model.parameters())
        dst = list(self.model.parameters())
        torch._foreach_lerp_(dst, src, 1.0 - b)
        # BatchNorm statistics are copied, not averaged: they describe the current G.
        for d, s in zip(self.model.buffers(), model.buffers(), strict=True):
            d.copy_(s)
