"""Snapshots hold the model's name, its constructor arguments and the DatasetInfo, never the
training settings; every shipped generator is in that form and draws what it drew before it
was migrated; snapshots of the older formats still load."""

from __future__ import annotations

import hashlib
import json

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

import fashiongan
from fashiongan import config
from fashiongan.models import generator_kwargs
from fashiongan.snapshot import SHIPPED, STRUCTURE, load_generator, shipped_generator

# sha256 (first 16 hex digits) of sample(g, 20, seed=123) from each shipped generator, taken
# before the files were migrated to format 3 (threads=1, CPU)
DRAWS = {"default": "eb990d1eaf4d6d60", "best": "79371bb57cbefea3",
         "resnet": "f3326a13bd7ffc5d"}


def _meta(file) -> dict:
    with safe_open(str(file), framework="pt") as f:
        return json.loads(f.metadata()["fashiongan"])


def _draw(source) -> str:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        images = fashiongan.sample(load_generator(source), 20, seed=123)
    finally:
        torch.set_num_threads(threads)
    return hashlib.sha256(images.tobytes()).hexdigest()[:16]


@pytest.mark.parametrize("name", sorted(DRAWS))
def test_shipped_generators_are_format_3_and_draw_what_they_drew(name):
    meta = _meta(shipped_generator(name))
    assert meta["format"] == 3 and "config" not in meta
    assert set(meta) - set(STRUCTURE) <= {"step", "images_seen"}  # the run's own facts only
    assert _draw(name) == DRAWS[name]
    # the training record beside it rebuilds the same model
    record = json.loads(shipped_generator(name).with_suffix(".json").read_text())
    assert generator_kwargs(config.from_dict(record["config"])) == meta["model_kwargs"]


def test_every_shipped_name_is_pinned():
    assert set(SHIPPED) - {"long"} == set(DRAWS)


def test_formats_1_and_2_still_load_to_the_same_generator(tmp_path):
    file = shipped_generator("default")
    meta, tensors = _meta(file), load_file(str(file))
    record = json.loads(file.with_suffix(".json").read_text())
    two = {**meta, "format": 2, "config": record["config"]}
    one = {"config": record["config"], "step": meta["step"]}
    for name, m in (("two", two), ("one", one)):
        save_file(tensors, str(tmp_path / f"{name}.safetensors"),
                  metadata={"fashiongan": json.dumps(m)})
        assert _draw(tmp_path / f"{name}.safetensors") == DRAWS["default"], name


def test_unknown_model_arguments_are_warned_about_and_ignored(tmp_path):
    file = shipped_generator("default")
    meta = _meta(file)
    meta["model_kwargs"]["a_newer_argument"] = 3
    save_file(load_file(str(file)), str(tmp_path / "g.safetensors"),
              metadata={"fashiongan": json.dumps(meta)})
    with pytest.warns(UserWarning, match="a_newer_argument"):
        assert _draw(tmp_path / "g.safetensors") == DRAWS["default"]
