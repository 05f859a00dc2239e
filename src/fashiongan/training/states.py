"""Training states: G, D, EMA, both optimisers, every RNG state and the step, for `--resume`.

Saved with torch.save as plain tensors and containers and read back with weights_only=True; a
JSON sidecar holds each file's SHA-256, so a half-written or damaged state is detected and
skipped. (The generator to sample from is a snapshot: snapshot.py.)
"""

from __future__ import annotations

import io
import json
import os
import re
import warnings
from pathlib import Path

import torch

from fashiongan.errors import UserError
from fashiongan.fileio import atomic_write, atomic_write_json, file_digest

STATE_RE = re.compile(r"^state-(\d{8})\.pt$")


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
