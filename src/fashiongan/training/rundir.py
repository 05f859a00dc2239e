"""Run folders: which folder a training writes into, how `--resume` finds, continues or branches
a run without destroying it, and one writer per folder at a time.

Resume rules: `--resume X --out NEW` (NEW another folder) branches: the training state is copied
into NEW and training continues there; X is never written. Without `--out`, training continues
in X: from its newest state freely, from an older one only with `--overwrite` (which deletes the
later states it would otherwise mix with). `--set` on resume may change only the keys of the
sections that allow it (config.RESUMABLE: optimisation, output, runtime), and those are applied
for real (the optimisers' hyper-parameters included); any other changed key is refused, and so
is `--preset`.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from fashiongan import config, presets
from fashiongan.config import TrainConfig
from fashiongan.data import FASHION_MNIST, DatasetInfo
from fashiongan.errors import UserError
from fashiongan.outputs import printable
from fashiongan.training import states
from fashiongan.training.commands import COMMANDS_JSON

DATA_JSON = "data.json"  # beside config.json: which data set a run trains on


def recorded_data(run_dir: Path) -> tuple[str | None, DatasetInfo | None]:
    """(the data set's path, None for Fashion-MNIST; its DatasetInfo, None where no record
    says) that a run trained on, from its data.json. A resume must train on the data it
    started on: a damaged data.json is a UserError, and so is a missing one where the run's
    snapshot shows another data set than Fashion-MNIST (runs before data.json was written for
    Fashion-MNIST too have none)."""
    f = run_dir / DATA_JSON
    if not f.exists() and not f.is_symlink():
        info = _snapshot_dataset(run_dir / "snapshot" / "generator.safetensors")
        if info is not None and not same_data(info, FASHION_MNIST):
            raise UserError(f"{f}: missing; the run trained on {describe(info)}, not on "
                            "Fashion-MNIST, and a resume must train on the data it started on "
                            "(put data.json back, or train anew with --data)")
        return None, info
    try:
        record = json.loads(f.read_text(encoding="utf-8"))
        path = record["path"]
        if path is not None and not isinstance(path, str):
            raise TypeError(f"path must be a string or null, not {type(path).__name__}")
        info = DatasetInfo.from_dict(record["info"]) if "info" in record else None
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError,
            UserError) as e:
        raise UserError(f"{f}: unreadable ({printable(str(e))[:200]}); a resume must train on "
                        "the data it started on, which this file names") from None
    return path, info


def check_resumed_data(run_dir: Path, info: DatasetInfo, recorded: DatasetInfo | None,
                       path: str | None) -> None:
    """The data set a resume opened is the one the run recorded (shape and classes)."""
    if recorded is not None and not same_data(info, recorded):
        raise UserError(f"{run_dir / DATA_JSON}: the run trained on {describe(recorded)}; "
                        f"{path or 'Fashion-MNIST'} is {describe(info)}")


def same_data(a: DatasetInfo, b: DatasetInfo) -> bool:
    return (a.resolution, a.channels, a.class_names) == (b.resolution, b.channels,
                                                         b.class_names)


def describe(info: DatasetInfo) -> str:
    classes = f"{info.num_classes} classes" if info.num_classes else "unlabelled"
    return (f"{info.name or 'a data set'} ({info.channels}x{info.resolution}x"
            f"{info.resolution}, {classes})")


def _snapshot_dataset(file: Path) -> DatasetInfo | None:
    """The data set a snapshot's metadata names (None: no readable snapshot)."""
    from safetensors import safe_open

    try:
        with safe_open(str(file), framework="pt") as f:
            meta = json.loads((f.metadata() or {}).get("fashiongan", "null"))
        return DatasetInfo.from_dict(meta["dataset"]) if "dataset" in meta else FASHION_MNIST
    except Exception:  # noqa: BLE001 - no evidence either way; data.json's absence decides
        return None


