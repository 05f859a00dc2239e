"""FID, KID, PR/DC and the class report on numbers we know the answer to."""

from __future__ import annotations

import math

import pytest
import torch

from fashiongan.data import CLASS_NAMES
from fashiongan.metrics.classes import class_report, collapse_warning
from fashiongan.metrics.fid import Moments, fid, frechet_distance, sqrtm_psd
from fashiongan.metrics.kid import kid, mmd2_unbiased, poly_kernel
from fashiongan.metrics.prdc import distances, knn_radii, prdc


def _correlated(n, d, seed, shift=0.0):
    """n samples of one fixed correlated Gaussian in d dims (plus shift); seed picks samples."""
    mix = torch.randn(d, d, generator=torch.Generator().manual_seed(1234),
                      dtype=torch.float64) / math.sqrt(d)
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g, dtype=torch.float64) @ mix + shift


# --- FID -------------------------------------------------------------------------------------

def test_fid_of_a_set_with_itself_is_zero():
    x = _correlated(3000, 64, seed=0) * 5 + 2
    assert fid(x, x) == pytest.approx(0.0, abs=1e-6)


def test_fid_of_two_gaussians_matches_the_closed_form():
    # 2x2: tr sqrt(S1 S2) = sqrt(tr(S1 S2) + 2 sqrt(det S1 det S2)), S1 and S2 do not commute.
    s1 = torch.tensor([[2.0, 0.8], [0.8, 1.0]], dtype=torch.float64)
    s2 = torch.tensor([[1.0, -0.3], [-0.3, 3.0]], dtype=torch.float64)
    assert not torch.allclose(s1 @ s2, s2 @ s1)
    mu1 = torch.tensor([0.0, 1.0], dtype=torch.float64)
    mu2 = torch.tensor([1.5, -0.5], dtype=torch.float64)
    tr_sqrt = math.sqrt(float((s1 @ s2).trace()) + 2 * math.sqrt(float(s1.det() * s2.det())))
    closed = float((mu1 - mu2).square().sum() + s1.trace() + s2.trace()) - 2 * tr_sqrt
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(closed, rel=1e-12)
    # and from samples of those Gaussians, within sampling error
    g = torch.Generator().manual_seed(1)
    a = torch.randn(400_000, 2, generator=g, dtype=torch.float64) @ sqrtm_psd(s1) + mu1
    b = torch.randn(400_000, 2, generator=g, dtype=torch.float64) @ sqrtm_psd(s2) + mu2
    assert fid(a, b) == pytest.approx(closed, rel=0.01)


def test_fid_diagonal_gaussians_and_scipy_and_torchmetrics_agree():
    scipy_linalg = pytest.importorskip("scipy.linalg")
    from torchmetrics.image.fid import _compute_fid

    d = torch.linspace(0.5, 3.0, 16, dtype=torch.float64)
    e = torch.linspace(2.0, 0.1, 16, dtype=torch.float64)
    closed = float(((d.sqrt() - e.sqrt()) ** 2).sum()) + 16 * 0.25
    assert frechet_distance(torch.zeros(16), torch.diag(d), torch.full((16,), 0.5),
                            torch.diag(e)) == pytest.approx(closed, rel=1e-12)
    a, b = _correlated(5000, 32, seed=2), _correlated(5000, 32, seed=3, shift=0.1)
    (m1, s1), (m2, s2) = Moments.of(a).mean_cov(), Moments.of(b).mean_cov()
    ours = frechet_distance(m1, s1, m2, s2)
    covmean = scipy_linalg.sqrtm((s1 @ s2).numpy()).real
    ref = float((m1 - m2).square().sum() + s1.trace() + s2.trace()) - 2 * covmean.trace()
    assert ours == pytest.approx(ref, rel=1e-8)
    assert ours == pytest.approx(float(_compute_fid(m1, s1, m2, s2)), rel=1e-8)


