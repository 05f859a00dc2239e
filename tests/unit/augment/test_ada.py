"""ADA's pipeline on real Fashion-MNIST: each operation at p = 1 against its definition, the
probability p per image, gradients, and p = 0 as the identity."""

from __future__ import annotations

import dataclasses

import pytest
import torch
import torch.nn.functional as F

from fashiongan.augment import ada
from fashiongan.augment.ada import AdaOptions
from tests.support.augment import gen, one_thread, real_images  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("one_thread")

OPS = ("xflip", "rotate90", "translation", "scale", "aniso", "brightness", "contrast",
       "saturation", "cutout")


def only(name: str) -> AdaOptions:
    """Options with one operation on (rotate90, off by default, included)."""
    return AdaOptions(**{op: op == name for op in OPS})


def run(x, name, p=1.0, seed=0):
    """(output, parameters) of one operation alone."""
    o = only(name)
    prm = ada.sample(x, p, gen(seed), o)
    return ada.apply(x, prm, o), prm


@pytest.mark.parametrize("name", OPS)
def test_every_op_passes_gradcheck(name, data_dir):
    x = real_images(2, 3, 8, dtype=torch.float64).requires_grad_(True)
    o = only(name)
    assert torch.autograd.gradcheck(lambda t: ada.ada_augment(t, 1.0, generator=gen(2),
                                                              options=o), (x,))


@pytest.mark.parametrize("name", OPS)
def test_every_op_changes_images_at_p1_and_grads_reach_input(name, data_dir):
    x = real_images(32, 3).requires_grad_(True)
    y, _ = run(x, name)
    changed = (y != x).flatten(1).any(1)
    # a flip is chosen for half the images, a quarter turn for three in four
    assert changed.float().mean() >= {"xflip": 0.25, "rotate90": 0.5}.get(name, 0.95)
    (grad,) = torch.autograd.grad(y.square().sum(), x)
    assert torch.isfinite(grad).all() and grad.abs().sum() > 0


def test_xflip_is_torch_flip_for_the_flipped_images(data_dir):
    x = real_images(32)
    y, prm = run(x, "xflip")
    f = prm["flip"]
    assert 4 < f.sum() < 28
    assert torch.equal(y[f], x[f].flip(3)) and torch.equal(y[~f], x[~f])


def test_rotate90_is_torch_rot90(data_dir):
    x = real_images(32, 1, 32)
    y, prm = run(x, "rotate90")
    for b in range(32):
        assert torch.equal(y[b], torch.rot90(x[b], int(prm["rot"][b]), dims=(1, 2)))
    assert len(set(prm["rot"].tolist())) == 4


@pytest.mark.parametrize("size", [28, 64])
def test_translation_is_an_integer_shift_with_reflection(size, data_dir):
    x = real_images(16, 3, size)
    y, prm = run(x, "translation")
    r = round(0.125 * size)
    big = F.pad(x, (r, r, r, r), mode="reflect")
    for b in range(16):
        tx, ty = int(prm["tx"][b]), int(prm["ty"][b])
        assert abs(tx) <= r and abs(ty) <= r
        assert torch.equal(y[b], big[b, :, r - ty:r - ty + size, r - tx:r - tx + size])
    assert (prm["tx"] != 0).sum() > 8


def test_scaling_magnifies_a_square_by_its_factors(data_dir):
    x = -torch.ones(16, 1, 28, 28)
    x[:, :, 8:20, 8:20] = 1.0  # 12 x 12 centred square
    for name in ("scale", "aniso"):
        y, prm = run(x, name, seed=1)
        width = (y[:, 0, 14] > 0).sum(1).float()
        height = (y[:, 0, :, 14] > 0).sum(1).float()
        assert ((width - 12 * prm["sx"]).abs() <= 1.5).all(), name
        assert ((height - 12 * prm["sy"]).abs() <= 1.5).all(), name
        assert (prm["sx"] - 1).abs().max() > 0.1
    _, prm = run(x, "aniso")
    assert torch.allclose(prm["sx"] * prm["sy"], torch.ones(16))
    _, prm = run(x, "scale")
    assert torch.equal(prm["sx"], prm["sy"])
    # real garments: values stay within the input's (interpolation and reflection only)
    real = real_images(16, 3, 64)
    y, _ = run(real, "scale")
    assert y.min() >= -1 - 1e-6 and y.max() <= 1 + 1e-6


def test_colour_ops_follow_their_formulas(data_dir):
    x = real_images(64, 3)
    y, prm = run(x, "brightness")
    assert torch.allclose(y, x + prm["brightness"].view(-1, 1, 1, 1))
    assert 0.14 < prm["brightness"].std() < 0.26  # N(0, 0.2^2)
    y, prm = run(x, "contrast")
    assert torch.allclose(y, x * prm["contrast"].view(-1, 1, 1, 1))
    assert 0.35 < prm["contrast"].log2().std() < 0.65  # log2 N(0, 0.5^2)
    y, prm = run(x, "saturation")
    m = x.mean(1, keepdim=True)
    assert torch.allclose(y, m + (x - m) * prm["saturation"].view(-1, 1, 1, 1), atol=1e-6)
    assert 0.7 < prm["saturation"].log2().std() < 1.3
    gray = real_images(8)
    y, _ = run(gray, "saturation")
    assert torch.equal(y, gray)  # skipped on one channel


