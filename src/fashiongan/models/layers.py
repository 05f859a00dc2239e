"""Small building blocks shared by the convolutional models."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as _sn


def maybe_sn(module: nn.Module, on: bool) -> nn.Module:
    """Spectral normalisation (Miyato et al. 2018) of a layer's weight when `on`."""
    return _sn(module) if on else module


def dcgan_init(module: nn.Module) -> None:
    """Radford et al.'s init: conv/linear weights N(0, 0.02), zero bias, BN gain N(1, 0.02).

    Spectrally normalised layers are skipped: their scale is set by the normalisation."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d | nn.Linear) and \
                not hasattr(m, "parametrizations"):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d | nn.BatchNorm1d) and m.affine:
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


class CondBatchNorm2d(nn.Module):
    """Conditional BatchNorm (de Vries et al. 2017; as in SNGAN/BigGAN): batch statistics shared
    by all classes, gain and bias looked up per class. Gains start at 1 and biases at 0, so at
    init it is plain BatchNorm and the class signal is learnt from there."""

    def __init__(self, channels: int, num_classes: int, momentum: float = 0.1):
        super().__init__()
        self.bn = nn.BatchNorm2d(channels, affine=False, momentum=momentum)
        self.gain = nn.Embedding(num_classes, channels)
        self.bias = nn.Embedding(num_classes, channels)
        nn.init.ones_(self.gain.weight)
        nn.init.zeros_(self.bias.weight)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """labels: class indices [N], or class weights [N, num_classes] (a soft class, for
        morphing one category into another: the gains and biases are mixed by the weights)."""
        h = self.bn(x)
        if labels.is_floating_point():
            gain, bias = labels @ self.gain.weight, labels @ self.bias.weight
        else:
            gain, bias = self.gain(labels), self.bias(labels)
        return h * gain[:, :, None, None] + bias[:, :, None, None]
