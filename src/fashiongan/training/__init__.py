"""Training: the Trainer (models, optimisers, EMA, data order and counters; `run(n)` iterations)
that `fashiongan train`, the benchmarks and the DDP test all drive. The run folder around it
(files, ticks, checkpoints, rollback) is fashiongan.training.loop."""

from fashiongan.training.trainer import NonFiniteLoss, Trainer, noise_seed

__all__ = ["NonFiniteLoss", "Trainer", "noise_seed"]
