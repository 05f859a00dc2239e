"""Kill real training runs (SIGKILL between and during checkpoints), damage checkpoints, inject
NaNs: the run must finish bit-identical to an uninterrupted one, or stop with a clear message."""

import json
import signal
import subprocess
import sys
import time

import pytest
import torch

from fashiongan.training import states
from fashiongan.training.loop import NonFiniteError, training_loop
from fashiongan.training.step import GANStep
from tests.support.cli import run_cli

ARGS = ["--preset", "article", "--no-progress", "--limit-data", "2000", "--set",
        "iterations=300", "--set", "checkpoint_interval=100", "--set", "log_interval=50",
        "--set", "sample_interval=100", "--set", "threads=1"]

# Runs the CLI with torch.save slowed down at the step-200 checkpoint: half the bytes reach the
# temp file, then it waits to be killed -- a crash in the middle of writing a checkpoint.
SLOW_SAVE = """
import io, pathlib, sys, time, torch
orig = torch.save
def slow(obj, f, *a, **k):
    if isinstance(obj, dict) and obj.get("step") == 200:
        buf = io.BytesIO(); orig(obj, buf)
        with open(f, "wb") as fh:
            fh.write(buf.getvalue()[: len(buf.getvalue()) // 2]); fh.flush()
        pathlib.Path(sys.argv[1]).write_text("writing")
        time.sleep(600)
    return orig(obj, f, *a, **k)
torch.save = slow
from fashiongan.cli import main
sys.exit(main(sys.argv[2:]))
"""

# Runs the CLI and holds it once the Trainer has run iteration 150 (a mark file says so): the
# kill then lands at a known point, mid-interval between the checkpoints at 100 and 200.
HOLD_AT_150 = """
import pathlib, sys, time
from fashiongan.training import Trainer
orig = Trainer.run
def run(self, n, **kw):
    done = orig(self, n, **kw)
    if self.step == 150:
        pathlib.Path(sys.argv[1]).write_text("at 150")
        time.sleep(600)
    return done
Trainer.run = run
from fashiongan.cli import main
sys.exit(main(sys.argv[2:]))
"""


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    out = tmp_path_factory.mktemp("straight") / "run"
    r = run_cli("train", "--out", out, *ARGS)
    assert r.returncode == 0, r.stderr
    return states.load_state(out / "checkpoints")


def _wait(cond, timeout=180):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.1)
    raise AssertionError("timed out waiting")


def _steps(out):
    m = out / "metrics.jsonl"
    return [json.loads(x)["step"] for x in m.read_text().splitlines()] if m.exists() else []


