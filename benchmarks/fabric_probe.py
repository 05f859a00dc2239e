"""Why a fabric run's G stops improving: what its D could see, and what G's average is worth.

    python benchmarks/fabric_probe.py probe RUN [--steps 300]  # a new D against the final G
    python benchmarks/fabric_probe.py spectrum RUN    # G's fine detail against the photo's
    python benchmarks/fabric_probe.py average RUN     # SIFID of raw G, its EMA, the EMA before

On the twill and the knit D's hinge loss sits at 2.00 (it tells nothing apart) from a few
hundred iterations on, whatever its width, learning rate, steps, spectral norm or R1. `probe`
asks whether that is D's capacity or the game: it trains a new D of the run's own kind on the
run's own crops against the finished G, held fixed; if that D separates them, a D can, and it is
G that follows D during training. `spectrum` compares the median power per frequency band
(median: the lattice's peaks do not count) of G's weave with the held-out part of the swatch.
`average` scores the training state's raw G and its EMA, and the EMA of the state before.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fashiongan import config as configs
from fashiongan.data.fabric import CropSampler
from fashiongan.metrics.sifid import early_net, sifid
from fashiongan.models import build_discriminator, build_generator
from fashiongan.texture.fabricdir import load_fabric, to_hwc
from fashiongan.texture.weave import Loom
from fashiongan.training.objective import d_loss
from fashiongan.training.states import list_states, load_state

BANDS = (0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.71)  # band edges, cycles per pixel
PAIRS = list(zip(BANDS[:-1], BANDS[1:], strict=True))
SEEDS = 8


def _state_and_models(run: Path, back: int = 0):
    """The run's newest training state (and the `back` before it), its config and fabric."""
    paths = list_states(run / "checkpoints")
    if len(paths) <= back:
        raise SystemExit(f"{run}: {back + 1} training state(s) needed in checkpoints/")
    states = [load_state(p) for p in paths[len(paths) - 1 - back:][::-1]]
    cfg = configs.from_dict(json.loads(states[0]["config"]), str(paths[-1]))
    return states, cfg, load_fabric(run)


def _generator(cfg, fabric, weights: dict) -> torch.nn.Module:
    g = build_generator(cfg, fabric.info)
    g.load_state_dict(weights)
    return g


def probe(run: Path, steps: int) -> None:
    (state,), cfg, fabric = _state_and_models(run)
    torch.manual_seed(0)
    g = _generator(cfg, fabric, state["G"]).train()  # as D met it: batch statistics
    d = build_discriminator(cfg, fabric.info)
    opt = torch.optim.Adam(d.parameters(), cfg.optim.d_learning_rate,
                           betas=(cfg.optim.beta1, cfg.optim.beta2))
    crops = CropSampler([fabric.train_part(i) for i in range(len(fabric.swatches))],
                        fabric.crop, cfg.schedule.batch_size, 0, torch.device("cpu"))
    noise = torch.Generator().manual_seed(1)
    print(f"{run.name}: a new D against G of step {state['step']}, held fixed")
    print(f"{'step':>5} {'D loss':>10} {'D(real)':>8} {'D(fake)':>8}")
    for step in range(steps + 1):
        real, _ = crops(step)
        with torch.no_grad():
            fake = g(g.training_latents(real.shape[0], noise))
        r, f = d(real), d(fake)
        loss = d_loss(cfg.objective.loss, r, f)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % 50 == 0:
            print(f"{step:>5} {loss.item():>10.3f} {r.mean().item():>8.3f} "
                  f"{f.mean().item():>8.3f}")


def _band_power(img: np.ndarray) -> np.ndarray:
    grey = img.astype(np.float64)
    grey = grey.mean(-1) if grey.ndim == 3 else grey
    power = np.abs(np.fft.fft2(grey - grey.mean())) ** 2 / grey.size
    fy, fx = np.fft.fftfreq(grey.shape[0])[:, None], np.fft.fftfreq(grey.shape[1])[None, :]
    r = np.hypot(fx, fy)
    return np.array([np.median(power[(r >= a) & (r < b)]) for a, b in PAIRS])


def spectrum(run: Path) -> None:
    (state,), cfg, fabric = _state_and_models(run)
    held = to_hwc(fabric.held_out_part(0))
    h, w = held.shape[:2]
    loom = Loom(_generator(cfg, fabric, state["G_ema"]))
    ratio = np.mean([_band_power(loom.weave(s, w, h)) for s in range(4)], 0) / _band_power(held)
    print(f"{run.name}: median power of G's weave / the held-out part's, per band (cycles/px)")
    print(" ".join(f"{a:.2f}-{b:.2f}" for a, b in PAIRS))
    print(" ".join(f"{v:>9.2f}" for v in ratio))


def average(run: Path) -> None:
    (state, before), cfg, fabric = _state_and_models(run, back=1)
    train, held = to_hwc(fabric.train_part(0)), to_hwc(fabric.held_out_part(0))
    h, w = held.shape[:2]
    net = early_net()
    print(f"{run.name}: SIFID over {SEEDS} seeds (floor {sifid(net, held, train):.2f})")
    for name, weights in ((f"G, step {state['step']}", state["G"]),
                          (f"EMA, step {state['step']}", state["G_ema"]),
                          (f"EMA, step {before['step']}", before["G_ema"])):
        loom = Loom(_generator(cfg, fabric, weights))
        v = [sifid(net, loom.weave(s, w, h), train) for s in range(SEEDS)]
        print(f"  {name:<16} {np.mean(v):6.2f} ± {np.std(v):.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=("probe", "spectrum", "average"))
    ap.add_argument("run", type=Path)
    ap.add_argument("--steps", type=int, default=300)
    a = ap.parse_args()
    torch.set_num_threads(1)
    {"probe": lambda: probe(a.run, a.steps), "spectrum": lambda: spectrum(a.run),
     "average": lambda: average(a.run)}[a.what]()


if __name__ == "__main__":
    main()
