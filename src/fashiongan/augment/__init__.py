"""Differentiable augmentation of D's inputs (issue 15): DiffAugment and ADA.

`Augmenter` is what training uses; the modules below it are usable on their own:
diffaugment (Zhao et al. 2020), ada (Karras et al. 2020's pipeline), geometry (its per-image
warps), controller (ADA's adaptive p). See docs/augment.md.
"""

from fashiongan.augment.ada import AdaOptions, ada_augment
from fashiongan.augment.augmenter import METHODS, Augmenter, step_seed
from fashiongan.augment.controller import AdaController
from fashiongan.augment.diffaugment import DEFAULT_POLICY, POLICIES, diff_augment

__all__ = [
    "DEFAULT_POLICY", "METHODS", "POLICIES", "AdaController", "AdaOptions",
    "Augmenter", "ada_augment", "diff_augment", "step_seed",
]
