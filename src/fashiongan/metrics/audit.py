"""Privacy audit: is a sample a copy of a training image?

Distance. For every query image, candidates are found among the training images in a cheap,
shift-tolerant space: the evaluator's (or a data set's judge's) features, which were trained
with one-pixel shifts and barely move for light noise, together with the magnitudes of the
image's lowest spatial frequencies, which a shift does not change at all (pooled pixels and
the features alone missed 10-25 % of one-pixel-shifted training images among their 8
nearest; the spectrum missed 1 in 1000). The distance to a candidate is then the aligned
pixel distance: the RMS difference of the pixels (0..1 scale) minimised over every shift of
the query by up to MAX_SHIFT pixels (over the overlap of the two), so neither a one-pixel
shift nor noise of sigma 0.02 (an RMS of 0.02) hides a copy, and the figure means the same
thing in every data set. Without a judge (a colour data set that has none) the spectrum alone
finds the candidates.

Calibration. The question is not "how close" but "closer than real unseen images come": the
test split's images are audited against the training split the same way, and a sample is
flagged as a copy when it lies closer to a training image than the QUANTILE (5 %) of test
images do, per class where both sides have classes (trousers lie closer to each other than
bags do). So real unseen images are flagged at 5 % by construction, and a generator that has
learnt the distribution rather than the images scores a copy_fraction near 0.05; one that
memorised scores far above it.

Memory stays bounded: queries go through in chunks, each compared with the whole training
set's embeddings (N x D floats) by a matrix product, and only the candidates' pixels are read
(from a memmap for an imported data set).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from fashiongan.errors import UserError
from fashiongan.imageio import to_nchw
from fashiongan.metrics.features import extract

K = 8  # candidates per space (features, spectrum)
MAX_SHIFT = 2  # pixels, each direction
QUANTILE = 0.05  # of the test images' distances: the copy threshold
FREQ = 6  # spectrum space: frequencies 0..FREQ each way
PAIR_BUDGET = 8_000_000  # floats of candidate pixels held at once (32 MB)


def spectrum(x: torch.Tensor, m: int = FREQ) -> torch.Tensor:
    """uint8 [N,C,H,W] -> float32 [N, C*(2m+1)*(m+1)]: the magnitudes of the lowest spatial
    frequencies, which a (circular) shift leaves unchanged, so a shifted copy keeps its place."""
    a = torch.fft.rfft2(x.float() / 255).abs()
    m = min(m, x.shape[-2] // 2 - 1, x.shape[-1] // 2 - 1)
    return torch.cat([a[..., :m + 1, :m + 1], a[..., -m:, :m + 1]], -2).flatten(1)


def embed(x: torch.Tensor, net) -> list[torch.Tensor]:
    """The candidate spaces of uint8 [N,C,H,W]: [features (with a net), spectrum]."""
    spaces = [spectrum(x)]
    if net is not None:
        spaces.insert(0, extract(x, net)[0].float())
    return spaces


def aligned_distance(q: torch.Tensor, cand: torch.Tensor, max_shift: int = MAX_SHIFT):
    """RMS pixel difference (0..1 scale) of queries q [B,C,H,W] and their candidates
    cand [B,k,C,H,W] (both uint8), minimised over shifts of q by up to max_shift px: [B,k].

    Each shift compares the two images where they overlap only, so the row or column a shift
    pushes out (or a copy's fill brings in) does not count against a copy."""
    h, w = q.shape[-2:]
    s = min(max_shift, h - 1, w - 1)
    a, c = q.float()[:, None] / 255, cand.float() / 255
    best = None
    for dy in range(-s, s + 1):
        for dx in range(-s, s + 1):
            qa = a[..., max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)]
            ca = c[..., max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
            d = (qa - ca).square().mean((2, 3, 4))
            best = d if best is None else torch.minimum(best, d)
    return best.sqrt()


class TrainingIndex:
    """The training images as the audit searches them: their embeddings, and the pixels."""

    def __init__(self, images, net=None, chunk: int = 2000, spaces=None):
        self.images = images  # any layout to_nchw() reads; a memmap stays on disk
        self.net = net
        if not len(images):
            raise UserError("audit: no training images to compare with")
        if spaces is None:  # else the embeddings of these very images, from the cache
            parts = [embed(_chunk(images, i, chunk), net) for i in range(0, len(images), chunk)]
            spaces = [torch.cat(s) for s in zip(*parts, strict=True)]
        self.spaces = list(spaces)
        self.norms = [(e * e).sum(1) for e in self.spaces]
        self.space = ("judge features + spectrum" if net is not None else
                      "spectrum only (no judge: give --evaluator for features)")

    def __len__(self) -> int:
        return len(self.images)

    def _candidates(self, spaces: list[torch.Tensor]) -> torch.Tensor:
        k = min(K, len(self))
        found = []
        for e, ref, norms in zip(spaces, self.spaces, self.norms, strict=True):
            # |e|^2 is the same along a row: the ranking needs |ref|^2 - 2 e.ref alone
            d2 = torch.addmm(norms[None], e, ref.T, alpha=-2)
            found.append(d2.topk(k, dim=1, largest=False).indices)
        return torch.cat(found, 1)

    def nearest(self, images, chunk: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """(index of the nearest training image int64 [N], its aligned distance float [N])."""
        per_image = 2 * K * int(np.prod(np.shape(images)[1:]))
        # a chunk's distance matrix to all training images is chunk x N floats: 256 x 60,000
        # is 61 MB (1000 queries a chunk peaked at 1.7 GB resident)
        chunk = chunk or max(1, min(256, PAIR_BUDGET // per_image))
        idx, dist = [], []
        for i in range(0, len(images), chunk):
            q = _chunk(images, i, chunk)
            cand = self._candidates(embed(q, self.net))
            pix = to_nchw(np.asarray(self.images[cand.flatten().numpy()]))
            d = aligned_distance(q, pix.reshape(*cand.shape, *pix.shape[1:]))
            best = d.argmin(1)
            idx.append(cand.gather(1, best[:, None])[:, 0])
            dist.append(d.gather(1, best[:, None])[:, 0])
        if not idx:
            return np.zeros(0, np.int64), np.zeros(0)
        return torch.cat(idx).numpy(), torch.cat(dist).double().numpy()


def _chunk(images, start: int, size: int) -> torch.Tensor:
    """Images start..start+size as uint8 [n,C,H,W], copied: a memmap's pages are read only
    now, and a read-only array must not become a tensor."""
    part = images[start:start + size]
    return to_nchw(part.clone() if isinstance(part, torch.Tensor) else np.array(part))


@dataclass
class Calibration:
    """The copy thresholds: the QUANTILE of the test images' nearest-training distances,
    overall and per class (None where a class has no test image)."""

    quantile: float
    threshold: float
    per_class: list[float | None]
    test_distances: np.ndarray
    test_labels: np.ndarray | None

    def thresholds(self, labels) -> np.ndarray:
        """Each sample's threshold: its class's where known, else the overall one."""
        if labels is None or not self.per_class:
            return None
        t = np.array([self.threshold if v is None else v for v in self.per_class])
        return t[np.asarray(labels, np.int64)]

    def to_dict(self) -> dict:
        return {"quantile": self.quantile, "threshold": self.threshold,
                "per_class_threshold": self.per_class, "test_images": len(self.test_distances),
                "test_median_distance": float(np.median(self.test_distances))}


def calibrate(index: TrainingIndex, test_images, test_labels=None, num_classes: int = 0,
              quantile: float = QUANTILE) -> Calibration:
    """Audit real test images against the index: their distances make the thresholds."""
    return thresholds(index.nearest(test_images)[1], test_labels, num_classes, quantile)


def thresholds(d: np.ndarray, test_labels=None, num_classes: int = 0,
               quantile: float = QUANTILE) -> Calibration:
    if not len(d):
        raise UserError("audit: no test images to calibrate the copy threshold on")
    per_class = []
    if test_labels is not None and num_classes:
        y = np.asarray(test_labels, np.int64)
        per_class = [float(np.quantile(d[y == c], quantile)) if (y == c).any() else None
                     for c in range(num_classes)]
    return Calibration(quantile, float(np.quantile(d, quantile)), per_class, d,
                       None if test_labels is None else np.asarray(test_labels))


def flagged(distances: np.ndarray, calibration: Calibration, labels=None) -> np.ndarray:
    """Which distances lie closer to a training image than the calibration's threshold."""
    t = calibration.thresholds(labels)
    return distances < (calibration.threshold if t is None else t)


def summary(index_of: np.ndarray, distances: np.ndarray, calibration: Calibration,
            labels=None, class_names=(), closest: int = 16) -> dict:
    """The audit's figures: copy_fraction (flagged share), distances, per class, closest pairs."""
    flags = flagged(distances, calibration, labels)
    out = {"n": len(distances), "copy_fraction": float(flags.mean()) if len(flags) else 0.0,
           "expected_for_unseen_images": calibration.quantile,
           "median_distance": float(np.median(distances)) if len(distances) else None,
           "min_distance": float(distances.min()) if len(distances) else None,
           "calibration": calibration.to_dict()}
    if labels is not None and class_names:
        y = np.asarray(labels, np.int64)
        out["per_class"] = {
            name: {"n": int((y == c).sum()),
                   "copy_fraction": float(flags[y == c].mean()) if (y == c).any() else None,
                   "threshold": calibration.per_class[c] if calibration.per_class else
                   calibration.threshold,
                   "median_distance": float(np.median(distances[y == c]))
                   if (y == c).any() else None}
            for c, name in enumerate(class_names)}
    order = np.argsort(distances, kind="stable")[:closest]
    out["closest"] = [{"sample": int(i), "train_index": int(index_of[i]),
                       "distance": float(distances[i])} for i in order]
    return out


def closest_pairs_grid(samples, train_images, pairs: list[dict], cols: int = 8, scale: int = 3):
    """A picture of the closest pairs: a row of samples above a row of their nearest training
    images, `cols` pairs a row."""
    from fashiongan.imageio import grid

    if not pairs:
        raise UserError("audit: no samples, so no closest pairs to draw")
    cols = min(cols, len(pairs))
    rows = []
    for r in range(0, len(pairs), cols):
        block = pairs[r:r + cols]
        pad = cols - len(block)
        for key, source in (("sample", samples), ("train_index", train_images)):
            imgs = [layout(source[p[key]]) for p in block]
            rows += imgs + [np.full_like(imgs[0], 64)] * pad
    return grid(np.stack(rows), math.ceil(len(rows) / cols), cols, scale=scale)


def layout(image) -> np.ndarray:
    """One image as H x W (grey) or H x W x 3, the layout of grids and PNGs."""
    a = np.asarray(image)
    if a.ndim == 3 and a.shape[0] in (1, 3) and a.shape[-1] not in (1, 3):
        a = a[0] if a.shape[0] == 1 else a.transpose(1, 2, 0)
    return a


AUDIT_VERSION = 1  # bump when the distance or the candidate spaces change (cache key)


def reference(ds, net=None, net_sha256: str | None = None,
              ) -> tuple[TrainingIndex, Calibration]:
    """The training split of data set ds as a TrainingIndex, and the copy thresholds from its
    test split; both cached (keyed by the data's and the judge's SHA-256), since embedding
    60,000 images and auditing 10,000 took about 80 s on one CPU core."""
    from fashiongan.metrics.cache import cache_key, cached_npz
    from fashiongan.metrics.reference import identity

    xtr, _ = ds.train()
    xte, yte = ds.test()
    ident = identity(ds)  # the hashes of the pixels and the split
    data_id = ident["pixels_sha256"] + ident["split_sha256"]
    key = cache_key(kind="audit", version=AUDIT_VERSION, data=data_id, judge=net_sha256,
                    k=K, shift=MAX_SHIFT, freq=FREQ)

    def compute():
        index = TrainingIndex(xtr, net)
        _, d = index.nearest(xte)
        return {**{f"space{i}": e for i, e in enumerate(index.spaces)},
                "test_distances": torch.from_numpy(d)}

    names = ("space0", "test_distances", *(("space1",) if net is not None else ()))
    t = cached_npz("audit", key, compute, names)
    index = TrainingIndex(xtr, net, spaces=[t[f"space{i}"] for i in range(len(names) - 1)])
    return index, thresholds(t["test_distances"].numpy(), yte, ds.info.num_classes)


def training_data(info, data: str | None, data_dir=None, what: str = "the generator",
                  on_import=None):
    """(data set, "") that images of data set `info` are audited against, or (None, why not):
    --data (checked against `info`), else Fashion-MNIST for its generators and for images of
    unknown origin (info None: an .npz); its test split calibrates the threshold. A folder
    of images for --data is imported once (resolve.dataset_for, which tells on_import)."""
    from fashiongan.data import FASHION_MNIST
    from fashiongan.data.resolve import resolve
    from fashiongan.metrics.reference import check_match

    if data:
        res, ch = (info.resolution, info.channels) if info else (64, 3)
        ds = resolve(data, res, ch, progress=False, on_import=on_import)
        if info is not None:
            check_match(info, ds, what)
    elif info is None or (info.shape, info.class_names) == (FASHION_MNIST.shape,
                                                            FASHION_MNIST.class_names):
        ds = resolve(None, data_dir=data_dir)
    else:
        return None, "no --data: the generator's training data is needed to audit against"
    if not len(ds.test_index):
        return None, (f"--data {data}: no test split to calibrate the copy threshold on "
                      "(import with --test-fraction > 0)")
    return ds, ""
