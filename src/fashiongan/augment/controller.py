"""Feedback loops that move one number by a fixed pace towards where a measured mean crosses
a target: ADA's augmentation probability, and R1's weight (training/r1.py).

`SignStep` is the loop. Each observation adds a device-side sum and host-side counts; every
`interval` observations the sums are reduced over ranks (one host sync), their mean compared
with the target, and the value moves by sign * n / (kimg * 1000), n the images of all ranks
since the last move, clamped to [lo, hi]. The state is Python numbers (float32 sums read back
exactly), so a resumed run moves at the same iterations to the same values.

ADA (Karras et al. 2020): r_t = E[sign(D(real))]; p rises while r_t > target, so p can cross
0 -> 1 in `kimg` thousand images.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

Reduce = Callable[[torch.Tensor], torch.Tensor | None]


class SignStep:
    def __init__(self, target: float, kimg: float, interval: int, value: float, lo: float,
                 hi: float, rise_above: bool, reduce: Reduce | None = None):
        if not kimg > 0 or interval < 1:
            raise ValueError(f"kimg must be > 0 and interval >= 1, got {kimg}, {interval}")
        self.target, self.kimg, self.interval = float(target), float(kimg), int(interval)
        self.lo, self.hi, self.rise = float(lo), float(hi), 1 if rise_above else -1
        # Sums over all ranks: torch.distributed.all_reduce (in place, returns None or a work
        # handle) or any function returning the reduced tensor.
        self.reduce = reduce
        self.value = float(value)
        self.mean: float | None = None  # the mean at the last move; None before the first
        self.calls = 0  # observations since the last move
        self.images = 0  # real images in them (host-side: known without a sync)
        self.weight = 0.0  # the mean's denominator, host-side
        self.total: torch.Tensor | float = 0.0  # the mean's numerator, on the device

    def observe(self, total: torch.Tensor, weight: float, images: int) -> None:
        """Add one observation: `total` (0-d, any device, not synchronised) over `weight`.
        Every rank must call it equally often: the move's all-reduce is collective."""
        self.total = self.total + total.detach().float()
        self.weight += weight
        self.images += images
        self.calls += 1
        if self.calls >= self.interval:
            self.move()

    def move(self) -> None:
        total = torch.as_tensor(self.total, dtype=torch.float32).reshape(())
        sums = torch.stack([total, torch.tensor(self.weight, device=total.device),
                            torch.tensor(float(self.images), device=total.device)])
        out = self.reduce(sums) if self.reduce is not None else None
        if isinstance(out, torch.Tensor):
            sums = out
        total_sum, weight, images = sums.tolist()
        self.mean = total_sum / weight
        direction = self.rise * ((self.mean > self.target) - (self.mean < self.target))
        self.value = min(max(self.value + direction * images / (self.kimg * 1000), self.lo),
                         self.hi)
        self.total, self.weight, self.images, self.calls = 0.0, 0.0, 0, 0

    def state_dict(self) -> dict:
        # This rank's own, unreduced sums: each rank saves and restores its share.
        return {"value": self.value, "mean": self.mean, "calls": self.calls,
                "images": self.images, "weight": self.weight, "total": float(self.total)}

    def load_state_dict(self, state: dict) -> None:
        self.value, self.mean = float(state["value"]), state["mean"]
        self.calls, self.images = int(state["calls"]), int(state["images"])
        self.weight, self.total = float(state["weight"]), float(state["total"])


class AdaController:
    def __init__(self, target: float = 0.6, kimg: float = 500.0, interval: int = 4,
                 p: float = 0.0, reduce: Reduce | None = None):
        if not 0 <= p <= 1:
            raise ValueError(f"ada: p must be in [0, 1], got {p}")
        try:
            self.loop = SignStep(target, kimg, interval, p, 0.0, 1.0, True, reduce)
        except ValueError as e:
            raise ValueError(f"ada: {e}") from None

    @property
    def p(self) -> float:
        return self.loop.value

    @property
    def rt(self) -> float | None:
        return self.loop.mean

    def observe(self, real_logits: torch.Tensor) -> None:
        """Count one iteration's D(real) logits; adjusts p every `interval` calls."""
        # float32 sums of +-1 are exact below 2^24, far above interval x batch.
        n = real_logits.numel()
        self.loop.observe(torch.sign(real_logits.detach().float()).sum(), n, n)

    def metrics(self) -> dict[str, float | None]:
        return {"aug_p": self.p, "aug_rt": self.rt}

    def state_dict(self) -> dict:
        s = self.loop.state_dict()
        return {"p": s["value"], "rt": s["mean"], "calls": s["calls"], "count": s["images"],
                "sign_sum": s["total"]}

    def load_state_dict(self, state: dict) -> None:
        self.loop.load_state_dict({"value": state["p"], "mean": state["rt"],
                                   "calls": state["calls"], "images": state["count"],
                                   "weight": float(state["count"]),
                                   "total": state["sign_sum"]})
