"""A realistic test catalogue from Fashion-MNIST's shapes: colour garments on a light studio
background with a soft shadow, each filled with a colour and a fabric drawn from its class's
distribution and shaded by the original grey levels, so folds and seams show.

    python benchmarks/catalogue.py OUT --train 12000 --test 1000 --seed 0
    fashiongan data import OUT --out cat64 --resolution 64 --split names
    fashiongan data import OUT --out cat128 --resolution 128 --split names

OUT/<class>/train-NNNNN.png come from Fashion-MNIST's training images (the first --train),
OUT/<class>/test-NNNNN.png from its test images (the first --test); `--split names` makes the
import keep exactly that split. Photos are 64-160 px square (a few cropped loosely, so the
garment sits off-centre); OUT/classes.json gives the classes their real names. The same seed
writes the same bytes (each image's generator is seeded by (seed, split, index)).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

from catalogue_fabrics import FABRICS, colour  # noqa: E402

from fashiongan import data  # noqa: E402
from fashiongan.data.classfolders import folder_name  # noqa: E402

ALL = ["red", "pink", "orange", "yellow", "green", "teal", "blue", "purple", "white", "grey",
       "black", "navy"]
# per class: fabric weights, base-colour families, print-colour families
CLASSES = [
    ({"plain": 4, "stripes": 2, "dots": 1, "knit": 1}, ALL, ["white", "navy", "red", "black"]),
    ({"twill": 5, "plain": 3, "checks": 1, "burlap": 1},
     ["blue", "navy", "black", "khaki", "grey", "camel"], ["black", "white", "brown"]),
    ({"knit": 5, "plain": 3, "stripes": 2}, ALL + ["camel", "brown"], ["white", "navy", "red"]),
    ({"florals": 4, "plain": 3, "dots": 2, "stripes": 1},
     ["red", "pink", "blue", "navy", "black", "yellow", "green", "white", "purple"],
     ["white", "pink", "yellow", "red", "blue"]),
    ({"plain": 4, "checks": 2, "twill": 1, "burlap": 2},
     ["camel", "navy", "black", "grey", "green", "red", "brown", "khaki"],
     ["black", "brown", "red", "white"]),
    ({"plain": 5, "leather": 4, "leopard": 1}, ["brown", "camel", "black", "red", "white",
                                                "yellow"], ["brown"]),
    ({"checks": 4, "stripes": 3, "plain": 3}, ["white", "blue", "pink", "grey", "red", "green",
                                               "navy"], ["navy", "white", "red", "black"]),
    ({"plain": 6, "twill": 2, "stripes": 1}, ["white", "black", "red", "blue", "grey", "green"],
     ["white", "black", "red"]),
    ({"leather": 4, "plain": 3, "leopard": 1, "checks": 1, "burlap": 1},
     ["brown", "camel", "black", "red", "navy", "khaki"], ["black", "camel", "white"]),
    ({"leather": 5, "plain": 4, "knit": 1}, ["brown", "black", "camel", "grey", "khaki"],
     ["brown"]),
]
SIZES = (64, 80, 96, 112, 128, 144, 160)
OFF_CENTRE = 0.15  # share of photos cropped loosely, the garment off the centre


def render(grey: np.ndarray, label: int, rng: np.random.Generator,
           kind: str | None = None, placed: list | None = None) -> np.ndarray:
    """One 28 x 28 uint8 Fashion-MNIST image as a catalogue photo, uint8 S x S x 3 (kind: the
    fabric, else drawn from the class's weights; `placed` gets the grey levels as placed in the
    photo, S x S in [0, 1])."""
    weights, base, prints = CLASSES[label]
    kinds = list(weights)
    p = np.array([weights[k] for k in kinds], float)
    drawn = kinds[rng.choice(len(kinds), p=p / p.sum())]
    kind = kind or drawn
    size = int(SIZES[rng.integers(len(SIZES))])
    c1, c2 = colour(rng, base), colour(rng, prints)
    if np.abs(c1 - c2).sum() < 0.3:  # a print must show: its colour apart from the base's
        c2 = 1 - c1
    # the garment's own box: most fill the frame, a few sit smaller and off the centre
    off = rng.random() < OFF_CENTRE
    g = int(round(size * (rng.uniform(0.62, 0.78) if off else rng.uniform(0.84, 0.96))))
    slack = size - g
    oy, ox = ((rng.integers(0, slack + 1, 2)) if off else (np.full(2, slack // 2)
                                                             + rng.integers(-1, 2, 2)))
    oy, ox = int(np.clip(oy, 0, slack)), int(np.clip(ox, 0, slack))
    big = np.asarray(Image.fromarray(grey).resize((g, g), Image.BICUBIC), np.float32) / 255
    shade = np.zeros((size, size), np.float32)
    shade[oy:oy + g, ox:ox + g] = big
    if placed is not None:
        placed.append(shade)
    alpha = np.clip(shade * 5, 0, 1)  # garment coverage, soft at the outline
    # light and fold: the grey level relative to the garment's brightest, 0.45-1.1 of the colour
    top = max(float(np.percentile(big[big > 0.1], 95)) if (big > 0.1).any() else 1.0, 1e-3)
    light = np.clip(0.45 + 0.65 * shade / top, 0, 1.1)
    fabric = FABRICS[kind](size, rng, c1, c2)
    garment = np.clip(fabric * light[..., None], 0, 1)
    # studio background: off-white, a warm or cool cast, brighter at the top; a soft shadow
    bg_level = rng.uniform(0.88, 0.97)
    cast = rng.normal(0, 0.012, 3)
    yy = np.linspace(0, 1, size, dtype=np.float32)[:, None, None]
    bg = np.clip(bg_level + cast - 0.05 * yy, 0, 1) * np.ones((1, size, 3), np.float32)
    sh = Image.fromarray((alpha * 255).astype(np.uint8)).filter(
        ImageFilter.GaussianBlur(size * rng.uniform(0.02, 0.04)))
    shadow = np.roll(np.asarray(sh, np.float32) / 255, (max(1, size // 40), max(1, size // 60)),
                     (0, 1))
    bg = bg * (1 - rng.uniform(0.2, 0.35) * shadow[..., None])
    out = bg * (1 - alpha[..., None]) + garment * alpha[..., None]
    return (np.clip(out, 0, 1) * 255).round().astype(np.uint8)


def image_rng(seed: int, split: str, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, 0 if split == "train" else 1, index])


def write(out: Path, n_train: int, n_test: int, seed: int = 0, data_dir=None) -> dict:
    """Write the catalogue's class folders under `out`; returns {split: count per class}."""
    out.mkdir(parents=True, exist_ok=True)
    folders = [folder_name(n) for n in data.CLASS_NAMES]
    (out / "classes.json").write_text(json.dumps({"folders": folders,
                                                  "names": list(data.CLASS_NAMES)}))
    counts = {}
    for split, n in (("train", n_train), ("test", n_test)):
        x, y = data.load(split, data_dir)
        x, y = x[:n].numpy(), y[:n].numpy()
        for i in range(len(x)):
            d = out / folders[y[i]]
            d.mkdir(exist_ok=True)
            photo = render(x[i], int(y[i]), image_rng(seed, split, i))
            Image.fromarray(photo, "RGB").save(d / f"{split}-{i:05d}.png", compress_level=1)
        counts[split] = np.bincount(y, minlength=10).tolist()
    return counts


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out", type=Path)
    p.add_argument("--train", type=int, default=12_000,
                   help="the first N of Fashion-MNIST's training images")
    p.add_argument("--test", type=int, default=1_000,
                   help="the first N of Fashion-MNIST's test images")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-dir", default=None)
    args = p.parse_args(argv)
    counts = write(args.out, args.train, args.test, args.seed, args.data_dir)
    print(json.dumps(counts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
