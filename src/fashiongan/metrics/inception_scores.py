"""Inception FID, KID and precision/recall/density/coverage against the 10,000 test images.

The test set's side (features, mean, covariance, k-NN radii) is computed once per network and
cached with the mechanism of reference.py: the key hashes the network's key (file hash,
protocol version, dtype), the data's bytes and the neighbour counts; files are written
atomically. The metrics themselves are the package's own fid.py, kid.py and prdc.py.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from fashiongan import data
from fashiongan.metrics import inception
from fashiongan.metrics.fid import Moments, frechet_distance
from fashiongan.metrics.kid import kid
from fashiongan.metrics.prdc import prdc
from fashiongan.metrics.reference import (
    K_DC,
    K_PR,
    cache_key,
    cached_npz,
    data_fingerprint,
    feature_stats,
)

STATS = ("features", "mu", "sigma", "radii_pr", "radii_dc")


@dataclass
class InceptionReference:
    features: torch.Tensor  # float32 [N, 2048]
    mu: torch.Tensor  # float64
    sigma: torch.Tensor
    radii: dict[int, torch.Tensor]
    key: str


def reference_of(net, key: str, images, progress: bool = True,
                 desc: str = "Inception features, test set (once)") -> InceptionReference:
    """A real set through `net` from the cache entry `key`, or computed from images() (a
    callable: the images are read only when the entry is missing) and cached."""
    def compute():
        return feature_stats(inception.features(net, images(), progress=progress, desc=desc))

    t = cached_npz("inception-reference", key, compute, STATS)
    return InceptionReference(t["features"], t["mu"], t["sigma"],
                              {K_PR: t["radii_pr"], K_DC: t["radii_dc"]}, key)


def load_reference(net, data_dir=None, progress: bool = True) -> InceptionReference:
    """The 10,000 Fashion-MNIST test images through `net`, from the cache or computed."""
    key = cache_key(kind="inception-reference", network=net.key,
                    data=data_fingerprint(data_dir), k=[K_PR, K_DC])
    return reference_of(net, key, lambda: data.load("test", data_dir)[0], progress)


def score_features(feats: torch.Tensor, ref: InceptionReference, with_kid: bool = True,
                   with_prdc: bool = True) -> dict:
    """{fid, n, kid, kid_std, kid_subset_size, precision, recall, density, coverage} of
    features against a reference."""
    mu, sigma = Moments.of(feats).mean_cov()
    out = {"fid": frechet_distance(mu, sigma, ref.mu, ref.sigma), "n": len(feats)}
    if with_kid:
        out["kid"], out["kid_std"], out["kid_subset_size"] = kid(ref.features, feats)
    if with_prdc and len(feats) > K_DC:
        out.update(prdc(ref.features, feats, K_PR, K_DC, real_radii=ref.radii))
    return out


def scores(net, images, data_dir=None, with_kid: bool = True, with_prdc: bool = True,
           progress: bool = True) -> dict:
    """{fid, kid, kid_std, precision, recall, density, coverage, n, ...} of uint8 images."""
    t0 = time.perf_counter()
    ref = load_reference(net, data_dir, progress)
    t_ref = time.perf_counter() - t0
    feats = inception.features(net, images, progress=progress)
    t_feat = time.perf_counter() - t0 - t_ref
    out = {**score_features(feats, ref, with_kid, with_prdc), "network": net.name,
           "cache_key": ref.key}
    out["timing_s"] = {"reference": t_ref, "features": t_feat,
                       "metrics": time.perf_counter() - t0 - t_ref - t_feat}
    return out


def format_line(res: dict) -> str:
    line = f"Inception ({res['network']}, {res['n']} samples vs test): FID {res['fid']:.3f}"
    if "kid" in res:
        line += f", KID {res['kid']:.5f} ± {res['kid_std']:.5f}"
    if "precision" in res:
        line += ", " + ", ".join(f"{k} {res[k]:.3f}"
                                 for k in ("precision", "recall", "density", "coverage"))
    return line


def inception_fid(model, images, weights_path, data_dir=None, device="cpu") -> dict:
    """Inception FID of uint8 images with the NVlabs module `model` (from load()) against the
    10,000 test images, whose statistics are cached."""
    net = inception.nvlabs_network(model, weights_path, device)
    return scores(net, images, data_dir, with_kid=False, with_prdc=False)
