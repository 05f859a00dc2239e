"""ADA's augmentation pipeline (Karras et al. 2020, "Training GANs with Limited Data"), reduced
to the operations that make sense for garments on 28-128 px images.

Order and distributions follow the paper's `bgc` pipeline (except that quarter turns come
before the flip, see geometry.warp); every operation is applied to each image independently
with probability p (the controller's strength):

  x-flip         mirror left-right (with probability 1/2 once selected, as ADA draws it)
  rotate90       k quarter turns, k uniform in 0..3 (off by default: garments stand upright)
  translation    integer shift, uniform in +-0.125 of the size, rounded to pixels
  scale          isotropic, factor 2^N(0, 0.2^2)
  aniso          x by s and y by 1/s, s = 2^N(0, 0.2^2)
  brightness     add N(0, 0.2^2)
  contrast       multiply by 2^N(0, 0.5^2) (about 0, mid-grey in [-1, 1] images)
  saturation     scale the deviation from the channel mean by 2^N(0, 1); colour images only
  cutout         zero a square of half the size, centre uniform over the image

The draws for a batch (`sample`) are kept apart from their application (`apply`), so tests can
check each operation against its definition, and every random number comes from the caller's
torch.Generator: the global RNG is never touched. p == 0 returns the input object itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from fashiongan.augment import geometry


@dataclass(frozen=True)
class AdaOptions:
    """Which operations run (each still only with probability p) and their spreads."""

    xflip: bool = True
    rotate90: bool = False
    translation: bool = True
    scale: bool = True
    aniso: bool = True
    brightness: bool = True
    contrast: bool = True
    saturation: bool = True
    cutout: bool = True
    translation_max: float = 0.125  # fraction of the image size
    scale_std: float = 0.2  # log2
    aniso_std: float = 0.2  # log2
    brightness_std: float = 0.2
    contrast_std: float = 0.5  # log2
    saturation_std: float = 1.0  # log2
    cutout_size: float = 0.5  # side, fraction of the image size


def _param_dtype(x: torch.Tensor) -> torch.dtype:
    # float64 runs (the equivalence tests) draw in float64; bf16/fp16 images get float32 draws,
    # whose 2^N factors a 16-bit draw would quantise coarsely.
    return torch.float64 if x.dtype == torch.float64 else torch.float32


def sample(x: torch.Tensor, p: float, generator: torch.Generator,
           options: AdaOptions | None = None) -> dict[str, torch.Tensor]:
    """The per-image parameters of one call, drawn in a fixed order from `generator`; an
    operation that is off or not selected for an image gets its identity value there."""
    B, C, H, W = x.shape
    dev, dt, o = x.device, _param_dtype(x), options or AdaOptions()

    def rand(*shape):
        return torch.rand(*shape, device=dev, dtype=dt, generator=generator)

    def randn(*shape):
        return torch.randn(*shape, device=dev, dtype=dt, generator=generator)

    def chosen():
        return rand(B) < p

    zeros_i = torch.zeros(B, dtype=torch.long, device=dev)
    prm = {"flip": torch.zeros(B, dtype=torch.bool, device=dev), "rot": zeros_i,
           "tx": zeros_i, "ty": zeros_i}
    if o.xflip:
        prm["flip"] = (rand(B) < 0.5) & chosen()
    if o.rotate90:
        if H != W:
            raise ValueError(f"rotate90 needs square images, got {H}x{W}")
        prm["rot"] = torch.where(chosen(), torch.floor(rand(B) * 4).long(), zeros_i)
    if o.translation:
        t = (rand(B, 2) * 2 - 1) * o.translation_max
        on = chosen()
        prm["tx"] = torch.where(on, torch.round(t[:, 0] * W).long(), zeros_i)
        prm["ty"] = torch.where(on, torch.round(t[:, 1] * H).long(), zeros_i)
    one, zero = torch.ones(B, device=dev, dtype=dt), torch.zeros(B, device=dev, dtype=dt)
    prm["sx"], prm["sy"] = one, one
    if o.scale:
        s = torch.where(chosen(), torch.exp2(randn(B) * o.scale_std), one)
        prm["sx"], prm["sy"] = prm["sx"] * s, prm["sy"] * s
    if o.aniso:
        s = torch.where(chosen(), torch.exp2(randn(B) * o.aniso_std), one)
        prm["sx"], prm["sy"] = prm["sx"] * s, prm["sy"] / s
    prm["brightness"] = torch.where(chosen(), randn(B) * o.brightness_std, zero) \
        if o.brightness else zero
    prm["contrast"] = torch.where(chosen(), torch.exp2(randn(B) * o.contrast_std), one) \
        if o.contrast else one
    # Saturation is the identity on one channel; drawing nothing there keeps 1-channel
    # streams free of dead draws.
    prm["saturation"] = torch.where(chosen(), torch.exp2(randn(B) * o.saturation_std), one) \
        if o.saturation and C > 1 else one
    prm["cutout"] = chosen() if o.cutout else torch.zeros(B, dtype=torch.bool, device=dev)
    prm["cutout_centre"] = rand(B, 2) if o.cutout else torch.zeros(B, 2, device=dev, dtype=dt)
    return prm


def cutout_mask(B: int, H: int, W: int, on: torch.Tensor, centre: torch.Tensor,
                size: float) -> torch.Tensor:
    """[B, 1, H, W] float mask, 0 inside each selected image's square (pixel centres within
    size/2 of the centre, in units of the image size), 1 elsewhere."""
    dt = centre.dtype
    cx = (torch.arange(W, device=centre.device, dtype=dt) + 0.5) / W
    cy = (torch.arange(H, device=centre.device, dtype=dt) + 0.5) / H
    in_x = (cx.view(1, 1, W) - centre[:, 0].view(B, 1, 1)).abs() < size / 2
    in_y = (cy.view(1, H, 1) - centre[:, 1].view(B, 1, 1)).abs() < size / 2
    hole = in_x & in_y & on.view(B, 1, 1)
    return (~hole).to(dt).unsqueeze(1)


def changed(prm: dict[str, torch.Tensor]) -> torch.Tensor:
    """[B] bool: the images some drawn operation changes. An operation that is off or not
    selected holds its identity value (sample), so the parameters alone say it."""
    return (prm["flip"] | (prm["rot"] != 0) | (prm["tx"] != 0) | (prm["ty"] != 0)
            | (prm["sx"] != 1) | (prm["sy"] != 1) | (prm["brightness"] != 0)
            | (prm["contrast"] != 1) | (prm["saturation"] != 1) | prm["cutout"])


def apply(x: torch.Tensor, prm: dict[str, torch.Tensor], options: AdaOptions | None = None
          ) -> torch.Tensor:
    """Apply drawn parameters: geometry (one resampling), then colour, then cutout.

    Only the images an operation changes are computed; the others are copied as they are,
    which is what the pipeline returns for them anyway (every operation at its identity value
    is exact). At the p of a trained GAN (0.1-0.2) that is 30-60 % of a batch, and the
    batched resampling costs size^3 per image. When no image changes, x itself comes back;
    for part of a batch, a new tensor in x's memory format. Only on the CPU: elsewhere counting
    the changed images would wait for the device, where a whole batch costs little more."""
    if x.device.type != "cpu":
        return every_image(x, prm, options)
    on = changed(prm)
    n = int(on.sum())
    if n == 0:
        return x
    if n == len(on):
        return every_image(x, prm, options)
    idx = on.nonzero().squeeze(1)
    sub = every_image(x[idx], {k: v[idx] for k, v in prm.items()}, options)
    # into a clone, which keeps x's memory format: out-of-place index_copy returns NCHW, and
    # turning a 3-channel batch to channels-last and back cost more than the warp saved
    out = x.clone()
    return out.index_copy_(0, idx, sub)


def every_image(x: torch.Tensor, prm: dict[str, torch.Tensor],
                options: AdaOptions | None = None) -> torch.Tensor:
    """`apply` computed on every image of x, changed or not."""
    B, C, H, W = x.shape
    o = options or AdaOptions()
    if o.xflip or o.rotate90 or o.translation or o.scale or o.aniso:
        x = geometry.warp(x, prm["flip"], prm["tx"], prm["ty"], prm["sx"], prm["sy"],
                          prm["rot"] if o.rotate90 else None)
    if o.brightness or o.contrast:
        b = prm["brightness"].to(x.dtype).view(B, 1, 1, 1)
        c = prm["contrast"].to(x.dtype).view(B, 1, 1, 1)
        # ADA's colour matrix: brightness first, then contrast, (x + b) c, in one pass
        x = torch.addcmul(b * c, x, c)
    if o.saturation and C > 1:
        s = prm["saturation"].to(x.dtype).view(B, 1, 1, 1)
        mean = x.mean(dim=1, keepdim=True)  # projection on the luma axis (1, 1, 1)/sqrt(3)
        x = torch.addcmul(mean * (1 - s), x, s)  # mean + (x - mean) s, in one pass
    if o.cutout:
        x = x * cutout_mask(B, H, W, prm["cutout"], prm["cutout_centre"],
                            o.cutout_size).to(x.dtype)
    return x


def ada_augment(x: torch.Tensor, p: float, *, generator: torch.Generator,
                options: AdaOptions | None = None) -> torch.Tensor:
    """ADA-augmented copy of x [N, C, H, W] (any C; saturation only when C > 1).

    p == 0 returns x itself and draws nothing, so an ADA run whose p stays 0 is bit for bit
    the run without augmentation.
    """
    if p <= 0:
        return x
    return apply(x, sample(x, p, generator, options), options)
