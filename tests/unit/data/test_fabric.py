"""A fabric's strongest spatial frequencies, and a new texture generator started at them."""

from __future__ import annotations

import math

import numpy as np
import torch

from fashiongan.data.fabric import open_fabric, refine_waves, strongest_waves, wave_phases
from fashiongan.texture.train import train_fabric
from fashiongan.training import states
from tests.support.fabrics import woven


def test_the_strongest_wave_of_a_grating_is_its_wave_number():
    y, x = np.mgrid[0:128, 0:160].astype(np.float64)
    k = (2 * math.pi * 12 / 160, -2 * math.pi * 9 / 128)  # whole periods: one FFT bin
    img = 128 + 60 * np.sin(k[0] * x + k[1] * y) + 20 * np.sin(0.03 * x)  # + slow lighting
    found = strongest_waves(img[None].astype(np.uint8), 1)[:, 0].double()
    sign = 1 if found[0] * k[0] >= 0 else -1  # k and -k are one wave
    assert torch.allclose(sign * found, torch.tensor(k, dtype=torch.float64), atol=1e-6)


def test_the_phases_of_a_fundamental_and_its_harmonic_are_found():
    """What draws a pattern's shape is its harmonics' phases: sin(k . x + phi), x = (col, row)."""
    y, x = np.mgrid[0:96, 0:96].astype(np.float64)
    k = (2 * math.pi * 6 / 96, 2 * math.pi * 3 / 96)
    img = (128 + 60 * np.sin(k[0] * x + k[1] * y + 0.7)
           + 30 * np.sin(2 * k[0] * x + 2 * k[1] * y - 2.0))
    part = np.repeat(img[None], 3, 0).round().astype(np.uint8)
    waves = strongest_waves(part, 2)
    assert torch.allclose(waves, torch.tensor([[k[0], 2 * k[0]], [k[1], 2 * k[1]]]).float())
    assert _same_angles(wave_phases(part, waves), [0.7, -2.0])
    shifted = np.roll(part, 4, axis=2)  # 4 px right: each phase falls by k_x * 4
    assert _same_angles(wave_phases(shifted, waves), [0.7 - 4 * k[0], -2.0 - 8 * k[0]])


def test_a_wave_between_two_bins_is_refined_to_its_wave_number():
    """A 24-px check rotated 2 degrees falls between FFT bins; fixed there, its phase would be
    off by a radian across a crop. Refined, k is within 1/64 of a bin of the truth."""
    y, x = np.mgrid[0:288, 0:384].astype(np.float64)
    a = math.radians(2)
    k = (2 * math.pi / 24 * math.cos(a), -2 * math.pi / 24 * math.sin(a))
    img = 128 + 60 * np.sin(k[0] * x + k[1] * y + 0.4)
    part = img[None].round().astype(np.uint8)
    coarse = strongest_waves(part, 1)
    fine = refine_waves(part, coarse)
    truth = torch.tensor(k, dtype=torch.float64)[:, None]
    bin_x = 2 * math.pi / 384
    assert (coarse.double() - truth).abs().max() > bin_x / 8  # the bin alone is off
    assert (fine.double() - truth).abs().max() < bin_x / 64, fine - truth.float()


def test_a_wave_only_in_colour_is_found_with_its_phase():
    """A plaid's sett is colour blocks more than light and dark: red and green stripes of one
    grey level are invisible to the grey image, and must still be found, with the phase of its
    strongest channel."""
    y, x = np.mgrid[0:96, 0:128].astype(np.float64)
    k = 2 * math.pi * 4 / 128  # 32-px stripes
    s = 60 * np.sin(k * x + 0.3)
    weak = 10 * np.sin(2 * math.pi * 16 / 96 * y)  # a fainter 6-px ribbing in the light
    part = np.stack([128 + s + weak, 128 - 0.7 * s + weak,
                     128 - 0.3 * s + weak]).round().astype(np.uint8)
    assert np.ptp(part.astype(np.float64).mean(0) - 128 - weak) < 1.0  # grey: no stripes
    waves = strongest_waves(part, 2)
    assert torch.allclose(waves[:, 0].abs(), torch.tensor([k, 0.0]), atol=1e-6)
    assert _same_angles(wave_phases(part, waves[:, :1]), [0.3])  # red's, the strongest
    assert torch.equal(refine_waves(part, waves[:, :1]), waves[:, :1])


def _same_angles(a: torch.Tensor, b: list[float]) -> bool:
    return bool((torch.remainder(a - torch.tensor(b) + math.pi, 2 * math.pi) - math.pi)
                .abs().max() < 0.01)


def test_a_twills_strongest_wave_is_its_diagonal():
    """The woven twill (3-px threads, 2/2: the diagonal repeats every 12 px along a thread, so
    12 / sqrt(2) = 8.5 px apart) is found at its diagonal's period and direction, not at the
    lighting."""
    swatch = woven("twill", 192, seed=0).transpose(2, 0, 1)
    kx, ky = strongest_waves(swatch, 1)[:, 0].tolist()
    period = 2 * math.pi / math.hypot(kx, ky)
    angle = math.degrees(math.atan2(ky, kx)) % 180
    assert 8.0 < period < 9.0, period
    assert 30 < angle < 60 or 120 < angle < 150, angle


def test_a_new_fabric_run_starts_its_fine_waves_at_the_fabric(tmp_path):
    from PIL import Image

    Image.fromarray(woven("twill", 128, seed=1)).save(tmp_path / "t.png")
    fabric = open_fabric([str(tmp_path / "t.png")], 32, 0.25)
    train_fabric([str(tmp_path / "t.png")], str(tmp_path / "run"), crop=32, progress=False,
                 overrides=["g_width=4", "batch_size=2", "iterations=1", "threads=1",
                            "checkpoint_interval=1", "sample_interval=1", "log_interval=1"])
    want = refine_waves(fabric.train_part(0), strongest_waves(fabric.train_part(0), 8))
    phi = wave_phases(fabric.train_part(0), want)
    state = states.load_state(tmp_path / "run")
    for net in ("G", "G_ema"):  # the lattice fixed; the phases one Adam step (lr 2e-4) away
        assert torch.equal(state[net]["fine_k"], want), net
        got = state[net]["fine_phi"]
        assert torch.allclose(got, phi, atol=5e-4), net
        assert (got - phi).abs().max() > 0 or net == "G_ema", net  # and really trained
