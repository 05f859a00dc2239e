"""Fréchet distance between Gaussians fitted to two feature sets (the "F" of FID).

Statistics are kept as mergeable float64 sums (n, sum x, sum x x^T) so that ranks, batches and
cached reference sets combine by addition; an all_reduce of the sums gives the exact global
mean and covariance, with no feature ever leaving its rank.

The matrix square root goes the symmetric route: tr sqrt(S1 S2) = tr sqrt(A S2 A) with
A = S1^(1/2), and A S2 A is symmetric positive semi-definite, so `eigvalsh` gives real
eigenvalues and tiny negative ones from rounding are clipped to 0. The usual
`scipy.linalg.sqrtm(S1 @ S2)` works on a non-symmetric product and can return complex values
that must be discarded by hand.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class Moments:
    """Running float64 sums of a feature set; add features, merge, reduce, then read stats."""

    n: torch.Tensor  # scalar, float64
    total: torch.Tensor  # [D]
    outer: torch.Tensor  # [D, D]

    @classmethod
    def zeros(cls, dim: int, device="cpu") -> Moments:
        z = dict(dtype=torch.float64, device=device)
        return cls(torch.zeros((), **z), torch.zeros(dim, **z), torch.zeros(dim, dim, **z))

    @classmethod
    def of(cls, features: torch.Tensor) -> Moments:
        m = cls.zeros(features.shape[1], features.device)
        m.add(features)
        return m

    def add(self, features: torch.Tensor) -> Moments:
        f = features.to(torch.float64)
        self.n += f.shape[0]
        self.total += f.sum(0)
        self.outer += f.T @ f
        return self

    def all_reduce(self) -> Moments:
        """Sum the moments over every rank (a no-op without a process group)."""
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            for t in (self.n, self.total, self.outer):
                dist.all_reduce(t)
        return self

    def mean_cov(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and unbiased covariance (divisor n-1, as numpy.cov and pytorch-fid)."""
        n = self.n.item()
        if n < 2:
            raise ValueError(f"need at least 2 samples for a covariance, got {n:g}")
        mu = self.total / n
        cov = (self.outer - n * torch.outer(mu, mu)) / (n - 1)
        return mu, 0.5 * (cov + cov.T)


def sqrtm_psd(s: torch.Tensor) -> torch.Tensor:
    """Square root of a symmetric positive semi-definite matrix (eigenvalues clipped at 0)."""
    w, v = torch.linalg.eigh(s.to(torch.float64))
    return (v * w.clamp(min=0).sqrt()) @ v.T


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """||mu1 - mu2||^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2)), in float64, never complex."""
    mu1, mu2, s1, s2 = (torch.as_tensor(t, dtype=torch.float64) for t in (mu1, mu2, sigma1, sigma2))
    a = sqrtm_psd(s1)
    m = a @ s2 @ a
    tr_sqrt = torch.linalg.eigvalsh(0.5 * (m + m.T)).clamp(min=0).sqrt().sum()
    d = (mu1 - mu2).square().sum() + s1.trace() + s2.trace() - 2 * tr_sqrt
    return max(float(d), 0.0)  # only rounding can push it below 0


def fid(features_a: torch.Tensor, features_b: torch.Tensor) -> float:
    return frechet_distance(*Moments.of(features_a).mean_cov(), *Moments.of(features_b).mean_cov())
