"""A full disk while a checkpoint is written: the previous training state survives, the
error is one line naming the file, and the run resumes from the last good state."""

from __future__ import annotations

import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fashiongan.training import states
from fashiongan.training.loop import training_loop
from tests.support.workspace import cfg, listing

# --- disk full while a checkpoint is written ---------------------------------------------------

def _state_file_bytes(run: Path) -> int:
    return max(p.stat().st_size for p in states.list_states(run / "checkpoints"))


def _limit_file_size(limit: int):
    """preexec_fn: the kernel refuses to grow any file past `limit` bytes (EFBIG), as a full
    disk refuses with ENOSPC; Python ignores SIGXFSZ, so the write raises OSError."""
    return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


@pytest.fixture
def disk_run(tmp_path, data_dir):
    """A run with two good training states (iterations 1 and 2) of the full-size article."""
    run = tmp_path / "run"
    training_loop(cfg(g_width=256, d_width=512), run, data_dir=data_dir, progress=False,
                  max_train_images=256)
    return run


def _mount_small_tmpfs(folder: Path, size: int, request) -> None:
    """A real file system that fills up; needs root and the right to mount, else a skip."""
    folder.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "fashiongan-full",
                        str(folder)], capture_output=True, text=True)
    if r.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    request.addfinalizer(lambda: subprocess.run(["umount", "-l", str(folder)]))


@pytest.mark.parametrize("how", ["file-size-limit", "full-tmpfs"])
def test_disk_full_during_checkpoint_keeps_the_old_one(how, disk_run, data_dir, tmp_path,
                                                       request):
    """Resume a run where the next training state cannot be written: either every file is
    capped at half a state (RLIMIT_FSIZE: EFBIG), or the run lives on a tmpfs with room for
    half a state more (ENOSPC). One line naming the file, non-zero exit, the old states
    untouched and still loading, no temp file left."""
    state_bytes = _state_file_bytes(disk_run)
    run, limit = disk_run, None
    if how == "full-tmpfs":
        used = sum(-(-f.stat().st_size // 4096) * 4096 for f in disk_run.rglob("*")
                   if f.is_file())
        _mount_small_tmpfs(tmp_path / "small-disk", used + state_bytes // 2, request)
        run = shutil.copytree(disk_run, tmp_path / "small-disk" / "run")
    else:
        limit = _limit_file_size(state_bytes // 2)
    ckpts = run / "checkpoints"
    before = listing(ckpts)
    latest = states.latest_state(ckpts)
    r = subprocess.run([sys.executable, "-m", "fashiongan", "train", "--resume", str(run),
                        "--set", "iterations=4", "--no-progress", "--data-dir", str(data_dir),
                        "--limit-data", "256"], capture_output=True, text=True, timeout=300,
                       preexec_fn=limit)
    err = r.stderr.strip().splitlines()
    fault = "File too large" if limit else "No space left on device"
    assert r.returncode != 0 and "Traceback" not in r.stderr, r.stderr
    assert len(err) == 1, r.stderr
    assert err[0] == (f"fashiongan: error: {ckpts / 'state-00000003.pt'}: cannot write: "
                      f"{fault}; last good training state: {latest}")
    assert listing(ckpts) == before  # no new state, no temp file left, old ones intact
    assert states.latest_state(ckpts) == latest
    assert states.load_state(latest)["step"] == 2


# --- disk full while a data set or an export is written ------------------------------------

def _full_disk(tmp_path, request, size=256 * 1024) -> Path:
    disk = tmp_path / "small-disk"
    _mount_small_tmpfs(disk, size, request)
    return disk


def _one_line_and_nothing_left(r, disk: Path, out: Path, needs: bool) -> None:
    """Exit 1 (the machine's fault), one line naming a file of OUT and, for a data set's
    pixels, the space they need; no staging folder left filling the disk."""
    err = r.stderr.strip().splitlines()
    assert r.returncode == 1, (r.returncode, r.stderr[-2000:])  # not -7: SIGBUS
    assert "Traceback" not in r.stderr and len(err) == 1, r.stderr
    assert err[0].startswith(f"fashiongan: error: {out}/"), err[0]
    assert "No space left on device" in err[0], err[0]
    if needs:
        assert "needs" in err[0] and "free" in err[0], err[0]
    assert list(disk.iterdir()) == [], "a staging folder was left behind"


def test_disk_full_during_import_is_one_line_and_leaves_nothing(tmp_path, request):
    """The pixels went through a sparse memory map: a full disk killed the import with
    SIGBUS (exit 135, no message) and its hidden folder kept the disk full."""
    from tests.support.datasets import tinted_folder

    tinted_folder(tmp_path / "photos", 60, size=64)
    disk = _full_disk(tmp_path, request)
    out = disk / "ds"
    r = subprocess.run([sys.executable, "-m", "fashiongan", "data", "import",
                        tmp_path / "photos", "--out", out, "--no-progress", "--jobs", "1"],
                       capture_output=True, text=True, timeout=120)
    _one_line_and_nothing_left(r, disk, out, needs=True)


@pytest.mark.parametrize("fmt", ["dataset", "idx", "npz", "png"])
def test_disk_full_during_export_is_one_line_and_leaves_nothing(tmp_path, request, fmt):
    from tests.support.studio import tiny_snapshot

    tiny_snapshot(tmp_path / "gen", "article")
    disk = _full_disk(tmp_path, request, size=(256 if fmt != "png" else 64) * 1024)
    out = disk / "exp"
    r = subprocess.run([sys.executable, "-m", "fashiongan", "export", tmp_path / "gen",
                        "--n", "3000", "--format", fmt, "--out", out, "--no-audit",
                        "--no-progress", "--threads", "1"],
                       capture_output=True, text=True, timeout=300)
    _one_line_and_nothing_left(r, disk, out, needs=fmt == "dataset")


@pytest.mark.parametrize("argv", [
    ("data", "export-fmnist", "{out}", "--limit", "3000", "--no-progress"),
    ("sample", "{gen}", "--n", "3000", "--out", "{out}"),
], ids=lambda a: a[0])
def test_disk_full_in_the_other_writers_is_one_line(tmp_path, request, argv):
    """The same for the commands that write PNG folders or single files."""
    from tests.support.studio import tiny_snapshot

    tiny_snapshot(tmp_path / "gen", "article")
    disk = _full_disk(tmp_path, request, size=64 * 1024)
    out = disk / "out"
    r = subprocess.run([sys.executable, "-m", "fashiongan",
                        *[a.format(out=out, gen=tmp_path / "gen") for a in argv]],
                       capture_output=True, text=True, timeout=300)
    err = r.stderr.strip().splitlines()
    assert r.returncode == 1 and len(err) == 1 and "Traceback" not in r.stderr, r.stderr
    assert err[0].startswith(f"fashiongan: error: {out}"), err[0]
    assert "No space left on device" in err[0], err[0]
    assert list(disk.iterdir()) == []
