"""The article preset's iteration written out by hand for the CPU: forward and backward of its two
MLPs as explicit kernel calls, no autograd graph.

Why by hand: at batch 32 the article's models are so small that an iteration is ~40 GEMMs of
0.1-0.5 ms plus ~700 framework calls (autograd nodes, a Python autograd.Function per layer,
zero_grad, module hooks) that cost about a quarter of the time on a 2-core CPU. Here each layer
is one oneDNN GEMM with its activation fused in (`onednn_linear`), and the backward reuses the
same ATen kernels autograd would call (`native_batch_norm_backward`, `leaky_relu_backward`,
`tanh_backward`), so the numbers agree with GANStep's autograd path to float rounding
(tests/test_step_equivalence.py) and the state it leaves (weights, BN running statistics and
counters, Adam moments) is the same state in the same tensors: checkpoints, resume and sampling
do not know which path trained them.

Used by GANStep only where it is exactly the article's step: the article models, BCE, one D step
on real then one on fake with fakes from G in inference mode, float32 on CPU, no DDP,
autocast, compile or penalties. Everything else takes the general path.
"""

from __future__ import annotations

import torch
from torch import nn

from fashiongan.accel import onednn_linear
from fashiongan.models.article import ArticleDiscriminator, ArticleGenerator
from fashiongan.training import objective as losses
from fashiongan.training import optim

_lin = onednn_linear.linear_pointwise
_mm_t = onednn_linear.mm_t
_aten = torch.ops.aten


def supported(cfg, G: nn.Module, D: nn.Module, device: torch.device, ddp: bool) -> bool:
    return (
        cfg.runtime.fused_step
        and onednn_linear.available()
        and device.type == "cpu"
        and type(G) is ArticleGenerator
        and type(D) is ArticleDiscriminator
        # d_split_steps implies loss bce (config.py refuses anything else)
        and cfg.objective.d_split_steps
        and cfg.objective.d_fakes_eval_mode
        and cfg.objective.d_steps == 1
        and not cfg.objective.r1_gamma
        and not cfg.objective.mode_seeking
        and not ddp
        and cfg.runtime.amp == "none"
        and not cfg.runtime.compile
        and all(p.dtype == torch.float32 for p in (*G.parameters(), *D.parameters()))
    )


