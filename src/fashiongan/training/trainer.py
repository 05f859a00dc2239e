"""The Trainer: everything one training run holds (data on the device, G, D, optimisers, EMA,
data order, counters) and `run(n)`, n iterations of it. It writes no files: fashiongan.training.loop
wraps it in a run folder, the benchmarks time it, the DDP test compares ranks through it.

Everything random is a function of cfg.schedule.seed: model init (torch.manual_seed before
building), the data order (`BatchSampler`, a pure function of the step) and the noise and
augmentation (their generators are reseeded from (seed, rank, step) every iteration). Resuming from
`state_dict()` therefore continues bit-for-bit on CPU, and every rank draws its own noise.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from fashiongan import augment, data
from fashiongan.config import TrainConfig
from fashiongan.data.resolve import resolve
from fashiongan.data.sampler import BatchSampler, IndexBatches
from fashiongan.errors import UserError
from fashiongan.models import build_discriminator, build_generator
from fashiongan.training.ema import EMA
from fashiongan.training.step import GANStep


class NonFiniteLoss(Exception):
    """A loss of iteration `step` was NaN/inf; the Trainer's counters stay at that step."""

    def __init__(self, step: int):
        super().__init__(f"non-finite loss at iteration {step}")
        self.step = step


def noise_seed(seed: int, rank: int, step: int) -> int:
    """The noise seed of one iteration on one rank (a pure function, so resume needs no RNG)."""
    return (seed * 1_000_003 + rank * 7_919_113 + step * 104_729 + 1) % (2**63)


def training_data(dataset=None, data_dir=None):
    """(uint8 images [N,C,H,W], int64 labels [N], DatasetInfo) of the training split, as CPU
    tensors; an unlabelled data set gets zeros, which only a conditional model would read.
    dataset: a data.store.Dataset; None: Fashion-MNIST from data_dir."""
    dataset = resolve(None, data_dir=data_dir) if dataset is None else dataset
    pixels, labels = dataset.train()
    images = torch.from_numpy(np.require(pixels, requirements="CW"))  # a read-only map: copied
    labels = (
        torch.zeros(len(images), dtype=torch.long)
        if labels is None
        else torch.from_numpy(np.asarray(labels, dtype=np.int64))
    )
    return images, labels, dataset.info


