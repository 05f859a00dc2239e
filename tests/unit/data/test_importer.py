"""`fashiongan data import | info | export-fmnist` and data/store.py, on real files."""

from __future__ import annotations

import json
import sys
import time

import numpy as np
import pytest

from fashiongan import data
from fashiongan.cli.common import Parser
from fashiongan.cli.data import register
from fashiongan.data import classfolders, importer, resolve, store
from fashiongan.errors import UserError
from tests.support.datasets import (
    MESSY_EXPECT,
    MESSY_SKIPPED,
    fmnist_folder,
    messy_folder,
    tinted_folder,
    zip_folder,
)


def run(*argv, capsys):
    """The data subcommands as cli.main runs them: a UserError is one line and exit 2."""
    p = Parser(prog="fashiongan")
    register(p.add_subparsers(dest="command", required=True))
    argv = [str(a) for a in argv]
    try:
        args = p.parse_args(argv)
        args.argv = argv
        rc = args.func(args)
    except UserError as e:
        print(f"fashiongan: error: {e}", file=sys.stderr)
        rc = 2
    out = capsys.readouterr()
    return rc, out.out, out.err


@pytest.fixture(scope="module")
def messy(tmp_path_factory):
    return messy_folder(tmp_path_factory.mktemp("src") / "messy")


@pytest.fixture(scope="module")
def messy_ds(messy, tmp_path_factory):
    out = tmp_path_factory.mktemp("ds") / "messy-ds"
    importer.import_images(messy, out, resolution=16, progress=False, log=lambda line: None)
    return store.open_dataset(out, verify=True)


def _pixel(ds, path):
    return ds.pixels[store_sources(ds).index(path)].transpose(1, 2, 0).astype(int)


def store_sources(ds):
    return json.loads((ds.path / "manifest.json").read_text())["sources"]


def test_messy_counts_classes_and_reasons(messy_ds):
    m = store.read_manifest(messy_ds.path)
    assert m["class_names"] == ["Blusen & Röcke", "tops", "裙子"]  # sorted, Unicode kept
    assert m["counts_per_class"] == {"Blusen & Röcke": 2, "tops": 12, "裙子": 1}
    assert sorted(store_sources(messy_ds)) == sorted(MESSY_EXPECT)
    assert {s["path"]: importer._reason_kind(s["reason"]) for s in m["skipped"]} == MESSY_SKIPPED
    assert m["skipped_counts"] == {"hidden": 3, "not an image file": 1, "empty file": 1,
                                   "not in a class folder": 1, "not a readable image": 1,
                                   "truncated": 1}
    assert m["skipped_per_class"] == {"Blusen & Röcke": 0, "tops": 3, "裙子": 0}
    names = [m["class_names"][k] for k in messy_ds.labels]
    assert names == [p.split("/")[0] for p in store_sources(messy_ds)]
    assert messy_ds.pixels.shape == (15, 3, 16, 16) and messy_ds.pixels.dtype == np.uint8


def test_messy_pixel_values(messy_ds):
    for path, expect in MESSY_EXPECT.items():
        if expect is not None:
            colour, tol = expect
            px = _pixel(messy_ds, path)
            assert np.abs(px - colour).max() <= tol, path
    white, blue, green = (255, 255, 255), (0, 0, 255), (0, 255, 0)
    rgba = _pixel(messy_ds, "tops/rgba.png")  # transparent half composited on white
    assert (rgba[:, :7] == white).all() and (rgba[:, 9:] == blue).all()
    for name in ("tops/pal.png", "tops/pal.gif"):  # palette transparency honoured
        pal = _pixel(messy_ds, name)
        assert (pal[:, :7] == white).all() and (pal[:, 9:] == green).all(), name
    rot = _pixel(messy_ds, "tops/exif6.jpg").mean(2)  # bar stored on top, shown on the right
    assert rot[:, 13:].min() > 230 and rot[:, :10].max() < 25
    wide = _pixel(messy_ds, "tops/wide.png").mean(2)  # padded above and below, not stretched
    assert wide[:3].min() > 240 and wide[-3:].min() > 240 and wide[5:11].max() < 10


def test_zip_of_folder_gives_same_dataset(messy, messy_ds, tmp_path):
    z = zip_folder(messy, tmp_path / "messy.zip")
    out = tmp_path / "from-zip"
    importer.import_images(z, out, resolution=16, progress=False, log=lambda line: None)
    dz = store.open_dataset(out)
    mz = store.read_manifest(out)
    assert mz["class_names"] == ["Blusen & Röcke", "tops", "裙子"]
    assert mz["source"]["kind"] == "zip" and mz["skipped_counts"]["hidden"] == 3
    assert np.array_equal(dz.pixels, messy_ds.pixels)
    assert np.array_equal(dz.labels, messy_ds.labels)


