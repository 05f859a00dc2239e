"""What a user checks first, through the real CLI and the files of the checkout: which version
is installed (`fashiongan --version`, `fashiongan.__version__`), what fashiongan is (`--help`,
pyproject's description) and under which licence."""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

import fashiongan
from fashiongan import cli, version
from tests.support.cli import run_cli

ROOT = Path(__file__).parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_version_flag_prints_the_installed_version_on_stdout_and_exits_0():
    r = run_cli("--version", timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"fashiongan {metadata.version('fashiongan')}\n"
    assert r.stderr == ""


def test_package_version_is_the_installed_one():
    assert fashiongan.__version__ == metadata.version("fashiongan")
    assert "__version__" in fashiongan.__all__


def test_version_falls_back_to_the_source_when_not_installed(monkeypatch):
    def not_installed(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", not_installed)
    assert version.version() == version.SOURCE_VERSION == PROJECT["version"]


def test_help_says_what_fashiongan_is():
    r = run_cli("--help", timeout=120)
    assert r.returncode == 0, r.stderr
    text = " ".join(r.stdout.split())  # argparse wraps the description
    assert "Train, evaluate, sample and serve GANs of clothes" in text
    assert "Fashion-MNIST or your own photo catalogue" in text
    assert "--version" in text
    assert PROJECT["description"] == cli.DESCRIPTION.rstrip(".")


def test_mit_licence_file_matches_pyproject():
    assert PROJECT["license"] == {"text": "MIT"}
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License\n")
    assert "Copyright (c) 2026 the fashiongan authors" in text
    assert "THE SOFTWARE IS PROVIDED \"AS IS\", WITHOUT WARRANTY OF ANY KIND" in text
