"""Training throughput: fashiongan's loop against the plain PyTorch port, in the same run.

    .venv/bin/python benchmarks/throughput.py                          # article + default
    .venv/bin/python benchmarks/throughput.py --presets article --batch-sizes 32,256
    .venv/bin/python benchmarks/throughput.py --keras --keras-python /path/to/tfvenv/bin/python

For each preset and batch size it builds fashiongan's Trainer (fashiongan.training: the uint8
dataset on the device, batches drawn by index there, GANStep, EMA: what `fashiongan train`
runs) and the tutorial-style loop (benchmarks/reference.py: DataLoader over a float
TensorDataset, same models and steps), warms both up, then alternates blocks of iterations
between them (`--reps` times) and reports the medians, so that both see the same load on a
shared machine; the ratio is the figure to quote.

The floor: FLOPs of one iteration (matmuls and convolutions, counted by torch's
FlopCounterMode on the autograd path, which does the same arithmetic as the fused one) over the
best float32 rate this machine showed in the same rotation: a 1024^3 GEMM through torch's
matmul (MKL on CPU) and through oneDNN, and a DCGAN-sized convolution are all timed, and the
fastest sets the floor (on an AMD CPU Intel's MKL runs its AVX2 path, oneDNN its AVX-512
one). Adam and the element-wise work are memory-bound and not counted, so the floor is a bound
that no loop reaches;
`floor/ms` says how close the loop comes.

--keras also times the article's own Keras loop (benchmarks/keras_article.py) in a Python that
has TensorFlow, its blocks (--keras-iters in all) alternating with the two loops' blocks;
skipped with a note when that Python cannot import TensorFlow.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

from reference import ReferenceLoop  # noqa: E402

from fashiongan import data, presets
from fashiongan.accel import onednn_linear
from fashiongan.data.store import open_dataset
from fashiongan.training import Trainer
from fashiongan.training.loop import pick_device
from fashiongan.training.trainer import training_data


def warm_up(trainer: Trainer, n: int = 3) -> float:
    """The first n iterations' wall time in s (torch.compile compiles here)."""
    t = time.perf_counter()
    trainer.run(n)
    return time.perf_counter() - t


def timed(fn, n: int, device: torch.device) -> float:
    """ms per iteration of fn(n), waiting for the device at the end."""
    t = time.perf_counter()
    fn(n)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - t) / n * 1e3


def matmul_gflops(device: torch.device, n: int = 1024, reps: int = 10, mm=torch.matmul) -> float:
    """An n^3 float32 GEMM through `mm` (torch's matmul: MKL on CPU, cuBLAS on CUDA)."""
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    mm(a, b)

    def run(k):
        for _ in range(k):
            mm(a, b)

    return 2 * n**3 / (timed(run, reps, device) / 1e3) / 1e9


def onednn_gflops(device: torch.device) -> float:
    """The same GEMM through oneDNN (what fashiongan's CPU Linear layers call; a @ b.T, the
    same FLOPs); nan where there is no oneDNN (CUDA)."""
    if device.type != "cpu" or not onednn_linear.available():
        return float("nan")
    return matmul_gflops(device, mm=onednn_linear.mm_t)


def conv_gflops(device: torch.device, reps: int = 10) -> float:
    """A DCGAN-sized convolution (3x3, 128 -> 128 channels, 64 x 14x14): oneDNN's rate,
    which on some CPUs (AMD with Intel's MKL) is well above the sgemm rate."""
    x = torch.randn(64, 128, 14, 14, device=device)
    w = torch.randn(128, 128, 3, 3, device=device)
    torch.nn.functional.conv2d(x, w, padding=1)

    def run(k):
        for _ in range(k):
            torch.nn.functional.conv2d(x, w, padding=1)

    return 2 * 64 * 128 * 128 * 9 * 14 * 14 / (timed(run, reps, device) / 1e3) / 1e9


def iteration_flops(loop) -> int:
    with FlopCounterMode(display=False) as fc:
        loop.run(1)
    return fc.get_total_flops()


