"""The distance a projection minimises (generate/project.py): how far a generated image is from
a target, in a way that suits the data.

* 28-px grey (Fashion-MNIST's form): the shipped evaluator's own layers, LPIPS-style (Zhang et
  al. 2018, ideas only): the activations after each of its three conv blocks and its feature
  layer, each unit-normalised over channels at every position, squared differences averaged
  per layer, plus pixel MSE. The evaluator knows collars, handles and heels; pixels alone
  are matched first by the blurry average of many garments.
* any other resolution or colour: no network of ours has seen those images, so the proxy is
  a pixel pyramid: MSE at full size and at 1/2, 1/4, 1/8 (average pooled), which weights the
  silhouette (coarse levels) as much as the detail. `kind` says which one is in use.

Every term is in [0, 1] pixel units or a cosine-like [0, 4] range, per image: distances of
different images are independent (no batch statistic), so the best of a batch is a per-image
choice.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from fashiongan.data import FASHION_MNIST

PIXEL_WEIGHT = 4.0  # pixel MSE (~0.005-0.05) beside the feature term (~0.05-0.5): ties it down
EVALUATOR_LAYERS = (2, 6, 10, 13)  # indices in EvaluatorNet.body after each ReLU
PYRAMID_LEVELS = 4


class Distance(nn.Module):
    """distance(images, targets) -> [N]; both float [N,C,H,W] in G's [-1, 1] range, or one
    target [1,C,H,W] for all N images (its features are then computed once)."""

    def __init__(self, channels: int, resolution: int):
        super().__init__()
        self.kind = ("evaluator" if (channels, resolution, resolution) == FASHION_MNIST.shape
                     else "pyramid")
        self.net = None
        if self.kind == "evaluator":
            from fashiongan.metrics import evaluator

            self.net, _ = evaluator.load()  # shared, frozen, eval mode: never trained here
        self._target, self._target_layers = None, None  # the last target and its layers

    def forward(self, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        pixel = ((images - targets) / 2).pow(2).reshape(len(images), -1).mean(1)
        if self.kind == "evaluator":
            return self.features(images, targets) + PIXEL_WEIGHT * pixel
        return pixel + self.pyramid(images, targets)

    def features(self, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        a = self._layers(images)
        if targets is not self._target:  # a projection asks about one target at every step
            with torch.no_grad():
                self._target, self._target_layers = targets, self._layers(targets)
        b = self._target_layers
        per_layer = [(_unit(x) - _unit(y)).pow(2).sum(1).reshape(len(images), -1).mean(1)
                     for x, y in zip(a, b, strict=True)]
        return torch.stack(per_layer).mean(0)

    def _layers(self, images: torch.Tensor) -> list[torch.Tensor]:
        h = self.net.normalise((images + 1) * 127.5)  # the evaluator reads 0..255 pixels
        out = []
        for i, layer in enumerate(self.net.body):
            h = layer(h)
            if i in EVALUATOR_LAYERS:
                out.append(h)
        return out

    @staticmethod
    def pyramid(images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        total = torch.zeros(len(images), device=images.device)
        a, b = images, targets
        for _ in range(PYRAMID_LEVELS - 1):
            if a.shape[-1] < 2:
                break
            a, b = F.avg_pool2d(a, 2), F.avg_pool2d(b, 2)
            total = total + ((a - b) / 2).pow(2).reshape(len(images), -1).mean(1)
        return total


def _unit(x: torch.Tensor) -> torch.Tensor:
    """Unit length over channels at each position ([N,C,H,W]) or over features ([N,D])."""
    return x / (x.pow(2).sum(1, keepdim=True).sqrt() + 1e-8)
