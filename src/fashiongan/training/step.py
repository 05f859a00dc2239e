"""One training iteration (D update(s), then G update) as an object that owns the models, the
optimisers and the noise RNG; the loop in train.py owns data order, files and time.

Kept apart from the loop so that benchmarks and the equivalence test can drive exactly the step
that training uses, batch by batch.
"""

from __future__ import annotations

from contextlib import nullcontext

import torch
from torch import nn

from fashiongan.accel import onednn_linear
from fashiongan.accel.bf16 import resolve_amp
from fashiongan.augment import Augmenter
from fashiongan.config import TrainConfig
from fashiongan.training import article_step, distributed, optim
from fashiongan.training import objective as losses
from fashiongan.training.r1 import R1Weight


def _has_conv(m: nn.Module) -> bool:
    return any(isinstance(x, nn.Conv2d | nn.ConvTranspose2d) for x in m.modules())


class GANStep:
    def __init__(self, cfg: TrainConfig, G: nn.Module, D: nn.Module, device: torch.device,
                 ddp: bool = False, channels_last: bool | None = None):
        self.cfg, self.G, self.D, self.device = cfg, G, D, device
        self.k = cfg.model.num_classes
        # Convolutions in NHWC: cuDNN's fast layout (tensor cores under bf16), and oneDNN's on
        # CPU (cdcgan at batch 64: 1.10x, benchmarks/variants.py). Set before the optimisers
        # and DDP see the parameters; tensors are converted in place, so G and D stay the
        # caller's objects (and G's EMA copy, made after, is NHWC too). None: on for conv models.
        if channels_last is None:  # a model may say otherwise (the texture G: BatchNorm at
            # full resolution ran 4x slower in NHWC on CPU)
            channels_last = getattr(G, "train_channels_last", _has_conv(G) or _has_conv(D))
        self.channels_last = channels_last
        if channels_last:
            G.to(memory_format=torch.channels_last)
            D.to(memory_format=torch.channels_last)
        # CPU float32: wide Linear layers on oneDNN's AVX-512 GEMM instead of MKL's (which runs
        # its AVX2 path on AMD CPUs): 1.25-1.42x per article iteration on a 2-core EPYC.
        # Same parameters and state_dict; off with onednn_linear=false.
        if cfg.runtime.onednn_linear and device.type == "cpu":
            onednn_linear.convert(G)
            onednn_linear.convert(D)
        betas = (cfg.optim.beta1, cfg.optim.beta2)
        self.opt_g = optim.adam(
            G.parameters(), cfg.optim.lr, betas, cfg.optim.adam_eps, cfg.runtime.compile
        )
        self.opt_d = optim.adam(
            D.parameters(),
            cfg.optim.d_learning_rate,
            betas,
            cfg.optim.adam_eps,
            cfg.runtime.compile,
        )
        # The article's exact step on a CPU runs without autograd (article_step.py): 1.3x over
        # the line above; same tensors, so state_dict/load_state_dict below cover it too.
        # The fused step's hand-written backward has no augmentation in it.
        self.article = (
            article_step.ArticleStep(G, D, self.opt_g, self.opt_d)
            if cfg.augment.mode == "none" and article_step.supported(cfg, G, D, device, ddp)
            else None
        )
        # Augmentation draws from its own generator, reseeded every iteration by the loop
        # (augment.step_seed), so the latents are those of an unaugmented run and resume needs
        # no generator state; ADA's p is agreed across ranks through the all-reduce.
        self.aug = Augmenter.from_config(cfg.augment,
                                         reduce=distributed.all_reduce_sum if ddp else None)
        self.aug_gen = torch.Generator(device=device).manual_seed(cfg.schedule.seed + 2)
        self.noise = torch.Generator(device=device).manual_seed(cfg.schedule.seed + 1)
        obj = cfg.objective
        self.r1 = R1Weight(obj.r1_gamma, obj.r1_target, obj.r1_kimg, obj.r1_interval,
                           reduce=distributed.all_reduce_sum if ddp else None)
        self.iteration = 0  # set by the loop: lazy R1 (r1_interval) runs on multiples of it
        # DDP wraps the modules whose gradients are averaged; G's step runs the raw D, whose
        # parameters are frozen there, so no DDP hook waits for gradients that never come.
        G_train = nn.parallel.DistributedDataParallel(G) if ddp else G
        D_train = nn.parallel.DistributedDataParallel(D) if ddp else D
        wrap = torch.compile if cfg.runtime.compile else (lambda m: m)
        self.G_train, self.D_train, self.D_frozen = wrap(G_train), wrap(D_train), wrap(D)
        # R1 differentiates D's gradient, and aot_autograd has no double backward: a compiled
        # run takes its R1 iterations (every r1_interval-th) through the eager D
        self.D_train_r1 = D_train
        # bf16 autocast: matmuls and convolutions in bf16 (tensor cores on CUDA; AVX512-BF16
        # on CPUs that have it), the rest and the weights in float32.
        self.amp = resolve_amp(cfg.runtime.amp, device) == "bf16"
        self.autocast = (
            torch.autocast(device.type, dtype=torch.bfloat16) if self.amp else nullcontext()
        )

    # --- state for checkpoints ---------------------------------------------------------------
    def state_dict(self) -> dict:
        return {
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "noise": self.noise.get_state(),
        }

    def load_state_dict(self, state: dict) -> None:
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.noise.set_state(state["noise"].to(self.noise.get_state().device))

    # --- the iteration -----------------------------------------------------------------------
    def _fp32(self, t: torch.Tensor) -> torch.Tensor:
        """bf16 outputs of autocast back to float32 for the losses. Without autocast nothing is
        cast, so the step also runs in float64 (the equivalence test does)."""
        return t.float() if self.amp else t

    def _z_y(self, B: int):
        # a generator whose input is not a flat vector draws its own (the texture G's grid)
        draw = getattr(self.G, "training_latents", None)
        z = (draw(B, self.noise) if draw is not None else
             torch.randn(B, self.cfg.model.latent_dim, device=self.device, generator=self.noise))
        if not self.k:
            return z, None
        if (
            self.cfg.schedule.batch_sampling == "balanced"
        ):  # the classes in turn from a random start
            start = torch.randint(0, self.k, (1,), device=self.device, generator=self.noise)
            return z, (torch.arange(B, device=self.device) + start) % self.k
        return z, torch.randint(0, self.k, (B,), device=self.device, generator=self.noise)

    def _fakes_for_d(self, z, y):
        with torch.no_grad(), self.autocast:
            if (
                self.cfg.objective.d_fakes_eval_mode
            ):  # Keras' G.predict runs BatchNorm in inference mode
                self.G.eval()
                try:
                    return self._fp32(self.G(z, y))
                finally:
                    self.G.train()
            return self._fp32(self.G_train(z, y))

    def _g_batch(self, B: int):
        """z and classes for a G forward with gradients; with the mode-seeking term the
        second half draws the first half's classes again (its pairs differ in z only)."""
        z, y = self._z_y(B)
        if self.cfg.objective.mode_seeking and y is not None:
            h = B // 2
            y = torch.cat([y[:h], y[:h], y[2 * h:]])
        return z, y

    def _drawn(self, B: int):
        """(z, y, G(z, y) under autocast, with its graph) for g_reuses_d_fakes."""
        z, y = self._g_batch(B)
        with self.autocast:
            return z, y, self.G_train(z, y)

    def d_update(self, real: torch.Tensor, y_real, drawn=None):
        cfg, opt = self.cfg, self.opt_d
        B = real.shape[0]
        if drawn is None:
            z, y_fake = self._z_y(B)
            fake = self._fakes_for_d(z, y_fake)
        else:  # G's step backpropagates through these same fakes
            _, y_fake, fake = drawn
            fake = self._fp32(fake.detach())
        if (
            cfg.objective.d_split_steps
        ):  # the article: two optimiser steps, real batch then fake batch
            out = []
            for x, y, loss_fn in ((real, y_real, losses.bce_real), (fake, y_fake, losses.bce_fake)):
                x = self.aug(x, generator=self.aug_gen)
                opt.zero_grad(set_to_none=True)
                with self.autocast:
                    logits = self._fp32(self.D_train(x, y))
                loss = loss_fn(logits)
                loss.backward()
                optim.step(opt)
                out.append((loss.detach(), logits.detach()))
            (loss_r, real_logits), (loss_f, fake_logits) = out
            return 0.5 * (loss_r + loss_f), real_logits, fake_logits
        # One forward over real and fake together: one DDP forward per backward, and half the
        # kernel launches. Our discriminators have no batch-coupled layers, so it is exact.
        both = torch.cat([real, fake])
        x = self._augment(both)  # R1 on augmented reals
        y = torch.cat([y_real, y_fake]) if self.k else None
        # lazy R1 (Karras et al. 2020, StyleGAN2): the penalty every r1_interval iterations,
        # weighted by the interval, so its mean pull is that of R1 every iteration
        r1 = (
            self.r1.gamma * cfg.objective.r1_interval
            if self.iteration % cfg.objective.r1_interval == 0
            else 0.0
        )
        if r1:
            x.requires_grad_(True)
        opt.zero_grad(set_to_none=True)
        d = self.D_train_r1 if r1 else self.D_train
        recon = cfg.objective.recon_weight
        with self.autocast:  # with recon_weight, D also redraws the reals (models/fastgan.py)
            logits, redraw = d(x, y, reconstruct_n=B) if recon else (d(x, y), None)
            logits = self._fp32(logits)
        real_logits, fake_logits = logits[:B], logits[B:]
        loss = losses.d_loss(cfg.objective.loss, real_logits, fake_logits)
        total = loss if redraw is None else loss + recon * redraw
        if cfg.objective.loss == "wgan_gp":
            total = total + cfg.objective.gp_weight * losses.gradient_penalty(
                self.D, real, fake, y_real, generator=self.noise
            )
        if r1:
            total = total + r1 * losses.r1_penalty(real_logits, x, n_real=B)
        total.backward()
        optim.step(opt)
        return loss.detach(), real_logits.detach(), fake_logits.detach()

    def _augment(self, x: torch.Tensor) -> torch.Tensor:
        out = self.aug(x, generator=self.aug_gen)
        if self.channels_last and out is not x:  # augmented maps come back NCHW
            out = out.contiguous(memory_format=torch.channels_last)
        return out

    def g_update(self, B: int, drawn=None) -> torch.Tensor:
        ms = self.cfg.objective.mode_seeking
        self.D.requires_grad_(False)  # "G through the frozen D"
        self.opt_g.zero_grad(set_to_none=True)
        with self.autocast:
            if drawn is None:
                z, y = self._g_batch(B)
                fake = self.G_train(z, y)
            else:
                z, y, fake = drawn
            fake_logits = self._fp32(self.D_frozen(self._augment(fake), y))
        loss = losses.g_loss(self.cfg.objective.loss, fake_logits)
        total = loss + ms * losses.mode_seeking(self._fp32(fake), z) if ms else loss
        total.backward()
        optim.step(self.opt_g)
        self.D.requires_grad_(True)
        return loss.detach()

    def __call__(self, real: torch.Tensor, y_real=None) -> torch.Tensor:
        """One iteration on a batch scaled to [-1, 1]; returns the tensor
        [d_loss, g_loss, acc_real, acc_fake] without synchronising with the device."""
        if self.article is not None:
            return self.article(real, self.noise, self.cfg.model.latent_dim)
        if self.channels_last:
            real = real.contiguous(memory_format=torch.channels_last)
        B = real.shape[0]
        drawn = self._drawn(B) if self.cfg.objective.g_reuses_d_fakes else None
        for _ in range(self.cfg.objective.d_steps):
            d_loss, real_logits, fake_logits = self.d_update(real, y_real, drawn)
        self.aug.observe(real_logits)  # ADA's p from the sign of D on reals; else a no-op
        self.r1.observe(d_loss, B)  # an adaptive gamma follows D's loss
        g_loss = self.g_update(B, drawn)
        a_real, a_fake = losses.accuracy(real_logits, fake_logits)
        return torch.stack([d_loss, g_loss, a_real, a_fake])
