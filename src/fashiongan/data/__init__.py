"""Data sets: Fashion-MNIST from its IDX files (fmnist.py) and what describes any data set
(info.py). Everything else in fashiongan reads data through here."""

from fashiongan.data.fmnist import (
    APT_PACKAGE,
    CLASS_NAMES,
    FILES,
    MIRROR,
    SYSTEM_DIR,
    DataError,
    IdxFile,
    candidate_dirs,
    download,
    find_data_dir,
    load,
    read_idx,
    verify,
)
from fashiongan.data.info import RESOLUTIONS, DatasetInfo

FASHION_MNIST = DatasetInfo(resolution=28, channels=1, class_names=CLASS_NAMES,
                            name="fashion-mnist")

__all__ = ["APT_PACKAGE", "CLASS_NAMES", "FASHION_MNIST", "FILES", "MIRROR", "RESOLUTIONS",
           "SYSTEM_DIR", "DataError", "DatasetInfo", "IdxFile", "candidate_dirs", "download",
           "find_data_dir", "load", "read_idx", "verify"]
