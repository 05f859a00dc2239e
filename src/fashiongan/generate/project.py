"""Projection: the latent (and, for a class-conditional G, the class or class blend) whose sample
is closest to a given image, so that a photo can be varied and restyled like any design.

Per image, in the spirit of StyleGAN2-ADA's projector (ideas only):
1. many random starts, scored in one batch by the distance (generate/perceptual.py); with
   `auto` the starts cycle through every class, so the class search is part of the start;
2. the best few are refined together with Adam: the latent, and with `auto` the logits of a
   class blend fed through the conditional BatchNorm's soft-class path (generate/latent.py);
3. noise regularisation: Gaussian noise added to the latent early on (fading to zero by 3/4
   of the steps) so the search does not settle in the first dent, and a prior that keeps the
   latent's norm where N(0, I) puts it, so variations around it stay in G's world.

Image i's starts and noise come from its own generator seeded seed + i: a projection does not
depend on what else was projected with it. G and the evaluator stay frozen and in eval mode.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from fashiongan.errors import UserError
from fashiongan.generate.latent import soft_class_mode
from fashiongan.generate.perceptual import Distance
from fashiongan.generate.sampling import class_names, dataset_info, image_shape, parse_class
from fashiongan.imageio import to_nchw, to_uint8

STARTS = 500  # random latents scored per image (~1 s at 28 px on one core)
REFINE = 4  # of them refined by Adam, in one batch
STEPS = 150
LR = 0.08
NOISE = 0.5  # early latent noise, per component (latents are N(0, 1) per component)
NOISE_UNTIL = 0.75  # fraction of the steps over which that noise fades to zero
PRIOR = 0.05  # weight of (|z|^2 / D - 1)^2
LOGIT = 6.0  # a start's class as logits: softmax gives it 0.98 of the weight
SCORE_BATCH = 250


@dataclass
class Projection:
    images: np.ndarray  # uint8 reconstructions, the layout `sample` writes
    inputs: np.ndarray  # uint8 targets (the converted photos), same layout
    latents: np.ndarray  # float32 [N, latent_dim]
    labels: np.ndarray | None  # int64 [N]: the main class (None: unconditional G)
    class_weights: np.ndarray | None  # float32 [N, num_classes]: the class blend
    distances: np.ndarray  # float32 [N]: the final distance (perceptual.Distance, `kind`)
    kind: str  # "evaluator" or "pyramid": which distance was used

    def arrays(self) -> dict:
        """The .npz contents (`fashiongan project --out`)."""
        out = {"images": self.images, "inputs": self.inputs, "latents": self.latents,
               "distances": self.distances, "distance": np.array(self.kind)}
        if self.labels is not None:
            out.update(labels=self.labels, class_weights=self.class_weights)
        return out


def project(g: nn.Module, targets: np.ndarray, class_=None, steps: int = STEPS,
            starts: int = STARTS, refine: int = REFINE, seed: int = 0,
            progress: bool = False) -> Projection:
    """Project uint8 `targets` ([N,H,W] grey / [N,H,W,3] colour, G's size) into G.

    class_: None (unconditional G, or `auto` for a conditional one), "auto", or a class name
    or index for every image."""
    shape = image_shape(g)
    if targets.dtype != np.uint8 or tuple(targets.shape[1:]) != shape:
        raise UserError(f"projection targets must be uint8 Nx{'x'.join(map(str, shape))}, got "
                        f"{targets.dtype} {'x'.join(map(str, targets.shape))}")
    if steps < 0 or starts < 1 or refine < 1:
        raise UserError(f"--steps must be >= 0 and --starts, --refine >= 1 (got {steps}, "
                        f"{starts}, {refine})")
    k = int(getattr(g, "num_classes", 0))
    if not k and class_ not in (None, "auto"):
        raise UserError("this generator is unconditional: it takes no --class")
    fixed = None if class_ in (None, "auto") or not k else parse_class(class_, class_names(g))
    g.eval().requires_grad_(False)
    dev = next(g.parameters()).device
    info = dataset_info(g)
    distance = Distance(info.channels, info.resolution).to(dev)
    mode = soft_class_mode(g)
    # np.array: a copy, as torch wants writable memory (PIL's arrays are read-only)
    x = to_nchw(np.array(targets)).float().div(127.5).sub(1).to(dev)
    from tqdm import tqdm

    z_out, w_out, d_out = [], [], []
    for i in tqdm(range(len(x)), unit="img", desc="project", disable=not progress,
                  file=sys.stderr, dynamic_ncols=True):
        gen = torch.Generator().manual_seed(seed + i)
        z, w, d = _one(g, distance, x[i:i + 1], k, fixed, mode, steps, starts, refine, gen)
        z_out.append(z)
        w_out.append(w)
        d_out.append(d)
    z_all = torch.stack(z_out) if z_out else torch.zeros(0, g.latent_dim)
    w_all = torch.stack(w_out) if k and w_out else (torch.zeros(0, k) if k else None)
    images = render(g, z_all, w_all)
    return Projection(images, targets.copy(), z_all.numpy().astype(np.float32),
                      None if w_all is None else w_all.argmax(1).numpy().astype(np.int64),
                      None if w_all is None else w_all.numpy().astype(np.float32),
                      np.array(d_out, np.float32), distance.kind)


def _one(g, distance, target, k, fixed, mode, steps, starts, refine, gen):
    """(latent [D], class weights [K] or None, distance) of one target [1,C,H,W]."""
    dev = target.device
    z0 = torch.randn(starts, g.latent_dim, generator=gen).to(dev)
    y0 = None
    if k:
        y0 = (torch.full((starts,), fixed) if fixed is not None
              else torch.arange(starts) % k).to(dev)
    with torch.no_grad():
        scores = torch.cat([
            distance(g(z0[j:j + SCORE_BATCH], None if y0 is None else y0[j:j + SCORE_BATCH]),
                     target)
            for j in range(0, starts, SCORE_BATCH)])
    best = scores.argsort()[:refine]
    z = z0[best].clone().requires_grad_(True)
    labels = None if y0 is None else y0[best]
    # `auto` with a G that blends: the class is learnt too, as logits of a class blend
    logits = None
    if k and fixed is None and mode == "soft":
        logits = (F.one_hot(labels, k).float() * LOGIT).requires_grad_(True)
    opt = torch.optim.Adam([z] if logits is None else [z, logits], lr=LR)
    d = z.shape[1]
    for step in range(steps):
        t = step / max(steps, 1)
        for group in opt.param_groups:
            group["lr"] = LR * _schedule(t)
        sigma = NOISE * max(0.0, 1 - t / NOISE_UNTIL) ** 2
        noisy = z + sigma * torch.randn(z.shape, generator=gen).to(dev)
        cond = labels if logits is None else torch.softmax(logits, 1)
        loss = distance(g(noisy, cond), target)
        prior = (z.pow(2).sum(1) / d - 1).pow(2)
        opt.zero_grad(set_to_none=True)
        (loss + PRIOR * prior).sum().backward()
        opt.step()
    with torch.no_grad():
        weights = None if not k else (F.one_hot(labels, k).float() if logits is None
                                      else torch.softmax(logits, 1))
        cond = labels if logits is None else weights
        final = distance(g(z, cond), target)
        j = int(final.argmin())
        return (z[j].detach().cpu(), None if weights is None else weights[j].detach().cpu(),
                float(final[j]))


def _schedule(t: float) -> float:
    """Learning-rate factor at progress t in [0, 1): a short ramp up, a cosine ramp down over
    the last quarter (StyleGAN2-ADA's projector does the same)."""
    up = min(1.0, t / 0.05)
    down = 0.5 - 0.5 * math.cos(math.pi * min(1.0, (1 - t) / 0.25))
    return up * down


@torch.no_grad()
def render(g: nn.Module, z: torch.Tensor, weights: torch.Tensor | None) -> np.ndarray:
    """G's images for latents and class weights, one forward pass each (batch of one, as the
    studio renders), so a projection's picture is the same bytes wherever it is drawn again.
    A G that cannot blend classes gets the weights' main class."""
    if not len(z):
        return np.zeros((0, *image_shape(g)), np.uint8)
    dev = next(g.parameters()).device
    cond = None
    if weights is not None:
        cond = weights if soft_class_mode(g) == "soft" else weights.argmax(1)
    out = [g(z[i:i + 1].to(dev), None if cond is None else cond[i:i + 1].to(dev))
           for i in range(len(z))]
    return to_uint8(torch.cat(out))
