"""One check for every class-conditional generator: the class changes the image, class weights
at one-hots equal the labels, a blend lies between the ends, and missing labels are refused."""

import pytest
import torch
import torch.nn.functional as F


def check_class_conditioning(g) -> None:
    """g: a conditional G in eval mode whose class parameters have been made trained-like."""
    z = torch.randn(1, g.latent_dim).repeat(3, 1)
    with torch.no_grad():
        x = g(z, torch.tensor([3, 4, 3]))
        assert torch.equal(x[0], x[2]) and (x[0] - x[1]).abs().max() > 0.05
        hard = F.one_hot(torch.tensor([3, 4]), g.num_classes).float()
        # soft = hard at one-hots, at the same batch size: a convolution may pick another
        # kernel for another batch size, whose float32 rounding differs by ~1e-5 in a deep G
        assert torch.allclose(g(z[:2], hard), g(z[:2], torch.tensor([3, 4])), atol=1e-5)
        half = g(z[:1], 0.5 * (hard[:1] + hard[1:]))  # a blend lies between, not at an end
        assert 0.01 < (half - x[0]).abs().mean() < (x[1] - x[0]).abs().mean()
    with pytest.raises(ValueError, match="give labels"):
        g(z)
