"""The studio's REST API through FastAPI's test client, on tiny generators saved and reloaded
as real snapshots: one class-conditional (cdcgan), one unconditional (the article's MLP)."""

from __future__ import annotations

import socket
import threading
import time
from importlib import metadata

import numpy as np
import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

import fashiongan  # noqa: E402
from fashiongan.serve.app import create_app
from tests.support.cli import run_cli  # noqa: E402
from tests.support.studio import HardLabelsOnly, designs, pixels, png_array, tiny_snapshot  # noqa: E402,F401


@pytest.fixture(scope="module")
def cond_g(tmp_path_factory):
    return fashiongan.load_generator(tiny_snapshot(tmp_path_factory.mktemp("cdc")))


@pytest.fixture(scope="module")
def client(cond_g):
    return TestClient(create_app(cond_g))


@pytest.fixture(scope="module")
def uncond_client(tmp_path_factory):
    g = fashiongan.load_generator(tiny_snapshot(tmp_path_factory.mktemp("art"), "article"))
    return TestClient(create_app(g))


def test_classes_and_health(client, uncond_client):
    body = client.get("/api/classes").json()
    assert [c["name"] for c in body["classes"]] == list(fashiongan.CLASS_NAMES)
    assert body["conditional"] is True and body["model"] == "cdcgan"
    assert body["class_blend"] == "soft"  # cdcgan takes class weights
    health = client.get("/healthz").json()
    assert health["status"] == "ok" and health["snapshot"] == {"step": 0}
    assert health["version"] == metadata.version("fashiongan") == fashiongan.__version__
    assert uncond_client.get("/api/classes").json()["conditional"] is False
    assert uncond_client.get("/healthz").json()["model"] == "article"


def test_png_grid_is_deterministic_and_sized(client):
    params = {"class": "dress", "n": 16, "seed": 40, "cols": 8}
    a, b = client.get("/api/generate", params=params), client.get("/api/generate", params=params)
    assert a.status_code == 200 and a.headers["content-type"] == "image/png"
    assert a.content == b.content
    grid = png_array(a.content)
    assert grid.shape == (2 * 30 + 2, 8 * 30 + 2)  # 28 px cells, 2 px gaps
    scaled = png_array(client.get("/api/generate", params={**params, "scale": 3}).content)
    assert np.array_equal(scaled[::3, ::3], grid)
    other = client.get("/api/generate", params={**params, "seed": 41}).content
    assert other != a.content


def test_json_designs_are_addressed_by_seed_and_class(client, cond_g):
    items = designs(client, **{"class": "3", "n": 6, "seed": 100})
    assert [i["seed"] for i in items] == list(range(100, 106))
    assert {i["class"] for i in items} == {3} and items[0]["class_name"] == "Dress"
    # design i of a grid is the design asked for alone: same pixels, same PNG bytes
    alone = designs(client, **{"class": "dress", "n": 1, "seed": 104})[0]
    assert alone["png"] == items[4]["png"]
    # and it is the package's own sampling of that seed and class
    want = fashiongan.sample(cond_g, 1, seed=104, labels=3)[0]
    assert np.array_equal(pixels(alone), want)
    assert len({i["png"] for i in items}) == 6


def test_without_a_class_each_seed_has_its_own(client):
    items = designs(client, n=12, seed=7)
    assert [i["class"] for i in items] == [(7 + k) % 10 for k in range(12)]
    again = designs(client, n=1, seed=15)[0]  # seed 15 alone: same class, same design
    assert again["class"] == 5 and again["png"] == items[8]["png"]


def test_classes_change_the_design(client):
    a = pixels(designs(client, **{"class": "sneaker", "n": 1, "seed": 5})[0])
    b = pixels(designs(client, **{"class": "bag", "n": 1, "seed": 5})[0])
    assert np.abs(a.astype(int) - b).sum() > 1000


