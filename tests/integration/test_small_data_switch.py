"""The default preset switches augmentation on by itself below presets.SMALL_DATA_IMAGES training
images (README "Small catalogues"): said in one line, recorded in config.json, kept on resume,
and `--set augment=...` or another preset wins."""

from __future__ import annotations

import json

import pytest

from fashiongan import cli, presets

AUTO = presets.SMALL_DATA_AUGMENT
SMALL = str(presets.SMALL_DATA_IMAGES // 10)
QUICK = ["--no-progress", "--set", "iterations=2", "--set", "sample_interval=2",
         "--set", "checkpoint_interval=2", "--set", "g_width=16", "--set", "d_width=8",
         "--set", "batch_size=8", "--set", "grid_scale=1", "--set", "threads=1",
         "--set", "log_interval=1"]


def _train(run, capsys, *args) -> tuple[str, dict]:
    assert cli.main(["train", "--out", str(run), *QUICK, *map(str, args)]) == 0
    cfg = json.loads((run / "config.json").read_text())
    return capsys.readouterr().out, cfg.get("config", cfg)


def test_small_set_turns_augmentation_on_and_resume_keeps_it(tmp_path, capsys, data_dir):
    run = tmp_path / "run"
    out, cfg = _train(run, capsys, "--limit-data", SMALL, "--data-dir", str(data_dir))
    assert (f"small training set ({int(SMALL):,} images < {presets.SMALL_DATA_IMAGES:,}): "
            f"augment={AUTO} (set augment=none to turn it off)") in out.splitlines()
    assert cfg["augment"] == AUTO
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert AUTO != "ada" or "aug_p" in rows[-1]  # the mode really ran, not only its name
    assert cli.main(["train", "--resume", str(run), "--set", "iterations=4", "--no-progress",
                     "--data-dir", str(data_dir)]) == 0
    cfg = json.loads((run / "config.json").read_text())
    assert cfg.get("config", cfg)["augment"] == AUTO
    assert json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])["step"] == 4


def test_explicit_augment_wins(tmp_path, capsys, data_dir):
    out, cfg = _train(tmp_path / "run", capsys, "--limit-data", SMALL, "--data-dir", str(data_dir),
                      "--set", "augment=none")
    assert "small training set" not in out and cfg["augment"] == "none"


def test_other_presets_unchanged(tmp_path, capsys, data_dir):
    out, cfg = _train(tmp_path / "run", capsys, "--preset", "dcgan", "--limit-data", SMALL,
                      "--data-dir", str(data_dir))
    assert "small training set" not in out and cfg["augment"] == "none"


@pytest.mark.parametrize(("preset", "overrides", "images", "expected"), [
    (None, [], presets.SMALL_DATA_IMAGES - 1, AUTO),
    ("default", [], presets.SMALL_DATA_IMAGES // 2, AUTO),
    ("best", [], presets.SMALL_DATA_IMAGES // 2, AUTO),  # the default's network, trained longer
    (None, [], presets.SMALL_DATA_IMAGES, None),  # the threshold itself is large enough
    (None, [], 60_000, None),
    (None, [], None, None),  # size unknown
    (None, ["augment=diffaugment"], 10, None),
    ("article", [], 10, None),
    ("cdcgan", [], 10, None),
])
def test_rule(preset, overrides, images, expected):
    assert presets.small_data_augment(preset, overrides, images) == expected
    cfg = presets.resolve(preset, overrides, None, images)
    default = presets.resolve(preset, overrides).augment.mode
    assert cfg.augment.mode == (expected or default)


def test_large_set_unchanged(tmp_path, capsys, data_dir):
    out, cfg = _train(tmp_path / "run", capsys, "--limit-data", presets.SMALL_DATA_IMAGES,
                      "--data-dir", str(data_dir))
    assert "small training set" not in out and cfg["augment"] == "none"
