"""The residual models: shapes at every resolution an imported data set may have, the stage
sizes, the shared-embedding conditional BatchNorm and its soft classes, the projection term,
spectral norm on every D layer, and a real CLI run that resumes and samples."""

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from fashiongan import load_generator, presets, sample
from fashiongan.data import DatasetInfo
from fashiongan.models import build_discriminator, build_generator
from fashiongan.models.resnet import SharedCondBN
from tests.support.cli import run_cli
from tests.support.conditioning import check_class_conditioning


def _cfg(**changes):
    return presets.resolve("default", ["model=resnet", *(f"{k}={v}" for k, v in
                                                        changes.items())])


def _info(resolution, channels, classes=10):
    return DatasetInfo(name="t", resolution=resolution, channels=channels,
                       class_names=tuple(f"c{i}" for i in range(classes)))


@pytest.mark.parametrize("resolution,channels", [(28, 1), (32, 3), (64, 3), (128, 1)])
@pytest.mark.parametrize("classes", [0, 10])
def test_shapes_at_every_resolution(resolution, channels, classes):
    cfg = _cfg(num_classes=classes, g_width=32, d_width=8)
    info = _info(resolution, channels, classes)
    torch.manual_seed(0)
    g, d = build_generator(cfg, info), build_discriminator(cfg, info)
    y = torch.arange(4) % 10 if classes else None
    x = g(torch.randn(4, cfg.model.latent_dim), y)
    assert x.shape == (4, channels, resolution, resolution)
    assert x.min() >= -1 and x.max() <= 1 and x.std() > 0.01
    out = d(x, y)
    assert out.shape == (4,) and torch.isfinite(out).all()
    # D ends at 4x4 (28 px: 28 -> 14 -> 7 -> 4), whatever the resolution
    seen = []
    d.blocks[-1].register_forward_hook(lambda m, i, o: seen.append(o.shape[-1]))
    d(x, y)
    assert seen == [4]


def test_generator_stages_and_widths():
    g = build_generator(_cfg(g_width=64))
    sizes = []
    for b in g.blocks:
        b.register_forward_hook(lambda m, i, o: sizes.append((i[0].shape[1:], o.shape[1:])))
    g(torch.randn(2, 100), torch.tensor([0, 1]))
    assert sizes == [((64, 7, 7), (32, 14, 14)), ((32, 14, 14), (16, 28, 28))]
    # BigGAN's shared embedding: one class table for the whole net, not two per BatchNorm
    assert [m.num_embeddings for m in g.modules() if isinstance(m, torch.nn.Embedding)] == [10]


def test_conditional_path_and_soft_classes():
    torch.manual_seed(0)
    g = build_generator(_cfg()).eval()
    for bn in g.modules():  # trained-like: the class maps are not zero
        if isinstance(bn, SharedCondBN) and bn.conditional:
            torch.nn.init.normal_(bn.gain.weight, 0.0, 0.3)
            torch.nn.init.normal_(bn.bias.weight, 0.0, 0.3)
    check_class_conditioning(g)


def test_projection_term_and_spectral_norm():
    torch.manual_seed(0)
    d = build_discriminator(_cfg(spectral_norm=True))
    normed = [m for m in d.modules() if hasattr(m, "parametrizations")]
    assert len(normed) == 3 * 3 + 2  # 3 convs per block, the linear head, the embedding
    d.train()
    for _ in range(30):  # power iterations converge during forward passes
        d(torch.randn(2, 1, 28, 28), torch.tensor([0, 1]))
    for m in normed:
        w = m.weight.flatten(1)
        assert torch.linalg.matrix_norm(w, ord=2).item() == pytest.approx(1.0, rel=0.05)
    d.eval()
    x, y = torch.randn(4, 1, 28, 28), torch.tensor([0, 1, 2, 9])
    h = F.relu(d.blocks(x)).sum(dim=(2, 3))
    want = d.linear(h).squeeze(1) + (d.embed.weight[y] * h).sum(1)
    assert torch.allclose(d(x, y), want, atol=1e-5)
    assert not torch.allclose(d(x, y), d(x, torch.full((4,), 5)))
    plain = build_discriminator(_cfg(spectral_norm=False))
    assert not any(hasattr(m, "parametrizations") for m in plain.modules())


@pytest.mark.slow
def test_cli_run_resumes_and_samples(tmp_path):
    out = tmp_path / "r"
    common = ("--out", out, "--no-progress", "--limit-data", 1000, "--set", "g_width=32",
              "--set", "d_width=8", "--set", "log_interval=10", "--set", "sample_interval=10",
              "--set", "checkpoint_interval=10", "--set", "threads=1")
    r = run_cli("train", "--set", "model=resnet", "--set", "loss=hinge", "--set",
                "spectral_norm=true", "--set", "iterations=10", *common)
    assert r.returncode == 0, r.stderr
    r = run_cli("train", "--resume", out, "--set", "iterations=20", "--no-progress",
                "--set", "threads=1")
    assert r.returncode == 0, r.stderr
    whole = tmp_path / "w"
    r = run_cli("train", "--set", "model=resnet", "--set", "loss=hinge", "--set",
                "spectral_norm=true", "--set", "iterations=20", *common[2:], "--out", whole)
    assert r.returncode == 0, r.stderr
    a, b = load_generator(out), load_generator(whole)
    assert type(a).__name__ == "ResNetGenerator"
    assert json.loads((out / "snapshot" / "config.json").read_text())["step"] == 20
    # resumed at 10 = trained straight to 20 (bit-for-bit on CPU)
    for (k, x), y in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(x, y), k
    r = run_cli("sample", out, "--class", "bag", "--n", 4, "--out", tmp_path / "s.npz")
    assert r.returncode == 0, r.stderr
    assert np.array_equal(np.load(tmp_path / "s.npz")["images"], sample(a, 4, seed=0, labels=8))
