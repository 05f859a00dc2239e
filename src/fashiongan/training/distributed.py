"""torchrun integration: RANK/WORLD_SIZE/LOCAL_RANK in the environment switch DDP on."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def info() -> DistInfo:
    return DistInfo(int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)),
                    int(os.environ.get("LOCAL_RANK", 0)))


def init(device: torch.device) -> DistInfo:
    """Join the process group torchrun set up: NCCL on CUDA, gloo on CPU."""
    di = info()
    if di.enabled and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return di


def barrier() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def shutdown() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def all_reduce_sum(t: torch.Tensor) -> torch.Tensor:
    """Sum a tensor over the ranks, in place (ADA's sign statistics); itself when alone."""
    if dist.is_available() and dist.is_initialized():
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t


def any_true(flag: bool, device: torch.device) -> bool:
    """True on every rank when it is true on any rank (one tiny all-reduce; free when alone)."""
    if not (dist.is_available() and dist.is_initialized()):
        return flag
    t = torch.tensor([int(flag)], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def on_main(fn):
    """Run fn on rank 0 only and give its result (or its UserError) to every rank."""
    from fashiongan.errors import UserError

    if not (dist.is_available() and dist.is_initialized()):
        return fn()
    box = [None, None]
    if dist.get_rank() == 0:
        try:
            box[0] = fn()
        except UserError as e:
            box[1] = str(e)
    dist.broadcast_object_list(box, src=0)
    if box[1] is not None:
        raise UserError(box[1])
    return box[0]


def launch(nproc: int, argv: list[str]) -> int:
    """`fashiongan ... --nproc N`: re-run the same command under torchrun on this host.

    torchrun runs in its own session so that a Ctrl-C reaches it exactly once, through us: the
    first Ctrl-C (or SIGTERM) is passed on as SIGINT, and torchrun passes it to the ranks, which
    stop together at the next agreed iteration and save a training state; a second one kills.
    """
    import signal
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
           f"--nproc_per_node={nproc}", "-m", "fashiongan", *argv]
    proc = subprocess.Popen(cmd, start_new_session=True)
    hits = []

    def forward(signum, frame):
        hits.append(signum)
        if len(hits) == 1:
            proc.send_signal(signal.SIGINT)
        else:
            os.killpg(proc.pid, signal.SIGKILL)

    old = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        rc = proc.wait()
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    return 130 if hits else rc
