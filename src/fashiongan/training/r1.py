"""R1's weight gamma, fixed or following D's loss towards a target.

One gamma does not suit every data set: on a fabric swatch, the gamma that keeps D from
memorising a sharp houndstooth leaves D nothing to learn on a soft knit
(docs/results/2026-12-06-fabrics.md). With a target, gamma follows D's own loss:

    log10 gamma += sign(target - mean D loss) * n / (kimg * 1000)

every `interval` iterations, n the real images seen since the last move (all ranks together):
while D's loss sits below the target (D is winning) gamma rises, above it gamma falls, by at
most a factor of 10 per `kimg` thousand images, within `SPAN` decades of the starting gamma.
The same feedback as ADA's augmentation probability (augment/controller.py), on a signal that
stays informative where ADA's sign of D(real) does not: under the hinge loss a D pressed to
output ~0 on both reals and fakes flips signs at random while its loss reads ~2.

The state is Python numbers (the loss sum is a float32 sum read back exactly), so a resumed run
moves gamma at the same iterations to the same values.
"""

from __future__ import annotations

import torch

from fashiongan.augment.controller import Reduce

SPAN = 3.0  # decades gamma may move either way from where it started


class R1Weight:
    def __init__(self, gamma: float, target: float = 0.0, kimg: float = 4.0, interval: int = 1,
                 reduce: Reduce | None = None):
        if target < 0 or not kimg > 0 or interval < 1:
            raise ValueError(f"r1: target must be >= 0, kimg > 0 and interval >= 1, got "
                             f"{target}, {kimg}, {interval}")
        if target and not gamma > 0:
            raise ValueError("r1: an adaptive gamma needs a starting r1_gamma > 0")
        self.start, self.target, self.kimg, self.interval = float(gamma), float(target), \
            float(kimg), int(interval)
        self.reduce = reduce
        self.shift = 0.0  # log10(gamma / start)
        self.calls = 0
        self.count = 0  # real images in the losses since the last move
        self.loss_sum: torch.Tensor | float = 0.0

    @property
    def gamma(self) -> float:
        return self.start * 10.0 ** self.shift

    def observe(self, d_loss: torch.Tensor, n_real: int) -> None:
        """Count one iteration's D loss (a 0-d tensor, not synchronised); moves gamma every
        `interval` calls. Without a target it does nothing."""
        if not self.target:
            return
        self.loss_sum = self.loss_sum + d_loss.detach().float()
        self.count += n_real
        self.calls += 1
        if self.calls >= self.interval:
            self.adjust()

    def adjust(self) -> None:
        total = torch.as_tensor(self.loss_sum, dtype=torch.float32).reshape(())
        sums = torch.stack([total, torch.tensor(float(self.calls), device=total.device),
                            torch.tensor(float(self.count), device=total.device)])
        if self.reduce is not None:
            out = self.reduce(sums)
            sums = out if isinstance(out, torch.Tensor) else sums
        loss_sum, calls, images = sums.tolist()
        direction = (loss_sum / calls < self.target) - (loss_sum / calls > self.target)
        step = images / (self.kimg * 1000)
        self.shift = min(max(self.shift + direction * step, -SPAN), SPAN)
        self.loss_sum, self.calls, self.count = 0.0, 0, 0

    def metrics(self) -> dict[str, float]:
        return {"r1_gamma": self.gamma} if self.target else {}

    def state_dict(self) -> dict:
        return {"shift": self.shift, "calls": self.calls, "count": self.count,
                "loss_sum": float(self.loss_sum)}

    def load_state_dict(self, state: dict) -> None:
        if not state:
            return
        self.shift, self.calls, self.count = float(state["shift"]), int(state["calls"]), \
            int(state["count"])
        self.loss_sum = float(state["loss_sum"])
