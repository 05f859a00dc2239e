"""A package folder is a checkpoint like any other: it loads to the same generator, holds the
snapshot's very weights, quotes the recorded figures and nothing else, and is written only
where nothing of the user's would be lost."""

from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

import fashiongan
from fashiongan.errors import UserError
from fashiongan.fileio import umask
from fashiongan.share import package as pkg
from fashiongan.share.package import Request, is_package, make_package
from fashiongan.snapshot import shipped_generator
from tests.support.share import card_section, card_table, tiny_run


@pytest.fixture
def run(tmp_path):
    return tiny_run(tmp_path / "run")


def _same_tensors(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_package_loads_to_the_same_bytes_and_holds_the_snapshots_weights(run, tmp_path):
    out = tmp_path / "pkg"
    result = make_package(Request(str(run), out))
    assert result["files"] == ["README.md", "config.json", "model.safetensors", "samples.png"]
    assert _same_tensors(load_file(out / "model.safetensors"),
                         load_file(run / "snapshot" / "generator.safetensors"))
    cfg = json.loads((out / "config.json").read_text())
    src = fashiongan.load_generator(run)
    assert (cfg["model"], cfg["model_kwargs"], cfg["dataset"]) == (
        src.model_name, src.model_kwargs, src.dataset.to_dict())
    assert cfg["fashiongan_package"] == 1 and is_package(out)
    for target in (out, out / "model.safetensors"):
        g = fashiongan.load_generator(target)
        assert np.array_equal(fashiongan.sample(g, 20, seed=5), fashiongan.sample(src, 20, seed=5))
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left
    mode = out.stat().st_mode & 0o777  # readable by others as the umask allows, not mkdtemp's
    assert mode == 0o777 & ~umask() and mode != 0o700


@pytest.mark.parametrize("name", ["default", "best", "resnet"])
def test_a_shipped_generators_card_quotes_its_record(name, tmp_path):
    record = json.loads(shipped_generator(name).with_suffix(".json").read_text())
    make_package(Request(name, tmp_path / name))
    card = (tmp_path / name / "README.md").read_text()
    table = card_table(card)
    expected = {"FID": ("fid", "real_floor_fid"), "precision (k=3)": ("precision", None),
                "recall (k=3)": ("recall", None), "KID": ("kid", None),
                "coverage (k=5)": ("coverage", None),
                "conditional accuracy (evaluator)": ("conditional_accuracy", None)}
    quoted = {row: keys for row, keys in expected.items() if keys[0] in record}
    assert set(table) == set(quoted) and len(quoted) >= 4
    for row, (key, floor) in quoted.items():
        assert math.isclose(table[row][0], record[key], rel_tol=1e-5), row
        assert table[row][1] == (None if floor is None else pytest.approx(record[floor], 1e-5))
    evaluation = card_section(card, "Evaluation")
    assert f"N = {sum(record['class_histogram']):,} generated images" in evaluation
    assert record["evaluator_sha256"] in evaluation
    audit = card_section(card, "Memorisation audit")
    assert f"copy_fraction {record['audit']['copy_fraction']:.6g}: of 10,000" in audit
    training = card_section(card, "Training")
    assert f"`{record.get('trained_as') or record['command']}`" in training
    assert f"{record['train_wall_s']:.0f} s" in training
    assert "Realistic fakes can be misused" in card_section(card, "Intended uses and limits")
    assert "license: mit" in card and "c59f468a2f672dc8" in card_section(card, "Training data")


def test_a_run_never_evaluated_says_so_and_quotes_its_own_files(run, tmp_path):
    make_package(Request(str(run), tmp_path / "p", evaluation=run / "evaluation.json",
                         audit=run / "audit.json"))
    card = (tmp_path / "p" / "README.md").read_text()
    assert "Not evaluated" in card_section(card, "Evaluation") and card_table(card) == {}
    assert "No memorisation audit was recorded" in card_section(card, "Memorisation audit")
    training = card_section(card, "Training")
    assert "Command: not recorded" in training and "25 s" in training  # metrics.jsonl's last
    assert '"loss": "hinge"' in training  # the run's config.json, as recorded


def test_an_evaluation_older_than_the_weights_is_flagged(run, tmp_path):
    report = {"samples": {"n": 20, "fid": 12.5, "precision": 0.25}, "network": "evaluator",
              "test_images": 10000, "command": "fashiongan evaluate run"}
    (run / "evaluation.json").write_text(json.dumps(report))
    weights = run / "snapshot" / "generator.safetensors"
    os.utime(run / "evaluation.json", (weights.stat().st_mtime - 60,) * 2)
    make_package(Request(str(run), tmp_path / "p", evaluation=run / "evaluation.json"))
    card = (tmp_path / "p" / "README.md").read_text()
    assert card_table(card) == {"FID": (12.5, None), "precision (k=3)": (0.25, None)}
    assert "is older than the weights" in card_section(card, "Evaluation")


def test_out_onto_user_files_is_refused_and_they_stay(run, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "config.json").write_text('{"model_type": "bert"}')  # another library's model
    (mine / "notes.txt").write_text("keep me")
    for overwrite in (False, True):
        with pytest.raises(UserError, match="not empty|not a package made by"):
            make_package(Request(str(run), mine, overwrite=overwrite))
    assert sorted(p.name for p in mine.iterdir()) == ["config.json", "notes.txt"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(UserError, match="exists and is not a folder"):
        make_package(Request(str(run), tmp_path / "file", overwrite=True))
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_overwrite_replaces_only_a_parsed_matching_package(run, tmp_path):
    out = tmp_path / "p"
    make_package(Request(str(run), out))
    (out / "extra.txt").write_text("a person's note beside the package")
    with pytest.raises(UserError, match="extra.txt, which fashiongan did not write"):
        make_package(Request(str(run), out, overwrite=True))  # nothing else of value is lost
    assert (out / "extra.txt").read_text() == "a person's note beside the package"
    (out / "extra.txt").unlink()
    make_package(Request(str(run), out, overwrite=True))
    assert is_package(out)
    cfg = json.loads((out / "config.json").read_text())
    for marker in (2, "1", None):  # another format, a string, no marker: not provably ours
        (out / "config.json").write_text(json.dumps({**cfg, "fashiongan_package": marker}))
        with pytest.raises(UserError, match="not a package made by"):
            make_package(Request(str(run), out, overwrite=True))
    (out / "config.json").write_text("{not json")
    with pytest.raises(UserError, match="not a package made by"):
        make_package(Request(str(run), out, overwrite=True))
    assert (out / "README.md").is_file()


def test_a_failure_midway_leaves_no_folder(run, tmp_path, monkeypatch):
    def refuse(*a, **k):
        raise UserError("cannot")

    monkeypatch.setattr(pkg.onnx_export, "export", refuse)
    with pytest.raises(UserError, match="cannot"):
        make_package(Request(str(run), tmp_path / "p", onnx=True))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_partial_or_corrupt_folders_are_one_line_errors(run, tmp_path):
    out = tmp_path / "p"
    make_package(Request(str(run), out))
    weights = (out / "model.safetensors").read_bytes()
    (out / "model.safetensors").unlink()
    with pytest.raises(UserError, match="incomplete package") as e:
        fashiongan.load_generator(out)
    (out / "model.safetensors").write_bytes(weights[: len(weights) // 2])
    with pytest.raises(UserError, match="not a readable safetensors") as e2:
        fashiongan.load_generator(out)
    save_file(load_file(run / "snapshot" / "generator.safetensors"), out / "model.safetensors")
    (out / "config.json").write_text("{broken")  # weights without metadata lean on it
    with pytest.raises(UserError, match="config.json: not readable JSON") as e3:
        fashiongan.load_generator(out)
    assert all("\n" not in str(x.value) for x in (e, e2, e3))


def test_weights_without_metadata_load_from_the_config_beside_them(run, tmp_path):
    """What huggingface_hub's save_pretrained writes: plain tensors plus config.json."""
    out = tmp_path / "p"
    make_package(Request(str(run), out))
    save_file(load_file(out / "model.safetensors"), out / "model.safetensors")
    src = fashiongan.load_generator(run)
    assert np.array_equal(fashiongan.sample(fashiongan.load_generator(out), 10),
                          fashiongan.sample(src, 10))
