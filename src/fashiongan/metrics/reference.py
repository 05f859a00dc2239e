"""A data set's real side of every metric: its test split through a feature network (features,
mean, covariance, k-NN radii), cached by the network's key and the data set's identity, and the
training-split images that stand in for a perfect generator (the real floor).

Fashion-MNIST is a data set like any imported one; its identity is the hash of its arrays,
an imported set's the SHA-256 of pixels.npy and split.npy that its manifest records (`fashiongan
data info DATASET` verifies them against the files).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import torch

from fashiongan.data.store import read_manifest
from fashiongan.errors import UserError
from fashiongan.metrics.cache import cache_key, cached_npz
from fashiongan.metrics.features import FeatureNet
from fashiongan.metrics.fid import Moments
from fashiongan.metrics.prdc import knn_radii

K_PR, K_DC = 3, 5  # neighbours for precision/recall and for density/coverage
FLOOR_SEED = 0  # which training images form the real-data floor
STATS = ("features", "mu", "sigma", "radii_pr", "radii_dc")
MAX_DEFAULT_N = 5000


@dataclass
class Reference:
    """A real set seen through a feature network."""

    features: torch.Tensor  # [N, D]
    mu: torch.Tensor  # float64
    sigma: torch.Tensor
    radii: dict[int, torch.Tensor]  # k -> distance to the k-th nearest other real image
    key: str

    def to(self, device) -> Reference:
        return Reference(self.features.to(device), self.mu.to(device), self.sigma.to(device),
                         {k: r.to(device) for k, r in self.radii.items()}, self.key)


def feature_stats(feats: torch.Tensor) -> dict[str, torch.Tensor]:
    """What every metric needs of a real set: its features, mean, covariance and k-NN radii."""
    mu, sigma = Moments.of(feats).mean_cov()
    radii = knn_radii(feats, (K_PR, K_DC))
    return {"features": feats, "mu": mu, "sigma": sigma, "radii_pr": radii[K_PR],
            "radii_dc": radii[K_DC]}


_ARRAY_IDS: dict = {}


def _sha256(*arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def identity(ds) -> dict:
    """What names a data set's pixels and split: for an imported set its manifest's SHA-256 of
    pixels.npy and split.npy, else the hash of the arrays themselves; its classes and shape."""
    if ds.path is not None:
        files = read_manifest(ds.path)["files"]
        pixels, split = files["pixels.npy"]["sha256"], files["split.npy"]["sha256"]
    else:  # arrays in memory (Fashion-MNIST from its IDX files): hashed once per process
        key = (id(ds.pixels), ds.pixels.shape, id(ds.split))
        if key not in _ARRAY_IDS:
            labels = () if ds.labels is None else (ds.labels,)
            _ARRAY_IDS[key] = (_sha256(ds.pixels), _sha256(ds.split, *labels))
        pixels, split = _ARRAY_IDS[key]
    return {"pixels_sha256": pixels, "split_sha256": split, "name": ds.info.name,
            "class_names": list(ds.info.class_names), "resolution": ds.info.resolution,
            "channels": ds.info.channels}


def reference(net: FeatureNet, ds, progress: bool = True) -> Reference:
    """ds's test split through `net`, from the cache or computed (and cached)."""
    ident = identity(ds)
    key = cache_key(kind="reference", network=net.key, k=[K_PR, K_DC],
                    dataset=[ident["pixels_sha256"], ident["split_sha256"]])

    def compute():
        feats, _ = net(np.asarray(ds.test()[0]), progress=progress,
                       desc=f"{net.name} features, {len(ds.test_index)} test images (once)")
        return feature_stats(feats.cpu())

    t = cached_npz("reference", key, compute, STATS)
    return Reference(t["features"], t["mu"], t["sigma"],
                     {K_PR: t["radii_pr"], K_DC: t["radii_dc"]}, key)


def floor_index(ds, n: int) -> np.ndarray:
    """The training-split images that stand in for a perfect generator of n samples: a seeded
    draw (FLOOR_SEED) of min(n, training split) of them."""
    train = ds.train_index
    pick = torch.randperm(len(train), generator=torch.Generator().manual_seed(FLOOR_SEED))[:n]
    return train[pick.numpy()]


def default_n(ds) -> int:
    """Twice the test split, at most 5000: enough for KID and PR/DC to settle, and 20-50
    images/s of Inception (bfloat16, two CPU cores) make it minutes, not hours."""
    return min(2 * len(ds.test_index), MAX_DEFAULT_N)


def check_match(info, ds, what: str) -> None:
    """A one-line UserError unless `info` (a generator's or an .npz's DatasetInfo) has the
    data set's resolution, channels and class names."""
    d = ds.info
    if (info.resolution, info.channels, info.class_names) == (d.resolution, d.channels,
                                                             d.class_names):
        return

    def shape(i):
        return f"{i.channels}x{i.resolution}x{i.resolution}, {i.num_classes} classes"

    where = f"--data {ds.path}" if ds.path else "Fashion-MNIST"
    raise UserError(f"{what} was trained on {info.name or 'another data set'} ({shape(info)}), "
                    f"not on {where} ({d.name}: {shape(d)})")
