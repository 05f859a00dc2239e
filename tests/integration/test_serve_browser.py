"""The studio end to end: `fashiongan serve` for real on a free loopback port, the page driven in
headless Chromium (Debian's /usr/bin/chromium through Playwright; no browser download)."""

from __future__ import annotations

import base64
import io
import socket
import urllib.request
from importlib import metadata
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlparse

import numpy as np
import pytest
from PIL import Image

import fashiongan
from tests.support.browser import block_outside, loaded_sizes, serving
from tests.support.studio import tiny_snapshot


@pytest.fixture(scope="module")
def snap(tmp_path_factory):
    return tiny_snapshot(tmp_path_factory.mktemp("snap"))


@pytest.fixture(scope="module")
def server(tmp_path_factory, snap):
    pytest.importorskip("fastapi")
    with serving(snap, tmp_path_factory.mktemp("log") / "serve.log") as url:
        yield url


def generate_on_page(page, label: int, count: int, seed: int) -> list[str]:
    """Pick a category chip, ask for `count` designs from `seed` as a user would, wait for
    that grid; returns its captions."""
    page.click(f"#classes button[data-class='{label}']")
    page.fill("#count", str(count))
    page.fill("#seed", str(seed))
    page.click("#generate")
    page.wait_for_function(f"document.querySelectorAll('#grid figure').length === {count} && "
                           f"document.querySelector('#grid figure').dataset.seed === '{seed}'")
    return page.eval_on_selector_all("#grid figcaption span", "s => s.map(x => x.textContent)")


def test_studio_page_generate_and_morph(server, browser, snap, tmp_path):
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.goto(server)
    page.wait_for_selector("body[data-ready=true]")
    # the footer names the fashiongan serving the page (from /healthz, before the page is ready)
    assert f"fashiongan {metadata.version('fashiongan')}" in page.text_content("footer")
    # the category chips show sample thumbnails of their class
    assert loaded_sizes(page, "#classes img") == [[56, 56]] * 10

    captions = generate_on_page(page, 3, 8, 123)  # Dress
    assert loaded_sizes(page, "#grid img") == [[28, 28]] * 8
    assert captions == [f"seed {s} · Dress" for s in range(123, 131)]
    assert "seed=123" in page.get_attribute("#download-grid", "href")

    page.click("#grid figure:nth-child(1)")
    page.click("#grid figure:nth-child(5)")
    page.wait_for_selector("#morph:not([hidden])")
    assert page.text_content("#morph-a-cap") == "A: seed 123 Dress"
    assert page.text_content("#morph-b-cap") == "B: seed 127 Dress"
    first = page.get_attribute("#morph-image", "src")
    page.fill("#morph-slider", "15")  # the last frame is design B itself
    assert page.text_content("#morph-t") == "t = 1.00"
    assert page.get_attribute("#morph-image", "src") == page.get_attribute("#morph-b", "src")
    assert page.get_attribute("#morph-image", "src") != first
    assert loaded_sizes(page, "#morph img") == [[28, 28]] * 3

    # the single-design download is the same design: fetch it as the page would
    href = page.get_attribute("#grid figure:nth-child(5) a", "href")
    assert "seed=127" in href and "class=3" in href
    png = page.request.get(urljoin(page.url, href))  # relative to the page, as a browser reads it
    assert png.ok and png.headers["content-type"] == "image/png"
    scale = int(parse_qs(urlparse(href).query).get("scale", ["1"])[0])
    im = Image.open(io.BytesIO(png.body()))
    assert (im.mode, im.size) == ("L", (28 * scale, 28 * scale))  # the size the link promises
    g = fashiongan.load_generator(snap)
    design = fashiongan.sample(g, 1, seed=127, labels=3)[0]
    assert np.array_equal(np.asarray(im), design.repeat(scale, 0).repeat(scale, 1))  # nearest

    shot = tmp_path / "studio.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    assert errors == []
    page.close()


def test_the_page_picks_among_the_served_generators(server, browser, snap):
    """`serve --checkpoint RUN` offers RUN first and the shipped generators beside it; picking
    one opens its own page, whose designs are that generator's."""
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server)
    page.wait_for_selector("body[data-ready=true]")
    assert page.is_visible("#generator")
    options = page.eval_on_selector_all("#generator option", "o => o.map(x => x.textContent)")
    assert options == [str(snap), "best", "default", "resnet"]
    assert page.eval_on_selector("#generator", "s => s.value") == "/"
    with page.expect_navigation():
        page.select_option("#generator", label="default")
    page.wait_for_selector("body[data-ready=true]")
    assert urlparse(page.url).path == "/g/default/"
    assert page.eval_on_selector("#generator", "s => s.value") == "/g/default/"
    generate_on_page(page, 3, 4, 50)
    href = page.get_attribute("#grid figure:nth-child(1) a", "href")
    png = page.request.get(urljoin(page.url, href))
    shown = np.asarray(Image.open(io.BytesIO(png.body())))
    scale = int(parse_qs(urlparse(href).query).get("scale", ["1"])[0])
    shipped = fashiongan.load_generator("default")
    want = fashiongan.sample(shipped, 1, seed=50, labels=3)[0]
    assert np.array_equal(shown, want.repeat(scale, 0).repeat(scale, 1))
    assert errors == []
    page.close()


