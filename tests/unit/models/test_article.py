import math

import torch

from fashiongan import presets
from fashiongan.models import build_discriminator, build_generator, count_params


def _models():
    c = presets.resolve("article")
    torch.manual_seed(0)
    return build_generator(c), build_discriminator(c)


def test_parameter_counts_match_keras():
    g, d = _models()
    assert count_params(g) == 1_493_520 and count_params(d) == 533_505
    assert count_params(g, keras=False) == 1_489_936  # Keras' "trainable" count
    assert count_params(d, keras=False) == 533_505


def test_layer_stack_and_keras_defaults():
    g, d = _models()
    linears = [m for m in g.modules() if isinstance(m, torch.nn.Linear)]
    assert [m.out_features for m in linears] == [256, 512, 1024, 784]
    bns = [m for m in g.modules() if isinstance(m, torch.nn.BatchNorm1d)]
    assert [(b.momentum, b.eps) for b in bns] == [(0.2, 1e-3)] * 3
    kinds = [type(m).__name__ for m in g.net]
    assert kinds[:3] == ["Linear", "LeakyReLU", "BatchNorm1d"] and kinds[-1] == "Tanh"
    assert [m.negative_slope for m in g.modules() if isinstance(m, torch.nn.LeakyReLU)] \
        == [0.2] * 3
    d_lin = [m for m in d.modules() if isinstance(m, torch.nn.Linear)]
    assert [m.out_features for m in d_lin] == [512, 256, 1]
    for m in linears + d_lin:  # Glorot-uniform weights, zero bias
        bound = math.sqrt(6 / (m.in_features + m.out_features))
        assert m.weight.abs().max() <= bound and m.weight.abs().max() > 0.9 * bound
        assert torch.count_nonzero(m.bias) == 0


def test_shapes_and_range():
    g, d = _models()
    x = g(torch.randn(8, 100))
    assert x.shape == (8, 1, 28, 28) and x.min() >= -1 and x.max() <= 1
    assert d(x).shape == (8,)
