import json

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

import fashiongan
from fashiongan import presets
from fashiongan.data import DatasetInfo
from fashiongan.errors import UserError
from fashiongan.generate.sampling import parse_class, sample
from fashiongan.models import build_generator
from fashiongan.snapshot import save_snapshot
from tests.support.cli import run_cli


@pytest.fixture
def snapshot(tmp_path):
    cfg = presets.resolve("article")
    torch.manual_seed(0)
    g = build_generator(cfg)
    # give BatchNorm real running statistics, so eval mode differs from a fresh model
    g.train()
    with torch.no_grad():
        for _ in range(5):
            g(torch.randn(64, 100))
    return save_snapshot(g, cfg, tmp_path / "snap", {"step": 0})


def test_same_seed_same_images_at_any_batch_size(snapshot):
    g = fashiongan.load_generator(snapshot)
    a = sample(g, 20, seed=5, batch_size=500)
    b = sample(g, 20, seed=5, batch_size=3)
    c = sample(g, 5, seed=10)  # seeds 10..14 are images 5..9 of the first request
    assert a.dtype == np.uint8 and a.shape == (20, 28, 28)
    assert np.array_equal(a, b) and np.array_equal(a[5:10], c)
    assert not np.array_equal(a, sample(g, 20, seed=6))


def test_cli_sample_npz_and_grid(snapshot, tmp_path):
    out, png = tmp_path / "s.npz", tmp_path / "g.png"
    r = run_cli("sample", snapshot, "--n", 30, "--seed", 2, "--out", out, "--grid", png,
                "--rows", 3, "--cols", 10)
    assert r.returncode == 0, r.stderr
    z = np.load(out)
    assert z["images"].shape == (30, 28, 28) and z["images"].dtype == np.uint8
    assert z["seeds"].tolist() == list(range(2, 32)) and "labels" not in z
    g = fashiongan.load_generator(snapshot / "generator.safetensors")
    assert np.array_equal(z["images"], sample(g, 30, seed=2))
    from PIL import Image
    assert Image.open(png).size == (302, 92)


def test_class_names_parse():
    assert parse_class("sneaker") == 7 and parse_class("Ankle boot") == 9
    assert parse_class("t-shirt") == 0 and parse_class("3") == 3 and parse_class("dresses") == 3
    with pytest.raises(UserError, match="unknown class 'hat'; classes: 0 T-shirt/top"):
        parse_class("hat")


def test_unconditional_generator_refuses_a_class(snapshot):
    r = run_cli("sample", snapshot, "--class", "dress", "--out", "x.npz")
    assert r.returncode == 2 and "unconditional" in r.stderr


def test_pickle_offered_as_weights_is_refused(tmp_path):
    f = tmp_path / "generator.safetensors"
    torch.save({"a": torch.zeros(1)}, f)
    with pytest.raises(UserError, match="pickle/zip"):
        fashiongan.load_generator(f)


def test_snapshots_carry_the_data_set_and_survive_unknown_model_arguments(tmp_path):
    """Format 3: model name, kwargs and DatasetInfo in the metadata, no training settings; a
    model argument this version does not know is warned about, not fatal."""
    cfg = presets.resolve("dcgan", ["g_width=32", "d_width=8"])
    info = DatasetInfo(resolution=32, channels=3, class_names=("a", "b"), name="tiny")
    g = build_generator(cfg, info)
    save_snapshot(g, cfg, tmp_path / "snap", {"step": 1}, dataset=info)
    file = tmp_path / "snap" / "generator.safetensors"
    with safe_open(str(file), framework="pt") as f:
        meta = json.loads(f.metadata()["fashiongan"])
    assert meta["format"] == 3 and meta["dataset"]["resolution"] == 32 and "config" not in meta
    assert meta["model"] == "dcgan" and meta["model_kwargs"]["channels"] == 3
    meta["model_kwargs"]["a_renamed_argument"] = 1
    save_file(load_file(str(file)), str(file), metadata={"fashiongan": json.dumps(meta)})
    with pytest.warns(UserWarning, match="a_renamed_argument"):
        back = fashiongan.load_generator(file)
    assert back.dataset == info and back.snapshot_info == {"step": 1}
    assert tuple(back(torch.randn(2, cfg.model.latent_dim)).shape) == (2, 3, 32, 32)


def test_classes_keyword_takes_names_or_indices_as_labels_does(tmp_path):
    from tests.support.studio import tiny_snapshot

    g = fashiongan.load_generator(tiny_snapshot(tmp_path / "c"))
    by_name, drawn = sample(g, 4, seed=3, classes=["dress", "Sneaker", 3, "ankle boot"],
                            return_labels=True)
    assert drawn.tolist() == [3, 7, 3, 9]
    assert np.array_equal(by_name, sample(g, 4, seed=3, labels=[3, 7, 3, 9]))
    assert np.array_equal(sample(g, 2, classes="dress"), sample(g, 2, labels=3))
    assert not np.array_equal(sample(g, 2, classes="dress"), sample(g, 2, classes="coat"))
    assert fashiongan.class_names(g)[3] == "Dress"
    with pytest.raises(UserError, match="not both"):
        sample(g, 2, classes=3, labels=3)
