"""DCGAN and its class-conditional form: shapes, widths as parameters, the conditioning paths,
a real training step on real data, and a short real run through the CLI."""

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from fashiongan import config, data, load_generator, presets, sample
from fashiongan.errors import UserError
from fashiongan.models import build_discriminator, build_generator, generator_kwargs
from fashiongan.models.layers import CondBatchNorm2d
from fashiongan.training import states
from fashiongan.training.step import GANStep
from tests.support.cli import run_cli
from tests.support.conditioning import check_class_conditioning


def _cfg(preset="cdcgan", **changes):
    base = presets.resolve(preset).to_dict()
    base.update(changes)
    return config.from_dict(base)


def _convs(m, kind):
    return [x for x in m.modules() if isinstance(x, kind)]


@pytest.mark.parametrize("preset", ["dcgan", "cdcgan"])
def test_shapes_range_and_logits(preset):
    cfg = _cfg(preset)
    torch.manual_seed(0)
    g, d = build_generator(cfg), build_discriminator(cfg)
    y = torch.arange(8) % 10 if cfg.model.num_classes else None
    x = g(torch.randn(8, cfg.model.latent_dim), y)
    assert x.shape == (8, 1, 28, 28) and x.min() >= -1 and x.max() <= 1
    assert x.std() > 0.005  # not a constant image at init
    out = d(x, y)
    assert out.shape == (8,) and torch.isfinite(out).all()
    assert g.latent_dim == 100 and g.num_classes == cfg.model.num_classes == d.num_classes


def test_widths_are_parameters():
    g = build_generator(_cfg("dcgan", g_width=64))
    ups = _convs(g, torch.nn.ConvTranspose2d)
    assert [(u.in_channels, u.out_channels) for u in ups] == [(64, 32), (32, 16)]
    assert g.fc.out_features == 64 * 7 * 7
    d = build_discriminator(_cfg("dcgan", d_width=16))
    assert [c.out_channels for c in _convs(d, torch.nn.Conv2d)] == [16, 32, 64]
    small = sum(p.numel() for p in d.parameters())
    big = sum(p.numel() for p in build_discriminator(_cfg("dcgan", d_width=32)).parameters())
    assert 3.5 < big / small < 4.1  # conv parameters grow with width squared
    with pytest.raises(UserError, match="multiple of 4"):
        build_generator(_cfg("dcgan", g_width=30))
    with pytest.raises(UserError, match="class-conditional"):
        build_generator(_cfg("cdcgan", num_classes=0))


def test_intermediate_resolutions_are_7_14_28():
    g = build_generator(_cfg("dcgan"))
    sizes = []
    for m in _convs(g, torch.nn.ConvTranspose2d) + [g.out]:
        m.register_forward_hook(lambda mod, i, o: sizes.append((i[0].shape[-1], o.shape[-1])))
    g.eval()(torch.randn(2, 100))
    assert sizes == [(7, 14), (14, 28), (28, 28)]


def test_conditional_generator_uses_the_class_and_mixes_soft_classes():
    torch.manual_seed(0)
    g = build_generator(_cfg()).eval()
    for cbn in _convs(g, CondBatchNorm2d):  # trained-like: classes get different gains
        torch.nn.init.normal_(cbn.gain.weight, 1.0, 0.5)
        torch.nn.init.normal_(cbn.bias.weight, 0.0, 0.5)
    check_class_conditioning(g)


def test_projection_discriminator_adds_the_class_inner_product():
    torch.manual_seed(0)
    d = build_discriminator(_cfg())
    x = torch.randn(4, 1, 28, 28)
    h = d.features(x).sum(dim=(2, 3))
    y = torch.tensor([0, 1, 2, 9])
    want = d.linear(h).squeeze(1) + (d.embed.weight[y] * h).sum(1)
    assert torch.allclose(d(x, y), want, atol=1e-5)
    assert not torch.allclose(d(x, y), d(x, torch.tensor([5, 5, 5, 5])))


def test_spectral_norm_bounds_every_d_layer():
    torch.manual_seed(0)
    d = build_discriminator(_cfg(spectral_norm=True))
    normed = [m for m in d.modules() if hasattr(m, "parametrizations")]
    assert len(normed) == 5  # three convs, the linear head, the projection embedding
    d.train()
    for _ in range(30):  # power iterations converge during forward passes
        d(torch.randn(2, 1, 28, 28), torch.tensor([0, 1]))
    lin = d.linear.weight  # a [1, F] matrix: its spectral norm is its Euclidean norm
    assert lin.norm().item() == pytest.approx(1.0, rel=1e-3)
    conv = d.features[2].weight.flatten(1)
    assert torch.linalg.matrix_norm(conv, ord=2).item() == pytest.approx(1.0, rel=0.05)


