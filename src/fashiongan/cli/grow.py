"""`fashiongan data grow [DATASET] --out DATASET2`: a small labelled data set plus generated
garments (export/grow.py); registered under `data` by cli/data.py."""

from __future__ import annotations

import sys
from pathlib import Path

from fashiongan.cli.common import at_least, runtime_args
from fashiongan.errors import UserError


def register(sub) -> None:
    g = sub.add_parser(
        "grow", help="a labelled data set plus K generated images per class",
        description="From a labelled data set (its first --per-class N training images of "
                    "each class), train a class-conditional generator sized for that little "
                    "data (the default preset turns on ADA under 2,500 images), or take "
                    "--generator, and write DATASET2: the real training images, K generated "
                    "ones per class and the real test split, with origin.npy (0 real, "
                    "1 synthetic) and the audit's copy fraction in its manifest. Whether it "
                    "helps a classifier: docs/data-growth.md.")
    g.add_argument("dataset", nargs="?", metavar="DATASET",
                   help="imported data set or folder of class subfolders (default: "
                        "Fashion-MNIST)")
    g.add_argument("--out", required=True, metavar="DATASET2", help="data set folder to write")
    g.add_argument("--per-class", type=int, default=0, metavar="N",
                   help="the first N training images of each class (default: 0 = all)")
    g.add_argument("--synthetic", type=int, default=None, metavar="K",
                   help="generated images per class (default: as many as the real ones)")
    g.add_argument("--ratio", type=float, default=None, metavar="R",
                   help="instead of --synthetic: K = R x the real images per class")
    g.add_argument("--generator", metavar="RUN",
                   help="use this run folder, snapshot or .safetensors (trained on these "
                        "classes) instead of training one")
    g.add_argument("--time-budget", type=at_least(0, float), default=0.0, metavar="S",
                   help="stop the generator's training after S seconds (default: 0 = the "
                        "preset's iterations)")
    g.add_argument("--preset", default=None, help="the generator's preset (default: default)")
    g.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override one of the generator's config keys (repeatable)")
    g.add_argument("--run-dir", metavar="DIR",
                   help="the generator's run folder (default: runs/grow-NNN, a new one)")
    g.add_argument("--filter", action="append", default=[], metavar="min_confidence=P",
                   help="keep only generated images whose class the judge gives >= P")
    g.add_argument("--evaluator", metavar="PATH",
                   help="the judge for --filter and the audit's features (default: the "
                        "shipped evaluator for Fashion-MNIST, else DATASET/judge.safetensors "
                        "if there)")
    g.add_argument("--resolution", type=int, choices=(28, 32, 64, 128), default=64,
                   help="DATASET a folder of images: import at this size (default: "
                        "%(default)s)")
    g.add_argument("--channels", type=int, choices=(1, 3), default=3,
                   help="DATASET a folder of images: 3 colour, 1 grey (default: %(default)s)")
    g.add_argument("--seed", type=int, default=0, help="first seed of the generated images")
    g.add_argument("--no-audit", action="store_true", help="skip the memorisation audit")
    g.add_argument("--overwrite", action="store_true", help="replace an earlier DATASET2")
    g.add_argument("--no-progress", action="store_true", help="no progress bar")
    runtime_args(g)
    g.set_defaults(func=_grow)


def _grow(args) -> int:
    from fashiongan.cli.common import set_threads
    from fashiongan.data.resolve import resolve
    from fashiongan.export import grow
    from fashiongan.export.plan import parse_filters
    from fashiongan.training import rundir

    set_threads(args)
    if args.per_class < 0:
        raise UserError(f"--per-class must be >= 1 (0: every training image), got "
                        f"{args.per_class}")
    if args.generator and (args.time_budget or args.preset or args.set or args.run_dir):
        raise UserError("--generator: nothing is trained, so --time-budget, --preset, --set "
                        "and --run-dir do not apply")
    min_conf = parse_filters(args.filter)
    ds = resolve(args.dataset, args.resolution, args.channels, data_dir=args.data_dir,
                 progress=not args.no_progress, on_import=print)
    # unlabelled, too few images or a bad K: said before anything is made
    grow.synthetic_per_class(grow.subset(ds, args.per_class), args.synthetic, args.ratio)
    net, sha = _judge(ds, args.evaluator)
    run_dir = None
    if not args.generator:
        grow.check_out(Path(args.out), args.overwrite)
        run_dir = rundir.new_run_dir(args.run_dir, "grow", args.overwrite)
    m = grow.grow(ds, args.out, per_class=args.per_class, synthetic=args.synthetic,
                  ratio=args.ratio, generator=args.generator, run_dir=run_dir,
                  preset=args.preset, overrides=args.set, time_budget_s=args.time_budget,
                  judge=net, judge_sha256=sha, min_confidence=min_conf,
                  audit_copies=not args.no_audit, seed=args.seed, overwrite=args.overwrite,
                  progress=not args.no_progress, log=print,
                  command=["fashiongan", *getattr(args, "argv", sys.argv[1:])])
    print(summary(m, args.out))
    return 0


def _judge(ds, path):
    """(net, sha256) for the filter and the audit: --evaluator, the shipped evaluator for
    Fashion-MNIST, the data set's own judge if it has one, else (None, None)."""
    from fashiongan.metrics import judge

    if path is None and ds.path is not None and judge.default_path(ds).is_file():
        net, record = judge.load(judge.default_path(ds), ds)
        return net, record["sha256"]
    return judge.for_images(ds.info, path)


def summary(m: dict, where) -> str:
    o, gr = m["origin"], m["growth"]
    lines = [f"wrote {where}: {o['real'] - m['split']['test']:,} real + {o['synthetic']:,} "
             f"synthetic training images ({gr['synthetic_per_class']:,} per class), "
             f"{m['split']['test']:,} real test images; origin.npy marks each"]
    t = gr["generator_training"]
    if t:
        lines.append(f"  generator: {t['step']:,} iterations in {t['wall_s']:.0f} s "
                     f"({t['status']}; small-data switch: {t['small_data_switch'] or 'off'}), "
                     f"run folder {t['run_dir']}")
    a = gr["audit"]
    if "copy_fraction" in a:
        lines.append(f"  audit: {100 * a['copy_fraction']:.2f}% of the synthetic images lie "
                     "closer to a real training image than 95% of real test images do "
                     f"(real unseen images: {100 * a['expected_for_unseen_images']:.0f}%)")
    else:
        lines.append(f"  audit skipped: {a['skipped']}")
    return "\n".join(lines)
