"""The studio's Fabrics panel in the real page (headless Chromium, every request off the
loopback aborted and recorded): pick a fabric, its tile repeated 3 x 3, a tile download at the
chosen size, the designs dressed in it; a swatch uploaded and trained as a background job, a
second job refused politely while it runs, a job cancelled, a job finished and listed."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from fashiongan.cli import main
from tests.support.browser import block_outside, loaded_sizes, serving
from tests.support.fabrics import woven
from tests.support.studio import tiny_snapshot

TINY = ["g_width=4", "d_width=4", "batch_size=2", "checkpoint_interval=2", "log_interval=1",
        "sample_interval=1000"]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    pytest.importorskip("fastapi")
    root = tmp_path_factory.mktemp("fabrics")
    swatch = root / "twill.png"
    Image.fromarray(woven("twill", 96, seed=0)).save(swatch)
    folder = root / "fabrics"
    args = [a for kv in TINY for a in ("--set", kv)]
    assert main(["texture", "train", str(swatch), "--out", str(folder / "twill"), "--crop", "32",
                 "--no-progress", *args, "--set", "iterations=2"]) == 0
    snap = tiny_snapshot(root / "snap")
    extra = ("--fabrics", str(folder), *[a for kv in TINY for a in ("--fabric-set", kv)],
             "--fabric-set", "iterations=100000")
    with serving(snap, root / "serve.log", extra=extra) as url:
        yield url, swatch


def test_fabrics_panel(setup, browser, tmp_path):
    url, swatch = setup
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    outside, errors = block_outside(page, url), []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.wait_for_selector("body[data-ready=true][data-fabrics-ready=true]")
    page.wait_for_selector("#grid figure")
    assert page.input_value("#fabric-pick") == "twill"
    page.select_option("#fabric-size", "128")
    page.wait_for_function("(document.querySelector('#fabric-preview').dataset.tile || '')"
                           ".includes('size=128')")
    assert loaded_sizes(page, "#fabric-tile") == [[128, 128]]
    assert loaded_sizes(page, "#fabric-swatch") == [[96, 96]]
    width = page.eval_on_selector("#fabric-preview", "e => e.clientWidth")
    cell = page.eval_on_selector("#fabric-preview", "e => getComputedStyle(e).backgroundSize")
    assert cell == f"{width / 3:g}px {width / 3:g}px"  # three tiles across, three down
    href = page.get_attribute("#fabric-download", "href")
    tile = Image.open(io.BytesIO(page.request.get(f"{url}/{href}").body()))
    assert tile.size == (128, 128)

    page.click("#fabric-dress")
    assert loaded_sizes(page, "#fabric-dressed img") == [[112, 112]] * 8  # 28 px x 4

    page.set_input_files("#fabric-file", str(swatch))
    page.fill("#fabric-name", "first")
    page.fill("#fabric-minutes", "10")
    page.click("#fabric-train")
    page.wait_for_selector("#fabric-status[data-state=running]")
    page.fill("#fabric-name", "second")
    page.click("#fabric-train")  # one job at a time: refused in the server's words
    page.wait_for_function("document.querySelector('#fabric-status').textContent"
                           ".includes('busy')")
    assert "'first' is training" in page.text_content("#fabric-status")
    page.click("#fabric-cancel")
    page.wait_for_selector("#fabric-status[data-state=cancelled]", timeout=120_000)

    page.fill("#fabric-name", "quick")
    page.fill("#fabric-minutes", "0.05")  # 3 seconds of training
    page.click("#fabric-train")
    page.wait_for_selector("#fabric-status[data-state=finished]", timeout=180_000)
    options = page.eval_on_selector_all("#fabric-pick option", "o => o.map(x => x.value)")
    assert "quick" in options and page.input_value("#fabric-pick") == "quick"
    page.screenshot(path=str(tmp_path / "fabrics.png"), full_page=True)
    assert outside == [] and errors == []
    page.close()