def _same_g(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _resume_and_compare(out, straight):
    r = run_cli("train", "--resume", "latest", "--out", out, "--no-progress",
                "--limit-data", "2000")
    assert r.returncode == 0, r.stderr
    final = states.load_state(out / "checkpoints")
    assert final["step"] == 300
    assert _same_g(final["G"], straight["G"]) and _same_g(final["D"], straight["D"])
    return r


@pytest.mark.slow
def test_sigkill_mid_interval_then_resume_is_bit_identical(tmp_path, straight):
    out, mark = tmp_path / "run", tmp_path / "at-150"
    p = subprocess.Popen([sys.executable, "-c", HOLD_AT_150, str(mark), "train", "--out",
                          str(out), *ARGS], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait(mark.exists)
    p.send_signal(signal.SIGKILL)
    p.wait()
    found = states.list_states(out / "checkpoints")
    assert [s.name for s in found] == ["state-00000100.pt"]  # mid-interval: 100 < step < 200
    _resume_and_compare(out, straight)


@pytest.mark.slow
def test_sigkill_while_writing_a_checkpoint(tmp_path, straight):
    out, mark = tmp_path / "run", tmp_path / "writing"
    p = subprocess.Popen([sys.executable, "-c", SLOW_SAVE, str(mark), "train", "--out",
                          str(out), *ARGS], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait(mark.exists)
    p.send_signal(signal.SIGKILL)
    p.wait()
    ck = out / "checkpoints"
    assert [s.name for s in states.list_states(ck)] == ["state-00000100.pt"]
    assert any(f.name.startswith(".state-00000200.pt.") for f in ck.iterdir())  # the half file
    _resume_and_compare(out, straight)


def test_damaged_latest_state_falls_back_with_a_warning(tmp_path, tiny_cfg, data_dir):
    out = tmp_path / "run"
    training_loop(tiny_cfg(iterations=200), out, progress=False, max_train_images=2000)
    ck = out / "checkpoints"
    good, bad = states.list_states(ck)
    data = bytearray(bad.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte: still a loadable zip, wrong numbers
    bad.write_bytes(bytes(data))
    with pytest.warns(UserWarning) as w:
        assert states.latest_state(ck) == good
    msg = str(w[0].message)
    assert bad.name in msg and good.name in msg and "checksum" in msg
    # a state whose sidecar never got written (killed between the two writes) is skipped too
    bad.with_suffix(".json").unlink()
    with pytest.warns(UserWarning, match="sidecar"):
        assert states.latest_state(ck) == good
    r = run_cli("train", "--resume", out, "--no-progress", "--limit-data", 2000,
                "--set", "iterations=210")
    assert r.returncode == 0, r.stderr
    assert f"{bad.name}: no readable checksum sidecar" in r.stderr
    assert "Traceback" not in r.stderr
    assert states.load_state(ck)["step"] == 210


def _poison_after(monkeypatch, calls, every=False):
    """Make G's weights NaN right after the `calls`-th iteration (every: and after each one
    from then on, so that no rollback can help)."""
    orig, count = GANStep.__call__, [0]

    def poisoned(self, real, y=None):
        out = orig(self, real, y)
        count[0] += 1
        if count[0] == calls or (every and count[0] > calls):
            with torch.no_grad():
                next(self.G.parameters()).fill_(float("nan"))
        return out

    monkeypatch.setattr(GANStep, "__call__", poisoned)


def test_nan_stops_within_one_iteration_naming_step_and_checkpoint(tmp_path, tiny_cfg,
                                                                  monkeypatch, data_dir):
    _poison_after(monkeypatch, 130)
    with pytest.raises(NonFiniteError) as e:
        training_loop(tiny_cfg(), tmp_path / "run", progress=False, max_train_images=2000)
    assert "non-finite loss at iteration 130" in str(e.value)
    assert str(tmp_path / "run" / "checkpoints" / "state-00000100.pt") in str(e.value)
    # nothing non-finite was saved, and the metrics stop before the fault
    assert states.load_state(tmp_path / "run" / "checkpoints")["step"] == 100
    assert max(_steps(tmp_path / "run")) <= 130


def test_nan_rollback_reloads_and_lowers_the_learning_rate(tmp_path, tiny_cfg, monkeypatch,
                                                           data_dir):
    _poison_after(monkeypatch, 130)
    s = training_loop(tiny_cfg(on_nan="rollback"), tmp_path / "run", progress=False,
                      max_train_images=2000)
    assert s["status"] == "finished" and s["step"] == 200 and s["rollbacks"] == 1
    state = states.load_state(tmp_path / "run" / "checkpoints")
    assert all(torch.isfinite(v).all() for v in state["G"].values())
    assert [g["lr"] for g in state["opt_g"]["param_groups"]] == [1e-4]  # 2e-4 halved
    assert [g["lr"] for g in state["opt_d"]["param_groups"]] == [1e-4]  # D's too (d_lr 0: lr)
    steps = _steps(tmp_path / "run")
    assert steps == sorted(steps) and steps[-1] == 200  # no duplicated lines after rollback


def test_rollbacks_stop_at_max_rollbacks(tmp_path, tiny_cfg, monkeypatch, capsys, data_dir):
    """A NaN that comes back after every rollback: max_rollbacks reloads, each at half the
    learning rates, then a clear stop instead of an endless loop."""
    _poison_after(monkeypatch, 130, every=True)
    with pytest.raises(NonFiniteError, match="last good training state: .*state-00000100.pt"):
        training_loop(tiny_cfg(on_nan="rollback", max_rollbacks=2), tmp_path / "run",
                      progress=False, max_train_images=2000)
    cap = capsys.readouterr()
    out = cap.out + cap.err
    rolled = [line for line in out.splitlines() if "rolled back to iteration 100" in line]
    assert len(rolled) == 2 and "x0.5" in rolled[0] and "x0.25" in rolled[1], out
