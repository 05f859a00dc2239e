"""Real-data statistics, computed once and cached on disk.

The cache key hashes everything a statistic depends on: the protocol version (bump it when any
computation here changes), the evaluator weights' SHA-256, the data's bytes and the parameters
(e.g. N of the floor). Change any of them and a new entry is computed; stale entries are never
read. Files are written atomically, so concurrent runs at worst compute the same entry twice.
Location: $FASHIONGAN_CACHE, else ~/.cache/fashiongan.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from fashiongan import data
from fashiongan.fileio import atomic_write, atomic_write_json, cache_root
from fashiongan.metrics.features import extract
from fashiongan.metrics.fid import Moments
from fashiongan.metrics.prdc import knn_radii

PROTOCOL_VERSION = 1
K_PR, K_DC = 3, 5  # neighbours for precision/recall and for density/coverage
FLOOR_SEED = 0  # which training images form the real-data floor



_FINGERPRINTS: dict = {}


def data_fingerprint(data_dir=None) -> str:
    """SHA-256 of the loaded train and test arrays (images and labels), once per process."""
    d = str(data.find_data_dir(data_dir).resolve())
    if d not in _FINGERPRINTS:
        h = hashlib.sha256()
        for split in ("train", "test"):
            images, labels = data.load(split, data_dir)
            h.update(images.numpy().tobytes())
            h.update(labels.numpy().tobytes())
        _FINGERPRINTS[d] = h.hexdigest()
    return _FINGERPRINTS[d]


def cache_key(**parts) -> str:
    text = json.dumps({"protocol": PROTOCOL_VERSION, **parts}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


@dataclass
class Reference:
    """The 10,000 test images seen through the evaluator."""

    features: torch.Tensor  # float64 [10000, D]
    classes: torch.Tensor  # the evaluator's predictions [10000]
    mu: torch.Tensor
    sigma: torch.Tensor
    radii: dict[int, torch.Tensor]  # k -> distance to the k-th nearest other test image
    key: str

    def to(self, device) -> Reference:
        return Reference(self.features.to(device), self.classes.to(device), self.mu.to(device),
                         self.sigma.to(device), {k: r.to(device) for k, r in self.radii.items()},
                         self.key)


def _save_npz(path: Path, arrays: dict) -> None:
    def write(tmp):
        with open(tmp, "wb") as f:  # a file object: numpy would append ".npz" to a name
            np.savez(f, **arrays)

    atomic_write(path, write)


def load_reference(net, weights_sha256: str, data_dir=None) -> Reference:
    """Test-set statistics for this evaluator, from the cache or computed (and cached)."""
    key = cache_key(kind="reference", evaluator=weights_sha256, data=data_fingerprint(data_dir),
                    k=[K_PR, K_DC])

    def compute():
        images, _ = data.load("test", data_dir)
        feats, classes = extract(images, net)
        return {**feature_stats(feats.cpu()), "classes": classes.cpu()}

    t = cached_npz("reference", key, compute, ("features", "classes", "mu", "sigma",
                                               "radii_pr", "radii_dc"))
    return Reference(t["features"], t["classes"], t["mu"], t["sigma"],
                     {K_PR: t["radii_pr"], K_DC: t["radii_dc"]}, key)


def feature_stats(feats: torch.Tensor) -> dict[str, torch.Tensor]:
    """What every metric needs of a real set: its features, mean, covariance and k-NN radii."""
    mu, sigma = Moments.of(feats).mean_cov()
    radii = knn_radii(feats, (K_PR, K_DC))
    return {"features": feats, "mu": mu, "sigma": sigma, "radii_pr": radii[K_PR],
            "radii_dc": radii[K_DC]}


def cached_npz(name: str, key: str, compute, names: tuple[str, ...]) -> dict[str, torch.Tensor]:
    """compute() -> {name: tensor}, cached as <cache>/<name>-<key>.npz; an entry that is
    damaged or lacks one of `names` is recomputed and replaced."""
    path = cache_root() / f"{name}-{key}.npz"
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as z:
                t = {n: torch.from_numpy(z[n]) for n in z.files}
            if set(names) <= set(t):
                return t
        except (OSError, KeyError, ValueError):
            pass  # a damaged entry is recomputed and replaced
    t = compute()
    _save_npz(path, {n: v.numpy() for n, v in t.items()})
    return t


def floor_indices(n: int) -> torch.Tensor:
    """The training images that stand in for a perfect generator of n samples."""
    total = data.FILES[("train", "images")].count
    return torch.randperm(total, generator=torch.Generator().manual_seed(FLOOR_SEED))[:n]


def cached_json(name: str, key: str, compute) -> dict:
    """compute() -> dict, cached as <cache>/<name>-<key>.json."""
    path = cache_root() / f"{name}-{key}.json"
    if path.is_file():
        try:
            return json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            pass
    value = compute()
    atomic_write_json(path, value)
    return value
