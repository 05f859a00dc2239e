"""Fashion-MNIST through the metrics: the real-data reference and its cache, the scores on
degraded data, `fashiongan evaluate`, FID during training, CAS and the Inception path."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import safetensors.torch
import torch
import torch.nn.functional as F

from fashiongan import data
from fashiongan.data.resolve import fashion_mnist as fmnist_dataset
from fashiongan.metrics import cache as stats_cache
from fashiongan.metrics import cas, evaluator, inception, reference, report
from fashiongan.metrics.classes import class_report, collapse_warning
from fashiongan.metrics.features import classifier, extract
from fashiongan.metrics.fid import Moments, frechet_distance
from fashiongan.metrics.kid import kid
from fashiongan.metrics.prdc import prdc
from tests.support.cli import run_cli


@pytest.fixture(scope="module", autouse=True)
def cache(tmp_path_factory):
    """One fresh statistics cache for this module (and the CLI runs it starts). One torch
    thread: on a shared two-core machine two threads made these metrics 3x slower."""
    old, old_threads = os.environ.get("FASHIONGAN_CACHE"), torch.get_num_threads()
    path = tmp_path_factory.mktemp("fashiongan-cache")
    os.environ["FASHIONGAN_CACHE"] = str(path)
    torch.set_num_threads(1)
    yield path
    torch.set_num_threads(old_threads)
    if old is None:
        os.environ.pop("FASHIONGAN_CACHE", None)
    else:
        os.environ["FASHIONGAN_CACHE"] = old


@pytest.fixture(scope="module")
def fmnist():
    return fmnist_dataset()


def _evaluator_net():
    return classifier(*evaluator.load())


@pytest.fixture(scope="module")
def ref(cache, fmnist):
    return reference.reference(_evaluator_net(), fmnist, progress=False)


@pytest.fixture(scope="module")
def train_split():
    return data.load("train")


# --- reference statistics and their cache ------------------------------------------------------

def test_reference_is_cached_and_keyed(ref, cache, fmnist):
    files = list(cache.glob(f"reference-{ref.key}.npz"))
    assert len(files) == 1
    net, digest = evaluator.load()
    again = reference.reference(classifier(net, digest), fmnist)  # read back from the file
    assert torch.equal(again.features, ref.features) and torch.equal(again.mu, ref.mu)
    assert ref.features.shape == (10_000, net.feature_dim)
    assert ref.features.dtype == torch.float64
    ident = reference.identity(fmnist)
    data = [ident["pixels_sha256"], ident["split_sha256"]]
    keys = {stats_cache.cache_key(kind="reference", network=f"evaluator:{d}", k=[3, 5],
                                  dataset=f)
            for d, f in ((digest, data), ("0" * 64, data), (digest, ["1" * 64, "2" * 64]))}
    assert len(keys) == 3 and ref.key in keys
    files[0].write_bytes(b"damaged")  # a damaged entry is recomputed, not trusted
    fixed = reference.reference(classifier(net, digest), fmnist)
    assert torch.allclose(fixed.mu, ref.mu)


def test_a_new_protocol_version_never_reads_old_entries(ref, cache, monkeypatch, fmnist):
    """Bumping PROTOCOL_VERSION (a computation changed) must miss every cached entry."""
    monkeypatch.setattr(stats_cache, "PROTOCOL_VERSION", stats_cache.PROTOCOL_VERSION + 1)
    bumped = reference.reference(_evaluator_net(), fmnist)
    assert bumped.key != ref.key
    assert (cache / f"reference-{bumped.key}.npz").is_file()  # computed and stored anew
    assert (cache / f"reference-{ref.key}.npz").is_file()  # the old entry left alone
    assert torch.allclose(bumped.mu, ref.mu)  # same computation here, so the same values


def _blur(images: np.ndarray, sigma: float) -> np.ndarray:
    r = torch.arange(-3, 4, dtype=torch.float32)
    k = torch.exp(-r**2 / (2 * sigma**2))
    k = (k[:, None] * k[None, :] / k.sum() ** 2)[None, None]
    x = torch.from_numpy(images).float()[:, None]
    return F.conv2d(x, k, padding=3)[:, 0].round().clamp(0, 255).to(torch.uint8).numpy()


def _noise(images: np.ndarray, std: float) -> np.ndarray:
    g = torch.Generator().manual_seed(0)
    x = torch.from_numpy(images).float() + std * torch.randn(images.shape, generator=g)
    return x.round().clamp(0, 255).to(torch.uint8).numpy()


def test_degraded_sets_score_monotonically_worse(ref, train_split, fmnist):
    x, y = train_split
    real = x[reference.floor_index(fmnist, 1000)].numpy()
    one_class = x[y == 7][:1000].numpy()

    def judge(images):  # the protocol's metrics, KID on fewer subsets to keep this quick
        feats, classes = extract(images)
        out = prdc(ref.features, feats, real_radii=ref.radii)
        out["fid"] = frechet_distance(*Moments.of(feats).mean_cov(), ref.mu, ref.sigma)
        out["kid"] = kid(ref.features, feats, subsets=10, subset_size=500)[0]
        out["classes"] = class_report(classes, None, 10)
        return out

    base = judge(real)
    for family in ([_blur(real, 0.7), _blur(real, 1.5)], [_noise(real, 20), _noise(real, 60)]):
        worse = [judge(im) for im in family]
        assert base["fid"] < worse[0]["fid"] < worse[1]["fid"]
        assert base["kid"] < worse[0]["kid"] < worse[1]["kid"]
        assert base["precision"] > worse[1]["precision"]
    collapsed = judge(one_class)
    assert collapsed["fid"] > 10 * base["fid"] and collapsed["recall"] < base["recall"] / 2
    assert collapsed["coverage"] < base["coverage"] / 2
    assert base["classes"]["collapsed_classes"] == []
    assert len(collapsed["classes"]["collapsed_classes"]) >= 8
    assert collapse_warning(collapsed["classes"], data.CLASS_NAMES).startswith("mode collapse")


# --- the command line ----------------------------------------------------------------------------

def test_evaluate_npz_prints_table_and_json(tmp_path, train_split, ref, cache):
    x, y = train_split
    idx = torch.arange(1000) + 50_000
    npz = tmp_path / "real.npz"
    np.savez(npz, images=x[idx].numpy(), labels=y[idx].numpy())
    r = run_cli("evaluate", npz, "--threads", "1", env={"FASHIONGAN_CACHE": str(cache)})
    assert r.returncode == 0, r.stderr
    assert "FID (evaluator features)" in r.stdout and "real floor" in r.stdout
    out = json.loads((tmp_path / "real.evaluation.json").read_text())
    s, f = out["samples"], out["real_floor"]
    assert s["n"] == f["n"] == 1000 and out["evaluator_sha256"] == evaluator.WEIGHTS_SHA256
    assert s["fid"] < 3 * f["fid"] + 0.5  # real images score like the floor
    assert s["classes"]["accuracy"] > 0.93 and out["warnings"] == []
    assert set(report.METRICS) <= set(s) and "kid_std" in s


def test_evaluate_rejects_bad_input(tmp_path, cache):
    env = {"FASHIONGAN_CACHE": str(cache)}
    bad = tmp_path / "bad.npz"
    np.savez(bad, images=np.zeros((20, 28, 28), np.float32))
    r = run_cli("evaluate", bad, env=env)
    assert r.returncode == 2 and "must be uint8 Nx28x28" in r.stderr
    r = run_cli("evaluate", tmp_path / "missing.npz", env=env)
    assert r.returncode == 2 and "no such file" in r.stderr
    r = run_cli("evaluate", bad, "--inception-weights", tmp_path / "inception-2015-12-05.pt",
                env=env)
    assert r.returncode == 2 and inception.URL in r.stderr and "Traceback" not in r.stderr


def test_train_with_eval_every_then_evaluate_agree(tmp_path, cache, ref):
    env = {"FASHIONGAN_CACHE": str(cache)}
    run = tmp_path / "run"
    r = run_cli("train", "--preset", "article", "--out", run, "--no-progress",
                "--eval-every", "100", "--set", "iterations=200", "--set", "eval_samples=500",
                "--set", "threads=1", "--limit-data", "5000", env=env)
    assert r.returncode == 0, r.stderr
    rows = [json.loads(s) for s in (run / "metrics.jsonl").read_text().splitlines()]
    fids = {row["step"]: row["fid"] for row in rows if "fid" in row}
    assert sorted(fids) == [100, 200] and all(v > 0 for v in fids.values())
    best = json.loads((run / "snapshot-best" / "config.json").read_text())
    assert best["fid"] == min(fids.values()) and best["step"] in fids
    assert (run / "fid.png").stat().st_size > 1000 and (run / "losses.png").is_file()

    r = run_cli("evaluate", run, "--n", "500", "--no-floor", "--threads", "1", env=env)
    assert r.returncode == 0, r.stderr
    out = json.loads((run / "evaluation.json").read_text())
    # the same seeds through the same final weights: the number logged at the last step
    assert out["samples"]["fid"] == pytest.approx(fids[200], rel=1e-3)
    r = run_cli("evaluate", run, "--n", "20", "--cas", "--no-floor", env=env)
    assert r.returncode == 2 and "--cas needs class-conditional" in r.stderr


def test_eval_every_does_not_change_the_training(tmp_path, cache, ref):
    """Scoring during training draws its own seeds and only reads the EMA G: the run's weights
    are those of the same run without --eval-every, bit for bit (so curves over a run compare
    with runs made without them)."""
    env = {"FASHIONGAN_CACHE": str(cache)}
    weights = []
    for flags in (("--eval-every", "40"), ()):
        run = tmp_path / f"run{len(weights)}"
        r = run_cli("train", "--preset", "default", "--out", run, "--no-progress", *flags,
                    "--set", "iterations=80", "--set", "eval_samples=200", "--set",
                    "threads=1", "--limit-data", "2000", env=env)
        assert r.returncode == 0, r.stderr
        weights.append(safetensors.torch.load_file(run / "snapshot" / "generator.safetensors"))
    assert sorted(weights[0]) == sorted(weights[1])
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    fids = [json.loads(x) for x in (tmp_path / "run0" / "metrics.jsonl").read_text().splitlines()
            if '"fid"' in x]
    assert [f["step"] for f in fids] == [40, 80]


def test_evaluator_info_names_the_pin():
    r = run_cli("evaluator", "info")
    assert r.returncode == 0 and evaluator.WEIGHTS_SHA256 in r.stdout


# --- CAS and the Inception path ----------------------------------------------------------------

@pytest.mark.slow
def test_cas_learns_from_good_labels_not_from_shuffled_ones(train_split, fmnist):
    """Two short trainings and three passes over the test set (about a minute)."""
    x, y = train_split[0][:3000], train_split[1][:3000]
    quiet = dict(log=lambda s: None, max_steps=40, recipe=evaluator.Recipe(batch_size=64))
    good = cas.cas(fmnist, x, y, **quiet)
    shuffled = cas.cas(fmnist, x,
                       y[torch.randperm(3000, generator=torch.Generator().manual_seed(0))],
                       **quiet)
    assert good["cas_accuracy"] > 0.6 > 0.25 > shuffled["cas_accuracy"]
    assert good["test_images"] == 10_000
    real, _ = evaluator.load()  # the baseline CAS is read beside
    assert evaluator.accuracy(real, *cas.labelled_split(fmnist, "test")) >= 0.93


def test_inception_path_with_a_stand_in_torchscript(tmp_path, cache, fmnist):
    """The real file cannot be downloaded here; a TorchScript with its calling convention
    checks what we hand it (uint8, 3 channels, native size) and the FID plumbing."""

    class StandIn(torch.nn.Module):
        def forward(self, img: torch.Tensor, return_features: bool = False) -> torch.Tensor:
            assert img.dtype == torch.uint8 and img.shape[1] == 3 and return_features
            x = img.float()
            return torch.cat([x.mean((2, 3)), x.std((2, 3)), x[:, :, 10:18, 10:18].mean((2, 3))],
                             1)

    path = tmp_path / "inception-2015-12-05.pt"
    torch.jit.save(torch.jit.script(StandIn()), str(path))
    model = inception.load(path)
    test, _ = data.load("test")
    net = inception.feature_net(inception.nvlabs_network(model, path))

    def scored(images):
        return report.evaluate(net, fmnist, images, floor=False, progress=False)["samples"]

    same, other = scored(test.numpy()), scored(_blur(test[:2000].numpy(), 1.5))
    assert same["fid"] == pytest.approx(0.0, abs=1e-6) and other["fid"] > 1.0
    (tmp_path / "junk.pt").write_bytes(b"not torchscript")
    with pytest.raises(evaluator.UserError, match="not a TorchScript"):
        inception.load(tmp_path / "junk.pt")