@dataclass
class Resume:
    run_dir: Path  # where training continues
    state: Path  # the training state it starts from (inside run_dir once `prepare` ran)
    cfg: TrainConfig
    source: Path  # the run folder the state came from
    later: list[Path]  # states newer than `state` in an in-place resume (deleted by prepare)

    @property
    def data(self) -> tuple[str | None, DatasetInfo | None]:
        """The data set the run trains on (recorded_data), path None for Fashion-MNIST."""
        return recorded_data(self.source)

    @property
    def branch(self) -> bool:
        return self.run_dir.resolve() != self.source.resolve()

    def prepare(self) -> None:
        """Branch: copy the state (and its checksum sidecar, config, metrics) into run_dir.
        In place with --overwrite: delete the states newer than the one resumed."""
        if self.branch:
            ckpts = self.run_dir / "checkpoints"
            ckpts.mkdir(parents=True, exist_ok=True)
            for f in (self.state, self.state.with_suffix(".json")):
                if f.is_file():
                    shutil.copy2(f, ckpts / f.name)
            for name in ("config.json", "metrics.jsonl", DATA_JSON, COMMANDS_JSON):
                if (self.source / name).is_file():
                    shutil.copy2(self.source / name, self.run_dir / name)
            self.state = ckpts / self.state.name
        for old in self.later:
            for f in (old, old.with_suffix(".json")):
                f.unlink(missing_ok=True)


def _source(resume: str, out: str | None) -> tuple[Path, Path | None]:
    """(run folder, state file or None for 'its newest') that --resume points to."""
    if resume == "latest":
        if out:
            return Path(out), None
        runs = [p for p in Path("runs").glob("*/checkpoints") if p.is_dir()]
        if not runs:
            raise UserError("--resume latest: no run with checkpoints under runs/; "
                            "name one with --out")
        return max(runs, key=lambda p: p.stat().st_mtime).parent, None
    p = Path(resume)
    if p.is_dir():
        return p, None
    if p.is_file():
        states.load_state(p)  # a wrong file is the fault to name, not its folder
        return (p.parent.parent if p.parent.name == "checkpoints" else p.parent), p
    raise UserError(f"--resume {resume}: no such file or folder")


def _changed_config(saved: TrainConfig, overrides: list[str]) -> TrainConfig:
    changes = presets.parse_overrides(overrides)
    cfg = config.from_dict({**saved.to_dict(), **changes}, source="--set")
    fixed = sorted(k for k in saved.changed(cfg) if not config.FIELDS[k].resumable)
    if fixed:
        raise UserError(f"--set {', '.join(fixed)}: cannot change on --resume (the run's model, "
                        f"data order or objective); keys that may change: "
                        f"{', '.join(config.RESUMABLE)}")
    return cfg


def plan_resume(resume: str, out: str | None, overrides: list[str], preset: str | None,
                overwrite: bool) -> Resume:
    if preset:
        raise UserError(f"--preset {preset}: a resumed run keeps its own config.json; change "
                        f"keys with --set (keys that may change: {', '.join(config.RESUMABLE)})")
    source, state = _source(resume, out)
    cfg = _changed_config(config.load_json(source / "config.json"), overrides)
    newest = states.latest_state(source / "checkpoints")
    if state is None:
        state = newest
    if state is None:
        raise UserError(f"{source}: no valid training state to resume from")
    target = Path(out) if out else source
    plan = Resume(target, state, cfg, source, [])
    if plan.branch:
        check_new_folder(target, overwrite)
        return plan
    later = [p for p in states.list_states(source / "checkpoints")
             if p.name > state.name and states.is_valid(p)]
    if later and not overwrite:
        raise UserError(f"--resume {state}: continuing in {source} from this state would "
                        f"replace the later training state(s) {', '.join(p.name for p in later)} "
                        f"and metrics past it; branch with --out NEW_FOLDER, or pass --overwrite")
    plan.later = later
    return plan


def check_new_folder(d: Path, overwrite: bool) -> None:
    if d.exists() and not d.is_dir():
        raise UserError(f"--out {d}: exists and is not a folder")
    if d.is_dir() and any(d.iterdir()) and not overwrite:
        raise UserError(f"--out {d}: folder exists and is not empty; pass --overwrite to "
                        "replace it or --resume to continue it")
    why = why_not_a_run(d) if d.is_dir() else None
    if why:
        raise UserError(f"--out {d}: {why}; refusing to replace it")


# What a training writes into its folder. A fresh run with --overwrite removes these first: left
# behind, an older run's later states outrank the new run's (pruning then deletes the new ones,
# so a crash would leave nothing to resume, and --resume would continue the old run), and its
# snapshot-best/ and plots would pass for the new run's. Other files in the folder are the user's.
BEST_DIR = "snapshot-best"  # the best-FID snapshot of --eval-every (metrics.training)
RUN_FILES = ("checkpoints", "samples", "snapshot", BEST_DIR, "config.json", DATA_JSON,
             COMMANDS_JSON, "metrics.jsonl", "losses.png", "fid.png")


