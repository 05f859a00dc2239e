"""Shared fixtures: the real Fashion-MNIST (tests use slices of it) and small configs."""

from __future__ import annotations

import signal

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


@pytest.fixture(autouse=True)
def _signal_handlers_are_given_back():
    """A test, and the CLI it runs in this process, leaves SIGINT/SIGTERM as it found them: a
    handler left set to "ignore" is inherited by every later child process, whose Ctrl-C then
    does nothing."""
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    yield
    changed = [signal.Signals(s).name for s, h in before.items() if signal.getsignal(s) != h]
    for s, h in before.items():
        signal.signal(s, h)
    assert not changed, f"the test left {', '.join(changed)} handled otherwise"


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
