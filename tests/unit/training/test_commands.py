"""commands.json: the `fashiongan train` command lines that trained a run folder, each with the
iteration it started from (what a shared model's card quotes)."""

from __future__ import annotations

import json
from pathlib import Path

from fashiongan.training import commands as runs


def test_sessions_are_kept_in_order_and_a_resume_from_an_older_state_drops_the_later(tmp_path):
    runs.record_command(tmp_path, "fashiongan train --out r", 0)
    runs.record_command(tmp_path, "fashiongan train --resume r", 100)
    runs.record_command(tmp_path, "fashiongan train --resume r --set iterations=300", 200)
    assert runs.recorded_commands(tmp_path) == [
        "fashiongan train --out r", "fashiongan train --resume r",
        "fashiongan train --resume r --set iterations=300"]
    # back to the state at 100: the sessions from 100 on ran iterations that are run again
    runs.record_command(tmp_path, "fashiongan train --resume r/checkpoints/state-00000100.pt "
                        "--overwrite", 100)
    sessions = json.loads((tmp_path / runs.COMMANDS_JSON).read_text())["sessions"]
    assert [s["from_iteration"] for s in sessions] == [0, 100]
    assert sessions[1]["command"].endswith("--overwrite")


def test_a_damaged_file_starts_afresh_and_none_is_no_command(tmp_path):
    assert runs.recorded_commands(tmp_path) == []
    (tmp_path / runs.COMMANDS_JSON).write_text("{not json")
    assert runs.recorded_commands(tmp_path) == []
    runs.record_command(tmp_path, "fashiongan train", 0)
    assert runs.recorded_commands(tmp_path) == ["fashiongan train"]


def test_the_start_iteration_is_the_states():
    assert runs.start_iteration(None) == 0
    assert runs.start_iteration(Path("run/checkpoints/state-00001200.pt")) == 1200
