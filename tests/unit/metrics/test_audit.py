"""The privacy audit on real Fashion-MNIST slices: copies of training images (exact, noised,
shifted by a pixel) are flagged with their own index, held-out test images pass at the
calibrated rate; `fashiongan audit` and `evaluate --cas` on an export."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from fashiongan import data
from fashiongan.cli import main
from fashiongan.data.importer import import_images
from fashiongan.metrics import audit, evaluator
from tests.support.datasets import fmnist_folder

N_TRAIN, N_TEST = 3000, 1000


@pytest.fixture(scope="module")
def real():
    x, y = data.load("train")
    xt, yt = data.load("test")
    return x[:N_TRAIN].numpy(), y[:N_TRAIN].numpy(), xt[:N_TEST].numpy(), yt[:N_TEST].numpy()


@pytest.fixture(scope="module")
def index(real):
    return audit.TrainingIndex(real[0], evaluator.load()[0])


def copies(x, rng):
    """Exact, noised (sigma 0.02 of full scale), and shifted by one pixel (right; up)."""
    noised = np.clip(x + rng.normal(0, 0.02 * 255, x.shape), 0, 255).round().astype(np.uint8)
    right = np.zeros_like(x)
    right[:, :, 1:] = x[:, :, :-1]
    up = np.zeros_like(x)
    up[:, :-1] = x[:, 1:]
    return {"exact": x, "noised": noised, "shifted right": right, "shifted up": up}


def test_copies_of_training_images_are_flagged_and_unseen_images_pass(real, index):
    x, _, xt, yt = real
    cal = audit.calibrate(index, xt[:500], yt[:500], 10)  # calibrated on half the test slice
    assert cal.quantile == 0.05 and 0.03 < cal.threshold < 0.12
    rng = np.random.default_rng(0)
    pick = rng.choice(N_TRAIN, 200, replace=False)
    labels = real[1][pick]
    for kind, q in copies(x[pick], rng).items():
        found, dist = index.nearest(q)
        assert (found == pick).all(), kind  # the very training image, not a look-alike
        assert audit.flagged(dist, cal, labels).all(), kind
        assert dist.max() < (0.025 if kind == "noised" else 1e-6), kind
    _, held_out = index.nearest(xt[500:])  # the other half: flagged at about the 5 %
    rate = audit.flagged(held_out, cal, yt[500:]).mean()
    assert 0.01 <= rate <= 0.11, rate


def test_without_a_judge_the_spectrum_still_finds_shifted_copies(real):
    x = real[0][:1000]
    pixels_only = audit.TrainingIndex(x, None)
    shifted = copies(x[:100], np.random.default_rng(1))["shifted right"]
    found, dist = pixels_only.nearest(shifted)
    assert (found == np.arange(100)).all() and dist.max() < 1e-6
    assert "no judge" in pixels_only.space


def test_summary_per_class_and_closest_pairs_picture(real, index):
    x, y, xt, yt = real
    cal = audit.calibrate(index, xt, yt, 10)
    samples = np.concatenate([x[:8], xt[:40]])  # 8 copies among 40 unseen images
    labels = np.concatenate([y[:8], yt[:40]])
    found, dist = index.nearest(samples)
    s = audit.summary(found, dist, cal, labels, data.CLASS_NAMES, closest=8)
    assert s["copy_fraction"] >= 8 / 48
    assert sorted(p["sample"] for p in s["closest"]) == list(range(8))
    assert set(s["per_class"]) == set(data.CLASS_NAMES)
    assert sum(c["n"] for c in s["per_class"].values()) == 48
    img = audit.closest_pairs_grid(samples, x, s["closest"], cols=4, scale=1)
    assert img.size == (4 * 30 + 2, 4 * 30 + 2)  # 2 pairs rows of 4: sample row, train row
    top = np.asarray(img)[2:30, 2:30]
    np.testing.assert_array_equal(top, samples[s["closest"][0]["sample"]])


@pytest.fixture(scope="module")
def small_dataset(tmp_path_factory):
    """500 real training images imported as a data set (20 % held out as its test split)."""
    root = tmp_path_factory.mktemp("audit-data")
    fmnist_folder(root / "src", 500)
    import_images(root / "src", root / "ds", resolution=28, channels=1, test_fraction=0.2,
                  progress=False, jobs=1, log=lambda line: None)
    return root / "ds"


def test_audit_command_on_copied_samples(tmp_path, small_dataset, monkeypatch, capsys):
    monkeypatch.setenv("FASHIONGAN_CACHE", str(tmp_path / "cache"))
    from fashiongan.data.store import open_dataset

    ds = open_dataset(small_dataset)
    (train, ytr), (test, yte) = ds.train(), ds.test()
    samples = np.concatenate([train[:20, 0], test[:20, 0]])
    npz = tmp_path / "samples.npz"
    np.savez(npz, images=samples, labels=np.concatenate([ytr[:20], yte[:20]]))
    assert main(["audit", str(npz), "--data", str(small_dataset), "--threads", "1",
                 "--closest", "4"]) == 0
    r = json.loads((tmp_path / "samples.audit.json").read_text())
    for key in ("copy_fraction", "expected_for_unseen_images", "calibration", "per_class",
                "closest", "n", "space", "median_distance"):
        assert key in r
    assert r["n"] == 40 and r["copy_fraction"] >= 0.5
    assert "no judge" in r["space"] and r["calibration"]["test_images"] == 100
    assert sum(c["n"] for c in r["per_class"].values()) == 40
    assert r["command"].startswith("fashiongan audit ")
    assert {p["sample"] for p in r["closest"]} <= set(range(20))
    assert Image.open(tmp_path / "samples.audit.png").size == (3 * (4 * 30 + 2), 3 * (2 * 30 + 2))
    # no target: the best shipped generator (here refused: not trained on this data set)
    assert main(["audit", "--n", "20", "--data", str(small_dataset)]) == 2
    assert "weights/generator-long.safetensors was trained on fashion-mnist" in \
        capsys.readouterr().err


@pytest.mark.parametrize("args,message", [
    (["{tmp}/none.npz"], "no such file"),
    (["{tmp}/bad.npz"], "'images' must be uint8 Nx28x28"),
    (["{tmp}/bad.npz", "--data", "{tmp}/nowhere"], "no such folder"),
    (["{tmp}/bad.npz", "--n", "0"], "--n must be >= 1"),
    (["{tmp}/bad.npz", "--json", "{tmp}/no/dir/a.json"], "does not exist"),
])
def test_audit_bad_inputs_are_one_line_errors(tmp_path, capsys, args, message):
    np.savez(tmp_path / "bad.npz", images=np.zeros((5, 32, 32), np.float32))
    assert main(["audit", *(a.format(tmp=tmp_path) for a in args)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


@pytest.mark.slow  # about 30 s: evaluate's scores, then a classifier trained on the export
def test_cas_of_an_export_trains_on_the_exported_folder(tmp_path):
    out = tmp_path / "exp"
    assert main(["export", "--n", "300", "--format", "png", "--out", str(out), "--no-audit",
                 "--no-progress", "--threads", "1"]) == 0
    assert main(["evaluate", str(out), "--cas", "--cas-epochs", "1", "--no-floor",
                 "--threads", "1", "--json", str(tmp_path / "e.json")]) == 0
    r = json.loads((tmp_path / "e.json").read_text())
    assert r["source"] == {"export": str(out)} and r["cas"]["train_images"] == 300
    assert 0.3 < r["cas"]["cas_accuracy"] <= 1  # 2 epochs of 300 good samples: far above 0.1
    assert r["cas"]["like_for_like"] is False
