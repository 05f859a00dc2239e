"""Latency of the studio's /api/generate over real HTTP, against the bare generator.

Starts `fashiongan serve` on a free loopback port, then for each case sends requests with fresh
seeds over one keep-alive connection, and right after times the same seeds in this process with
`fashiongan.sample` (the generator alone, batched, no HTTP, no PNG) as the reference. The two
run in turn, not interleaved: torch's idle OpenMP threads spin for a while after each call and
would steal the 2 cores from the other process. Prints p50/p95 in ms and the ratio of the p50s.

    python benchmarks/serve_latency.py                         # the shipped generator
    python benchmarks/serve_latency.py --checkpoint runs/x     # another one
"""

from __future__ import annotations

import argparse
import http.client
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import fashiongan
from fashiongan import presets
from fashiongan.models import build_generator
from fashiongan.snapshot import save_snapshot

CASES = [(1, "png"), (16, "png"), (16, "json")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def shipped_or_fresh(tmp: Path) -> tuple[str, str]:
    from fashiongan.errors import UserError
    from fashiongan.snapshot import shipped_generator

    try:
        return str(shipped_generator()), "shipped generator"
    except UserError:
        pass
    # no weights yet: an untrained cdcgan preset costs the same per image as a trained one
    cfg = presets.resolve("cdcgan")
    save_snapshot(build_generator(cfg), cfg, tmp)
    return str(tmp), "untrained cdcgan preset (no shipped weights)"


def start(checkpoint: str, port: int, threads: int, *extra: str) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "fashiongan", "serve", "--checkpoint",
                             checkpoint, "--port", str(port), "--threads", str(threads),
                             *extra], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", "/healthz")
            if c.getresponse().status == 200:
                return proc
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.25)
    proc.kill()
    sys.exit("the server did not start")


def pct(xs: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(xs) * 1000, q))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", help="default: the shipped generator")
    ap.add_argument("--requests", type=int, default=100, help="timed requests per case")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads, server and reference (1: robust on a shared CPU)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint, what = (args.checkpoint, args.checkpoint) if args.checkpoint \
            else shipped_or_fresh(Path(tmp))
        g = fashiongan.load_generator(checkpoint)
        label = 3 if g.num_classes else None  # dress
        port = free_port()
        server = start(checkpoint, port, args.threads)
        try:
            rows = []
            for n, fmt in CASES:
                # a new connection per case: uvicorn closes one idle for 5 s
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                http_s, size = [], 0
                for i in range(args.warmup + args.requests):
                    q = f"/api/generate?n={n}&seed={1000 + i * 64}&format={fmt}" + \
                        (f"&class={label}" if label is not None else "")
                    t0 = time.perf_counter()
                    conn.request("GET", q)
                    r = conn.getresponse()
                    body = r.read()
                    if r.status != 200:
                        sys.exit(f"{q}: HTTP {r.status} {body[:200]!r}")
                    http_s.append(time.perf_counter() - t0)
                    size = len(body)
                time.sleep(1)  # let the server's idle OpenMP threads stop spinning
                ref_s = []
                for i in range(args.warmup + args.requests):
                    t0 = time.perf_counter()
                    fashiongan.sample(g, n, seed=1000 + i * 64, labels=label)
                    ref_s.append(time.perf_counter() - t0)
                time.sleep(1)
                http_s, ref_s = http_s[args.warmup:], ref_s[args.warmup:]
                rows.append((n, fmt, size, pct(http_s, 50), pct(http_s, 95), pct(ref_s, 50),
                             pct(ref_s, 95)))
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"generator: {what} ({type(g).__name__}, {g.num_classes} classes); "
          f"{args.requests} requests per case after {args.warmup} warm-up; "
          f"torch threads {args.threads}; {torch.get_num_threads()} here")
    print()
    print("| n | format | bytes | HTTP p50 ms | HTTP p95 ms | bare G p50 ms | bare G p95 ms "
          "| p50 ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for n, fmt, size, h50, h95, r50, r95 in rows:
        print(f"| {n} | {fmt} | {size} | {h50:.1f} | {h95:.1f} | {r50:.1f} | {r95:.1f} "
              f"| {h50 / r50:.2f} |")


if __name__ == "__main__":
    main()