class KerasLoop:
    """The article's Keras loop in a Python with TensorFlow, driven block by block over a pipe
    (benchmarks/keras_article.py --serve) so that its blocks alternate with the others."""

    def __init__(self, python: str, threads: int, data_dir: str | None):
        self.proc, self.info, self.error = None, None, None
        probe = subprocess.run([python, "-c", "import tensorflow"], capture_output=True)
        if probe.returncode != 0:
            self.error = f"skipped: {python} cannot import tensorflow"
            return
        cmd = [python, str(HERE / "keras_article.py"), "--serve", "--threads", str(threads)]
        self.proc = subprocess.Popen(cmd + (["--data-dir", data_dir] if data_dir else []),
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        if "ready" not in self._read():
            self.error = "failed: keras_article.py did not start"

    def _read(self) -> dict:
        for line in self.proc.stdout:
            if line.startswith("{"):
                return json.loads(line)
        return {}

    def run(self, n: int) -> float:
        """ms per iteration of n iterations."""
        self.proc.stdin.write(f"{n}\n")
        self.proc.stdin.flush()
        self.info = self._read()
        return self.info["ms_per_iter"]

    def close(self) -> None:
        if self.proc is not None:
            self.proc.stdin.close()
            self.proc.wait(timeout=60)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", default="article,default")
    ap.add_argument("--batch-sizes", default="", help="comma list; default: each preset's own")
    ap.add_argument("--threads", default="1", help="comma list of torch thread counts to time")
    ap.add_argument("--iters", type=int, default=0,
                    help="iterations per timed block (default: ~0.5 s of the fast loop)")
    ap.add_argument("--reps", type=int, default=7, help="alternating blocks per loop")
    ap.add_argument("--device", default="cpu", help="cpu | cuda | auto")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="config override for fashiongan's loop (e.g. compile=true)")
    ap.add_argument("--no-reference", action="store_true", help="time fashiongan's loop only")
    ap.add_argument("--keras", action="store_true",
                    help="also time the article's Keras loop (article preset, batch 32)")
    ap.add_argument("--keras-python", default=sys.executable,
                    help="a Python that can import tensorflow")
    ap.add_argument("--keras-iters", type=int, default=300)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--data", metavar="DATASET", help="an imported data set (fashiongan data "
                    "import) instead of Fashion-MNIST; presets are fitted to it as train does")
    args = ap.parse_args(argv)

    device = pick_device(args.device)
    info = data.FASHION_MNIST
    images, labels, info = training_data(open_dataset(args.data) if args.data else None,
                                         args.data_dir)
    if args.data:
        args.no_reference = True  # the tutorial port reads 28x28 grey only
    print(f"torch {torch.__version__} on {device}"
          + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else "")
          + f"; medians of {args.reps} alternating blocks\n")
    head = ("| preset | batch | threads | fashiongan ms/it | img/s | reference ms/it | img/s | "
            "speed-up | GFLOP/it | sgemm GFLOP/s | oneDNN GEMM | conv GFLOP/s | floor ms/it | "
            "floor/ms |")
    print(head)
    print("|" + "---|" * head.count(" | ") + "---|")
    keras_rows = []
    for threads in [int(t) for t in args.threads.split(",")]:
        if device.type == "cpu":
            torch.set_num_threads(threads)
        for preset in args.presets.split(","):
            base = presets.resolve(preset, args.set, info if args.data else None)
            sizes = [int(b) for b in args.batch_sizes.split(",") if b] or [
                base.schedule.batch_size]
            for bs in sizes:
                cfg = base.replace(batch_size=bs)
                fast = Trainer(cfg, images, labels, info, device)
                warm = warm_up(fast)
                n = args.iters or max(5, min(200, int(0.5 / max(timed(fast.run, 3, device)
                                                                  / 1e3, 1e-4))))
                keras = None
                if args.keras and cfg.model.arch == "article" and bs == 32:
                    keras = KerasLoop(args.keras_python, threads, args.data_dir)
                    if keras.error:
                        keras_rows.append((threads, keras.error, None))
                        keras = None
                ref = None
                if not args.no_reference:
                    plain = cfg.replace(compile=False, amp="none")
                    ref = ReferenceLoop(plain, images[:, 0], labels, device)  # N x 28 x 28
                    ref.run(3)
                plain = cfg.replace(compile=False, fused_step=False, onednn_linear=False)
                gflop = iteration_flops(Trainer(plain, images, labels, info, device)) / 1e9
                f_ms, r_ms, k_ms, mm, dnn, conv = [], [], [], [], [], []
                for _ in range(args.reps):
                    f_ms.append(timed(fast.run, n, device))
                    if ref is not None:
                        r_ms.append(timed(ref.run, n, device))
                    if keras is not None:
                        k_ms.append(keras.run(-(-args.keras_iters // args.reps)))
                    mm.append(matmul_gflops(device))
                    dnn.append(onednn_gflops(device))
                    conv.append(conv_gflops(device))
                f, r = statistics.median(f_ms), statistics.median(r_ms or [float("nan")])
                g_mm, g_dnn, g_conv = (statistics.median(v) for v in (mm, dnn, conv))
                best = max(r for r in (g_mm, g_dnn, g_conv) if r == r)  # nan: not measured
                floor = gflop / best * 1e3  # at the best fp32 rate seen
                print(f"| {preset} | {bs} | {threads} | {f:.2f} | {bs / f * 1e3:.0f} | "
                      f"{r:.2f} | {bs / r * 1e3:.0f} | {r / f:.2f}x | {gflop:.3f} | "
                      f"{g_mm:.0f} | {g_dnn:.0f} | {g_conv:.0f} | {floor:.2f} | {floor / f:.0%} |",
                      flush=True)
                if cfg.runtime.compile:
                    print(f"|   (compile + first 3 iterations: {warm:.1f} s) |", flush=True)
                if keras is not None:
                    keras.close()
                    keras_rows.append((threads, statistics.median(k_ms), f, len(k_ms)))
    if args.keras:
        print("\nThe article's Keras loop (article preset, batch 32), its blocks alternating with "
              "the loops above:")
        if not keras_rows:
            print("  not run: no article preset at batch 32 in this run")
        for threads, k, f, *blocks in keras_rows:
            if isinstance(k, str):
                print(f"  threads {threads}: {k}")
            else:
                per = -(-args.keras_iters // args.reps)
                print(f"  threads {threads}: Keras {k:.1f} ms/it ({32 / k * 1e3:.0f} img/s; "
                      f"median of {blocks[0]} blocks of {per} iterations); fashiongan "
                      f"{f:.2f} ms/it; speed-up {k / f:.1f}x")


if __name__ == "__main__":
    main()
