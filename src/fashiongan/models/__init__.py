"""Model registry: an architecture name maps to its (Generator, Discriminator) classes.

Every generator takes (z [N, latent_dim], labels [N] or None) and returns images [N,C,H,W] in
[-1, 1], at the channels and resolution of the DatasetInfo it was built for; it has
`latent_dim` and `num_classes` (0 when unconditional). Every discriminator takes (images,
labels or None) and returns one logit per image, shape [N].
"""

from __future__ import annotations

from torch import nn

from fashiongan.data import FASHION_MNIST, DatasetInfo
from fashiongan.errors import UserError
from fashiongan.models.article import ArticleDiscriminator, ArticleGenerator
from fashiongan.models.dcgan import (
    ConditionalDCGANDiscriminator,
    ConditionalDCGANGenerator,
    DCGANDiscriminator,
    DCGANGenerator,
)
from fashiongan.models.fastgan import FastGANDiscriminator, FastGANGenerator
from fashiongan.models.resnet import ResNetDiscriminator, ResNetGenerator
from fashiongan.models.texture import TextureDiscriminator, TextureGenerator

REGISTRY: dict[str, tuple[type[nn.Module], type[nn.Module]]] = {
    "article": (ArticleGenerator, ArticleDiscriminator),
    "dcgan": (DCGANGenerator, DCGANDiscriminator),
    "cdcgan": (ConditionalDCGANGenerator, ConditionalDCGANDiscriminator),
    "resnet": (ResNetGenerator, ResNetDiscriminator),
    "fastgan": (FastGANGenerator, FastGANDiscriminator),
    "texture": (TextureGenerator, TextureDiscriminator),  # a fabric's: z is a noise grid
}


def _classes(name: str):
    if name not in REGISTRY:
        raise UserError(f"unknown model {name!r}; models: {', '.join(sorted(REGISTRY))}")
    return REGISTRY[name]


def generator_kwargs(cfg, info: DatasetInfo = FASHION_MNIST) -> dict:
    """The generator's own keyword arguments: what a snapshot stores to rebuild it (with those
    a model adds of its own: `snapshot_kwargs`)."""
    own = getattr(_classes(cfg.model.arch)[0], "snapshot_kwargs", dict)
    return dict(
        latent_dim=cfg.model.latent_dim,
        g_width=cfg.model.g_width,
        num_classes=cfg.model.num_classes,
        channels=info.channels,
        resolution=info.resolution,
        **own(),
    )


def build_generator(cfg, info: DatasetInfo = FASHION_MNIST) -> nn.Module:
    g = generator_from(cfg.model.arch, generator_kwargs(cfg, info))
    g.dataset = info  # what sampling, the studio and the snapshot read: shape and class names
    return g


def generator_from(model: str, kwargs: dict) -> nn.Module:
    """A generator from its registry name and its own kwargs (a snapshot's 'model_kwargs')."""
    g_cls, _ = _classes(model)
    return g_cls(**kwargs)


def build_discriminator(cfg, info: DatasetInfo = FASHION_MNIST) -> nn.Module:
    _, d_cls = _classes(cfg.model.arch)
    extra = {}
    if cfg.objective.recon_weight:
        if not getattr(d_cls, "can_reconstruct", False):
            raise UserError(f"recon_weight: model {cfg.model.arch}'s discriminator has no "
                            "reconstruction head (model fastgan has)")
        extra["reconstruct"] = True
    return d_cls(
        d_width=cfg.model.d_width,
        num_classes=cfg.model.num_classes,
        spectral_norm=cfg.model.spectral_norm,
        channels=info.channels,
        resolution=info.resolution,
        **extra,
    )


def count_params(module: nn.Module, keras: bool = True) -> int:
    """Parameter count; keras=True also counts BatchNorm moving statistics, as Keras does."""
    n = sum(p.numel() for p in module.parameters())
    if keras:
        n += sum(
            b.numel()
            for name, b in module.named_buffers()
            if name.endswith(("running_mean", "running_var"))
        )
    return n
