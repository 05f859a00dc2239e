"""The README's two commands, run for real (bootstrap.sh itself) as a new machine meets them.

Stand-in apt-get, dpkg, sudo and id (tests/support/standins/) come first on PATH and record what
they are asked; the Debian data set is hidden in a private mount namespace and "installed" again by
the stand-in apt-get. Everything else is real: the venv, pip, torch, the training, pytest.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
STANDINS = REPO / "tests" / "support" / "standins"
SYSTEM_DATA = Path("/usr/share/datasets/fashion-mnist")
TEST_PACKAGES = ["chromium", "chromium-driver", "shellcheck"]


def _can_unshare() -> bool:
    if shutil.which("unshare") is None or not SYSTEM_DATA.is_dir():
        return False
    flags = ["-m"] if os.geteuid() == 0 else ["-rm"]
    return subprocess.run(["unshare", *flags, "true"], capture_output=True).returncode == 0


pytestmark = pytest.mark.skipif(not _can_unshare(), reason="needs unshare -m and the Debian "
                                "data set to hide (root, or user namespaces)")


def bootstrap(tmp_path: Path, *args: str, root: bool = True, hide_data: bool = True,
              installed: tuple[str, ...] = (), venv: Path | None = None, timeout: int = 900,
              unset: tuple[str, ...] = ()):
    """Run `bash bootstrap.sh ARGS` in a mount namespace, without the environment variables
    `unset`; returns (process, log lines)."""
    state = tmp_path / "state"
    state.mkdir(exist_ok=True)
    (state / "installed").write_text("".join(p + "\n" for p in installed))
    log = tmp_path / "standin.log"
    log.write_text("")
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    for tool in ("apt-get", "dpkg", "sudo") + (() if root else ("id",)):
        (bindir / tool).unlink(missing_ok=True)
        (bindir / tool).symlink_to(STANDINS / tool)
    home = tmp_path / "home"  # no ~/.cache/fashiongan copy of the data either
    home.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items()
           if k not in ("FASHION_MNIST_DIR", "VIRTUAL_ENV", *unset)}
    env.update(PATH=f"{bindir}:{env['PATH']}", HOME=str(home), STANDIN_LOG=str(log),
               STANDIN_STATE=str(state), STANDIN_UID="1000",
               STANDIN_FMNIST_SRC=str(tmp_path / "real-data"),
               FASHIONGAN_VENV=str(venv or Path(sys.prefix)),
               PIP_CACHE_DIR=os.environ.get("PIP_CACHE_DIR",
                                            str(Path.home() / ".cache" / "pip")))
    cmd = ["bash", str(REPO / "bootstrap.sh"), *args]
    if hide_data:
        cmd = [str(STANDINS / "hide.sh"), *cmd]
    flags = ["-m"] if os.geteuid() == 0 else ["-rm"]
    r = subprocess.run(["unshare", *flags, *cmd], capture_output=True, text=True, env=env,
                       timeout=timeout, cwd=tmp_path)
    return r, log.read_text().splitlines()


def installs(lines: list[str]) -> list[list[str]]:
    """The package lists apt-get was asked to install, in order."""
    return [[w for w in ln.split("[")[0].split()[2:] if not w.startswith("-")]
            for ln in lines if ln.startswith("apt-get install")]


TRAIN = ("train", "--preset", "article", "--set", "iterations=3", "--set", "batch_size=8",
         "--limit-data", "64", "--no-progress")


def trained(tmp_path: Path, r) -> None:
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "finished at iteration 3" in r.stdout
    grid = tmp_path / "run" / "samples" / "grid-final.png"
    assert grid.is_file() and grid.stat().st_size > 1000


def test_root_without_the_data_installs_it_then_trains(tmp_path):
    r, log = bootstrap(tmp_path, *TRAIN, "--out", str(tmp_path / "run"))
    assert installs(log) == [["dataset-fashion-mnist"]]
    assert not any(ln.startswith("sudo") for ln in log)  # root needs no sudo
    assert all("uid=0 DEBIAN_FRONTEND=noninteractive" in ln
               for ln in log if ln.startswith("apt-get"))
    assert any(ln.startswith("apt-get update") for ln in log)
    trained(tmp_path, r)


def test_sudo_user_without_the_data_installs_it_through_sudo_then_trains(tmp_path):
    r, log = bootstrap(tmp_path, *TRAIN, "--out", str(tmp_path / "run"), root=False)
    sudo = [ln for ln in log if ln.startswith("sudo")]
    assert sudo and all(" apt-get " in ln for ln in sudo)
    assert installs(log) == [["dataset-fashion-mnist"]]
    assert all("uid=0" in ln for ln in log if ln.startswith("apt-get"))  # through sudo only
    trained(tmp_path, r)


def test_data_present_asks_for_nothing(tmp_path):
    r, log = bootstrap(tmp_path, *TRAIN, "--out", str(tmp_path / "run"), hide_data=False,
                       root=False)
    assert installs(log) == [] and not any(ln.startswith("sudo") for ln in log)
    trained(tmp_path, r)


@pytest.mark.parametrize("root", [True, False], ids=["root", "sudo"])
def test_test_mode_installs_chromium_and_shellcheck_then_collects(tmp_path, root):
    r, log = bootstrap(tmp_path, "test", "--collect-only", "-q",
                       str(REPO / "tests/unit/test_config.py"),
                       root=root, installed=("dataset-fashion-mnist",), hide_data=False)
    assert installs(log) == [TEST_PACKAGES]
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "tests collected" in r.stdout


def test_test_mode_with_everything_present_asks_for_nothing(tmp_path):
    r, log = bootstrap(tmp_path, "test", "--collect-only", "-q",
                       str(REPO / "tests/unit/test_config.py"),
                       installed=("dataset-fashion-mnist", *TEST_PACKAGES), hide_data=False)
    assert installs(log) == []
    assert r.returncode == 0 and "tests collected" in r.stdout, r.stderr[-2000:]


@pytest.mark.slow
def test_fresh_venv_without_torch_gets_the_cpu_wheel_then_trains(tmp_path):
    """A new user's machine: no venv, no torch, no data, root, Python free to write its
    bytecode caches (so pip skips compiling every module and the run compiles what it uses)."""
    venv = tmp_path / "venv"
    r, log = bootstrap(tmp_path, *TRAIN, "--out", str(tmp_path / "run"), venv=venv,
                       unset=("PYTHONDONTWRITEBYTECODE",))
    assert installs(log) == [["dataset-fashion-mnist"]]
    trained(tmp_path, r)
    v = subprocess.run([str(venv / "bin" / "python"), "-c",
                        "import torch; print(torch.__version__, torch.version.cuda, "
                        "torch.__file__)"], capture_output=True, text=True)
    version, cuda, init = v.stdout.split()
    assert version.startswith("2.13.0") and cuda == "None", v  # the CPU wheel, not a CUDA build
    torch_dir = Path(init).parent
    assert list((torch_dir / "__pycache__").glob("__init__.*.pyc"))  # compiled when imported
    assert not (torch_dir / "utils" / "tensorboard" / "__pycache__").exists()  # never imported
