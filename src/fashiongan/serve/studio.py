"""The studio's engine: designs addressed by (seed, class), morphs between two designs, PNG bytes.

A design is a pure function of its seed and class. Each one is computed by its own forward pass
(batch of one): CPU matrix kernels round differently at other batch sizes, and a design must
keep its exact pixels whether it was made alone, in a grid of 16, or at another grid position,
so that the single-design download equals the grid cell the user clicked.

One lock serialises the generator: requests run in FastAPI's thread pool, torch already spreads
one forward pass over the cores, and the lock keeps concurrent requests from oversubscribing them.
"""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torch import nn

from fashiongan.errors import UserError
from fashiongan.generate.latent import forward_blend, latents, path, soft_class_mode
from fashiongan.generate.sampling import check_garment, class_names, dataset_info, image_shape
from fashiongan.imageio import grid, to_uint8

MAX_SEED = 2**31  # seeds are in [0, MAX_SEED)


@dataclass(frozen=True)
class Design:
    seed: int
    label: int | None  # class index; None for an unconditional generator
    image: np.ndarray  # uint8 [H, W] grey or [H, W, 3] colour, at the data set's resolution


class Studio:
    def __init__(self, generator: nn.Module):
        check_garment(generator)
        self.g = generator.eval()
        self.num_classes = int(getattr(generator, "num_classes", 0))
        self.latent_dim = int(generator.latent_dim)
        self.device = next(generator.parameters()).device
        self.model = getattr(generator, "model_name", type(generator).__name__)
        self.blend_mode = soft_class_mode(self.g)
        self._lock = threading.Lock()

    @property
    def conditional(self) -> bool:
        return self.num_classes > 0

    def check_class(self, label: int | None, what: str = "class") -> None:
        if label is not None and not self.conditional:
            raise UserError(f"{what}: this generator ({self.model}) is unconditional and takes "
                            "no class; leave the class out")

    def default_class(self, seed: int) -> int | None:
        """The class of a design asked for without one: a function of its seed alone."""
        return seed % self.num_classes if self.conditional else None

    def _run(self, z: torch.Tensor, a: torch.Tensor | None, b: torch.Tensor | None,
             t: torch.Tensor) -> np.ndarray:
        out = []
        with self._lock, torch.no_grad():
            for i in range(len(z)):
                pick = slice(i, i + 1)
                out.append(forward_blend(
                    self.g, z[pick].to(self.device), None if a is None else a[pick],
                    None if b is None else b[pick], t[pick], self.blend_mode))
        return to_uint8(torch.cat(out)) if out else np.zeros((0, *image_shape(self.g)), np.uint8)

    def designs(self, seed: int, n: int, label: int | None = None, mix_label: int | None = None,
                mix: float = 0.5) -> list[Design]:
        """Designs seed..seed+n-1 of class `label` (or each seed's default class), optionally
        blended a fraction `mix` of the way towards class `mix_label`."""
        self.check_class(label)
        self.check_class(mix_label, "mix_class")
        seeds = list(range(seed, seed + n))
        labels = [label if label is not None else self.default_class(s) for s in seeds]
        a = None if labels[0] is None else torch.tensor(labels, device=self.device)
        b = None if mix_label is None else torch.full((n,), mix_label, device=self.device)
        t = torch.full((n,), float(mix) if mix_label is not None else 0.0, device=self.device)
        images = self._run(latents(seeds, self.latent_dim), a, b, t)
        return [Design(s, y, img) for s, y, img in zip(seeds, labels, images, strict=True)]

    def morph(self, seed_a: int, seed_b: int, label_a: int | None, label_b: int | None,
              steps: int) -> tuple[list[float], np.ndarray]:
        """`steps` frames from design (seed_a, label_a) to design (seed_b, label_b), ends included.

        A missing label is that seed's default class, so the first and last frames are exactly
        the designs the user clicked in a grid generated without a class.
        """
        self.check_class(label_a, "class_a")
        self.check_class(label_b, "class_b")
        la = label_a if label_a is not None else self.default_class(seed_a)
        lb = label_b if label_b is not None else self.default_class(seed_b)
        ts = [i / (steps - 1) for i in range(steps)] if steps > 1 else [0.0]
        t = torch.tensor(ts)
        z = path(seed_a, seed_b, t, self.latent_dim)  # the ends are the seeds' own latents
        a = None if la is None else torch.full((steps,), la, device=self.device)
        b = None if lb is None else torch.full((steps,), lb, device=self.device)
        return ts, self._run(z, a, b, t.to(self.device))

    def project(self, target: np.ndarray, class_=None, steps: int | None = None, seed: int = 0):
        """The design closest to one converted photo (generate/project.py), under the lock;
        steps: None is the projector's own default, the one `fashiongan project` uses."""
        from fashiongan.generate.project import STEPS, project

        with self._lock:
            return project(self.g, target[None], class_, steps=steps or STEPS, seed=seed)

    def around(self, z: torch.Tensor, weights: torch.Tensor | None, n: int, strength: float,
               seed: int) -> np.ndarray:
        """n variations of a projected design (generate/variations.py), drawn as designs are."""
        from fashiongan.generate.variations import varied

        zs = varied(z, n, strength, seed)
        a = None if weights is None else weights.expand(n, -1).to(self.device)
        return self._run(zs, a, None, torch.zeros(n, device=self.device))

    def restyle(self, z: torch.Tensor, weights: torch.Tensor, label_to: int,
                steps: int) -> tuple[list[float], np.ndarray]:
        """The morph of a projected design (latent, class blend) into class `label_to`: the
        latent stays, the class goes, along the same blend path as `morph`."""
        self.check_class(label_to, "class_to")
        ts = [i / (steps - 1) for i in range(steps)]
        t = torch.tensor(ts, device=self.device)
        a = weights.expand(steps, -1).to(self.device)
        b = torch.full((steps,), label_to, device=self.device)
        return ts, self._run(z.expand(steps, -1), a, b, t)

    def info(self) -> dict:
        info = dataset_info(self.g)
        return {"model": self.model, "conditional": self.conditional,
                "num_classes": self.num_classes, "latent_dim": self.latent_dim,
                "class_blend": self.blend_mode, "resolution": info.resolution,
                "channels": info.channels, "dataset": info.name}

    def class_name(self, label: int | None) -> str | None:
        return None if label is None else class_names(self.g)[label]


def png_bytes(image: np.ndarray | Image.Image, scale: int = 1) -> bytes:
    """Deterministic PNG (PIL + zlib at fixed settings): same pixels, same bytes."""
    im = image if isinstance(image, Image.Image) else Image.fromarray(
        image, mode="RGB" if image.ndim == 3 else "L")
    if scale > 1:
        im = im.resize((im.width * scale, im.height * scale), Image.NEAREST)
    buf = io.BytesIO()
    im.save(buf, format="PNG", optimize=False, compress_level=6)
    return buf.getvalue()


def grid_png(images: np.ndarray, cols: int, scale: int = 1) -> bytes:
    """A grid with 2-px grey gaps; one image comes alone, unframed (a design's download)."""
    if len(images) == 1:
        return png_bytes(images[0], scale)
    cols = max(1, min(cols, len(images)))
    rows = -(-len(images) // cols)
    return png_bytes(grid(images, rows, cols, scale=scale))
