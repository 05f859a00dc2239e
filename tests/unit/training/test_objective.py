"""The objectives as pure functions of logits: values at known points, gradients' directions,
and the penalties' geometry (WGAN-GP's per-sample interpolation weight, R1's squared norm)."""

import math

import pytest
import torch

from fashiongan.training import objective as losses


def test_bce_is_the_article_loss_and_non_saturating_is_the_same_function():
    real, fake = torch.tensor([0.0, 2.0]), torch.tensor([0.0, -1.0])
    want_d = 0.5 * (torch.nn.functional.binary_cross_entropy_with_logits(real, torch.ones(2))
                    + torch.nn.functional.binary_cross_entropy_with_logits(fake, torch.zeros(2)))
    assert torch.allclose(losses.d_loss("bce", real, fake), want_d)
    assert losses.d_loss("non_saturating", real, fake) == losses.d_loss("bce", real, fake)
    assert math.isclose(float(losses.bce_real(torch.zeros(4))), math.log(2), rel_tol=1e-6)
    # G: -log sigmoid(D(G(z))), which keeps a gradient where D rejects fakes confidently
    fake = torch.tensor([-8.0], requires_grad=True)
    losses.g_loss("non_saturating", fake).backward()
    assert fake.grad.item() < -0.99  # saturating log(1 - sigmoid) would give ~ -3e-4


def test_hinge_values():
    real, fake = torch.tensor([2.0, 0.5]), torch.tensor([-3.0, 0.0])
    # relu(1 - real) = [0, .5] -> .25 ; relu(1 + fake) = [0, 1] -> .5
    assert torch.allclose(losses.d_loss("hinge", real, fake), torch.tensor(0.75))
    assert torch.allclose(losses.g_loss("hinge", fake), torch.tensor(1.5))


def test_wasserstein_signs():
    real, fake = torch.tensor([3.0, 1.0]), torch.tensor([-1.0, 0.0])
    assert torch.allclose(losses.d_loss("wgan_gp", real, fake), torch.tensor(-2.5))
    assert torch.allclose(losses.g_loss("wgan_gp", fake), torch.tensor(0.5))


def test_unknown_loss_is_refused():
    with pytest.raises(ValueError, match="unknown loss"):
        losses.d_loss("lsgan", torch.zeros(1), torch.zeros(1))


class _Linear(torch.nn.Module):
    """D(x) = <w, x>: its input gradient is w everywhere, so GP = (||w|| - 1)^2 exactly."""

    def __init__(self, w):
        super().__init__()
        self.w = w
        self.seen = []

    def forward(self, x, labels=None):
        self.seen.append(x.detach().clone())
        return (x * self.w).flatten(1).sum(1)


def test_gradient_penalty_value_and_per_sample_interpolation_weight():
    torch.manual_seed(0)
    w = torch.full((1, 4, 4), 0.5)  # ||w|| = 0.5 * 4 = 2
    d = _Linear(w)
    real, fake = torch.randn(64, 1, 4, 4), torch.randn(64, 1, 4, 4)
    gp = losses.gradient_penalty(d, real, fake, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(gp, torch.tensor(1.0))  # (2 - 1)^2
    # x_hat = eps*real + (1-eps)*fake: one eps per sample (constant over its pixels) ...
    eps = (d.seen[0] - fake) / (real - fake)
    per_sample = eps.flatten(1)
    assert torch.allclose(per_sample, per_sample[:, :1].expand_as(per_sample), atol=1e-4)
    # ... drawn uniformly and independently across samples
    e = per_sample[:, 0]
    assert e.min() >= 0 and e.max() <= 1 and e.std() > 0.2


def test_gradient_penalty_is_zero_for_a_unit_gradient_and_has_gradients_for_d():
    w = torch.zeros(1, 2, 2)
    w[0, 0, 0] = 1.0
    w.requires_grad_(True)
    gp = losses.gradient_penalty(_Linear(w), torch.randn(8, 1, 2, 2), torch.randn(8, 1, 2, 2))
    assert gp.item() == pytest.approx(0.0, abs=1e-10)
    w2 = torch.full((1, 2, 2), 1.0, requires_grad=True)  # ||w|| = 2: penalty pushes it down
    gp = losses.gradient_penalty(_Linear(w2), torch.randn(8, 1, 2, 2), torch.randn(8, 1, 2, 2))
    gp.backward()
    assert (w2.grad > 0).all()


def test_r1_penalty_is_half_the_mean_squared_input_gradient():
    x = torch.randn(5, 1, 3, 3, requires_grad=True)
    logits = (x ** 2).flatten(1).sum(1) * 1.5  # grad = 3x
    r1 = losses.r1_penalty(logits, x)
    want = 0.5 * (3 * x.detach()).pow(2).flatten(1).sum(1).mean()
    assert torch.allclose(r1, want)


def test_accuracy_threshold_is_logit_zero():
    a_real, a_fake = losses.accuracy(torch.tensor([1.0, -1.0, 0.1, 2.0]),
                                     torch.tensor([-1.0, 0.0, 1.0, -5.0]))
    assert a_real.item() == 0.75 and a_fake.item() == 0.75


def test_r1_penalty_on_a_concatenated_batch_counts_the_real_rows_only():
    """GANStep runs D once over [real, fake]: the penalty on the first n_real rows equals the
    penalty on the real batch alone, and the fake rows' gradients do not enter it."""
    real = torch.randn(4, 1, 3, 3)
    fake = torch.randn(6, 1, 3, 3) * 10
    x = torch.cat([real, fake]).requires_grad_(True)
    logits = (x ** 2).flatten(1).sum(1) * 1.5
    r1 = losses.r1_penalty(logits[:4], x, n_real=4)
    want = 0.5 * (3 * real).pow(2).flatten(1).sum(1).mean()
    assert torch.allclose(r1, want)
    assert not torch.allclose(losses.r1_penalty(logits, x), want)  # all rows: another number


def test_mode_seeking_is_the_inverse_ratio_of_image_to_latent_distance_and_pushes_apart():
    z = torch.tensor([[0.0, 0.0], [1.0, 3.0]])  # halves differ by 2 per latent on average
    fake = torch.tensor([[[[0.5]]], [[[-0.5]]]])  # ... and by 1 per pixel
    assert torch.allclose(losses.mode_seeking(fake, z, eps=0.0), torch.tensor(2.0))
    x = torch.tensor([[0.1, 0.2], [0.15, 0.2]], requires_grad=True)
    before = (x[0] - x[1]).abs().sum().item()
    losses.mode_seeking(x, torch.tensor([[0.0], [1.0]])).backward()
    with torch.no_grad():
        x -= 1e-4 * x.grad
    assert (x[0] - x[1]).abs().sum().item() > before  # a step on it draws the pair apart
