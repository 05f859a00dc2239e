"""Optional Inception FID, for comparison with papers (never needed by anything else).

Uses the TF-Inception-v3 TorchScript file that StyleGAN2-ADA and clean-fid use
(`inception-2015-12-05.pt`, pool3 features, 2048 dims). It cannot be downloaded from this
package's machines, so the user supplies it; torch.jit.load reads TorchScript (code plus
tensors), which is that file's only published form. Grey 28x28 images are repeated to three
channels and handed over as uint8, exactly as StyleGAN2-ADA's metrics do: the network resizes
to 299x299 itself, emulating TensorFlow's bilinear resize (its pixel alignment differs from
torch's interpolate, so resizing here first would move the numbers away from the papers').
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..errors import UserError

URL = ("https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/metrics/"
       "inception-2015-12-05.pt")
HOW_TO_GET = (f"download it (about 100 MB) with `curl -LO {URL}` on a machine with internet "
              "access and pass its path to --inception-weights")


def load(path: str | Path, device="cpu"):
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: Inception weights not found; {HOW_TO_GET}")
    try:
        return torch.jit.load(str(path), map_location=device).eval()
    except (RuntimeError, ValueError) as e:
        raise UserError(f"{path}: not a TorchScript Inception file ({str(e).splitlines()[0]}); "
                        f"{HOW_TO_GET}") from None


def to_inception_input(images: torch.Tensor) -> torch.Tensor:
    """uint8 [N,28,28] -> uint8 [N,3,28,28] (the network resizes to 299 itself)."""
    x = images.reshape(len(images), 1, *images.shape[-2:])
    return x.expand(-1, 3, -1, -1).contiguous()


@torch.no_grad()
def features(model, images, batch_size: int = 100, device="cpu") -> torch.Tensor:
    """pool3 features, float64 [N, 2048]."""
    x = torch.as_tensor(images)
    out = []
    for i in range(0, len(x), batch_size):
        batch = to_inception_input(x[i:i + batch_size].to(device))
        out.append(model(batch, return_features=True).to(torch.float64).cpu())
    return torch.cat(out)


def inception_fid(model, images, weights_path, data_dir=None, device="cpu") -> dict:
    """Inception FID of uint8 images against the 10,000 test images (test statistics cached
    under the weights file's SHA-256). No real-data floor: on a CPU every 10,000 images
    through Inception take the better part of an hour."""
    from .. import data
    from .evaluator import sha256_file
    from .fid import Moments, frechet_distance
    from .reference import cache_key, cached_json, data_fingerprint

    key = cache_key(kind="inception", weights=sha256_file(weights_path),
                    data=data_fingerprint(data_dir))

    def compute():
        test, _ = data.load("test", data_dir)
        mu, sigma = Moments.of(features(model, test, device=device)).mean_cov()
        return {"mu": mu.tolist(), "sigma": sigma.tolist()}

    ref = cached_json("inception", key, compute)
    mu, sigma = Moments.of(features(model, images, device=device)).mean_cov()
    return {"fid": frechet_distance(mu, sigma, ref["mu"], ref["sigma"]), "n": len(images),
            "cache_key": key}
