"""`fashiongan package`: a generator as a self-contained folder to share.

    config.json        the snapshot's description (model, model_kwargs, dataset) + the marker
    model.safetensors  the snapshot's weights (EMA when training kept one), same metadata
    README.md          the model card (card.py), figures read from the run's records
    samples.png        the grid the card shows
    generator.onnx     with --onnx: the graph, checked against PyTorch (onnx_export.py)

config.json's keys are HubGenerator's arguments (hub.py), so huggingface_hub's
PyTorchModelHubMixin.from_pretrained reads the folder as fashiongan's loader does
(snapshot.snapshot_path knows the layout). The folder is built beside --out and renamed into
place; --overwrite replaces only a folder whose config.json carries the package marker.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from safetensors.torch import load_file, save

from fashiongan.data import FASHION_MNIST
from fashiongan.errors import UserError
from fashiongan.fileio import atomic_write, atomic_write_bytes, atomic_write_json, umask
from fashiongan.generate.sampling import sample
from fashiongan.imageio import grid
from fashiongan.outputs import Owned, is_empty_dir, replace_folder, staging_folder
from fashiongan.share import onnx_export, records
from fashiongan.share.card import Card, model_card
from fashiongan.snapshot import (
    PACKAGE_CONFIG,
    PACKAGE_WEIGHTS,
    SHIPPED,
    SNAPSHOT_FORMAT,
    load_generator,
    snapshot_path,
)
from fashiongan.version import version

MARKER = "fashiongan_package"  # config.json's key that says "made by `fashiongan package`"
PACKAGE_FORMAT = 1
ONNX_FILE = "generator.onnx"


@dataclass
class Request:
    source: str  # run folder, snapshot folder or file, package folder, or a shipped name
    out: Path
    evaluation: Path | None = None  # where `fashiongan evaluate` wrote about the source
    audit: Path | None = None  # where `fashiongan audit` did
    onnx: bool = False
    overwrite: bool = False
    license: str | None = None  # default: mit for Fashion-MNIST, other for an imported set


def is_package(folder: Path) -> bool:
    """folder was written by `fashiongan package`: its config.json parses and carries the
    marker at this format, beside the weights. Nothing else may be replaced by --overwrite."""
    try:
        meta = json.loads((folder / PACKAGE_CONFIG).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (isinstance(meta, dict) and meta.get(MARKER) == PACKAGE_FORMAT
            and "model_kwargs" in meta and (folder / PACKAGE_WEIGHTS).is_file())


def _owned() -> Owned:
    """A package folder as --overwrite may replace it: its config.json with the marker, and
    nothing but what `fashiongan package` writes."""
    written = {PACKAGE_CONFIG, PACKAGE_WEIGHTS, "README.md", "samples.png", ONNX_FILE}
    return Owned(PACKAGE_CONFIG, "a fashiongan package's config.json",
                 ours=lambda m: m.get(MARKER) == PACKAGE_FORMAT and "model_kwargs" in m,
                 expected=lambda rel, m: rel in written)


def check_out(out: Path, overwrite: bool) -> None:
    """--out may be written: absent or empty, or with --overwrite an earlier package."""
    if out.is_dir() and not is_empty_dir(out) and overwrite and not is_package(out):
        raise UserError(f"--out {out}: not a package made by `fashiongan package` (no "
                        f"{PACKAGE_CONFIG} with its {MARKER!r} marker); refusing to replace it")


def make_package(req: Request) -> dict:
    """Write the package folder; returns what was written and the ONNX check's figures."""
    shipped = not Path(req.source).exists() and req.source in SHIPPED
    file = snapshot_path(req.source)
    g = load_generator(file)
    check_out(req.out, req.overwrite)
    training, evaluation, audit, run_dir = _records(req, file, g, shipped)
    info = g.dataset
    meta = {"format": SNAPSHOT_FORMAT, "model": g.model_name, "model_kwargs": g.model_kwargs,
            "dataset": info.to_dict(), **g.snapshot_info, "fashiongan_version": version()}
    tmp = staging_folder(req.out, req.overwrite, _owned(), "package")
    try:
        os.chmod(tmp, 0o777 & ~umask())  # mkdtemp's 0700 would hide a folder meant to share
        atomic_write_bytes(tmp / PACKAGE_WEIGHTS,
                           save(load_file(str(file)), metadata={"fashiongan": json.dumps(meta)}))
        atomic_write_json(tmp / PACKAGE_CONFIG, {**meta, MARKER: PACKAGE_FORMAT})
        how = _write_grid(g, tmp / "samples.png")
        checked = None
        if req.onnx:
            described = {"model": g.model_name, "dataset": info.to_dict()}
            exported = onnx_export.export(g, tmp / ONNX_FILE, described)
            checked = {**exported, **onnx_export.check(g, tmp / ONNX_FILE)}
        source = f"the shipped generator {req.source!r}" if shipped else f"`{req.source}`"
        card = Card(title=f"fashiongan {g.model_name} generator ({info.name or 'own data'})",
                    source=source, model=g.model_name, model_kwargs=g.model_kwargs, info=info,
                    training=training, data=records.training_data(info, run_dir),
                    evaluation=evaluation, audit=audit, license=_license(req, info),
                    grid=how, version=version(), onnx=checked)
        atomic_write_bytes(tmp / "README.md", model_card(card).encode())
        check_out(req.out, req.overwrite)  # again: it may have appeared meanwhile
        replace_folder(tmp, req.out, req.overwrite, _owned())
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return {"out": str(req.out), "files": sorted(p.name for p in req.out.iterdir()),
            "onnx": checked, "evaluation": evaluation and evaluation.source,
            "audit": audit and audit.source}


