"""Weaving: the generator is fully convolutional (a large output is the pieces it was computed
in, bit for bit, and a larger request a larger crop of the same canvas), a tile wraps around,
the same seed gives the same bytes, a morph runs from one seed's fabric to another's."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fashiongan import config
from fashiongan.data.info import DatasetInfo
from fashiongan.errors import UserError
from fashiongan.metrics.fabric import seam_score
from fashiongan.models import build_generator
from fashiongan.models.texture import CELL
from fashiongan.texture.png import save_image
from fashiongan.texture.weave import Loom, NoiseField, tile_offset


@pytest.fixture(scope="module", params=["float32", "bf16"])
def loom(request):
    cfg = config.from_dict(dict(model="texture", latent_dim=4, g_width=4))
    torch.manual_seed(0)
    g = build_generator(cfg, DatasetInfo(32, 3))
    for m in g.modules():  # BatchNorm statistics of a trained G, not the identity
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.normal_(0, 0.1)
            m.running_var.uniform_(0.5, 2.0)
    return Loom(g, piece=8, precision=request.param)  # 64-px pieces: several per image


def _tolerance(loom) -> int:
    """uint8 levels a recomputation may differ by: float rounding, or bf16's 8-bit mantissa."""
    return 1 if loom.dtype == torch.float32 else 3


def test_large_output_equals_its_pieces_bit_for_bit(loom):
    img = loom.weave(5, 200, 136)  # 4 x 3 pieces of 64 px, the last ones cut
    field = NoiseField(loom.g, 5)
    side = loom.piece * CELL
    for py in range(3):
        for px in range(4):
            piece = loom.piece_at(field, px, py)  # computed alone
            region = img[py * side:(py + 1) * side, px * side:(px + 1) * side]
            assert np.array_equal(region, piece[:region.shape[0], :region.shape[1]])


def test_piece_is_the_generator_on_its_noise_window(loom):
    """The traced, frozen body computes G's own function (to the precision's rounding)."""
    g, field = loom.g, NoiseField(loom.g, 9)
    h, p = g.halo, loom.piece
    with torch.no_grad():
        direct = g(field.window(p - h, -h, p + 2 * h, p + 2 * h))
    direct = ((direct[0] + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)
    diff = np.abs(direct.permute(1, 2, 0).numpy().astype(int)
                  - loom.piece_at(field, 1, 0).astype(int))
    assert diff.max() <= _tolerance(loom) and diff.mean() < 0.01 * _tolerance(loom) ** 2


def test_larger_request_is_a_larger_crop_of_the_same_canvas(loom):
    small, large = loom.weave(3, 70, 90), loom.weave(3, 150, 200)
    assert np.array_equal(large[:90, :70], small)
    assert not np.array_equal(loom.weave(4, 70, 90), small)  # another seed, another fabric


def test_tile_wraps_around_exactly(loom):
    tile = loom.weave(2, 96, 64, tile=True)
    field = loom.field(2, 96, 64, tile=True)
    twice = np.concatenate(list(loom.strips(field, 192, 128)))  # the periodic canvas
    twice = np.roll(twice, tile_offset(2, 96, 64), (0, 1))  # where the tile starts in it
    diff = np.abs(twice.astype(int) - np.tile(tile, (2, 2, 1)).astype(int))
    # rounding at another offset only
    assert diff.max() <= _tolerance(loom) and diff.mean() < 0.01 * _tolerance(loom) ** 2
    # one line of a texture varies from the next, so the wrap seams are compared with interior
    # lines over several tiles: as smooth on average (an unwrapped canvas is not, see
    # tests/unit/metrics/test_fabric_scores.py)
    tiles = [loom.weave(s, 96, 64, tile=True) for s in range(8)]
    at_seam = np.mean([seam_score(t) for t in tiles])
    inside = np.mean([seam_score(np.roll(t, (17, 40), (0, 1))) for t in tiles])
    assert at_seam == pytest.approx(inside, rel=0.15)


def test_same_seed_same_bytes(loom, tmp_path):
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    save_image(a, loom.weave(7, 100, 60))
    save_image(b, loom.weave(7, 100, 60))
    assert a.read_bytes() == b.read_bytes()
    from PIL import Image

    assert np.array_equal(np.asarray(Image.open(a)), loom.weave(7, 100, 60))


def test_morph_starts_at_the_seed_and_changes_across(loom):
    plain, morph = loom.weave(1, 256, 64), loom.weave(1, 256, 64, morph_seed=2)
    left = np.abs(plain[:, :8].astype(int) - morph[:, :8].astype(int)).mean()
    right = np.abs(plain[:, -64:].astype(int) - morph[:, -64:].astype(int)).mean()
    assert 5 * left < right  # the same fabric at the left edge, another at the right


@pytest.mark.parametrize("w, h, tile, match", [
    (0, 10, False, "must be > 0"), (-3, 10, False, "must be > 0"),
    (40000, 8, False, "limit"), (100, 64, True, "multiple of 8"), (16384, 16, True, "limit"),
])
def test_sizes_out_of_range_are_refused(loom, w, h, tile, match):
    with pytest.raises(UserError, match=match):
        loom.field(0, w, h, tile)


def test_bf16_weave_is_the_float32_weave_to_a_few_levels(loom):
    other = Loom(loom.g, piece=8, precision="float32" if loom.dtype == torch.bfloat16
                 else "bf16")
    a, b = loom.weave(6, 160, 96).astype(int), other.weave(6, 160, 96).astype(int)
    assert not np.array_equal(a, b)  # the two precisions really differ
    assert np.abs(a - b).max() <= 3 and np.abs(a - b).mean() < 0.3


def test_auto_precision_follows_the_device(monkeypatch):
    from fashiongan.texture import weave

    cpu = torch.device("cpu")
    monkeypatch.setattr(weave, "fast_bf16", lambda device: True)
    assert weave.weave_dtype("auto", cpu) == torch.bfloat16
    assert weave.weave_dtype("float32", cpu) == torch.float32
    monkeypatch.setattr(weave, "fast_bf16", lambda device: False)
    assert weave.weave_dtype("auto", cpu) == torch.float32
    assert weave.weave_dtype("bf16", cpu) == torch.bfloat16  # asked for: emulated, still exact
    with pytest.raises(UserError, match="float32"):
        weave.weave_dtype("fp8", cpu)
