"""The best preset's candidate knobs (README "Better clothes"): class-balanced batches, lazy R1
and learning-rate warm-up, each on real Fashion-MNIST images and each checked against its own
definition, with the plain setting as the control that the check would catch."""

import pytest
import torch

from fashiongan import presets
from fashiongan.data.info import DatasetInfo
from fashiongan.data.sampler import BatchSampler
from fashiongan.errors import UserError
from fashiongan.training.trainer import training_data

from .test_trainer import _assert_same, _trainer, _weights


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def fmnist():
    images, labels, info = training_data()
    return images[:600], labels[:600], info


def _worst_batch_imbalance(sampler, labels, steps) -> float:
    """Largest gap between a class's count in a batch and its expected count."""
    share = torch.bincount(labels, minlength=10).double() / len(labels)
    gaps = [(torch.bincount(labels[sampler(s)], minlength=10) - share * sampler.bs).abs().max()
            for s in range(steps)]
    return float(max(gaps))


def test_balanced_batches_hold_every_class_in_proportion(fmnist):
    _, labels, _ = fmnist  # the first 600 training labels: 51-69 per class, not equal
    assert len(set(torch.bincount(labels).tolist())) > 1
    per_epoch = 600 // 30
    bal = BatchSampler(600, 30, 0, "balanced", torch.device("cpu"), labels=labels)
    epoch = BatchSampler(600, 30, 0, "epoch", torch.device("cpu"))
    # spread by class: every class within 2 of its expected count in every batch (30 images,
    # about 3 of each); plain shuffling misses by far more in some batch of three epochs
    assert _worst_batch_imbalance(bal, labels, 3 * per_epoch) < 2
    assert _worst_batch_imbalance(epoch, labels, 3 * per_epoch) >= 3
    # still an epoch: every image exactly once, a new order each epoch, a pure function of step
    first = torch.cat([bal(s) for s in range(per_epoch)])
    assert torch.equal(first.sort().values, torch.arange(600))
    second = torch.cat([bal(s) for s in range(per_epoch, 2 * per_epoch)])
    assert not torch.equal(first, second)
    fresh = BatchSampler(600, 30, 0, "balanced", torch.device("cpu"), labels=labels)
    assert torch.equal(fresh(per_epoch + 3), bal(per_epoch + 3))


def test_balanced_fake_labels_cycle_the_classes(fmnist):
    counts = []
    for mode in ("balanced", "epoch"):
        gan = _trainer(fmnist, batch_sampling=mode).gan
        gan.noise.manual_seed(0)
        counts.append(torch.stack([torch.bincount(gan._z_y(32)[1], minlength=10)
                                   for _ in range(20)]))
    balanced, random = counts
    assert set(balanced.flatten().tolist()) <= {3, 4}  # 32 labels: 3 or 4 of each class
    assert random.max() - random.min() > 4


def test_balanced_needs_classes():
    with pytest.raises(UserError, match="class-conditional"):
        presets.resolve("dcgan", ["batch_sampling=balanced"])
    # the default preset balances; on an unlabelled catalogue it falls back to plain epochs
    # (and becomes unconditional), unless the user asks for balance there
    unlabelled = DatasetInfo(32, 3, (), "photos")
    assert presets.resolve("default").schedule.batch_sampling == "balanced"
    cfg = presets.resolve("default", info=unlabelled)
    assert (cfg.schedule.batch_sampling, cfg.model.num_classes, cfg.model.arch) == (
        "epoch",
        0,
        "dcgan",
    )
    with pytest.raises(UserError, match="class-conditional"):
        presets.resolve("default", ["batch_sampling=balanced"], info=unlabelled)
    assert presets.resolve("default", ["num_classes=0"]).schedule.batch_sampling == "epoch"


def test_lazy_r1_is_r1_times_the_interval_on_its_iterations(fmnist):
    """r1_interval 4: iteration 0 is R1 at 4 gamma, iteration 1 is no R1 at all."""

    def d_after_one_step(iteration, **changes):
        tr = _trainer(fmnist, loss="hinge", **changes)
        tr.gan.iteration = iteration
        real = tr.images[:32].float().div(127.5).sub(1.0)
        tr.gan.noise.manual_seed(5)
        tr.gan.d_update(real, tr.labels[:32])
        return {k: v.clone() for k, v in tr.D.state_dict().items()}

    lazy_on = d_after_one_step(0, r1_gamma=0.5, r1_interval=4)
    lazy_off = d_after_one_step(1, r1_gamma=0.5, r1_interval=4)
    _assert_same(lazy_on, d_after_one_step(0, r1_gamma=2.0, r1_interval=1))
    _assert_same(lazy_off, d_after_one_step(0, r1_gamma=0.0))
    assert not all(torch.equal(lazy_on[k], lazy_off[k]) for k in lazy_on)  # R1 moves D


def test_warmup_ramps_the_learning_rates_and_resumes_bit_exact(fmnist):
    tr = _trainer(fmnist, lr_warmup_kimg=0.32)  # 320 images: 10 iterations of 32
    used = []
    tr.run(
        12,
        on_step=lambda: used.append(
            (tr.gan.opt_g.param_groups[0]["lr"], tr.gan.opt_d.param_groups[0]["lr"])
        ),
    )
    ramp = [min(1.0, (i + 1) / 10) for i in range(12)]
    assert used == [pytest.approx((2e-4 * f, 4e-4 * f), rel=1e-12) for f in ramp]
    assert used[9] == (2e-4, 4e-4)  # the ramp ends on the full rates, exactly

    first = _trainer(fmnist, lr_warmup_kimg=0.32)
    first.run(4)
    resumed = _trainer(fmnist, lr_warmup_kimg=0.32)
    resumed.load_state_dict(first.state_dict())
    resumed.run(8)
    _assert_same(_weights(tr), _weights(resumed))
    plain = _trainer(fmnist, lr_warmup_kimg=0)
    plain.run(12)
    assert not torch.equal(_weights(plain)["G.fc.weight"], _weights(tr)["G.fc.weight"])


def test_mode_seeking_pairs_each_class_with_other_noise_in_g_step(fmnist):
    seen = []
    for weight in (0.0, 1.0):
        tr = _trainer(fmnist, mode_seeking=weight)
        forward = tr.G.forward
        tr.G.forward = lambda z, y=None, f=forward: (seen.append((z, y)), f(z, y))[1]
        tr.gan.noise.manual_seed(3)
        tr.gan.g_update(32)
    (z0, y0), (z1, y1) = seen
    assert torch.equal(z0, z1) and torch.equal(y0[:16], y1[:16])
    assert torch.equal(y1[16:], y1[:16]) and not torch.equal(y0[16:], y0[:16])
    assert not torch.equal(z1[16:], z1[:16])
