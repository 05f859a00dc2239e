"""The texture generator's fine waves: with shifted phases (new models) an image's waves are the
canvas' waves translated, so harmonics keep their relation; with free phases (older snapshots)
they are not. The body computes only the pixels the halo keeps."""

from __future__ import annotations

import math

import pytest
import torch

from fashiongan.models.texture import (
    CELL,
    FINE_SHIFT,
    SHIFT,
    TextureGenerator,
    lattice_periods,
    whole_periods,
)


def _waves(g: TextureGenerator, shift: tuple[int, int]) -> torch.Tensor:
    """The fine waves of one 32-px crop whose first two phase draws encode `shift` pixels."""
    z = g.training_latents(1, torch.Generator().manual_seed(0))
    _, _, phase, pos = g.split(z)
    phase = torch.zeros_like(phase[:, g.periodic_dim:, :1, :1])
    phase[:, 0], phase[:, 1] = (2 * math.pi * s / g.fine_shift for s in shift)
    return g.fine_waves(phase, pos)[0]


@pytest.mark.parametrize("mode", ["shift", "free"])
def test_shifted_phases_translate_every_wave_together(mode):
    torch.manual_seed(0)
    g = TextureGenerator(resolution=32, upsample="resize", fine_dim=4, fine_phase=mode)
    with torch.no_grad():  # a fundamental, its harmonics and a diagonal, as a swatch gives
        g.set_fine_waves(torch.tensor([[0.26, 0.52, 0.79, 0.30], [0.0, 0.0, 0.26, 0.55]]),
                         torch.tensor([1.9, 0.3, 2.6, -1.0]))
    base, moved = _waves(g, (0, 0)), _waves(g, (5, 3))
    translated = torch.allclose(moved[:, :-3, :-5], base[:, 3:, 5:], atol=2e-4)
    assert translated == (mode == "shift")
    if mode == "shift":  # the learnt phases are where the swatch's were: sin(k . x + phi)
        assert torch.allclose(g.fine_phi, torch.tensor([1.9, 0.3, 2.6, -1.0]))
        x = torch.arange(base.shape[-1], dtype=torch.float32)
        assert torch.allclose(base[0, 0], torch.sin(0.26 * x + 1.9), atol=1e-5)


def test_older_snapshots_keep_their_free_phases_and_new_ones_shift():
    old = TextureGenerator(resolution=32, upsample="resize", fine_dim=8)
    assert old.fine_phase == "free" and "fine_phi" not in old.state_dict()
    kw = TextureGenerator.snapshot_kwargs()
    new = TextureGenerator(resolution=32, **kw)
    assert kw["fine_phase"] == "shift" and new.state_dict()["fine_phi"].shape == (8,)
    assert not new.fine_k.requires_grad and old.fine_k.requires_grad  # fixed at the swatch's
    assert new(new.training_latents(2, torch.Generator().manual_seed(1))).shape == (2, 3, 32, 32)
    with pytest.raises(ValueError, match="fine_phase"):
        TextureGenerator(resolution=32, upsample="resize", fine_dim=1, fine_phase="shift")


def test_the_body_computes_only_what_the_halo_keeps():
    """In training the body cuts each convolution's padded ring as it goes: with the same
    BatchNorm statistics, the pixels of a padded pass over the whole grid cut by the halo at
    the end (what eval mode computes, for the weave's frozen trace), on fewer pixels."""
    torch.manual_seed(0)
    g = TextureGenerator(resolution=32, g_width=8, **TextureGenerator.snapshot_kwargs())
    for m in g.modules():  # a trained G's statistics, not the identity
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.normal_(0, 0.1)
            m.running_var.uniform_(0.5, 2.0)
    z = g.training_latents(2, torch.Generator().manual_seed(1))
    seen = []
    g.body.fine[0].register_forward_hook(lambda mod, inp, out: seen.append(inp[0].shape[-1]))
    with torch.no_grad():
        whole = g.eval()(z)
        g.train()
        for m in g.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.eval()  # the running statistics, so both passes compute one function
        cut = g(z)
        tall = g(z[..., :-2])  # a grid 2 cells narrower: each axis cut by its own margin
        g.eval()
        tall_whole = g(z[..., :-2])
    assert tall.shape == tall_whole.shape == (2, 3, 32, 16)
    assert torch.allclose(tall, tall_whole, atol=1e-6)
    assert whole.shape == cut.shape == (2, 3, 32, 32)
    assert seen[:2] == [32 + 2 * g.halo * CELL, 36]  # the cut pass: two rings of the last convs
    assert torch.allclose(cut, whole, atol=1e-6)
    assert not torch.allclose(cut[:, :, 1:], cut[:, :, :-1], atol=1e-3)  # not a flat image
    with pytest.raises(ValueError, match="halo"):
        TextureGenerator(resolution=32, upsample="resize", halo=1)


