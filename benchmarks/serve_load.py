"""The studio under load: many concurrent clients against a real `fashiongan serve` on loopback.

Starts the server on a free 127.0.0.1 port, then sends a fixed number of requests from N
concurrent clients (httpx async, one connection pool), cycling through a mix of the API's
routes with fresh seeds. The reference, measured in the same run right before, is one client
alone: the throughput ratio says how much concurrency the server turns into work (the Studio's
lock serialises the generator, so expect about 1x, and no errors). Then oversized requests
(n=10^9, a 1 MB query string) are timed against one ordinary n=64 request: they must be
refused, and much faster than the work they ask for.

    python benchmarks/serve_load.py                          # 2,000 requests, 32 clients
    python benchmarks/serve_load.py --requests 500 --concurrency 8 --checkpoint runs/x
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import hashlib
import socket
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from serve_latency import free_port, shipped_or_fresh, start  # noqa: E402

# (route label, query) for request i: the mix a studio page produces, every seed fresh
MIX = [
    ("generate n=1 png", lambda i: f"/api/generate?n=1&seed={i}&format=png"),
    ("generate n=4 json", lambda i: f"/api/generate?n=4&seed={4 * i}&format=json"),
    ("interpolate 4 png", lambda i: f"/api/interpolate?seed_a={i}&seed_b={i + 1}&steps=4"),
    ("generate n=1 png", lambda i: f"/api/generate?n=1&seed={i}&scale=4"),
    ("classes", lambda i: "/api/classes"),
    ("healthz", lambda i: "/healthz"),
]


@dataclass
class LoadResult:
    requests: int
    concurrency: int
    wall_s: float
    statuses: collections.Counter = field(default_factory=collections.Counter)
    errors: list = field(default_factory=list)  # (request index, exception text)
    latency_s: dict = field(default_factory=lambda: collections.defaultdict(list))
    digests: dict = field(default_factory=dict)  # request index -> SHA-256 of the body

    @property
    def served(self) -> int:
        return self.statuses[200]

    @property
    def failed(self) -> int:
        return len(self.errors) + sum(v for s, v in self.statuses.items() if s != 200)

    @property
    def throughput(self) -> float:
        return self.requests / self.wall_s

    def all_latencies(self) -> np.ndarray:
        return np.concatenate([np.asarray(v) for v in self.latency_s.values()])

    def p(self, q: float, route: str | None = None) -> float:
        xs = self.all_latencies() if route is None else np.asarray(self.latency_s[route])
        return float(np.percentile(xs, q) * 1000)


async def _load(base_url: str, requests: int, concurrency: int, timeout_s: float,
                first_seed: int, idlers: int, idle_s: tuple[float, ...],
                keepalive_expiry: float) -> LoadResult:
    res = LoadResult(requests, concurrency, 0.0)
    next_i = iter(range(requests))

    async def client(http: httpx.AsyncClient, idle: float) -> None:
        for n, i in enumerate(next_i):  # one shared iterator: the clients split the requests
            if idle and n % 10 == 9:  # a client that pauses, then reuses its idle connection
                await asyncio.sleep(idle)
            route, query = MIX[i % len(MIX)]
            t0 = time.perf_counter()
            try:
                r = await http.get(query(first_seed + i))
                body = await r.aread()
                res.statuses[r.status_code] += 1
                res.digests[i] = hashlib.sha256(body).hexdigest()
            except httpx.HTTPError as e:
                res.errors.append((i, f"{type(e).__name__}: {e}"))
                continue
            res.latency_s[route].append(time.perf_counter() - t0)

    def pool():  # one connection per client, so an idle client's connection stays idle
        return httpx.AsyncClient(base_url=base_url, timeout=60, limits=httpx.Limits(
            max_connections=1, max_keepalive_connections=1, keepalive_expiry=keepalive_expiry))

    pools = [pool() for _ in range(concurrency)]
    idles = [idle_s[k % len(idle_s)] if k < idlers and idle_s else 0.0
             for k in range(concurrency)]
    try:
        t0 = time.perf_counter()
        # bounded in time as well as in count: a stalled server fails the run, not hangs it
        await asyncio.wait_for(asyncio.gather(*(client(http, idle) for http, idle
                                                in zip(pools, idles, strict=True))), timeout_s)
        res.wall_s = time.perf_counter() - t0
    finally:
        for http in pools:
            await http.aclose()
    return res


def run_load(base_url: str, requests: int = 2000, concurrency: int = 32,
             timeout_s: float = 600, first_seed: int = 0, idlers: int = 0,
             idle_s: tuple[float, ...] = (), keepalive_expiry: float = 5.0) -> LoadResult:
    """`requests` requests from `concurrency` keep-alive clients; the first `idlers` of them
    pause `idle_s` seconds (cycled) before every tenth request, then reuse their connection."""
    return asyncio.run(_load(base_url, requests, concurrency, timeout_s, first_seed, idlers,
                             idle_s, keepalive_expiry))


def raw_get(port: int, target: str, headers: str = "", timeout: float = 60) -> int:
    """GET over a bare socket (httpx refuses to build URLs over 64 kB, which is the point);
    returns the HTTP status, or 0 when the server drops the connection without one."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        # the server may answer and close before it has read it all
        with contextlib.suppress(OSError):
            s.sendall(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                      f"{headers}\r\n".encode())
        head = b""
        with contextlib.suppress(OSError):
            while b"\r\n" not in head and (chunk := s.recv(4096)):
                head += chunk
    parts = head.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