def test_studio_fits_a_phone(server, browser, tmp_path):
    page = browser.new_page(viewport={"width": 375, "height": 740}, device_scale_factor=2)
    page.goto(server)
    page.wait_for_selector("body[data-ready=true]")
    page.wait_for_selector("#grid figure")
    page.click("#surprise")
    seed = page.input_value("#seed")
    assert seed != "0"
    page.wait_for_function(f"document.querySelector('#grid figure').dataset.seed === '{seed}'")
    assert page.eval_on_selector_all("#grid figure", "f => f.length") == 16
    assert loaded_sizes(page, "#grid img") == [[28, 28]] * 16
    # nothing sticks out sideways, and the grid has 3 columns at phone width
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    tops = page.eval_on_selector_all("#grid figure", "f => f.slice(0, 4).map(x => x.offsetTop)")
    assert tops[0] == tops[1] == tops[2] < tops[3]
    # mixing a second category in changes the designs, seeds stay; Enter in a box generates
    plain = page.get_attribute("#grid figure img", "src")
    chosen = page.get_attribute("#classes [aria-checked=true]", "data-class")
    page.select_option("#mix-class", "7" if chosen == "8" else "8")  # a class other than it
    page.press("#seed", "Enter")
    page.wait_for_function(f"document.querySelector('#grid figure img').src !== {plain!r}")
    assert page.eval_on_selector("#grid figure", "f => f.dataset.seed") == seed
    page.screenshot(path=str(tmp_path / "studio-phone.png"), full_page=True)
    page.close()


def test_api_docs_render_with_the_network_blocked(server, browser):
    """/docs (Swagger UI) draws from the package's own assets: every request that does not go to
    the studio itself is aborted and recorded, and none may be made."""
    page = browser.new_page()
    outside = block_outside(page, server)
    page.goto(server + "/docs")
    page.wait_for_selector(".swagger-ui .info .title")
    assert "fashiongan studio" in page.text_content(".swagger-ui .info .title")
    paths = page.eval_on_selector_all(".opblock-summary-path", "p => p.map(x => x.textContent)")
    assert "/healthz" in [p.strip() for p in paths] and len(paths) >= 4
    assert outside == []
    page.close()


def test_studio_of_a_colour_shop_model(browser, tmp_path):
    """A generator of an imported colour data set in the real page: its own (Unicode) category
    names on the chips, designs at its resolution, and colour pixels in them (read back from a
    canvas in the page, so what the browser decoded is what is checked)."""
    pytest.importorskip("fastapi")
    from fashiongan import presets
    from fashiongan.data import DatasetInfo
    from fashiongan.models import build_generator
    from fashiongan.snapshot import load_generator, save_snapshot

    info = DatasetInfo(32, 3, ("Blusen & Röcke", "裙子", "Shoes"), name="my-shop")
    cfg = presets.resolve("cdcgan", ["num_classes=3", "g_width=32", "d_width=8"])
    save_snapshot(build_generator(cfg, info), cfg, tmp_path / "snap", {"step": 0}, dataset=info)
    with serving(tmp_path / "snap", tmp_path / "serve.log") as url:
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url)
        page.wait_for_selector("body[data-ready=true]")
        chips = page.eval_on_selector_all("#classes button", "b => b.map(x => x.textContent)")
        assert [c for c in chips if c] and all(
            any(name in c for c in chips) for name in info.class_names), chips
        captions = generate_on_page(page, 1, 4, 7)  # 裙子
        assert loaded_sizes(page, "#grid img") == [[32, 32]] * 4
        assert captions == [f"seed {s} · 裙子" for s in range(7, 11)]
        # the pixels the browser decoded (drawn on a canvas) are the generator's own RGB ones
        rgba = page.eval_on_selector("#grid img", """img => {
            const c = document.createElement('canvas'); c.width = img.naturalWidth;
            c.height = img.naturalHeight; const x = c.getContext('2d'); x.drawImage(img, 0, 0);
            return Array.from(x.getImageData(0, 0, c.width, c.height).data); }""")
        shown = np.array(rgba, np.uint8).reshape(32, 32, 4)[..., :3]
        g = load_generator(tmp_path / "snap")
        assert np.array_equal(shown, fashiongan.sample(g, 1, seed=7, labels=1)[0])
        assert len({tuple(p) for p in shown.reshape(-1, 3)[:50]} - {(v, v, v) for v in
                   range(256)}) > 0  # not grey: some pixel's channels differ
        assert errors == []
        page.close()


def test_serve_host_binds_that_address_only(snap, tmp_path):
    """--host 127.0.0.2 (another loopback address): the studio answers there and nothing
    listens on 127.0.0.1 at its port."""
    pytest.importorskip("fastapi")
    with serving(snap, tmp_path / "serve.log", host="127.0.0.2") as url:
        with urllib.request.urlopen(f"{url}/healthz", timeout=5) as r:
            assert r.status == 200
        port = int(url.rsplit(":", 1)[1])
        with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
            pass


