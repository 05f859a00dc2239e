"""What a careless or hostile user must not be able to do: destroy a run by resuming it, change a
config key that is then silently ignored, ship NaN weights, hide results behind 0600 files, or
have two trainings write into one folder."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import stat
import subprocess
import sys

import pytest
import torch

from fashiongan.fileio import atomic_write_bytes
from fashiongan.training import commands, states
from fashiongan.training import rundir as runs
from fashiongan.training.ema import EMA
from fashiongan.training.loop import NonFiniteError, training_loop
from fashiongan.training.plots import read_jsonl
from tests.support.cli import run_cli
from tests.support.workspace import listing

QUICK = ("--no-progress", "--limit-data", "2000")


@pytest.fixture
def run(tmp_path, tiny_cfg, data_dir):
    """A finished 200-iteration article run with states at 100 and 200."""
    out = tmp_path / "run"
    training_loop(tiny_cfg(iterations=200), out, progress=False, max_train_images=2000)
    return out


def _g(state_file):
    return states.load_state(state_file)["G"]


def test_branching_resume_never_touches_the_source_and_continues_bit_for_bit(run, tmp_path):
    before = listing(run)
    new = tmp_path / "branch"
    r = run_cli("train", "--resume", run / "checkpoints" / "state-00000100.pt", "--out", new,
                *QUICK)
    assert r.returncode == 0, r.stderr
    assert listing(run) == before  # not a byte of the original changed
    assert [p.name for p in states.list_states(new / "checkpoints")][-1] \
        == "state-00000200.pt"
    a, b = _g(new / "checkpoints" / "state-00000200.pt"), _g(run / "checkpoints" /
                                                           "state-00000200.pt")
    assert all(torch.equal(a[k], b[k]) for k in a)  # the branch replays the same iterations
    assert (new / "snapshot" / "generator.safetensors").is_file()
    # the branch's own command line, from the iteration it started at (the source had none)
    sessions = json.loads((new / commands.COMMANDS_JSON).read_text())["sessions"]
    assert sessions == [{"command": shlex.join(["fashiongan", *map(str, r.args[1:])]),
                         "from_iteration": 100}]


def test_in_place_resume_from_an_older_state_needs_overwrite_and_then_drops_the_later(run):
    old = run / "checkpoints" / "state-00000100.pt"
    r = run_cli("train", "--resume", old, "--set", "iterations=150", *QUICK)
    assert r.returncode == 2 and "state-00000200.pt" in r.stderr and "--overwrite" in r.stderr
    assert states.latest_state(run / "checkpoints").name == "state-00000200.pt"
    r = run_cli("train", "--resume", old, "--set", "iterations=150", "--overwrite", *QUICK)
    assert r.returncode == 0, r.stderr
    names = [p.name for p in states.list_states(run / "checkpoints")]
    assert names == ["state-00000100.pt", "state-00000150.pt"]  # no stale 200 to resume into
    assert commands.recorded_commands(run) == [shlex.join(["fashiongan", *map(str, r.args[1:])])]


def test_overwrite_replaces_the_previous_run_instead_of_mixing_with_it(run):
    """A fresh 50-iteration run over a finished 200-iteration one with --overwrite: the old states
    (which outrank the new ones and would have the new ones pruned), metrics and snapshot go; the
    user's own file in the folder stays."""
    (run / "notes.txt").write_text("mine")
    (run / "snapshot-best").mkdir()  # as --eval-every leaves it
    r = run_cli("train", "--preset", "article", "--out", run, "--overwrite", "--set",
                "iterations=50", "--set", "checkpoint_interval=25", "--set", "threads=1",
                "--set", "log_interval=25", *QUICK)
    assert r.returncode == 0, r.stderr
    assert "removed the previous run's checkpoints/" in r.stdout
    names = [p.name for p in states.list_states(run / "checkpoints")]
    assert names == ["state-00000025.pt", "state-00000050.pt"]
    assert max(rec["step"] for rec in read_jsonl(run / "metrics.jsonl")) == 50
    assert json.loads((run / "snapshot" / "config.json").read_text())["step"] == 50
    assert not (run / "snapshot-best").exists()
    assert (run / "notes.txt").read_text() == "mine"


def test_overwrite_leaves_a_folder_that_holds_no_run_alone(tmp_path):
    (tmp_path / "samples").mkdir()
    (tmp_path / "config.json").write_text("{}")  # e.g. a project's own, not a run's
    assert runs.clear_previous_run(tmp_path) == []
    assert (tmp_path / "config.json").read_text() == "{}" and (tmp_path / "samples").is_dir()
    (tmp_path / "checkpoints").mkdir()
    assert runs.clear_previous_run(tmp_path) == ["checkpoints/", "samples/", "config.json"]
    assert list(tmp_path.iterdir()) == []


