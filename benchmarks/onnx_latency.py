"""ONNX vs PyTorch on the CPU: how far apart they draw, how fast they draw, how fast they start.

For each generator (the shipped ones by default) the graph is exported as `fashiongan package
--onnx` exports it (share/onnx_export.py), then:
1. agreement: seeds 0..15 (class i % K, and halfway morphs to the next class), max abs
   difference in [-1, 1] and in grey levels (onnx_export.check);
2. latency of one forward pass for 1 and 16 images, PyTorch (eval, no_grad) and onnxruntime,
   the same inputs, the same thread count; median and p95 of --repeats calls after a warm-up;
3. cold start in fresh processes: import + load + first image, timed inside the child from its
   first line, and the child's whole wall time from outside (interpreter start included);
   median of --cold runs. PyTorch's child imports fashiongan and loads the safetensors;
   onnxruntime's imports only numpy and onnxruntime (what a torch-free server needs).

    python benchmarks/onnx_latency.py [--generators default,best,resnet] [--threads 1]

Prints markdown tables (docs/results/2026-12-06-share.md).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import fashiongan
from fashiongan.generate.latent import latents
from fashiongan.share import onnx_export

TORCH_COLD = """
import time; t0 = time.perf_counter()
import sys, torch; torch.set_num_threads({threads})
import fashiongan
g = fashiongan.load_generator(sys.argv[1])
fashiongan.sample(g, 1, seed=0)
print(time.perf_counter() - t0)
"""
ORT_COLD = """
import time; t0 = time.perf_counter()
import sys, numpy as np, onnxruntime as ort
o = ort.SessionOptions(); o.intra_op_num_threads = {threads}
s = ort.InferenceSession(sys.argv[1], o, providers=["CPUExecutionProvider"])
feeds = {{"z": np.random.default_rng(0).standard_normal((1, {latent}), dtype=np.float32)}}
if len(s.get_inputs()) > 1:
    feeds["class_weights"] = np.eye({classes}, dtype=np.float32)[:1]
s.run(["images"], feeds)
print(time.perf_counter() - t0)
"""


def timed(fn, repeats: int, warmup: int = 5) -> tuple[float, float]:
    """(median, p95) of fn's wall time in ms."""
    for _ in range(warmup):
        fn()
    xs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        xs.append((time.perf_counter() - t0) * 1000)
    return statistics.median(xs), float(np.percentile(xs, 95))


def cold(script: str, target: str, runs: int) -> tuple[float, float]:
    """(median inside the child, median wall from outside), in ms."""
    inside, outside = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        r = subprocess.run([sys.executable, "-c", script, target], capture_output=True,
                           text=True, check=True)
        outside.append((time.perf_counter() - t0) * 1000)
        inside.append(float(r.stdout.strip().splitlines()[-1]) * 1000)
    return statistics.median(inside), statistics.median(outside)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--generators", default="default,best,resnet",
                    help="shipped names or paths, comma-separated")
    ap.add_argument("--threads", type=int, default=1, help="torch and onnxruntime threads "
                    "(1: steady on a shared 2-core CPU)")
    ap.add_argument("--repeats", type=int, default=200, help="timed calls per latency cell")
    ap.add_argument("--cold", type=int, default=5, help="fresh processes per cold start")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    agree, speed, starts = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.generators.split(","):
            g = fashiongan.load_generator(name)
            path = Path(tmp) / f"{Path(name).name}.onnx"
            t0 = time.perf_counter()
            onnx_export.export(g, path)
            export_s = time.perf_counter() - t0
            c = onnx_export.check(g, path)
            agree.append((name, g.model_name, c["max_abs_diff"], c["max_grey_diff"], export_s,
                          path.stat().st_size))
            sess = onnx_export.session(path, args.threads)
            k = g.num_classes
            for n in (1, 16):
                z = latents(range(n), g.latent_dim)
                w = torch.eye(k)[torch.arange(n) % k] if k else None
                with torch.no_grad():
                    pt = timed(lambda z=z, w=w, g=g: g(z, w), args.repeats)
                ox = timed(lambda z=z, w=w, s=sess: onnx_export.run(s, z, w), args.repeats)
                speed.append((name, n, *pt, *ox))
            pt_cold = cold(TORCH_COLD.format(threads=args.threads), name, args.cold)
            ox_cold = cold(ORT_COLD.format(threads=args.threads, latent=g.latent_dim,
                                           classes=max(k, 1)), str(path), args.cold)
            starts.append((name, *pt_cold, *ox_cold))
    print(f"threads {args.threads}; {args.repeats} timed calls per cell; {args.cold} fresh "
          f"processes per cold start; torch {torch.__version__}, onnxruntime "
          f"{__import__('onnxruntime').__version__}\n")
    print("| generator | model | max abs diff | max grey diff | export s | .onnx bytes |")
    print("|---|---|---:|---:|---:|---:|")
    for name, model, d, grey, s, size in agree:
        print(f"| {name} | {model} | {d:.2e} | {grey} | {s:.1f} | {size:,} |")
    print("\n| generator | images | PyTorch p50 ms | PyTorch p95 ms | onnxruntime p50 ms "
          "| onnxruntime p95 ms | speed-up (p50) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, n, p50, p95, o50, o95 in speed:
        print(f"| {name} | {n} | {p50:.2f} | {p95:.2f} | {o50:.2f} | {o95:.2f} "
              f"| {p50 / o50:.2f}x |")
    print("\n| generator | PyTorch cold start ms (inside / process wall) | onnxruntime cold "
          "start ms (inside / process wall) |")
    print("|---|---:|---:|")
    for name, pi, po, oi, oo in starts:
        print(f"| {name} | {pi:.0f} / {po:.0f} | {oi:.0f} / {oo:.0f} |")


if __name__ == "__main__":
    main()
