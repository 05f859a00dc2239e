"""fashiongan: train, evaluate, sample and serve GANs of clothes: Fashion-MNIST or your own photo
catalogue.

Public API::

    import fashiongan
    g = fashiongan.load_generator("runs/default-000")   # run folder, snapshot folder or file
    images = fashiongan.sample(g, 16, seed=0)            # uint8 [16, H, W] (grey) or [16, H, W, 3]
"""

from fashiongan.data import CLASS_NAMES
from fashiongan.generate.sampling import sample
from fashiongan.snapshot import load_generator
from fashiongan.version import version as _version  # the module stays fashiongan.version

__all__ = ["CLASS_NAMES", "__version__", "load_generator", "sample"]
__version__ = _version()  # what `fashiongan --version` prints
