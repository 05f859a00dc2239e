"""The training loop: one function, readable top to bottom.

Everything random is a function of cfg.seed: model init (torch.manual_seed before building),
the data order (`BatchSampler`, a pure function of the step) and the noise (the step's
generator is reseeded from (seed, rank, step) every iteration). Resuming therefore continues
bit-for-bit on CPU, and on any number of ranks every rank draws its own noise.
"""

from __future__ import annotations

import functools
import json
import math
import signal
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from . import augment, checkpoint, data, distributed, plots, validate
from .config import TrainConfig
from .ema import EMA
from .errors import UserError
from .fileio import atomic_write, atomic_write_json
from .models import build_discriminator, build_generator
from .sampling import generate, grid, latents
from .step import GANStep


class NonFiniteError(UserError):
    """A loss or weight became NaN/inf."""


def pick_device(name: str) -> torch.device:
    return validate.device(name, "config: device")


class BatchSampler:
    """Batch indices as a pure function of the step, computed on the device a block at a time.

    replacement: each image index drawn uniformly (the article's np.random.randint).
    epoch: a fresh permutation per epoch; rank r of W takes a disjoint share of each batch, so
    ranks never see the same image within an epoch.
    """

    BLOCK = 256  # steps of indices drawn at once in replacement mode

    def __init__(self, n: int, batch_size: int, seed: int, mode: str, device: torch.device,
                 rank: int = 0, world_size: int = 1):
        self.n, self.bs, self.seed, self.mode, self.device = n, batch_size, seed, mode, device
        self.rank, self.world = rank, world_size
        self.global_bs = batch_size * world_size
        if mode == "epoch" and self.global_bs > n:
            raise UserError(f"global batch {self.global_bs} is larger than the dataset ({n})")
        self.per_epoch = n // self.global_bs if mode == "epoch" else self.BLOCK
        self._block, self._indices = -1, None

    def _gen(self, block: int) -> torch.Generator:
        # Seeded per block so step t's batch never depends on how we got to step t.
        return torch.Generator(device=self.device).manual_seed(
            (self.seed * 1_000_003 + block * 7919 + 12345) % (2**63))

    def __call__(self, step: int) -> torch.Tensor:
        block, i = divmod(step, self.per_epoch)
        if block != self._block:
            g = self._gen(block)
            if self.mode == "epoch":
                self._indices = torch.randperm(self.n, generator=g, device=self.device)
            else:
                self._indices = torch.randint(0, self.n, (self.BLOCK * self.global_bs,),
                                              generator=g, device=self.device)
            self._block = block
        start = i * self.global_bs + self.rank * self.bs
        return self._indices[start:start + self.bs]


def noise_seed(seed: int, rank: int, step: int) -> int:
    """The noise seed of one iteration on one rank (a pure function, so resume needs no RNG)."""
    return (seed * 1_000_003 + rank * 7_919_113 + step * 104_729 + 1) % (2**63)