# the files fashiongan writes in a run's folders (a temp file of an interrupted write too)
_TMP = r"(\.[^/]*\.tmp)?"
RUN_PARTS = {"checkpoints": re.compile(r"\.?state-\d+\.(pt|json)" + _TMP),
             "samples": re.compile(r"\.?grid-[\w-]+\.png" + _TMP),
             "snapshot": re.compile(r"\.?(generator\.safetensors|config\.json)" + _TMP),
             BEST_DIR: re.compile(r"\.?(generator\.safetensors|config\.json)" + _TMP)}


def why_not_a_run(d: Path) -> str | None:
    """None when what the folder holds under a run's names (RUN_FILES) is a fashiongan run's:
    its config.json a run's config (mostly fashiongan's keys, a model among them), its
    checkpoints/, samples/ and snapshot folders nothing but fashiongan's files. Else the file
    that says otherwise: a web project's snapshot/ or config.json is never replaced. A folder
    holding none of those names is no run at all; training adds its files beside the rest."""
    present = [n for n in RUN_FILES if (d / n).exists() or (d / n).is_symlink()]
    if not present:
        return None
    try:
        values = json.loads((d / "config.json").read_text())
        values = values.get("config", values) if isinstance(values, dict) else None
    except (OSError, ValueError, RecursionError):
        values = None
    if not isinstance(values, dict) or "model" not in values or \
            len(set(values) & set(config.FIELDS)) * 2 < len(values):
        return "config.json is not a fashiongan run's config"
    for sub, pattern in RUN_PARTS.items():
        folder = d / sub
        if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
            return f"{sub} is not a run's folder"
        for f in sorted(folder.rglob("*")) if folder.is_dir() else []:
            if f.is_dir() or not pattern.fullmatch(f.name):
                return f"holds {printable(str(f.relative_to(d)))}, which fashiongan did not write"
    return None


def clear_previous_run(run_dir: Path) -> list[str]:
    """Remove an earlier run's files (RUN_FILES) from run_dir; returns the names removed. Call it
    holding the folder (`hold`), so a training still writing there is never emptied under it.
    A folder without a run's checkpoints/ or snapshot/ is not a run: its files are left alone,
    even ones named like a run's (a project's own config.json)."""
    if not any((run_dir / d).is_dir() for d in ("checkpoints", "snapshot")):
        return []
    removed = []
    for name in RUN_FILES:
        p = run_dir / name
        if p.exists() or p.is_symlink():
            removed.append(name + "/" if _remove(p) else name)
    return removed


def _remove(p: Path, ignore_errors: bool = False) -> bool:
    """Delete a file, a link (not what it points to) or a folder tree (ignore_errors: as far as
    rmtree can); True if it was a folder."""
    if p.is_dir() and not p.is_symlink():
        shutil.rmtree(p, ignore_errors=ignore_errors)
        return True
    p.unlink(missing_ok=True)
    return False


def new_run_dir(out: str | None, name: str, overwrite: bool, root: str = "runs") -> Path:
    """`--out DIR` as given (refused if it holds files, unless overwrite), else runs/<name>-NNN."""
    if out:
        d = Path(out)
        check_new_folder(d, overwrite)
    else:
        i = 0
        while (d := Path(root) / f"{name}-{i:03d}").exists():
            i += 1
    try:
        d.mkdir(parents=True, exist_ok=True)
        probe = d / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise UserError(f"cannot write to run folder {d}: {e.strerror or e}") from None
    return d


@contextlib.contextmanager
def hold(run_dir: Path):
    """An exclusive lock on the run folder for the whole training: a second training into the
    same folder is refused at once instead of interleaving its files with the first's."""
    fd = os.open(run_dir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UserError(f"{run_dir}: another fashiongan training is writing into this "
                            "folder") from None
        yield
    finally:
        os.close(fd)  # closing releases the lock


def prior_contents(d: Path) -> str:
    """'none', 'empty' or 'files': what a run folder held before this run (remove_unfinished)."""
    if not d.is_dir():
        return "none"
    return "files" if any(d.iterdir()) else "empty"


def remove_unfinished(run_dir: Path, prior: str, copied: Path | None = None) -> None:
    """After a failure before the first training state (other than `copied`, the one a branch
    starts from): take back what this run made, so no half-made folder blocks the next --out.
    A folder the user made stays, emptied; one that held files before is left as it is."""
    made = [p for p in states.list_states(run_dir / "checkpoints")
            if copied is None or p.name != copied.name]
    if prior == "files" or made:
        return
    if prior == "none":
        shutil.rmtree(run_dir, ignore_errors=True)
        return
    for child in run_dir.iterdir():
        _remove(child, ignore_errors=True)
