"""benchmarks/colour.py train end to end, tiny: a CPU budget of a few seconds on real photos
(Fashion-MNIST garments tinted per class, 64 px), a mark on the way, ADA's strength recorded."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest
import torch

from fashiongan import snapshot
from tests.support.cli import run_cli
from tests.support.datasets import tinted_folder


def imported(tmp_path, n: int):
    """A data set of n real garments tinted per class, imported at 64 px."""
    tinted_folder(tmp_path / "photos", n, size=64)
    ds = tmp_path / "ds"
    r = run_cli("data", "import", tmp_path / "photos", "--out", ds, "--resolution", "64",
                "--no-progress")
    assert r.returncode == 0, r.stderr
    return ds


def test_train_stops_at_its_cpu_budget_and_writes_its_marks(tmp_path, capsys):
    from benchmarks import colour

    ds = imported(tmp_path, 64)
    run = tmp_path / "run"
    argv = ["train", str(run), "--data", str(ds), "--cpu-budget", "4", "--marks", "1.5", "9",
            "--block", "2", "--set", "batch_size=8", "--set", "augment=ada",
            "--set", "ada_p=0.5", "--set", "ada_interval=1", "--set", "ada_kimg=0.1"]
    threads = torch.get_num_threads()
    try:
        colour.main(argv)
        end = json.loads((run / "colour-run.json").read_text())
        mark = json.loads((run / "at-1.5" / "colour-run.json").read_text())
        assert 4 <= end["cpu_s"] < 30 and 1.5 <= mark["cpu_s"] < end["cpu_s"]
        assert mark["mark"] == 1.5 and not (run / "at-9").exists()  # past the budget: none
        assert 0 < mark["step"] < end["step"] and end["step"] % 2 == 0
        assert end["images_seen"] == 8 * end["step"]
        # ADA moved p away from its start (an interval of one iteration, 100 images to 1)
        assert 0 <= end["augment_p"] <= 1 and end["augment_p"] != 0.5
        assert end["config"]["augment"] == "ada"
        g = snapshot.load_generator(run / "snapshot")
        assert (g.resolution, g.channels) == (64, 3)
        pixels = np.load(ds / "pixels.npy")  # [N, 3, 64, 64]
        corners = np.concatenate([pixels[..., :4, :4], pixels[..., :4, -4:],
                                  pixels[..., -4:, :4], pixels[..., -4:, -4:]], -1)
        real_min = corners.reshape(len(pixels), -1).mean(1).min()
        for below, share in ((0, 0.0), (256, 1.0)):
            out = colour.background(argparse.Namespace(run=str(run), data=str(ds), n=12,
                                                       below=below))
            assert out["samples_share"] == share and out["n"] == 12
            assert out["real_min"] == pytest.approx(real_min)
        capsys.readouterr()
        colour.main(argv)  # the same command again: the finished run is left as it is
        assert json.loads(capsys.readouterr().out)["time"] == end["time"]
    finally:
        torch.set_num_threads(threads)  # the benchmark sets its own count


def test_also_ema_keeps_the_average_a_run_of_that_half_life_would_have(tmp_path, capsys):
    """--also-ema K beside the preset's own half-life: at the same K it is the run's own
    sample model bit for bit (made and updated as the trainer's is); at another K the same
    weights averaged otherwise."""
    from benchmarks import colour

    ds = imported(tmp_path, 32)
    run = tmp_path / "run"
    threads = torch.get_num_threads()
    try:
        colour.main(["train", str(run), "--data", str(ds), "--cpu-budget", "3", "--block", "2",
                     "--set", "batch_size=8", "--set", "ema_rampup=0",
                     "--set", "ema_halflife_kimg=5", "--also-ema", "5", "0.05"])
    finally:
        torch.set_num_threads(threads)
    capsys.readouterr()
    own = snapshot.load_generator(run / "snapshot").state_dict()
    same = snapshot.load_generator(run / "snapshot-ema5").state_dict()
    other = snapshot.load_generator(run / "snapshot-ema0.05").state_dict()
    assert own.keys() == same.keys() == other.keys()
    assert all(torch.equal(own[k], same[k]) for k in own)
    weights = [k for k in own if own[k].is_floating_point() and "running" not in k]
    assert any(not torch.equal(own[k], other[k]) for k in weights)
