"""The generator as an ONNX graph (batch size dynamic), and its check against PyTorch.

Inputs by kind of generator:
- unconditional: `z` float32 [N, latent_dim];
- class-conditional that blends classes (soft_class_mode "soft": cdcgan, resnet): `z` and
  `class_weights` float32 [N, num_classes]: a class is its one-hot row, the studio's morph
  (generate/latent.py forward_blend) the mix (1 - t) a + t b, so one graph draws both;
- class-conditional that takes class indices only: `z` and `labels` int64 [N].
Output `images` float32 [N, C, H, W] in [-1, 1].

torch.onnx's exporter (torch.export based, "dynamo") traces the eval-mode module; the check
runs the file in onnxruntime on the CPU next to fashiongan's own sampling for the same seeds.
onnx, onnxscript and onnxruntime are optional (the `share` extra): imported inside functions.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import re
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from fashiongan.errors import UserError
from fashiongan.generate.latent import class_weights, forward_blend, latents, soft_class_mode
from fashiongan.generate.sampling import sample
from fashiongan.imageio import to_uint8

EXAMPLE_BATCH = 4  # traced at this batch size; the batch dimension is exported as dynamic
CHECK_SEEDS = 16
MAX_GREY_DIFF = 1  # same seeds, same images within one grey level


class _Graph(nn.Module):
    """What the ONNX graph computes: G with the inputs its kind takes (module docstring)."""

    def __init__(self, g: nn.Module, kind: str):
        super().__init__()
        self.g, self.kind = g, kind

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        return self.g(z, c)


def _grey_gap(a: np.ndarray, b: np.ndarray) -> int:
    """The largest difference between two uint8 images, in grey levels."""
    return int(np.abs(a.astype(np.int16) - b.astype(np.int16)).max()) if a.size else 0


def input_kind(g: nn.Module) -> str:
    """"none", "class_weights" or "labels": the class input the graph of g takes."""
    return {"none": "none", "soft": "class_weights"}.get(soft_class_mode(g), "labels")


def _examples(g: nn.Module, kind: str, n: int) -> tuple[torch.Tensor, ...]:
    z = latents(range(n), g.latent_dim)
    if kind == "none":
        return (z,)
    y = torch.arange(n) % g.num_classes
    return (z, F.one_hot(y, g.num_classes).float() if kind == "class_weights" else y)


def export(g: nn.Module, path: Path, description: dict | None = None) -> dict:
    """Write g's graph to path (a one-line UserError saying why when it cannot be exported);
    returns {"inputs": {name: shape}, "opset": version}."""
    try:  # optional: the share extra
        import onnx
        import onnxscript  # noqa: F401 - torch.onnx's exporter needs it; say so up front
    except ModuleNotFoundError as e:
        raise UserError(f"--onnx needs the share extra ({e.name} is missing): "
                        "pip install 'fashiongan[share]'") from None
    g = g.cpu().eval()
    kind = input_kind(g)
    graph = _Graph(g, kind).eval()
    names = ["z"] + ([] if kind == "none" else [kind])
    batch = torch.export.Dim("batch", min=1)
    dynamic = {"z": {0: batch}, "c": {0: batch}} if kind != "none" else {"z": {0: batch}}
    chatter = io.StringIO()
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(chatter), \
                contextlib.redirect_stderr(chatter), _quiet():
            warnings.simplefilter("ignore")
            program = torch.onnx.export(
                graph, _examples(g, kind, EXAMPLE_BATCH), None, input_names=names,
                output_names=["images"], dynamic_shapes=dynamic, dynamo=True,
                external_data=False)
    except Exception as e:  # noqa: BLE001 - any exporter failure is "this model cannot"
        raise UserError(f"model {getattr(g, 'model_name', type(g).__name__)!r} cannot be "
                        f"exported to ONNX: {_reason(e)}") from None
    model = program.model_proto
    meta = {"inputs": {n: _shape(n, g) for n in names}, "output": "images [N, C, H, W] in "
            "[-1, 1]", **(description or {})}
    onnx.helper.set_model_props(model, {"fashiongan": json.dumps(meta)})
    data = model.SerializeToString()
    with open(path, "wb") as f:
        f.write(data)
    return {"inputs": meta["inputs"], "opset": _opset(model)}


def _shape(name: str, g: nn.Module) -> str:
    return {"z": f"float32 [N, {g.latent_dim}]", "labels": "int64 [N]",
            "class_weights": f"float32 [N, {getattr(g, 'num_classes', 0)}]"}[name]


def _opset(model) -> int:
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)


@contextlib.contextmanager
def _quiet():
    """The exporter logs its steps, optional-package notes and tracing guesses through
    handlers that hold the real stderr; keep warnings and below off the terminal meanwhile."""
    before = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(before)


def _reason(e: BaseException) -> str:
    """The first line of the innermost cause: the exporter wraps the real reason (a
    data-dependent branch, an unsupported operator) in a generic "step 1/3" message."""
    while e.__cause__ is not None:
        e = e.__cause__
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(e)).strip()
    return f"{type(e).__name__}: {text.splitlines()[0] if text else ''}"[:300]


def session(path: Path, threads: int = 0):
    """An onnxruntime CPU session for the graph at path."""
    try:  # optional: the share extra
        import onnxruntime as ort
    except ModuleNotFoundError as e:
        raise UserError(f"running ONNX needs the share extra ({e.name} is missing): "
                        "pip install 'fashiongan[share]'") from None
    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only
    if threads:
        options.intra_op_num_threads = threads
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def run(sess, z: torch.Tensor, c: torch.Tensor | None = None) -> np.ndarray:
    """The graph's float output for latents z and a class input c (per input_kind)."""
    feeds = {"z": z.numpy().astype(np.float32)}
    names = [i.name for i in sess.get_inputs()]
    if len(names) > 1:
        feeds[names[1]] = c.numpy().astype(np.int64 if names[1] == "labels" else np.float32)
    return sess.run(["images"], feeds)[0]


