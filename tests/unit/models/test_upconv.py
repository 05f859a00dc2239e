"""The transposed convolution that stands for a nearest x2 resize and a 3x3 convolution."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from fashiongan.metrics.spectrum import nyquist_share
from fashiongan.models.upconv import up_conv, up_kernel


def u8(x: torch.Tensor) -> torch.Tensor:
    return ((torch.tanh(x) + 1) * 127.5).round().to(torch.uint8)


def reference(x: torch.Tensor, conv: nn.Conv2d) -> torch.Tensor:
    return conv(F.interpolate(x, scale_factor=2.0))


@pytest.mark.parametrize("c_in,c_out,h,w,bias", [(5, 3, 6, 6, True), (8, 4, 3, 7, False),
                                                 (2, 6, 1, 1, True)])
def test_equals_resize_then_convolve_with_its_gradients(c_in, c_out, h, w, bias):
    torch.manual_seed(0)
    conv = nn.Conv2d(c_in, c_out, 3, 1, 1, bias=bias).double()
    x = torch.randn(3, c_in, h, w, dtype=torch.float64, requires_grad=True)
    want = reference(x, conv)
    got = up_conv(x, conv)
    assert got.shape == want.shape == (3, c_out, 2 * h, 2 * w)
    torch.testing.assert_close(got, want, rtol=0, atol=1e-12)  # the borders' zero padding too
    g = torch.randn_like(want)
    grads_want = torch.autograd.grad(want, [x, conv.weight], g)
    grads_got = torch.autograd.grad(got, [x, conv.weight], g)
    for a, b in zip(grads_got, grads_want, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-11)


def test_channels_last_and_bf16_autocast_match():
    torch.manual_seed(1)
    conv = nn.Conv2d(16, 8, 3, 1, 1)
    x = torch.randn(4, 16, 8, 8).contiguous(memory_format=torch.channels_last)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got, want = up_conv(x, conv).float(), reference(x, conv).float()
    assert (got - want).abs().max() < 0.05 * want.abs().max()


def test_kernel_taps_and_no_checkerboard():
    w = torch.zeros(1, 1, 3, 3)
    w[0, 0, 1, 1] = 1.0  # identity convolution: the transposed kernel spreads one input pixel
    k = up_kernel(w)     # over its 2x2 output pixels only
    assert k.shape == (1, 1, 4, 4)
    assert k[0, 0].tolist() == [[0, 0, 0, 0], [0, 1, 1, 0], [0, 1, 1, 0], [0, 0, 0, 0]]
    # random weights: no energy at the 2-px period beyond the input's, unlike a free kernel
    torch.manual_seed(2)
    x = torch.randn(8, 3, 16, 16)
    conv = nn.Conv2d(3, 3, 3, 1, 1)
    free = torch.randn(3, 3, 4, 4)
    with torch.no_grad():
        tied_share = nyquist_share(u8(up_conv(x, conv)))
        free_share = nyquist_share(u8(F.conv_transpose2d(x, free, stride=2, padding=1)))
    assert tied_share < 0.005 and free_share > 10 * tied_share  # measured 0.0024 and 0.044


def test_refuses_other_convolutions():
    with pytest.raises(ValueError, match="3x3"):
        up_conv(torch.zeros(1, 2, 4, 4), nn.Conv2d(2, 2, 5, 1, 2))
    with pytest.raises(ValueError, match="3x3"):
        up_kernel(torch.zeros(2, 2, 1, 1))


def test_follows_a_channels_last_model():
    torch.manual_seed(3)
    conv = nn.Conv2d(6, 4, 3, 1, 1)
    x = torch.randn(2, 6, 5, 5)  # NCHW, as a reshaped Linear output is
    want = reference(x, conv)
    assert up_conv(x, conv).is_contiguous()
    conv.to(memory_format=torch.channels_last)
    got = up_conv(x, conv)
    assert got.is_contiguous(memory_format=torch.channels_last) and not got.is_contiguous()
    torch.testing.assert_close(got, want, rtol=0, atol=1e-5)
