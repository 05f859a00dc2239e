"""The studio's "Upload a photo" endpoints through FastAPI's test client: POST /api/project with
a real photo (a Fashion-MNIST test image made into a shop photo) on the shipped generator,
POST /api/restyle, and every way an upload is refused before any work."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

import fashiongan  # noqa: E402
from fashiongan import cli, data
from fashiongan.generate.photo import to_dataset_form
from fashiongan.metrics.features import extract
from fashiongan.serve.app import create_app
from fashiongan.serve.upload import MAX_UPLOAD_BYTES
from tests.support.datasets import shop_photo  # noqa: E402
from tests.support.studio import png_array, tiny_snapshot  # noqa: E402

FAST = {"steps": 10, "variations": 4}


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def client():
    return TestClient(create_app(fashiongan.load_generator(cli.common.default_checkpoint())))


@pytest.fixture(scope="module")
def trouser_photo():
    x, y = data.load("test")
    i = int(np.flatnonzero(y.numpy() == 1)[0])
    im = shop_photo(x[i].numpy())
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def _png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def test_upload_projects_and_varies(client, trouser_photo):
    r = client.post("/api/project", params={**FAST, "scale": 2}, content=trouser_photo,
                    headers={"content-type": "image/jpeg"})
    assert r.status_code == 200, r.text
    d = r.json()
    converted = png_array(base64.b64decode(d["input"]))
    assert converted.shape == (56, 56)
    want = to_dataset_form(Image.open(io.BytesIO(trouser_photo)), 1, 28)
    assert np.array_equal(converted[::2, ::2], want)  # the form `project` would make
    recon = png_array(base64.b64decode(d["reconstruction"]))[::2, ::2]
    variations = [png_array(base64.b64decode(v))[::2, ::2] for v in d["variations"]]
    assert len(variations) == 4 and len({v.tobytes() for v in variations}) == 4
    assert all(np.abs(v.astype(int) - recon).mean() > 1 for v in variations)
    assert d["class"] == 1 and d["class_name"] == "Trouser" and d["distance_kind"] == "evaluator"
    assert len(d["latent"]) == 100 and abs(sum(d["class_weights"]) - 1) < 1e-5
    assert extract(np.array(recon[None]))[1].item() == 1
    again = client.post("/api/project", params={**FAST, "scale": 2}, content=trouser_photo)
    assert again.json() == d  # deterministic: same photo, same seed, same answer


def test_restyle_morphs_the_design_into_another_category(client, trouser_photo):
    d = client.post("/api/project", params=FAST, content=trouser_photo).json()
    r = client.post("/api/restyle", json={"latent": d["latent"], "class_weights":
                                          d["class_weights"], "class_to": "bag", "steps": 5})
    assert r.status_code == 200, r.text
    body = r.json()
    frames = [png_array(base64.b64decode(f["png"]))[::4, ::4] for f in body["frames"]]
    assert [f["t"] for f in body["frames"]] == [0, 0.25, 0.5, 0.75, 1]
    recon = png_array(base64.b64decode(d["reconstruction"]))[::4, ::4]
    assert np.array_equal(frames[0], recon)  # t = 0 is the projected design itself
    assert (body["class_from"], body["class_to"]) == (1, 8)
    assert extract(np.stack([frames[0], frames[-1]]))[1].tolist() == [1, 8]


def test_upload_limit_checked_before_reading(client):
    big = b"\x89PNG" + b"\0" * MAX_UPLOAD_BYTES
    r = client.post("/api/project", content=big)
    assert r.status_code == 413 and "larger than 8 MB" in r.json()["detail"]

    def chunks():  # no Content-Length: counted as it arrives
        for _ in range(MAX_UPLOAD_BYTES // 2**20 + 2):
            yield b"\0" * 2**20

    r = client.post("/api/project", content=chunks())
    assert r.status_code == 413


@pytest.mark.parametrize(("body", "message"), [
    (b"", "no photo in the request"),
    (b"size chart: S M L\n", "not an image"),
    (_png(Image.new("RGB", (64, 64), (250, 250, 250))), "no garment found"),
    (_png(Image.new("L", (4, 4), 0)), "too small"),
    (_png(Image.new("1", (8000, 6000), 0)), "megapixels"),
])
def test_bad_uploads_are_clear_messages(client, body, message):
    r = client.post("/api/project", params=FAST, content=body)
    assert r.status_code == 422, r.text
    assert message in r.json()["detail"] and r.json()["detail"].startswith("upload")


@pytest.mark.parametrize(("params", "name"), [
    ({"class": "robe"}, "class"), ({"steps": 100_000}, "steps"),
    ({"variations": 13}, "variations"), ({"strength": -1}, "strength")])
def test_bad_parameters_refused_before_the_upload_is_read(client, params, name):
    r = client.post("/api/project", params=params, content=b"not even read")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == name


def test_bad_restyle_requests(client):
    ok = {"latent": [0.0] * 100, "class_weights": [0.1] * 10, "class_to": "coat"}
    for change, status in [({"latent": [0.0] * 99}, 422), ({"class_to": "robe"}, 422),
                           ({"class_weights": [2.0] * 10}, 422), ({"steps": 1}, 422)]:
        assert client.post("/api/restyle", json={**ok, **change}).status_code == status
    assert client.post("/api/restyle", json=ok).status_code == 200


def test_unconditional_generator_projects_without_a_class(tmp_path, trouser_photo):
    g = fashiongan.load_generator(tiny_snapshot(tmp_path, "article"))
    c = TestClient(create_app(g))
    d = c.post("/api/project", params={"steps": 3, "variations": 2}, content=trouser_photo)
    assert d.status_code == 200, d.text
    assert d.json()["class"] is None and d.json()["class_weights"] is None
    r = c.post("/api/restyle", json={"latent": d.json()["latent"], "class_weights": [],
                                     "class_to": "0"})
    assert r.status_code == 422