@pytest.fixture
def one_thread():
    """One thread: on a shared 2-core machine, two OpenMP threads per process thrash."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("loss", ["non_saturating", "hinge", "wgan_gp"])
def test_a_real_training_step_moves_the_loss(data_dir, loss, one_thread):
    """D is stepped repeatedly on one real batch against G's fakes: its loss must fall."""
    cfg = _cfg(loss=loss, g_width=32, d_width=16, r1_gamma=1.0 if loss == "hinge" else 0.0,
               spectral_norm=loss == "hinge", lr=1e-3, seed=3)
    images, labels = data.load("train", data_dir)
    real = images[:64].unsqueeze(1).float() / 127.5 - 1
    torch.manual_seed(cfg.schedule.seed)
    g, d = build_generator(cfg), build_discriminator(cfg)
    step = GANStep(cfg, g, d, torch.device("cpu"))
    g_before = [p.detach().clone() for p in g.parameters()]
    first = [step.d_update(real, labels[:64])[0].item() for _ in range(1)][0]
    for _ in range(15):
        last = step.d_update(real, labels[:64])[0].item()
    assert np.isfinite(last) and last < first - 0.1, (first, last)
    step.g_update(64)
    assert any(not torch.equal(a, b) for a, b in zip(g_before, g.parameters(), strict=True))
    out = step(real, labels[:64])  # the full iteration returns finite stats
    assert out.shape == (4,) and torch.isfinite(out).all()


@pytest.mark.slow
@pytest.mark.parametrize("preset", ["dcgan", "cdcgan"])
def test_short_cli_run_writes_its_files_and_samples_carry_the_class(tmp_path, data_dir, preset):
    out = tmp_path / preset
    r = run_cli("train", "--preset", preset, "--out", out, "--no-progress", "--limit-data",
                2000, "--set", "iterations=40", "--set", "g_width=32", "--set", "d_width=16",
                "--set", "log_interval=20", "--set", "sample_interval=20",
                "--set", "checkpoint_interval=20", "--set", "ema_halflife_kimg=0.5",
                "--set", "threads=1")
    assert r.returncode == 0, r.stderr
    assert json.loads((out / "config.json").read_text())["model"] == preset
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [x["step"] for x in rows] == [10, 20, 30, 40] and rows[-1]["images_seen"] == 40 * 64
    assert {p.name for p in (out / "samples").iterdir()} >= {"grid-00000040.png",
                                                               "grid-final.png"}
    state = states.load_state(out)
    snap = load_file(out / "snapshot" / "generator.safetensors")
    # snapshots hold the EMA of G, not G itself
    assert torch.equal(snap["fc.weight"], state["G_ema"]["fc.weight"])
    assert not torch.equal(snap["fc.weight"], state["G"]["fc.weight"])
    g = load_generator(out)
    assert type(g).__name__.endswith("DCGANGenerator") and not g.training
    if preset == "dcgan":
        r = run_cli("sample", out, "--class", "sneaker", "--n", 2, "--out", tmp_path / "x.npz")
        assert r.returncode == 2 and "unconditional" in r.stderr
        return
    npz = tmp_path / "sneakers.npz"
    r = run_cli("sample", out, "--class", "sneaker", "--n", 16, "--out", npz)
    assert r.returncode == 0, r.stderr
    got = np.load(npz)
    assert got["images"].shape == (16, 28, 28) and list(got["labels"]) == [7] * 16
    # and they are the generator's class-7 images for seeds 0..15
    assert np.array_equal(got["images"], sample(g, 16, seed=0, labels=7))
    assert not np.array_equal(got["images"], sample(g, 16, seed=0, labels=3))
    r = run_cli("sample", out, "--class", "4", "--n", 3, "--out", npz)
    assert r.returncode == 0 and list(np.load(npz)["labels"]) == [4, 4, 4]


@pytest.mark.parametrize(("name", "preset", "least"), [
    ("default", "default", 0.8), ("best", "default", 0.88), ("resnet", "best", 0.88)])
def test_shipped_generator_draws_the_asked_classes(name, preset, least):
    """Each pretrained generator in the package: its record matches its weights, and the
    project's evaluator reads its conditional samples as the classes asked for (bars a few
    points under the 10,000-sample accuracy its record holds)."""
    from fashiongan.metrics import evaluator
    from fashiongan.metrics.features import extract
    from fashiongan.snapshot import shipped_generator

    file = shipped_generator(name)
    g = load_generator(str(file))
    record = json.loads(file.with_suffix(".json").read_text())
    # through from_dict: config keys added since the record was written take their defaults
    assert generator_kwargs(config.from_dict(record["config"])) == g.model_kwargs
    assert record["step"] == g.snapshot_info["step"] and record["preset"] == preset
    assert record["command"].startswith("fashiongan train") and record["fid"] > 0
    assert file.stat().st_size <= 8 * 2**20
    net, _ = evaluator.load()
    images, labels = sample(g, 1000, seed=123, return_labels=True)
    _, pred = extract(images, net)
    acc = (pred.numpy() == labels).mean()
    assert acc >= least, acc  # measured on 10,000 samples: see the record
    assert record["conditional_accuracy"] >= least
    per_class = [(pred.numpy()[labels == k] == k).mean() for k in range(10)]
    for k in (1, 5, 7, 8, 9):  # trousers, sandals, sneakers, bags, boots: unmistakable
        assert per_class[k] > 0.85, (k, per_class)