def test_unreadable_files_named_on_stderr_and_summary(messy, tmp_path, capsys):
    rc, out, err = run("data", "import", messy, "--out", tmp_path / "ds", "--resolution", 16,
                       "--no-progress", capsys=capsys)
    assert rc == 0
    lines = [ln for ln in err.splitlines() if ln.startswith("skipped ")]
    assert sorted(ln.split(":")[0] for ln in lines) == [
        "skipped tops/broken.jpg", "skipped tops/empty.png", "skipped tops/truncated.png"]
    assert "15 images 3x16x16" in out and "skipped 8 file(s)" in out
    assert "hidden 3" in out and "tops" in out and "裙子" in out
    m = store.read_manifest(tmp_path / "ds")
    assert m["command"][:3] == ["fashiongan", "data", "import"]
    assert m["split"]["train"] + m["split"]["test"] == 15


def test_fmnist_export_import_bit_identical(tmp_path, capsys):
    n = 2000
    rc, out, _ = run("data", "export-fmnist", tmp_path / "png", "--limit", n, "--no-progress",
                     capsys=capsys)
    assert rc == 0 and "wrote 2000" in out
    assert (tmp_path / "png" / "T-shirt_top").is_dir()
    rc, out, err = run("data", "import", tmp_path / "png", "--out", tmp_path / "ds",
                       "--resolution", 28, "--channels", 1, "--no-progress", capsys=capsys)
    assert rc == 0, err
    ds = store.open_dataset(tmp_path / "ds", verify=True)
    x, y = data.load("train")
    assert ds.info.class_names == data.CLASS_NAMES  # real names back, in label order
    assert np.array_equal(ds.pixels[:, 0], x[:n].numpy())  # same pixels, same order
    assert np.array_equal(ds.labels, y[:n].numpy())
    m = store.read_manifest(tmp_path / "ds")
    assert m["counts_per_class"] == dict(zip(data.CLASS_NAMES,
                                             np.bincount(y[:n].numpy()).tolist(), strict=True))
    assert m["skipped"] == []  # classes.json is read, not skipped


def test_jpeg_folder_close_to_original(tmp_path):
    x, y = fmnist_folder(tmp_path / "jpg", 300, "jpg")
    importer.import_images(tmp_path / "jpg", tmp_path / "ds", resolution=28, channels=1,
                         progress=False, jobs=2)
    ds = store.open_dataset(tmp_path / "ds")
    assert ds.info.class_names == tuple(sorted({classfolders.folder_name(c)
                                                for c in data.CLASS_NAMES}))  # no classes.json
    err = np.abs(ds.pixels[:, 0].astype(int) - x.astype(int)).mean()
    assert err < 4, err  # JPEG at quality 95 on 28 px images


def test_tinted_rgb_serial_equals_parallel_and_split(tmp_path):
    pixels, y = tinted_folder(tmp_path / "tint", 200)
    outs = []
    for jobs in (1, 2):
        out = tmp_path / f"ds{jobs}"
        importer.import_images(tmp_path / "tint", out, resolution=64, progress=False, jobs=jobs,
                             test_fraction=0.25, seed=3)
        outs.append(store.open_dataset(out))
    a, b = outs
    assert np.array_equal(a.pixels, pixels) and np.array_equal(b.pixels, pixels)
    assert np.array_equal(a.labels, y) and np.array_equal(a.split, b.split)
    for c in np.unique(y):  # stratified: a quarter of each class held out
        k = (y == c).sum()
        assert (a.split[y == c] == store.TEST).sum() == round(k * 0.25)
    tr, te = a.train(), a.test()
    assert len(tr[0]) + len(te[0]) == 200 and np.array_equal(te[1], y[a.split == store.TEST])
    t = time.perf_counter()
    np.load(a.path / "pixels.npy", mmap_mode="r")
    assert time.perf_counter() - t < 1.0


def test_labels_json_both_forms(tmp_path):
    x, y = fmnist_folder(tmp_path / "src", 40)
    paths = sorted(p.relative_to(tmp_path / "src").as_posix()
                   for p in (tmp_path / "src").rglob("*.png"))
    label_of = {p: int(p.split("/")[1][:5]) for p in paths}  # index -> its true label below
    label_of = {p: int(y[i]) for p, i in label_of.items()}
    ours = tmp_path / "labels.json"
    ours.write_text(json.dumps({p: data.CLASS_NAMES[v] for p, v in label_of.items()
                                if not p.endswith("00007.png")}))
    importer.import_images(tmp_path / "src", tmp_path / "a", resolution=28, channels=1,
                         labels=str(ours), progress=False)
    da = store.open_dataset(tmp_path / "a")
    assert len(da) == 39 and da.info.class_names == tuple(sorted(set(
        data.CLASS_NAMES[v] for p, v in label_of.items() if not p.endswith("00007.png"))))
    sg = tmp_path / "dataset.json"
    sg.write_text(json.dumps({"labels": [[p, v] for p, v in label_of.items()]}))
    importer.import_images(tmp_path / "src", tmp_path / "b", resolution=28, channels=1,
                         labels=str(sg), progress=False)
    db = store.open_dataset(tmp_path / "b")
    assert np.array_equal(db.labels, y) and db.info.class_names == tuple(map(str, range(10)))
    importer.import_images(tmp_path / "src", tmp_path / "c", resolution=28, channels=1,
                         labels="none", progress=False)
    dc = store.open_dataset(tmp_path / "c")
    assert dc.labels is None and not (tmp_path / "c" / "labels.npy").exists()
    assert np.array_equal(dc.pixels[:, 0], x)


