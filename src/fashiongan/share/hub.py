"""The generator as Hugging Face's PyTorchModelHubMixin sees it.

The mixin's `from_pretrained(DIR)` reads DIR/config.json, passes the keys that the class's
__init__ names as keyword arguments, builds the class and loads DIR/model.safetensors into it
with `load_state_dict(strict=False)`. So config.json holds the snapshot's own description
(`model`, `model_kwargs`, `dataset`: the names of HubGenerator's arguments), and HubGenerator
holds the registry's generator's submodules under their own names: its state dict is the
generator's, key for key, and the file that fashiongan's loader reads is the file the mixin
reads. (A wrapper holding the generator as a child would prefix every key with its name, and
strict=False would then load nothing, silently.)

huggingface_hub is optional (the `share` extra): FashionGANGenerator, the class with the mixin,
is made on first use (module __getattr__).
"""

from __future__ import annotations

import functools

import torch
from torch import nn

from fashiongan.data import FASHION_MNIST, DatasetInfo
from fashiongan.errors import UserError
from fashiongan.models import generator_from


class HubGenerator(nn.Module):
    """A registry generator built from a snapshot's description; draws exactly what the
    generator draws and has the attributes fashiongan's sampling reads (latent_dim,
    num_classes, dataset), so `fashiongan.sample(model, n)` works on it."""

    def __init__(self, model: str, model_kwargs: dict, dataset: dict | None = None):
        super().__init__()
        inner = generator_from(model, dict(model_kwargs))
        direct = [n for n, _ in inner.named_parameters(recurse=False)]
        direct += [n for n, _ in inner.named_buffers(recurse=False)]
        if direct:  # a tensor held by the generator itself would not follow .to() here
            raise UserError(f"model {model!r} keeps tensors outside submodules "
                            f"({', '.join(direct)}); it cannot be wrapped for the hub")
        for name, child in inner.named_children():
            self.add_module(name, child)  # shared, not copied: the same modules run below
        self._inner = (inner,)  # a tuple: not registered, so no "inner." key prefix
        self.model_name, self.model_kwargs = model, dict(model_kwargs)
        self.dataset = DatasetInfo.from_dict(dataset) if dataset else FASHION_MNIST
        self.latent_dim = inner.latent_dim
        self.num_classes = getattr(inner, "num_classes", 0)
        self.eval()

    def train(self, mode: bool = True) -> HubGenerator:
        super().train(mode)
        self._inner[0].train(mode)  # the generator's own flag too, for a forward that reads it
        return self

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Images [N, C, H, W] in [-1, 1] for latents [N, latent_dim] and class indices [N]
        or class weights [N, num_classes] (None for an unconditional generator)."""
        return self._inner[0](z, labels)


@functools.cache
def hub_class() -> type:
    """HubGenerator with huggingface_hub's PyTorchModelHubMixin (from_pretrained,
    save_pretrained, push_to_hub)."""
    try:  # optional: the share extra
        from huggingface_hub import PyTorchModelHubMixin
    except ModuleNotFoundError as e:
        raise UserError(f"the hub class needs the share extra ({e.name} is missing): "
                        "pip install 'fashiongan[share]'") from None

    class FashionGANGenerator(HubGenerator, PyTorchModelHubMixin, library_name="fashiongan",
                              tags=["gan", "image-generation", "fashiongan"], license="mit"):
        """A fashiongan generator with the hub's from_pretrained/save_pretrained."""

    FashionGANGenerator.__module__ = __name__
    return FashionGANGenerator


def __getattr__(name: str):
    if name == "FashionGANGenerator":
        return hub_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
