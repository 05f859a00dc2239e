"""Several generators behind one studio: the first at the root, the others under /g/<name>/
with the same page and API, listed by GET /api/generators for the page's picker."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

import fashiongan  # noqa: E402
from fashiongan.cli import main  # noqa: E402
from fashiongan.serve.fabrics import Fabrics  # noqa: E402
from fashiongan.serve.multi import create_studio, slug  # noqa: E402
from fashiongan.texture.dress import dress  # noqa: E402
from tests.support.fabrics import woven  # noqa: E402
from tests.support.studio import designs, pixels, tiny_snapshot  # noqa: E402


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    cond = fashiongan.load_generator(tiny_snapshot(tmp_path_factory.mktemp("cdc")))
    art = fashiongan.load_generator(tiny_snapshot(tmp_path_factory.mktemp("art"), "article"))
    folder = tmp_path_factory.mktemp("fabrics")
    swatch = folder / "twill.png"
    Image.fromarray(woven("twill", 64, seed=0)).save(swatch)
    tiny = [a for kv in ("g_width=4", "d_width=4", "batch_size=2", "iterations=1",
                         "sample_interval=1000") for a in ("--set", kv)]
    assert main(["texture", "train", str(swatch), "--out", str(folder / "twill"), "--crop", "32",
                 "--no-progress", *tiny]) == 0
    store = Fabrics(folder)
    studio = create_studio([("runs/mine", cond, None), ("article mlp", art, None)], store)
    return TestClient(studio), cond, art, store


def test_the_list_names_each_generator_and_its_path(client):
    c = client[0]
    body = c.get("/api/generators").json()["generators"]
    assert [(g["name"], g["path"], g["model"]) for g in body] == [
        ("runs/mine", "/", "cdcgan"), ("article mlp", "/g/article-mlp/", "article")]


def test_each_generator_answers_under_its_own_path(client):
    c, cond, art, _ = client
    assert c.get("/api/classes").json()["conditional"] is True
    assert c.get("/g/article-mlp/api/classes").json()["conditional"] is False
    own = designs(c, **{"class": "dress", "n": 1, "seed": 3})
    assert (pixels(own[0]) == fashiongan.sample(cond, 1, seed=3, labels=3)[0]).all()
    r = c.get("/g/article-mlp/api/generate", params={"n": 1, "seed": 3, "format": "json"})
    assert (pixels(r.json()["images"][0]) == fashiongan.sample(art, 1, seed=3)[0]).all()
    page = c.get("/g/article-mlp/")
    assert page.status_code == 200 and 'id="generator"' in page.text
    assert c.get("/g/article-mlp/static/studio.js").status_code == 200
    r = c.get("/g/article-mlp", follow_redirects=False)  # relative requests need the slash
    assert r.status_code in (302, 307) and r.headers["location"] == "/g/article-mlp/"


def test_slugs_are_path_safe_and_unique():
    taken: set[str] = set()
    names = [slug(n, taken) or "" for n in ("a b", "a/b", "../x", "")]
    assert names[0] == "a-b" and "/" not in "".join(names) and ".." not in names[2]
    taken = {"best"}
    assert slug("best", taken) == "best-2"


def test_each_page_dresses_its_own_generators_designs_in_the_one_fabric_store(client):
    c, cond, art, store = client
    assert c.get("/api/fabrics").json()["fabrics"] == ["twill"]
    assert c.get("/g/article-mlp/api/fabrics").json()["fabrics"] == ["twill"]
    loom = store.loom("twill")
    for path, want in (("/", dress(fashiongan.sample(cond, 1, seed=5, labels=3)[0], loom, 1, 4,
                                   1.0)),
                       ("/g/article-mlp/", dress(fashiongan.sample(art, 1, seed=5)[0], loom, 1,
                                                 4, 1.0))):
        params = {"name": "twill", "seed": 5, "fabric_seed": 1}
        if path == "/":
            params["class"] = "dress"
        r = c.get(f"{path}api/fabrics/dress", params=params)
        assert r.status_code == 200
        got = np.asarray(Image.open(io.BytesIO(r.content)))
        assert got.shape == want.shape and (got == want).all(), path