@torch.no_grad()
def check(g: nn.Module, path: Path, n: int = CHECK_SEEDS) -> dict:
    """The graph at path against PyTorch for seeds 0..n-1: the images `fashiongan.sample`
    draws (class i % K) and, for a blending generator, the morph halfway from each class to
    the next. A gap over MAX_GREY_DIFF grey levels is a UserError."""
    g = g.cpu().eval()
    kind = input_kind(g)
    sess = session(path)
    z = latents(range(n), g.latent_dim)
    pairs = []  # (PyTorch's float images, ONNX's), for the same inputs
    if kind == "none":
        pairs.append((g(z, None), run(sess, z)))
        what = "unconditional samples"
    else:
        k = g.num_classes
        y = torch.arange(n) % k
        pairs.append((g(z, y), run(sess, z, F.one_hot(y, k).float() if kind ==
                                   "class_weights" else y)))
        what = "class i % K"
        if kind == "class_weights":
            t = torch.full((n,), 0.5)
            pairs.append((forward_blend(g, z, y, (y + 1) % k, t, "soft"),
                          run(sess, z, class_weights(y, (y + 1) % k, t, k))))
            what += ", and halfway morphs to class i % K + 1"
    max_abs = max(float(np.abs(a.numpy() - b).max()) for a, b in pairs)
    grey = max(_grey_gap(to_uint8(a), to_uint8(torch.from_numpy(b))) for a, b in pairs)
    drawn = sample(g, n, seed=0)  # what fashiongan itself draws for these seeds
    grey = max(grey, _grey_gap(drawn, to_uint8(torch.from_numpy(pairs[0][1]))))
    if grey > MAX_GREY_DIFF:
        raise UserError(f"{path}: the ONNX graph differs from PyTorch by {grey} grey levels "
                        f"(max abs {max_abs:.3g}); not writing a graph that draws otherwise")
    return {"n": n, "what": what, "max_abs_diff": max_abs, "max_grey_diff": grey}
