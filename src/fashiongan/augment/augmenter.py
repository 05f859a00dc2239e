"""The one object a training step needs: `augment=none|diffaugment|ada` behind one interface.

    aug = Augmenter.from_config(cfg.augment, reduce=all_reduce_or_None)
    x = aug(x, generator=g)          # every batch D sees: reals and fakes, D's and G's steps
    aug.observe(real_logits)         # once per iteration (ADA's p; a no-op otherwise)
    aug.metrics()                    # {"aug_p", "aug_rt"} under ADA, {} otherwise
    aug.state_dict() / aug.load_state_dict(s)   # for the training state

The config keys are read with getattr and these defaults, so the object can be built from a
TrainConfig before and after the keys are added to it.
"""

from __future__ import annotations

from dataclasses import replace

import torch

from fashiongan.augment.ada import AdaOptions, ada_augment
from fashiongan.augment.controller import AdaController, Reduce
from fashiongan.augment.diffaugment import DEFAULT_POLICY, diff_augment, parse_policy
from fashiongan.config import Augment
from fashiongan.errors import UserError

METHODS = ("none", "diffaugment", "ada")
# The proposed TrainConfig fields and defaults (the paper values; see docs/augment.md).
def step_seed(seed: int, rank: int, step: int) -> int:
    """Seed of the augmentation generator for one iteration on one rank: a pure function like
    train.noise_seed (so resume needs no generator state), on different constants so that the
    augmentation draws are independent of the latents."""
    return (seed * 2_750_159 + rank * 9_369_319 + step * 611_953 + 7) % (2**63)


class Augmenter:
    def __init__(self, method: str = "none", policy: str = DEFAULT_POLICY,
                 ada_options: AdaOptions | None = None, controller: AdaController | None = None):
        if method not in METHODS:
            raise UserError(f"config: augment must be one of {', '.join(METHODS)}; "
                            f"got {method!r}")
        if method == "diffaugment":
            try:
                parse_policy(policy)
            except ValueError as e:
                raise UserError(f"config: augment_policy: {e}") from None
        self.method, self.policy = method, policy
        self.ada_options = ada_options or AdaOptions()
        self.controller = (controller or AdaController()) if method == "ada" else None

    @classmethod
    def from_config(cls, section: Augment, reduce: Reduce | None = None) -> Augmenter:
        """From the config's augment section (attributes it lacks take their defaults)."""
        defaults = Augment()

        def get(attr):
            return getattr(section, attr, getattr(defaults, attr))

        method = get("mode")
        if method != "ada":
            return cls(method, get("policy"))
        try:
            controller = AdaController(get("ada_target"), get("ada_kimg"), get("ada_interval"),
                                       p=get("ada_p"), reduce=reduce)
        except ValueError as e:
            raise UserError(f"config: {e}") from None
        colour = get("ada_colour")
        options = replace(AdaOptions(), xflip=get("ada_xflip"), rotate90=get("ada_rotate90"),
                          brightness=colour, contrast=colour, saturation=colour)
        return cls("ada", ada_options=options, controller=controller)

    @property
    def enabled(self) -> bool:
        return self.method != "none"

    @property
    def p(self) -> float:
        """The probability each ADA operation runs with; 1 for DiffAugment, 0 for none."""
        if self.controller is not None:
            return self.controller.p
        return 1.0 if self.enabled else 0.0

    def __call__(self, x: torch.Tensor, *, generator: torch.Generator) -> torch.Tensor:
        """x [N, C, H, W] augmented, each image its own draw; `x` itself when nothing is done
        (none, or ADA at p = 0). Differentiable with respect to x; only `generator` is drawn
        from, never the global RNG."""
        if self.method == "diffaugment":
            return diff_augment(x, self.policy, generator=generator)
        if self.method == "ada":
            return ada_augment(x, self.controller.p, generator=generator,
                               options=self.ada_options)
        return x

    def observe(self, real_logits: torch.Tensor) -> None:
        """D's logits on the (augmented) real batch of this iteration; ADA adapts p on them."""
        if self.controller is not None:
            self.controller.observe(real_logits)

    def metrics(self) -> dict[str, float | None]:
        return self.controller.metrics() if self.controller is not None else {}

    def state_dict(self) -> dict:
        return self.controller.state_dict() if self.controller is not None else {}

    def load_state_dict(self, state: dict) -> None:
        # {} is what none/diffaugment save: resuming such a run under ADA starts p afresh.
        if self.controller is not None and state:
            self.controller.load_state_dict(state)
