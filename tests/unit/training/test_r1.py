"""R1's adaptive weight: gamma follows D's loss by the stated step, stays within its span, is
training state (a resumed run moves it identically), and rises in a real run where D wins."""

from __future__ import annotations

import json

import pytest
import torch

from fashiongan import config, presets
from fashiongan.errors import UserError
from fashiongan.training.loop import training_loop
from fashiongan.training.r1 import SPAN, R1Weight
from tests.support.runs import straight_and_resumed, tiny_dcgan


def _feed(w: R1Weight, losses, n=8):
    seen = []
    for x in losses:
        w.observe(torch.tensor(x), n)
        seen.append(w.gamma)
    return seen


def test_gamma_moves_by_images_over_kimg_towards_the_target():
    w = R1Weight(0.1, target=1.5, kimg=0.08, interval=2)  # 16 images per move: 0.2 decades
    seen = _feed(w, [0.5, 1.0, 3.0, 2.5, 1.4, 1.7])
    # means 0.75 (below: D wins, gamma up), 2.75 (above: down), 1.55 (above: down)
    assert seen == pytest.approx([0.1, 0.1 * 10 ** 0.2, 0.1 * 10 ** 0.2, 0.1, 0.1,
                                  0.1 * 10 ** -0.2], rel=1e-12)
    assert w.metrics() == {"r1_gamma": pytest.approx(0.1 * 10 ** -0.2)}


def test_gamma_stays_within_its_span_and_a_fixed_gamma_never_moves():
    w = R1Weight(0.02, target=1.0, kimg=0.001, interval=1)  # 8 decades per move, clamped
    assert _feed(w, [0.0])[-1] == pytest.approx(0.02 * 10 ** SPAN)
    assert _feed(w, [5.0, 5.0])[-1] == pytest.approx(0.02 * 10 ** -SPAN)
    fixed = R1Weight(0.02)
    assert _feed(fixed, [0.0] * 5) == [0.02] * 5 and fixed.metrics() == {}


def test_a_resumed_controller_moves_gamma_exactly_as_one_that_ran_through():
    losses = [1.93, 0.31, 1.77, 2.01, 0.52, 1.99, 1.6, 0.9, 1.2]
    straight = R1Weight(0.02, target=1.8, kimg=0.05, interval=4)
    want = _feed(straight, losses)
    first = R1Weight(0.02, target=1.8, kimg=0.05, interval=4)
    _feed(first, losses[:6])  # stops mid-window: two losses summed, not yet used
    state = json.loads(json.dumps(first.state_dict()))  # what a checkpoint keeps
    again = R1Weight(0.02, target=1.8, kimg=0.05, interval=4)
    again.load_state_dict(state)
    assert want[6:] == _feed(again, losses[6:])
    assert straight.state_dict() == again.state_dict()


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="starting r1_gamma"):
        R1Weight(0.0, target=1.8)
    with pytest.raises(ValueError, match="r1: kimg must be > 0"):
        R1Weight(0.1, target=1.8, kimg=0)
    base = presets.resolve("dcgan").to_dict()
    with pytest.raises(UserError, match="r1_target adapts R1's weight from r1_gamma"):
        config.from_dict({**base, "r1_gamma": 0.0, "r1_target": 1.8})
    with pytest.raises(UserError, match="r1_kimg must be > 0"):
        config.from_dict({**base, "r1_gamma": 0.1, "r1_kimg": 0})


def _cfg(**kw):
    return tiny_dcgan(**{"loss": "hinge", "r1_gamma": 0.01, "r1_interval": 2,
                         "r1_target": 1.95, "r1_kimg": 0.5, **kw})


def test_gamma_follows_d_loss_both_ways_in_a_real_run_and_resumes_bit_identical(tmp_path):
    a, b, rows = straight_and_resumed(_cfg(), tmp_path)
    assert all(torch.equal(a["D"][k], b["D"][k]) for k in a["D"])
    assert a["r1"] == b["r1"]
    # D starts at a hinge loss of ~2, above the target, so gamma falls; it then learns the
    # 64 images (its loss falls below 1.95) and gamma climbs again; 32 images (0.064 decades)
    # per move
    losses, gammas = [r["d_loss"] for r in rows], [r["r1_gamma"] for r in rows]
    assert losses[0] > 1.95 > losses[-1]
    assert gammas[1] < gammas[0] < 0.01 and gammas[-1] > gammas[-2]
    assert gammas[-1] == pytest.approx(0.01 * 10 ** a["r1"]["shift"])
    fixed = _cfg(r1_target=0.0, iterations=10)
    training_loop(fixed, tmp_path / "fixed", progress=False, max_train_images=64)
    row = json.loads((tmp_path / "fixed" / "metrics.jsonl").read_text().splitlines()[-1])
    assert "r1_gamma" not in row
