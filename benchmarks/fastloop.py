"""fashiongan's training loop as the benchmarks time it: train.py's inner loop without its files.

The same pieces train.py uses (BatchSampler on the device, GANStep, EMA), in the same order, so
that what is timed is what `fashiongan train` runs per iteration; the ticks, grids and
checkpoints that train.py adds every few hundred iterations are left out.
"""

from __future__ import annotations

import time

import torch

from fashiongan.config import TrainConfig
from fashiongan.data import FASHION_MNIST, DatasetInfo
from fashiongan.ema import EMA
from fashiongan.models import build_discriminator, build_generator
from fashiongan.step import GANStep
from fashiongan.train import BatchSampler, noise_seed


class FastLoop:
    def __init__(self, cfg: TrainConfig, images: torch.Tensor, labels: torch.Tensor,
                 device: torch.device, channels_last: bool | None = None,
                 info: DatasetInfo = FASHION_MNIST):
        self.cfg, self.device = cfg, device
        if images.ndim == 3:  # Fashion-MNIST's N x 28 x 28 as data.load gives it
            images = images.unsqueeze(1)
        self.images, self.labels = images.to(device), labels.to(device)  # uint8, read once
        self.sampler = BatchSampler(len(images), cfg.batch_size, cfg.seed, cfg.batch_sampling,
                                    device)
        torch.manual_seed(cfg.seed)
        self.G = build_generator(cfg, info).to(device)
        self.D = build_discriminator(cfg, info).to(device)
        self.gan = GANStep(cfg, self.G, self.D, device, channels_last=channels_last)
        self.ema = EMA(self.G, cfg.ema_halflife_kimg, cfg.ema_rampup) \
            if cfg.ema_halflife_kimg else None
        self.acc = torch.zeros(5, device=device)
        self.step = self.seen = 0

    def run(self, n: int) -> list[float]:
        """n iterations; returns the mean [d_loss, g_loss, acc_real, acc_fake] (one sync)."""
        cfg, k = self.cfg, self.cfg.num_classes
        self.acc.zero_()
        for _ in range(n):
            idx = self.sampler(self.step)
            real = self.images[idx].float().div_(127.5).sub_(1.0)
            self.gan.noise.manual_seed(noise_seed(cfg.seed, 0, self.step))
            stats = self.gan(real, self.labels[idx] if k else None)
            if not bool(torch.isfinite(stats[:2]).all()):  # train.py's per-iteration check
                raise FloatingPointError(f"non-finite loss at iteration {self.step}")
            self.seen += cfg.batch_size
            if self.ema is not None:
                self.ema.update(self.G, cfg.batch_size, self.seen)
            self.step += 1
            self.acc[:4] += stats
            self.acc[4] += 1
        return (self.acc[:4] / self.acc[4]).tolist()

    def warm_up(self, n: int = 3) -> float:
        """First iterations (torch.compile compiles here); returns their wall time in s."""
        t = time.perf_counter()
        self.run(n)
        return time.perf_counter() - t