def test_moments_merge_and_match_torch_cov():
    x = _correlated(1001, 8, seed=4)
    whole = Moments.of(x)
    parts = Moments.of(x[:400]).add(x[400:])
    mu, cov = parts.mean_cov()
    assert torch.allclose(mu, x.mean(0)) and torch.allclose(cov, torch.cov(x.T))
    assert torch.equal(whole.n, parts.n)


def test_fid_never_complex_on_singular_covariances():
    # rank-deficient features (fewer samples than dims) make sqrtm(S1 S2) complex in scipy
    a, b = _correlated(20, 64, seed=5), _correlated(20, 64, seed=6)
    v = fid(a, b)
    assert isinstance(v, float) and math.isfinite(v) and v > 0


# --- KID -------------------------------------------------------------------------------------

def test_kid_near_zero_on_equal_distributions_positive_on_shifted():
    real, same = _correlated(2000, 8, seed=7), _correlated(2000, 8, seed=8)
    k0, s0, _ = kid(real, same, subsets=20, subset_size=500)
    k1, s1, _ = kid(real, same + 0.3, subsets=20, subset_size=500)
    assert abs(k0) < s0  # unbiased: within the spread of the subsets around 0
    assert k1 > 5 * s1 and k1 > 10 * abs(k0)


def test_kid_estimator_is_unbiased_where_the_biased_one_is_not():
    # Many draws of two small samples from one distribution: the mean of the unbiased MMD^2
    # is 0 within error; the biased V-statistic (diagonal kept) is clearly positive.
    g = torch.Generator().manual_seed(10)
    ub, vb = [], []
    for _ in range(200):
        x = torch.randn(50, 4, generator=g, dtype=torch.float64)
        y = torch.randn(50, 4, generator=g, dtype=torch.float64)
        ub.append(mmd2_unbiased(x, y))
        vb.append(float(poly_kernel(x, x).mean() + poly_kernel(y, y).mean()
                        - 2 * poly_kernel(x, y).mean()))
    ub, vb = torch.tensor(ub), torch.tensor(vb)
    assert abs(ub.mean()) < 3 * ub.std() / math.sqrt(len(ub))
    assert vb.mean() > 10 * vb.std() / math.sqrt(len(vb))


def test_kid_matches_torchmetrics_poly_mmd_and_is_seeded():
    from torchmetrics.image.kid import poly_mmd

    a, b = _correlated(300, 12, seed=11), _correlated(300, 12, seed=12, shift=0.2)
    assert mmd2_unbiased(a, b) == pytest.approx(float(poly_mmd(a, b)), rel=1e-10)
    assert kid(a, b, subsets=10, subset_size=100) == kid(a, b, subsets=10, subset_size=100)
    assert kid(a, b, subsets=10, subset_size=5000)[2] == 300  # subsets shrink to the set


def test_kid_fast_path_agrees_with_float64():
    # ReLU features of the evaluator's size and scale; one subset holding every point is the
    # whole-sample estimate (MMD^2 does not depend on the order of the points).
    a = _correlated(1000, 128, seed=16).relu() * 3
    b = _correlated(1000, 128, seed=17, shift=0.05).relu() * 3
    exact = mmd2_unbiased(a, b)
    fast = kid(a, b, subsets=1, subset_size=1000)[0]
    assert fast == pytest.approx(exact, rel=1e-5, abs=1e-7)


# --- PR/DC -----------------------------------------------------------------------------------

def _line(xs):
    return torch.tensor([[x, 0.0] for x in xs], dtype=torch.float64)


REAL = _line([0, 1, 3, 6])
FAKE = _line([0.5, 0.7, 10, 6.2])


def test_knn_radii_by_hand():
    r = knn_radii(REAL, (1, 2))
    assert r[1].tolist() == pytest.approx([1, 1, 2, 3])
    assert r[2].tolist() == pytest.approx([3, 2, 3, 5])


