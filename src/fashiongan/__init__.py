"""fashiongan: train, evaluate, sample and serve GANs of clothes: Fashion-MNIST or your own photo
catalogue.

Public API::

    import fashiongan
    g = fashiongan.load_generator("runs/default-000")   # run folder, snapshot folder or file
    images = fashiongan.sample(g, 16, seed=0)            # uint8 [16, H, W] (grey) or [16, H, W, 3]
"""

import os

# Before torch loads its OpenMP runtime: a waiting thread sleeps instead of spinning on a core
# that another program needs (accel/threads.py; the user's own setting wins).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from fashiongan.data import CLASS_NAMES  # noqa: E402
from fashiongan.generate.sampling import sample  # noqa: E402
from fashiongan.snapshot import load_generator  # noqa: E402
from fashiongan.version import version as _version  # noqa: E402 - the module stays fashiongan.version

__all__ = ["CLASS_NAMES", "__version__", "load_generator", "sample"]
__version__ = _version()  # what `fashiongan --version` prints
