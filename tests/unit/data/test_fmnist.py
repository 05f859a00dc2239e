import gzip
import shutil

import numpy as np
import pytest

from fashiongan import data
from tests.support.cli import run_cli


def test_real_data_shapes_and_range(data_dir):
    x, y = data.load("train", data_dir)
    assert x.shape == (60000, 28, 28) and str(x.dtype) == "torch.uint8"
    assert y.shape == (60000,) and int(y.min()) == 0 and int(y.max()) == 9
    assert np.bincount(y.numpy()).tolist() == [6000] * 10
    xt, yt = data.load("test", data_dir)
    assert xt.shape == (10000, 28, 28) and np.bincount(yt.numpy()).tolist() == [1000] * 10
    # the dataset's convention: 0 is the black background (corners are background)
    assert x[:, 0, 0].float().mean() < 1.0
    assert int(x.max()) == 255


def test_verify_checks_sha256(data_dir):
    out = data.verify(data_dir)
    assert len(out) == 4
    assert {d for _, d in out} == {f.sha256 for f in data.FILES.values()}


def test_cli_data_prints_folder_and_checksums(data_dir):
    r = run_cli("data", "--data-dir", data_dir)
    assert r.returncode == 0, r.stderr
    assert str(data_dir) in r.stdout
    assert r.stdout.count(" ok ") == 4


def test_search_order_env_var(tmp_path, data_dir, monkeypatch):
    for f in data_dir.iterdir():
        shutil.copy(f, tmp_path / f.name)
    monkeypatch.setenv("FASHION_MNIST_DIR", str(tmp_path))
    assert data.find_data_dir() == tmp_path
    assert data.candidate_dirs("/x")[0].as_posix() == "/x"


def _copy_plain(src_dir, dst):
    """Decompressed copies, so single bytes can be damaged."""
    for spec in data.FILES.values():
        with gzip.open(src_dir / (spec.name + ".gz")) as f:
            (dst / spec.name).write_bytes(f.read())


def _damage(kind, folder):
    f = folder / "t10k-labels-idx1-ubyte"
    b = bytearray(f.read_bytes())
    if kind == "missing":
        f.unlink()
    elif kind == "truncated":
        f.write_bytes(bytes(b[:5]))
    elif kind == "mis-sized":
        f.write_bytes(bytes(b[:-10]))
    elif kind == "wrong-magic":
        b[3] = 0x99
        f.write_bytes(bytes(b))
    elif kind == "checksum":
        b[100] ^= 1
        f.write_bytes(bytes(b))
    elif kind == "garbage-gz":
        f.unlink()
        (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8b not really gzip")


@pytest.mark.parametrize("kind,expect", [
    ("missing", "missing"), ("truncated", "truncated"), ("mis-sized", "bytes of content"),
    ("wrong-magic", "wrong magic"), ("checksum", "SHA-256"), ("garbage-gz", "unreadable"),
])
def test_damaged_file_gives_one_line_exit_2(kind, expect, tmp_path, data_dir):
    _copy_plain(data_dir, tmp_path)
    assert run_cli("data", "--data-dir", tmp_path).returncode == 0
    _damage(kind, tmp_path)
    r = run_cli("data", "--data-dir", tmp_path)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "t10k-labels-idx1-ubyte" in lines[0] and expect in lines[0]


def test_download_offline_names_apt_package(tmp_path):
    with pytest.raises(data.DataError, match="apt-get install dataset-fashion-mnist"):
        data.download(tmp_path, mirror="http://127.0.0.1:9/")
    assert not any(tmp_path.iterdir())  # nothing half-written
