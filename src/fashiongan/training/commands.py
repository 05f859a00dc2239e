"""commands.json in a run folder: the `fashiongan train` command lines that trained it, each
with the iteration it started from, as typed (what a shared model's card quotes)."""

from __future__ import annotations

import json
from pathlib import Path

from fashiongan.fileio import atomic_write_json
from fashiongan.training import states

COMMANDS_JSON = "commands.json"


def start_iteration(state: Path | None) -> int:
    """The iteration a training session starts from: its state file's, or 0 for a new run."""
    m = states.STATE_RE.match(state.name) if state is not None else None
    return int(m.group(1)) if m else 0


def record_command(run_dir: Path, command: str, from_iteration: int) -> None:
    """Add a training session's command line to commands.json (what a model card quotes).
    Sessions recorded from `from_iteration` on are dropped: a resume from an older state runs
    their iterations again, as metrics.jsonl's later lines are dropped."""
    path = run_dir / COMMANDS_JSON
    try:
        old = json.loads(path.read_text(encoding="utf-8"))["sessions"]
    except (OSError, ValueError, KeyError, TypeError):
        old = []
    kept = [s for s in old if isinstance(s, dict) and isinstance(s.get("from_iteration"), int)
            and s["from_iteration"] < from_iteration]
    atomic_write_json(path, {"sessions": [*kept, {"command": command,
                                                  "from_iteration": from_iteration}]})


def record_session(run_dir: Path, command: str, from_iteration: int) -> None:
    """record_command, for a session that saved a training state past where it started (one
    refused or failed before its first state leaves no trace)."""
    latest = states.latest_state(run_dir / "checkpoints")
    if latest is not None and start_iteration(latest) > from_iteration:
        record_command(run_dir, command, from_iteration)


def recorded_commands(run_dir: Path) -> list[str]:
    """The command lines of commands.json, oldest first ([] when there is none)."""
    try:
        sessions = json.loads((run_dir / COMMANDS_JSON).read_text(encoding="utf-8"))["sessions"]
        return [str(s["command"]) for s in sessions]
    except (OSError, ValueError, KeyError, TypeError):
        return []