def test_quadrature_waves_let_each_channel_take_its_own_phase():
    """With quadrature each wave enters as sin and cos of one argument, so the next convolution
    can put it at any phase per channel (a plaid's sett sits at different phases in red, green
    and blue); older snapshots have sin alone."""
    torch.manual_seed(0)
    g = TextureGenerator(resolution=32, upsample="resize", fine_dim=4, fine_phase="shift",
                         fine_quadrature=True)
    old = TextureGenerator(resolution=32, upsample="resize", fine_dim=4, fine_phase="shift")
    waves = _waves(g, (5, 3))
    assert waves.shape[0] == 8 and _waves(old, (5, 3)).shape[0] == 4
    assert torch.allclose(waves[:4] ** 2 + waves[4:] ** 2, torch.ones_like(waves[:4]),
                          atol=1e-5)
    assert g.body.fine[0].in_channels == old.body.fine[0].in_channels + 4
    assert TextureGenerator.snapshot_kwargs()["fine_quadrature"] is True
    assert g(g.training_latents(2, torch.Generator().manual_seed(1))).shape == (2, 3, 32, 32)


@pytest.mark.parametrize("shift_px", [FINE_SHIFT, SHIFT])
def test_a_short_translation_keeps_near_harmonics_in_step(shift_px):
    """A swatch's measured harmonics are multiples of its fundamental only to about 1/64 of an
    FFT bin (here 2.5e-4 rad/px off): a translation drawn from 4,096 px (the first
    shifted-phase models) turns that into a relative phase spread of ~1 rad, so G cannot rely
    on the harmonics to draw a plaid's thin lines; new models translate within 256 px."""
    g = TextureGenerator(resolution=32, upsample="resize", fine_dim=2, fine_phase="shift",
                         fine_shift=shift_px)
    k1 = 0.10482
    kx, ky = torch.tensor([k1, 2 * k1 - 2.5e-4]), torch.zeros(2)
    phase = 2 * math.pi * torch.rand(512, 2, 1, 1, generator=torch.Generator().manual_seed(0))
    phi = g.shifted_phase(phase, kx, ky)[:, :, 0, 0].double()  # fine_phi is zero
    lag = torch.remainder(phi[:, 1] - 2 * phi[:, 0] + math.pi, 2 * math.pi) - math.pi
    spread = (lag.max() - lag.min()).item()
    assert spread == pytest.approx(2.5e-4 * shift_px, rel=0.05)
    assert (spread < 0.07) == (shift_px == FINE_SHIFT)
    # and each wave's own phase still covers the circle: the crop is anywhere in the lattice
    assert torch.remainder(phi[:, 0], 2 * math.pi).std() > 1.5


def test_older_snapshots_keep_their_translation_range():
    assert TextureGenerator(resolution=32, upsample="resize", fine_dim=2,
                            fine_phase="shift").fine_shift == SHIFT
    assert TextureGenerator.snapshot_kwargs()["fine_shift"] == FINE_SHIFT == 256


def test_a_tile_keeps_a_lattice_s_harmonics_in_step():
    """Across a 256-px tile a plaid's 60-px sett becomes 4 periods; rounded each on its own its
    30-px harmonic would become 9 (not 8) and the tile would draw another pattern. Waves on the
    lattice of the first two stay its combinations; a wave off it is rounded on its own."""
    b1, b2 = torch.tensor([0.10482, 0.0]), torch.tensor([0.0, 0.10465])
    k = torch.stack([b1, b2, 2 * b1 - 2.5e-4, 3 * b1 - 3.5e-4, 5 * b1 + 6 * b2 + 3e-4,
                     torch.tensor([0.7123, 0.3311])], 1)
    periods = lattice_periods(k, (256, 192)) * torch.tensor([[256.0], [192.0]]) / (2 * math.pi)
    assert torch.allclose(periods, periods.round(), atol=1e-4)  # whole periods across the tile
    assert periods.round().tolist() == [[4, 0, 8, 12, 20, 29], [0, 3, 0, 0, 18, 10]]
    own = whole_periods(k[0], 256) * 256 / (2 * math.pi)
    assert own.round().tolist()[2:4] == [9, 13]  # what rounding each wave alone did
    # a 96-px tile would stretch the 60-px sett to 48 px: each wave is rounded on its own there
    assert torch.allclose(lattice_periods(k, (96, 96)),
                          torch.stack([whole_periods(k[0], 96), whole_periods(k[1], 96)]))
