"""Augmentation inside real training runs: ADA's p is training state (resume stays bit for bit),
it rises when D memorises a tiny data set, and DiffAugment trains a colour data set."""

from __future__ import annotations

import json

import torch

from fashiongan import snapshot
from fashiongan.training.loop import training_loop
from tests.support.runs import straight_and_resumed, tiny_dcgan
from tests.unit.training.test_train_colour import colour_fmnist


def _cfg(**kw):
    return tiny_dcgan(**{"augment": "ada", "ada_kimg": 1.0, "ada_interval": 2, **kw})


def test_ada_resume_is_bit_identical_and_p_is_logged(tmp_path):
    a, b, rows = straight_and_resumed(_cfg(), tmp_path)
    assert all(torch.equal(a["G"][k], b["G"][k]) for k in a["G"])
    assert a["augment"] == b["augment"] and 0 < a["augment"]["p"] <= 1
    assert [r["step"] for r in rows] == [10, 20, 30, 40]
    # 64 images are memorised at once: r_t is above the target and p climbs every adjustment
    assert all(r["aug_rt"] > 0.6 for r in rows[1:])
    assert rows[0]["aug_p"] < rows[-1]["aug_p"] == a["augment"]["p"]


def test_no_augmentation_has_no_p(tmp_path):
    training_loop(_cfg(augment="none", iterations=10), tmp_path / "run", progress=False,
                  max_train_images=64)
    row = json.loads((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()[-1])
    assert "aug_p" not in row


def test_diffaugment_trains_a_colour_data_set(tmp_path):
    ds = colour_fmnist(128, 32, labelled=False)
    cfg = _cfg(augment="diffaugment", iterations=10, checkpoint_interval=10, g_width=32)
    summary = training_loop(cfg, tmp_path / "run", progress=False, dataset=ds)
    assert summary["step"] == 10
    assert snapshot.load_generator(tmp_path / "run").dataset.channels == 3
