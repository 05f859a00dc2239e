"""Classification accuracy score (Ravuri & Vinyals 2019) for class-conditional generators.

Train the evaluator's architecture, with a recipe (the evaluator's for Fashion-MNIST, a data
set's judge's for an imported one), on generated labelled images only, then measure its
accuracy on the data set's real test split. Beside it stands the same network trained on the
real training split. A generator whose "sandals" do not look like sandals, or whose classes
lack variety, teaches a worse classifier.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from fashiongan.errors import UserError
from fashiongan.imageio import to_nchw
from fashiongan.metrics import evaluator


def labelled_split(ds, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(uint8 N x C x H x W, labels) of a split of a labelled data set."""
    if ds.labels is None or not ds.info.num_classes:
        where = ds.path or ds.info.name
        raise UserError(f"{where}: the data set is unlabelled; a judge (and CAS) needs classes "
                        "(import with class subfolders or --labels FILE.json)")
    x, y = ds.train() if split == "train" else ds.test()
    return torch.from_numpy(np.array(x)), torch.from_numpy(np.array(y))


def cas(ds, images, labels, recipe: evaluator.Recipe | None = None, log=print,
        max_steps: int = 0) -> dict:
    """Train the recipe on generated images and labels; accuracy on ds's real test split.
    `max_steps` shortens training (tests)."""
    recipe = recipe or evaluator.Recipe()
    x = to_nchw(images, "CAS input").contiguous()
    y = torch.as_tensor(np.asarray(labels), dtype=torch.long)
    xt, yt = labelled_split(ds, "test")
    recipe = dataclasses.replace(recipe, batch_size=min(recipe.batch_size, len(x)))
    net = evaluator.train(x, y, recipe, log=log, max_steps=max_steps,
                          num_classes=ds.info.num_classes)
    return {"cas_accuracy": evaluator.accuracy(net, xt, yt), "train_images": len(x),
            "test_images": len(xt), "recipe": dataclasses.asdict(recipe),
            "max_steps": max_steps or None}
