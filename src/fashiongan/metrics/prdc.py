"""Precision, recall, density and coverage (Kynkäänniemi et al. 2019; Naeem et al. 2020).

Each point's neighbourhood is a ball whose radius is the distance to its k-th nearest neighbour
in its own set. As in the authors' reference code (clovaai/generative-evaluation-prdc): the
k-th neighbour does not count the point itself, and "inside" is a strict "<".

* precision: share of fakes inside some real ball (k=3)      -- are the fakes realistic?
* recall: share of reals inside some fake ball (k=3)         -- is the real variety produced?
* density: fakes counted by how many real balls hold them, / k (k=5; 1 on real-like data)
* coverage: share of real balls that hold at least one fake (k=5)

Distances are computed in row blocks (10,000 x 10,000 needs ~40 MB at a time, not 800) and
compared squared (the same order, without 200 million square roots). The features are centred
on the real set's mean and the products run in float32: translation changes no distance but
keeps |a|^2 + |b|^2 - 2 a.b well conditioned, and an error of 1e-7 relative moves a point across
a ball's edge only where it lies on the edge to that precision (tested against float64).
"""

from __future__ import annotations

import torch

BLOCK = 1000  # rows of the distance matrix computed at once


def sq_distances(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Squared Euclidean distances [len(a), len(b)] (in a's dtype)."""
    d2 = torch.addmm(a.square().sum(1, keepdim=True), a, b.T, alpha=-2)
    return d2.add_(b.square().sum(1)).clamp_(min=0)


def distances(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return sq_distances(a, b).sqrt_()


def knn_radii(x: torch.Tensor, ks: tuple[int, ...], dtype=torch.float32) -> dict[int, torch.Tensor]:
    """For each k: distance from each point of x to its k-th nearest other point of x."""
    kmax = max(ks)
    if len(x) <= kmax:
        raise ValueError(f"need more than {kmax} points for k={kmax}, got {len(x)}")
    x = (x - x.mean(0)).to(dtype)
    out = {k: torch.empty(len(x), dtype=torch.float64, device=x.device) for k in ks}
    for i in range(0, len(x), BLOCK):
        d2 = sq_distances(x[i:i + BLOCK], x)
        d2[torch.arange(d2.shape[0]), torch.arange(i, i + d2.shape[0])] = 0.0  # itself
        near = d2.topk(kmax + 1, dim=1, largest=False).values  # sorted; column 0: the point
        for k in ks:
            out[k][i:i + BLOCK] = near[:, k].double().sqrt()
    return out


def prdc(real: torch.Tensor, fake: torch.Tensor, k_pr: int = 3, k_dc: int = 5,
         real_radii: dict[int, torch.Tensor] | None = None,
         dtype=torch.float32) -> dict[str, float]:
    """precision/recall with k_pr neighbours, density/coverage with k_dc; real_radii may come
    from a cache (knn_radii(real, (k_pr, k_dc)))."""
    rr = real_radii if real_radii is not None else knn_radii(real, (k_pr, k_dc), dtype)
    fake_r2 = knn_radii(fake, (k_pr,), dtype)[k_pr].square().to(dtype)
    centre = real.mean(0)
    real, fake = (real - centre).to(dtype), (fake - centre).to(dtype)
    rr2 = {k: r.square().to(dtype) for k, r in rr.items()}
    fake_in_real_ball = torch.zeros(len(fake), dtype=torch.bool, device=fake.device)
    density_count = torch.zeros((), dtype=torch.float64, device=fake.device)
    real_recalled = torch.empty(len(real), dtype=torch.bool, device=real.device)
    real_covered = torch.empty(len(real), dtype=torch.bool, device=real.device)
    for i in range(0, len(real), BLOCK):
        d2 = sq_distances(real[i:i + BLOCK], fake)  # [block, n_fake]
        r_pr, r_dc = rr2[k_pr][i:i + BLOCK, None], rr2[k_dc][i:i + BLOCK, None]
        fake_in_real_ball |= (d2 < r_pr).any(0)
        density_count += (d2 < r_dc).sum()
        real_recalled[i:i + BLOCK] = (d2 < fake_r2[None, :]).any(1)
        real_covered[i:i + BLOCK] = d2.min(1).values < r_dc[:, 0]
    return {"precision": fake_in_real_ball.double().mean().item(),
            "recall": real_recalled.double().mean().item(),
            "density": (density_count / (k_dc * len(fake))).item(),
            "coverage": real_covered.double().mean().item()}
