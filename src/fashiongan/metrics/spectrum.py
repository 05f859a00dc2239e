"""Checkerboard artefacts as a number: the share of an image set's spectral energy at the
2-px period.

Transposed convolutions whose kernel is not a multiple of their stride overlap unevenly and
leave a pattern that repeats every 2 px (Odena et al. 2016). In the 2-D spectrum of an image
that pattern lies on the Nyquist row and column (frequency 1/2 cycle per pixel). The measure:
each image in luminance, minus its mean, through a Hann window (so the image's borders do not
leak energy everywhere), |FFT|^2; the energy on the Nyquist row and column over all energy but
the mean's, averaged over the images. A generator draws no checkerboard when its samples'
share is no higher than the real images' (`checkerboard_ratio` <= 1).
"""

from __future__ import annotations

import torch

from fashiongan.imageio import to_nchw

LUMA = (0.299, 0.587, 0.114)


def _luma(images: torch.Tensor) -> torch.Tensor:
    x = images.float()
    return sum(w * x[:, i] for i, w in enumerate(LUMA)) if x.shape[1] == 3 else x[:, 0]


def nyquist_share(images, batch: int = 256) -> float:
    """Mean share of spectral energy at the 2-px period (Nyquist row and column) of uint8
    images in either layout (N x C x H x W, or samples' N x H x W (x 3)); H and W even."""
    x_all = to_nchw(images, "spectrum input")
    n, _, h, w = x_all.shape
    if h % 2 or w % 2:
        raise ValueError(f"nyquist_share needs an even height and width, got {h} x {w}")
    win = torch.outer(torch.hann_window(h, periodic=False), torch.hann_window(w,
                                                                              periodic=False))
    shares = []
    for i in range(0, n, batch):
        x = _luma(x_all[i:i + batch])
        x = (x - x.mean(dim=(1, 2), keepdim=True)) * win
        p = torch.fft.fft2(x).abs().square()
        p[:, 0, 0] = 0
        total = p.sum(dim=(1, 2)).clamp_min(1e-12)
        nyq = p[:, h // 2, :].sum(1) + p[:, :, w // 2].sum(1) - p[:, h // 2, w // 2]
        shares.append(nyq / total)
    return float(torch.cat(shares).mean())


def checkerboard_ratio(samples, real) -> float:
    """The samples' 2-px-period share over the real images': above 1, checkerboards."""
    return nyquist_share(samples) / max(nyquist_share(real), 1e-12)
