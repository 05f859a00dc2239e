"""Design from a photo, measured: projection of held-out test images into the shipped generator.

    python benchmarks/projection.py --n 100 --threads 1
    python benchmarks/projection.py --n 100 --threads 1 --figure docs/img/projection.png

Two inputs per test image (evenly spaced over the 10,000-image test split, never trained on
by G or the evaluator): the 28-px image itself, and a photo made from it (the garment in one
of eight colours on an off-white sheet, enlarged to 64-96 px, at a random place on a larger
canvas, PNG) that goes through `fashiongan project`'s conversion. Each is projected with
`--class auto` (the class is searched too) and the defaults of generate/project.py.

Reconstruction error, against the original 28-px test image:
* pixel MSE, pixels in [0, 1];
* feature distance: Euclidean distance of the evaluator's 128-d features (its FID space).
Baseline: the best of --random (1,000) samples of the image's true class (seeds 0..999), the
best taken per metric. Goal: projection under half of it. Class kept: the evaluator's class
of the reconstruction equals its class of the original (goal >= 90%); also given against the
true label. Seconds per image: projection (and conversion) wall time, one image at a time.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))  # tests.support.datasets.shop_photo: the photos the tests use too

COLOURS = [(200, 40, 60), (40, 90, 200), (30, 140, 60), (120, 60, 30), (90, 90, 90),
           (180, 120, 20), (110, 40, 140), (20, 20, 30)]


def photos(images: np.ndarray, seed: int) -> list[bytes]:
    """Each test image as a PNG shop photo (colour, light sheet, 64-96 px, off-centre)."""
    from tests.support.datasets import shop_photo

    rng = np.random.default_rng(seed)
    out = []
    for i, img in enumerate(images):
        size = int(rng.integers(64, 97))
        h, w = size + int(rng.integers(8, 60)), size + int(rng.integers(8, 60))
        at = (int(rng.integers(0, h - size + 1)), int(rng.integers(0, w - size + 1)))
        im = shop_photo(img, size, (h, w), at, COLOURS[i % len(COLOURS)],
                        int(rng.integers(225, 256)))
        buf = io.BytesIO()
        im.save(buf, format="PNG")
        out.append(buf.getvalue())
    return out


def best_random(g, originals, labels, n_random):
    """Per image: the least pixel MSE and feature distance among n_random samples of its
    true class (seeds 0..n_random-1, the same samples for every image of a class)."""
    from fashiongan.generate.sampling import sample
    from fashiongan.metrics.features import extract

    f_orig, _ = extract(originals)
    mse, feat = np.empty(len(originals)), np.empty(len(originals))
    for c in np.unique(labels):
        imgs = sample(g, n_random, seed=0, labels=int(c))
        f, _ = extract(imgs)
        px = torch.from_numpy(imgs).float().div(255).flatten(1)
        for i in np.flatnonzero(labels == c):
            o = torch.from_numpy(originals[i]).float().div(255).flatten()
            mse[i] = (px - o).pow(2).mean(1).min().item()
            feat[i] = (f - f_orig[i]).norm(dim=1).min().item()
    return mse, feat


def errors(recon, originals):
    from fashiongan.metrics.features import extract

    f_r, c_r = extract(recon)
    f_o, c_o = extract(originals)
    mse = ((recon / 255.0 - originals / 255.0) ** 2).mean((1, 2))
    return mse, (f_r - f_o).norm(dim=1).numpy(), c_r.numpy(), c_o.numpy()


def run(g, targets, seed, convert=None):
    """Project one at a time (as the CLI does per photo); returns (Projection parts, s/img)."""
    from fashiongan.generate.photo import read_photo, to_dataset_form
    from fashiongan.generate.project import project

    recon, inputs, latents, weights, times = [], [], [], [], []
    for i, t in enumerate(targets):
        t0 = time.perf_counter()
        x = to_dataset_form(read_photo(t), 1, 28) if convert else t
        r = project(g, x[None], "auto", seed=seed + i)
        times.append(time.perf_counter() - t0)
        recon.append(r.images[0])
        inputs.append(x)
        latents.append(r.latents[0])
        weights.append(r.class_weights[0])
        print(f"  {i + 1}/{len(targets)} {times[-1]:.1f} s", file=sys.stderr, flush=True)
    return (np.stack(recon), np.stack(inputs), np.stack(latents), np.stack(weights),
            float(np.mean(times)))


def figure(g, path, photo_bytes, inputs, latents, weights, rows=4):
    """Per row: the photo, its converted form, the reconstruction, 4 variations (strength
    0.6) and a restyle into another category."""
    from PIL import Image

    from fashiongan.fileio import atomic_write
    from fashiongan.generate.project import render
    from fashiongan.generate.variations import restyled, varied
    from fashiongan.imageio import grid

    restyle_to = {0: "dress", 1: "dress", 2: "coat", 3: "coat", 4: "dress", 5: "sneaker",
                  6: "coat", 7: "sandal", 8: "ankle boot", 9: "sneaker"}
    cells = []
    for i in range(rows):
        photo = Image.open(io.BytesIO(photo_bytes[i])).convert("RGB")
        side = max(photo.size)
        sq = Image.new("RGB", (side, side), (255, 255, 255))
        sq.paste(photo, ((side - photo.width) // 2, (side - photo.height) // 2))
        z = torch.from_numpy(latents[i])
        w = torch.from_numpy(weights[i])
        zs = torch.cat([z[None], varied(z, 4, 0.6, seed=i)])
        recon = render(g, zs, w.expand(len(zs), -1))
        other = restyled(g, restyle_to[int(w.argmax())])
        style = render(g, z[None], other[None])
        grey = [inputs[i], *recon, style[0]]
        cells += [np.asarray(sq.resize((28, 28), Image.LANCZOS)),
                  *(np.repeat(c[..., None], 3, 2) for c in grey)]  # one grid: all RGB
    img = grid(np.stack(cells), rows, 8, scale=3)
    atomic_write(path, lambda tmp: img.save(tmp, format="PNG"))
    print(f"wrote {path}: photo | converted | reconstruction | 4 variations | restyle")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100, help="test images (default: %(default)s)")
    ap.add_argument("--random", type=int, default=1000, help="random samples per class")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--figure", help="also write the README figure here")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    from fashiongan import data
    from fashiongan.cli.common import default_checkpoint
    from fashiongan.generate import project as P
    from fashiongan.snapshot import load_generator

    g = load_generator(default_checkpoint())
    x, y = data.load("test")
    idx = np.linspace(0, len(x) - 1, args.n).round().astype(int)
    originals, labels = x.numpy()[idx], y.numpy()[idx]
    t0 = time.perf_counter()
    base_mse, base_feat = best_random(g, originals, labels, args.random)
    print(f"best of {args.random} random: {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    shots = photos(originals, args.seed)
    rows = []
    for name, targets, convert in (("test images (28 px)", originals, False),
                                   ("photos of them (colour, light, 64-96 px)", shots, True)):
        recon, inputs, latents, weights, spi = run(g, targets, args.seed, convert)
        mse, feat, c_r, c_o = errors(recon, originals)
        rows.append((name, mse.mean(), feat.mean(), (c_r == c_o).mean(), (c_r == labels).mean(),
                     spi, np.abs(inputs.astype(float) - originals).mean()))
        if convert and args.figure:
            figure(g, args.figure, shots, inputs, latents, weights)
    print(f"\n{args.n} test images, shipped generator, --class auto, {P.STARTS} starts, "
          f"{P.REFINE} refined, {P.STEPS} Adam steps, torch threads {args.threads}\n")
    best = f"best of {args.random:,}"
    print(f"| input | pixel MSE: projection / {best} (ratio) | feature distance: "
          f"projection / {best} (ratio) | class kept (evaluator) | true class | "
          f"s / image | converted vs original (mean abs, 0-255) |")
    print("|---|---|---|---|---|---|---|")
    bm, bf = base_mse.mean(), base_feat.mean()
    for name, m, f, kept, true, spi, conv in rows:
        print(f"| {name} | {m:.4f} / {bm:.4f} ({m / bm:.2f}) | {f:.2f} / {bf:.2f} ({f / bf:.2f})"
              f" | {100 * kept:.0f}% | {100 * true:.0f}% | {spi:.2f} | {conv:.1f} |")

if __name__ == "__main__":
    main()
