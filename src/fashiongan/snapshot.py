"""Two kinds of saved file (as in stylegan2-ada / edm):

* snapshot: the generator to sample from (EMA weights when EMA is on) as safetensors, its config
  in the file's metadata and in config.json beside it. No pickles anywhere.
* training state: G, D, EMA, both optimisers, every RNG state and the step, for `--resume`.
  Saved with torch.save as plain tensors/containers and read back with weights_only=True; a JSON
  sidecar holds its SHA-256 so a half-written or damaged state is detected and skipped.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import warnings
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save
from torch import nn

from fashiongan import config as config_mod
from fashiongan.data import FASHION_MNIST, DatasetInfo
from fashiongan.errors import UserError
from fashiongan.fileio import atomic_write, atomic_write_bytes, atomic_write_json, file_digest
from fashiongan.models import build_generator, generator_from, generator_kwargs

STATE_RE = re.compile(r"^state-(\d{8})\.pt$")
SNAPSHOT_FILE = "generator.safetensors"


# --- snapshots -------------------------------------------------------------------------------

SNAPSHOT_FORMAT = 2  # 1: config only (Fashion-MNIST implied); 2: + model kwargs and data set
_STRUCTURE = ("format", "model", "model_kwargs", "dataset", "config")  # not the run's own info


def save_snapshot(generator: nn.Module, cfg, folder: str | Path, info: dict | None = None,
                  dataset: DatasetInfo = FASHION_MNIST) -> Path:
    folder = Path(folder)
    meta = {"format": SNAPSHOT_FORMAT, "model": cfg.model,
            "model_kwargs": generator_kwargs(cfg, dataset), "dataset": dataset.to_dict(),
            "config": cfg.to_dict(), **(info or {})}
    tensors = {k: v.detach().cpu().contiguous() for k, v in generator.state_dict().items()}
    # serialised in memory, then written by Python: a full disk is an OSError naming the file
    atomic_write_bytes(folder / SNAPSHOT_FILE,
                       save(tensors, metadata={"fashiongan": json.dumps(meta)}))
    atomic_write_json(folder / "config.json", meta)
    return folder


# Generators that ship in the package, by the name `sample`, `serve`, `export`, `audit` and
# `project` accept in place of a path: "default" is the default preset's 15-minute model (the
# one used when no checkpoint is given); "best" the best-scoring, 100 minutes of the network and
# settings the best preset now trains (README, Better clothes), also called "long", its name
# when it first shipped; "resnet" the residual nets the best preset trained before (1 h 45 min).
# A path that exists wins over a name.
SHIPPED = {"default": "generator.safetensors", "best": "generator-long.safetensors",
           "long": "generator-long.safetensors", "resnet": "generator-resnet.safetensors"}


def shipped_generator(name: str = "default") -> Path:
    """The shipped generator called `name` (a UserError when this build has none of it)."""
    from importlib import resources

    if name not in SHIPPED:
        raise UserError(f"no shipped generator is named {name!r} (names: {', '.join(SHIPPED)})")
    file = Path(str(resources.files("fashiongan") / "weights" / SHIPPED[name]))
    if not file.is_file():
        raise UserError(f"the {name!r} generator does not ship in this build ({file} missing)")
    return file


def snapshot_path(path: str | Path) -> Path:
    """A run folder, a snapshot folder, a .safetensors file or a shipped generator's name
    (SHIPPED) -> the .safetensors file."""
    p = Path(path)
    for cand in (p, p / SNAPSHOT_FILE, p / "snapshot" / SNAPSHOT_FILE):
        if cand.is_file():
            return cand
    if not p.exists() and str(path) in SHIPPED:
        return shipped_generator(str(path))
    raise UserError(f"{p}: no generator snapshot found (looked for {SNAPSHOT_FILE} in it "
                    "and in its snapshot/ folder)")


def load_generator(path: str | Path, device: str | torch.device = "cpu") -> nn.Module:
    """Rebuild the generator from a snapshot; it comes back in eval mode."""
    file = snapshot_path(path)
    if file.suffix in (".pt", ".pth", ".pkl", ".pickle", ".ckpt"):
        raise UserError(f"{file}: refusing a pickle-based file; generators load from "
                        "safetensors only")
    try:
        from safetensors import safe_open

        with safe_open(str(file), framework="pt") as f:
            meta = json.loads((f.metadata() or {}).get("fashiongan", "null"))
        tensors = load_file(str(file))
    except (SafetensorError, OSError, ValueError, json.JSONDecodeError) as e:
        # diagnosed only now: a valid header's length may begin with these very bytes
        with contextlib.suppress(OSError), open(file, "rb") as f:
            if f.read(2) in (b"PK", *(bytes([0x80, v]) for v in range(2, 6))):
                raise UserError(f"{file}: this is a pickle/zip file, not safetensors; "
                                "refusing it") from None
        raise UserError(f"{file}: not a readable safetensors snapshot ({e})") from None
    if not isinstance(meta, dict) or "config" not in meta:
        raise UserError(f"{file}: safetensors file without a fashiongan config in its metadata")
    cfg = _snapshot_config(meta["config"], file)
    dataset = DatasetInfo.from_dict(meta["dataset"]) if "dataset" in meta else FASHION_MNIST
    try:  # format 2 rebuilds from the model's own kwargs; format 1 from its config
        g = (generator_from(meta["model"], meta["model_kwargs"]) if "model_kwargs" in meta
             else build_generator(cfg, dataset))
    except TypeError as e:
        raise UserError(f"{file}: model arguments this version cannot build ({e})") from None
    try:
        g.load_state_dict(tensors)
    except RuntimeError as e:
        raise UserError(f"{file}: weights do not fit model {cfg.model!r} "
                        f"({str(e).splitlines()[0]})") from None
    g.config, g.dataset = cfg, dataset
    g.snapshot_info = {k: v for k, v in meta.items() if k not in _STRUCTURE}
    return g.to(device).eval()


def _snapshot_config(values: dict, file: Path):
    """The snapshot's config; keys this version does not know (a newer or an older fashiongan's
    training-only keys) are dropped with a warning instead of refusing the weights."""
    unknown = sorted(set(values) - set(config_mod.FIELDS))
    if unknown:
        warnings.warn(f"{file}: ignoring config key(s) this version does not know: "
                      f"{', '.join(unknown)}", stacklevel=3)
    known = {k: v for k, v in values.items() if k in config_mod.FIELDS}
    return config_mod.from_dict(known, source=str(file))


# --- training states -------------------------------------------------------------------------

def _torch_save(state: dict, tmp: str) -> None:
    try:
        torch.save(state, tmp)
    except RuntimeError:
        # torch's zip writer reports a full disk as "unexpected pos"; written again through
        # Python, the same fault is an OSError that says what it is (ENOSPC...)
        buf = io.BytesIO()
        torch.save(state, buf)
        with open(tmp, "wb") as f:
            f.write(buf.getbuffer())
        raise  # the disk took it: the fault was torch's own


def save_state(folder: str | Path, step: int, state: dict, keep: int) -> Path:
    """Write state-<step>.pt and its sidecar atomically, then prune to the newest `keep`."""
    folder = Path(folder)
    path = folder / f"state-{step:08d}.pt"
    atomic_write(path, lambda tmp: _torch_save(state, tmp))
    atomic_write_json(path.with_suffix(".json"), {"step": step, "sha256": file_digest(path),
                                                  "bytes": path.stat().st_size})
    for old in list_states(folder)[:-keep]:
        for f in (old, old.with_suffix(".json")):
            f.unlink(missing_ok=True)
    return path


def list_states(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if STATE_RE.match(p.name))


def _valid(path: Path) -> str | None:
    """None when the state's sidecar exists and its checksum matches; else the fault."""
    side = path.with_suffix(".json")
    try:
        meta = json.loads(side.read_text())
    except (OSError, json.JSONDecodeError):
        return "no readable checksum sidecar (interrupted while saving?)"
    if meta.get("sha256") != file_digest(path):
        return "checksum mismatch (file damaged or half-written)"
    return None


