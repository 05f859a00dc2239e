"""Two CPU processes with gloo, launched by torchrun, on the real data (marked slow)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from fashiongan import presets
from fashiongan.training import states
from tests.support.cli import run_cli
from tests.support.dist_worker import equiv_step, fixed_batch

pytestmark = pytest.mark.slow
WORKER = Path(__file__).parents[1] / "support" / "dist_worker.py"


def torchrun(out, mode):
    r = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                        "--nproc_per_node=2", str(WORKER), str(out), mode],
                       capture_output=True, text=True, timeout=600,
                       cwd=Path(__file__).parents[2])
    assert r.returncode == 0, r.stderr[-3000:]
    return [torch.load(out / f"rank{i}.pt", weights_only=True) for i in range(2)]


def test_ranks_stay_identical_and_see_different_batches(tmp_path):
    r0, r1 = torchrun(tmp_path, "steps")
    p0, p1 = r0["params"], r1["params"]
    assert len(p0) == 20 and all(torch.equal(p0[k], p1[k]) for k in p0)
    # the weights moved, so the comparison is not of two untouched inits
    torch.manual_seed(presets.resolve("article").schedule.seed)
    from fashiongan.models import build_generator
    init = dict(build_generator(presets.resolve("article")).named_parameters())
    assert not torch.equal(p0["G.net.0.weight"], init["net.0.weight"])
    # per-rank BatchNorm (the article's): running statistics follow each rank's own batches
    assert not torch.equal(r0["G_buffers"]["net.2.running_mean"],
                           r1["G_buffers"]["net.2.running_mean"])
    # disjoint batches at every step, and each rank its own noise
    for a, b in zip(r0["seen"], r1["seen"], strict=True):
        assert not set(a.tolist()) & set(b.tolist())
    assert not torch.equal(r0["noise"], r1["noise"])


def test_two_ranks_of_b_equal_one_rank_of_2b(tmp_path):
    r0, r1 = torchrun(tmp_path, "equiv")
    cfg = presets.resolve("article", ["batch_size=16"])
    real, z = fixed_batch(cfg, 32)
    single = equiv_step(cfg, real, z, ddp=False)
    torch.manual_seed(cfg.schedule.seed)
    from fashiongan.models import build_discriminator
    init = build_discriminator(cfg).state_dict()
    for k in single:
        assert torch.allclose(r0["D"][k], single[k], atol=1e-6, rtol=1e-5), k
        assert torch.equal(r0["D"][k], r1["D"][k])
    assert any(not torch.allclose(single[k], init[k]) for k in single)  # the step did move


def test_cli_nproc_2_one_run_folder_fid_shared_and_resume(tmp_path):
    """One run folder for both ranks; FID during training has each rank embed half the samples
    and equals one process scoring them all; a resume goes on from the saved state."""
    args = ["--limit-data", 3000, "--no-progress", "--set", "log_interval=20",
            "--set", "checkpoint_interval=20", "--set", "sample_interval=20"]
    r = run_cli("train", "--nproc", 2, "--set", "iterations=40", "--eval-every", 40,
                "--set", "eval_samples=600", *args, cwd=tmp_path, fresh=True)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "x 2 rank(s): batch 32 per rank, global batch 64" in r.stdout
    runs = list((tmp_path / "runs").iterdir())
    assert [p.name for p in runs] == ["default-000"]  # one folder, picked by rank 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs"]
    run = runs[0]
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    logs, fids = [r for r in rows if "fid" not in r], [r for r in rows if "fid" in r]
    assert [r["step"] for r in logs] == [10, 20, 30, 40]  # written once, by rank 0
    assert [f["step"] for f in fids] == [40]
    assert logs[-1]["images_seen"] == 40 * 64
    r = run_cli("evaluate", run / "snapshot-best", "--n", 600, "--no-floor",
                "--json", tmp_path / "e.json", fresh=True)
    assert r.returncode == 0, r.stderr[-3000:]
    single = json.loads((tmp_path / "e.json").read_text())["samples"]
    # float32 features summed in another order: equal to ~1e-4 (half the samples would be far off)
    assert single["fid"] == pytest.approx(fids[0]["fid"], rel=1e-3)
    r = run_cli("train", "--nproc", 2, "--resume", run, "--set", "iterations=60", *args,
                cwd=tmp_path, fresh=True)
    assert r.returncode == 0, r.stderr[-3000:]
    state = states.load_state(run / "checkpoints")
    assert state["step"] == 60 and state["world_size"] == 2
    assert state["images_seen"] == 60 * 64


def _launch(out, cwd, resume=False):
    where = ["--resume", str(out)] if resume else ["--out", str(out), "--limit-data", "2000"]
    return subprocess.Popen(
        [sys.executable, "-m", "fashiongan", "train", "--nproc", "2", *where,
         "--no-progress", "--set", "iterations=100000",
         "--set", "log_interval=20", "--set", "checkpoint_interval=40"],
        cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True)


def _wait_steps(out, n, timeout=240):
    deadline = time.time() + timeout
    while time.time() < deadline:
        m = out / "metrics.jsonl"
        if m.exists() and len(m.read_text().splitlines()) >= n:
            return
        time.sleep(0.2)
    raise AssertionError("the run did not start")


def _rank_pids(out):
    ps = subprocess.run(["ps", "-eww", "-o", "pid,args"], capture_output=True, text=True).stdout
    return [int(line.split()[0]) for line in ps.splitlines()
            if "-m fashiongan train" in line and str(out) in line and "--nproc" not in line
            and "distributed.run" not in line]


def test_a_crashed_rank_stops_all_the_run_resumes_and_ctrl_c_stops_both(tmp_path):
    """One rank killed: both stop and the last state is good, meaning a run goes on from it;
    that resumed run stopped by Ctrl-C stops both ranks with a saved state."""
    out = tmp_path / "run"
    p = _launch(out, tmp_path)
    _wait_steps(out, 5)  # past the first checkpoint at 40
    pids = _rank_pids(out)
    assert len(pids) == 2
    os.kill(max(pids), signal.SIGKILL)  # one rank dies
    _, err = p.communicate(timeout=180)
    assert p.returncode != 0
    assert _rank_pids(out) == []
    crashed = states.load_state(out / "checkpoints")  # verified by its checksum
    assert crashed["step"] >= 40 and crashed["step"] % 40 == 0
    lines = len((out / "metrics.jsonl").read_text().splitlines())

    p = _launch(out, tmp_path, resume=True)
    _wait_steps(out, lines + 2)  # both ranks resumed and logged past the crash
    assert len(_rank_pids(out)) == 2
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    logged = max(r.get("step", 0) for r in rows)
    assert logged > crashed["step"]
    os.killpg(p.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130, err[-2000:]
    assert "training state saved to" in err
    assert _rank_pids(out) == []  # no orphaned rank
    state = states.load_state(out / "checkpoints")
    # an agreed iteration, none of the logged ones lost
    assert logged <= state["step"] < 100000 and state["step"] % 20 == 0
    assert state["world_size"] == 2 and state["train_images"] == 2000


def test_cli_nproc_2_on_a_colour_folder(tmp_path):
    """--nproc with --data FOLDER: the folder is imported once (not by every rank at the same
    time into the same cache entry), both ranks train on it, rank 0 writes colour grids."""
    from PIL import Image

    from tests.support.datasets import tinted_folder

    tinted_folder(tmp_path / "photos", 200, size=32)
    env = {"FASHIONGAN_CACHE": str(tmp_path / "cache")}
    r = run_cli("train", "--nproc", 2, "--data", tmp_path / "photos", "--resolution", 32,
                "--out", tmp_path / "run", "--no-progress", "--set", "iterations=10",
                "--set", "log_interval=10", cwd=tmp_path, env=env, fresh=True)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.count("importing ") == 1, r.stdout
    assert "x 2 rank(s): batch 32 per rank, global batch 64" in r.stdout
    assert len(list((tmp_path / "cache" / "datasets").iterdir())) == 1
    grid = Image.open(tmp_path / "run" / "samples" / "grid-final.png")
    assert grid.mode == "RGB"
    info = json.loads((tmp_path / "run" / "data.json").read_text())["info"]
    assert (info["resolution"], info["channels"]) == (32, 3)
    assert states.load_state(tmp_path / "run" / "checkpoints")["world_size"] == 2
