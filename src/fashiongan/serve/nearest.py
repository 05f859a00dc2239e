"""The studio's "nearest training image": a design beside the training image closest to it.

The same audit as `fashiongan audit` (metrics/audit.py): judge features and the spectrum find
candidates, the distance is the RMS pixel difference at the best shift of up to 2 px, and the
design counts as closer than unseen images come when that distance lies below the 5 % of real
test images (its class's threshold). The training data (Fashion-MNIST for its generators, or
`serve --data DATASET`) is indexed on the first request only (cached on disk after the first
time: about 80 s for Fashion-MNIST on one core), so serving starts as fast as before.
"""

from __future__ import annotations

import threading

import numpy as np


class NearestTraining:
    def __init__(self, load):
        """load() -> (Dataset, TrainingIndex, Calibration), called once, on first use."""
        self._load, self._ref, self._lock = load, None, threading.Lock()

    def reference(self):
        with self._lock:
            if self._ref is None:
                self._ref = self._load()
            return self._ref

    def lookup(self, image: np.ndarray, label: int | None) -> dict:
        from fashiongan.metrics.audit import flagged, layout

        ds, index, calibration = self.reference()
        found, dist = index.nearest(image[None])
        i = int(found[0])
        threshold = calibration.thresholds(None if label is None else [label])
        return {"train_index": i, "distance": float(dist[0]),
                "threshold": float(calibration.threshold if threshold is None else threshold[0]),
                "closer_than_unseen": bool(flagged(dist, calibration, None if label is None
                                                   else [label])[0]),
                "image": layout(index.images[i]), "train_label": None if ds.labels is None
                else int(ds.labels[ds.train_index[i]])}


def for_generator(g, data: str | None = None, evaluator: str | None = None) -> NearestTraining:
    """The lookup for g's training data: --data, else Fashion-MNIST for its generators."""
    def load():
        from fashiongan.errors import UserError
        from fashiongan.metrics import audit, judge

        ds, why = audit.training_data(g.dataset, data)
        if ds is None:
            raise UserError(f"nearest training image: {why} (serve --data DATASET)")
        net, sha = judge.for_images(g.dataset, evaluator)
        return ds, *audit.reference(ds, net, sha)

    return NearestTraining(load)
