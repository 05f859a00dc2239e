"""`fashiongan package` through the real CLI: a tiny trained run, evaluated and audited, is
packaged with --onnx; the folder then samples, serves and evaluates exactly as the run does,
its card quotes the run's own evaluation.json and audit.json, and bad folders and --out
targets are one-line refusals (exit 2)."""

from __future__ import annotations

import json
import math
import shlex
import shutil

import numpy as np
import pytest

import fashiongan
from tests.support.cli import run_cli
from tests.support.share import card_section, card_table

TINY = ("--preset", "default", "--set", "g_width=8", "--set", "d_width=8", "--set",
        "iterations=20", "--set", "log_interval=10", "--set", "sample_interval=20", "--set",
        "checkpoint_interval=20", "--set", "threads=1", "--limit-data", "256", "--no-progress")


def _ok(*args):
    r = run_cli(*args)
    assert r.returncode == 0, r.stderr
    return r


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """(run folder, package folder): trained 20 iterations, evaluated on 20 samples, audited."""
    pytest.importorskip("onnxruntime")
    root = tmp_path_factory.mktemp("share")
    run, pkg = root / "run", root / "pkg"
    _ok("train", "--out", run, *TINY)
    _ok("evaluate", run, "--n", 20, "--no-floor", "--no-progress", "--threads", 1)
    _ok("audit", run, "--n", 20, "--threads", 1)
    r = _ok("package", run, "--out", pkg, "--onnx", "--threads", 1)
    assert f"figures quoted from {run / 'evaluation.json'}" in r.stdout
    return run, pkg


def test_the_card_quotes_the_runs_recorded_figures(made):
    run, pkg = made
    card = (pkg / "README.md").read_text()
    report = json.loads((run / "evaluation.json").read_text())
    s = report["samples"]
    table = card_table(card)
    expected = {"FID": s["fid"], "KID": s["kid"], "precision (k=3)": s["precision"],
                "recall (k=3)": s["recall"], "density (k=5)": s["density"],
                "coverage (k=5)": s["coverage"],
                "conditional accuracy (evaluator)": s["classes"]["accuracy"]}
    assert table.keys() == expected.keys()
    for name, value in expected.items():
        assert math.isclose(table[name][0], value, rel_tol=1e-5, abs_tol=1e-9), name
    evaluation = card_section(card, "Evaluation")
    assert "N = 20 generated images" in evaluation and report["evaluator_sha256"] in evaluation
    assert f"made by `{report['command']}`" in evaluation
    audit = json.loads((run / "audit.json").read_text())
    assert (f"copy_fraction {audit['copy_fraction']:.6g}: of 20 samples"
            in card_section(card, "Memorisation audit"))
    assert "max abs difference" in card_section(card, "How to use it")
    # the command line `fashiongan train` kept in the run's commands.json, as typed
    command = shlex.join(["fashiongan", "train", "--out", str(run), *TINY])
    assert f"Command: `{command}`." in card_section(card, "Training")


def test_sample_from_the_package_is_the_runs_bytes(made, tmp_path):
    run, pkg = made
    for source, out in ((run, tmp_path / "a.npz"), (pkg, tmp_path / "b.npz")):
        _ok("sample", source, "--n", 12, "--seed", 3, "--class", "dress", "--out", out)
    a, b = np.load(tmp_path / "a.npz"), np.load(tmp_path / "b.npz")
    assert np.array_equal(a["images"], b["images"]) and a["labels"].tolist() == [3] * 12


def test_evaluate_from_the_package_scores_the_same(made, tmp_path):
    run, pkg = made
    _ok("evaluate", pkg, "--n", 20, "--no-floor", "--no-progress", "--threads", 1,
        "--json", tmp_path / "e.json")
    ours = json.loads((tmp_path / "e.json").read_text())["samples"]
    assert ours == json.loads((run / "evaluation.json").read_text())["samples"]


def test_serve_from_the_package_draws_the_same_bytes(made):
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from fashiongan.serve.app import create_app

    run, pkg = made
    answers = []
    for source in (run, pkg):
        with TestClient(create_app(fashiongan.load_generator(source))) as client:
            r = client.get("/api/generate", params={"n": 4, "seed": 2, "class": "coat",
                                                    "format": "json"})
            assert r.status_code == 200, r.text
            answers.append([d["png"] for d in r.json()["images"]])
            grid = client.get("/api/generate", params={"n": 4, "mix_class": "bag"})
            answers[-1].append(grid.content)
    assert answers[0] == answers[1]


def test_the_onnx_graph_draws_the_packages_images(made):
    ort = pytest.importorskip("onnxruntime")
    _, pkg = made
    g = fashiongan.load_generator(pkg)
    sess = ort.InferenceSession(str(pkg / "generator.onnx"), providers=["CPUExecutionProvider"])
    z = fashiongan.latents(range(5), g.latent_dim).numpy()
    w = np.eye(10, dtype=np.float32)[[0, 1, 2, 3, 4]]
    out = sess.run(["images"], {"z": z, "class_weights": w})[0]
    grey = np.clip(np.round((out + 1) * 127.5), 0, 255).astype(np.uint8)[:, 0]
    assert np.abs(grey.astype(int) - fashiongan.sample(g, 5, seed=0)).max() <= 1


def _refused(r, words: str):
    assert r.returncode == 2, r.stderr
    assert r.stderr.count("\n") == 1 and words in r.stderr, r.stderr


def test_partial_and_corrupt_folders_are_one_line_errors(made, tmp_path):
    _, pkg = made
    partial = tmp_path / "partial"
    shutil.copytree(pkg, partial)
    (partial / "model.safetensors").unlink()
    _refused(run_cli("sample", partial, "--out", tmp_path / "x.npz"), "incomplete package")
    corrupt = tmp_path / "corrupt"
    shutil.copytree(pkg, corrupt)
    data = (corrupt / "model.safetensors").read_bytes()
    (corrupt / "model.safetensors").write_bytes(data[: len(data) // 3])
    _refused(run_cli("sample", corrupt, "--out", tmp_path / "x.npz"),
             "not a readable safetensors")
    assert not (tmp_path / "x.npz").exists()


def test_out_onto_user_files_is_refused_unless_an_earlier_package(made, tmp_path):
    run, pkg = made
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("years of work")
    _refused(run_cli("package", run, "--out", mine), "give --overwrite")
    _refused(run_cli("package", run, "--out", mine, "--overwrite"), "not a package made by")
    assert [p.name for p in mine.iterdir()] == ["thesis.tex"]
    again = tmp_path / "again"
    shutil.copytree(pkg, again)
    _ok("package", run, "--out", again, "--overwrite")
    assert not (again / "generator.onnx").exists()  # replaced whole, not merged
    assert sorted(p.name for p in tmp_path.iterdir()) == ["again", "mine"]
