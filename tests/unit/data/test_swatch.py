"""Swatches: GIMP patterns, any Pillow image upright, grey kept grey, bad files refused; the
fabric's crops never touch its held-out rows."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from fashiongan.data.fabric import fabric_of, fit_crop, open_fabric
from fashiongan.data.swatch import read_swatch
from fashiongan.errors import UserError
from tests.support.fabrics import write_pat


def test_gimp_pattern_reads_as_its_pixels(tmp_path):
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (50, 70, 3), dtype=np.uint8)
    assert np.array_equal(read_swatch(write_pat(tmp_path / "a.pat", rgb, "burlap")),
                          rgb.transpose(2, 0, 1))
    grey = rng.integers(0, 256, (48, 40), dtype=np.uint8)
    assert np.array_equal(read_swatch(write_pat(tmp_path / "g.pat", grey))[0], grey)
    rgba = np.dstack([rgb, np.full((50, 70), 255, np.uint8)])  # opaque alpha: the pixels
    assert np.array_equal(read_swatch(write_pat(tmp_path / "r.pat", rgba)),
                          rgb.transpose(2, 0, 1))


def test_colour_photo_without_colour_is_grey_and_exif_upright(tmp_path):
    a = np.random.default_rng(1).integers(0, 256, (60, 90), dtype=np.uint8)
    Image.fromarray(a).convert("RGB").save(tmp_path / "g.png")
    assert read_swatch(tmp_path / "g.png").shape == (1, 60, 90)
    im = Image.fromarray(np.random.default_rng(2).integers(0, 256, (60, 90, 3), np.uint8))
    exif = im.getexif()
    exif[0x0112] = 6  # "rotate 90 clockwise to view"
    im.save(tmp_path / "r.jpg", exif=exif, quality=95)
    assert read_swatch(tmp_path / "r.jpg").shape == (3, 90, 60)


@pytest.mark.parametrize("make, match", [
    (lambda p: p.write_text("not an image"), "not an image"),
    (lambda p: Image.new("RGB", (1, 500)).save(p, "PNG"), "too small"),
    (lambda p: p.write_bytes(b""), "empty"),
])
def test_bad_swatches_are_refused_in_one_line(tmp_path, make, match):
    p = tmp_path / "bad.png"
    make(p)
    with pytest.raises(UserError, match=match):
        read_swatch(p)


def test_decompression_bomb_is_refused_before_decoding(tmp_path):
    p = tmp_path / "bomb.png"
    Image.new("L", (10_000, 10_000)).save(p, "PNG")  # 100 MP of zeros: a 100-kB file
    assert p.stat().st_size < 1_000_000
    with pytest.raises(UserError, match="megapixels|bomb"):
        read_swatch(p)
    big = tmp_path / "bomb.pat"  # a .pat header claiming 100 MP
    write_pat(big, np.zeros((40, 40), np.uint8))
    data = bytearray(big.read_bytes())
    data[8:16] = (10_000).to_bytes(4, "big") * 2
    big.write_bytes(bytes(data))
    with pytest.raises(UserError, match="megapixels|bomb"):
        read_swatch(big)


def test_crop_fits_small_swatches_and_refuses_what_does_not_fit():
    assert fit_crop([(288, 384)], None) == 64  # the default
    assert fit_crop([(48, 64)], None) == 48  # a 64-px GIMP pattern less its held-out rows
    with pytest.raises(UserError, match="--crop 128"):
        fit_crop([(72, 96)], 128)
    with pytest.raises(UserError, match="multiple of 8"):
        fit_crop([(300, 300)], 60)
    with pytest.raises(UserError, match="smaller than the smallest crop"):
        fit_crop([(24, 300)], None)


def test_crops_never_come_from_the_held_out_rows():
    sw = np.zeros((1, 100, 120), np.uint8)
    fab = fabric_of([sw], 32, 0.25)
    held = fab.held_out_part(0).shape[1]
    assert held == 25 and fab.train_part(0).shape[1] == 75
    sw[:, -held:] = 255  # mark the held-out strip
    fab = fabric_of([sw], 32, 0.25)
    sampler = fab.batches(16, 0, torch.device("cpu"))
    for step in range(200):
        real, _ = sampler(step)
        assert real.max() < 1.0  # no marked pixel ever reaches training
    a, b = sampler(7)[0], sampler(7)[0]
    assert torch.equal(a, b)  # a pure function of the step


def test_open_fabric_mixes_grey_and_colour_as_colour(tmp_path):
    Image.new("L", (80, 80), 100).save(tmp_path / "g.png")
    Image.new("RGB", (90, 90), (1, 2, 3)).save(tmp_path / "c.png")
    fab = open_fabric([str(tmp_path / "g.png"), str(tmp_path / "c.png")])
    assert fab.info.channels == 3 and [s.shape[0] for s in fab.swatches] == [3, 3]
