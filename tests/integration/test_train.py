import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from fashiongan import load_generator
from fashiongan.data.sampler import BatchSampler
from fashiongan.training import states
from fashiongan.training.loop import training_loop
from tests.support.cli import run_cli


def test_cli_short_run_writes_and_reads_back_every_file(tmp_path, data_dir):
    out = tmp_path / "run"
    r = run_cli("train", "--preset", "article", "--out", out, "--no-progress",
                "--limit-data", 3000, "--set", "iterations=300", "--set", "log_interval=100",
                "--set", "sample_interval=100", "--set", "checkpoint_interval=100",
                "--set", "keep_checkpoints=2")
    assert r.returncode == 0, r.stderr
    # the article's loss lines, one per log interval
    assert [ln.split()[0] for ln in r.stdout.splitlines() if "[D loss:" in ln] \
        == ["100", "200", "300"]
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["iterations"] == 300 and cfg["model"] == "article"
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == list(range(50, 301, 50))
    assert all(np.isfinite(r["d_loss"]) and 0 <= r["acc_real"] <= 1 for r in rows)
    assert rows[-1]["images_seen"] == 300 * 32
    grids = sorted(p.name for p in (out / "samples").iterdir())
    assert grids == ["grid-00000100.png", "grid-00000200.png", "grid-00000300.png",
                     "grid-final.png"]
    im = Image.open(out / "samples" / "grid-final.png")
    assert im.size == (3 * (10 * 30 + 2), 3 * (5 * 30 + 2)) and im.mode == "L"  # x3
    assert np.asarray(im).std() > 10  # not a blank picture
    assert Image.open(out / "losses.png").size[0] > 300
    kept = states.list_states(out / "checkpoints")
    assert [p.name for p in kept] == ["state-00000200.pt", "state-00000300.pt"]  # keep 2
    state = states.load_state(kept[-1])
    assert state["step"] == 300 and set(state) >= {"G", "D", "opt_g", "opt_d", "rng"}
    g = load_generator(out)
    snap = load_file(out / "snapshot" / "generator.safetensors")
    assert torch.equal(snap["net.0.weight"], state["G"]["net.0.weight"])
    assert not g.training and g.snapshot_info["step"] == 300
    # the final grid is the snapshot's samples for seeds 0..49
    from fashiongan import sample
    from fashiongan.imageio import grid
    assert np.array_equal(np.asarray(grid(sample(g, 50, seed=0), 5, 10, scale=3)), np.asarray(im))


def test_existing_run_folder_is_refused(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "keep.txt").write_text("mine")
    r = run_cli("train", "--out", tmp_path / "run", "--set", "iterations=1")
    assert r.returncode == 2 and "--overwrite" in r.stderr
    assert (tmp_path / "run" / "keep.txt").read_text() == "mine"


def _g_weights(run_dir):
    return states.load_state(run_dir / "checkpoints")["G"]


def test_resume_is_bit_identical(tmp_path, tiny_cfg, data_dir):
    straight, split = tmp_path / "straight", tmp_path / "split"
    training_loop(tiny_cfg(iterations=200), straight, progress=False, max_train_images=2000)
    training_loop(tiny_cfg(iterations=100), split, progress=False, max_train_images=2000)
    training_loop(tiny_cfg(iterations=200), split, resume=split, progress=False,
                  max_train_images=2000)
    a, b = _g_weights(straight), _g_weights(split)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)  # running BN stats included
    sa, sb = states.load_state(straight / "checkpoints"), states.load_state(
        split / "checkpoints")
    assert all(torch.equal(sa["D"][k], sb["D"][k]) for k in sa["D"])
    steps = [json.loads(x)["step"] for x in (split / "metrics.jsonl").read_text().splitlines()]
    assert steps == [50, 100, 150, 200]
    # and a different seed really gives different weights (the test can fail)
    training_loop(tiny_cfg(iterations=100, seed=1), tmp_path / "other", progress=False,
                  max_train_images=2000)
    c = _g_weights(tmp_path / "other")
    assert not torch.equal(c["net.0.weight"], _g_weights(split)["net.0.weight"])


def test_ctrl_c_saves_a_state_and_resume_finishes(tmp_path, data_dir):
    out = tmp_path / "run"
    args = [sys.executable, "-m", "fashiongan", "train", "--preset", "article", "--out",
            str(out), "--no-progress", "--limit-data", "2000", "--set", "iterations=100000",
            "--set", "log_interval=50", "--set", "checkpoint_interval=100000", "--set",
            "sample_interval=100000", "--set", "threads=1"]
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline:
        m = out / "metrics.jsonl"
        if m.exists() and len(m.read_text().splitlines()) >= 2:
            break
        time.sleep(0.2)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 130, err
    assert "training state saved" in err and "Traceback" not in err
    state = states.load_state(out / "checkpoints")
    assert 100 <= state["step"] < 100000
    r = run_cli("train", "--resume", out, "--no-progress", "--limit-data", 2000,
                "--set", f"iterations={state['step'] + 20}")
    assert r.returncode == 0, r.stderr
    assert states.load_state(out / "checkpoints")["step"] == state["step"] + 20


def test_epoch_sampler_is_disjoint_across_ranks_and_covers_the_epoch():
    n, bs, world = 100, 5, 2
    per_rank = [BatchSampler(n, bs, 3, "epoch", torch.device("cpu"), r, world)
                for r in range(world)]
    seen = torch.cat([s(t) for t in range(n // (bs * world)) for s in per_rank])
    assert sorted(seen.tolist()) == list(range(n))
    again = BatchSampler(n, bs, 3, "epoch", torch.device("cpu"), 0, world)
    assert torch.equal(again(7), per_rank[0](7)) and torch.equal(again(3), per_rank[0](3))


def test_replacement_sampler_is_a_function_of_the_step():
    a = BatchSampler(1000, 32, 0, "replacement", torch.device("cpu"))
    b = BatchSampler(1000, 32, 0, "replacement", torch.device("cpu"))
    late = b(300)
    assert torch.equal(a(300), late) and not torch.equal(a(299), late)
    assert late.min() >= 0 and late.max() < 1000


@pytest.mark.parametrize("bad", ["iterations=0", "batch_size=-1", "nosuchkey=1"])
def test_cli_bad_config_exit_2(bad, tmp_path):
    r = run_cli("train", "--out", tmp_path / "r", "--set", bad)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()
