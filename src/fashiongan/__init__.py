"""fashiongan: train, evaluate, sample and serve GANs of clothes: Fashion-MNIST or your own photo
catalogue.

Public API (docs/python-api.md)::

    import fashiongan
    g = fashiongan.load_generator("default")   # a shipped name, run, snapshot or package folder
    dresses = fashiongan.sample(g, 8, seed=0, classes="dress")   # uint8 [8, 28, 28]
    fashiongan.class_names(g)                   # ('T-shirt/top', 'Trouser', ...)

Latents and walks: `latents`, `slerp`, `lerp`, `interpolate`; photos into the model:
`project`, then `render` its latents again. Sharing a model: `fashiongan package` and
fashiongan.share (config.json + model.safetensors, Hugging Face's layout; ONNX).
"""

from fashiongan import cpuload

# Before torch loads its OpenMP runtime: OpenMP's spinning where every core is idle, passive
# waiting beside a busy program (cpuload.py; the user's own OMP_WAIT_POLICY wins).
cpuload.choose_wait_policy()

from fashiongan.data import CLASS_NAMES  # noqa: E402
from fashiongan.generate.interpolate import interpolate  # noqa: E402
from fashiongan.generate.latent import latents, lerp, slerp  # noqa: E402
from fashiongan.generate.project import project, render  # noqa: E402
from fashiongan.generate.sampling import class_names, sample  # noqa: E402
from fashiongan.snapshot import load_generator  # noqa: E402
from fashiongan.version import version as _version  # noqa: E402 - the module stays fashiongan.version

cpuload.forget_wait_policy()  # torch has loaded OpenMP by now

__all__ = ["CLASS_NAMES", "__version__", "class_names", "interpolate", "latents", "lerp",
           "load_generator", "project", "render", "sample", "slerp"]
__version__ = _version()  # what `fashiongan --version` prints
