"""Training a fabric: the run folder rules of `fashiongan train` (a new folder, `--overwrite`,
`--resume` in place or as a branch, one writer per folder, nothing half-made left behind)
around the same training loop, with the fabric as its data set (random crops), the `texture`
preset as its configuration and the fabric preview as its grids."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from fashiongan import presets
from fashiongan.data.fabric import open_fabric
from fashiongan.errors import UserError
from fashiongan.texture.fabricdir import (
    FABRIC_DIR,
    is_fabric_run,
    load_fabric,
    preview,
    save_fabric,
)
from fashiongan.training import rundir as runs
from fashiongan.training.loop import training_loop

PRESET = "texture"
# What `texture train` runs for without --time-budget: the preset's 4,400 iterations take about
# 600 CPU seconds on one core of the 2-core AVX512-BF16 CPU (docs/results/2026-12-06-fabrics.md);
# the budget caps it at 10 minutes where the core is shared or bf16 is not native.
DEFAULT_BUDGET_S = 600.0


def train_fabric(
    swatches: list[str],  # swatch files (a new run); empty with `resume`
    out: str | None,  # the run folder (a new one, or the branch of a resumed run)
    *,
    crop: int | None = None,  # crop size; None: 128 or what fits the smallest swatch
    holdout: float = 0.25,  # share of each swatch's rows held out (SIFID's real floor)
    overrides: list[str] = (),  # --set KEY=VALUE
    resume: str | None = None,  # a fabric run folder or training state to continue
    overwrite: bool = False,
    time_budget_s: float = DEFAULT_BUDGET_S,
    progress: bool = True,
    note: Callable[[str], None] = lambda line: None,  # what the command tells its user
) -> dict:
    overrides = list(overrides)
    plan = None
    if resume:
        if swatches:
            raise UserError("--resume continues on the run's own swatches (RUN/fabric/); give "
                            "no SWATCH")
        plan = runs.plan_resume(resume, out, overrides, None, overwrite)
        if not is_fabric_run(plan.source):
            raise UserError(f"--resume {resume}: not a fabric run (no {FABRIC_DIR}/ in it); a "
                            "garment run resumes with `fashiongan train --resume`")
        cfg, run_dir = plan.cfg, plan.run_dir
        fabric = load_fabric(plan.source)
        prior = runs.prior_contents(run_dir) if plan.branch else "files"
        if plan.branch:
            runs.new_run_dir(str(run_dir), "", overwrite)
    else:
        if not swatches:
            raise UserError("give at least one SWATCH photo")
        if out is None:
            raise UserError("--out RUN: name the fabric's run folder")
        fabric = open_fabric(swatches, crop, holdout)
        cfg = presets.resolve(PRESET, overrides, fabric.info, None)
        if cfg.model.arch != "texture":
            raise UserError(f"--set model={cfg.model.arch}: a fabric trains the texture model")
        prior = runs.prior_contents(Path(out))
        run_dir = runs.new_run_dir(out, PRESET, overwrite)
    with runs.hold(run_dir):
        try:
            if (plan is None or plan.branch) and overwrite and prior == "files":
                gone = runs.clear_previous_run(run_dir)
                if (run_dir / FABRIC_DIR).is_dir():
                    shutil.rmtree(run_dir / FABRIC_DIR)
                    gone.append(FABRIC_DIR + "/")
                if gone:
                    note(f"--overwrite: removed the previous run's {', '.join(gone)} from "
                         f"{run_dir}")
            if plan is not None:
                plan.prepare()
            if plan is None or plan.branch:
                save_fabric(run_dir, fabric)
            note(f"fabric: {len(fabric.swatches)} swatch(es), {fabric.info.channels} channel(s), "
                 f"crops of {fabric.crop} px, bottom {fabric.holdout:.0%} of each held out")
            return training_loop(cfg, run_dir, resume=plan.state if plan else None,
                                 progress=progress, time_budget_s=time_budget_s,
                                 dataset=fabric, preview=preview(fabric))
        except BaseException:
            runs.remove_unfinished(run_dir, prior, plan.state if plan else None)
            raise
