"""The tutorial article's MLP GAN, layer for layer as its Keras code builds it.

Keras defaults that PyTorch does not share are set by hand: Glorot-uniform weights with zero
bias, and BatchNormalization(momentum=0.8) which is PyTorch momentum 0.2 with eps 1e-3.
"""

from __future__ import annotations

import torch
from torch import nn

IMAGE_SHAPE = (1, 28, 28)  # the article's; any C x H x W works (its MLP just flattens)


def keras_dense(n_in: int, n_out: int) -> nn.Linear:
    layer = nn.Linear(n_in, n_out)
    nn.init.xavier_uniform_(layer.weight)
    nn.init.zeros_(layer.bias)
    return layer


class ArticleGenerator(nn.Module):
    """Dense 256 -> 512 -> 1024 (LeakyReLU 0.2, then BatchNorm), Dense 784 tanh."""

    def __init__(self, latent_dim: int = 100, g_width: int = 256, num_classes: int = 0,
                 channels: int = 1, resolution: int = 28, **_):
        super().__init__()
        if num_classes:
            raise ValueError("the article model is unconditional (num_classes must be 0)")
        self.latent_dim, self.num_classes = latent_dim, 0
        self.shape = (channels, resolution, resolution)
        pixels = channels * resolution * resolution
        layers, n_in = [], latent_dim
        for width in (g_width, 2 * g_width, 4 * g_width):
            layers += [keras_dense(n_in, width), nn.LeakyReLU(0.2),
                       nn.BatchNorm1d(width, eps=1e-3, momentum=0.2)]
            n_in = width
        layers += [keras_dense(n_in, pixels), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(z).view(-1, *self.shape)


class ArticleDiscriminator(nn.Module):
    """Flatten, Dense 512 -> 256 with LeakyReLU 0.2, Dense 1 (the sigmoid lives in the loss)."""

    def __init__(self, d_width: int = 512, num_classes: int = 0, channels: int = 1,
                 resolution: int = 28, **_):
        super().__init__()
        if num_classes:
            raise ValueError("the article model is unconditional (num_classes must be 0)")
        self.num_classes = 0
        self.net = nn.Sequential(
            nn.Flatten(),
            keras_dense(channels * resolution * resolution, d_width), nn.LeakyReLU(0.2),
            keras_dense(d_width, d_width // 2), nn.LeakyReLU(0.2),
            keras_dense(d_width // 2, 1),
        )

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(x).squeeze(1)
