"""A run resumes on the data it started on, and a data set edited after import is refused by
every command that reads it (#32), through the real CLI."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from tests.support.cli import run_cli
from tests.support.datasets import fmnist_folder
from tests.support.workspace import listing

TINY = ("--preset", "article", "--set", "batch_size=8", "--set", "g_width=16", "--set",
        "d_width=32", "--set", "checkpoint_interval=1", "--no-progress")


def one_line_refusal(r, expect: str) -> None:
    err = r.stderr.strip().splitlines()
    assert r.returncode == 2, r.stderr[-2000:]
    assert "Traceback" not in r.stderr + r.stdout
    assert len(err) == 1 and err[0].startswith("fashiongan: error: "), r.stderr
    assert expect in err[0], err[0]


@pytest.fixture(scope="module")
def ws(tmp_path_factory, data_dir):
    """60 Fashion-MNIST garments imported as a data set (and unlabelled), a run on it."""
    ws = tmp_path_factory.mktemp("integrity")
    fmnist_folder(ws / "photos", 60)
    for name, labels in (("ds", "subfolders"), ("ds-unlabelled", "none")):
        r = run_cli("data", "import", ws / "photos", "--out", ws / name, "--resolution", "28",
                    "--channels", "1", "--labels", labels, "--no-progress",
                    "--test-fraction", "0.4")
        assert r.returncode == 0, r.stderr
    r = run_cli("train", "--data", ws / "ds", "--out", ws / "run", "--set", "iterations=2",
                *TINY)
    assert r.returncode == 0, r.stderr
    return ws


def _gone(run, ws):
    (run / "data.json").unlink()


def _garbage(run, ws):
    (run / "data.json").write_text("{not json")


def _path_not_text(run, ws):
    (run / "data.json").write_text('{"path": 5, "info": {}}')


def _data_set_deleted(run, ws):
    shutil.copytree(ws / "ds", ws / "ds-moved")
    record = json.loads((run / "data.json").read_text())
    (run / "data.json").write_text(json.dumps({**record, "path": str(ws / "ds-gone")}))


def _other_data_set(run, ws):
    record = json.loads((run / "data.json").read_text())
    (run / "data.json").write_text(json.dumps({**record, "path": str(ws / "ds-unlabelled")}))


@pytest.mark.parametrize("damage, expect", [
    (_gone, "data.json: missing; the run trained on photos (1x28x28, 10 classes)"),
    (_garbage, "data.json: unreadable"),
    (_path_not_text, "data.json: unreadable (path must be a string or null"),
    (_data_set_deleted, "ds-gone is gone"),
    (_other_data_set, "the run trained on photos (1x28x28, 10 classes)"),
], ids=lambda v: v.__name__.strip("_") if callable(v) else None)
def test_resume_trains_on_the_data_it_started_on_or_refuses(ws, tmp_path, damage, expect):
    """Once, each of these continued on Fashion-MNIST without a word."""
    run = shutil.copytree(ws / "run", tmp_path / "run")
    damage(run, ws)
    before = listing(run)
    r = run_cli("train", "--resume", run, "--set", "iterations=4", "--no-progress")
    one_line_refusal(r, expect)
    assert listing(run) == before


def test_resume_still_continues_on_its_data_set_and_an_old_fashion_mnist_run(ws, tmp_path):
    run = shutil.copytree(ws / "run", tmp_path / "run")
    r = run_cli("train", "--resume", run, "--set", "iterations=3", "--no-progress")
    assert r.returncode == 0, r.stderr
    assert json.loads((run / "data.json").read_text())["path"] == str((ws / "ds").resolve())
    fm = tmp_path / "fm"
    r = run_cli("train", "--out", fm, "--set", "iterations=2", "--limit-data", "64", *TINY)
    assert r.returncode == 0, r.stderr
    assert json.loads((fm / "data.json").read_text())["path"] is None
    (fm / "data.json").unlink()  # as a run from before data.json was written for it
    r = run_cli("train", "--resume", fm, "--set", "iterations=3", "--no-progress",
                "--limit-data", "64")
    assert r.returncode == 0, r.stderr


def _edit_pixels(ds):
    """One pixel changed in place: same size, same name, new content."""
    with open(ds / "pixels.npy", "r+b") as f:
        f.seek(-5, 2)
        byte = f.read(1)
        f.seek(-5, 2)
        f.write(bytes([byte[0] ^ 0xFF]))


@pytest.mark.parametrize("command", [
    ("train", "--data", "{ds}", "--out", "{tmp}/new", "--set", "iterations=2", *TINY),
    ("train", "--resume", "{run}", "--set", "iterations=4", "--no-progress"),
    ("evaluator", "train", "--data", "{ds}", "--out", "{tmp}/judge.safetensors"),
    ("audit", "{tmp}/s.npz", "--data", "{ds}", "--json", "{tmp}/a.json"),
    ("evaluate", "{tmp}/s.npz", "--data", "{ds}", "--json", "{tmp}/e.json", "--no-floor"),
], ids=lambda c: "-".join(c[:2]))
def test_an_edited_data_set_is_refused_by_every_reader(ws, tmp_path, command):
    """`data info` caught it; now everything that reads the data set does, at the cost of a
    size check and a digest remembered by the file's size, times and inode."""
    ds = shutil.copytree(ws / "ds", tmp_path / "ds")
    run = shutil.copytree(ws / "run", tmp_path / "run")
    record = json.loads((run / "data.json").read_text())
    (run / "data.json").write_text(json.dumps({**record, "path": str(ds)}))
    np.savez(tmp_path / "s.npz", images=np.zeros((20, 28, 28), np.uint8))
    r = run_cli("data", "info", ds)  # a first reading remembers the digest ...
    assert r.returncode == 0, r.stderr
    _edit_pixels(ds)  # ... which an edit must not pass
    before = listing(tmp_path)
    argv = [a.format(ds=ds, run=run, tmp=tmp_path) for a in command]
    r = run_cli(*argv, cwd=tmp_path, timeout=300)
    one_line_refusal(r, f"{ds / 'pixels.npy'}: SHA-256")
    assert listing(tmp_path) == before