class Trainer:
    def __init__(
        self,
        cfg: TrainConfig,  # the resolved configuration
        images: torch.Tensor,  # uint8 [N,C,H,W] training images (moved to `device` once)
        labels: torch.Tensor,  # int64 [N]; read only when cfg.model.num_classes
        info: data.DatasetInfo,  # what the models are sized by
        device: torch.device,
        *,
        rank: int = 0,  # this process's rank of `world_size` (DDP)
        world_size: int = 1,
        ddp: bool = False,  # wrap the models in DistributedDataParallel
        channels_last: bool | None = None,  # GANStep's layout choice; None: its default
        batches=None,  # step -> (real [-1,1], labels|None), with .n; None: `images` by index
    ):
        if cfg.model.num_classes not in (0, info.num_classes):
            raise UserError(
                f"config: num_classes must be 0 (unconditional) or "
                f"{info.num_classes}, the data's classes; got {cfg.model.num_classes}"
            )
        if cfg.model.sync_bn and ddp and device.type != "cuda":
            # torch's SyncBatchNorm has GPU kernels only; DDP would stop with a traceback
            raise UserError(
                "config: sync_bn needs CUDA devices (torch's SyncBatchNorm has no "
                f"CPU path); on {device.type} leave it off: each rank's BatchNorm "
                "then uses its own batch"
            )
        self.cfg, self.info, self.device = cfg, info, device
        self.rank, self.world_size = rank, world_size
        if batches is None:  # images by index; a fabric brings its own crops (data.fabric)
            self.images, self.labels = images.to(device), labels.to(device)  # uint8: read once
            self.sampler = BatchSampler(
                len(self.images),
                cfg.schedule.batch_size,
                cfg.schedule.seed,
                cfg.schedule.batch_sampling,
                device,
                rank,
                world_size,
                self.labels,
            )
            batches = IndexBatches(self.images, self.labels, self.sampler)
        self.batches = batches
        torch.manual_seed(cfg.schedule.seed)
        self.G = build_generator(cfg, info).to(device)
        self.D = build_discriminator(cfg, info).to(device)
        if cfg.model.sync_bn and ddp:
            self.G = nn.SyncBatchNorm.convert_sync_batchnorm(self.G)
        self.gan = GANStep(cfg, self.G, self.D, device, ddp=ddp, channels_last=channels_last)
        self.ema = (
            EMA(self.G, cfg.schedule.ema_halflife_kimg, cfg.schedule.ema_rampup)
            if cfg.schedule.ema_halflife_kimg
            else None
        )
        self.global_batch = cfg.schedule.batch_size * world_size
        self.step, self.images_seen, self.lr_scale = 0, 0, 1.0
        self._sums = torch.zeros(5, device=device)  # d_loss, g_loss, acc_real, acc_fake, n
        self.G.train()
        self.D.train()

    @property
    def nets(self) -> tuple[nn.Module, ...]:
        """Every net a training state holds."""
        return (self.G, self.D) if self.ema is None else (self.G, self.D, self.ema.model)

    @property
    def sample_model(self) -> nn.Module:
        """The generator to draw pictures and snapshots from: the EMA when there is one."""
        return self.ema.model if self.ema is not None else self.G

    def run(
        self,
        n: int,
        *,
        stop: Callable[[], bool] | None = None,
        on_step: Callable[[], object] | None = None,
    ) -> int:
        """Up to n iterations; returns how many ran (fewer when `stop()` said so after one).
        A non-finite loss raises NonFiniteLoss before any counter moves (one host sync per
        iteration, so a NaN is caught in the iteration it appears)."""
        cfg, gan, k = self.cfg, self.gan, self.cfg.model.num_classes
        warm = 1000 * cfg.schedule.lr_warmup_kimg
        for done in range(1, n + 1):
            if self.images_seen < warm:  # the iteration's lrs; the last of them is the full lr
                self._apply_lrs()
            gan.iteration = self.step
            real, labels = self.batches(self.step)
            gan.noise.manual_seed(noise_seed(cfg.schedule.seed, self.rank, self.step))
            gan.aug_gen.manual_seed(augment.step_seed(cfg.schedule.seed, self.rank, self.step))
            stats = gan(real, labels if k else None)
            if not bool(torch.isfinite(stats[:2]).all()):
                raise NonFiniteLoss(self.step)
            self.images_seen += self.global_batch
            if self.ema is not None:
                self.ema.update(self.G, self.global_batch, self.images_seen)
            self.step += 1
            self._sums[:4] += stats
            self._sums[4] += 1
            if on_step is not None:
                on_step()
            if stop is not None and stop():
                return done
        return n

    def take_stats(self) -> dict[str, float]:
        """Mean d_loss, g_loss, acc_real, acc_fake since the last call (one host sync)."""
        s = (self._sums[:4] / self._sums[4].clamp(min=1)).tolist()
        self._sums.zero_()
        return dict(zip(("d_loss", "g_loss", "acc_real", "acc_fake"), s, strict=True))

    def finite_weights(self) -> bool:
        with torch.no_grad():
            return all(bool(torch.isfinite(p).all()) for m in self.nets for p in m.parameters())

    def set_lr_scale(self, scale: float) -> None:
        """The optimisers' hyper-parameters from cfg (so `--set lr=...` on resume is applied,
        not only recorded), the learning rates times the NaN rollbacks' scale."""
        self.lr_scale = scale
        self._apply_lrs()

    def warmup(self) -> float:
        """The learning-rate factor of the next iteration: lr_warmup_kimg's linear ramp, 1
        after it (a function of images seen, so a resumed run gets the same rates)."""
        kimg = self.cfg.schedule.lr_warmup_kimg
        return min(1.0, (self.images_seen + self.global_batch) / (1000 * kimg)) if kimg else 1.0

    def _apply_lrs(self) -> None:
        cfg, scale = self.cfg, self.lr_scale * self.warmup()
        for opt, lr in (
            (self.gan.opt_g, cfg.optim.lr),
            (self.gan.opt_d, cfg.optim.d_learning_rate),
        ):
            for group in opt.param_groups:
                group.update(
                    lr=lr * scale, betas=(cfg.optim.beta1, cfg.optim.beta2), eps=cfg.optim.adam_eps
                )

    def state_dict(self) -> dict:
        state = {
            "G": self.G.state_dict(),
            "D": self.D.state_dict(),
            "opt_g": self.gan.opt_g.state_dict(),
            "opt_d": self.gan.opt_d.state_dict(),
            "rng": {"cpu": torch.get_rng_state()},
            "step": self.step,
            "images_seen": self.images_seen,
            "world_size": self.world_size,
            "lr_scale": self.lr_scale,
            "augment": self.gan.aug.state_dict(),
            "r1": self.gan.r1.state_dict(),
            "train_images": self.batches.n,  # a resume must draw from the same images
        }
        if self.ema is not None:
            state["G_ema"] = self.ema.model.state_dict()
        return state

    def load_state_dict(self, state: dict) -> None:
        try:
            self.G.load_state_dict(state["G"])
            self.D.load_state_dict(state["D"])
            if self.ema is not None:
                self.ema.model.load_state_dict(state["G_ema"])
        except (RuntimeError, KeyError) as e:
            raise UserError(
                f"{state.get('path', 'training state')}: does not fit model "
                f"{self.cfg.model.arch!r} ({str(e).splitlines()[0]})"
            ) from None
        self.gan.opt_g.load_state_dict(state["opt_g"])
        self.gan.opt_d.load_state_dict(state["opt_d"])
        torch.set_rng_state(state["rng"]["cpu"])
        self.gan.aug.load_state_dict(state.get("augment", {}))  # ADA's p and sign sums
        self.gan.r1.load_state_dict(state.get("r1", {}))  # an adaptive R1's gamma and sums
        self.step, self.images_seen = state["step"], state["images_seen"]
        self.set_lr_scale(saved_lr_scale(state))


def saved_lr_scale(state: dict) -> float:
    """The rollback scale a state was saved with; older states did not store it, so it is read
    off G's saved learning rate against the config saved beside it."""
    if "lr_scale" in state:
        return float(state["lr_scale"])
    saved_lr = json.loads(state["config"])["lr"] if "config" in state else None
    group_lr = state["opt_g"]["param_groups"][0]["lr"]
    return group_lr / saved_lr if saved_lr else 1.0
