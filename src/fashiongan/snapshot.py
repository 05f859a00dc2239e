"""Snapshots: the generator to sample from (EMA weights when EMA is on) as safetensors, with
what rebuilds it in the file's metadata and in config.json beside it: the model's registry name,
its constructor arguments and the data set it draws (DatasetInfo), plus the run's own facts
(step, images seen, scores). No training settings and no pickles: a snapshot loads whatever the
training code becomes. (Training states, for --resume, are training/states.py.)
"""

from __future__ import annotations

import contextlib
import inspect
import json
import warnings
from importlib import resources
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save
from torch import nn

from fashiongan.data import FASHION_MNIST, DatasetInfo
from fashiongan.errors import UserError
from fashiongan.fileio import atomic_write_bytes, atomic_write_json
from fashiongan.models import REGISTRY, generator_from, generator_kwargs

SNAPSHOT_FILE = "generator.safetensors"
# a shared package (`fashiongan package`, share/package.py): the Hugging Face layout, weights
# as model.safetensors beside a config.json that describes the model as a snapshot does
PACKAGE_WEIGHTS = "model.safetensors"
PACKAGE_CONFIG = "config.json"
# 1: a training config only (Fashion-MNIST implied); 2: + model kwargs and data set, with the
# config; 3: model, kwargs and data set, no training settings. 1 and 2 still load.
SNAPSHOT_FORMAT = 3
STRUCTURE = ("format", "model", "model_kwargs", "dataset", "config")  # not the run's own info


def save_snapshot(generator: nn.Module, cfg, folder: str | Path, info: dict | None = None,
                  dataset: DatasetInfo = FASHION_MNIST) -> Path:
    """Write generator.safetensors and config.json into folder; cfg names the model and sizes
    it (models.generator_kwargs) and is not stored."""
    return write_snapshot(
        generator, folder, cfg.model.arch, generator_kwargs(cfg, dataset), dataset, info
    )


def write_snapshot(
    generator: nn.Module,
    folder: str | Path,
    model: str,
    kwargs: dict,
    dataset: DatasetInfo,
    info: dict | None = None,
) -> Path:
    folder = Path(folder)
    meta = {
        "format": SNAPSHOT_FORMAT,
        "model": model,
        "model_kwargs": kwargs,
        "dataset": dataset.to_dict(),
        **(info or {}),
    }
    tensors = {k: v.detach().cpu().contiguous() for k, v in generator.state_dict().items()}
    # serialised in memory, then written by Python: a full disk is an OSError naming the file
    atomic_write_bytes(
        folder / SNAPSHOT_FILE, save(tensors, metadata={"fashiongan": json.dumps(meta)})
    )
    atomic_write_json(folder / "config.json", meta)
    return folder


# Generators that ship in the package, by the name `sample`, `serve`, `export`, `audit` and
# `project` accept in place of a path: "default" the default preset's 15-minute model (the one
# used when no checkpoint is given); "best" (also "long") the same network and settings trained
# 100 minutes; "resnet" the residual nets (figures: docs/results/2026-12-02-fashion-mnist-
# quality.md). A path that exists wins over a name.
# The generator a command uses when none is named: the best shipped one (the others stay
# reachable by name).
DEFAULT_SHIPPED = "best"
SHIPPED = {
    "default": "generator.safetensors",
    "best": "generator-long.safetensors",
    "long": "generator-long.safetensors",
    "resnet": "generator-resnet.safetensors",
}


def listed_shipped() -> list[tuple[str, Path]]:
    """(name, file) of every generator this build ships, the default first, aliases once."""
    seen, out = set(), []
    for name in (DEFAULT_SHIPPED, *SHIPPED):
        file = Path(str(resources.files("fashiongan") / "weights" / SHIPPED[name]))
        if SHIPPED[name] not in seen and file.is_file():
            seen.add(SHIPPED[name])
            out.append((name, file))
    return out


def shipped_generator(name: str = DEFAULT_SHIPPED) -> Path:
    """The shipped generator called `name` (a UserError when this build has none of it)."""
    if name not in SHIPPED:
        raise UserError(f"no shipped generator is named {name!r} (names: {', '.join(SHIPPED)})")
    file = Path(str(resources.files("fashiongan") / "weights" / SHIPPED[name]))
    if not file.is_file():
        raise UserError(f"the {name!r} generator does not ship in this build ({file} missing)")
    return file


def snapshot_path(path: str | Path) -> Path:
    """A run folder, a snapshot folder, a package folder (config.json + model.safetensors), a
    .safetensors file or a shipped generator's name (SHIPPED) -> the .safetensors file."""
    p = Path(path)
    for cand in (p, p / SNAPSHOT_FILE, p / PACKAGE_WEIGHTS, p / "snapshot" / SNAPSHOT_FILE):
        if cand.is_file():
            return cand
    if not p.exists() and str(path) in SHIPPED:
        return shipped_generator(str(path))
    if _describes_model(p / PACKAGE_CONFIG):
        raise UserError(f"{p}: has {PACKAGE_CONFIG} but no {PACKAGE_WEIGHTS}: an incomplete "
                        "package (copy the whole folder again)")
    raise UserError(
        f"{p}: no generator snapshot found (looked for {SNAPSHOT_FILE} and {PACKAGE_WEIGHTS} "
        "in it and in its snapshot/ folder)"
    )


