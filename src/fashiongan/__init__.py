"""fashiongan: train, evaluate, sample and serve GANs on Fashion-MNIST.

Public API::

    import fashiongan
    g = fashiongan.load_generator("runs/default-000")   # run folder, snapshot folder or file
    images = fashiongan.sample(g, 16, seed=0)            # uint8 [16, H, W] (grey) or [16, H, W, 3]
"""

from fashiongan.data import CLASS_NAMES
from fashiongan.generate.sampling import sample
from fashiongan.snapshot import load_generator

__all__ = ["CLASS_NAMES", "load_generator", "sample"]
__version__ = "0.1.0"
