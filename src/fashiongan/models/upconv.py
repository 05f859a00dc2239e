"""Nearest x2 upsampling followed by a 3x3 convolution, computed as one stride-2 transposed
convolution whose 4x4 kernel is made from the 3x3 one.

After a nearest x2 resize every output pixel of a 3x3 convolution sees only 2x2 input pixels:
along one axis, output 2q takes w[0] x[q-1] + (w[1] + w[2]) x[q], and output 2q+1 takes
(w[0] + w[1]) x[q] + w[2] x[q+1]. That is a transposed convolution (stride 2, padding 1) with
the kernel [w[2], w[1] + w[2], w[0] + w[1], w[0]] per axis: the same function with zero
padding at the borders included, from 4 multiply-adds per output pixel and input channel
where the resize-then-convolve pass spends 9, and without the 4x larger resized copy in
memory. Because the kernel is tied to the 3x3 weights, the four output phases cannot drift
apart as a free transposed convolution's do: no checkerboard (metrics/spectrum.py). The
parameters stay an nn.Conv2d's, so weights, checkpoints and exports are unchanged.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _taps(w: torch.Tensor, dim: int) -> torch.Tensor:
    """3 taps along `dim` -> the 4 of the transposed kernel along it."""
    a, b, c = w.unbind(dim)
    return torch.stack([c, b + c, a + b, a], dim)


def up_kernel(weight: torch.Tensor) -> torch.Tensor:
    """[out, in, 3, 3] convolution weight -> [in, out, 4, 4] transposed-convolution weight."""
    if weight.shape[-2:] != (3, 3):
        raise ValueError(f"up_kernel needs a 3x3 kernel, got {tuple(weight.shape)}")
    return _taps(_taps(weight, 2), 3).transpose(0, 1)


def up_conv(x: torch.Tensor, conv: nn.Conv2d) -> torch.Tensor:
    """conv(nearest_x2(x)) for a 3x3, stride-1, padding-1 nn.Conv2d, at 4/9 of its arithmetic."""
    if conv.kernel_size != (3, 3) or conv.stride != (1, 1) or conv.padding != (1, 1) \
            or conv.groups != 1 or conv.dilation != (1, 1):
        raise ValueError("up_conv computes a 3x3, stride-1, padding-1 convolution only")
    w = conv.weight
    if w.is_contiguous(memory_format=torch.channels_last) and not w.is_contiguous():
        # a model converted to channels-last (training does it: training/step.py) runs its
        # maps so too; the kernel made here is NCHW, and the input may come from a reshape,
        # so without this the whole generator ran NCHW: 1.23x slower at 64 px, 1.31x at 128
        x = x.contiguous(memory_format=torch.channels_last)
    return F.conv_transpose2d(x, up_kernel(w), conv.bias, stride=2, padding=1)
