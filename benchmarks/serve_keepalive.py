"""Keep-alive under load beside a CPU hog: does the studio ever drop a request?

A client that pauses and then reuses its idle connection races the server when both give up on
idle connections after the same time: the server's close crosses the client's next request and
that request fails ("Server disconnected without sending a response"). This script runs the
same load (keep-alive clients, some pausing just around the limit, one process spinning on a
core) against a server whose idle limit equals the clients' (uvicorn's 5 s vs httpx's 5 s, as
`fashiongan serve` had) and against `fashiongan serve`'s default, and prints the failures.

    python benchmarks/serve_keepalive.py                     # 5,000 requests a configuration
    python benchmarks/serve_keepalive.py --requests 1000 --limits 5,75
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from busy_threads import hog  # noqa: E402
from serve_latency import free_port, shipped_or_fresh, start  # noqa: E402
from serve_load import run_load  # noqa: E402


def measure(checkpoint: str, keep_alive: float, requests: int, concurrency: int, idlers: int,
            idle_s: tuple[float, ...], expiry: float, time_limit: float):
    port = free_port()
    server = start(checkpoint, port, 1, "--keep-alive", str(keep_alive))
    try:
        with hog(True):
            return run_load(f"http://127.0.0.1:{port}", requests, concurrency, time_limit,
                            idlers=idlers, idle_s=idle_s, keepalive_expiry=expiry)
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", help="default: the shipped generator")
    ap.add_argument("--requests", type=int, default=5000)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--idlers", type=int, default=16, help="clients that pause")
    ap.add_argument("--expiry", type=float, default=5.0, help="the clients' idle limit (httpx's "
                    "default)")
    ap.add_argument("--limits", default="5,75", help="server idle limits to compare, seconds")
    ap.add_argument("--time-limit", type=float, default=900)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = args.checkpoint or shipped_or_fresh(Path(tmp))[0]
        # pauses just under, at and just over the clients' limit: where the race lives
        idle = (args.expiry - 0.05, args.expiry - 0.01, args.expiry + 0.05)
        rows = []
        for limit in (float(x) for x in args.limits.split(",")):
            res = measure(checkpoint, limit, args.requests, args.concurrency, args.idlers, idle,
                          args.expiry, args.time_limit)
            rows.append((limit, res))
    print(f"{args.requests} requests a row from {args.concurrency} keep-alive clients "
          f"({args.idlers} pause {', '.join(f'{s:g}' for s in idle)} s before every tenth); "
          f"client idle limit {args.expiry:g} s; one CPU hog; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores\n")
    print("| server idle limit s | served (200) | failed | wall s | req/s | first failure |")
    print("|---|---|---|---|---|---|")
    for limit, r in rows:
        first = r.errors[0][1][:60] if r.errors else "-"
        print(f"| {limit:g} | {r.served} | {r.failed} | {r.wall_s:.0f} | {r.throughput:.0f} | "
              f"{first} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
