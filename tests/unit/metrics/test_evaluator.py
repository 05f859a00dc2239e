"""The shipped evaluator: pinned, small, accurate, and retrained from its recipe to the same
weights (the pin guards every reported number)."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from fashiongan import data
from fashiongan.metrics import evaluator


@pytest.fixture(scope="module")
def train_split():
    return data.load("train")


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


