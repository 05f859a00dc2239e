"""The evaluator: a small Fashion-MNIST classifier whose penultimate layer is the feature space.

TF-GAN judges MNIST GANs with an MNIST classifier; we do the same for Fashion-MNIST. The network
is small (460k parameters, 1.8 MB) so that 10,000 images are featurised in seconds on two CPU
cores, and it is trained by `fashiongan evaluator train` from a fixed recipe and seed. The shipped
weights are pinned by SHA-256: a different file would silently change every reported number.

No flip augmentation on purpose: shoes in Fashion-MNIST all face left, and a judge that is
invariant to flips would not notice a generator drawing them the wrong way round. A shift of at
most one pixel is the only augmentation.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import time
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from fashiongan.errors import UserError
from fashiongan.fileio import atomic_write, atomic_write_json, file_digest

WEIGHTS_NAME = "evaluator.safetensors"
# SHA-256 of the shipped weights file; every cached statistic and every reported number depends
# on it. Retraining with `fashiongan evaluator train` and shipping the result means updating it.
WEIGHTS_SHA256 = "debff473b5c877245c798c6deb18e94072c9eb24c9728f50ebbb1f7aa54eb6c1"
MEAN, STD = 0.2860, 0.3530  # Fashion-MNIST pixel mean/std (of x/255), training split


class EvaluatorNet(nn.Module):
    """Three conv-BN-ReLU blocks (28->14->7 px) -> linear -> ReLU (the features) -> linear.

    The 3x3 convolutions keep the compute at about 6.5M multiply-adds per image, so the network
    trains in ~20 minutes on one CPU thread and featurises 10,000 images in ~5 s; the flattened
    7x7 map before the feature layer keeps where things are (a shirt's collar, a bag's handle).
    """

    def __init__(self, width: int = 32, feature_dim: int = 128, num_classes: int = 10,
                 channels: int = 1, resolution: int = 28):
        super().__init__()
        w = width

        def conv(cin, cout, stride=1):
            return [nn.Conv2d(cin, cout, 3, stride, padding=1, bias=False),
                    nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]

        # Other data sets (judges, metrics/judge.py): C input channels, and above 32 px a stem
        # of stride-2 blocks first, so the three blocks below always run at 32 px or less:
        # 64 px costs ~18M and 128 px ~30M multiply-adds, not 4x and 16x the 32-px cost, and
        # the flattened map (8x8 from 32, 64 or 128 px) still keeps where things are, as the
        # 7x7 one does (adaptive pooling to 7x7 would blur 8x8 for nothing). At 28 px grey the
        # stem is empty and this is the shipped network: same parameters, names, init order.
        stem, r = [], resolution
        while r > 32:
            stem += conv(channels if not stem else w, w, stride=2)
            r = (r + 1) // 2
        self.stem = nn.Sequential(*stem)
        s = r // 4
        self.body = nn.Sequential(
            *conv(w if stem else channels, w), nn.MaxPool2d(2), *conv(w, 2 * w), nn.MaxPool2d(2),
            *conv(2 * w, 2 * w), nn.Flatten(), nn.Linear(2 * w * s * s, feature_dim),
            nn.ReLU(inplace=True))
        self.channels, self.resolution = channels, resolution
        self.dropout = nn.Dropout(0.3)
        self.head = nn.Linear(feature_dim, num_classes)
        self.feature_dim = feature_dim

    @staticmethod
    def normalise(images: torch.Tensor) -> torch.Tensor:
        """Pixels 0..255 (uint8, or float on that scale), [N,H,W] or [N,C,H,W] -> float."""
        x = images.float()
        if x.dim() == 3:
            x = x.unsqueeze(1)
        return (x / 255.0 - MEAN) / STD

    def features_and_logits(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f = self.body(self.stem(self.normalise(images)))
        return f, self.head(self.dropout(f))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.features_and_logits(images)[1]


# --- training recipe ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Recipe:
    epochs: int = 12  # passes over the 60,000 training images
    batch_size: int = 128
    lr: float = 0.05  # peak SGD (Nesterov) learning rate; linear warm-up for an epoch, then cosine
    momentum: float = 0.9
    weight_decay: float = 5e-4
    max_shift: int = 1  # random translation of each training image, in pixels (0: none)
    width: int = 32  # channels of the first conv
    feature_dim: int = 128  # the feature space's dimension (penultimate layer)
    seed: int = 0
    threads: int = 1  # CPU threads: one is fastest on a busy machine; a different count can
    # change the float rounding, hence the weights (accuracy stays within noise)


def _shift(x: torch.Tensor, max_shift: int, gen: torch.Generator) -> torch.Tensor:
    """Translate each image of uint8 [B,H,W] or [B,C,H,W] by its own random (dy, dx), zero
    fill (every channel of an image by the same)."""
    if not max_shift:
        return x
    b, h, w = x.shape[0], x.shape[-2], x.shape[-1]
    pad = F.pad(x, (max_shift,) * 4)
    oy, ox = torch.randint(0, 2 * max_shift + 1, (2, b), generator=gen)
    rows = (oy[:, None] + torch.arange(h))[:, :, None]
    cols = (ox[:, None] + torch.arange(w))[:, None, :]
    if x.dim() == 4:  # [B,1,1,1] x [1,C,1,1] x [B,1,H,1] x [B,1,1,W] -> [B,C,H,W]
        return pad[torch.arange(b)[:, None, None, None], torch.arange(x.shape[1])[:, None, None],
                   rows[:, None], cols[:, None]]
    return pad[torch.arange(b)[:, None, None], rows, cols]


@torch.no_grad()
def accuracy(net: nn.Module, images: torch.Tensor, labels: torch.Tensor,
             batch_size: int = 250) -> float:
    net.eval()
    correct = 0
    for i in range(0, len(images), batch_size):
        correct += (net(images[i:i + batch_size]).argmax(1) == labels[i:i + batch_size]).sum()
    return float(correct) / max(len(images), 1)


def train(images: torch.Tensor, labels: torch.Tensor, recipe: Recipe = Recipe(),
          log=print, max_steps: int = 0, on_epoch=None, num_classes: int = 0) -> EvaluatorNet:
    """Train the evaluator architecture on uint8 images [N,28,28] with int64 labels (or
    [N,C,H,W] of another data set, with its num_classes: a class absent from the labels
    still gets an output).

    Deterministic for a given recipe, data and thread count: every random draw (init, order,
    shifts) comes from generators seeded by recipe.seed. `max_steps` stops early (tests).
    """
    old_threads = torch.get_num_threads()
    torch.set_num_threads(recipe.threads)
    old_det = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        torch.manual_seed(recipe.seed)
        channels = images.shape[1] if images.dim() == 4 else 1
        net = EvaluatorNet(recipe.width, recipe.feature_dim,
                           num_classes or int(labels.max()) + 1, channels, images.shape[-1])
        gen = torch.Generator().manual_seed(recipe.seed + 1)
        opt = torch.optim.SGD(net.parameters(), lr=recipe.lr, momentum=recipe.momentum,
                              nesterov=True, weight_decay=recipe.weight_decay)
        per_epoch = len(images) // recipe.batch_size  # the ragged last batch is dropped
        total = per_epoch * recipe.epochs
        warm = per_epoch

        def lr_at(step: int) -> float:
            if step < warm:
                return recipe.lr * (step + 1) / warm
            t = (step - warm) / max(total - warm, 1)
            return recipe.lr * 0.5 * (1 + torch.cos(torch.tensor(t * torch.pi)).item())

        step, t0 = 0, time.perf_counter()
        for epoch in range(recipe.epochs):
            net.train()
            order = torch.randperm(len(images), generator=gen)
            run_loss = 0.0
            for b in range(per_epoch):
                idx = order[b * recipe.batch_size:(b + 1) * recipe.batch_size]
                x = _shift(images[idx], recipe.max_shift, gen)
                for group in opt.param_groups:
                    group["lr"] = lr_at(step)
                loss = F.cross_entropy(net(x), labels[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                run_loss += loss.item()
                step += 1
                if max_steps and step >= max_steps:
                    return net.eval()
            extra = on_epoch(net) if on_epoch else ""
            net.train()
            log(f"epoch {epoch + 1}/{recipe.epochs}: loss {run_loss / per_epoch:.4f} "
                f"({time.perf_counter() - t0:.0f} s){extra}")
        return net.eval()
    finally:
        torch.set_num_threads(old_threads)
        torch.use_deterministic_algorithms(old_det)


# --- weights on disk ---------------------------------------------------------------------------

sha256_file = file_digest  # the pin's digest (the name the record and tests use)


def save(net: EvaluatorNet, path: str | Path, info: dict, metadata: dict | None = None) -> str:
    """Write the weights (safetensors, architecture and `metadata` strings in its metadata)
    and a JSON record beside them."""
    path = Path(path)
    tensors = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    meta = {"width": str(net.body[0].out_channels), "feature_dim": str(net.feature_dim),
            "num_classes": str(net.head.out_features), **(metadata or {})}
    if net.stem or net.channels != 1:  # the shipped file's metadata stays as it was
        meta.update(channels=str(net.channels), resolution=str(net.resolution))
    atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata=meta))
    digest = sha256_file(path)
    atomic_write_json(path.with_suffix(".json"), {**info, "sha256": digest,
                                                  "bytes": path.stat().st_size})
    return digest


def shipped_path() -> Path:
    return Path(str(resources.files("fashiongan") / "weights" / WEIGHTS_NAME))


_LOADED: dict = {}


def read_metadata(file: str | Path) -> dict[str, str]:
    """The safetensors metadata of a weights file (architecture, and a judge's data set)."""
    from safetensors import safe_open

    with safe_open(str(file), framework="pt") as f:
        return f.metadata() or {}


def load(path: str | Path | None = None, device="cpu") -> tuple[EvaluatorNet, str]:
    """(network in eval mode, SHA-256 of its file). None loads the shipped, pinned weights."""
    file = Path(path) if path else shipped_path()
    if not file.is_file():
        raise UserError(f"{file}: evaluator weights not found"
                        + ("" if path else "; build them with `fashiongan evaluator train`"))
    digest = sha256_file(file)
    if path is None and digest != WEIGHTS_SHA256:
        raise UserError(f"{file}: SHA-256 {digest} differs from the pinned {WEIGHTS_SHA256}; "
                        "the shipped evaluator was changed, so its numbers would not compare")
    key = (digest, str(device))
    if key not in _LOADED:
        try:
            meta = read_metadata(file)
            tensors = load_file(str(file))
            net = EvaluatorNet(int(meta["width"]), int(meta["feature_dim"]),
                               int(meta["num_classes"]), int(meta.get("channels", 1)),
                               int(meta.get("resolution", 28)))
            net.load_state_dict(tensors)
        except (SafetensorError, OSError, KeyError, ValueError, RuntimeError) as e:
            raise UserError(f"{file}: not a readable evaluator weights file ({e})") from None
        _LOADED[key] = net.to(device).eval().requires_grad_(False)
    return _LOADED[key], digest


def train_and_save(out: str | Path | None = None, recipe: Recipe = Recipe(), data_dir=None,
                   log=print, train_images: int | None = None) -> dict:
    """`fashiongan evaluator train`: train on the training split (its first `train_images`
    if given), report test accuracy on the whole test split, save."""
    from fashiongan import data

    x, y = data.load("train", data_dir)
    if train_images is not None:
        if not 1 <= train_images <= len(x):
            raise UserError(f"--train-images must be 1 to {len(x)}, not {train_images}")
        x, y = x[:train_images], y[:train_images]
    xt, yt = data.load("test", data_dir)
    t0 = time.perf_counter()
    scores = []  # the last epoch's is the returned net's: a 10,000-image pass (6 s) not redone

    def report(net) -> str:
        scores.append(accuracy(net, xt, yt))
        return f", test accuracy {100 * scores[-1]:.2f}%"

    net = train(x, y, recipe, log=log, on_epoch=report)
    wall = time.perf_counter() - t0
    acc = scores[-1] if scores else accuracy(net, xt, yt)
    record = recipe_record(recipe, acc, wall)
    record["train_images"] = len(x)
    record["sha256"] = save(net, out or shipped_path(), record)
    log(f"test accuracy {100 * acc:.2f}% after {wall:.0f} s; wrote {out or shipped_path()} "
        f"(sha256 {record['sha256']})")
    return record


def training_code_sha256() -> str:
    """SHA-256 of the source that decides the trained weights (network, recipe, shift, loop).

    Stored in the shipped record: the test suite retrains the full recipe (20+ minutes) only
    when this differs from the record, i.e. when the shipped weights may no longer be what the
    code would train."""
    parts = (EvaluatorNet, Recipe, _shift, train)
    return hashlib.sha256("".join(inspect.getsource(p) for p in parts).encode()).hexdigest()


def recipe_record(recipe: Recipe, test_accuracy: float, wall_s: float) -> dict:
    return {"command": "fashiongan evaluator train", "recipe": asdict(recipe),
            "test_accuracy": test_accuracy, "train_wall_s": round(wall_s, 1),
            "torch": torch.__version__, "code_sha256": training_code_sha256()}


def read_record(path: str | Path | None = None) -> dict:
    file = Path(path) if path else shipped_path()
    try:
        return json.loads(file.with_suffix(".json").read_text())
    except (OSError, json.JSONDecodeError):
        return {}
