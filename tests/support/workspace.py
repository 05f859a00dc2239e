"""The workspace the bad-input tests run in: real run folders, snapshots, data folders and
files that are not what they claim, made once per module; and how a case is written down."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import pickle
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from fashiongan import config, presets, snapshot
from fashiongan.data import FILES
from fashiongan.data.importer import import_images
from fashiongan.data.store import open_dataset
from fashiongan.metrics import judge
from fashiongan.training.loop import training_loop
from tests.support.datasets import tinted_folder

SLOW = pytest.mark.slow


def cfg(**changes):
    base = presets.resolve("article").to_dict()
    base.update(iterations=2, log_interval=1, sample_interval=2, checkpoint_interval=1,
                keep_checkpoints=3, threads=1, g_width=16, d_width=32, grid_rows=2,
                grid_cols=2)
    base.update(changes)
    return config.from_dict(base)


def data_variant(folder: Path, data_dir: Path, damage: str | None, name: str) -> Path:
    """A Fashion-MNIST folder of links to the real files, with one file damaged (or gone)."""
    folder.mkdir()
    for spec in FILES.values():
        src = next(data_dir / n for n in (spec.name + ".gz", spec.name)
                   if (data_dir / n).is_file())
        if spec.name != name:
            (folder / src.name).symlink_to(src.resolve())
        elif damage == "truncated":  # a download cut short: half of the .gz
            raw = src.read_bytes()
            (folder / (spec.name + ".gz")).write_bytes(raw[:len(raw) // 2])
        elif damage == "garbage":  # right name, random content
            (folder / spec.name).write_bytes(np.random.default_rng(0).bytes(4096))
        elif damage == "wrong-count":  # a valid header that promises too few items
            content = bytearray(gzip.decompress(src.read_bytes()))
            content[4:8] = (100).to_bytes(4, "big")
            (folder / spec.name).write_bytes(bytes(content))
    return folder


def make_workspace(tmp_path_factory, data_dir):
    """The workspace every case runs against: two real (tiny) runs and every bad file."""
    ws = tmp_path_factory.mktemp("ws")
    training_loop(cfg(), ws / "run", data_dir=data_dir, progress=False, max_train_images=256)
    other_cfg = cfg(model="dcgan", g_width=8, d_width=8)
    training_loop(other_cfg, ws / "other", data_dir=data_dir, progress=False,
                  max_train_images=256)
    # a run folder whose config is the article's but whose state is another model's
    (ws / "mixed" / "checkpoints").mkdir(parents=True)
    shutil.copy(ws / "run" / "config.json", ws / "mixed" / "config.json")
    for f in (ws / "other" / "checkpoints").iterdir():
        shutil.copy(f, ws / "mixed" / "checkpoints" / f.name)
    # files that are not what they claim
    rng = np.random.default_rng(1)
    (ws / "random.safetensors").write_bytes(rng.bytes(10_000))
    (ws / "random.pt").write_bytes(rng.bytes(10_000))
    (ws / "empty.safetensors").write_bytes(b"")
    g = snapshot.load_generator(ws / "run")
    torch.save(g.state_dict(), ws / "weights.pt")  # a pickle (zip) under its usual name
    shutil.copy(ws / "weights.pt", ws / "zip-pickle.safetensors")
    (ws / "raw-pickle.safetensors").write_bytes(
        pickle.dumps({k: v.numpy() for k, v in g.state_dict().items()}, protocol=4))
    other_g = snapshot.load_generator(ws / "other")
    tensors = {k: v.contiguous() for k, v in other_g.state_dict().items()}
    save_file(tensors, ws / "other-model.safetensors",  # dcgan weights, article's config
              metadata={"fashiongan": json.dumps({"config": cfg().to_dict()})})
    save_file(tensors, ws / "no-metadata.safetensors")
    np.savez(ws / "objects.npz", images=np.array([{"a": 1}], dtype=object))
    np.savez(ws / "wrong-shape.npz", images=np.zeros((20, 32, 32), np.uint8))
    (ws / "garbage.npz").write_bytes(rng.bytes(5000))
    good = np.zeros((20, 28, 28), np.uint8)
    labels = np.arange(20) % 10
    np.savez(ws / "labels-column.npz", images=good, labels=labels[:, None])
    np.savez(ws / "labels-range.npz", images=good, labels=labels + 3)
    np.savez(ws / "labels-negative.npz", images=good, labels=labels - 1)
    np.savez(ws / "labels-length.npz", images=good, labels=labels[:19])
    np.savez(ws / "labels-strings.npz", images=good, labels=labels.astype(str))
    np.savez(ws / "labels-floats.npz", images=good, labels=labels.astype(np.float32))
    np.savez(ws / "one-image.npz", images=good[:1])
    np.savez(ws / "no-image.npz", images=good[:0])
    # presets
    (ws / "unknown-key.yaml").write_text("model: article\ncolour: red\n")
    (ws / "typed.yaml").write_text("batch_size: lots\n")
    (ws / "broken.yaml").write_text("model: [article\n")
    (ws / "list.yaml").write_text("- model\n- article\n")
    # data folders
    for damage, name in (("missing", "t10k-labels-idx1-ubyte"),
                         ("truncated", "train-images-idx3-ubyte"),
                         ("garbage", "train-labels-idx1-ubyte"),
                         ("wrong-count", "train-labels-idx1-ubyte")):
        data_variant(ws / f"data-{damage}", Path(data_dir), damage, name)
    (ws / "a-file").write_text("not a folder\n")
    (ws / "a-folder").mkdir()
    # imported data sets (60 tinted garments, 32 px RGB): labelled, and the same unlabelled;
    # a judge of the labelled one (one step: only its metadata matters here)
    tinted, _ = tinted_folder(ws / "photos", 60, size=32)
    for name, labels in (("ds", "subfolders"), ("ds-unlabelled", "none")):
        import_images(ws / "photos", ws / name, resolution=32, channels=3, labels=labels,
                      test_fraction=0.25, jobs=1, progress=False, log=lambda line: None)
    labelled = open_dataset(ws / "ds")
    judge.train_and_save(labelled, ws / "judge-ds.safetensors", judge.recipe_for(labelled),
                         log=lambda line: None, max_steps=1)
    np.savez(ws / "tinted.npz", images=tinted[:20].transpose(0, 2, 3, 1))
    return ws


def listing(root: Path) -> dict[str, str]:
    """Every path under root -> SHA-256 of its bytes (links by target, folders as such)."""
    out = {}
    for p in sorted(root.rglob("*")):
        rel = str(p.relative_to(root))
        if p.is_symlink():
            out[rel] = "link:" + os.readlink(p)
        elif p.is_dir():
            out[rel] = "dir"
        else:
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


@dataclass(frozen=True)
class Case:
    argv: tuple[str, ...]  # "{ws}" and "{data}" are filled in
    expect: str  # a fragment of the one stderr line (case-insensitive)
    code: int = 2  # the README: 2 for bad input, 1 for a fault of the machine
    cmd: str = field(default="", compare=False)


def case(id_: str, expect: str, *argv: str, slow: bool = False, code: int = 2):
    return pytest.param(Case(tuple(argv), expect, code), id=id_, marks=[SLOW] if slow else [])


