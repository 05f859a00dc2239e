"""ADA's feedback loop: the augmentation probability p follows D's overfitting heuristic.

r_t = E[sign(D(real))] over the real logits seen since the last adjustment. Every `interval`
observations p moves by sign(r_t - target) * n / (kimg * 1000), where n is the number of real
images those observations held (all ranks together), so p can cross 0 -> 1 in `kimg` thousand
images, as in Karras et al. (2020); p is clamped to [0, 1].

The running sums live on the logits' device, so `observe` never waits for the device; the one
host sync is at each adjustment (every `interval` iterations), after the optional all-reduce.
The state (p, the sums since the last adjustment, the observation count, the last r_t) is a
dict of Python numbers: exact in a checkpoint, so a resumed run adjusts p at the same
iterations to the same values.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

Reduce = Callable[[torch.Tensor], torch.Tensor | None]


def _identity(t: torch.Tensor) -> torch.Tensor:
    return t


class AdaController:
    def __init__(self, target: float = 0.6, kimg: float = 500.0, interval: int = 4,
                 p: float = 0.0, reduce: Reduce | None = None):
        if not kimg > 0 or interval < 1:
            raise ValueError(f"ada: kimg must be > 0 and interval >= 1, got {kimg}, {interval}")
        if not 0 <= p <= 1:
            raise ValueError(f"ada: p must be in [0, 1], got {p}")
        self.target, self.kimg, self.interval = float(target), float(kimg), int(interval)
        # Sums over all ranks: torch.distributed.all_reduce (in place, returns None or a work
        # handle) or any function returning the reduced tensor.
        self.reduce = reduce or _identity
        self.p = float(p)
        self.rt: float | None = None  # r_t of the last adjustment; None before the first
        self.calls = 0  # observations since the last adjustment
        self.count = 0  # real logits in them (host-side: the sizes are known without a sync)
        self._signs: torch.Tensor | None = None  # their sign sum, on the logits' device
        self._restored = 0.0  # a sign sum from load_state_dict, added at the next observe

    def observe(self, real_logits: torch.Tensor) -> None:
        """Count one iteration's D(real) logits; adjusts p every `interval` calls. Every rank
        must call it equally often: the adjustment's all-reduce is collective."""
        # float32 sums of +-1 are exact below 2^24, far above interval x batch.
        signs = torch.sign(real_logits.detach().float()).sum()
        self._signs = signs + self._restored if self._signs is None else self._signs + signs
        self._restored = 0.0
        self.count += real_logits.numel()
        self.calls += 1
        if self.calls >= self.interval:
            self._adjust()

    def _adjust(self) -> None:
        sums = torch.stack([self._signs, torch.full_like(self._signs, self.count)])
        out = self.reduce(sums)
        if isinstance(out, torch.Tensor):
            sums = out
        sign_sum, n = sums.tolist()
        self.rt = sign_sum / n
        step = n / (self.kimg * 1000)  # n: images of all ranks, so p moves at the global pace
        delta = (self.rt > self.target) - (self.rt < self.target)  # sign(r_t - target)
        self.p = min(max(self.p + delta * step, 0.0), 1.0)
        self._signs, self.calls, self.count = None, 0, 0

    def metrics(self) -> dict[str, float | None]:
        return {"aug_p": self.p, "aug_rt": self.rt}

    def state_dict(self) -> dict:
        # This rank's own, unreduced sums: each rank saves and restores its share.
        signs = self._signs.item() if self._signs is not None else self._restored
        return {"p": self.p, "rt": self.rt, "calls": self.calls, "count": self.count,
                "sign_sum": signs}

    def load_state_dict(self, state: dict) -> None:
        self.p, self.rt = float(state["p"]), state["rt"]
        self.calls, self.count = int(state["calls"]), int(state["count"])
        self._signs, self._restored = None, float(state["sign_sum"])
