"""G's EMA: half-life counted in images, ramp-up on short runs, BatchNorm statistics copied."""

import math

import pytest
import torch
from torch import nn

from fashiongan.training.ema import EMA


def _const(value: float) -> nn.Module:
    m = nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3))
    with torch.no_grad():
        for p in m.parameters():
            p.fill_(value)
    return m


def test_half_life_in_images_halves_the_old_weights():
    model = _const(0.0)
    ema = EMA(model, halflife_kimg=1.0, rampup=0.0)
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(1.0)
    ema.update(model, batch_images=1000, images_seen=10_000)  # one half-life in one update
    for p in ema.model.parameters():
        assert torch.allclose(p, torch.full_like(p, 0.5))
    # the same 1000 images in 10 batches of 100 give the same average
    ema2 = EMA(_const(0.0), halflife_kimg=1.0, rampup=0.0)
    for i in range(10):
        ema2.update(model, batch_images=100, images_seen=10_000 + 100 * i)
    for p in ema2.model.parameters():
        assert torch.allclose(p, torch.full_like(p, 0.5), atol=1e-6)


def test_rampup_forgets_the_random_init_on_a_short_run():
    """2,000 steps of 64 images: a fixed 0.999 decay keeps 0.999^2000 = 13.5% of the initial
    weights; the half-life capped at 5% of images seen keeps a negligible share."""
    def init_share(halflife_kimg, rampup):
        model = _const(0.0)
        ema = EMA(model, halflife_kimg=halflife_kimg, rampup=rampup)
        with torch.no_grad():
            for p in model.parameters():
                p.fill_(1.0)
        seen = 0
        for _ in range(2000):
            seen += 64
            ema.update(model, 64, seen)
        return 1 - ema.model[0].weight.mean().item()

    assert init_share(10.0, 0.05) < 1e-6
    # the control, run the same way: a fixed decay of 0.999 per step (no rampup, the half-life
    # that gives beta = 0.999 at 64 images) still holds 0.999^2000 of the random init
    fixed = 64 / math.log2(1 / 0.999) / 1000
    assert init_share(fixed, 0.0) == pytest.approx(0.999 ** 2000, rel=1e-3)  # 13.5 %
    # once images seen exceed halflife / rampup, the configured half-life rules
    ema = EMA(_const(0.0), halflife_kimg=10.0, rampup=0.05)
    assert ema.beta(64, 10_000_000) == 0.5 ** (64 / 10_000)
    assert ema.beta(64, 1000) == 0.5 ** (64 / 50)


def test_ema_is_a_frozen_copy_and_batchnorm_statistics_are_copied():
    model = _const(0.3)
    ema = EMA(model, halflife_kimg=1.0)
    assert ema.model is not model and not ema.model.training
    assert all(not p.requires_grad for p in ema.model.parameters())
    model.train()
    model(torch.randn(16, 3) * 4 + 2)  # moves the running statistics
    ema.update(model, 64, 64_000)
    assert torch.equal(ema.model[1].running_mean, model[1].running_mean)
    assert torch.equal(ema.model[1].running_var, model[1].running_var)