def test_prdc_by_hand():
    # real 0,1,3,6 (1-NN radii 1,1,2,3; 2-NN radii 3,2,3,5); fake .5,.7,10,6.2 (1-NN radii
    # .2,.2,3.8,3.8). Precision: .5,.7 in ball of 0, 6.2 in ball of 6, 10 in none -> 3/4.
    # Recall: only 3 (6.2's ball, 3.2 < 3.8) and 6 are inside a fake ball -> 2/4.
    # Density (k=2): .5 and .7 lie in balls of 0,1,3 (3 each); 10 and 6.2 in the ball of 6
    # (1 each) -> 8 / (2*4) = 1. Coverage (k=2): every real ball holds a fake -> 1.
    out = prdc(REAL, FAKE, k_pr=1, k_dc=2)
    assert out == pytest.approx({"precision": 0.75, "recall": 0.5, "density": 1.0,
                                 "coverage": 1.0})
    # k=1 balls for density/coverage: .5 and .7 in balls of 0 and 1 (2 each), 6.2 in 6's,
    # 10 in none -> 5/4; the ball of 3 (radius 2) holds no fake (nearest 2.3) -> coverage 3/4.
    out = prdc(REAL, FAKE, k_pr=1, k_dc=1)
    assert out["density"] == pytest.approx(1.25) and out["coverage"] == pytest.approx(0.75)


def test_prdc_far_away_fakes_score_zero_and_blocks_do_not_matter(monkeypatch):
    real = _correlated(700, 5, seed=13)
    out = prdc(real, real + 100.0)
    assert out == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}
    fake = _correlated(600, 5, seed=14)
    whole = prdc(real, fake)
    monkeypatch.setattr("fashiongan.metrics.prdc.BLOCK", 97)
    assert prdc(real, fake) == pytest.approx(whole, abs=1e-12)
    assert 0.5 < whole["precision"] <= 1 and 0.5 < whole["recall"] <= 1


def test_prdc_float32_fast_path_agrees_with_float64():
    real = _correlated(1500, 128, seed=18).relu() * 3 + 10  # far from the origin, as features
    fake = _correlated(1200, 128, seed=19, shift=0.1).relu() * 3 + 10
    fast = prdc(real, fake)
    exact = prdc(real, fake, dtype=torch.float64)
    assert fast == pytest.approx(exact, abs=2 / 1200)  # at most a point or two on an edge


def test_knn_radii_match_brute_force():
    x = _correlated(300, 6, seed=15)
    d = torch.cdist(x, x)
    brute = d.sort(1).values[:, 3]  # column 0 is the point itself
    assert torch.allclose(knn_radii(x, (3,))[3], brute, atol=1e-9)
    assert torch.allclose(distances(x[:5], x), d[:5], atol=1e-6)  # sqrt of rounding at 0


# --- classes ---------------------------------------------------------------------------------

def test_class_report_uniform_and_collapsed():
    uniform = torch.arange(1000) % 10
    rep = class_report(uniform, uniform, 10)
    assert rep["entropy_bits"] == pytest.approx(math.log2(10))
    assert rep["collapsed_classes"] == [] and rep["accuracy"] == 1.0
    assert collapse_warning(rep, CLASS_NAMES) is None
    # Sandal at 3.2% (under a third of 10% = 3.33%) is flagged; Bag at 3.4% is not.
    counts = torch.tensor([123, 123, 123, 123, 123, 32, 123, 123, 34, 73])
    rep = class_report(torch.repeat_interleave(torch.arange(10), counts), None, 10)
    assert rep["histogram"] == counts.tolist() and rep["collapsed_classes"] == [5]
    p = counts / 1000
    assert rep["entropy_bits"] == pytest.approx(float(-(p * p.log2()).sum()))
    assert collapse_warning(rep, CLASS_NAMES) == (
        "mode collapse: 1 of 10 classes get under a third of "
                                     "their 10% share (Sandal 3.2%)")
