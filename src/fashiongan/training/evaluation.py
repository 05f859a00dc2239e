"""FID during training: `fashiongan train --eval-every N` (config keys eval_every, eval_samples).

The training loop calls the evaluator every eval_every iterations on every rank. Each rank
generates its share of the fixed seeds 0..n-1 (the same images each time, so the curve moves only
because G does), the feature moments are summed across ranks, and rank 0 writes
{"step", "fid"} to metrics.jsonl, redraws fid.png and saves snapshot-best/ when FID improves.
The seeds match `fashiongan evaluate RUN --n N`, so the two agree on the same snapshot.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch

from fashiongan import snapshot
from fashiongan.data.resolve import resolve
from fashiongan.generate.latent import latents
from fashiongan.generate.sampling import generate
from fashiongan.metrics import evaluator
from fashiongan.metrics.features import classifier, extract
from fashiongan.metrics.fid import Moments, frechet_distance
from fashiongan.metrics.reference import reference
from fashiongan.training import distributed, plots
from fashiongan.training.rundir import BEST_DIR


class TrainingEvaluator:
    def __init__(self, cfg, run_dir, device=None, data_dir=None, seed: int = 0):
        self.cfg, self.run_dir, self.device, self.data_dir = cfg, Path(run_dir), device, data_dir
        self.n, self.seed = cfg.output.eval_samples, seed
        self.best: float | None = None
        self._ref = None

    def _setup(self, device) -> None:
        self.net, digest = evaluator.load(device=device)
        ref = reference(classifier(self.net, digest), resolve(None, data_dir=self.data_dir),
                        progress=False)
        self.mu, self.sigma = ref.mu, ref.sigma  # the test set's statistics only
        # After a resume the loop has cut metrics.jsonl back to the resumed step: best so far.
        fids = [r["fid"] for r in plots.read_jsonl(self.run_dir / "metrics.jsonl") if "fid" in r]
        self.best = min(fids) if fids else None
        self._ref = ref.key

    @torch.no_grad()
    def __call__(self, g, step: int) -> dict:
        t0 = time.perf_counter()
        device = self.device or next(g.parameters()).device
        if self._ref is None:
            self._setup(device)
        di = distributed.info()
        start, end = self.n * di.rank // di.world_size, self.n * (di.rank + 1) // di.world_size
        z = latents(range(self.seed + start, self.seed + end), g.latent_dim, device)
        k = getattr(g, "num_classes", 0)
        y = torch.arange(start, end, device=device) % k if k else None  # as sampling.sample
        feats, _ = extract(generate(g, z, y), self.net)
        moments = Moments.of(feats).all_reduce()
        fid = frechet_distance(*(t.cpu() for t in moments.mean_cov()), self.mu, self.sigma)
        rec = {"step": step, "fid": fid, "eval_samples": self.n,
               "eval_s": round(time.perf_counter() - t0, 2)}
        if di.is_main:
            path = self.run_dir / "metrics.jsonl"
            with open(path, "a") as f:
                f.write(json.dumps(rec) + "\n")
            if self.best is None or fid < self.best:
                self.best = fid
                snapshot.save_snapshot(g, self.cfg, self.run_dir / BEST_DIR,
                                         {"step": step, "fid": fid, "eval_samples": self.n})
            plots.fid_plot(plots.read_jsonl(path), self.run_dir / "fid.png",
                           f"{self.run_dir.name}: FID ({self.n} samples, evaluator features)")
        return rec


def make_evaluator(cfg, run_dir, device=None, data_dir=None) -> TrainingEvaluator | None:
    """The callable training_loop takes as `evaluator=`; None when cfg.output.eval_every is 0."""
    return TrainingEvaluator(cfg, run_dir, device, data_dir) if cfg.output.eval_every else None
