"""huggingface_hub's own loader reads a package: PyTorchModelHubMixin.from_pretrained(DIR),
offline, builds the generator from config.json and loads model.safetensors key for key."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from safetensors.torch import load_file

import fashiongan
from fashiongan.share.hub import HubGenerator
from fashiongan.share.package import Request, make_package
from tests.support.share import tiny_run

pytest.importorskip("huggingface_hub")

FROM_PRETRAINED = """
import hashlib, sys
import torch
import fashiongan
from fashiongan.share.hub import FashionGANGenerator
torch.set_num_threads(1)  # as the test process: MKL's rounding depends on the count
g = FashionGANGenerator.from_pretrained(sys.argv[1])
images = fashiongan.sample(g, 20, seed=7)
print(type(g).__name__, g.training, hashlib.sha256(images.tobytes()).hexdigest())
"""


@pytest.fixture
def package(tmp_path):
    out = tmp_path / "pkg"
    make_package(Request(str(tiny_run(tmp_path / "run")), out))
    return out


def _digest(g) -> str:
    return hashlib.sha256(fashiongan.sample(g, 20, seed=7).tobytes()).hexdigest()


def test_from_pretrained_offline_draws_what_fashiongan_draws(package, one_thread):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(package.parent / "hf")}
    r = subprocess.run([sys.executable, "-c", FROM_PRETRAINED, str(package)],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    last = r.stdout.strip().splitlines()[-1]  # the mixin prints where it loads from
    assert last.split() == ["FashionGANGenerator", "False",
                                _digest(fashiongan.load_generator(package))]
    assert not (package.parent / "hf").exists()  # nothing downloaded or cached


def test_hub_model_has_the_generators_state_dict_key_for_key(package):
    g = fashiongan.load_generator(package)
    hub = HubGenerator(g.model_name, g.model_kwargs, g.dataset.to_dict())
    weights = load_file(package / "model.safetensors")
    assert set(hub.state_dict()) == set(weights) == set(g.state_dict())
    missing, unexpected = hub.load_state_dict(weights, strict=False)  # as the mixin loads
    assert (missing, unexpected) == ([], [])
    assert _digest(hub) == _digest(g) and hub.dataset == g.dataset


def test_save_pretrained_writes_a_folder_fashiongan_loads(package, tmp_path):
    from fashiongan.share.hub import FashionGANGenerator

    hub = FashionGANGenerator.from_pretrained(str(package))
    hub.save_pretrained(tmp_path / "saved")
    cfg = json.loads((tmp_path / "saved" / "config.json").read_text())
    assert set(cfg) == {"model", "model_kwargs", "dataset"}
    again = fashiongan.load_generator(tmp_path / "saved")
    assert np.array_equal(fashiongan.sample(again, 20, seed=7),
                          fashiongan.sample(fashiongan.load_generator(package), 20, seed=7))
