"""The benchmarks' run reuse (benchmarks/quality.py `train`, which small_data.py and ablation.py
share): a finished run is reused whatever --threads computes it, and a finished run of another
command is refused, never overwritten by the train command's --overwrite."""

from __future__ import annotations

import json

import pytest

from benchmarks.quality import same_run, train


def _record(run_dir, cmd):
    run_dir.mkdir()
    (run_dir / "quality-run.json").write_text(json.dumps(
        {"command": cmd, "step": 70000, "images_seen": 1, "wall_s": 7130.0}))


def _cmd(run_dir, threads, iterations):
    return ["fashiongan", "train", "--preset", "default", "--out", str(run_dir), "--overwrite",
            "--no-progress", "--limit-data", "2000", "--set", f"threads={threads}",
            "--data-dir", str(run_dir / "no-data"), "--set", f"iterations={iterations}"]


def test_same_run_ignores_threads_only():
    a = ["train", "--set", "threads=1", "--set", "iterations=5"]
    assert same_run(a, ["train", "--set", "threads=2", "--set", "iterations=5"])
    assert same_run(a, ["train", "--set", "iterations=5"])
    assert not same_run(a, ["train", "--set", "threads=1", "--set", "iterations=6"])
    assert not same_run(["train", "--out", "threads=1"], ["train", "--out", "x"])


def test_a_finished_run_is_reused_at_other_threads_and_refused_for_another_command(tmp_path):
    run_dir = tmp_path / "n2000-none"
    _record(run_dir, _cmd(run_dir, 1, 70000))
    before = (run_dir / "quality-run.json").read_bytes()
    no_data = str(run_dir / "no-data")  # a training started by mistake fails at once on it
    cmd, info = train("default", run_dir, 0, 2, ["iterations=70000"], False, no_data,
                      flags=("--limit-data", "2000"))
    assert cmd == _cmd(run_dir, 1, 70000) and info["wall_s"] == 7130.0
    refused = r"(?s)another command.*iterations=80000\n--retrain replaces it"
    with pytest.raises(SystemExit, match=refused):
        train("default", run_dir, 0, 1, ["iterations=80000"], False, no_data,
              flags=("--limit-data", "2000"))
    assert (run_dir / "quality-run.json").read_bytes() == before