def test_info_verifies_checksum(messy_ds, tmp_path, capsys):
    import shutil

    ds = tmp_path / "copy"
    shutil.copytree(messy_ds.path, ds)
    rc, out, _ = run("data", "info", ds, capsys=capsys)
    assert rc == 0 and "ok  pixels.npy" in out and "15 images" in out
    raw = bytearray((ds / "pixels.npy").read_bytes())
    raw[-1] ^= 1
    (ds / "pixels.npy").write_bytes(bytes(raw))
    rc, out, err = run("data", "info", ds, capsys=capsys)
    assert rc == 2 and len(err.strip().splitlines()) == 1
    assert "pixels.npy: SHA-256" in err and "does not match" in err


def test_interrupted_import_leaves_nothing(messy, tmp_path, monkeypatch):
    calls = []

    def add(self, image):
        calls.append(1)
        if len(calls) == 5:
            raise KeyboardInterrupt
        return real_add(self, image)

    real_add = store.Writer.add
    monkeypatch.setattr(store.Writer, "add", add)
    with pytest.raises(KeyboardInterrupt):
        importer.import_images(messy, tmp_path / "ds", resolution=16, progress=False,
                             log=lambda line: None)
    assert list(tmp_path.iterdir()) == []  # neither DATASET nor its hidden temp folder
    monkeypatch.setattr(store.Writer, "add", real_add)

    def failing_sha(path):  # fault while writing the manifest, after every .npy is done
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store, "sha256_file", failing_sha)
    with pytest.raises(OSError):
        importer.import_images(messy, tmp_path / "ds", resolution=16, progress=False,
                             log=lambda line: None)
    assert list(tmp_path.iterdir()) == []


def test_one_line_errors(messy, messy_ds, tmp_path, capsys):
    (tmp_path / "textonly").mkdir()
    (tmp_path / "textonly" / "a.txt").write_text("x")
    (tmp_path / "file").write_text("x")
    cases = [
        (["data", "import", tmp_path / "textonly", "--out", tmp_path / "o"], "no image"),
        (["data", "import", tmp_path / "nowhere", "--out", tmp_path / "o"], "does not exist"),
        (["data", "import", messy, "--out", tmp_path / "o", "--labels", "folders"],
         "--labels folders"),
        (["data", "import", messy, "--out", tmp_path / "file" / "ds"], "cannot write"),
        (["data", "import", messy, "--out", messy_ds.path.parent], "not empty"),
        (["data", "import", messy, "--out", tmp_path / "o", "--background", "blurple"],
         "not a colour"),
        (["data", "import", messy, "--out", tmp_path / "o", "--test-fraction", "1"],
         "--test-fraction"),
        (["data", "import", messy, "--out", tmp_path / "o", "--channels", "2"], "invalid choice"),
        (["data", "info", tmp_path / "textonly"], "no manifest.json"),
    ]
    for argv, words in cases:
        rc, _, err = run(*argv, "--no-progress" if argv[1] == "import" else "--no-verify",
                         capsys=capsys)
        assert rc == 2, (argv, err)
        assert len(err.strip().splitlines()) == 1 and words in err, (argv, err)
    assert not (tmp_path / "o").exists()


def test_old_data_command_kept(capsys):
    for argv in (["data"], ["data", "check"]):
        rc, out, _ = run(*argv, capsys=capsys)
        assert rc == 0 and "Fashion-MNIST found in" in out and out.count("  ok  ") == 4


def test_fmnist_dataset_official_split():
    ds = resolve.fashion_mnist()
    assert ds.pixels.shape == (70000, 1, 28, 28) and ds.pixels.dtype == np.uint8
    (xtr, ytr), (xte, yte) = ds.train(), ds.test()
    x, y = data.load("train")
    assert xtr.shape == (60000, 1, 28, 28) and np.array_equal(xtr[:, 0], x.numpy())
    assert np.array_equal(ytr, y.numpy()) and xte.shape == (10000, 1, 28, 28)
    assert len(yte) == 10000 and ytr.dtype == np.int64
    assert ds.info == data.FASHION_MNIST