class _Interrupt:
    """SIGINT/SIGTERM set a flag that the loop reads between iterations, so a training state is
    never saved from the middle of an optimiser step; a second Ctrl-C stops at once."""

    def __init__(self):
        self.signum = 0
        self._old = {}

    def __enter__(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.signum and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.signum = signum

    def __exit__(self, *exc):
        for sig, old in self._old.items():
            signal.signal(sig, old)


def _restoring_threads(fn):
    """The loop runs on cfg.threads; the caller's thread count comes back afterwards: a library
    call must not change the process's numerics (MKL's float32 rounding depends on it)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        old = torch.get_num_threads()
        try:
            return fn(*args, **kwargs)
        finally:
            torch.set_num_threads(old)

    return wrapper


@_restoring_threads
def training_loop(
    cfg: TrainConfig,  # the resolved configuration (saved as config.json in the run folder)
    run_dir: str | Path,  # the run folder; created by new_run_dir or reused on resume
    *,
    data_dir: str | None = None,  # Fashion-MNIST folder; None searches the usual places
    resume: str | Path | None = None,  # a training state file or a run folder to continue
    progress: bool = True,  # show the tqdm bar (rank 0 only)
    max_train_images: int = 0,  # use only the first N training images (tests); 0: all
    time_budget_s: float = 0.0,  # stop (with a checkpoint) after this wall-clock time; 0: none
    evaluator=None,  # callable(G_sample, step) -> dict of metrics, called every cfg.eval_every
    dataset=None,  # a data.store.Dataset (its train split); None: Fashion-MNIST from data_dir
) -> dict:
    """Train G and D; returns a summary dict. Writes into run_dir (on rank 0 only):
    config.json, metrics.jsonl, samples/grid-<step>.png, samples/grid-final.png, losses.png,
    checkpoints/state-<step>.pt (+ .json checksum), snapshot/generator.safetensors."""
    run_dir = Path(run_dir)
    device = pick_device(cfg.device)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    di = distributed.init(device)
    if di.enabled and device.type == "cuda":
        device = torch.device("cuda", di.local_rank)
        torch.cuda.set_device(device)
    main = di.is_main

    # --- data on the device, read once -----------------------------------------------------
    images, labels, info = training_data(dataset, data_dir)
    n_classes = info.num_classes
    if cfg.num_classes not in (0, n_classes):
        raise UserError(f"config: num_classes must be 0 (unconditional) or {n_classes}, the "
                        f"data's classes; got {cfg.num_classes}")
    if max_train_images:
        images, labels = images[:max_train_images], labels[:max_train_images]
    images, labels = images.to(device), labels.to(device)
    sampler = BatchSampler(len(images), cfg.batch_size, cfg.seed, cfg.batch_sampling, device,
                           di.rank, di.world_size)

    # --- models, optimisers, EMA -------------------------------------------------------------
    torch.manual_seed(cfg.seed)
    G = build_generator(cfg, info).to(device)
    D = build_discriminator(cfg, info).to(device)
    if cfg.sync_bn and di.enabled:
        G = nn.SyncBatchNorm.convert_sync_batchnorm(G)
    gan = GANStep(cfg, G, D, device, ddp=di.enabled)
    ema = EMA(G, cfg.ema_halflife_kimg, cfg.ema_rampup) if cfg.ema_halflife_kimg else None
    nets = (G, D) if ema is None else (G, D, ema.model)  # every net a state holds, checked
    step, images_seen, lr_scale, rollbacks = 0, 0, 1.0, 0

    def restore(state: dict) -> None:
        nonlocal step, images_seen
        try:
            G.load_state_dict(state["G"])
            D.load_state_dict(state["D"])
            if ema is not None:
                ema.model.load_state_dict(state["G_ema"])
        except (RuntimeError, KeyError) as e:
            raise UserError(f"{state['path']}: does not fit model {cfg.model!r} "
                            f"({str(e).splitlines()[0]})") from None
        gan.opt_g.load_state_dict(state["opt_g"])
        gan.opt_d.load_state_dict(state["opt_d"])
        torch.set_rng_state(state["rng"]["cpu"])
        gan.aug.load_state_dict(state.get("augment", {}))  # ADA's p and sign sums
        step, images_seen = state["step"], state["images_seen"]
        set_lr_scale(_saved_lr_scale(state))

    def set_lr_scale(scale: float) -> None:
        """The optimisers' hyper-parameters from cfg (so `--set lr=...` on resume is applied,
        not only recorded), the learning rates times the NaN rollbacks' scale."""
        nonlocal lr_scale
        lr_scale = scale
        for opt, lr in ((gan.opt_g, cfg.lr), (gan.opt_d, cfg.d_learning_rate)):
            for group in opt.param_groups:
                group.update(lr=lr * scale, betas=(cfg.beta1, cfg.beta2), eps=cfg.adam_eps)

    if resume is not None:
        restore(checkpoint.load_state(resume))
    global_bs = cfg.batch_size * di.world_size

    # --- files ---------------------------------------------------------------------------------
    ckpt_dir, samples_dir = run_dir / "checkpoints", run_dir / "samples"
    metrics_path = run_dir / "metrics.jsonl"
    last_ckpt: str | None = None
    if main:
        atomic_write_json(run_dir / "config.json", cfg.to_dict())
        if getattr(dataset, "path", None) is not None:  # what --resume reopens
            atomic_write_json(run_dir / "data.json", {"path": str(Path(dataset.path).resolve()),
                                                      "info": info.to_dict()})
        samples_dir.mkdir(parents=True, exist_ok=True)
        _truncate_metrics(metrics_path, step)
        tqdm.write(f"training {cfg.model} on {device} x {di.world_size} rank(s): batch "
                   f"{cfg.batch_size} per rank, global batch {global_bs}; from iteration {step}")
    n_grid = cfg.grid_rows * cfg.grid_cols
    k = cfg.num_classes
    grid_z = latents(range(n_grid), cfg.latent_dim, device)  # seeds 0..n-1, as `sample --seed 0`
    grid_y = (torch.arange(n_grid, device=device) // cfg.grid_cols) % k if k else None

    def sample_model() -> nn.Module:
        return ema.model if ema is not None else G

    def write_grid(tag: str) -> Path:
        path = samples_dir / f"grid-{tag}.png"
        img = grid(generate(sample_model(), grid_z, grid_y), cfg.grid_rows, cfg.grid_cols,
                   scale=cfg.grid_scale)
        atomic_write(path, lambda tmp: img.save(tmp, format="PNG"))
        return path

    def save_all() -> None:
        nonlocal last_ckpt
        if not main:
            return
        state = {
            "G": G.state_dict(), "D": D.state_dict(),
            "opt_g": gan.opt_g.state_dict(), "opt_d": gan.opt_d.state_dict(),
            "rng": {"cpu": torch.get_rng_state()},
            "step": step, "images_seen": images_seen, "world_size": di.world_size,
            "lr_scale": lr_scale, "augment": gan.aug.state_dict(),
            "config": json.dumps(cfg.to_dict()),
        }
        if ema is not None:
            state["G_ema"] = ema.model.state_dict()
        try:
            saved = checkpoint.save_state(ckpt_dir, step, state, cfg.keep_checkpoints)
        except OSError as e:  # disk full...: say where the last good state is
            good = last_ckpt or checkpoint.latest_state(ckpt_dir)
            raise OSError(e.errno, f"{e.strerror}; last good training state: {good}",
                          e.filename) from e
        last_ckpt = str(saved)
        checkpoint.save_snapshot(sample_model(), cfg, run_dir / "snapshot",
                                 {"step": step, "images_seen": images_seen}, dataset=info)

    def on_non_finite(what: str) -> None:
        """Stop with a clear message, or (on_nan: rollback) reload the last good state."""
        nonlocal lr_scale, rollbacks
        where = last_ckpt or checkpoint.latest_state(ckpt_dir)
        msg = f"non-finite {what} at iteration {step}; last good training state: {where}"
        if cfg.on_nan != "rollback" or where is None or rollbacks >= cfg.max_rollbacks:
            raise NonFiniteError(msg)
        rollbacks += 1
        halved = lr_scale * 0.5
        restore(checkpoint.load_state(where))
        set_lr_scale(halved)
        if main:
            tqdm.write(f"{msg}; rolled back to iteration {step} with learning rates x{lr_scale}")
            _truncate_metrics(metrics_path, step)
        bar.reset(total=cfg.iterations)
        bar.update(step)

    # --- the loop ----------------------------------------------------------------------------
    tick = math.gcd(cfg.log_interval, 50)  # metrics.jsonl resolution, in iterations
    acc = torch.zeros(5, device=device)  # running sums: d_loss, g_loss, acc_real, acc_fake, n
    bar = tqdm(total=cfg.iterations, initial=step, disable=not (progress and main),
               unit="it", dynamic_ncols=True, desc=run_dir.name)
    t_start, t_tick, step_tick = time.perf_counter(), time.perf_counter(), step
    status, rec = "finished", {}
    G.train()
    D.train()
    with _Interrupt() as interrupt:
        try:
            while step < cfg.iterations:
                idx = sampler(step)
                real = images[idx].float().div_(127.5).sub_(1.0)
                y_real = labels[idx] if k else None
                gan.noise.manual_seed(noise_seed(cfg.seed, di.rank, step))
                gan.aug_gen.manual_seed(augment.step_seed(cfg.seed, di.rank, step))
                stats = gan(real, y_real)
                # One host sync per iteration: a NaN is caught in the iteration it appears.
                if not bool(torch.isfinite(stats[:2]).all()):
                    on_non_finite("loss")
                    continue
                images_seen += global_bs
                if ema is not None:
                    ema.update(G, global_bs, images_seen)
                step += 1
                acc[:4] += stats
                acc[4] += 1
                bar.update(1)
                if interrupt.signum and not di.enabled:  # alone: stop at once
                    status = "interrupted"

                if step % tick == 0 or step == cfg.iterations:
                    rec = _record(acc, step, images_seen, t_start, t_tick, step_tick)
                    rec.update(gan.aug.metrics())  # aug_p, aug_rt under ADA
                    t_tick, step_tick = time.perf_counter(), step
                    bar.set_postfix(D=f"{rec['d_loss']:.3f}", G=f"{rec['g_loss']:.3f}",
                                    acc=f"{rec['acc_real']:.2f}/{rec['acc_fake']:.2f}",
                                    **({"p": f"{rec['aug_p']:.3f}"} if "aug_p" in rec else {}),
                                    refresh=False)
                    if main:
                        with open(metrics_path, "a") as f:
                            f.write(json.dumps(rec) + "\n")
                    # All ranks agree, at the same iteration, whether to stop.
                    over = bool(time_budget_s) and t_tick - t_start > time_budget_s
                    if distributed.any_true(bool(interrupt.signum), device):
                        status = "interrupted"
                    elif distributed.any_true(over, device):
                        status = "time budget reached"
                if main and step % cfg.log_interval == 0:
                    tqdm.write(f"{step} [D loss: {rec['d_loss']:.6f}, acc. real: "
                               f"{100 * rec['acc_real']:.2f}%, fake: "
                               f"{100 * rec['acc_fake']:.2f}%] [G loss: {rec['g_loss']:.6f}]")
                if evaluator is not None and cfg.eval_every and step % cfg.eval_every == 0:
                    evaluator(sample_model(), step)
                if main and step % cfg.sample_interval == 0:
                    write_grid(f"{step:08d}")
                    plots.loss_plot(plots.read_jsonl(metrics_path), run_dir / "losses.png",
                                    f"{run_dir.name}: {cfg.model}")
                if step % cfg.checkpoint_interval == 0 and step < cfg.iterations:
                    if not _finite_weights(*nets):
                        on_non_finite("weights")
                        continue
                    save_all()
                if status != "finished":
                    break
        finally:
            bar.close()

    if not _finite_weights(*nets):
        raise NonFiniteError(f"non-finite weights at iteration {step}; last good training "
                             f"state: {last_ckpt}")
    save_all()
    final = write_grid("final") if main else None
    if main:
        plots.loss_plot(plots.read_jsonl(metrics_path), run_dir / "losses.png",
                        f"{run_dir.name}: {cfg.model}")
    if status == "interrupted":
        raise KeyboardInterrupt(f"interrupted at iteration {step}; " + (
            f"training state saved to {last_ckpt}" if main else
            f"rank {di.rank} stopped, rank 0 saves the training state"))
    distributed.barrier()
    return {"status": status, "step": step, "images_seen": images_seen,
            "wall_s": time.perf_counter() - t_start, "run_dir": str(run_dir),
            "checkpoint": last_ckpt, "grid": str(final) if final else None,
            "rollbacks": rollbacks}


def training_data(dataset, data_dir=None):
    """(uint8 images [N,C,H,W], int64 labels [N], DatasetInfo) of the training split, as CPU
    tensors; an unlabelled data set gets zeros, which only a conditional model would read."""
    if dataset is None:
        images, labels = data.load("train", data_dir)
        return images.unsqueeze(1), labels, data.FASHION_MNIST
    pixels, labels = dataset.train()
    images = torch.from_numpy(np.ascontiguousarray(pixels))
    labels = (torch.zeros(len(images), dtype=torch.long) if labels is None
              else torch.from_numpy(np.asarray(labels, dtype=np.int64)))
    return images, labels, dataset.info


def _saved_lr_scale(state: dict) -> float:
    """The rollback scale a state was saved with; older states did not store it, so it is read
    off G's saved learning rate against the config saved beside it."""
    if "lr_scale" in state:
        return float(state["lr_scale"])
    saved_lr = json.loads(state["config"])["lr"] if "config" in state else None
    group_lr = state["opt_g"]["param_groups"][0]["lr"]
    return group_lr / saved_lr if saved_lr else 1.0


def _record(acc: torch.Tensor, step: int, images_seen: int, t_start: float, t_tick: float,
            step_tick: int) -> dict:
    s = (acc[:4] / acc[4]).tolist()
    acc.zero_()
    now = time.perf_counter()
    return {"step": step, "images_seen": images_seen, "d_loss": s[0], "g_loss": s[1],
            "acc_real": s[2], "acc_fake": s[3],
            "it_per_s": (step - step_tick) / max(now - t_tick, 1e-9), "wall_s": now - t_start}


def _truncate_metrics(path: Path, step: int) -> None:
    """Drop lines after `step`: they describe iterations that will be run again."""
    kept = [r for r in plots.read_jsonl(path) if r.get("step", 0) <= step]
    atomic_write(path, lambda tmp: Path(tmp).write_text(
        "".join(json.dumps(r) + "\n" for r in kept)))


def _finite_weights(*modules: nn.Module) -> bool:
    with torch.no_grad():
        return all(bool(torch.isfinite(p).all()) for m in modules for p in m.parameters())
