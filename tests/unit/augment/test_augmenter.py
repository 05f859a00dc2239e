"""The Augmenter as a training step uses it: built from a config, the same call for every batch
D sees, gradients through to G, seeded draws, the global RNG untouched, and a resumed run that
continues bit for bit."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from fashiongan import presets
from fashiongan.augment import AdaController, Augmenter, step_seed
from fashiongan.errors import UserError
from fashiongan.models.article import ArticleDiscriminator
from tests.support.augment import gen, one_thread, real_images  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("one_thread")


def augmenters(p: float = 0.5) -> dict[str, Augmenter]:
    return {"none": Augmenter("none"), "diffaugment": Augmenter("diffaugment"),
            "ada": Augmenter("ada", controller=AdaController(p=p))}


def test_from_config_reads_keys_with_defaults():
    cfg = presets.resolve("article")
    assert Augmenter.from_config(cfg.augment).method == "none"
    cfg = SimpleNamespace(mode="ada", ada_kimg=2.0, ada_p=0.25, ada_rotate90=True,
                          ada_xflip=False)
    a = Augmenter.from_config(cfg, reduce=lambda t: t * 2)
    assert a.controller.loop.kimg == 2.0 and a.p == 0.25 and a.controller.loop.interval == 4
    assert a.ada_options.rotate90 and not a.ada_options.xflip
    assert a.controller.loop.reduce(torch.tensor(1.0)) == 2
    d = Augmenter.from_config(SimpleNamespace(mode="diffaugment", policy="cutout"))
    assert d.policy == "cutout" and d.p == 1.0 and d.metrics() == {}
    for bad, match in ((dict(mode="flip"), "augment must be one of"),
                       (dict(mode="diffaugment", policy="color,zoom"), "zoom"),
                       (dict(mode="ada", ada_kimg=0.0), "kimg"),
                       (dict(mode="ada", ada_p=1.5), "p must be in")):
        with pytest.raises(UserError, match=match):
            Augmenter.from_config(SimpleNamespace(**bad))


@pytest.mark.parametrize("colour", [True, False])
def test_ada_colour_off_keeps_every_pixel_within_the_images_range(colour, data_dir):
    """ada_colour=false: what remains (flip, shifts with reflection, bilinear scaling, cutout)
    only mixes pixels or zeroes them, so no output leaves [min(x, 0), max(x)]; brightness,
    contrast and saturation move pixels outside it (a white studio background made grey)."""
    a = Augmenter.from_config(SimpleNamespace(mode="ada", ada_p=1.0, ada_colour=colour))
    o = a.ada_options
    assert (o.brightness, o.contrast, o.saturation) == (colour,) * 3 and o.scale and o.cutout
    x = real_images(32, 3, 64) * 0.9  # a margin: a pixel at -1 or 1 cannot go further out
    y = a(x, generator=gen(0))
    lo, hi = min(float(x.min()), 0.0), float(x.max())
    outside = ((y < lo - 1e-6) | (y > hi + 1e-6)).float().mean().item()
    assert (outside > 0.01) if colour else (outside == 0.0)
    assert not torch.equal(y, x)


def test_identity_cases_return_the_input_itself(data_dir):
    x = real_images(8)
    g = gen(0)
    state = g.get_state()
    assert Augmenter("none")(x, generator=g) is x
    assert augmenters(p=0.0)["ada"](x, generator=g) is x
    assert torch.equal(g.get_state(), state)


@pytest.mark.parametrize("channels,size", [(1, 28), (3, 28), (1, 64), (3, 64)])
def test_same_seed_same_output_other_seed_other_output(channels, size, data_dir):
    x = real_images(16, channels, size)
    for name, a in augmenters().items():
        if name == "none":
            continue
        y1, y2, y3 = (a(x, generator=gen(s)) for s in (7, 7, 8))
        assert y1.shape == x.shape and y1.dtype == x.dtype and torch.isfinite(y1).all()
        assert torch.equal(y1, y2), name
        assert not torch.equal(y1, y3), name
        assert (y1 != x).flatten(1).any(1).float().mean() > 0.5, name


def test_global_rng_is_never_touched(data_dir):
    x = real_images(16, 3, 32)
    cpu = torch.get_rng_state()
    for a in augmenters().values():
        a(x, generator=gen(1))
        a.observe(torch.randn(16, generator=gen(2)))
    assert torch.equal(torch.get_rng_state(), cpu)


def test_g_step_gradients_flow_through_the_augmentation(data_dir):
    """G's step: D(augment(G(z))); G's parameters get finite, nonzero gradients."""
    G = nn.Sequential(nn.Linear(8, 784), nn.Tanh(), nn.Unflatten(1, (1, 28, 28)))
    D = ArticleDiscriminator(d_width=32).requires_grad_(False)
    z = torch.randn(16, 8, generator=gen(0))
    for name, a in augmenters(p=1.0).items():
        G.zero_grad()
        F.softplus(-D(a(G(z), generator=gen(3)))).mean().backward()  # non-saturating G loss
        grad = G[0].weight.grad
        assert torch.isfinite(grad).all() and grad.abs().sum() > 0, name


def train_like(aug: Augmenter, D: nn.Module, steps: range, reals: torch.Tensor) -> list:
    """The loop a training run would do: per-step seeded generator, D's real+fake batch
    augmented in one call, ADA fed D's real logits. Returns the augmented batches."""
    seen = []
    for step in steps:
        g = torch.Generator().manual_seed(step_seed(0, 0, step))
        real = reals[(step * 8) % 64:(step * 8) % 64 + 8]
        fake = torch.tanh(torch.randn(8, 1, 28, 28, generator=g))
        x = aug(torch.cat([real, fake]), generator=g)
        with torch.no_grad():
            aug.observe(D(x)[:8])
        seen.append(x)
    return seen


def test_resume_from_state_dict_is_bit_exact(data_dir, tmp_path):
    reals = real_images(64)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        D = ArticleDiscriminator(d_width=32)
    # This untrained D's r_t runs -0.25, -0.5, -0.67, -0.33 over the four adjustments: with
    # the target between them p goes up and down (0.42, 0.30, 0.18, 0.30), never stuck at 0.
    cfg = SimpleNamespace(mode="ada", ada_kimg=0.2, ada_interval=3, ada_p=0.3, ada_target=-0.4)
    straight = Augmenter.from_config(cfg)
    full = train_like(straight, D, range(14), reals)
    first = Augmenter.from_config(cfg)
    train_like(first, D, range(7), reals)  # 7 = 2 adjustments and one pending observation
    torch.save({"augment": first.state_dict()}, tmp_path / "state.pt")
    resumed = Augmenter.from_config(cfg)
    resumed.load_state_dict(torch.load(tmp_path / "state.pt", weights_only=True)["augment"])
    rest = train_like(resumed, D, range(7, 14), reals)
    assert all(torch.equal(a, b) for a, b in zip(full[7:], rest, strict=True))
    assert resumed.state_dict() == straight.state_dict()
    assert resumed.metrics() == straight.metrics()
    assert 0 < straight.p < 1 and straight.controller.rt is not None


def test_step_seed_differs_per_rank_and_step():
    seeds = {step_seed(0, r, s) for r in range(4) for s in range(1000)}
    assert len(seeds) == 4000 and all(0 <= s < 2**63 for s in seeds)
