"""generate/latent.py is the one copy of latents, paths and class blends: the CLI strip
(`sample --interpolate`) and the studio's morph feed the shipped generator the same latents and
class weights, and those are the torch-level expectations written out here by hand."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import fashiongan
from fashiongan.generate import latent, sampling
from fashiongan.generate.interpolate import interpolate
from fashiongan.models.layers import CondBatchNorm2d
from fashiongan.serve.studio import Studio
from fashiongan.snapshot import shipped_generator

DRESS, COAT = 3, 4


@pytest.fixture(scope="module")
def shipped():
    return fashiongan.load_generator(shipped_generator())


class Recorder(nn.Module):
    """G as it is, noting every (z, labels) it is called with."""

    def __init__(self, g: nn.Module):
        super().__init__()
        self.g, self.calls = g, []
        self.num_classes, self.latent_dim = g.num_classes, g.latent_dim

    def forward(self, z, y):
        self.calls.append((z.clone(), None if y is None else y.clone()))
        return self.g(z, y)


def slerp_by_hand(seed_a, seed_b, t, dim=100):
    """The torch-level expectation: each seed's own N(0, I) draw, the great circle between them
    in float64, and the ends exactly the two draws."""
    za, zb = (torch.randn(dim, generator=torch.Generator().manual_seed(s)).double()
              for s in (seed_a, seed_b))
    omega = torch.arccos(torch.dot(za, zb) / (za.norm() * zb.norm()))
    tt = t.double()[:, None]
    z = ((torch.sin((1 - tt) * omega) * za + torch.sin(tt * omega) * zb) / torch.sin(omega))
    z = z.float()
    z[0], z[-1] = za.float(), zb.float()
    return z


def mix_by_hand(t, class_a, class_b, num_classes=10):
    """(1 - t) e_a + t e_b, built as the CLI built it before generate/ existed."""
    w = torch.zeros(len(t), num_classes)
    w[:, class_a] += 1 - t
    w[:, class_b] += t
    return w


def test_one_latents_for_everyone():
    assert sampling.latents is latent.latents  # train.py and metrics/ import it from sampling
    z = latent.latents([7, 3, 7], 100)
    assert torch.equal(z[0], torch.randn(100, generator=torch.Generator().manual_seed(7)))
    assert torch.equal(z[0], z[2]) and torch.equal(z[1], latent.latents([3], 100)[0])


def test_path_ends_are_exact_and_slerp_keeps_the_norm():
    t = torch.linspace(0, 1, 9)
    za, zb = latent.latents([3, 11], 100)
    for method in ("slerp", "lerp"):
        z = latent.path(3, 11, t, 100, method)
        assert torch.equal(z[0], za) and torch.equal(z[-1], zb)
    z = latent.path(3, 11, t, 100)
    lo, hi = sorted((za.norm().item(), zb.norm().item()))
    assert all(lo - 1e-3 <= n <= hi + 1e-3 for n in z.norm(dim=1).tolist())
    assert latent.path(3, 11, t, 100, "lerp")[4].norm() < 0.8 * lo  # lerp's midpoint sinks
    assert torch.allclose(z, slerp_by_hand(3, 11, t), atol=1e-5)


def test_class_weights_are_the_one_hot_mix():
    t = torch.linspace(0, 1, 7)
    full = lambda c: torch.full((7,), c)  # noqa: E731
    w = latent.class_weights(full(DRESS), full(COAT), t, 10)
    assert torch.equal(w, mix_by_hand(t, DRESS, COAT))  # bit for bit
    assert torch.equal(w[0], torch.eye(10)[DRESS]) and torch.equal(w[-1], torch.eye(10)[COAT])
    same = latent.class_weights(full(DRESS), full(DRESS), t, 10)
    assert torch.equal(same, mix_by_hand(t, DRESS, DRESS))
    assert torch.allclose(same.sum(1), torch.ones(7))
    rows = latent.class_weights(torch.tensor([0, 5]), torch.tensor([9, 5]), torch.tensor([.25, .5]),
                                10)  # the studio's per-row classes
    assert rows[0, 0] == 0.75 and rows[0, 9] == 0.25 and rows[1, 5] == 1 and rows.sum() == 2


def test_half_blend_is_the_average_of_the_two_classes_gains(shipped):
    """Conditional BatchNorm is linear in the class weights: halfway between dress and coat each
    layer's output is the mean of its dress and coat outputs (not so for the whole G)."""
    layers = [m for m in shipped.modules() if isinstance(m, CondBatchNorm2d)]
    assert layers
    half = latent.class_weights(torch.tensor([DRESS]), torch.tensor([COAT]), torch.tensor([.5]),
                                shipped.num_classes)
    with torch.no_grad():
        for m in layers:
            x = torch.randn(1, m.bn.num_features, 4, 4, generator=torch.Generator().manual_seed(0))
            mean = (m(x, torch.tensor([DRESS])) + m(x, torch.tensor([COAT]))) / 2
            assert torch.allclose(m(x, half), mean, atol=1e-5)


def test_cli_strip_and_studio_morph_feed_g_the_same(shipped):
    steps, t = 5, torch.linspace(0, 1, 5)  # 0, 1/4, 1/2, 3/4, 1: exact in both t's
    cli = Recorder(shipped)
    strip, weights = interpolate(cli, 3, 11, steps, class_from="dress", class_to="coat")
    (z_cli, w_cli), = cli.calls  # one batched forward pass
    assert torch.allclose(z_cli, slerp_by_hand(3, 11, t, shipped.latent_dim), atol=1e-5)
    assert torch.equal(w_cli, mix_by_hand(t, DRESS, COAT)) and np.array_equal(weights, w_cli)

    rec = Recorder(shipped)
    studio = Studio(rec)
    assert studio.blend_mode == "soft"
    rec.calls.clear()  # the probe's passes
    ts, frames = studio.morph(3, 11, DRESS, COAT, steps)
    assert ts == t.tolist() and len(rec.calls) == steps  # one forward pass per frame
    assert torch.equal(torch.cat([z for z, _ in rec.calls]), z_cli)
    # the ends go in as plain labels, the frames between as the CLI's class weights
    assert [y.tolist() for _, y in (rec.calls[0], rec.calls[-1])] == [[DRESS], [COAT]]
    assert torch.equal(torch.cat([y for _, y in rec.calls[1:-1]]), w_cli[1:-1])

    # so a studio frame is the CLI's frame run at batch one, to the byte ...
    for i in range(steps):
        alone = sampling.generate(shipped, z_cli[i:i + 1], w_cli[i:i + 1])
        assert np.array_equal(frames[i], alone[0]), i
    # ... and the end frames of both are plain `sample` of the seeds
    for img in (strip[0], frames[0]):
        assert np.array_equal(img, fashiongan.sample(shipped, 1, seed=3, labels=DRESS)[0])
    for img in (strip[-1], frames[-1]):
        assert np.array_equal(img, fashiongan.sample(shipped, 1, seed=11, labels=COAT)[0])


def test_studio_mix_uses_the_same_blend(shipped):
    rec = Recorder(shipped)
    studio = Studio(rec)
    rec.calls.clear()
    studio.designs(9, 3, label=1, mix_label=COAT, mix=0.25)
    want = latent.class_weights(torch.tensor([1]), torch.tensor([COAT]), torch.tensor([.25]), 10)
    assert all(torch.equal(y, want) for _, y in rec.calls) and len(rec.calls) == 3
    z = torch.cat([z for z, _ in rec.calls])
    assert torch.equal(z, latent.latents([9, 10, 11], shipped.latent_dim))
