"""How long `fashiongan evaluate` takes for N samples, stage by stage, against torchmetrics.

    python benchmarks/eval_speed.py                       # 10,000 samples, the article run
    python benchmarks/eval_speed.py --run runs/article-full --n 10000 --threads 2

Stages: sampling the generator, the evaluator's features, FID, KID (100 subsets of 1000),
precision/recall/density/coverage, the class report. The real-data statistics and the floor
are cached once per evaluator/data/protocol (their one-off cost is printed separately; a
cold cache is forced with --cold). The reference row does FID + KID with torchmetrics'
FrechetInceptionDistance / KernelInceptionDistance given the same evaluator as their feature
network: each metric object runs the network itself, over the real images too.

The machine is shared: compare the rows of one invocation; the load average is printed.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import torch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", default="runs/article-full", help="generator run folder (a fresh "
                    "article G when it does not exist: sampling costs the same)")
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch default)")
    ap.add_argument("--cold", action="store_true", help="time the reference from a cold cache")
    ap.add_argument("--no-torchmetrics", action="store_true")
    ap.add_argument("--weights", help="another evaluator file (default: the shipped one)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.cold:
        os.environ["FASHIONGAN_CACHE"] = tempfile.mkdtemp(prefix="fashiongan-cache-")

    from fashiongan import data, presets
    from fashiongan.data.resolve import fashion_mnist as fmnist_dataset
    from fashiongan.generate.sampling import sample
    from fashiongan.metrics import evaluator
    from fashiongan.metrics.classes import class_report
    from fashiongan.metrics.features import classifier, extract
    from fashiongan.metrics.fid import Moments, frechet_distance
    from fashiongan.metrics.kid import kid
    from fashiongan.metrics.prdc import prdc
    from fashiongan.metrics.reference import K_DC, K_PR, reference
    from fashiongan.metrics.report import real_floor
    from fashiongan.models import build_generator
    from fashiongan.snapshot import load_generator

    rows: list[tuple[str, float]] = []

    def timed(name, fn):
        t = time.perf_counter()
        out = fn()
        rows.append((name, time.perf_counter() - t))
        return out

    g = (load_generator(args.run) if Path(args.run).exists()
         else build_generator(presets.resolve("article")).eval())
    net, digest = evaluator.load(args.weights)
    ds, fnet = fmnist_dataset(), classifier(net, digest)
    ref = timed("reference statistics (cached)", lambda: reference(fnet, ds, progress=False))
    timed("real floor (cached)", lambda: real_floor(fnet, ds, ref, args.n, progress=False))
    one_off = sum(s for _, s in rows)
    rows.clear()
    images, labels = timed("sample G", lambda: sample(g, args.n, seed=0, return_labels=True))
    feats, classes = timed("evaluator features", lambda: extract(images, net))
    timed("FID", lambda: frechet_distance(*Moments.of(feats).mean_cov(), ref.mu, ref.sigma))
    timed("KID (100 x 1000)", lambda: kid(ref.features, feats))
    timed(f"precision/recall k={K_PR}, density/coverage k={K_DC}",
          lambda: prdc(ref.features, feats, K_PR, K_DC, ref.radii))
    timed("class report", lambda: class_report(classes, None, 10))
    total = sum(s for _, s in rows)

    print(f"N = {args.n}, torch threads {torch.get_num_threads()}, load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'stage':48s}{'seconds':>10s}{'share':>8s}")
    for name, s in rows:
        print(f"{name:48s}{s:10.2f}{100 * s / total:7.0f}%")
    print(f"{'total (what `evaluate` adds to a warm cache)':48s}{total:10.2f}")
    print(f"{'one-off: reference + floor' + (' (cold)' if args.cold else ' (warm)'):48s}"
          f"{one_off:10.2f}")

    if not args.no_torchmetrics:
        from torchmetrics.image.fid import FrechetInceptionDistance
        from torchmetrics.image.kid import KernelInceptionDistance

        class Features(torch.nn.Module):
            def forward(self, x):
                return net.features_and_logits(x)[0]

        test, _ = data.load("test")
        real = test.unsqueeze(1)
        fake = torch.from_numpy(images).unsqueeze(1)

        def tm():
            fid_m = FrechetInceptionDistance(feature=Features(), input_img_size=(1, 28, 28))
            kid_m = KernelInceptionDistance(feature=Features(), subsets=100, subset_size=1000)
            for m in (fid_m, kid_m):
                for i in range(0, len(real), 1000):
                    m.update(real[i:i + 1000], real=True)
                for i in range(0, len(fake), 1000):
                    m.update(fake[i:i + 1000], real=False)
            return float(fid_m.compute()), [float(v) for v in kid_m.compute()]

        t = time.perf_counter()
        with torch.no_grad():
            (tm_fid, tm_kid) = tm()
        tm_s = time.perf_counter() - t
        ours = frechet_distance(*Moments.of(feats).mean_cov(), ref.mu, ref.sigma)
        print(f"{'torchmetrics FID + KID only (same features)':48s}{tm_s:10.2f}")
        print(f"FID ours {ours:.6f} vs torchmetrics {tm_fid:.6f}; KID torchmetrics "
              f"{tm_kid[0]:.6g} ± {tm_kid[1]:.3g} (unseeded subsets)")


if __name__ == "__main__":
    main()
