"""The run folder around the Trainer: config.json, metrics.jsonl, grids, plots, checkpoints,
snapshots, the progress bar, time budget, Ctrl-C, and rollback on NaN.

The Trainer (fashiongan.training) owns the models and the iterations; this loop runs it in
chunks up to the next event (a metrics tick, a log line, a grid, a checkpoint) and does the
event, so everything here happens at the same iterations whatever the chunking.
"""

from __future__ import annotations

import functools
import json
import math
import time
from pathlib import Path

import torch
from tqdm import tqdm

from fashiongan import snapshot, validate
from fashiongan.accel import threads
from fashiongan.accel.bf16 import resolve_amp
from fashiongan.config import TrainConfig
from fashiongan.errors import UserError
from fashiongan.fileio import atomic_write, atomic_write_json
from fashiongan.generate.latent import latents
from fashiongan.generate.sampling import generate
from fashiongan.imageio import grid, save_png
from fashiongan.training import NonFiniteLoss, Trainer, distributed, plots, states
from fashiongan.training.interrupt import Interrupt
from fashiongan.training.trainer import training_data


class NonFiniteError(UserError):
    """A loss or weight became NaN/inf."""


def pick_device(name: str) -> torch.device:
    return validate.device(name, "config: device")




def _restoring_threads(fn):
    """The loop runs on cfg.runtime.threads; the caller's thread count comes back afterwards:
    a library call must not change the process's numerics (MKL's float32 rounding depends on it)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        old = torch.get_num_threads()
        try:
            return fn(*args, **kwargs)
        finally:
            torch.set_num_threads(old)

    return wrapper


def resumed_images(state: dict, limit: int, available: int) -> int:
    """How many training images a resumed run draws from: the count its state was trained on
    (the batch indices are drawn from it), so `--limit-data` need not be repeated; another
    count is an error rather than a silent switch of data. States before it was stored: limit."""
    recorded = state.get("train_images")
    if recorded is None:
        return limit
    if limit and min(limit, available) != recorded:
        raise UserError(
            f"--limit-data {limit}: this run trained on its first {recorded:,} "
            "images; a resume continues on them (leave --limit-data out)"
        )
    if recorded > available:
        raise UserError(
            f"this run trained on {recorded:,} images, but its data set now has {available:,}"
        )
    return recorded


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
    evaluator=None,  # callable(G_sample, step) -> dict of metrics, every output.eval_every
    dataset=None,  # a data.store.Dataset (its train split); None: Fashion-MNIST from data_dir;
    # or a data.fabric.Fabric: batches of random crops (its `batches`) instead of images by index
    preview=None,  # callable(G_sample) -> PIL image for samples/grid-*.png; None: a grid of G(z)
) -> dict:
    """Train G and D; returns a summary dict. Writes into run_dir (on rank 0 only):
    config.json, metrics.jsonl, samples/grid-<step>.png, samples/grid-final.png, losses.png,
    checkpoints/state-<step>.pt (+ .json checksum), snapshot/generator.safetensors."""
    run_dir = Path(run_dir)
    device = pick_device(cfg.runtime.device)
    cfg = cfg.replace(amp=resolve_amp(cfg.runtime.amp, device))  # config.json says which
    state = states.load_state(resume) if resume is not None else None
    # threads=0: the idle cores now, or on resume the count the run had (MKL's float32
    # rounding follows the thread count, so a resumed run keeps it to continue bit for bit)
    threads.use_threads(cfg.runtime.threads or (state or {}).get("threads", 0))
    watch = threads.ThreadWatch(auto=not cfg.runtime.threads)  # re-chosen as the load changes
    di = distributed.init(device)
    if di.enabled and device.type == "cuda":
        device = torch.device("cuda", di.local_rank)
        torch.cuda.set_device(device)
    main = di.is_main

    batches = None
    if hasattr(dataset, "batches"):  # a fabric: random crops of its swatches
        images = labels = None
        info = dataset.info
        batches = dataset.batches(cfg.schedule.batch_size, cfg.schedule.seed, device, di.rank,
                                  di.world_size)
    else:
        images, labels, info = training_data(dataset, data_dir)
        n = resumed_images(state, max_train_images, len(images)) if state else max_train_images
        if n:
            images, labels = images[:n], labels[:n]
    tr = Trainer(
        cfg, images, labels, info, device, rank=di.rank, world_size=di.world_size, ddp=di.enabled,
        batches=batches,
    )
    rollbacks = 0
    if state is not None:
        tr.load_state_dict(state)
    elif hasattr(dataset, "init_generator"):  # a fabric starts G at its own frequencies
        for g in (tr.G, *([tr.ema.model] if tr.ema is not None else [])):
            dataset.init_generator(g)

    # --- files ---------------------------------------------------------------------------------
    ckpt_dir, samples_dir = run_dir / "checkpoints", run_dir / "samples"
    metrics_path = run_dir / "metrics.jsonl"
    last_ckpt: str | None = None
    if main:
        atomic_write_json(run_dir / "config.json", cfg.to_dict())
        # what --resume reopens (path null: Fashion-MNIST), and what it must find there
        path = getattr(dataset, "path", None)
        atomic_write_json(
            run_dir / "data.json",
            {"path": None if path is None else str(Path(path).resolve()), "info": info.to_dict()},
        )
        samples_dir.mkdir(parents=True, exist_ok=True)
        _truncate_metrics(metrics_path, tr.step)
        tqdm.write(
            f"training {cfg.model.arch} on {device} x {di.world_size} rank(s): batch "
            f"{cfg.schedule.batch_size} per rank, global batch {tr.global_batch}; from iteration "
            f"{tr.step}"
        )
    n_grid = cfg.output.grid_rows * cfg.output.grid_cols
    k = cfg.model.num_classes
    grid_z = latents(
        range(n_grid), cfg.model.latent_dim, device
    )  # seeds 0..n-1, as `sample --seed 0`
    grid_y = (torch.arange(n_grid, device=device) // cfg.output.grid_cols) % k if k else None

    def write_grid(tag: str) -> Path:
        path = samples_dir / f"grid-{tag}.png"
        img = preview(tr.sample_model) if preview is not None else grid(
            generate(tr.sample_model, grid_z, grid_y),
            cfg.output.grid_rows,
            cfg.output.grid_cols,
            scale=cfg.output.grid_scale,
        )
        save_png(img, path)
        return path

    def save_all() -> None:
        nonlocal last_ckpt
        if not main:
            return
        state = {**tr.state_dict(), "config": json.dumps(cfg.to_dict()),
                 "threads": torch.get_num_threads()}
        try:
            saved = states.save_state(ckpt_dir, tr.step, state, cfg.output.keep_checkpoints)
        except OSError as e:  # disk full...: say where the last good state is
            good = last_ckpt or states.latest_state(ckpt_dir)
            raise OSError(
                e.errno, f"{e.strerror}; last good training state: {good}", e.filename
            ) from e
        last_ckpt = str(saved)
        snapshot.save_snapshot(
            tr.sample_model,
            cfg,
            run_dir / "snapshot",
            {"step": tr.step, "images_seen": tr.images_seen},
            dataset=info,
        )

    def on_non_finite(what: str, step: int) -> None:
        """Stop with a clear message, or (on_nan: rollback) reload the last good state."""
        nonlocal rollbacks
        where = last_ckpt or states.latest_state(ckpt_dir)
        msg = f"non-finite {what} at iteration {step}; last good training state: {where}"
        if cfg.optim.on_nan != "rollback" or where is None or rollbacks >= cfg.optim.max_rollbacks:
            raise NonFiniteError(msg)
        rollbacks += 1
        halved = tr.lr_scale * 0.5
        tr.load_state_dict(states.load_state(where))
        tr.set_lr_scale(halved)
        if main:
            tqdm.write(
                f"{msg}; rolled back to iteration {tr.step} with learning rates x{tr.lr_scale}"
            )
            _truncate_metrics(metrics_path, tr.step)
        bar.reset(total=cfg.optim.iterations)
        bar.update(tr.step)

    # --- the loop: the Trainer runs up to the next event, then the event -----------------------
    tick = math.gcd(cfg.output.log_interval, 50)  # metrics.jsonl resolution, in iterations
    events = [
        tick,
        cfg.output.log_interval,
        cfg.output.sample_interval,
        cfg.output.checkpoint_interval,
        cfg.output.eval_every if evaluator is not None else 0,
    ]
    bar = tqdm(
        total=cfg.optim.iterations,
        initial=tr.step,
        disable=not (progress and main),
        unit="it",
        dynamic_ncols=True,
        desc=run_dir.name,
    )
    t_start, t_tick, step_tick = time.perf_counter(), time.perf_counter(), tr.step
    status, rec = "finished", {}
    with Interrupt() as interrupt:
        alone = not di.enabled  # alone, Ctrl-C stops after the iteration; ranks at a tick
        stop = (lambda: bool(interrupt.signum)) if alone else None
        try:
            while tr.step < cfg.optim.iterations:
                try:
                    tr.run(
                        _next_event(tr.step, events, cfg.optim.iterations) - tr.step,
                        stop=stop,
                        on_step=lambda: bar.update(1),
                    )
                except NonFiniteLoss as e:
                    on_non_finite("loss", e.step)
                    continue
                step = tr.step
                if interrupt.signum and alone:
                    status = "interrupted"
                if step % tick == 0 or step == cfg.optim.iterations:
                    rec = _record(tr.take_stats(), step, tr.images_seen, t_start, t_tick, step_tick)
                    rec.update(tr.gan.aug.metrics())  # aug_p, aug_rt under ADA
                    rec.update(tr.gan.r1.metrics())  # r1_gamma where it adapts
                    if (n := watch.check()) is not None and main:
                        tqdm.write(f"the load changed: {n} torch thread(s) from iteration {step}")
                    rec["threads"] = torch.get_num_threads()
                    t_tick, step_tick = time.perf_counter(), step
                    bar.set_postfix(
                        D=f"{rec['d_loss']:.3f}",
                        G=f"{rec['g_loss']:.3f}",
                        acc=f"{rec['acc_real']:.2f}/{rec['acc_fake']:.2f}",
                        **({"p": f"{rec['aug_p']:.3f}"} if "aug_p" in rec else {}),
                        refresh=False,
                    )
                    if main:
                        with open(metrics_path, "a") as f:
                            f.write(json.dumps(rec) + "\n")
                    # All ranks agree, at the same iteration, whether to stop.
                    over = bool(time_budget_s) and t_tick - t_start > time_budget_s
                    if distributed.any_true(bool(interrupt.signum), device):
                        status = "interrupted"
                    elif distributed.any_true(over, device):
                        status = "time budget reached"
                if main and step % cfg.output.log_interval == 0:
                    tqdm.write(
                        f"{step} [D loss: {rec['d_loss']:.6f}, acc. real: "
                        f"{100 * rec['acc_real']:.2f}%, fake: "
                        f"{100 * rec['acc_fake']:.2f}%] [G loss: {rec['g_loss']:.6f}]"
                    )
                if (
                    evaluator is not None
                    and cfg.output.eval_every
                    and step % cfg.output.eval_every == 0
                ):
                    evaluator(tr.sample_model, step)
                if main and step % cfg.output.sample_interval == 0:
                    write_grid(f"{step:08d}")
                    plots.loss_plot(
                        plots.read_jsonl(metrics_path),
                        run_dir / "losses.png",
                        f"{run_dir.name}: {cfg.model.arch}",
                    )
                if step % cfg.output.checkpoint_interval == 0 and step < cfg.optim.iterations:
                    if not tr.finite_weights():
                        on_non_finite("weights", step)
                        continue
                    save_all()
                if status != "finished":
                    break
        finally:
            bar.close()

    if not tr.finite_weights():
        raise NonFiniteError(
            f"non-finite weights at iteration {tr.step}; last good training state: {last_ckpt}"
        )
    save_all()
    final = write_grid("final") if main else None
    if main:
        plots.loss_plot(
            plots.read_jsonl(metrics_path),
            run_dir / "losses.png",
            f"{run_dir.name}: {cfg.model.arch}",
        )
    if status == "interrupted":
        raise KeyboardInterrupt(
            f"interrupted at iteration {tr.step}; "
            + (
                f"training state saved to {last_ckpt}"
                if main
                else f"rank {di.rank} stopped, rank 0 saves the training state"
            )
        )
    distributed.barrier()
    return {
        "status": status,
        "step": tr.step,
        "images_seen": tr.images_seen,
        "wall_s": time.perf_counter() - t_start,
        "run_dir": str(run_dir),
        "checkpoint": last_ckpt,
        "grid": str(final) if final else None,
        "rollbacks": rollbacks,
    }


def _next_event(step: int, intervals: list[int], end: int) -> int:
    """The first iteration after `step` at which one of the intervals (0: never) falls, or end."""
    return min([end, *((step // i + 1) * i for i in intervals if i > 0)])


def _record(
    stats: dict, step: int, images_seen: int, t_start: float, t_tick: float, step_tick: int
) -> dict:
    now = time.perf_counter()
    return {
        "step": step,
        "images_seen": images_seen,
        **stats,
        "it_per_s": (step - step_tick) / max(now - t_tick, 1e-9),
        "wall_s": now - t_start,
    }


def _truncate_metrics(path: Path, step: int) -> None:
    """Drop lines after `step`: they describe iterations that will be run again."""
    kept = [r for r in plots.read_jsonl(path) if r.get("step", 0) <= step]
    atomic_write(
        path, lambda tmp: Path(tmp).write_text("".join(json.dumps(r) + "\n" for r in kept))
    )
