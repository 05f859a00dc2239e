"""Shared fixtures: the real Fashion-MNIST (tests use slices of it) and small configs."""

from __future__ import annotations

import pytest
import torch

from fashiongan import config, data, presets
from tests.support.browser import CHROMIUM, launch, need


@pytest.fixture(autouse=True)
def _keep_torch_threads():
    """Each test gets the process's thread count back afterwards: code run in-process (the CLI's
    --threads, benchmarks) sets it, and MKL's float32 rounding depends on it, so a leak made
    later tests that compare with files written by a fresh process fail by one grey level."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module", autouse=True)
def _keep_torch_threads_per_module():
    """The same for a module: a module fixture that runs the CLI in-process (`--threads 1`)
    sets the count before any test's own guard records it, so it is restored here, after the
    module's last test."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def one_thread():
    """One torch thread for a test (on a shared 2-core machine two OpenMP threads per process
    thrash); the guards above give the count back afterwards."""
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def data_dir():
    try:
        return data.find_data_dir()
    except data.DataError as e:
        pytest.fail(f"real Fashion-MNIST is needed for the tests: {e}")


@pytest.fixture
def tiny_cfg():
    """The article preset shrunk in time (not in architecture), with frequent files."""

    def make(**changes):
        base = presets.resolve("article").to_dict()
        base.update(iterations=200, log_interval=50, sample_interval=100,
                    checkpoint_interval=100, threads=1)
        base.update(changes)
        return config.from_dict(base)

    return make


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium for the page tests (tests/support/browser.py)."""
    need(CHROMIUM.exists(), f"{CHROMIUM} missing (apt-get install chromium chromium-driver)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        need(False, "playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()
