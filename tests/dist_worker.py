"""Run under torchrun by tests/test_distributed.py: `torchrun --nproc_per_node 2 dist_worker.py
OUT MODE`. Each rank writes what it saw and its weights to OUT/rank<r>.pt for the test to compare.

MODE steps: 5 real training iterations of the Trainer with DDP (the code `fashiongan train`
runs, through its `run(n)`).
MODE equiv: one D optimiser step on this rank's half of a fixed batch (a model without
BatchNorm), to compare with one step on the whole batch in one process.
"""

import sys

import torch

from fashiongan import config, data, distributed, losses
from fashiongan.models import build_discriminator, build_generator
from fashiongan.training import Trainer, noise_seed
from fashiongan.training.trainer import training_data


def fixed_batch(cfg, n):
    """A deterministic batch of n real and n fake images, the same in every process."""
    images, _ = data.load("train")
    real = images[:n].unsqueeze(1).float().div(127.5).sub(1)
    torch.manual_seed(123)
    g = build_generator(cfg).eval()
    with torch.no_grad():
        fake = g(torch.randn(n, cfg.latent_dim))
    return real, fake


def equiv_step(cfg, real, fake, ddp):
    torch.manual_seed(cfg.seed)
    d = build_discriminator(cfg)
    opt = torch.optim.Adam(d.parameters(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2),
                           eps=cfg.adam_eps)
    d_train = torch.nn.parallel.DistributedDataParallel(d) if ddp else d
    logits = d_train(torch.cat([real, fake]))
    loss = losses.d_loss("bce", logits[: len(real)], logits[len(real):])
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return {k: v.detach().clone() for k, v in d.state_dict().items()}


def main(out, mode):
    cpu = torch.device("cpu")
    di = distributed.init(cpu)
    cfg = config.resolve("article", ["batch_size=16", "batch_sampling=epoch"])
    if mode == "equiv":
        real, fake = fixed_batch(cfg, 2 * cfg.batch_size)
        half = slice(di.rank * cfg.batch_size, (di.rank + 1) * cfg.batch_size)
        result = {"D": equiv_step(cfg, real[half], fake[half], ddp=True)}
    else:
        images, labels, info = training_data()
        tr = Trainer(cfg, images[:4000], labels[:4000], info, cpu, rank=di.rank,
                     world_size=di.world_size, ddp=True)
        seen = [tr.sampler(step).clone() for step in range(5)]
        noise_first = [torch.randn(3, generator=torch.Generator().manual_seed(
            noise_seed(cfg.seed, di.rank, step))) for step in range(5)]
        assert tr.run(5) == 5 and tr.step == 5
        G, D = tr.G, tr.D
        params = {f"G.{k}": v for k, v in G.named_parameters()}
        params.update({f"D.{k}": v for k, v in D.named_parameters()})
        result = {"params": params, "G_buffers": dict(G.named_buffers()), "seen": torch.stack(seen),
                  "noise": torch.stack(noise_first)}
    torch.save(result, f"{out}/rank{di.rank}.pt")
    distributed.shutdown()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