def test_a_branch_with_overwrite_into_another_run_replaces_it(run, tmp_path):
    """--resume X --out OTHER --overwrite, OTHER holding a finished run: OTHER's later state
    (200) must not outrank the branch's last (150)."""
    other = tmp_path / "other"
    shutil.copytree(run, other)
    r = run_cli("train", "--resume", run / "checkpoints" / "state-00000100.pt", "--out", other,
                "--overwrite", "--set", "iterations=150", *QUICK)
    assert r.returncode == 0, r.stderr
    names = [p.name for p in states.list_states(other / "checkpoints")]
    assert names == ["state-00000100.pt", "state-00000150.pt"]
    assert max(rec["step"] for rec in read_jsonl(other / "metrics.jsonl")) == 150


def test_set_on_resume_is_applied_not_only_recorded(run, tmp_path):
    """lr on resume changes the optimiser and hence the weights; the same resume without it
    reproduces the original run exactly (the negative control)."""
    plain, faster = tmp_path / "plain", tmp_path / "faster"
    src = run / "checkpoints" / "state-00000100.pt"
    assert run_cli("train", "--resume", src, "--out", plain, *QUICK).returncode == 0
    r = run_cli("train", "--resume", src, "--out", faster, "--set", "lr=0.001", "--set",
                "beta1=0.3", *QUICK)
    assert r.returncode == 0, r.stderr
    state = states.load_state(faster / "checkpoints" / "state-00000200.pt")
    group = state["opt_g"]["param_groups"][0]
    assert group["lr"] == 0.001 and group["betas"][0] == 0.3
    assert state["opt_d"]["param_groups"][0]["lr"] == 0.001  # d_lr 0: the same as lr
    a, b = _g(plain / "checkpoints" / "state-00000200.pt"), state["G"]
    ref = _g(run / "checkpoints" / "state-00000200.pt")
    assert all(torch.equal(a[k], ref[k]) for k in a)
    assert not all(torch.equal(b[k], ref[k]) for k in b)


def test_non_finite_ema_weights_are_never_saved(tmp_path, tiny_cfg, data_dir, monkeypatch):
    """The end-of-run check covers the EMA copy, which is what the snapshot holds."""
    real_update = EMA.update

    def poisoned(self, *a, **k):
        real_update(self, *a, **k)
        with torch.no_grad():
            next(self.model.parameters()).fill_(float("nan"))

    monkeypatch.setattr(EMA, "update", poisoned)
    cfg = tiny_cfg(model="dcgan", g_width=8, d_width=8, iterations=20, checkpoint_interval=10,
                   sample_interval=10, log_interval=10, ema_halflife_kimg=1.0,
                   fused_step=False, d_split_steps=False, d_fakes_eval_mode=False,
                   loss="non_saturating")
    with pytest.raises(NonFiniteError, match="non-finite weights"):
        training_loop(cfg, tmp_path / "run", progress=False, max_train_images=500)
    assert not (tmp_path / "run" / "snapshot").exists()


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_written_files_get_the_mode_plain_open_gives(tmp_path, umask, mode):
    code = ("import os, sys; os.umask(int(sys.argv[2], 8)); "
            "from fashiongan.fileio import atomic_write_bytes; "
            "atomic_write_bytes(sys.argv[1], b'x')")
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "f"), oct(umask)], check=True)
    assert _mode(tmp_path / "f") == mode


def test_overwriting_keeps_the_existing_files_mode(tmp_path):
    f = tmp_path / "results.json"
    f.write_text("{}")
    os.chmod(f, 0o640)
    atomic_write_bytes(f, b"[]")
    assert _mode(f) == 0o640 and f.read_bytes() == b"[]"


def test_run_folder_files_are_readable_by_others(run):
    for name in ("config.json", "metrics.jsonl", "snapshot/generator.safetensors",
                 "samples/grid-final.png", "checkpoints/state-00000200.pt"):
        assert _mode(run / name) & 0o044 == 0o044, name  # the test runs under umask 022


def test_a_second_training_into_a_held_folder_is_refused(tmp_path, data_dir):
    out = tmp_path / "busy"
    out.mkdir()
    with runs.hold(out):
        r = run_cli("train", "--preset", "article", "--out", out, "--set", "iterations=2",
                    *QUICK)
    assert r.returncode == 2, r.stderr
    assert "another fashiongan training is writing into this folder" in r.stderr
    assert list(out.iterdir()) == []


def test_a_failure_before_the_first_state_leaves_the_users_empty_folder_empty(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    r = run_cli("train", "--preset", "cdcgan", "--set", "num_classes=3", "--out", out, *QUICK)
    assert r.returncode == 2 and "num_classes" in r.stderr
    assert out.is_dir() and list(out.iterdir()) == []
    shutil.rmtree(out)
