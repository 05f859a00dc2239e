"""Run under torchrun by tests/integration/test_distributed.py: `torchrun --nproc_per_node 2
dist_worker.py OUT MODE`. Each rank writes what it saw and its weights to OUT/rank<r>.pt for the
test to compare.

MODE steps: 5 real training iterations of the Trainer with DDP (the code `fashiongan train`
runs, through its `run(n)`).
MODE equiv: fashiongan's D update (GANStep.d_update) on this rank's half of a fixed batch, to
compare with the same update on the whole batch in one process.
"""

import sys

import torch

from fashiongan import data, presets
from fashiongan.models import build_discriminator, build_generator
from fashiongan.training import Trainer, distributed, noise_seed
from fashiongan.training.step import GANStep
from fashiongan.training.trainer import training_data


def fixed_batch(cfg, n):
    """A deterministic batch of n real images and n latents, the same in every process."""
    images, _ = data.load("train")
    real = images[:n].unsqueeze(1).float().div(127.5).sub(1)
    z = torch.randn(n, cfg.model.latent_dim, generator=torch.Generator().manual_seed(123))
    return real, z


def equiv_step(cfg, real, z, ddp):
    """fashiongan's own D update (GANStep.d_update: its loss, its DDP wrapper, its optimiser
    step) on these reals, with fakes from these latents; D's weights after it. The article's
    D sees fakes from G in eval mode (Keras' G.predict), so a fake is a function of its own
    latent alone and half a batch per rank is exactly the whole batch split."""
    torch.manual_seed(cfg.schedule.seed)
    G, D = build_generator(cfg), build_discriminator(cfg)
    step = GANStep(cfg, G, D, torch.device("cpu"), ddp=ddp)
    step._z_y = lambda B: (z, None)  # the batch's latents instead of the step's noise
    step.d_update(real, None)
    return {k: v.detach().clone() for k, v in D.state_dict().items()}


def main(out, mode):
    cpu = torch.device("cpu")
    di = distributed.init(cpu)
    cfg = presets.resolve("article", ["batch_size=16", "batch_sampling=epoch"])
    if mode == "equiv":
        real, z = fixed_batch(cfg, 2 * cfg.schedule.batch_size)
        half = slice(di.rank * cfg.schedule.batch_size, (di.rank + 1) * cfg.schedule.batch_size)
        result = {"D": equiv_step(cfg, real[half], z[half], ddp=True)}
    else:
        images, labels, info = training_data()
        tr = Trainer(cfg, images[:4000], labels[:4000], info, cpu, rank=di.rank,
                     world_size=di.world_size, ddp=True)
        seen = [tr.sampler(step).clone() for step in range(5)]
        noise_first = [torch.randn(3, generator=torch.Generator().manual_seed(
            noise_seed(cfg.schedule.seed, di.rank, step))) for step in range(5)]
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