# (what, request target, extra header lines); the first is the reference: the largest work
OVERSIZED = [
    ("n=64 (largest allowed, the work)", "/api/generate?n=64&seed=7&format=png", ""),
    ("n=10^9", "/api/generate?n=1000000000", ""),
    ("steps=10^9", "/api/interpolate?steps=1000000000", ""),
    ("scale=10^6", "/api/generate?n=1&scale=1000000", ""),
    ("1 MB class name", "/api/generate?n=1&class=" + "x" * 1_000_000, ""),
    ("1 MB of extra parameters", "/api/generate?n=1&" + "&".join(
        f"p{i}=1" for i in range(200_000))[:1_000_000], ""),
    ("1 MB header", "/api/generate?n=1", "X-Padding: " + "x" * 1_000_000 + "\r\n"),
]


def oversized(port: int) -> list[tuple[str, int, float]]:
    """(what, HTTP status, ms) for requests that ask for far too much, and one that does not."""
    out = []
    for what, target, headers in OVERSIZED:
        t0 = time.perf_counter()
        status = raw_get(port, target, headers)
        out.append((what, status, (time.perf_counter() - t0) * 1000))
    return out


def table(ref: LoadResult, res: LoadResult) -> str:
    lines = ["| route | requests | not 200 | p50 ms | p90 ms | p99 ms | max ms |",
             "|---|---|---|---|---|---|---|"]
    for route in sorted(res.latency_s):
        xs = np.asarray(res.latency_s[route]) * 1000
        lines.append(f"| {route} | {len(xs)} | - | {np.percentile(xs, 50):.1f} | "
                     f"{np.percentile(xs, 90):.1f} | {np.percentile(xs, 99):.1f} | "
                     f"{xs.max():.1f} |")
    lines.append(f"| **all** | {res.requests} | {res.failed} | {res.p(50):.1f} | "
                 f"{res.p(90):.1f} | {res.p(99):.1f} | {res.all_latencies().max() * 1000:.1f} |")
    lines += ["", "| clients | requests | served (200) | errors | wall s | req/s | p50 ms | "
              "p99 ms |", "|---|---|---|---|---|---|---|---|"]
    for r in (ref, res):
        lines.append(f"| {r.concurrency} | {r.requests} | {r.served} | {r.failed} | "
                     f"{r.wall_s:.1f} | {r.throughput:.1f} | {r.p(50):.1f} | {r.p(99):.1f} |")
    lines.append(f"\nthroughput {res.concurrency} clients / 1 client: "
                 f"{res.throughput / ref.throughput:.2f}x; p99 "
                 f"{res.p(99) / ref.p(99):.1f}x the lone client's (requests queue on one lock)")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", help="default: the shipped generator (or a fresh cdcgan)")
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--reference-requests", type=int, default=300,
                    help="requests of the one-client reference run")
    ap.add_argument("--threads", type=int, default=1, help="the server's torch threads")
    ap.add_argument("--time-limit", type=float, default=600, help="seconds per load run")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint, what = (args.checkpoint, args.checkpoint) if args.checkpoint \
            else shipped_or_fresh(Path(tmp))
        port = free_port()
        server = start(checkpoint, port, args.threads)
        base = f"http://127.0.0.1:{port}"
        try:
            run_load(base, 30, 4, args.time_limit, first_seed=10**6)  # warm-up
            ref = run_load(base, args.reference_requests, 1, args.time_limit)
            res = run_load(base, args.requests, args.concurrency, args.time_limit,
                           first_seed=args.reference_requests)
            big = oversized(port)
            alive = httpx.get(base + "/healthz", timeout=30).status_code
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"generator: {what}; server torch threads {args.threads}; loopback; mix: "
          + ", ".join(sorted({m[0] for m in MIX})))
    print()
    print(table(ref, res))
    print("\n| oversized request | HTTP status | ms | ms / the n=64 request's |\n|---|---|---|---|")
    for name, status, ms in big:
        print(f"| {name} | {status} | {ms:.1f} | {ms / big[0][2]:.2f} |")
    print(f"\nhealthz after the load: {alive}")
    bad = res.failed or ref.failed or alive != 200 or any(s < 400 for _, s, _ in big[1:])
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
