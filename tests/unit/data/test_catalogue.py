"""benchmarks/catalogue.py: the realistic test catalogue, and `data import --split names`."""

from __future__ import annotations

import colorsys

import numpy as np
import pytest
from PIL import Image

from benchmarks import catalogue
from fashiongan import data
from fashiongan.data import importer, store
from tests.unit.data.test_importer import run


@pytest.fixture(scope="module")
def fm():
    x, y = data.load("train")
    return x[:400].numpy(), y[:400].numpy()


def _photos(fm, label, n, kind=None, seed=0):
    x, y = fm
    idx = np.flatnonzero(y == label)[:n]
    return [(x[i], catalogue.render(x[i], label, catalogue.image_rng(seed, "train", int(i)),
                                    kind)) for i in idx]


def test_light_background_sizes_and_a_visible_garment(fm):
    sizes = set()
    for label in range(10):
        for _, photo in _photos(fm, label, 4):
            s = photo.shape[0]
            sizes.add(s)
            assert photo.shape == (s, s, 3) and 64 <= s <= 160
            corners = np.stack([photo[:3, :3], photo[:3, -3:]]).reshape(-1, 3)
            assert corners.mean() > 200  # a light studio background
            assert photo.astype(int).std() > 20  # and something on it
    assert len(sizes) >= 4  # mixed sizes


def _hue(photo: np.ndarray, grey: np.ndarray) -> tuple[float, float]:
    """Mean hue and saturation of the garment's pixels (where the grey image is bright)."""
    s = photo.shape[0]
    mask = np.asarray(Image.fromarray(grey).resize((s, s)), np.float32) > 120
    rgb = photo[mask].astype(np.float32).mean(0) / 255
    h, sat, _ = colorsys.rgb_to_hsv(*rgb)
    return h, sat


def test_several_colours_per_class(fm):
    for label in (0, 3, 6):  # T-shirts, dresses, shirts: many hues each
        hues = [_hue(photo, grey) for grey, photo in _photos(fm, label, 24)]
        bins = {int(h * 6) % 6 for h, s in hues if s > 0.25}
        assert len(bins) >= 3, (label, hues)


def test_shading_follows_the_grey_levels(fm):
    """On a plain fabric the photo's brightness over the garment rises with the original grey
    level (folds and seams darker), at any size and position."""
    x, y = fm
    for i in np.flatnonzero(y == 2)[:6]:
        placed = []
        photo = catalogue.render(x[i], 2, catalogue.image_rng(0, "train", int(i)), "plain",
                                 placed)
        shade = placed[0]
        assert shade.shape == photo.shape[:2]
        on = shade > 0.2  # fully covered by the garment
        lum = photo.astype(np.float32).mean(2)
        assert np.corrcoef(lum[on], shade[on])[0, 1] > 0.8


def test_same_seed_same_photo(fm):
    a = _photos(fm, 5, 3, seed=1)
    b = _photos(fm, 5, 3, seed=1)
    c = _photos(fm, 5, 3, seed=2)
    assert all(np.array_equal(p, q) for (_, p), (_, q) in zip(a, b, strict=True))
    assert not all(p.shape == q.shape and np.array_equal(p, q)
                   for (_, p), (_, q) in zip(a, c, strict=True))


def test_folders_import_with_fashion_mnists_own_split(tmp_path, capsys):
    counts = catalogue.write(tmp_path / "cat", 40, 12, seed=0)
    assert sum(counts["train"]) == 40 and sum(counts["test"]) == 12
    rc, out, err = run("data", "import", tmp_path / "cat", "--out", tmp_path / "ds",
                       "--resolution", "64", "--split", "names", "--no-progress",
                       capsys=capsys)
    assert rc == 0, err
    ds = store.open_dataset(tmp_path / "ds")
    assert ds.info.resolution == 64 and ds.info.channels == 3
    assert list(ds.info.class_names) == list(data.CLASS_NAMES)
    assert len(ds.test_index) == 12 and len(ds.train_index) == 40
    m = store.read_manifest(tmp_path / "ds")
    test_sources = {m["sources"][i] for i in ds.test_index}
    assert all("/test-" in s for s in test_sources)
    # the labels are Fashion-MNIST's own, in its order: the first 12 test labels
    _, y_test = data.load("test")
    assert np.bincount(ds.labels[ds.test_index], minlength=10).tolist() == \
        np.bincount(y_test[:12].numpy(), minlength=10).tolist()


def test_names_split_reads_the_file_name_only():
    split = importer.names_split(["a/test-1.png", "test/train-2.png", "b/Test_3.jpg", "c/x.png"])
    assert split.tolist() == [store.TEST, store.TRAIN, store.TEST, store.TRAIN]
