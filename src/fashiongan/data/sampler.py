"""Which images each iteration trains on: batch indices as a pure function of the step."""

from __future__ import annotations

import torch

from ..errors import UserError


class BatchSampler:
    """Batch indices as a pure function of the step, computed on the device a block at a time.

    replacement: each image index drawn uniformly (the article's np.random.randint).
    epoch: a fresh permutation per epoch; rank r of W takes a disjoint share of each batch, so
    ranks never see the same image within an epoch.
    """

    BLOCK = 256  # steps of indices drawn at once in replacement mode

    def __init__(self, n: int, batch_size: int, seed: int, mode: str, device: torch.device,
                 rank: int = 0, world_size: int = 1):
        self.n, self.bs, self.seed, self.mode, self.device = n, batch_size, seed, mode, device
        self.rank, self.world = rank, world_size
        self.global_bs = batch_size * world_size
        if mode == "epoch" and self.global_bs > n:
            raise UserError(f"global batch {self.global_bs} is larger than the dataset ({n})")
        self.per_epoch = n // self.global_bs if mode == "epoch" else self.BLOCK
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
            else:
                self._indices = torch.randint(0, self.n, (self.BLOCK * self.global_bs,),
                                              generator=g, device=self.device)
            self._block = block
        start = i * self.global_bs + self.rank * self.bs
        return self._indices[start:start + self.bs]
