"""`fashiongan train`: a new run, a resume, or a branch of a run (torchrun for --nproc > 1)."""

from __future__ import annotations

import contextlib
import math
import os
import shlex
from pathlib import Path

from fashiongan.cli.common import at_least
from fashiongan.errors import UserError

COMMAND_ENV = "FASHIONGAN_TRAIN_COMMAND"  # the launcher's command line, for its ranks


def register(sub) -> None:
    from fashiongan import config, presets

    t = sub.add_parser("train", help="train a GAN", description="Train a GAN. Presets: "
                       + ", ".join(presets.preset_names()) + ". Config keys: "
                       + ", ".join(config.FIELDS))
    t.add_argument("--preset", help="preset name or YAML file (default: %(default)s)",
                   default=None)
    t.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override one config key (repeatable)")
    t.add_argument("--out", help="run folder (default: runs/<preset>-NNN, a new one)")
    t.add_argument("--overwrite", action="store_true", help="reuse a non-empty --out folder")
    t.add_argument("--resume", metavar="PATH|latest",
                   help="continue from a training state, a run folder, or the latest run")
    t.add_argument("--data", metavar="DATASET|FOLDER",
                   help="train on an imported data set, or a folder/.zip of images with one "
                   "subfolder per class (imported once into a cache; default: Fashion-MNIST)")
    t.add_argument("--resolution", type=int, choices=(28, 32, 64, 128), default=64,
                   help="--data FOLDER: import at this size (default: %(default)s)")
    t.add_argument("--channels", type=int, choices=(1, 3), default=3,
                   help="--data FOLDER: 3 colour, 1 grey (default: %(default)s)")
    t.add_argument("--data-dir", help="Fashion-MNIST folder (default: searched)")
    t.add_argument("--limit-data", type=at_least(0), default=0, metavar="N",
                   help="train on the first N training images only (quick tries)")
    t.add_argument("--time-budget", type=at_least(0, float), default=0.0, metavar="SECONDS",
                   help="stop, with a checkpoint, after this wall-clock time")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    t.add_argument("--eval-every", type=int, default=None, metavar="N",
                   help="FID (evaluator features, eval_samples samples) every N iterations: "
                   "metrics.jsonl, fid.png, snapshot-best/ (sets config key eval_every)")
    t.add_argument("--nproc", type=at_least(1), default=1, metavar="N",
                   help="train on N processes of this host (launches torchrun; DDP with NCCL "
                   "on CUDA, gloo on CPU); batch_size is per process")
    t.add_argument("--on-nan", choices=("stop", "rollback"),
                   help="on a NaN/inf loss: stop (default) or reload the last good state "
                   "and go on with half the learning rate")
    t.set_defaults(func=_train)


