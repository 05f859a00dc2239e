"""Feature networks as the metrics see them, and a classifier's features and classes.

A FeatureNet turns uint8 images into features (and, for a classifier, predicted classes): the
shipped Fashion-MNIST evaluator, a data set's judge, or Inception. Its `key` names everything
its features depend on, so cached statistics are keyed by it (reference.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from fashiongan.imageio import as_tensor, to_nchw
from fashiongan.metrics import evaluator


@dataclass(frozen=True)
class FeatureNet:
    name: str  # what reports call it: "evaluator", "judge", the Inception file's name
    key: str  # the weights' hash and anything else the features depend on
    # (uint8 images, progress, desc) -> (features [N, D], predicted classes [N] or None)
    run: Callable

    def __call__(self, images, progress: bool = False, desc: str = ""):
        return self.run(images, progress, desc)


def classifier(net, sha256: str, name: str = "evaluator") -> FeatureNet:
    """The evaluator or a judge: penultimate features (float64) and predicted classes."""
    def run(images, progress, desc):
        x = to_nchw(images, f"{name} input") if np.ndim(images) == 4 else images
        return extract(x, net)

    return FeatureNet(name, f"{name}:{sha256}", run)


@torch.no_grad()
def extract(images, net=None, batch_size: int = 250, device=None) -> tuple[torch.Tensor,
                                                                             torch.Tensor]:
    """uint8 images [N,28,28] (numpy or tensor) -> (features float64 [N,D], classes [N]);
    [N,C,H,W] for a judge of another data set (metrics/judge.py).

    Runs the shipped evaluator unless `net` is given. Features stay on `device` (the net's by
    default). Batches of 250 in channels-last memory were the fastest on two CPU cores
    (batches of 1000 took 1.5x as long: the activations stop fitting in cache).
    """
    feats, preds = [], []
    for f, logits in _passes(images, net, batch_size, device):
        feats.append(f.to(torch.float64))
        preds.append(logits.argmax(1))
    return torch.cat(feats), torch.cat(preds)


@torch.no_grad()
def probabilities(images, net=None, batch_size: int = 250) -> torch.Tensor:
    """The net's class probabilities (softmax) of uint8 images, as extract() reads them:
    float32 [N, num_classes]; the export's labels and confidence for unconditional G."""
    return torch.cat([logits.float().softmax(1) for _, logits in
                      _passes(images, net, batch_size, None)])


def _passes(images, net, batch_size: int, device):
    """(features, logits) per batch of the net in eval mode."""
    if net is None:
        net, _ = evaluator.load(device=device or "cpu")
    dev = next(net.parameters()).device
    x = as_tensor(images)
    if x.dtype != torch.uint8:
        raise TypeError(f"evaluator input must be uint8 images, got {x.dtype}")
    if not len(x):
        raise ValueError("no images to featurise")
    net.eval()
    for i in range(0, len(x), batch_size):
        b = x[i:i + batch_size].to(dev)
        b = b if b.dim() == 4 else b.reshape(len(b), 1, *b.shape[-2:])  # a judge's NxCxHxW
        yield net.features_and_logits(b.contiguous(memory_format=torch.channels_last))
