"""Which images each iteration trains on: batch indices as a pure function of the step."""

from __future__ import annotations

import torch

from fashiongan.errors import UserError


class BatchSampler:
    """Batch indices as a pure function of the step, computed on the device a block at a time.

    replacement: each image index drawn uniformly (the article's np.random.randint).
    epoch: a fresh permutation per epoch; rank r of W takes a disjoint share of each batch, so
    ranks never see the same image within an epoch.
    balanced: epoch, with each epoch's order spread by class (`labels` needed), so every batch
    holds each class in proportion to its share of the data, not by chance.
    """

    BLOCK = 256  # steps of indices drawn at once in replacement mode

    def __init__(self, n: int, batch_size: int, seed: int, mode: str, device: torch.device,
                 rank: int = 0, world_size: int = 1, labels: torch.Tensor | None = None):
        self.n, self.bs, self.seed, self.mode, self.device = n, batch_size, seed, mode, device
        if mode == "balanced" and labels is None:
            raise UserError("batch_sampling balanced needs the class labels")
        self.labels = None if labels is None else labels.to(device)
        self.rank, self.world = rank, world_size
        self.global_bs = batch_size * world_size
        epochs = mode in ("epoch", "balanced")
        if epochs and self.global_bs > n:
            raise UserError(f"global batch {self.global_bs} is larger than the dataset ({n})")
        self.per_epoch = n // self.global_bs if epochs else self.BLOCK
        self._block, self._indices = -1, None

    def _gen(self, block: int) -> torch.Generator:
        # Seeded per block so step t's batch never depends on how we got to step t.
        return torch.Generator(device=self.device).manual_seed(
            (self.seed * 1_000_003 + block * 7919 + 12345) % (2**63))

    def __call__(self, step: int) -> torch.Tensor:
        block, i = divmod(step, self.per_epoch)
        if block != self._block:
            g = self._gen(block)
            if self.mode == "epoch":
                self._indices = torch.randperm(self.n, generator=g, device=self.device)
            elif self.mode == "balanced":
                self._indices = self._balanced(g)
            else:
                self._indices = torch.randint(0, self.n, (self.BLOCK * self.global_bs,),
                                              generator=g, device=self.device)
            self._block = block
        start = i * self.global_bs + self.rank * self.bs
        return self._indices[start:start + self.bs]

    def _balanced(self, g: torch.Generator) -> torch.Tensor:
        """One epoch's order in which each class is spread evenly: the j-th of class c's n_c
        images (in a random permutation) goes to fraction (j + u) / n_c of the epoch, u uniform
        in [0, 1), so any stretch of the epoch holds the classes in proportion."""
        perm = torch.randperm(self.n, generator=g, device=self.device)
        y = self.labels[perm]
        counts = torch.bincount(y)
        by_class = torch.argsort(y, stable=True)  # grouped by class, each in perm's order
        starts = torch.cumsum(counts, 0) - counts
        j = torch.empty_like(by_class)
        j[by_class] = torch.arange(self.n, device=self.device) - starts[y[by_class]]
        u = torch.rand(self.n, generator=g, device=self.device, dtype=torch.float64)
        return perm[torch.argsort((j + u) / counts[y])]


class IndexBatches:
    """The Trainer's batch source for a data set of images: the sampler's indices, scaled to
    [-1, 1], with their labels. (A fabric's source is data.fabric.CropSampler.)"""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, sampler: BatchSampler):
        self.images, self.labels, self.sampler = images, labels, sampler

    @property
    def n(self) -> int:
        return self.sampler.n

    def __call__(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        idx = self.sampler(step)
        return self.images[idx].float().div_(127.5).sub_(1.0), self.labels[idx]
