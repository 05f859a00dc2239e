"""A real browser on a real server: `fashiongan serve` on a free loopback port and Debian's
headless Chromium through Playwright (no browser download), for the studio's page tests."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("FASHIONGAN_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]


def need(ok: bool, why: str) -> None:
    # CI installs the browser (bootstrap.sh test), so there a missing one is a failure
    if not ok:
        (pytest.fail if os.environ.get("CI") else pytest.skip)(why)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serving(snap: Path, log: Path, host: str = "127.0.0.1", extra: tuple[str, ...] = ()):
    """`fashiongan serve` of snap on a free loopback port; yields its URL once /healthz is up."""
    port = free_port()
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "fashiongan", "serve", "--checkpoint",
                                 str(snap), "--port", str(port), "--threads", "1",
                                 "--host", host, *extra], stdout=out, stderr=subprocess.STDOUT)
    url = f"http://{host}:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"server did not start: {log.read_text()}")
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def launch(playwright):
    """Debian's Chromium, headless, through Playwright's driver."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def loaded_sizes(page, selector: str) -> list[list[int]]:
    """[naturalWidth, naturalHeight] of each image matched, once all have finished loading."""
    page.wait_for_function(f"""() => {{ const i = [...document.querySelectorAll('{selector}')];
        return i.length > 0 && i.every(x => x.complete); }}""")
    return page.eval_on_selector_all(selector, "i => i.map(x => [x.naturalWidth, x.naturalHeight])")


def block_outside(page, url: str) -> list[str]:
    """Abort every request of the page that does not go to url; returns the list the aborted
    URLs are recorded in (a test asserts it stays empty)."""
    outside: list[str] = []

    def only_loopback(route):
        if route.request.url.startswith(url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_loopback)
    return outside
