"""What a model card may say about a generator: only what was recorded.

The figures come from the files the commands wrote, never retyped: a run's evaluation.json
(`fashiongan evaluate`) and audit.json (`fashiongan audit`), or the record that ships beside a
shipped generator's weights (src/fashiongan/weights/<name>.json). Each value keeps the file it
came from; what no file holds is None, and the card says "not evaluated" / "not recorded".
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from fashiongan.data import FASHION_MNIST, FILES
from fashiongan.errors import UserError
from fashiongan.fileio import file_digest
from fashiongan.training.commands import recorded_commands

# (key in a report's "samples" or a shipped record, name on the card)
REPORT_FIGURES = (("fid", "FID"), ("kid", "KID"), ("precision", "precision (k=3)"),
                  ("recall", "recall (k=3)"), ("density", "density (k=5)"),
                  ("coverage", "coverage (k=5)"))


@dataclass
class Figure:
    name: str
    value: float
    floor: float | None = None  # the real-data floor at the same N, when recorded

    @property
    def text(self) -> str:
        return show(self.value)


@dataclass
class Evaluation:
    source: str  # the file the figures were read from
    judge: str  # whose features scored the samples
    n: int | None  # generated images scored
    against: str  # what they were scored against
    figures: list[Figure]
    command: str | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class Audit:
    source: str
    n: int
    copy_fraction: float
    expected: float  # the share real unseen images get flagged
    median_distance: float | None
    command: str | None = None


@dataclass
class Training:
    source: str | None  # where the facts below were read
    command: str | None
    wall_s: float | None
    step: int | None
    images_seen: int | None
    settings: dict = field(default_factory=dict)  # the recorded training configuration
    machine: str | None = None
    continued_with: str | None = None
    last_session_wall: bool = False  # wall_s is the last session's (a run's metrics.jsonl)


def show(v) -> str:
    """A recorded number as the card prints it: 6 significant digits, nothing rounded away
    that a reader would compare."""
    return str(v) if isinstance(v, int) else f"{v:.6g}"


def read_json(path: Path) -> dict | None:
    """A record file, None when absent; an unreadable one is an error (a card must not drop
    figures silently)."""
    if not path.is_file():
        return None
    try:
        out = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise UserError(f"{path}: not a readable record ({e})") from None
    if not isinstance(out, dict):
        raise UserError(f"{path}: not a record (a JSON object expected)")
    return out


def evaluation_from_report(path: Path) -> Evaluation | None:
    """The figures of `fashiongan evaluate`'s JSON at path (None: never evaluated)."""
    r = read_json(path)
    if r is None:
        return None
    try:
        s, floor = r["samples"], r.get("real_floor") or {}
        figures = [Figure(name, float(s[key]), _num(floor.get(key)))
                   for key, name in REPORT_FIGURES if key in s]
        if "accuracy" in s.get("classes", {}):
            figures.append(Figure("conditional accuracy (evaluator)",
                                  float(s["classes"]["accuracy"])))
        judge = r.get("judge") or {}
        if "conditional_accuracy" in judge:
            figures.append(Figure("conditional accuracy (judge)",
                                  float(judge["conditional_accuracy"]),
                                  _num(judge.get("judge_test_accuracy"))))
        network = r.get("network", "?")
        sha = r.get("evaluator_sha256") or (r.get("network_key") or "").partition(":")[2]
        who = f"{network} features" + (f" (sha256 {sha})" if sha else "")
        if judge.get("path"):
            who += f"; classes by the judge {judge['path']} (sha256 {judge.get('judge_sha256')})"
        data = r.get("dataset") or {}
        against = (f"the {r.get('test_images', '?')} test images of "
                   f"{data.get('name') or data.get('path') or 'the data set'}")
        return Evaluation(str(path), who, int(s["n"]), against, figures, r.get("command"))
    except (KeyError, TypeError, ValueError) as e:
        raise UserError(f"{path}: not an evaluation made by `fashiongan evaluate` "
                        f"({type(e).__name__}: {e})") from None


def audit_from_report(path: Path) -> Audit | None:
    """`fashiongan audit`'s JSON at path (None: no audit was run)."""
    r = read_json(path)
    return None if r is None else _audit(r, str(path), path)


