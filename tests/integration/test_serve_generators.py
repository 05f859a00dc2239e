"""Which generators the studio serves: the shipped ones by name and by default, one without
soft classes, a colour model of an imported data set with its own categories."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

import fashiongan  # noqa: E402
from fashiongan import config, presets
from fashiongan.models import build_generator
from fashiongan.serve.app import create_app
from fashiongan.snapshot import save_snapshot
from tests.support.cli import run_cli  # noqa: E402
from tests.support.studio import designs, pixels, tiny_snapshot  # noqa: E402


def test_the_best_shipped_generator_is_the_default(tmp_path):
    """Without a checkpoint, sample and serve use the best generator in the package (the
    others stay reachable by name); a build without it says so in one line."""
    import subprocess
    import sys

    from fashiongan.snapshot import shipped_generator

    best = shipped_generator("best")
    out = tmp_path / "s.npz"
    r = run_cli("sample", "--class", "dress", "--n", 4, "--out", out)
    assert r.returncode == 0, r.stderr
    drawn = np.load(out)
    assert drawn["labels"].tolist() == [3, 3, 3, 3]
    g = fashiongan.load_generator(best)
    assert np.array_equal(drawn["images"], fashiongan.sample(g, 4, seed=0, labels=3))
    other = fashiongan.load_generator(shipped_generator("default"))
    assert not np.array_equal(drawn["images"], fashiongan.sample(other, 4, seed=0, labels=3))
    # the server says which generator it serves before it listens
    p = subprocess.Popen([sys.executable, "-m", "fashiongan", "serve", "--port", "0"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = p.stdout.readline()
    finally:
        p.terminate()
        p.wait(timeout=30)
    assert first.startswith(f"fashiongan studio: {best} ")
    c = TestClient(create_app(g))
    assert c.get("/api/classes").json()["conditional"] is True
    items = designs(c, **{"class": "dress", "n": 4, "seed": 0})
    for s, item in enumerate(items):  # each design is made alone (batch of one)
        assert np.array_equal(pixels(item), fashiongan.sample(g, 1, seed=s, labels=3)[0])


def test_shipped_generators_are_picked_by_name(tmp_path):
    """`sample default|best` (and `serve --checkpoint best`) names a generator in the package
    (docs/sampling.md); a folder of that name in the working directory wins, and
    an unknown name is a path."""

    from fashiongan.snapshot import SHIPPED, load_generator, shipped_generator, snapshot_path

    assert snapshot_path("default") == shipped_generator("default") and "best" in SHIPPED
    assert snapshot_path("best") == shipped_generator()  # the one used when none is named
    best = load_generator("best")  # the default preset's network trained for 100 minutes
    assert shipped_generator("best") == shipped_generator("long")  # its name when it shipped
    assert best.model_name == "cdcgan" and best.snapshot_info["step"] == 97_650
    record = json.loads(shipped_generator("best").with_suffix(".json").read_text())
    trained = config.from_dict(record["config"])  # the training record beside the weights
    assert trained.objective.r1_interval == 16
    assert record["step"] == 97_650 and record["fid"] < 3.0  # the README's figures' source
    # what `--preset best` trains now: the run's config but for the keys that steer the run
    # (threads, evaluation during it) and not what it learns
    run_keys = {"threads": 1, "eval_every": 10_000}
    assert presets.resolve("best").replace(**run_keys) == trained
    resnet = load_generator("resnet")  # the best preset's residual nets before (slower)
    resnet_record = json.loads(shipped_generator("resnet").with_suffix(".json").read_text())
    assert resnet.model_name == "resnet" and resnet_record["config"]["loss"] == "hinge"
    assert resnet.snapshot_info["step"] >= 8_700  # the 1-hour run's iteration, or later
    named, plain = tmp_path / "named.npz", tmp_path / "plain.npz"
    for out, extra in ((named, ("best",)), (plain, ())):
        r = run_cli("sample", *extra, "--n", 6, "--seed", 3, "--out", out)
        assert r.returncode == 0, r.stderr
    shipped = np.load(plain)["images"]
    assert np.array_equal(np.load(named)["images"], shipped)
    tiny_snapshot(tmp_path / "best")  # a run folder called "best" is not the shipped one
    r = run_cli("sample", "best", "--n", 6, "--seed", 3, "--out", "own.npz",
                cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    own = np.load(tmp_path / "own.npz")["images"]
    assert own.shape == shipped.shape and not np.array_equal(own, shipped)
    r = run_cli("sample", "bestest", "--out", tmp_path / "x.npz")
    assert r.returncode == 2 and "no generator snapshot found" in r.stderr


def test_a_colour_model_serves_its_own_categories_in_colour(tmp_path):
    """A generator trained on an imported data set: its class names (Unicode), resolution and
    colour reach /api/classes, and designs come back as RGB PNGs of its size."""
    from fashiongan.data import DatasetInfo
    from fashiongan.snapshot import load_generator

    info = DatasetInfo(32, 3, ("Blusen & Röcke", "裙子", "Shoes"), name="my-shop")
    cfg = presets.resolve("cdcgan", ["num_classes=3", "g_width=32", "d_width=8"])
    save_snapshot(build_generator(cfg, info), cfg, tmp_path / "snap", {"step": 0}, dataset=info)
    c = TestClient(create_app(load_generator(tmp_path / "snap")))
    classes = c.get("/api/classes").json()
    assert [x["name"] for x in classes["classes"]] == list(info.class_names)
    assert (classes["resolution"], classes["channels"], classes["dataset"]) == (32, 3, "my-shop")
    r = c.get("/api/generate", params={"class": "裙子", "n": 1, "seed": 5, "format": "png"})
    assert r.status_code == 200, r.text
    im = Image.open(io.BytesIO(r.content))
    assert im.mode == "RGB" and im.size == (32, 32)
    js = c.get("/api/generate", params={"class": "blusen & röcke", "n": 2, "format": "json"})
    assert [d["class_name"] for d in js.json()["images"]] == ["Blusen & Röcke"] * 2
