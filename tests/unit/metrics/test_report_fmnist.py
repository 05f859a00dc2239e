"""The shipped evaluator, the real-data reference and its cache, the scores on degraded data,
`fashiongan evaluate` / `evaluator`, FID during training, CAS and the Inception path."""

from __future__ import annotations

import json
import os
import subprocess
import sys

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


# --- the evaluator -----------------------------------------------------------------------------

def test_shipped_evaluator_is_pinned_small_and_reaches_93_percent():
    path = evaluator.shipped_path()
    assert path.stat().st_size <= 2 * 1024 * 1024
    assert evaluator.sha256_file(path) == evaluator.WEIGHTS_SHA256
    record = evaluator.read_record()
    assert record["sha256"] == evaluator.WEIGHTS_SHA256 and record["recipe"]["seed"] == 0
    net, _ = evaluator.load()
    x, y = data.load("test")
    acc = evaluator.accuracy(net, x, y)
    assert acc >= 0.93
    assert acc == pytest.approx(record["test_accuracy"], abs=5e-4)  # batch-size rounding


def test_a_changed_weights_file_is_refused(tmp_path, monkeypatch):
    bad = tmp_path / "evaluator.safetensors"
    bad.write_bytes(evaluator.shipped_path().read_bytes()[:-1] + b" ")
    monkeypatch.setattr(evaluator, "shipped_path", lambda: bad)
    with pytest.raises(evaluator.UserError, match="differs from the pinned"):
        evaluator.load()


def test_evaluator_training_is_deterministic(train_split):
    x, y = train_split[0][:2000], train_split[1][:2000]
    recipe = evaluator.Recipe(batch_size=64)
    a = evaluator.train(x, y, recipe, max_steps=6, log=lambda s: None).state_dict()
    b = evaluator.train(x, y, recipe, max_steps=6, log=lambda s: None).state_dict()
    c = evaluator.train(x, y, evaluator.Recipe(batch_size=64, seed=1), max_steps=6,
                        log=lambda s: None).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


# The reduced recipe below, trained with torch 2.13.0: its test accuracy and each weight tensor's
# L2 norm, per CPU model ("vendor family model" from /proc/cpuinfo), since the float kernels
# differ between them: the same code gave 0.7665 on an Intel Xeon, 0.7725 on one AMD EPYC and
# 0.769 on another (family 25 model 17), every time on each. The first two were keyed by vendor
# only, so their family/model is not known: they count for the 1% rule below, not as exact pins.
# Not a SHA-256 of the file: on the Xeon two fresh processes gave weights that differ in the
# last bits (kernel choice follows memory alignment; MKL_CBWR did not pin it), while the norms
# agree to 1e-7. A 1% change of the learning rate moves them by 1e-4 and more.
REDUCED_PINS = {
    "GenuineIntel ? ?": (0.7665, [
        3.249361, 5.626301, 0.042126, 0.063207, 2.858632, 4.753011, 7.956575, 0.031784, 3.053748,
        2.563811, 4.844428, 8.02198, 0.038414, 4.007234, 2.862347, 7.333516, 0.122452, 2.70123,
        0.154366]),
    "AuthenticAMD ? ?": (0.7725, [
        3.250109, 5.626289, 0.043413, 0.063293, 2.855522, 4.751574, 7.956578, 0.031642, 3.035825,
        2.557626, 4.843225, 8.023883, 0.038451, 3.973944, 2.869456, 7.332994, 0.122954, 2.704831,
        0.155131]),
    "AuthenticAMD 25 17": (0.769, [
        3.24915, 5.6263, 0.0419083, 0.0631784, 2.85915, 4.7528, 7.95657, 0.0321219, 3.0471,
        2.56864, 4.84424, 8.0229, 0.0386665, 4.0297, 2.84236, 7.33453, 0.122583, 2.7033,
        0.154664]),
}


def cpu_model() -> str:
    """"vendor_id cpu-family model" from /proc/cpuinfo: the float kernels torch picks follow
    the CPU."""
    try:
        with open("/proc/cpuinfo") as f:
            text = f.read()
    except OSError:
        return "unknown"
    fields = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    return " ".join(fields.get(k, "?") for k in ("vendor_id", "cpu family", "model"))


REDUCED = """
from fashiongan import data
from fashiongan.metrics import evaluator
x, y = data.load("train")
net = evaluator.train(x[:6000], y[:6000], evaluator.Recipe(epochs=1), log=lambda s: None)
xt, yt = data.load("test")
print(evaluator.accuracy(net, xt[:2000], yt[:2000]))
print(*[float(v.double().norm()) for v in net.state_dict().values() if v.is_floating_point()])
"""


def test_a_reduced_recipe_trains_to_its_pinned_weights():
    """The full retrain's guarantee (same code, same weights) in ~15 s: one epoch on 6,000
    images, in a fresh process as `evaluator train` runs."""
    r = subprocess.run([sys.executable, "-c", REDUCED], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    acc, norms = r.stdout.splitlines()
    norms = [float(v) for v in norms.split()]
    pin = REDUCED_PINS.get(cpu_model())
    if pin is None:  # a CPU without a pin: the pins agree to ~1%, so hold it to that
        assert any(float(acc) == pytest.approx(a, abs=0.01) for a, _ in REDUCED_PINS.values())
        assert any(norms == pytest.approx(n, rel=0.03) for _, n in REDUCED_PINS.values())
        return
    assert float(acc) == pytest.approx(pin[0], abs=0.002)  # it learnt, and the same amount
    assert norms == pytest.approx(pin[1], rel=1e-5)  # the pins hold 6 digits


@pytest.mark.slow
def test_evaluator_retrains_to_93_percent(tmp_path):
    """The full recipe (about 20 minutes on two busy cores), run only when the training code
    differs from the code that trained the shipped weights (their record holds its hash)."""
    shipped = evaluator.read_record().get("code_sha256")
    if shipped == evaluator.training_code_sha256():
        pytest.skip("evaluator training code unchanged since the shipped weights were trained "
                    f"(code sha256 {shipped[:12]}); the reduced-recipe pin covers it")
    record = evaluator.train_and_save(tmp_path / "e.safetensors", log=lambda s: None)
    assert record["test_accuracy"] >= 0.93


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