def _describes_model(file: Path) -> bool:
    """file is a snapshot's or a package's config.json (a run's config.json is its training
    settings: no model_kwargs)."""
    try:
        return "model_kwargs" in json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError, TypeError):
        return False


def _package_description(file: Path) -> dict | None:
    """The config.json beside a package's model.safetensors, for weights saved without
    fashiongan's metadata (by huggingface_hub's save_pretrained, say); None elsewhere."""
    config_file = file.with_name(PACKAGE_CONFIG)
    if file.name != PACKAGE_WEIGHTS or not config_file.is_file():
        return None
    try:
        meta = json.loads(config_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise UserError(f"{config_file}: not readable JSON ({e})") from None
    return meta if isinstance(meta, dict) else None


def load_generator(path: str | Path, device: str | torch.device = "cpu") -> nn.Module:
    """Rebuild the generator from a snapshot; it comes back in eval mode."""
    file = snapshot_path(path)
    if file.suffix in (".pt", ".pth", ".pkl", ".pickle", ".ckpt"):
        raise UserError(
            f"{file}: refusing a pickle-based file; generators load from safetensors only"
        )
    try:
        with safe_open(str(file), framework="pt") as f:
            meta = json.loads((f.metadata() or {}).get("fashiongan", "null"))
        tensors = load_file(str(file))
    except (SafetensorError, OSError, ValueError, json.JSONDecodeError) as e:
        # diagnosed only now: a valid header's length may begin with these very bytes
        with contextlib.suppress(OSError), open(file, "rb") as f:
            if f.read(2) in (b"PK", *(bytes([0x80, v]) for v in range(2, 6))):
                raise UserError(
                    f"{file}: this is a pickle/zip file, not safetensors; refusing it"
                ) from None
        raise UserError(f"{file}: not a readable safetensors snapshot ({e})") from None
    if meta is None:
        meta = _package_description(file)
    if not isinstance(meta, dict) or not ("model_kwargs" in meta or "config" in meta):
        raise UserError(
            f"{file}: safetensors file without a fashiongan model description in its metadata"
            + (f" or in {PACKAGE_CONFIG} beside it" if file.name == PACKAGE_WEIGHTS else "")
        )
    dataset = DatasetInfo.from_dict(meta["dataset"]) if "dataset" in meta else FASHION_MNIST
    model, kwargs = (
        (meta["model"], meta["model_kwargs"])
        if "model_kwargs" in meta
        else _from_format_1(meta["config"], dataset, file)
    )
    g = _build(model, kwargs, file)
    try:
        g.load_state_dict(tensors)
    except RuntimeError as e:
        raise UserError(
            f"{file}: weights do not fit model {model!r} ({str(e).splitlines()[0]})"
        ) from None
    g.model_name, g.model_kwargs, g.dataset = model, kwargs, dataset
    g.snapshot_info = {k: v for k, v in meta.items() if k not in STRUCTURE}
    return g.to(device).eval()


def _build(model: str, kwargs: dict, file: Path) -> nn.Module:
    """The generator from its kwargs; keys its constructor does not take (a newer or older
    fashiongan's) are dropped with a warning instead of refusing the weights."""
    if model not in REGISTRY:
        raise UserError(f"{file}: unknown model {model!r} (models: {', '.join(REGISTRY)})")
    accepted = {
        name
        for cls in REGISTRY[model][0].__mro__
        if "__init__" in vars(cls) and issubclass(cls, nn.Module) and cls is not nn.Module
        for name, p in inspect.signature(cls.__init__).parameters.items()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and name != "self"
    }
    unknown = sorted(set(kwargs) - accepted)
    if unknown:
        warnings.warn(
            f"{file}: ignoring model argument(s) this version does not know: {', '.join(unknown)}",
            stacklevel=3,
        )
    try:
        return generator_from(model, {k: v for k, v in kwargs.items() if k in accepted})
    except (TypeError, ValueError) as e:
        raise UserError(f"{file}: model arguments this version cannot build ({e})") from None


def _from_format_1(values: dict, dataset: DatasetInfo, file: Path) -> tuple[str, dict]:
    """A format-1 snapshot's model and kwargs, read from the training config it stored."""
    try:
        model = values["model"]
        kwargs = dict(
            latent_dim=values.get("latent_dim", 100),
            g_width=values["g_width"],
            num_classes=values.get("num_classes", 0),
            channels=dataset.channels,
            resolution=dataset.resolution,
        )
    except (KeyError, TypeError):
        raise UserError(f"{file}: its stored config does not name and size a model") from None
    return model, kwargs
