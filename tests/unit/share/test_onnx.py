"""ONNX: every shipped generator and a colour model export with a dynamic batch and draw, in
onnxruntime on the CPU, what PyTorch draws (within one grey level), class blends included; a
model that cannot export is a one-line error."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import fashiongan
from fashiongan import cli
from fashiongan.data import DatasetInfo
from fashiongan.errors import UserError
from fashiongan.generate.latent import class_weights, forward_blend, latents
from fashiongan.imageio import to_uint8
from fashiongan.models import REGISTRY, generator_from
from fashiongan.share import onnx_export
from fashiongan.snapshot import write_snapshot
from tests.support.studio import HardLabelsOnly, tiny_snapshot

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")
pytest.importorskip("onnxscript")


def _ort(path, feeds: dict) -> np.ndarray:
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(["images"], {k: v.numpy() for k, v in feeds.items()})[0]


def _agree(g, path, n: int) -> float:
    """Seeds 0..n-1 as fashiongan.sample draws them (class i % K) and halfway morphs, through
    the graph at batch size n: the largest float gap; grey levels must match within one."""
    z = latents(range(n), g.latent_dim)
    k = g.num_classes
    y = torch.arange(n) % k
    out = _ort(path, {"z": z, "class_weights": F.one_hot(y, k).float()})
    assert out.shape == (n, g.dataset.channels, g.dataset.resolution, g.dataset.resolution)
    drawn = fashiongan.sample(g, n, seed=0)
    assert np.abs(to_uint8(torch.from_numpy(out)).astype(int) - drawn).max() <= 1
    t = torch.full((n,), 0.5)
    blend = _ort(path, {"z": z, "class_weights": class_weights(y, (y + 1) % k, t, k)})
    with torch.no_grad():
        ref = forward_blend(g, z, y, (y + 1) % k, t, "soft").numpy()
        plain = g(z, y).numpy()
    assert np.abs(blend - plain).max() > 0.01  # a morph is not the plain class
    return float(max(np.abs(out - plain).max(), np.abs(blend - ref).max()))


@pytest.mark.parametrize("name", ["default", "best", "resnet"])
def test_every_shipped_generator_exports_and_agrees(name, tmp_path, one_thread):
    g = fashiongan.load_generator(name)
    info = onnx_export.export(g, tmp_path / "g.onnx")
    assert info["inputs"] == {"z": "float32 [N, 100]", "class_weights": "float32 [N, 10]"}
    sess = ort.InferenceSession(str(tmp_path / "g.onnx"), providers=["CPUExecutionProvider"])
    assert [i.shape[0] for i in sess.get_inputs()] == ["batch", "batch"]  # dynamic
    for n in (1, 16):  # traced at 4
        assert _agree(g, tmp_path / "g.onnx", n) < 1e-4
    checked = onnx_export.check(g, tmp_path / "g.onnx")
    assert checked["max_abs_diff"] < 1e-4 and checked["max_grey_diff"] <= 1


def test_a_colour_model_exports_and_agrees(tmp_path, one_thread):
    info = DatasetInfo(32, 3, ("red", "green", "blue"), "tinted")
    torch.manual_seed(0)
    kwargs = dict(latent_dim=16, g_width=8, num_classes=3, channels=3, resolution=32)
    g = generator_from("cdcgan", kwargs)
    with torch.no_grad():  # real running statistics, so eval mode is not a fresh model's
        g.train()
        for m in g.modules():
            if isinstance(m, torch.nn.Embedding):
                m.weight.normal_(1.0, 0.5)
        g(torch.randn(64, 16), torch.arange(64) % 3)
    write_snapshot(g, tmp_path / "snap", "cdcgan", kwargs, info)
    g = fashiongan.load_generator(tmp_path / "snap")
    onnx_export.export(g, tmp_path / "c.onnx")
    assert fashiongan.sample(g, 1).shape == (1, 32, 32, 3)
    assert _agree(g, tmp_path / "c.onnx", 6) < 1e-4


def test_an_unconditional_and_a_labels_only_generator_take_their_own_inputs(tmp_path):
    g = fashiongan.load_generator(tiny_snapshot(tmp_path / "a", "article"))
    assert onnx_export.export(g, tmp_path / "a.onnx")["inputs"] == {"z": "float32 [N, 100]"}
    z = latents(range(3), 100)
    with torch.no_grad():
        assert np.abs(_ort(tmp_path / "a.onnx", {"z": z}) - g(z).numpy()).max() < 1e-4
    hard = HardLabelsOnly(fashiongan.load_generator(tiny_snapshot(tmp_path / "c"))).eval()
    assert onnx_export.export(hard, tmp_path / "h.onnx")["inputs"]["labels"] == "int64 [N]"
    y = torch.tensor([3, 7, 9])
    with torch.no_grad():
        assert np.abs(_ort(tmp_path / "h.onnx", {"z": z, "labels": y}) - hard(z, y).numpy()
                      ).max() < 1e-4
    assert onnx_export.check(hard, tmp_path / "h.onnx")["max_grey_diff"] <= 1


class DataDependent(torch.nn.Module):
    """A generator whose graph depends on its input's values: torch.export cannot trace it."""

    def __init__(self, latent_dim=4, g_width=1, num_classes=0, channels=1, resolution=4):
        super().__init__()
        self.latent_dim, self.num_classes = latent_dim, 0
        self.fc = torch.nn.Linear(latent_dim, resolution * resolution)

    def forward(self, z, labels=None):
        x = self.fc(z)
        if float(x.mean()) > 0:
            x = -x
        return torch.tanh(x).reshape(-1, 1, 4, 4)


def test_a_model_that_cannot_export_is_a_one_line_error_exit_2(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(REGISTRY, "datadep", (DataDependent, DataDependent))
    kwargs = dict(latent_dim=4, g_width=1, num_classes=0, channels=1, resolution=4)
    write_snapshot(DataDependent(), tmp_path / "snap", "datadep", kwargs,
                   DatasetInfo(4, 1, (), "tiny"))
    with pytest.raises(UserError, match="'datadep' cannot be exported to ONNX: .*data-depend"):
        onnx_export.export(fashiongan.load_generator(tmp_path / "snap"), tmp_path / "x.onnx")
    capsys.readouterr()
    rc = cli.main(["package", str(tmp_path / "snap"), "--out", str(tmp_path / "p"), "--onnx"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "cannot be exported to ONNX" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["snap"]  # nothing half-written
