"""The studio as users meet it: a real `fashiongan serve` process on a loopback port.

Under load (2,000 requests from 32 concurrent clients, a mix of every route): no errors, no
timeouts, and no cross-talk: responses re-requested one at a time afterwards are the same bytes.
Oversized requests are refused (4xx) without any generator work: counted in process, and seen
from outside on the real server, where a 1 MB query string cannot even be parsed.
"""

from __future__ import annotations

import hashlib

import httpx
import pytest

pytest.importorskip("uvicorn")
from fastapi.testclient import TestClient  # noqa: E402

import fashiongan  # noqa: E402
from benchmarks.serve_latency import free_port, start  # noqa: E402
from benchmarks.serve_load import MIX, OVERSIZED, oversized, run_load, table  # noqa: E402
from fashiongan.serve.app import MAX_N, create_app  # noqa: E402
from tests.test_serve_api import tiny_snapshot  # noqa: E402


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory):
    return tiny_snapshot(tmp_path_factory.mktemp("snap"))


@pytest.fixture(scope="module")
def server(snapshot):
    port = free_port()
    proc = start(str(snapshot), port, threads=1)
    yield port
    proc.terminate()
    proc.wait(timeout=30)


@pytest.mark.slow
def test_load_2000_requests_from_32_clients(server):
    base = f"http://127.0.0.1:{server}"
    res = run_load(base, requests=2000, concurrency=32, timeout_s=300)
    ref = run_load(base, requests=100, concurrency=1, timeout_s=120, first_seed=10**6)
    print("\n" + table(ref, res))
    assert res.errors == [] and dict(res.statuses) == {200: 2000}
    assert sum(len(v) for v in res.latency_s.values()) == 2000
    assert res.p(99) < 60_000  # every one answered well inside the client's timeout
    # no cross-talk between concurrent requests: the same request alone gives the same bytes
    with httpx.Client(base_url=base, timeout=60) as http:
        for i in range(0, 2000, 97):
            body = http.get(MIX[i % len(MIX)][1](i)).content
            assert hashlib.sha256(body).hexdigest() == res.digests[i], i
    assert httpx.get(base + "/healthz", timeout=30).status_code == 200


def test_oversized_requests_are_refused_on_the_real_server(server):
    rows = oversized(server)
    assert rows[0][1] == 200  # the largest allowed request is served
    for what, status, _ in rows[1:]:
        assert 400 <= status < 500, (what, status)
    assert httpx.get(f"http://127.0.0.1:{server}/healthz", timeout=30).status_code == 200
    assert len(rows) == len(OVERSIZED)


def test_oversized_requests_do_no_generator_work(snapshot):
    """Counted at the Studio: a refused request never reaches the generator."""
    app = create_app(fashiongan.load_generator(snapshot))
    studio, calls = app.state.studio, []

    def counted(name):
        real = getattr(studio, name)

        def call(*args, **kwargs):
            calls.append(name)
            return real(*args, **kwargs)
        return call

    studio.designs, studio.morph = counted("designs"), counted("morph")
    client = TestClient(app)
    refused = [f"/api/generate?n={MAX_N + 1}", "/api/generate?n=1000000000",
               "/api/generate?n=1&scale=1000000", "/api/generate?seed=2147483647&n=2",
               "/api/interpolate?steps=1000000000", "/api/generate?class=" + "x" * 60_000,
               "/api/generate?mix=nan&mix_class=1", "/api/generate?class=hat"]
    for url in refused:
        r = client.get(url)
        assert r.status_code == 422, (url[:60], r.status_code)
    assert calls == []
    assert client.get("/api/generate?n=2").status_code == 200
    assert client.get("/api/interpolate?steps=3").status_code == 200
    assert calls == ["designs", "morph"]  # the counter does count real work
