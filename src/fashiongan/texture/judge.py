"""`texture evaluate`: a fabric run (or any image) against its swatch, every score beside the
real fabric's own.

Protocol (per swatch; a run's own split, so nothing scored as held out was trained on):
  SIFID     generated images the size of the held-out strip (seeds 0..n-1) against the
            training part, mean and spread; the floor is the held-out strip against the
            training part (same size, so the same sample-size bias).
  copy      the share of near-verbatim swatch patches (metrics/fabric.py) in those images,
            against the whole swatch; the floor is the held-out strip against the training part.
  seam      TILE-px `--tile` weaves of seeds 0..n-1 (mean, spread), an untiled weave of the same
            size, and plain repetition of the swatch (the swatch itself tiled).
  diversity between the seeds' images, against windows of the whole swatch (null when the
            swatch holds only one window of their size).
An image is scored the same way against a swatch split with `holdout`: SIFID over windows of
the held-out strip's size, copy and seam on the whole image.
"""

from __future__ import annotations

import numpy as np

from fashiongan.data.fabric import Fabric, fabric_of
from fashiongan.data.swatch import read_swatch
from fashiongan.errors import UserError
from fashiongan.metrics import fabric as scores
from fashiongan.metrics.sifid import early_net, sifid
from fashiongan.texture.fabricdir import to_hwc

TILE = 256


def _stats(values: list[float]) -> dict:
    a = np.asarray(values, np.float64)
    return {"mean": float(a.mean()), "std": float(a.std()), "min": float(a.min()),
            "max": float(a.max()), "n": len(a)}


def _finite(x: float) -> float | None:
    return None if x != x else x  # NaN: JSON has no such number


def _parts(fabric: Fabric, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (to_hwc(fabric.train_part(i)), to_hwc(fabric.held_out_part(i)),
            to_hwc(fabric.swatches[i]))


def _check_held(held: np.ndarray) -> None:
    if min(held.shape[:2]) < 32:
        raise UserError(f"the held-out strip is {held.shape[1]}x{held.shape[0]} px; SIFID needs "
                        "32 px a side: use a larger swatch or a larger --holdout")


def floor(net, train, held) -> dict:
    return {"sifid": sifid(net, held, train), "copy": scores.copy_score(held, train)}


def evaluate_run(loom, fabric: Fabric, seeds: int = 8, net=None) -> dict:
    """Scores of a texture generator (a weave.Loom) on each of its fabric's swatches."""
    net = net or early_net()
    per = []
    for i in range(len(fabric.swatches)):
        train, held, whole = _parts(fabric, i)
        _check_held(held)
        h, w = held.shape[:2]
        images = [loom.weave(s, w, h) for s in range(seeds)]
        tiles = [loom.weave(s, TILE, TILE, tile=True) for s in range(seeds)]
        plain = [loom.weave(s, TILE, TILE) for s in range(seeds)]
        per.append({
            "swatch": fabric.names[i] if fabric.names else str(i),
            "size": [whole.shape[1], whole.shape[0]], "held_out": [w, h],
            "sifid": _stats([sifid(net, im, train) for im in images]),
            "copy": _stats([scores.copy_score(im, whole) for im in images]),
            "seam_tile": _stats([scores.seam_score(t) for t in tiles]),
            "seam_untiled": _stats([scores.seam_score(t) for t in plain]),
            "seam_swatch_repeated": scores.seam_score(whole),
            "diversity": _finite(scores.diversity(images, whole)),
            "real_floor": floor(net, train, held),
        })
    return {"kind": "run", "seeds": seeds, "tile_px": TILE, "swatches": per}


def evaluate_image(path: str, swatch_path: str, holdout: float = 0.25, net=None) -> dict:
    """Scores of an image (a weave, a quilt, a photo) against a swatch."""
    image = to_hwc(read_swatch(path))
    sw = read_swatch(swatch_path)
    fabric = fabric_of([sw], None, holdout, (swatch_path,))
    train, held, whole = _parts(fabric, 0)
    if image.ndim != whole.ndim:  # grey against colour: both grey
        image, train, held, whole = (_grey(a) for a in (image, train, held, whole))
    _check_held(held)
    net = net or early_net()
    h, w = held.shape[:2]
    if image.shape[0] < h or image.shape[1] < w:
        raise UserError(f"{path}: {image.shape[1]}x{image.shape[0]} px is smaller than the "
                        f"held-out strip ({w}x{h}) it is compared with")
    windows = [image[y:y + h, x:x + w] for y in range(0, image.shape[0] - h + 1, h)
               for x in range(0, image.shape[1] - w + 1, w)][:8]
    return {"kind": "image", "image": path, "swatch": swatch_path,
            "size": [image.shape[1], image.shape[0]], "held_out": [w, h],
            "sifid": _stats([sifid(net, im, train) for im in windows]),
            "copy": scores.copy_score(image, whole),
            "seam": scores.seam_score(image),
            "seam_swatch_repeated": scores.seam_score(whole),
            "real_floor": floor(net, train, held)}


def _grey(a: np.ndarray) -> np.ndarray:
    if a.ndim == 2:
        return a
    return np.round(a @ np.array([0.299, 0.587, 0.114])).astype(np.uint8)
