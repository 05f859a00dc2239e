"""R1's weight gamma, fixed or following D's loss towards a target.

One gamma does not suit every data set: on a fabric swatch, the gamma that keeps D from
memorising a sharp houndstooth leaves D nothing to learn on a soft knit
(docs/results/2026-12-06-fabrics.md). With a target, gamma follows D's own loss:

    log10 gamma += sign(target - mean D loss) * n / (kimg * 1000)

every `interval` iterations, n the real images seen since the last move (all ranks together):
while D's loss sits below the target (D is winning) gamma rises, above it gamma falls, by at
most a factor of 10 per `kimg` thousand images, within `SPAN` decades of the starting gamma.
It is ADA's loop (augment/controller.py, `SignStep`) on a signal that stays informative where
ADA's sign of D(real) does not: under the hinge loss a D pressed to output ~0 on both reals and
fakes flips signs at random while its loss reads ~2.
"""

from __future__ import annotations

import torch

from fashiongan.augment.controller import Reduce, SignStep

SPAN = 3.0  # decades gamma may move either way from where it started


class R1Weight:
    def __init__(self, gamma: float, target: float = 0.0, kimg: float = 4.0, interval: int = 1,
                 reduce: Reduce | None = None):
        if target < 0:
            raise ValueError(f"r1: target must be >= 0, got {target}")
        if target and not gamma > 0:
            raise ValueError("r1: an adaptive gamma needs a starting r1_gamma > 0")
        self.start, self.target = float(gamma), float(target)
        try:  # the value is log10(gamma / start); it rises while D's loss is below the target
            self.loop = SignStep(target, kimg, interval, 0.0, -SPAN, SPAN, False, reduce)
        except ValueError as e:
            raise ValueError(f"r1: {e}") from None

    @property
    def gamma(self) -> float:
        return self.start * 10.0 ** self.loop.value

    def observe(self, d_loss: torch.Tensor, n_real: int) -> None:
        """Count one iteration's D loss (a 0-d tensor, not synchronised); moves gamma every
        `interval` calls. Without a target it does nothing."""
        if self.target:
            self.loop.observe(d_loss, 1.0, n_real)

    def metrics(self) -> dict[str, float]:
        return {"r1_gamma": self.gamma} if self.target else {}

    def state_dict(self) -> dict:
        s = self.loop.state_dict()
        return {"shift": s["value"], "calls": s["calls"], "count": s["images"],
                "loss_sum": s["total"]}

    def load_state_dict(self, state: dict) -> None:
        if state:
            self.loop.load_state_dict({"value": state["shift"], "mean": None,
                                       "calls": state["calls"], "images": state["count"],
                                       "weight": float(state["calls"]),
                                       "total": state["loss_sum"]})
