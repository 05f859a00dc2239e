"""OneDNNLinear computes what nn.Linear computes, forward, backward and double backward."""

from __future__ import annotations

import copy
import re

import pytest
import torch
from torch import nn

from fashiongan.accel import onednn_linear
from fashiongan.models.article import ArticleDiscriminator, ArticleGenerator

pytestmark = pytest.mark.skipif(not onednn_linear.available(), reason="torch without oneDNN")


def _pair(n_in, n_out, bias=True):
    torch.manual_seed(0)
    plain = nn.Linear(n_in, n_out, bias=bias)
    fast = copy.deepcopy(plain)
    fast.__class__ = onednn_linear.OneDNNLinear
    return plain, fast


@pytest.mark.parametrize("bias", [True, False])
def test_forward_and_gradients_match_nn_linear(bias):
    plain, fast = _pair(784, 512, bias)
    x = torch.randn(32, 784)
    xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    g = torch.randn(32, 512)
    ya, yb = plain(xa), fast(xb)
    torch.testing.assert_close(yb, ya, atol=1e-5, rtol=1e-5)
    assert yb.grad_fn is not None and "LinearFn" in type(yb.grad_fn).__name__  # oneDNN's path
    ya.backward(g)
    yb.backward(g)
    torch.testing.assert_close(xb.grad, xa.grad, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(fast.weight.grad, plain.weight.grad, atol=1e-4, rtol=1e-5)
    if bias:
        torch.testing.assert_close(fast.bias.grad, plain.bias.grad, atol=1e-5, rtol=1e-5)
    # the tolerance tells rows apart, so a mixed-up weight gradient would not pass
    assert not torch.allclose(fast.weight.grad, plain.weight.grad.flip(0), atol=1e-3)


def test_double_backward_for_gradient_penalties():
    """R1 and WGAN-GP take the gradient of an input gradient (create_graph=True)."""
    plain, fast = _pair(300, 256)
    head = nn.Linear(256, 1)
    x = torch.randn(16, 300)
    pens = []
    for layer in (plain, fast):
        xi = x.clone().requires_grad_(True)
        out = head(torch.nn.functional.leaky_relu(layer(xi), 0.2)).sum()
        (gx,) = torch.autograd.grad(out, xi, create_graph=True)
        pen = gx.pow(2).sum()
        (gw,) = torch.autograd.grad(pen, layer.weight)
        pens.append((pen.detach(), gw))
    torch.testing.assert_close(pens[1][0], pens[0][0], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(pens[1][1], pens[0][1], atol=1e-5, rtol=1e-4)
    assert pens[0][1].abs().max() > 0


def test_other_cases_take_nn_linear():
    """float64 and autocast go through nn.Linear's own forward (no oneDNN node)."""
    plain, fast = _pair(512, 256)
    x64 = torch.randn(4, 512, dtype=torch.float64)
    y = fast.double()(x64.requires_grad_(True))
    assert y.dtype == torch.float64 and "LinearFn" not in type(y.grad_fn).__name__
    fast.float()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = fast(torch.randn(4, 512))
    assert y.dtype == torch.bfloat16


def test_convert_switches_wide_layers_only_and_keeps_state_dict():
    G, D = ArticleGenerator(), ArticleDiscriminator()
    keys = {k: v.clone() for k, v in G.state_dict().items()}
    # G: 100->256 stays (thin), 256->512, 512->1024, 1024->784 switch; D: 784->512, 512->256
    # switch, 256->1 stays
    assert onednn_linear.convert(G) == 3 and onednn_linear.convert(D) == 2
    kinds = [type(m).__name__ for m in G.net if isinstance(m, nn.Linear)]
    assert kinds == ["Linear", "OneDNNLinear", "OneDNNLinear", "OneDNNLinear"]
    assert G.state_dict().keys() == keys.keys()
    assert all(torch.equal(G.state_dict()[k], v) for k, v in keys.items())
    assert onednn_linear.convert(G) == 0  # idempotent: converted layers are not plain Linear


def test_inference_keeps_nn_linear_kernels_bit_for_bit():
    """Under no_grad the converted layer is nn.Linear exactly, so training grids and samples
    from the snapshot are the same pixels."""
    plain, fast = _pair(1024, 784)
    x = torch.randn(50, 1024)
    with torch.no_grad():
        assert torch.equal(fast(x), plain(x))
    y = fast(x)
    assert "LinearFn" in type(y.grad_fn).__name__


def test_linear_gemm_benchmark_prints_a_row_per_layer(capsys):
    """benchmarks/linear_gemm.py end to end, tiny: it checks each oneDNN product against MKL's
    before timing it, and prints one row of positive rates per article layer."""
    from benchmarks import linear_gemm

    threads = torch.get_num_threads()
    try:
        linear_gemm.main(["--n", "2", "--reps", "1"])
    finally:
        torch.set_num_threads(threads)  # the benchmark sets its own; leave the session's
    rows = [ln for ln in capsys.readouterr().out.splitlines() if "->" in ln]
    assert len(rows) == len(linear_gemm.SHAPES)
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")][1:]
        assert all(re.fullmatch(r"\d+(\.\d+)?x?", c) for c in cells), row  # numbers, not time
