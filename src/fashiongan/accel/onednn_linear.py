"""Linear layers through oneDNN's GEMM on CPU, forward and backward.

Why by hand: torch's CPU `nn.Linear` calls MKL's sgemm, and MKL takes its AVX2 path on AMD
CPUs; oneDNN, which every torch CPU build also carries, dispatches on the instruction set and
runs AVX-512. At the article's shapes, batch 32, one thread of this 2-core AMD EPYC
(`benchmarks/linear_gemm.py`): forward 146-177 vs 96-98 GFLOP/s, input gradient 147-210 vs
83-98, weight gradient 155-215 vs 103-107 (1.5-2.2x; two threads: 1.1-2.7x). torch exposes
oneDNN's float32 linear only as the inference op `mkldnn._linear_pointwise`, with no autograd
formula, so the backward is written here from the same op: dX = dY W is a linear of dY with
weight W^T, dW = dY^T X a linear of dY^T with weight X^T (both passed as strided views, no
copies), db = the column sums of dY.

The arithmetic is IEEE float32 like MKL's, in another summation order: results agree with
`nn.Linear` to float rounding (tests/test_onednn_linear.py), not bit for bit.
"""

from __future__ import annotations

import torch
from torch import nn

_OP = getattr(getattr(torch.ops, "mkldnn", None), "_linear_pointwise", None)

# oneDNN loses on thin layers: a 256 -> 1 head ran at 1 GFLOP/s against MKL's 6-11, and 100 -> 256
# at 0.5-0.97x (same benchmark). Both sides of a layer must be at least this wide.
MIN_WIDTH = 256


def linear_pointwise(x, weight, bias, activation: str = "none", scalars=()) -> torch.Tensor:
    """activation(x @ weight.T + bias) in one oneDNN call (activation: none | leaky_relu with
    [slope] | tanh | relu | sigmoid ...)."""
    return _OP(x, weight, bias, activation, list(scalars), "")


def mm_t(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """a @ b.T through oneDNN; a and b may be transposed views."""
    return _OP(a, b, None, "none", [], "")


class _LinearFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias):
        ctx.save_for_backward(x, weight)
        ctx.has_bias = bias is not None
        return linear_pointwise(x, weight, bias)

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad
        if torch.is_grad_enabled():
            # create_graph=True (R1, gradient penalty): differentiable ops, so that autograd
            # can take the gradient of this gradient.
            gx = grad.mm(weight) if need_x else None
            gw = grad.t().mm(x) if need_w else None
        else:
            grad = grad.contiguous()
            gx = mm_t(grad, weight.t()) if need_x else None
            gw = mm_t(grad.t(), x.t()) if need_w else None
        gb = grad.sum(0) if ctx.has_bias and need_b else None
        return gx, gw, gb


class OneDNNLinear(nn.Linear):
    """nn.Linear whose float32 CPU forward and backward run on oneDNN while training; every
    other case (CUDA, float64, autocast, inputs that are not a batch of vectors) is nn.Linear's
    own. So is inference under no_grad: pictures drawn from the live model during training (the
    sample grids) are then the same pixels, bit for bit, as those drawn from its snapshot by
    `fashiongan sample` or the studio, which load plain nn.Linear layers."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if (torch.is_grad_enabled() and x.dim() == 2 and x.dtype == torch.float32
                and x.device.type == "cpu"
                and self.weight.dtype == torch.float32
                and not torch.is_autocast_enabled("cpu")):
            return _LinearFn.apply(x, self.weight, self.bias)
        return super().forward(x)


def available() -> bool:
    return _OP is not None and torch.backends.mkldnn.is_available()


def convert(module: nn.Module) -> int:
    """Switch the wide plain nn.Linear layers of `module` to OneDNNLinear in place (same
    parameters, same state_dict keys); returns how many were switched. Layers with a
    parametrisation (spectral norm) or a subclass are left alone."""
    if not available():
        return 0
    n = 0
    for m in module.modules():
        if type(m) is nn.Linear and min(m.in_features, m.out_features) >= MIN_WIDTH:
            m.__class__ = OneDNNLinear
            n += 1
    return n
