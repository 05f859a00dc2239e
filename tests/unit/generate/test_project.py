"""Design from a photo: photo -> data set form, projection into the shipped generator,
`fashiongan project` and `sample --from` (variations, restyles, strips), all on real
Fashion-MNIST test images and photos made from them."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from fashiongan import cli, data
from fashiongan.generate.perceptual import Distance
from fashiongan.generate.photo import to_dataset_form
from fashiongan.generate.project import project
from fashiongan.generate.sampling import latents
from fashiongan.metrics.features import extract
from fashiongan.snapshot import load_generator, shipped_generator
from tests.support.datasets import shop_photo as photo_of

EASY = {1: "Trouser", 7: "Sneaker", 8: "Bag", 9: "Ankle boot"}


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def test_images():
    x, y = data.load("test")
    return x[:200].numpy(), y[:200].numpy()


@pytest.fixture(scope="module")
def g():
    return load_generator(cli.common.default_checkpoint())


def first_of(y: np.ndarray, label: int) -> int:
    return int(np.flatnonzero(y == label)[0])


def test_photo_becomes_the_original_28px_image(test_images):
    x, _ = test_images
    errors, naive = [], []
    for i in range(12):
        im = photo_of(x[i], at=(5 + 3 * i, 20 - i))
        out = to_dataset_form(im, 1, 28)
        assert out.shape == (28, 28) and out.dtype == np.uint8
        errors.append(np.abs(out.astype(float) - x[i]).mean())
        plain = np.asarray(im.convert("L").resize((28, 28), Image.LANCZOS), dtype=float)
        naive.append(np.abs(plain - x[i]).mean())
    # a half-pixel shift of a textured garment costs ~10 levels; the naive resize ~200
    assert np.mean(errors) < 16 and max(errors) < 35, errors
    assert np.mean(naive) > 8 * np.mean(errors)


def test_photo_forms_for_colour_and_light_data_sets(test_images):
    """A colour data set on a light background (an imported shop catalogue) keeps the photo's
    colours; a dark one gets the inverse, its background black."""
    x, _ = test_images
    im = photo_of(x[1], size=60, canvas=(90, 90))  # a top, red on white
    light = to_dataset_form(im, 3, 32, dark=False)
    assert light.shape == (32, 32, 3) and light.dtype == np.uint8
    assert light[0, 0].tolist() == [255, 255, 255]
    garment = light.reshape(-1, 3).astype(int)
    garment = garment[garment.sum(1) < 600]
    assert len(garment) > 200 and (garment[:, 0] > garment[:, 1] + 60).mean() > 0.9  # red
    assert np.array_equal(to_dataset_form(im, 3, 32, dark=True), 255 - light)


def test_projection_far_below_the_best_random_sample(g, test_images):
    x, y = test_images
    picks = [first_of(y, c) for c in (0, 3, 5)]  # a top, a dress, a sandal
    res = project(g, x[picks], class_=None, steps=40, starts=200)
    dist = Distance(1, 28)
    z = latents(range(500), g.latent_dim)
    for j, i in enumerate(picks):
        with torch.no_grad():
            samples = g(z, torch.full((500,), int(y[i])))
            target = torch.as_tensor(x[i]).float().div(127.5).sub(1)[None, None]
            best = dist(samples, target).min().item()
        assert res.distances[j] < 0.6 * best, (i, res.distances[j], best)
    mse = ((res.images / 255.0 - x[picks] / 255.0) ** 2).mean()
    assert mse < 0.03


def test_auto_class_recovers_easy_images(g, test_images):
    x, y = test_images
    picks = [first_of(y, c) for c in EASY]
    res = project(g, x[picks], "auto", steps=25, starts=200, seed=3)
    assert res.labels.tolist() == list(EASY)
    assert np.allclose(res.class_weights.sum(1), 1, atol=1e-5)
    _, kept = extract(res.images)
    assert kept.tolist() == list(EASY)  # the evaluator sees the same category


@pytest.fixture(scope="module")
def projected(tmp_path_factory, test_images):
    """`fashiongan project` (in-process) on two photo files: a trouser (PNG) and a top (JPEG)."""
    x, y = test_images
    root = tmp_path_factory.mktemp("photos")
    trouser, top = first_of(y, 1), first_of(y, 0)
    photo_of(x[trouser]).save(root / "trouser.png")
    photo_of(x[top]).save(root / "top.jpg", quality=92)
    out = root / "out.npz"
    code = cli.main(["project", str(root / "trouser.png"), str(root / "top.jpg"), "--out",
                     str(out), "--grid", str(root / "grid.png"), "--steps", "30", "--starts",
                     "150", "--threads", "1", "--no-progress"])
    assert code == 0
    # no --checkpoint: the best shipped generator, named in the file beside its latents
    assert str(np.load(out)["generator"]) == str(shipped_generator("best"))
    return root, out, x[[trouser, top]]


def test_project_npz_contents(projected):
    root, out, originals = projected
    f = dict(np.load(out))
    assert f["images"].dtype == np.uint8 and f["images"].shape == (2, 28, 28)
    assert f["inputs"].dtype == np.uint8 and f["inputs"].shape == (2, 28, 28)
    assert f["latents"].dtype == np.float32 and f["latents"].shape == (2, 100)
    assert f["labels"].dtype == np.int64 and f["labels"].tolist() == [1, 0]
    assert f["class_weights"].shape == (2, 10) and f["distances"].shape == (2,)
    assert [s.rsplit("/", 1)[1] for s in f["sources"]] == ["trouser.png", "top.jpg"]
    assert str(f["distance"]) == "evaluator"
    assert np.abs(f["inputs"].astype(float) - originals).mean() < 16  # the converted photos
    assert Image.open(root / "grid.png").size == (4 * (2 * 30 + 2), 4 * (2 * 30 + 2))


def _variations(out, tmp_path, name, *extra) -> np.ndarray:
    dest = tmp_path / f"{name}.npz"
    assert cli.main(["sample", "--from", str(out), "--out", str(dest), *extra]) == 0
    return np.load(dest)["images"]


def test_variations_grow_with_strength_and_follow_the_seed(projected, tmp_path):
    _, out, _ = projected
    design = np.load(out)["images"][1].astype(float)
    again = _variations(out, tmp_path, "same", "--index", "1")
    assert np.array_equal(again[0], design)  # no variation: the projection itself, exactly
    spread = []
    for s in ("0.2", "0.6", "1.5"):
        v = _variations(out, tmp_path, f"v{s}", "--index", "1", "--variations", "6",
                        "--strength", s, "--seed", "7")
        assert v.shape == (6, 28, 28)
        spread.append(np.abs(v.astype(float) - design).mean())
    assert 0 < spread[0] < spread[1] < spread[2], spread
    twice = _variations(out, tmp_path, "twice", "--index", "1", "--variations", "6",
                        "--strength", "0.6", "--seed", "7")
    other = _variations(out, tmp_path, "other", "--index", "1", "--variations", "6",
                        "--strength", "0.6", "--seed", "8")
    first = np.load(tmp_path / "v0.6.npz")["images"]
    assert np.array_equal(twice, first) and not np.array_equal(other, first)


def test_class_to_restyles_and_strips_start_at_the_design(projected, tmp_path):
    _, out, _ = projected
    f = np.load(out)
    bag = _variations(out, tmp_path, "bag", "--index", "0", "--class-to", "bag")
    dress = _variations(out, tmp_path, "dress", "--index", "1", "--class-to", "dress")
    _, classes = extract(np.concatenate([f["images"], bag, dress]))
    assert classes.tolist() == [1, 0, 8, 3]  # trouser, top -> bag, dress
    strip = tmp_path / "strip.npz"
    assert cli.main(["sample", "--interpolate", f"{out}:1", f"{out}:1", "--class-to", "dress",
                     "--steps", "5", "--out", str(strip)]) == 0
    s = np.load(strip)
    assert np.abs(s["images"][0].astype(int) - f["images"][1]).max() <= 1  # the design
    assert np.abs(s["images"][-1].astype(int) - dress[0]).max() <= 1  # its restyle
    assert np.allclose(s["class_weights"][0], f["class_weights"][1], atol=1e-6)
    assert s["labels"][-1] == 3


def _one_line_error(capsys, *argv) -> str:
    code = cli.main(list(map(str, argv)))
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1, err
    return err


def test_bad_photos_are_one_line_errors(tmp_path, capsys, test_images):
    x, _ = test_images
    (tmp_path / "notes.png").write_text("not an image\n")
    (tmp_path / "empty.jpg").write_bytes(b"")
    Image.new("RGB", (64, 64), (240, 240, 240)).save(tmp_path / "blank.png")
    Image.fromarray(x[0][:5, :5]).save(tmp_path / "tiny.png")
    half = photo_of(x[0])
    half.save(tmp_path / "whole.png")
    (tmp_path / "cut.png").write_bytes((tmp_path / "whole.png").read_bytes()[:400])
    (tmp_path / "nothing").mkdir()
    (tmp_path / "nothing" / "readme.txt").write_text("no images here\n")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "a.png").write_text("fake")
    out = tmp_path / "o.npz"
    cases = {"notes.png": "not an image", "empty.jpg": "empty file",
             "blank.png": "no garment found", "tiny.png": "too small",
             "cut.png": "unreadable image", "missing.png": "does not exist",
             "nothing": "no image files in this folder", "broken": "no readable image"}
    for name, message in cases.items():
        err = _one_line_error(capsys, "project", tmp_path / name, "--out", out)
        assert message in err and name in err, err
    assert not out.exists()
    assert "unknown class 'robe'" in _one_line_error(capsys, "project", tmp_path / "whole.png",
                                                     "--out", out, "--class", "robe")


def test_bad_sample_from_are_one_line_errors(projected, tmp_path, capsys):
    _, out, _ = projected
    np.savez(tmp_path / "plain.npz", images=np.zeros((1, 28, 28), np.uint8))
    (tmp_path / "text.npz").write_text("nope")
    o = tmp_path / "o.npz"
    cases = [(["--from", tmp_path / "plain.npz"], "no 'latents'"),
             (["--from", tmp_path / "text.npz"], "not a readable .npz"),
             (["--from", tmp_path / "gone.npz"], "does not exist"),
             (["--from", out, "--index", "5"], "holds 2 design"),
             (["--variations", "3"], "give --from"),
             (["--from", out, "--class-to", "robe"], "unknown class"),
             (["--from", out, "--interpolate", "0", "1"], "--from draws around one design")]
    for extra, message in cases:
        assert message in _one_line_error(capsys, "sample", *extra, "--out", o)
