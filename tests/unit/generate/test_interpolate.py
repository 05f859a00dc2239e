"""Latent walks and class morphs: slerp's geometry, exact end frames, the CLI strip."""

import numpy as np
import pytest
import torch
from PIL import Image

from fashiongan import config, presets, sample, snapshot
from fashiongan.generate.interpolate import interpolate
from fashiongan.generate.latent import lerp, slerp
from fashiongan.models import build_generator
from fashiongan.models.layers import CondBatchNorm2d
from tests.support.cli import run_cli


def test_slerp_keeps_the_norm_where_lerp_shrinks_it():
    a, b = (torch.randn(100, generator=torch.Generator().manual_seed(s)) for s in (1, 2))
    t = torch.linspace(0, 1, 11)
    zs, zl = slerp(a, b, t), lerp(a, b, t)
    assert torch.allclose(zs[0], a, atol=1e-5) and torch.allclose(zs[-1], b, atol=1e-5)
    # nearly orthogonal Gaussian vectors: slerp stays on the arc between the two norms ...
    lo, hi = sorted((a.norm().item(), b.norm().item()))
    assert all(lo - 1e-3 <= n <= hi + 1e-3 for n in zs.norm(dim=1).tolist())
    # ... the straight line dips to ~1/sqrt(2) of it in the middle
    assert zl[5].norm() < 0.8 * lo
    # equal angles between consecutive frames (constant speed on the sphere, for equal norms)
    u = torch.nn.functional.normalize(slerp(a / a.norm(), b / b.norm(), t), dim=1)
    cos = (u[1:] * u[:-1]).sum(1)
    assert torch.allclose(cos, cos[0].expand_as(cos), atol=1e-5)
    assert torch.allclose(slerp(a, 2 * a, t)[5], lerp(a, 2 * a, t)[5])  # parallel: lerp


def _tiny(preset):
    base = presets.resolve(preset).to_dict()
    base.update(g_width=16)
    torch.manual_seed(0)
    g = build_generator(config.from_dict(base)).eval()
    for m in g.modules():  # give the classes distinct gains, as training would
        if isinstance(m, CondBatchNorm2d):
            torch.nn.init.normal_(m.gain.weight, 1.0, 0.5)
    return g


def test_end_frames_are_the_seeds_samples_and_the_class_morphs():
    g = _tiny("cdcgan")
    images, w = interpolate(g, 5, 9, steps=6, class_from="dress", class_to="coat")
    assert images.shape == (6, 28, 28) and images.dtype == np.uint8
    assert np.array_equal(images[0], sample(g, 1, seed=5, labels=3)[0])
    assert np.array_equal(images[-1], sample(g, 1, seed=9, labels=4)[0])
    assert np.allclose(w[:, 3], np.linspace(1, 0, 6)) and np.allclose(w[:, 4], np.linspace(0, 1, 6))
    assert np.allclose(w.sum(1), 1) and len(np.unique(images.reshape(6, -1), axis=0)) == 6
    # one class given: held fixed; same seed at both ends: only the class moves
    fixed, wf = interpolate(g, 5, 9, steps=3, class_from=7)
    assert (wf.argmax(1) == 7).all() and np.array_equal(fixed[0], sample(g, 1, 5, labels=7)[0])
    still, _ = interpolate(g, 5, 5, steps=3, class_from=3, class_to=3)
    assert (still == still[0]).all()


def test_unconditional_and_bad_requests():
    g = _tiny("dcgan")
    images, w = interpolate(g, 0, 1, steps=4, method="lerp")
    assert w is None and np.array_equal(images[0], sample(g, 1, seed=0)[0])
    with pytest.raises(Exception, match="unconditional"):
        interpolate(g, 0, 1, class_from="dress")
    with pytest.raises(Exception, match="steps"):
        interpolate(g, 0, 1, steps=1)


def test_cli_writes_a_strip(tmp_path):
    g = _tiny("cdcgan")
    snap = snapshot.save_snapshot(g, presets.resolve("cdcgan").replace(g_width=16),
                                    tmp_path / "snap")
    png, npz = tmp_path / "strip.png", tmp_path / "strip.npz"
    r = run_cli("sample", snap, "--interpolate", 3, 4, "--steps", 7, "--class-from", "dress",
                "--class-to", "coat", "--grid", png, "--out", npz, "--scale", 2)
    assert r.returncode == 0, r.stderr
    assert Image.open(png).size == (2 * (7 * 30 + 2), 2 * 32)
    got = np.load(npz)
    assert got["images"].shape == (7, 28, 28) and list(got["seeds"]) == [3, 4]
    # each frame's main class; the middle frame is a tie, which goes to the first class
    assert list(got["labels"]) == [3, 3, 3, 3, 4, 4, 4] and got["class_weights"].shape == (7, 10)
    want, _ = interpolate(g, 3, 4, steps=7, class_from=3, class_to=4)
    assert np.array_equal(got["images"], want)
    r = run_cli("sample", snap, "--n", 2, "--class-from", "dress", "--out", npz)
    assert r.returncode == 2 and "--interpolate" in r.stderr
