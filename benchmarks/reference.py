"""The plain PyTorch port a tutorial would write: the yardstick for fashiongan's loop.

Same models, same optimiser settings, same update order as fashiongan.training.step.GANStep,
written the way the PyTorch DCGAN example and most blog ports write it: a DataLoader over a
TensorDataset of float images, `torch.sigmoid` + `nn.BCELoss`, default Adam, `.zero_grad()`, D
left trainable during G's step (its gradients are computed and thrown away, as in the DCGAN
example), `.item()` on every loss, and `model.eval()`/`model.train()` around the article's
`G.predict`.

The noise comes from a torch.Generator handed in, drawn in the same order as GANStep draws it,
so that tests can feed both steps the same noise (tests/unit/training/test_step.py).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from fashiongan.config import TrainConfig
from fashiongan.models import build_discriminator, build_generator
from fashiongan.training.ema import EMA


class ReferenceStep:
    def __init__(self, cfg: TrainConfig, G: nn.Module, D: nn.Module, noise: torch.Generator):
        if cfg.objective.loss not in ("bce", "non_saturating", "hinge") or cfg.objective.r1_gamma:
            raise NotImplementedError(
                f"reference loop: loss {cfg.objective.loss!r}, r1 {cfg.objective.r1_gamma}"
            )
        self.cfg, self.G, self.D, self.noise = cfg, G, D, noise
        betas = (cfg.optim.beta1, cfg.optim.beta2)
        self.opt_g = torch.optim.Adam(
            G.parameters(), lr=cfg.optim.lr, betas=betas, eps=cfg.optim.adam_eps
        )
        self.opt_d = torch.optim.Adam(
            D.parameters(), lr=cfg.optim.d_learning_rate, betas=betas, eps=cfg.optim.adam_eps
        )
        self.criterion = nn.BCELoss()

    def _noise(self, B: int):
        dev = self.noise.device
        z = torch.randn(B, self.cfg.model.latent_dim, generator=self.noise, device=dev)
        y = (
            torch.randint(0, self.cfg.model.num_classes, (B,), generator=self.noise, device=dev)
            if self.cfg.model.num_classes
            else None
        )
        return z, y

    def _d_out(self, x, y):
        return torch.sigmoid(self.D(x, y)) if self.cfg.objective.loss != "hinge" else self.D(x, y)

    def _loss(self, out, target: float):
        if self.cfg.objective.loss == "hinge":
            return torch.relu(1 - out).mean() if target else torch.relu(1 + out).mean()
        return self.criterion(out, torch.full_like(out, target))

    def __call__(self, real: torch.Tensor, y_real=None) -> list[float]:
        """One iteration; returns [d_loss, g_loss, acc_real, acc_fake] as Python floats."""
        cfg, G = self.cfg, self.G
        B = real.size(0)
        thr = 0.5 if cfg.objective.loss != "hinge" else 0.0
        for _ in range(cfg.objective.d_steps):
            z, y_fake = self._noise(B)
            if cfg.objective.d_fakes_eval_mode:
                G.eval()
            with torch.no_grad():
                fake = G(z, y_fake)
            G.train()
            if (
                cfg.objective.d_split_steps
            ):  # Keras: train_on_batch(real, 1), then train_on_batch(fake, 0)
                self.opt_d.zero_grad()
                out_real = self._d_out(real, y_real)
                loss_real = self._loss(out_real, 1.0)
                loss_real.backward()
                self.opt_d.step()
                self.opt_d.zero_grad()
                out_fake = self._d_out(fake, y_fake)
                loss_fake = self._loss(out_fake, 0.0)
                loss_fake.backward()
                self.opt_d.step()
                d_loss = 0.5 * (loss_real.item() + loss_fake.item())
            else:
                self.opt_d.zero_grad()
                out_real = self._d_out(real, y_real)
                out_fake = self._d_out(fake, y_fake)
                if cfg.objective.loss == "hinge":
                    loss = self._loss(out_real, 1.0) + self._loss(out_fake, 0.0)
                else:
                    loss = 0.5 * (self._loss(out_real, 1.0) + self._loss(out_fake, 0.0))
                loss.backward()
                self.opt_d.step()
                d_loss = loss.item()
        z, y = self._noise(B)
        self.opt_g.zero_grad()
        out = self._d_out(G(z, y), y)
        g_loss = (
            -out.mean()
            if cfg.objective.loss == "hinge"
            else self.criterion(out, torch.ones_like(out))
        )
        g_loss.backward()
        self.opt_g.step()
        acc_real = (out_real > thr).float().mean().item()
        acc_fake = (out_fake <= thr).float().mean().item()
        return [d_loss, g_loss.item(), acc_real, acc_fake]


class ReferenceLoop:
    """Tutorial-style training on uint8 images [N,28,28]: `run(n)` does n more iterations.

    The float dataset and the DataLoader are built once, outside the timed part; what each
    iteration pays is what a tutorial pays: the loader's per-sample indexing and collation, the
    step, the EMA update (when the preset has one)."""

    def __init__(
        self,
        cfg: TrainConfig,
        images: torch.Tensor,
        labels: torch.Tensor,
        device: torch.device,
        seed: int = 0,
    ):
        torch.manual_seed(seed)
        self.cfg, self.device = cfg, device
        self.G = G = build_generator(cfg).to(device)
        D = build_discriminator(cfg).to(device)
        self.step = ReferenceStep(cfg, G, D, torch.Generator(device=device).manual_seed(seed + 1))
        self.ema = (
            EMA(G, cfg.schedule.ema_halflife_kimg, cfg.schedule.ema_rampup)
            if cfg.schedule.ema_halflife_kimg
            else None
        )
        self.loader = make_loader(images, labels, cfg.schedule.batch_size, seed)
        self._batches = iter(self.loader)
        self.seen = 0

    def _next(self):
        try:
            return next(self._batches)
        except StopIteration:  # a new epoch
            self._batches = iter(self.loader)
            return next(self._batches)

    def run(self, n: int) -> list[float]:
        for _ in range(n):
            x, y = self._next()
            x, y = x.to(self.device), y.to(self.device)  # the tutorial's per-batch copy
            out = self.step(x, y if self.cfg.model.num_classes else None)
            self.seen += x.size(0)
            if self.ema is not None:
                plain_ema_update(self.ema.model, self.G, self.ema.beta(x.size(0), self.seen))
        return out


def make_loader(
    images: torch.Tensor, labels: torch.Tensor, batch_size: int, seed: int = 0
) -> DataLoader:
    x = images.float().div(127.5).sub(1.0).unsqueeze(1)  # what torchvision's Normalize gives
    return DataLoader(
        TensorDataset(x, labels),
        batch_size=batch_size,
        shuffle=True,
        drop_last=True,
        generator=torch.Generator().manual_seed(seed),
    )


@torch.no_grad()
def plain_ema_update(ema_model: nn.Module, model: nn.Module, beta: float) -> None:
    """EMA as a tutorial writes it: a Python loop over the parameters."""
    for pe, p in zip(ema_model.parameters(), model.parameters(), strict=True):
        pe.mul_(beta).add_(p, alpha=1 - beta)
    for be, b in zip(ema_model.buffers(), model.buffers(), strict=True):
        be.copy_(b)
