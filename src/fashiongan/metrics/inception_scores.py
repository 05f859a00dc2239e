"""Inception FID, KID and precision/recall/density/coverage against the 10,000 test images.

The test set's side (features, mean, covariance, k-NN radii) is computed once per network and
cached with the mechanism of reference.py: the key hashes the network's key (file hash,
protocol version, dtype), the data's bytes and the neighbour counts; files are written
atomically. The metrics themselves are the package's own fid.py, kid.py and prdc.py.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from .. import data
from .fid import Moments, frechet_distance
from .kid import kid
from .prdc import knn_radii, prdc
from .reference import K_DC, K_PR, _save_npz, cache_dir, cache_key, data_fingerprint


@dataclass
class InceptionReference:
    features: torch.Tensor  # float32 [10000, 2048]
    mu: torch.Tensor  # float64
    sigma: torch.Tensor
    radii: dict[int, torch.Tensor]
    key: str


def load_reference(net, data_dir=None, progress: bool = True) -> InceptionReference:
    """The test set through `net`, from the cache or computed (then cached)."""
    from .inception import features

    key = cache_key(kind="inception-reference", network=net.key,
                    data=data_fingerprint(data_dir), k=[K_PR, K_DC])
    path = cache_dir() / f"inception-reference-{key}.npz"
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as z:
                t = {name: torch.from_numpy(z[name]) for name in z.files}
            return InceptionReference(t["features"], t["mu"], t["sigma"],
                                      {K_PR: t["radii_pr"], K_DC: t["radii_dc"]}, key)
        except (OSError, KeyError, ValueError):
            pass  # a damaged entry is recomputed and replaced
    test, _ = data.load("test", data_dir)
    feats = features(net, test, progress=progress, desc="Inception features, test set (once)")
    mu, sigma = Moments.of(feats).mean_cov()
    radii = knn_radii(feats, (K_PR, K_DC))
    _save_npz(path, {"features": feats.numpy(), "mu": mu.numpy(), "sigma": sigma.numpy(),
                     "radii_pr": radii[K_PR].numpy(), "radii_dc": radii[K_DC].numpy()})
    return InceptionReference(feats, mu, sigma, radii, key)


def scores(net, images, data_dir=None, with_kid: bool = True, with_prdc: bool = True,
           progress: bool = True) -> dict:
    """{fid, kid, kid_std, precision, recall, density, coverage, n, ...} of uint8 images."""
    from .inception import features

    t0 = time.perf_counter()
    ref = load_reference(net, data_dir, progress)
    t_ref = time.perf_counter() - t0
    feats = features(net, images, progress=progress)
    t_feat = time.perf_counter() - t0 - t_ref
    mu, sigma = Moments.of(feats).mean_cov()
    out = {"fid": frechet_distance(mu, sigma, ref.mu, ref.sigma), "n": len(feats),
           "network": net.name, "cache_key": ref.key}
    if with_kid:
        out["kid"], out["kid_std"], out["kid_subset_size"] = kid(ref.features, feats)
    if with_prdc and len(feats) > K_DC:
        out.update(prdc(ref.features, feats, K_PR, K_DC, real_radii=ref.radii))
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
