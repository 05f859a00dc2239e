"""Real Fashion-MNIST batches for the augmentation tests (imported by tests/unit/augment/test_*.py),
and the checks that they are what those tests assume."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from fashiongan import data


def real_images(n: int, channels: int = 1, size: int = 28, start: int = 0,
                dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """n training images scaled to [-1, 1] as in training, [n, channels, size, size].

    Three channels are three different garments, so that colour operations (saturation) have
    channel differences to act on; other sizes are bilinear resizes (values stay in [-1, 1]).
    """
    images, _ = data.load("train")
    x = images[start:start + n * channels].to(dtype).div(127.5).sub(1.0)
    x = x.view(channels, n, 28, 28).transpose(0, 1).contiguous()
    if size != 28:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    return x


@pytest.fixture
def one_thread():
    """Small tensors on one thread: on the shared 2-core machine two threads stall each other
    (a 150-step tiny-D fit took 7.6 s on 2 threads, 0.16 s on 1)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_real_images_are_training_scaled(data_dir):
    for c, s in ((1, 28), (3, 64)):
        x = real_images(8, c, s)
        assert x.shape == (8, c, s, s) and x.dtype == torch.float32
        assert x.min() >= -1 and x.max() <= 1
        assert x.min() == -1 and x.max() > 0.9  # black background, bright garments
    x = real_images(8, 3)
    assert (x[:, 0] - x[:, 1]).abs().max() > 1  # channels differ: colour to saturate
