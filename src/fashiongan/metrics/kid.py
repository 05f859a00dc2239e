"""Kernel Inception Distance (Bińkowski et al. 2018) on any feature space.

Unbiased MMD^2 with the cubic polynomial kernel k(x, y) = (x.y / d + 1)^3, averaged over 100
random subsets of 1000 from each set; the standard deviation over subsets is reported with it
(as torchmetrics and clean-fid do). The subsets come from a seeded generator, so the same
features give the same KID every time (torchmetrics draws them from the global RNG).

Speed: the dot products run as float32 matrix products (twice float64's speed on a CPU) and
every sum accumulates in float64. A float32 rounding error is random, of relative size 1e-7 per
kernel entry, and averages away over the million entries of a subset; what float32 could not
survive -- a float32 running sum of a million values, then a difference of three such sums --
is not done (tested against an all-float64 computation).
"""

from __future__ import annotations

import torch

SUBSETS, SUBSET_SIZE = 100, 1000  # the protocol's default (cache keys name them)


def poly_kernel(x: torch.Tensor, y: torch.Tensor, degree: int = 3, coef: float = 1.0,
                gamma: float | None = None) -> torch.Tensor:
    gamma = 1.0 / x.shape[1] if gamma is None else gamma
    return (x @ y.T * gamma + coef) ** degree


def _kernel_sum(x: torch.Tensor, y: torch.Tensor, same: bool) -> torch.Tensor:
    """Sum of k(x_i, y_j) over all pairs (i != j when x is y), accumulated in float64."""
    k = (x @ y.T).mul_(1.0 / x.shape[1]).add_(1.0).pow_(3)
    total = k.sum(dtype=torch.float64)
    return total - k.diagonal().sum(dtype=torch.float64) if same else total


def mmd2_unbiased(x: torch.Tensor, y: torch.Tensor, **kernel) -> float:
    """Unbiased estimate of MMD^2 between the samples x [m, D] and y [n, D], all float64
    (the reference the fast path is tested against; any kernel parameters)."""
    x, y = x.to(torch.float64), y.to(torch.float64)
    m, n = x.shape[0], y.shape[0]
    kxx, kyy, kxy = poly_kernel(x, x, **kernel), poly_kernel(y, y, **kernel), \
        poly_kernel(x, y, **kernel)
    return float((kxx.sum() - kxx.diagonal().sum()) / (m * (m - 1))
                 + (kyy.sum() - kyy.diagonal().sum()) / (n * (n - 1))
                 - 2 * kxy.sum() / (m * n))


def kid(real: torch.Tensor, fake: torch.Tensor, subsets: int = SUBSETS,
        subset_size: int = SUBSET_SIZE, seed: int = 0) -> tuple[float, float, int]:
    """(mean, std) of the unbiased MMD^2 (cubic kernel) over random subsets, and the subset
    size used. A set smaller than subset_size shrinks the subsets to its size (a smaller N is
    noisier, not biased); fewer than 2 samples cannot be scored."""
    m = min(subset_size, len(real), len(fake))
    if m < 2:
        raise ValueError(f"KID needs at least 2 samples per set, got {len(real)} and {len(fake)}")
    real, fake = real.to(torch.float32), fake.to(torch.float32)
    gen = torch.Generator().manual_seed(seed)
    scores = torch.empty(subsets, dtype=torch.float64)
    for s in range(subsets):
        r = real[torch.randperm(len(real), generator=gen)[:m].to(real.device)]
        f = fake[torch.randperm(len(fake), generator=gen)[:m].to(fake.device)]
        scores[s] = ((_kernel_sum(r, r, True) + _kernel_sum(f, f, True)) / (m * (m - 1))
                     - 2 * _kernel_sum(r, f, False) / (m * m)).item()
    return float(scores.mean()), float(scores.std(unbiased=False)), m
