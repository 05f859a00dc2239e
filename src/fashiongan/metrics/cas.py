"""Classification accuracy score (Ravuri & Vinyals 2019) for class-conditional generators.

Train the evaluator's architecture, with the evaluator's recipe, on generated labelled images
only, then measure its accuracy on the real test set. Beside it stands the same network trained
on the real training set (the shipped evaluator). A generator whose "sandals" do not look like
sandals, or whose classes lack variety, teaches a worse classifier.
"""

from __future__ import annotations

import dataclasses

import torch

from fashiongan import data
from fashiongan.metrics import evaluator


def cas(images, labels, data_dir=None, recipe: evaluator.Recipe | None = None,
        log=print, max_steps: int = 0) -> dict:
    """images uint8 [N,28,28], labels [N] -> accuracy on the real test set, and the real
    baseline. `max_steps` shortens training (tests)."""
    recipe = recipe or evaluator.Recipe()
    x = torch.as_tensor(images)
    y = torch.as_tensor(labels, dtype=torch.long)
    xt, yt = data.load("test", data_dir)
    net = evaluator.train(x, y, recipe, log=log, max_steps=max_steps)
    real_net, _ = evaluator.load()
    return {"cas_accuracy": evaluator.accuracy(net, xt, yt),
            "real_data_accuracy": evaluator.accuracy(real_net, xt, yt),
            "train_images": len(x), "recipe": dataclasses.asdict(recipe),
            "max_steps": max_steps or None}