class ArticleStep:
    def __init__(
        self,
        G: ArticleGenerator,
        D: ArticleDiscriminator,
        opt_g: torch.optim.Optimizer,
        opt_d: torch.optim.Optimizer,
    ):
        self.opt_g, self.opt_d = opt_g, opt_d
        g, d = list(G.net), list(D.net)
        # G: (Linear, LeakyReLU, BatchNorm1d) x 3, Linear, Tanh.  D: Flatten, (Linear, LeakyReLU)
        # x 2, Linear.
        self.g_blocks = [(g[i], g[i + 1].negative_slope, g[i + 2]) for i in (0, 3, 6)]
        self.g_out = g[9]
        self.d_hidden = [(d[1], d[2].negative_slope), (d[3], d[4].negative_slope)]
        self.d_out = d[5]
        self.G_params = list(G.parameters())
        self.D_params = list(D.parameters())

    # --- G ----------------------------------------------------------------------------------
    def g_forward(self, z: torch.Tensor, train: bool):
        """Returns the (B, 784) images and, when training, what the backward needs."""
        h, saved = z, []
        for lin, slope, bn in self.g_blocks:
            u = _lin(h, lin.weight, lin.bias, "leaky_relu", [slope])
            out, mean, invstd = _aten.native_batch_norm(
                u, bn.weight, bn.bias, bn.running_mean, bn.running_var, train, bn.momentum, bn.eps
            )
            if train:
                bn.num_batches_tracked.add_(1)  # as nn.BatchNorm1d counts its batches
                saved.append((h, u, mean, invstd))
            h = out
        img = _lin(h, self.g_out.weight, self.g_out.bias, "tanh", [])
        saved.append(h)
        return img, saved

    def g_backward(self, d_img: torch.Tensor, img: torch.Tensor, saved) -> list[torch.Tensor]:
        """Gradients of G's parameters, in G.parameters() order."""
        h_last = saved.pop()
        d_o = _aten.tanh_backward(d_img, img)
        grads = [_mm_t(d_o.t(), h_last.t()), d_o.sum(0)]
        dh = _mm_t(d_o, self.g_out.weight.t())
        for i in (2, 1, 0):
            lin, slope, bn = self.g_blocks[i]
            h, u, mean, invstd = saved[i]
            du, dgamma, dbeta = _aten.native_batch_norm_backward(
                dh,
                u,
                bn.weight,
                bn.running_mean,
                bn.running_var,
                mean,
                invstd,
                True,
                bn.eps,
                [True, True, True],
            )
            da = _aten.leaky_relu_backward(du, u, slope, True)  # u is the activation's output
            grads = [
                da.t().mm(h) if i == 0 else _mm_t(da.t(), h.t()),
                da.sum(0),
                dgamma,
                dbeta,
            ] + grads
            if i:
                dh = _mm_t(da, lin.weight.t())
        return grads

    # --- D ----------------------------------------------------------------------------------
    def d_forward(self, x: torch.Tensor):
        acts = [x]
        for lin, slope in self.d_hidden:
            acts.append(_lin(acts[-1], lin.weight, lin.bias, "leaky_relu", [slope]))
        logits = torch.addmm(self.d_out.bias, acts[-1], self.d_out.weight.t())  # 256 -> 1: MKL
        return logits.squeeze(1), acts

    def d_backward(self, d_logits: torch.Tensor, acts, weights: bool, inputs: bool):
        """Gradients of D's parameters (D.parameters() order) and/or of its input."""
        d_logits = d_logits.unsqueeze(1)
        grads = [d_logits.t().mm(acts[2]), d_logits.sum(0)] if weights else []
        dh = d_logits.mm(self.d_out.weight)
        for i in (1, 0):
            lin, slope = self.d_hidden[i]
            da = _aten.leaky_relu_backward(dh, acts[i + 1], slope, True)
            if weights:
                grads = [_mm_t(da.t(), acts[i].t()), da.sum(0)] + grads
            if i or inputs:
                dh = _mm_t(da, lin.weight.t())
        return grads, (dh if inputs else None)

    @staticmethod
    def _apply(opt: torch.optim.Optimizer, params, grads) -> None:
        for p, g in zip(params, grads, strict=True):
            p.grad = g
        optim.step(opt)

    # --- the iteration ----------------------------------------------------------------------
    def __call__(self, real: torch.Tensor, noise: torch.Generator, latent_dim: int):
        """GANStep's article iteration; returns [d_loss, g_loss, acc_real, acc_fake]."""
        B = real.shape[0]
        x_real = real.reshape(B, -1)
        z = torch.randn(B, latent_dim, generator=noise)
        with torch.no_grad():
            fake, _ = self.g_forward(z, train=False)  # Keras' G.predict: BN in inference mode
            out = []
            # D on the real batch (target 1), then on the fake batch (target 0): two Adam steps.
            # d/dlogit of mean softplus(-/+ logit) is (sigmoid(logit) - target) / B.
            for x, target, loss_fn in (
                (x_real, 1.0, losses.bce_real),
                (fake, 0.0, losses.bce_fake),
            ):
                logits, acts = self.d_forward(x)
                loss = loss_fn(logits)
                d_logits = torch.sigmoid(logits).sub_(target).div_(B)
                grads, _ = self.d_backward(d_logits, acts, weights=True, inputs=False)
                self._apply(self.opt_d, self.D_params, grads)
                out.append((loss, logits))
            (loss_r, real_logits), (loss_f, fake_logits) = out
            # G through the frozen D: D's input gradient only, then G's backward.
            z = torch.randn(B, latent_dim, generator=noise)
            img, saved = self.g_forward(z, train=True)
            logits, acts = self.d_forward(img)
            g_loss = losses.bce_real(logits)
            _, d_img = self.d_backward(
                torch.sigmoid(logits).sub_(1.0).div_(B), acts, weights=False, inputs=True
            )
            self._apply(self.opt_g, self.G_params, self.g_backward(d_img, img, saved))
            a_real, a_fake = losses.accuracy(real_logits, fake_logits)
            return torch.stack([0.5 * (loss_r + loss_f), g_loss, a_real, a_fake])
