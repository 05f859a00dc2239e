"""threads=0 in training: the idle cores at start, and on resume the count the run had (MKL's
float32 rounding follows the thread count: a resumed run must keep it to continue bit for
bit)."""

from __future__ import annotations

import json

import torch

from fashiongan.accel import threads
from fashiongan.training import states
from fashiongan.training.loop import training_loop


def test_auto_threads_are_recorded_and_kept_on_resume(tmp_path, tiny_cfg, data_dir, monkeypatch):
    run = tmp_path / "run"
    monkeypatch.setattr(threads, "auto_threads", lambda window_s=0: 1)
    monkeypatch.setattr(threads, "RECHECK_S", float("inf"))  # the load stays as the test says
    cfg = tiny_cfg(threads=0, iterations=4, checkpoint_interval=2, log_interval=2,
                   sample_interval=4)
    caller = torch.get_num_threads()
    training_loop(cfg, run, data_dir=data_dir, progress=False, max_train_images=256)
    assert torch.get_num_threads() == caller  # the caller's count comes back
    first = states.load_state(run / "checkpoints")
    assert first["threads"] == 1
    # the machine is idler now; the resumed run still keeps the run's count
    monkeypatch.setattr(threads, "auto_threads", lambda window_s=0: 2)
    training_loop(cfg.replace(iterations=6), run, data_dir=data_dir, progress=False,
                  resume=run)
    assert states.load_state(run / "checkpoints")["threads"] == 1
    # a fresh run takes what the machine offers then
    training_loop(cfg, tmp_path / "other", data_dir=data_dir, progress=False,
                  max_train_images=256)
    assert states.load_state(tmp_path / "other" / "checkpoints")["threads"] == 2


class _Busy:
    """Another program on one core at every look."""

    def cores(self):
        return 1.0


def test_training_gives_up_a_core_that_another_program_takes(tmp_path, tiny_cfg, data_dir,
                                                              monkeypatch):
    monkeypatch.setattr(threads, "auto_threads", lambda window_s=0: 2)
    monkeypatch.setattr(threads, "usable_cores", lambda: 2)
    monkeypatch.setattr(threads, "OthersLoad", _Busy)
    monkeypatch.setattr(threads, "RECHECK_S", 0.0)
    for fixed, want in ((0, [1, 1]), (2, [2, 2])):  # auto follows the load; a fixed count stays
        run = tmp_path / f"run{fixed}"
        cfg = tiny_cfg(threads=fixed, iterations=4, log_interval=2, checkpoint_interval=4,
                       sample_interval=4)
        training_loop(cfg, run, data_dir=data_dir, progress=False, max_train_images=256)
        lines = (run / "metrics.jsonl").read_text().splitlines()
        assert [json.loads(x)["threads"] for x in lines] == want
