"""Tiny real training runs shared by the training tests: a small dcgan config, and one run
made twice, straight through and stopped halfway then resumed."""

from __future__ import annotations

import json
from pathlib import Path

from fashiongan import config, presets
from fashiongan.training import states
from fashiongan.training.loop import training_loop


def tiny_dcgan(**kw):
    """40 iterations of a narrow dcgan at batch 16, logged every 10."""
    base = presets.resolve("dcgan").to_dict()
    base.update(iterations=40, log_interval=10, sample_interval=20, checkpoint_interval=20,
                batch_size=16, threads=1, g_width=16, d_width=8, grid_rows=1, grid_cols=2)
    base.update(kw)
    return config.from_dict(base)


def straight_and_resumed(cfg, root: Path, images: int = 64):
    """The final states of cfg run straight through and run to the half then resumed, and the
    straight run's metrics rows."""
    training_loop(cfg, root / "straight", progress=False, max_train_images=images)
    training_loop(cfg.replace(iterations=cfg.optim.iterations // 2), root / "split",
                  progress=False, max_train_images=images)
    training_loop(cfg, root / "split", progress=False, max_train_images=images,
                  resume=root / "split")
    a, b = (states.load_state(root / d) for d in ("straight", "split"))
    rows = [json.loads(x) for x in (root / "straight" / "metrics.jsonl").read_text()
            .splitlines()]
    return a, b, rows