def _audit(r: dict, source: str, path: Path) -> Audit:
    try:
        return Audit(source, int(r["n"]), float(r["copy_fraction"]),
                     float(r["expected_for_unseen_images"]), _num(r.get("median_distance")),
                     r.get("command"))
    except (KeyError, TypeError, ValueError) as e:
        raise UserError(f"{path}: not an audit made by `fashiongan audit` "
                        f"({type(e).__name__}: {e})") from None


def from_shipped_record(path: Path) -> tuple[Training, Evaluation | None, Audit | None]:
    """The training facts, figures and audit of a shipped generator's record
    (weights/<name>.json); its audit is `fashiongan audit`'s summary under "audit"."""
    r = read_json(path)
    where = "/".join(path.parts[-3:])  # fashiongan/weights/<name>.json, wherever installed
    if r is None:
        return Training(None, None, None, None, None), None, None
    training = Training(where, r.get("trained_as") or r.get("command"),
                        _num(r.get("train_wall_s")), r.get("step"), r.get("images_seen"),
                        r.get("config") or {}, r.get("machine"), r.get("continued_with"))
    audit = _audit(r["audit"], f"{where} (\"audit\")", path) if "audit" in r else None
    figures = [Figure(name, float(r[key]), _num(r.get(f"real_floor_{key}")))
               for key, name in REPORT_FIGURES if key in r]
    if "conditional_accuracy" in r:
        figures.append(Figure("conditional accuracy (evaluator)",
                              float(r["conditional_accuracy"])))
    if not figures:
        return training, None, audit
    histogram = r.get("class_histogram")
    n = sum(histogram) if histogram else None  # every scored sample is in the histogram
    sha = r.get("evaluator_sha256")
    judge = "the shipped Fashion-MNIST evaluator's features" + (f" (sha256 {sha})" if sha else "")
    evaluation = Evaluation(where, judge, n, "the 10,000 Fashion-MNIST test images",
                            figures, r.get("evaluated_with"))
    return training, evaluation, audit


def from_run(run_dir: Path, snapshot_info: dict) -> Training:
    """A run folder's training facts: its commands.json (the command lines that trained it),
    config.json (the resolved settings) and the last line of metrics.jsonl (wall-clock of the
    last training session). A run trained before commands.json existed has no command."""
    settings = read_json(run_dir / "config.json") or {}
    wall = None
    metrics = run_dir / "metrics.jsonl"
    if metrics.is_file():
        lines = [ln for ln in metrics.read_text(encoding="utf-8").splitlines() if ln.strip()]
        try:
            wall = _num(json.loads(lines[-1]).get("wall_s")) if lines else None
        except ValueError:
            wall = None
    commands = recorded_commands(run_dir)
    return Training(str(run_dir), commands[0] if commands else None, wall,
                    snapshot_info.get("step"), snapshot_info.get("images_seen"),
                    settings if "model" in settings else {},
                    continued_with="`, then `".join(commands[1:]) or None,
                    last_session_wall=True)


@dataclass
class TrainingData:
    description: str  # what it is, for people
    digest: str | None  # SHA-256 that pins it (an imported set's manifest.json), when known
    digest_of: str | None = None  # which file that digest is of


def training_data(info, run_dir: Path | None) -> TrainingData:
    """The data set the generator learned from: a run's data.json names an imported set (its
    manifest.json's SHA-256, when the set is still there), no data.json and Fashion-MNIST's
    shape is Fashion-MNIST's training split (the IDX content's SHA-256 that data/fmnist.py
    checks)."""
    record = read_json(run_dir / "data.json") if run_dir is not None else None
    if record is not None and record.get("path"):
        manifest = Path(record["path"]) / "manifest.json"
        digest = file_digest(manifest) if manifest.is_file() else None
        return TrainingData(f"the data set imported at {record['path']} (its train split)",
                            digest, "manifest.json" if digest else None)
    if info == FASHION_MNIST:
        spec = FILES[("train", "images")]
        return TrainingData(f"Fashion-MNIST's training split ({spec.count:,} images, "
                            "Zalando Research, MIT licence)", spec.sha256,
                            f"{spec.name} (decompressed content)")
    return TrainingData(f"{info.name or 'an imported data set'} (not recorded where; the "
                        "package was made from a snapshot without its run folder)", None)


def _num(v) -> float | None:
    return None if v is None else float(v)
