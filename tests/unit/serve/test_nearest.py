"""POST /api/nearest through FastAPI's test client: a design's nearest training image among
a real Fashion-MNIST slice, found as `fashiongan audit` finds it, and its refusals."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

import fashiongan  # noqa: E402
from fashiongan.data.resolve import fashion_mnist as fmnist_dataset
from fashiongan.metrics import audit, evaluator
from fashiongan.serve.app import create_app
from fashiongan.serve.nearest import NearestTraining
from tests.support.studio import tiny_snapshot  # noqa: E402


def small_reference():
    """The first 2000 training and 500 test images of Fashion-MNIST, as the studio uses them."""
    full = fmnist_dataset()
    keep = np.r_[0:2000, 60000:60500]
    ds = type(full)(full.pixels[keep], full.labels[keep], full.info, full.split[keep])
    net = evaluator.load()[0]
    index = audit.TrainingIndex(ds.train()[0], net)
    return ds, index, audit.calibrate(index, ds.test()[0], ds.test()[1], 10)


@pytest.fixture(scope="module")
def reference():
    return small_reference()


@pytest.fixture(scope="module")
def client(tmp_path_factory, reference):
    g = fashiongan.load_generator(tiny_snapshot(tmp_path_factory.mktemp("cdc")))
    return TestClient(create_app(g, nearest=NearestTraining(lambda: reference))), g


def picture(b64: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(b64))))


def test_a_designs_nearest_training_image_and_its_distance(client, reference):
    c, g = client
    r = c.post("/api/nearest", json={"seed": 7, "class": "bag", "scale": 1})
    assert r.status_code == 200, r.text
    body = r.json()
    design = c.get("/api/generate", params={"seed": 7, "n": 1, "class": "bag"}).content
    np.testing.assert_array_equal(picture(body["design_png"]),
                                  np.asarray(Image.open(io.BytesIO(design))))
    ds, index, cal = reference
    found, dist = index.nearest(picture(body["design_png"])[None])
    assert body["train_index"] == found[0] and body["distance"] == pytest.approx(dist[0])
    np.testing.assert_array_equal(picture(body["png"]), ds.train()[0][found[0], 0])
    assert body["train_label"] == ds.labels[found[0]] and body["class"] == 8
    assert body["threshold"] == pytest.approx(cal.per_class[8])
    assert body["closer_than_unseen"] == (body["distance"] < body["threshold"])
    big = c.post("/api/nearest", json={"seed": 7, "class": 8, "scale": 3}).json()
    assert picture(big["png"]).shape == (84, 84) and big["train_index"] == body["train_index"]


def test_a_copy_of_a_training_image_is_found_as_a_copy(reference):
    ds, index, cal = reference
    lookup = NearestTraining(lambda: reference).lookup(ds.train()[0][123, 0], int(ds.labels[123]))
    assert lookup["train_index"] == 123 and lookup["distance"] == 0
    assert lookup["closer_than_unseen"]


@pytest.mark.parametrize("body,where", [
    ({"seed": -1}, "seed"), ({"seed": 2**31}, "seed"), ({"seed": 0, "class": "socks"}, "class"),
    ({"seed": 0, "scale": 99}, "scale"), ({}, "seed"),
])
def test_bad_requests_are_422_before_any_search(client, body, where):
    r = client[0].post("/api/nearest", json=body)
    assert r.status_code == 422 and where in r.text


def test_the_studio_page_loads_the_nearest_button(client):
    c = client[0]
    assert '<script src="static/nearest.js"></script>' in c.get("/").text
    js = c.get("/static/nearest.js")
    assert js.status_code == 200 and "/api/nearest" in js.text


def test_without_known_training_data_the_answer_says_what_to_give(tmp_path):
    from fashiongan.data import DatasetInfo

    g = fashiongan.load_generator(tiny_snapshot(tmp_path))
    g.dataset = DatasetInfo(28, 1, tuple(f"c{i}" for i in range(10)), name="my own")
    r = TestClient(create_app(g)).post("/api/nearest", json={"seed": 0})
    assert r.status_code == 422 and "serve --data DATASET" in r.json()["detail"]