def test_mixing_two_classes(client):
    def one(**p):
        return pixels(designs(client, **{"class": "trouser", "n": 1, "seed": 9, **p})[0])

    trouser, coat = one(), pixels(designs(client, **{"class": "coat", "n": 1, "seed": 9})[0])
    assert np.array_equal(one(mix_class="coat", mix=0), trouser)
    assert np.array_equal(one(mix_class="coat", mix=1), coat)
    half = one(mix_class="coat", mix=0.5)
    assert not np.array_equal(half, trouser) and not np.array_equal(half, coat)
    # a blend lies between its ends: closer to each end than the ends are to each other
    d = lambda x, y: np.abs(x.astype(int) - y).sum()  # noqa: E731
    assert d(half, trouser) < d(trouser, coat) and d(half, coat) < d(trouser, coat)


def test_interpolate_ends_are_the_clicked_designs(client):
    params = {"seed_a": 3, "seed_b": 11, "class_a": "sandal", "class_b": "ankle boot",
              "steps": 5}
    body = client.get("/api/interpolate", params={**params, "format": "json"}).json()
    assert [f["t"] for f in body["frames"]] == [0, 0.25, 0.5, 0.75, 1]
    assert (body["class_a"], body["class_b"]) == (5, 9)
    a = designs(client, **{"class": 5, "n": 1, "seed": 3})[0]["png"]
    b = designs(client, **{"class": 9, "n": 1, "seed": 11})[0]["png"]
    assert body["frames"][0]["png"] == a and body["frames"][-1]["png"] == b
    frames = [pixels(f) for f in body["frames"]]
    assert all(not np.array_equal(frames[i], frames[i + 1]) for i in range(4))
    strip = client.get("/api/interpolate", params=params)
    assert strip.headers["content-type"] == "image/png"
    assert png_array(strip.content).shape == (32, 5 * 30 + 2)
    assert strip.content == client.get("/api/interpolate", params=params).content


def test_interpolate_defaults_to_each_seeds_class(client):
    body = client.get("/api/interpolate", params={"seed_a": 21, "seed_b": 34, "steps": 2,
                                                  "format": "json"}).json()
    assert (body["class_a"], body["class_b"]) == (1, 4)
    assert body["frames"][1]["png"] == designs(client, n=1, seed=34)[0]["png"]


BAD = [
    ("/api/generate", {"n": 0}, "n"),
    ("/api/generate", {"n": 65}, "n"),
    ("/api/generate", {"n": "many"}, "n"),
    ("/api/generate", {"seed": -1}, "seed"),
    ("/api/generate", {"seed": 2**31}, "seed"),
    ("/api/generate", {"seed": 10**30}, "seed"),
    ("/api/generate", {"seed": 2**31 - 10, "n": 11}, "seed"),  # last seed would be 2^31
    ("/api/generate", {"class": "hat"}, "class"),
    ("/api/generate", {"class": "10"}, "class"),
    ("/api/generate", {"class": "\u00b2"}, "class"),  # a digit to str.isdigit, not to int()
    ("/api/generate", {"class": "x" * 41}, "class"),
    ("/api/generate", {"format": "gif"}, "format"),
    ("/api/generate", {"mix_class": "bag", "mix": 1.5}, "mix"),
    ("/api/generate", {"mix_class": "bag", "mix": "nan"}, "mix"),
    ("/api/generate", {"mix_class": "cap"}, "mix_class"),
    ("/api/generate", {"scale": 0}, "scale"),
    ("/api/generate", {"scale": 17}, "scale"),
    ("/api/generate", {"cols": 0}, "cols"),
    ("/api/interpolate", {"steps": 1}, "steps"),
    ("/api/interpolate", {"steps": 33}, "steps"),
    ("/api/interpolate", {"seed_a": 2**31}, "seed_a"),
    ("/api/interpolate", {"seed_b": -5}, "seed_b"),
    ("/api/interpolate", {"class_a": "robe"}, "class_a"),
    ("/api/interpolate", {"format": "jpeg"}, "format"),
]


@pytest.mark.parametrize(("path", "params", "field"), BAD,
                         ids=[f"{p.split('/')[-1]}-{q}" for p, q, _ in BAD])
def test_bad_input_is_a_clear_422_before_any_work(client, cond_g, path, params, field):
    calls = []
    hook = cond_g.register_forward_pre_hook(lambda *a: calls.append(1))
    try:
        r = client.get(path, params=params)
    finally:
        hook.remove()
    assert r.status_code == 422, r.text
    errors = r.json()["detail"]
    assert errors[0]["loc"] == ["query", field] and errors[0]["msg"]
    assert calls == []  # refused before the generator ran


