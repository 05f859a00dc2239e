"""`fashiongan data grow`: labels kept, the real/synthetic marks, the copy fraction in the
manifest, the result training like any data set, and bad input as one line."""

from __future__ import annotations

import numpy as np
import pytest

from fashiongan.cli import main
from fashiongan.data.importer import import_images
from fashiongan.data.resolve import fashion_mnist
from fashiongan.data.store import TEST, TRAIN, open_dataset, read_manifest
from fashiongan.errors import UserError
from fashiongan.export import grow
from fashiongan.snapshot import shipped_generator
from tests.support.datasets import fmnist_folder

TINY = ["--set", "iterations=2", "--set", "g_width=8", "--set", "d_width=8",
        "--set", "batch_size=8", "--set", "threads=1", "--no-progress"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A 28-px grey labelled data set of 200 Fashion-MNIST images (20 % test), and an
    unlabelled one."""
    root = tmp_path_factory.mktemp("grow")
    fmnist_folder(root / "src", 200)
    quiet = {"resolution": 28, "channels": 1, "test_fraction": 0.2, "progress": False,
             "jobs": 1, "log": lambda line: None}
    import_images(root / "src", root / "ds", **quiet)
    import_images(root / "src", root / "plain", labels="none", **quiet)
    return root


@pytest.fixture(scope="module")
def grown(tiny):
    """`data grow` of tiny's first 3 per class + 4 synthetic per class, generator trained."""
    out, run = tiny / "grown", tiny / "run"
    code = main(["data", "grow", str(tiny / "ds"), "--out", str(out), "--per-class", "3",
                 "--synthetic", "4", "--run-dir", str(run), "--time-budget", "30", *TINY])
    assert code == 0
    return out, run


def test_real_images_and_labels_kept_synthetic_marked_and_audited(tiny, grown):
    out, _ = grown
    src, ds = open_dataset(tiny / "ds"), open_dataset(out, verify=True)
    m = read_manifest(out)
    k = ds.info.num_classes
    assert ds.info.class_names == src.info.class_names
    origin = grow.read_origin(out)
    assert m["origin"]["file"] == "origin.npy" and "origin.npy" in m["files"]
    assert m["origin"]["values"] == {"0": "real", "1": "synthetic"}
    assert m["origin"]["synthetic"] == int(origin.sum()) == 4 * k
    # the real training images: the source's first 3 of each class, pixels and labels as they were
    keep = grow.first_per_class(src, 3)
    real = (origin == grow.REAL) & (ds.split == TRAIN)
    assert np.array_equal(ds.pixels[real], src.pixels[keep])
    assert np.array_equal(ds.labels[real], src.labels[keep])
    assert np.bincount(ds.labels[real], minlength=k).tolist() == [3] * k
    # the synthetic ones: training split, 4 of each class
    syn = origin == grow.SYNTHETIC
    assert (ds.split[syn] == TRAIN).all()
    assert np.bincount(ds.labels[syn], minlength=k).tolist() == [4] * k
    # the test split: the source's, real
    assert np.array_equal(ds.pixels[ds.split == TEST], src.pixels[src.test_index])
    assert (origin[ds.split == TEST] == grow.REAL).all()
    g = m["growth"]
    assert 0 <= g["audit"]["copy_fraction"] <= 1
    assert g["generator_training"]["small_data_switch"] == "ada"  # 30 images < 2,500
    assert g["real_train_images"] == 3 * k and g["synthetic_per_class"] == 4


def test_the_grown_set_trains_and_judges_like_any_data_set(tiny, grown, capsys):
    out, _ = grown
    assert main(["train", "--data", str(out), "--out", str(tiny / "train2"), *TINY]) == 0
    assert "finished at iteration 2" in capsys.readouterr().out
    judge = tiny / "judge.safetensors"  # and a judge trains on it, tested on its real test split
    assert main(["evaluator", "train", "--data", str(out), "--epochs", "1", "--out",
                 str(judge)]) == 0
    assert judge.is_file() and "test accuracy" in capsys.readouterr().out


def test_an_existing_generator_and_a_ratio(tiny, grown):
    _, run = grown
    out = tiny / "again"
    assert main(["data", "grow", str(tiny / "ds"), "--out", str(out), "--per-class", "2",
                 "--ratio", "1.5", "--generator", str(run), "--no-audit",
                 "--no-progress"]) == 0
    m = read_manifest(out)
    k = len(m["class_names"])
    assert m["origin"]["synthetic"] == 3 * k  # 1.5 x 2 per class
    assert m["growth"]["generator_training"] is None
    assert m["growth"]["audit"] == {"skipped": "--no-audit"}


def test_fashion_mnist_with_the_shipped_generator_and_the_judges_filter(tmp_path):
    out = tmp_path / "fm"
    assert main(["data", "grow", "--out", str(out), "--per-class", "2", "--synthetic", "2",
                 "--generator", str(shipped_generator()), "--filter", "min_confidence=0.5",
                 "--no-audit", "--no-progress", "--threads", "1"]) == 0
    ds, fm = open_dataset(out), fashion_mnist()
    origin = grow.read_origin(out)
    real = (origin == grow.REAL) & (ds.split == TRAIN)
    assert np.array_equal(ds.labels[real], fm.labels[grow.first_per_class(fm, 2)])
    assert len(ds.test_index) == 10_000
    assert read_manifest(out)["growth"]["min_confidence"] == 0.5


@pytest.mark.parametrize("args, message", [
    (["--per-class", "-1"], "--per-class must be >= 1"),
    (["--per-class", "1000"], "too few training images in"),
    (["--synthetic", "-1"], "--synthetic must be >= 0"),
    (["--synthetic", "2", "--ratio", "1"], "give one"),
    (["--ratio", "nan"], "--ratio must be a number >= 0"),
    (["--generator", "nowhere", "--time-budget", "5"], "nothing is trained"),
    (["--filter", "min_confidence=2"], "must be a probability"),
])
def test_bad_arguments_are_one_line(tiny, tmp_path, capsys, args, message):
    code = main(["data", "grow", str(tiny / "ds"), "--out", str(tmp_path / "o"),
                 "--run-dir", str(tmp_path / "r"), *args, *TINY])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1, err
    assert not (tmp_path / "o").exists() and not (tmp_path / "r").exists()


def test_an_unlabelled_data_set_is_one_line(tiny, tmp_path, capsys):
    code = main(["data", "grow", str(tiny / "plain"), "--out", str(tmp_path / "o"),
                 "--per-class", "2", *TINY])
    err = capsys.readouterr().err
    assert code == 2 and "unlabelled" in err and err.count("\n") == 1, err


def test_first_per_class_keeps_the_data_sets_order():
    fm = fashion_mnist()
    idx = grow.first_per_class(fm, 5)
    assert len(idx) == 50 and (np.diff(idx) > 0).all() and (idx < 60_000).all()
    y = fm.labels[:idx[-1] + 1]
    for c in range(10):  # the first 5 of each class, nothing skipped before the last kept
        assert list(idx[fm.labels[idx] == c]) == list(np.flatnonzero(y == c)[:5])
    with pytest.raises(UserError, match="must be >= 0"):
        grow.synthetic_per_class(grow.subset(fm, 1), -3, None)
