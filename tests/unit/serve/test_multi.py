"""Several generators behind one studio: the first at the root, the others under /g/<name>/
with the same page and API, listed by GET /api/generators for the page's picker."""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

import fashiongan  # noqa: E402
from fashiongan.serve.multi import create_studio, slug  # noqa: E402
from tests.support.studio import designs, pixels, tiny_snapshot  # noqa: E402


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    cond = fashiongan.load_generator(tiny_snapshot(tmp_path_factory.mktemp("cdc")))
    art = fashiongan.load_generator(tiny_snapshot(tmp_path_factory.mktemp("art"), "article"))
    return TestClient(create_studio([("runs/mine", cond, None), ("article mlp", art, None)])), \
        cond, art


def test_the_list_names_each_generator_and_its_path(client):
    c, _, _ = client
    body = c.get("/api/generators").json()["generators"]
    assert [(g["name"], g["path"], g["model"]) for g in body] == [
        ("runs/mine", "/", "cdcgan"), ("article mlp", "/g/article-mlp/", "article")]


def test_each_generator_answers_under_its_own_path(client):
    c, cond, art = client
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