def _train(args) -> int:
    from fashiongan import presets
    from fashiongan.data import FASHION_MNIST
    from fashiongan.outputs import check_folder_output
    from fashiongan.training import commands, distributed
    from fashiongan.training import rundir as runs
    from fashiongan.training.loop import pick_device, training_loop

    # what the user typed (a torchrun rank's own argv lacks --nproc): commands.json keeps it
    command = os.environ.get(COMMAND_ENV) or shlex.join(["fashiongan", *args.argv])
    if args.nproc > 1 and not distributed.info().enabled:
        if args.data and not args.resume:  # import a folder once here, not once per rank
            _dataset(args.data, args)
        os.environ[COMMAND_ENV] = command
        return distributed.launch(args.nproc, _without_nproc(args.argv))
    if args.on_nan:
        args.set.append(f"on_nan={args.on_nan}")
    if args.eval_every is not None:
        args.set.append(f"eval_every={args.eval_every}")
    plan = None
    if args.resume:
        plan = runs.plan_resume(args.resume, args.out, args.set, args.preset, args.overwrite)
        if (plan.source / "fabric").is_dir():
            raise UserError(f"--resume {args.resume}: a fabric run; continue it with "
                            "`fashiongan texture train --resume`")
        cfg, run_dir = plan.cfg, plan.run_dir
        if args.data:
            raise UserError("--data with --resume: a run continues on the data set it began "
                            "with (its data.json)")
        path, recorded = plan.data
        if path is not None and not Path(path).exists():
            raise UserError(f"{plan.source / runs.DATA_JSON}: the run's data set {path} is "
                            "gone; a resume must train on the data it started on")
        dataset = _dataset(path, args) if path else None
        runs.check_resumed_data(plan.source, dataset.info if dataset else FASHION_MNIST,
                                recorded, path)
        prior = runs.prior_contents(run_dir) if plan.branch else "files"
        if plan.branch:
            distributed.on_main(lambda: runs.new_run_dir(str(run_dir), "", args.overwrite))
    else:
        if args.out and args.data:
            check_folder_output(Path(args.out), {args.data: "the data set being trained on"})
        dataset = _dataset(args.data, args) if args.data else None
        n_train = min(args.limit_data or math.inf, _train_size(dataset))
        cfg = presets.resolve(args.preset, args.set, dataset.info if dataset else None, n_train)
        auto = presets.small_data_augment(args.preset, args.set, n_train)
        if auto and distributed.info().is_main:  # once, not once per torchrun rank
            print(f"small training set ({n_train:,} images < {presets.SMALL_DATA_IMAGES:,}): "
                  f"augment={auto} (set augment=none to turn it off)")
        name = Path(args.preset).stem if args.preset else presets.DEFAULT_PRESET
        prior = runs.prior_contents(Path(args.out)) if args.out else "none"
        distributed.init(pick_device(cfg.runtime.device))  # so that rank 0 alone picks the folder
        run_dir = distributed.on_main(lambda: runs.new_run_dir(args.out, name, args.overwrite))
    main = distributed.info().is_main
    with runs.hold(run_dir) if main else contextlib.nullcontext():
        try:
            # a new run or a branch into a folder that holds another run: replace, never mix
            if (plan is None or plan.branch) and main and args.overwrite and prior == "files":
                gone = runs.clear_previous_run(run_dir)
                if gone:
                    print(f"--overwrite: removed the previous run's {', '.join(gone)} from "
                          f"{run_dir}")
            if plan is not None and main:
                plan.prepare()
            evaluator = None
            if cfg.output.eval_every and dataset is not None:
                # its judge is the Fashion-MNIST evaluator: on other images its FID means nothing
                raise UserError("--eval-every scores with the Fashion-MNIST evaluator, not on "
                                "--data; score the run afterwards with `fashiongan evaluate "
                                "RUN --data DATASET`")
            if cfg.output.eval_every:  # FID during training (fashiongan.metrics)
                from fashiongan.training.evaluation import make_evaluator

                evaluator = make_evaluator(cfg, run_dir, data_dir=args.data_dir)
            try:
                summary = training_loop(cfg, run_dir, data_dir=args.data_dir,
                                        resume=plan.state if plan else None,
                                        progress=not args.no_progress,
                                        max_train_images=args.limit_data,
                                        time_budget_s=args.time_budget, evaluator=evaluator,
                                        dataset=dataset)
            finally:  # a session that saved a training state (finished, stopped or not)
                if main:
                    commands.record_session(run_dir, command,
                                            commands.start_iteration(plan.state if plan else None))
        except BaseException:
            if main:  # failed before its first training state: leave no half-made folder
                runs.remove_unfinished(run_dir, prior, plan.state if plan else None)
            raise
    if main:
        print(f"{summary['status']} at iteration {summary['step']} in "
              f"{summary['wall_s']:.1f} s; run folder {run_dir}; samples {summary['grid']}")
    distributed.shutdown()
    return 0


def _train_size(dataset) -> int:
    """Training images of the data set (before --limit-data): its train split, or
    Fashion-MNIST's 60,000."""
    if dataset is not None:
        return len(dataset.train_index)
    from fashiongan.data.fmnist import FILES

    return FILES[("train", "images")].count


def _dataset(path: str, args):
    from fashiongan.data.resolve import dataset_for

    return dataset_for(path, args.resolution, args.channels, progress=not args.no_progress,
                       on_import=print)


def _without_nproc(argv: list[str]) -> list[str]:
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == "--nproc":
            skip = True
        elif not a.startswith("--nproc="):
            out.append(a)
    return out
