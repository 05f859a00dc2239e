"""MKL (torch's CPU nn.Linear) against oneDNN (fashiongan's OneDNNLinear) per GEMM of a layer.

    .venv/bin/python benchmarks/linear_gemm.py                 # the article's layers, batch 32
    .venv/bin/python benchmarks/linear_gemm.py --batch 128 --threads 2

For each Linear layer shape of the article's G and D it times the three GEMMs of a training
step, forward (x W^T + b), input gradient (dY W) and weight gradient (dY^T X), through torch's
matmul (MKL's sgemm on CPU builds) and through oneDNN as models/onednn_linear.py calls it
(transposed operands as strided views), blocks alternating, and prints GFLOP/s and the ratio.
This is what set OneDNNLinear's MIN_WIDTH: the layers where oneDNN loses stay on MKL.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from fashiongan.accel import onednn_linear

SHAPES = [(100, 256), (256, 512), (512, 1024), (1024, 784), (784, 512), (512, 256), (256, 1)]


def rate(fn, flops: int, n: int, reps: int) -> float:
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        for _ in range(n):
            fn()
        times.append((time.perf_counter() - t) / n)
    return flops / statistics.median(times) / 1e9


def gemm_pairs(x, w, b, g):
    """(MKL, oneDNN) callables for the forward, input-gradient and weight-gradient GEMMs."""
    mm_t = onednn_linear.mm_t
    return [(lambda: torch.addmm(b, x, w.t()), lambda: onednn_linear.linear_pointwise(x, w, b)),
            (lambda: g.mm(w), lambda: mm_t(g, w.t())),
            (lambda: g.t().mm(x), lambda: mm_t(g.t(), x.t()))]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--n", type=int, default=200, help="calls per timed block")
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args(argv)
    if not onednn_linear.available():
        sys.exit("this torch has no oneDNN linear op")
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s), batch {args.batch}; GFLOP/s, "
          f"medians of {args.reps} blocks of {args.n} calls\n")
    print("| layer | fwd MKL | fwd oneDNN | ratio | dX MKL | dX oneDNN | ratio | dW MKL | "
          "dW oneDNN | ratio |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    B = args.batch
    for n_in, n_out in SHAPES:
        x, w, b = torch.randn(B, n_in), torch.randn(n_out, n_in), torch.randn(n_out)
        g = torch.randn(B, n_out)
        pairs = gemm_pairs(x, w, b, g)
        cells = []
        for mkl, dnn in pairs:
            torch.testing.assert_close(dnn(), mkl(), atol=1e-3, rtol=1e-4)  # same product
            r_mkl = rate(mkl, 2 * B * n_in * n_out, args.n, args.reps)
            r_dnn = rate(dnn, 2 * B * n_in * n_out, args.n, args.reps)
            # 3 significant figures: a thin layer's first calls can run under 0.5 GFLOP/s
            cells += [f"{r_mkl:.3g}", f"{r_dnn:.3g}", f"{r_dnn / r_mkl:.2f}x"]
        print(f"| {n_in} -> {n_out} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
