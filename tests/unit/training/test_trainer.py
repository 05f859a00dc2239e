"""The Trainer alone: run(n) is the same whatever the chunking, its state resumes bit-for-bit,
a NaN stops it before its counters move, and stop() ends a run after the iteration."""

import pytest
import torch

from fashiongan import presets
from fashiongan.training import NonFiniteLoss, Trainer
from fashiongan.training.trainer import training_data


@pytest.fixture(autouse=True)
def one_thread():
    """Bit-exact comparisons on one thread (conftest's _keep_torch_threads gives the worker its
    own count back after each test)."""
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def fmnist():
    images, labels, info = training_data()
    return images[:512], labels[:512], info


def _trainer(fmnist, preset="default", **changes):
    cfg = presets.resolve(preset, [f"{k}={v}" for k, v in changes.items()])
    return Trainer(cfg, *fmnist, torch.device("cpu"))


def _weights(tr):
    return {f"{name}.{k}": v.clone() for name, m in (("G", tr.G), ("D", tr.D),
                                                    ("E", tr.sample_model))
            for k, v in m.state_dict().items()}


def _assert_same(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_chunking_and_resume_are_bit_exact(fmnist):
    whole = _trainer(fmnist)
    assert whole.run(6) == 6
    chunks = _trainer(fmnist)
    for n in (1, 2, 3):
        chunks.run(n)
    assert (chunks.step, chunks.images_seen) == (whole.step, whole.images_seen) == (6, 6 * 32)
    _assert_same(_weights(whole), _weights(chunks))
    assert whole.take_stats() == chunks.take_stats()

    first = _trainer(fmnist)
    first.run(3)
    state = first.state_dict()
    resumed = _trainer(fmnist)
    resumed.run(2)  # other weights, moments, counters and RNG: all must come from the state
    torch.manual_seed(99)
    resumed.load_state_dict(state)
    resumed.run(3)
    _assert_same(_weights(whole), _weights(resumed))
    # and the control: a fresh trainer of another seed is not the same
    other = _trainer(fmnist, seed=7)
    other.run(6)
    assert not torch.equal(_weights(other)["G.fc.weight"], _weights(whole)["G.fc.weight"])


def test_stats_are_the_means_of_the_steps(fmnist):
    tr = _trainer(fmnist, preset="article")
    tr.run(4)
    s = tr.take_stats()
    assert set(s) == {"d_loss", "g_loss", "acc_real", "acc_fake"}
    assert 0 < s["d_loss"] < 5 and 0 <= s["acc_real"] <= 1
    # every accuracy is a mean of per-iteration fractions of 32 images
    assert round(s["acc_fake"] * 32 * 4, 4) == int(round(s["acc_fake"] * 32 * 4))
    assert tr.take_stats()["d_loss"] == 0.0  # taken: the sums start again


def test_non_finite_loss_stops_before_the_counters_move(fmnist):
    tr = _trainer(fmnist, preset="article")
    tr.run(2)
    with torch.no_grad():
        next(tr.D.parameters()).fill_(float("nan"))
    with pytest.raises(NonFiniteLoss) as e:
        tr.run(5)
    assert e.value.step == 2 and (tr.step, tr.images_seen) == (2, 64)


def test_stop_ends_after_the_iteration(fmnist):
    tr = _trainer(fmnist, preset="article")
    calls = []
    assert tr.run(10, stop=lambda: tr.step >= 3, on_step=lambda: calls.append(tr.step)) == 3
    assert calls == [1, 2, 3] and tr.step == 3


def test_num_classes_must_fit_the_data(fmnist):
    with pytest.raises(Exception, match="num_classes must be 0"):
        _trainer(fmnist, num_classes=3)
