"""Seed-addressable sampling: image i of a request is a function of its own seed alone.

Each seed gets its own latent (generate/latent.py: its own torch.Generator, as stylegan2-ada
does), so the same seed gives the same image at any batch size, on any number of ranks, and a
design found in the studio can be found again from its seed. The generator runs in eval mode,
so BatchNorm does not couple the batch.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from fashiongan.data import CLASS_NAMES, FASHION_MNIST
from fashiongan.errors import UserError
from fashiongan.generate.latent import latents
from fashiongan.imageio import to_uint8
from fashiongan.validate import fits_in_memory


def dataset_info(g: nn.Module):
    """The DatasetInfo g was built for (snapshots before data sets: Fashion-MNIST's)."""
    return getattr(g, "dataset", FASHION_MNIST)


def image_shape(g: nn.Module) -> tuple[int, ...]:
    """The uint8 shape of one of g's images: (H, W) grey, (H, W, 3) colour."""
    info = dataset_info(g)
    hw = (info.resolution, info.resolution)
    return hw if info.channels == 1 else (*hw, 3)


def class_names(g: nn.Module) -> tuple[str, ...]:
    """The names of g's classes, index i naming class i (empty for an unlabelled data set)."""
    return dataset_info(g).class_names


def parse_class(value: str | int, names: Sequence[str] = CLASS_NAMES) -> int:
    """A class index or a name: exact, then case- and punctuation-blind ('sneaker', 'ankle
    boot', 't-shirt', 'tshirt'), plurals too; Fashion-MNIST's aliases (tshirt, top, boot)."""
    text = str(value).strip().lower()
    if text.isascii() and text.isdigit() and int(text) < len(names):  # int("²") fails
        return int(text)
    for i, n in enumerate(names):  # a data set's own names, Unicode and all
        if text == n.lower():
            return i
    norm = {n.lower().replace("/", " ").replace("-", "").replace(" ", ""): i
            for i, n in enumerate(names)}
    if tuple(names) == CLASS_NAMES:
        norm.update({"tshirt": 0, "top": 0, "boot": 9, "ankleboot": 9})
    key = text.replace("/", " ").replace("-", "").replace(" ", "").replace("_", "")
    plurals = [key[:-2]] if key.endswith("es") else []  # dresses
    plurals += [key[:-1]] if key.endswith("s") else []  # sneakers, trousers
    for cand in (key, *plurals):  # only an s or es comes off: bagzz is no Bag
        if cand in norm:
            return norm[cand]
    raise UserError(f"unknown class {value!r}; classes: "
                    + ", ".join(f"{i} {n}" for i, n in enumerate(names)))


def _device_of(g: nn.Module) -> torch.device:
    p = next(g.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


def check_garment(g: nn.Module) -> None:
    """A fabric's texture generator draws fabrics, not garments (`fashiongan texture`)."""
    if getattr(g, "is_texture", False):
        raise UserError("this is a fabric (a texture generator), not a garment generator; weave "
                        "it with `fashiongan texture sample RUN`")


@torch.no_grad()
def generate(g: nn.Module, z: torch.Tensor, labels: torch.Tensor | None = None,
             batch_size: int = 500) -> np.ndarray:
    """Run G in eval mode over z (and labels) in batches; uint8 [N,H,W] (grey) or [N,H,W,3]
    (colour) at the resolution of G's data set (image_shape)."""
    check_garment(g)
    was_training = g.training
    g.eval()
    dev = _device_of(g)
    out = []
    try:
        for i in range(0, len(z), batch_size):
            y = None if labels is None else labels[i:i + batch_size].to(dev)
            out.append(to_uint8(g(z[i:i + batch_size].to(dev), y)))
    finally:
        g.train(was_training)
    return np.concatenate(out) if out else np.zeros((0, *image_shape(g)), np.uint8)


def sample(g: nn.Module, n: int, seed: int = 0, labels=None, batch_size: int = 500,
           return_labels: bool = False, *, classes=None):
    """n images from seeds seed..seed+n-1: uint8 [n, H, W] (grey) or [n, H, W, 3] (colour).

    For a class-conditional G, `classes` (or its older name `labels`) is one class or one per
    image, each a name ("dress", "ankle boot") or an index; when omitted, image i gets class
    i % num_classes, so any n >= 10 is balanced. With return_labels, (images, classes drawn).
    """
    if n < 0:
        raise UserError(f"n must be >= 0, got {n}")
    if classes is not None:
        if labels is not None:
            raise UserError("give classes= or labels= (the same thing), not both")
        labels = classes
    shape = image_shape(g)
    # the images are kept, 8 bytes of label each; latents live one batch at a time
    fits_in_memory(n * (int(np.prod(shape)) + 8), f"{n:,} images of {'x'.join(map(str, shape))}")
    y = class_labels(g, n, labels)
    images = np.empty((n, *shape), np.uint8)
    for i in range(0, n, batch_size):
        j = min(n, i + batch_size)
        z = latents(range(seed + i, seed + j), g.latent_dim)
        images[i:j] = generate(g, z, None if y is None else y[i:j], batch_size)
    return (images, None if y is None else y.numpy()) if return_labels else images


def class_labels(g: nn.Module, n: int, labels=None) -> torch.Tensor | None:
    k = getattr(g, "num_classes", 0)
    if not k:
        if labels is not None:
            raise UserError("this generator is unconditional: it takes no class")
        return None
    if labels is None:
        return torch.arange(n) % k
    if isinstance(labels, str | int):
        return torch.full((n,), parse_class(labels, class_names(g)), dtype=torch.long)
    y = torch.as_tensor([parse_class(v, class_names(g)) for v in labels], dtype=torch.long)
    if len(y) != n:
        raise UserError(f"{len(y)} labels for {n} images")
    return y