def test_cutout_zeroes_a_half_size_square_around_its_centre(data_dir):
    x = torch.ones(64, 1, 28, 28)
    y, prm = run(x, "cutout")
    c = prm["cutout_centre"]
    inside = ((c - 0.25) >= 0).all(1) & ((c - 0.75) <= 0).all(1)
    assert ((y == 0).sum((1, 2, 3))[inside] == 196).all() and inside.sum() > 5
    centre_px = (c * 28).long().clamp(0, 27)
    assert (y[torch.arange(64), 0, centre_px[:, 1], centre_px[:, 0]] == 0).all()


def test_each_op_is_chosen_per_image_with_probability_p(data_dir):
    x = real_images(512)
    for p in (0.2, 0.7):
        y, _ = run(x, "brightness", p=p)
        frac = (y != x).flatten(1).any(1).float().mean().item()
        assert abs(frac - p) < 0.07, (p, frac)  # 3.5 sigma of a binomial over 512


def test_p0_is_the_input_itself_and_draws_nothing(data_dir):
    x = real_images(8, 3)
    g = gen(0)
    before = g.get_state()
    assert ada.ada_augment(x, 0.0, generator=g) is x
    assert torch.equal(g.get_state(), before)


@pytest.mark.parametrize("channels,size", [(1, 28), (3, 28), (1, 64), (3, 64), (1, 32),
                                           (3, 128)])
def test_shape_dtype_and_range(channels, size, data_dir):
    o = dataclasses.replace(AdaOptions(), rotate90=True)  # every operation at once
    for dtype in (torch.float32, torch.float64):
        x = real_images(16, channels, size, dtype=dtype)
        prm = ada.sample(x, 1.0, gen(0), o)
        y = ada.apply(x, prm, o)
        assert y.shape == x.shape and y.dtype == dtype and torch.isfinite(y).all()
        # geometry and cutout stay within [-1, 1]; colour bounds each image by its draws
        a = (1 + prm["brightness"].abs()) * prm["contrast"]
        bound = a * (1 + 2 * prm["saturation"]) if channels > 1 else a
        assert (y.abs().flatten(1).amax(1) <= bound.to(dtype) + 1e-5).all()


def test_rotate90_refuses_non_square_images():
    with pytest.raises(ValueError, match="square"):
        ada.sample(torch.zeros(2, 1, 28, 32), 1.0, gen(0), only("rotate90"))


@pytest.mark.parametrize("colour", [True, False])
@pytest.mark.parametrize("channels_last", [False, True])
def test_only_changed_images_are_computed_and_the_result_is_every_images(
        colour, channels_last, data_dir):
    """apply computes the images some operation changes and copies the rest: bit for bit the
    pipeline run on every image, forward and backward, in the input's memory format."""
    o = dataclasses.replace(AdaOptions(), brightness=colour, contrast=colour,
                            saturation=colour)
    x = real_images(48, 3, 32)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    x.requires_grad_(True)
    prm = ada.sample(x, 0.15, gen(3), o)
    on = ada.changed(prm)
    assert 0 < int(on.sum()) < 48  # a partial batch: the path under test
    y = ada.apply(x, prm, o)
    ref = ada.every_image(x, prm, o)
    assert torch.equal(y, ref)
    assert torch.equal(y[~on], x[~on])  # unchanged images are the input's
    assert not torch.equal(y[on], x[on])
    assert y.is_contiguous(memory_format=torch.channels_last) == channels_last
    w = torch.randn(y.shape, generator=gen(4))
    (g,) = torch.autograd.grad((y * w).sum(), x)
    (g_ref,) = torch.autograd.grad((ref * w).sum(), x)
    assert torch.equal(g, g_ref)
    assert torch.equal(g[~on], w[~on])  # identity rows pass the gradient through


def test_changed_reads_each_parameter_at_its_identity(data_dir):
    x = real_images(4, 3, 16)
    base = ada.sample(x, 0.0, gen(0), AdaOptions())  # p = 0 draws: every value its identity
    assert not ada.changed(base).any()
    moved = {"flip": True, "rot": 1, "tx": 1, "ty": -1, "sx": 1.1, "sy": 0.9,
             "brightness": 0.1, "contrast": 1.2, "saturation": 0.5, "cutout": True}
    for key, value in moved.items():
        prm = {k: v.clone() for k, v in base.items()}
        prm[key][2] = value
        assert ada.changed(prm).tolist() == [False, False, True, False], key
    # a batch nothing changes comes back as the input itself
    assert ada.apply(x, base, AdaOptions()) is x
