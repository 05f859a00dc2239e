"""DiffAugment's operations on real Fashion-MNIST: each does what Zhao et al. define, is
differentiable, and draws only from the generator it is given."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from fashiongan.augment import diffaugment as da
from tests.support.augment import gen, one_thread, real_images  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("one_thread")

OPS = {"brightness": da.brightness, "saturation": da.saturation, "contrast": da.contrast,
       "translation": da.translation, "cutout": da.cutout}


@pytest.mark.parametrize("name", OPS)
def test_every_op_passes_gradcheck(name, data_dir):
    # float64 finite differences against autograd, the same draw on every evaluation
    x = real_images(2, 3, 8, dtype=torch.float64).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda t: OPS[name](t, gen(5)), (x,))
    y = OPS[name](x, gen(5))
    (grad,) = torch.autograd.grad((y * torch.randn(y.shape, generator=gen(1),
                                                   dtype=y.dtype)).sum(), x)
    assert torch.isfinite(grad).all() and grad.abs().sum() > 0


def test_brightness_adds_one_uniform_shift_per_image(data_dir):
    x = real_images(64)
    d = da.brightness(x, gen(0)) - x
    shift = d[:, 0, 0, 0]
    assert torch.allclose(d, shift.view(-1, 1, 1, 1).expand_as(d), atol=1e-6)
    assert shift.min() >= -0.5 and shift.max() <= 0.5 and shift.std() > 0.2  # U(-.5,.5): .29


def test_saturation_scales_deviation_from_channel_mean(data_dir):
    x = real_images(32, 3)
    y = da.saturation(x, gen(0))
    m = x.mean(1, keepdim=True)
    assert torch.allclose(y.mean(1, keepdim=True), m, atol=1e-5)
    factor = ((y - m) * (x - m)).sum((1, 2, 3)) / (x - m).square().sum((1, 2, 3))
    assert torch.allclose(y, m + (x - m) * factor.view(-1, 1, 1, 1), atol=1e-5)
    assert factor.min() >= 0 and factor.max() <= 2 and factor.std() > 0.3  # U(0, 2): 0.58
    one = real_images(4)
    assert da.saturation(one, gen(0)) is one  # one channel: nothing to saturate


def test_contrast_scales_deviation_from_image_mean(data_dir):
    x = real_images(32, 3)
    y = da.contrast(x, gen(0))
    m = x.mean((1, 2, 3), keepdim=True)
    assert torch.allclose(y.mean((1, 2, 3), keepdim=True), m, atol=1e-5)
    factor = ((y - m) * (x - m)).sum((1, 2, 3)) / (x - m).square().sum((1, 2, 3))
    assert torch.allclose(y, m + (x - m) * factor.view(-1, 1, 1, 1), atol=1e-5)
    assert factor.min() >= 0.5 and factor.max() <= 1.5 and factor.std() > 0.15


def shifted(img: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """img moved down dy and right dx with zero fill, by padding and cropping."""
    H, W = img.shape[-2:]
    p = 8
    big = F.pad(img, (p, p, p, p))
    return big[..., p - dy:p - dy + H, p - dx:p - dx + W]


@pytest.mark.parametrize("size", [28, 64])
def test_translation_is_a_zero_filled_integer_shift_of_up_to_an_eighth(size, data_dir):
    x = real_images(16, 1, size)
    y = da.translation(x, gen(3))
    r = int(size * 0.125 + 0.5)  # 4 px at 28, 8 at 64
    shifts = []
    for b in range(16):
        found = [(dy, dx) for dy in range(-r, r + 1) for dx in range(-r, r + 1)
                 if torch.equal(y[b], shifted(x[b], dy, dx))]
        assert found, f"image {b} is no shift within +-{r}"
        shifts.append(found[0])
    assert len(set(shifts)) > 8  # 81 possible shifts, 16 draws


def test_cutout_zeroes_a_half_size_square(data_dir):
    x = torch.ones(64, 1, 28, 28)
    y = da.cutout(x, gen(0))
    assert set(y.unique().tolist()) == {0.0, 1.0}
    holes = y == 0
    for b in range(64):
        rows = holes[b, 0].any(1).nonzero().flatten()
        cols = holes[b, 0].any(0).nonzero().flatten()
        # a rectangle: every pixel between its first and last row and column is cut
        assert holes[b, 0, rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1].all()
        assert holes[b].sum() == len(rows) * len(cols)
        assert 1 <= len(rows) <= 14 and 1 <= len(cols) <= 14
    assert (holes.sum((1, 2, 3)) == 196).sum() > 10  # uncut by the borders: 14 x 14
    real = real_images(8)
    out = da.cutout(real, gen(0))
    assert torch.equal(out[out != 0], real[out != 0])  # outside the hole: untouched


def test_policy_applies_groups_in_order_and_rejects_unknown_names(data_dir):
    x = real_images(8, 3)
    g1, g2 = gen(4), gen(4)
    y = da.diff_augment(x, "translation,color", generator=g1)
    z = x
    for op in (da.translation, da.brightness, da.saturation, da.contrast):
        z = op(z, g2)
    assert torch.equal(y, z)
    assert da.diff_augment(x, "", generator=gen(0)) is x
    with pytest.raises(ValueError, match="unknown DiffAugment policy flip"):
        da.diff_augment(x, "color,flip", generator=gen(0))
