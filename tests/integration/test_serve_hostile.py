"""The studio against hostile clients (#32): numbers JSON should not hold, bodies too large to
parse or echo, photos decoded on the event loop, clients that stop half way or go away, HEAD
from monitors, class names that merely start like one. In process through FastAPI's test
client, and against a real `fashiongan serve` on a loopback port."""

from __future__ import annotations

import io
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402
from PIL import Image  # noqa: E402

import fashiongan  # noqa: E402
from fashiongan.serve.app import create_app  # noqa: E402
from tests.support.studio import tiny_snapshot  # noqa: E402

LATENT = [0.0] * 100


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory):
    return tiny_snapshot(tmp_path_factory.mktemp("cdc"))


@pytest.fixture(scope="module")
def client(snapshot):
    return TestClient(create_app(fashiongan.load_generator(snapshot)))


@pytest.mark.parametrize("route, body", [
    ("/api/nearest", '{"seed": NaN}'),
    ("/api/nearest", '{"seed": 1e400}'),
    ("/api/nearest", '{"seed": -Infinity}'),
    ("/api/nearest", '{"seed": 3, "scale": NaN}'),
    ("/api/nearest", '{"seed": 3, "class": 1e400}'),
    ("/api/restyle", '{"latent": [NaN], "class_weights": [0.5], "class_to": "dress"}'),
    ("/api/restyle", '{"latent": [1e400], "class_weights": [1e400], "class_to": "dress"}'),
    ("/api/restyle", '{"latent": [0], "class_weights": [0], "class_to": "dress", '
                     '"steps": NaN}'),
])
def test_numbers_json_cannot_hold_are_a_422_not_a_500(client, route, body):
    r = client.post(route, content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text
    assert r.json()["detail"]


def test_a_refusal_does_not_echo_the_body(client):
    """A 422 sent the whole offending value back: a 100 KB class name came back whole."""
    r = client.post("/api/restyle", json={"latent": LATENT, "class_weights": [0.1] * 10,
                                          "class_to": "x" * 100_000})
    assert r.status_code == 422 and len(r.content) < 2000, len(r.content)


def test_a_body_over_the_limit_is_413_unparsed(client):
    r = client.post("/api/nearest", content=b'{"seed": 1, "pad": "' + b"x" * (2 << 20) + b'"}',
                    headers={"content-type": "application/json"})
    assert r.status_code == 413 and len(r.content) < 2000, r.text[:500]


def test_head_answers_like_get(client):
    """Monitors use HEAD; it answered 405."""
    for path in ("/healthz", "/api/classes"):
        r = client.head(path)
        assert r.status_code == 200 and r.content == b"", (path, r.status_code)


@pytest.mark.parametrize("text, expect", [
    ("bags", 200), ("Bag", 200), ("dresses", 200), ("sneakers", 200), ("t-shirts", 200),
    ("ankle boots", 200), ("bagzz", 422), ("dressxx", 422), ("coatqq", 422),
])
def test_plurals_are_plurals_not_any_two_letters(client, text, expect):
    """class=bagzz was taken as Bag: the plural rule stripped any two letters."""
    r = client.get("/api/generate", params={"class": text, "n": 1, "format": "json"})
    assert r.status_code == expect, (text, r.text[:300])


# --- a real server -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def server(snapshot, tmp_path_factory):
    """`fashiongan serve` on a free loopback port; yields (base URL, its stderr file)."""
    log = tmp_path_factory.mktemp("log") / "stderr.txt"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with open(log, "w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "fashiongan", "serve", "--checkpoint",
                                 str(snapshot), "--port", str(port), "--host", "127.0.0.1",
                                 "--threads", "1"], stdout=subprocess.DEVNULL, stderr=err)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/healthz", timeout=5).status_code == 200:
                break
        except httpx.HTTPError:
            assert proc.poll() is None, log.read_text()
            time.sleep(0.25)
    yield base, log
    proc.terminate()
    proc.wait(timeout=30)


def _worst_healthz_while(base: str, work) -> float:
    """The slowest of /healthz answers asked every 50 ms while work() runs in threads."""
    worst, done = 0.0, threading.Event()

    def probe():
        nonlocal worst
        with httpx.Client(base_url=base, timeout=60) as http:
            while not done.is_set():
                t0 = time.perf_counter()
                http.get("/healthz")
                worst = max(worst, time.perf_counter() - t0)
                time.sleep(0.05)

    t = threading.Thread(target=probe)
    t.start()
    try:
        work()
    finally:
        done.set()
        t.join()
    return worst


def test_a_huge_json_body_does_not_hold_the_event_loop(server):
    """A 57 MB JSON body held /healthz 19 s (parsed on the loop) and came back in the 422.
    Sent here without a length (chunked), so that only counting the bytes can stop it."""
    base, _ = server

    def chunks():
        yield b'{"seed": 1, "pad": "'
        for _ in range(30):
            yield b"x" * (1 << 20)
        yield b'"}'

    statuses = []

    def work():
        r = httpx.post(base + "/api/nearest", content=chunks(), timeout=120,
                       headers={"content-type": "application/json"})
        statuses.append((r.status_code, len(r.content)))

    worst = _worst_healthz_while(base, work)
    assert statuses[0][0] == 413 and statuses[0][1] < 2000, statuses
    assert worst < 1.0, f"/healthz waited {worst:.1f} s"


def test_photos_are_decoded_off_the_event_loop(server):
    """Four 40-MP uploads held /healthz 3.8 s: the photo was decoded inside the loop."""
    base, _ = server
    buf = io.BytesIO()
    im = Image.new("RGB", (6300, 6300), (250, 250, 250))
    im.paste((200, 30, 60), (1500, 1000, 4800, 5300))
    im.save(buf, format="PNG")
    photo = buf.getvalue()
    assert len(photo) < 8 << 20

    def work():
        threads = [threading.Thread(target=lambda: httpx.post(
            base + "/api/project", params={"steps": 0, "variations": 0, "class": "dress"},
            content=photo, timeout=300)) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    worst = _worst_healthz_while(base, work)
    assert worst < 1.0, f"/healthz waited {worst:.1f} s"


def _half_sent(base: str, path: str, declared: int, sent: bytes) -> socket.socket:
    host, port = base.removeprefix("http://").split(":")
    s = socket.create_connection((host, int(port)), timeout=60)
    s.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
              f"Content-Length: {declared}\r\n\r\n".encode() + sent)
    return s


def test_a_client_that_stops_sending_is_timed_out(server):
    """A half-sent upload was held for ever (a slow client ties up the server)."""
    base, _ = server
    s = _half_sent(base, "/api/project", 1_000_000, b"\x89PNG" + b"\0" * 100)
    t0 = time.monotonic()
    answer = s.recv(4096)
    s.close()
    assert time.monotonic() - t0 < 40
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]


def test_an_aborted_upload_is_one_line_in_the_log(server):
    """Each aborted upload logged a 60-line traceback."""
    base, log = server
    before = log.read_text()
    for _ in range(3):
        _half_sent(base, "/api/project", 1_000_000, b"\x89PNG" + b"\0" * 1000).close()
    time.sleep(2)
    assert httpx.get(base + "/healthz", timeout=30).status_code == 200
    new = log.read_text()[len(before):]
    assert "Traceback" not in new, new[:3000]
    lines = [x for x in new.splitlines() if x.strip()]
    assert len(lines) == 3 and all("/api/project" in x for x in lines), new[:3000]