def _records(req: Request, file: Path, g, shipped: bool):
    """(Training, Evaluation or None, Audit or None, run folder or None) for the card."""
    if shipped:
        training, evaluation, audit = records.from_shipped_record(file.with_suffix(".json"))
        return training, evaluation, audit, None
    run_dir = run_folder(Path(req.source))
    training = records.from_run(run_dir, g.snapshot_info) if run_dir else records.Training(
        None, None, None, g.snapshot_info.get("step"), g.snapshot_info.get("images_seen"))
    evaluation = records.evaluation_from_report(req.evaluation) if req.evaluation else None
    audit = records.audit_from_report(req.audit) if req.audit else None
    if evaluation is not None and Path(evaluation.source).stat().st_mtime < file.stat().st_mtime:
        evaluation.notes.append(f"`{evaluation.source}` is older than the weights (`{file}`): "
                                "its figures may describe an earlier state of the run; "
                                "evaluate again to be sure.")
    return training, evaluation, audit, run_dir


def run_folder(path: Path) -> Path | None:
    """The run folder a source lies in (its metrics.jsonl, config.json, data.json), if any."""
    for cand in (path, path.parent):
        if cand.is_dir() and (cand / "metrics.jsonl").is_file():
            return cand
    return None


def _write_grid(g, path: Path) -> str:
    """samples.png: seeds 0.., one class per column for a conditional generator."""
    k = getattr(g, "num_classes", 0)
    cols = k if 0 < k <= 12 else 8
    rows = 10 if k else 8
    images = sample(g, rows * cols, seed=0)
    scale = max(1, 84 // g.dataset.resolution)
    img = grid(images, rows, cols, scale=scale)
    atomic_write(path, lambda tmp: img.save(tmp, format="PNG"))
    how = f"seeds 0..{rows * cols - 1} in rows of {cols}, enlarged {scale}x"
    return how + (", column j of class j (`fashiongan.sample(g, "
                  f"{rows * cols}, seed=0)`)" if k else "")


def _license(req: Request, info) -> str:
    if req.license:
        return req.license
    return "mit" if info == FASHION_MNIST else "other"