def test_upload_a_photo_on_the_page(browser, tmp_path):
    """The "Upload a photo" panel with a real file upload on the shipped generator: a shop
    photo of a test-split trouser is shown converted, reconstructed, varied, and morphed into
    a bag by the slider; a file that is no image is a clear message on the page."""
    pytest.importorskip("fastapi")
    from fashiongan import cli, data
    from tests.support.datasets import shop_photo

    x, y = data.load("test")
    photo = tmp_path / "trouser.jpg"
    shop_photo(x[int(np.flatnonzero(y.numpy() == 1)[0])].numpy()).save(photo, quality=90)
    (tmp_path / "notes.png").write_text("size chart\n")
    with serving(Path(cli.common.default_checkpoint()), tmp_path / "serve.log") as url:
        page = browser.new_page(viewport={"width": 1200, "height": 1400})
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url)
        page.wait_for_selector("body[data-ready=true][data-upload-ready=true]")
        page.fill("#upload-steps", "10")  # seconds on a busy CPU, not the default's quality
        page.set_input_files("#upload-file", str(photo))
        page.wait_for_selector("#upload-result:not([hidden])", timeout=60_000)
        page.select_option("#upload-class-to", "8")  # Bag
        page.wait_for_selector("#upload-restyle[data-class-to='8']")
        assert loaded_sizes(page, "#upload-input, #upload-recon") == [[112, 112]] * 2
        assert loaded_sizes(page, "#upload-variations img") == [[112, 112]] * 6
        assert "Trouser" in page.text_content("#upload-recon-cap")
        assert "trouser.jpg: distance" in page.text_content("#upload-status")
        recon = page.get_attribute("#upload-recon", "src")
        assert page.get_attribute("#upload-morph", "src") == recon  # t = 0: the design
        page.fill("#upload-slider", "8")
        assert page.text_content("#upload-t") == "t = 1.00"
        bag = page.get_attribute("#upload-morph", "src")
        assert bag != recon
        shown = np.asarray(Image.open(io.BytesIO(base64.b64decode(bag.split(",", 1)[1]))))
        from fashiongan.metrics.features import extract

        assert extract(np.array(shown[None, ::4, ::4]))[1].item() == 8  # the evaluator: a bag

        page.set_input_files("#upload-file", str(tmp_path / "notes.png"))
        page.wait_for_function("document.querySelector('#upload-status').classList"
                               ".contains('error')")
        assert "notes.png: upload: not an image" in page.text_content("#upload-status")
        page.screenshot(path=str(tmp_path / "upload.png"), full_page=True)
        assert errors == []
        page.close()


def test_nearest_training_image_on_the_page(browser, tmp_path):
    """The studio's "nearest" button: the training image the page shows is the data set's own
    image at the index it names, and the verdict gives the distance."""
    pytest.importorskip("fastapi")
    from fashiongan import presets
    from fashiongan.data.importer import import_images
    from fashiongan.data.store import open_dataset
    from fashiongan.models import build_generator
    from fashiongan.snapshot import save_snapshot
    from tests.support.datasets import fmnist_folder

    fmnist_folder(tmp_path / "src", 300)
    import_images(tmp_path / "src", tmp_path / "ds", resolution=28, channels=1,
                  test_fraction=0.2, progress=False, jobs=1, log=lambda line: None)
    ds = open_dataset(tmp_path / "ds")
    cfg = presets.resolve("cdcgan", [f"num_classes={ds.info.num_classes}", "g_width=32",
                                    "d_width=8"])
    save_snapshot(build_generator(cfg, ds.info), cfg, tmp_path / "snap", {"step": 0},
                  dataset=ds.info)
    with serving(tmp_path / "snap", tmp_path / "serve.log",
                 extra=("--data", str(tmp_path / "ds"))) as url:
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url)
        page.wait_for_selector("body[data-ready=true]")
        generate_on_page(page, 0, 2, 3)
        page.click("#grid figure.design button.nearest")
        page.wait_for_function("document.getElementById('nearest-train').naturalWidth > 0",
                               timeout=120_000)
        caption = page.text_content("#nearest-train-cap")
        index = int(caption.rsplit("#", 1)[1])
        shown = page.eval_on_selector("#nearest-train", """img => {
            const c = document.createElement('canvas'); c.width = img.naturalWidth;
            c.height = img.naturalHeight; const x = c.getContext('2d'); x.drawImage(img, 0, 0);
            return [c.width, Array.from(x.getImageData(0, 0, c.width, c.height).data)]; }""")
        width, rgba = shown
        assert width == 28 * 4  # scale 4
        grey = np.array(rgba, np.uint8).reshape(width, width, 4)[::4, ::4, 0]
        assert np.array_equal(grey, ds.train()[0][index, 0])
        assert "distance" in page.text_content("#nearest-verdict")
        assert errors == []
        page.close()