def test_unknown_class_message_lists_the_classes(client):
    msg = client.get("/api/generate", params={"class": "hat"}).json()["detail"][0]["msg"]
    assert "unknown class 'hat'" in msg and "9 Ankle boot" in msg


def test_unconditional_generator(uncond_client):
    items = designs(uncond_client, n=4, seed=2)
    assert [(i["seed"], i["class"], i["class_name"]) for i in items] == [
        (2, None, None), (3, None, None), (4, None, None), (5, None, None)]
    for path, params, field in [("/api/generate", {"class": "dress"}, "class"),
                                ("/api/generate", {"mix_class": "bag"}, "mix_class"),
                                ("/api/interpolate", {"class_b": 3}, "class_b")]:
        r = uncond_client.get(path, params=params)
        assert r.status_code == 422
        err = r.json()["detail"][0]
        assert err["loc"] == ["query", field] and "unconditional" in err["msg"]
    body = uncond_client.get("/api/interpolate", params={"seed_a": 2, "seed_b": 5, "steps": 3,
                                                         "format": "json"}).json()
    assert body["frames"][0]["png"] == items[0]["png"]
    assert body["frames"][2]["png"] == items[3]["png"]


def test_concurrent_requests_get_the_serial_bytes(tmp_path):
    """Six requests at once: the lock lets one forward pass run at a time (counted inside G,
    slowed so that unlocked calls would overlap), and each gets the bytes it gets alone."""
    g = fashiongan.load_generator(tiny_snapshot(tmp_path))
    client = TestClient(create_app(g))
    want = {s: client.get("/api/generate", params={"n": 4, "seed": s}).content for s in range(6)}
    forward, state, guard = g.forward, {"now": 0, "most": 0, "calls": 0}, threading.Lock()

    def counted(*args, **kwargs):
        with guard:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
            state["calls"] += 1
        time.sleep(0.005)
        try:
            return forward(*args, **kwargs)
        finally:
            with guard:
                state["now"] -= 1

    g.forward = counted
    got, errors = {}, []

    def fetch(s):
        try:
            got[s] = client.get("/api/generate", params={"n": 4, "seed": s}).content
        except Exception as e:  # noqa: BLE001 - reported by the assert below
            errors.append(e)

    threads = [threading.Thread(target=fetch, args=(s,)) for s in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and got == want
    assert state["calls"] == 6 * 4 and state["most"] == 1


def test_page_static_files_and_openapi(client):
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert '<script src="static/studio.js">' in page.text and "//cdn" not in page.text
    for name in ("studio.js", "studio.css"):
        assert client.get(f"/static/{name}").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/classes", "/api/generate", "/api/interpolate", "/healthz"} <= set(paths)
    names = {p["name"] for p in paths["/api/generate"]["get"]["parameters"]}
    assert {"class", "n", "seed", "format"} <= names
    assert client.get("/docs").status_code == 200


def test_cli_serve_refuses_bad_arguments(tmp_path):
    r = run_cli("serve", "--checkpoint", tmp_path / "nothing")
    assert r.returncode == 2 and "no generator snapshot found" in r.stderr
    r = run_cli("serve", "--checkpoint", tmp_path, "--port", 70000)
    assert r.returncode == 2 and "--port" in r.stderr
    assert "--checkpoint" in run_cli("serve", "--help").stdout


def test_cli_serve_names_a_taken_port(tmp_path):
    snap = tiny_snapshot(tmp_path / "snap", "article")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        r = run_cli("serve", "--checkpoint", snap, "--port", busy.getsockname()[1])
    assert r.returncode == 2 and "cannot listen on 127.0.0.1:" in r.stderr


def test_generator_without_soft_classes_switches_class_halfway(cond_g):
    c = TestClient(create_app(HardLabelsOnly(cond_g)))
    assert c.get("/api/classes").json()["class_blend"] == "switch"

    def one(**p):
        return designs(c, **{"class": "shirt", "n": 1, "seed": 4, **p})[0]["png"]

    bag = designs(c, **{"class": "bag", "n": 1, "seed": 4})[0]["png"]
    assert one(mix_class="bag", mix=0.4) == one() and one(mix_class="bag", mix=0.6) == bag