def is_valid(path: str | Path) -> bool:
    """The state's checksum sidecar exists and matches (a damaged state is no state to lose)."""
    return _valid(Path(path)) is None


def latest_state(folder: str | Path) -> Path | None:
    """The newest training state whose checksum verifies; damaged ones are named in a warning."""
    states = list_states(folder)
    for i in range(len(states) - 1, -1, -1):
        fault = _valid(states[i])
        if fault is None:
            return states[i]
        prev = states[i - 1].name if i else "none"
        warnings.warn(f"{states[i]}: {fault}; falling back to the previous state ({prev})",
                      stacklevel=2)
    return None


def load_state(path: str | Path) -> dict:
    path = Path(path)
    if path.is_dir():
        found = latest_state(path / "checkpoints" if (path / "checkpoints").is_dir() else path)
        if found is None:
            raise UserError(f"{path}: no valid training state to resume from")
        path = found
    elif path.with_suffix(".json").exists() and (fault := _valid(path)):
        raise UserError(f"{path}: {fault}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unpickling fault means "not our state file"
        raise UserError(f"{path}: not a fashiongan training state ({type(e).__name__}: "
                        f"{str(e).splitlines()[0] if str(e) else ''})") from None
    if not isinstance(state, dict) or "step" not in state or "G" not in state:
        raise UserError(f"{path}: not a fashiongan training state")
    state["path"] = os.fspath(path)
    return state
