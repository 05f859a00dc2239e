"""`fashiongan export [RUN] --n N --format idx|png|npz|dataset --out DIR ...`."""

from __future__ import annotations

import sys
from pathlib import Path

from fashiongan.errors import UserError
from fashiongan.export.formats import FORMATS


def register(sub) -> None:
    from fashiongan.cli.common import runtime_args

    e = sub.add_parser(
        "export", help="write synthetic images as a data set to share (IDX, PNG, npz, data set)",
        description="Draw N images from a generator and write them in one of four layouts, "
        "with export.json beside them (generator hash, command, seeds, class counts, and an "
        "audit: how many lie closer to a training image than real unseen images do). "
        "Balanced classes for a conditional generator; for an unconditional one the judge "
        "labels them.")
    e.add_argument("run", nargs="?", help="run folder, snapshot folder or .safetensors "
                   "(default: the pretrained generator shipped in the package)")
    e.add_argument("--n", type=int, default=60_000, help="images in the train split "
                   "(default: %(default)s, as Fashion-MNIST's)")
    e.add_argument("--test-n", type=int, default=0, help="also a test split of this many "
                   "(idx: the t10k- pair; npz: test_* arrays; dataset: its test split)")
    e.add_argument("--format", choices=FORMATS, default="idx",
                   help="idx: the original Fashion-MNIST files' layout; png: class folders "
                   "that `data import` reads; npz: one samples.npz; dataset: an imported data "
                   "set folder (default: %(default)s)")
    e.add_argument("--out", required=True, metavar="DIR", help="folder to write (must not "
                   "exist, be empty, or with --overwrite hold an earlier export)")
    e.add_argument("--classes", metavar="C1,C2,...", help="only these classes (names or "
                   "indices), balanced among them")
    e.add_argument("--balanced", action="store_true", help="unconditional generator: keep "
                   "drawing until every class (as the judge sees it) has its share")
    e.add_argument("--seed", type=int, default=0, help="first seed (default: %(default)s)")
    e.add_argument("--filter", action="append", default=[], metavar="min_confidence=P",
                   help="keep only images whose label the judge gives a probability >= P")
    e.add_argument("--data", metavar="DATASET|FOLDER", help="the generator's training data, "
                   "for the audit (default: Fashion-MNIST for a Fashion-MNIST generator)")
    e.add_argument("--evaluator", metavar="PATH", help="the judge: labels, confidence and "
                   "audit features (default: the shipped evaluator for Fashion-MNIST; for "
                   "another data set its judge from `evaluator train --data`)")
    e.add_argument("--no-audit", action="store_true", help="skip the audit")
    e.add_argument("--chunk", type=int, default=1000, help="images drawn and written at a "
                   "time: what memory holds (default: %(default)s)")
    e.add_argument("--overwrite", action="store_true", help="replace an earlier export in DIR")
    e.add_argument("--no-progress", action="store_true", help="no progress bar")
    runtime_args(e)
    e.set_defaults(func=_export)


def _export(args) -> int:
    from fashiongan import validate
    from fashiongan.cli.common import default_checkpoint, set_threads
    from fashiongan.export import plan, run
    from fashiongan.export.formats import OWNED
    from fashiongan.fileio import file_digest
    from fashiongan.metrics import audit, judge
    from fashiongan.outputs import check_folder_output, check_out
    from fashiongan.snapshot import load_generator, snapshot_path

    set_threads(args)
    if args.chunk < 1:
        raise UserError(f"--chunk must be >= 1, got {args.chunk}")
    if args.test_n < 0:
        raise UserError(f"--test-n must be >= 0, got {args.test_n}")
    req = plan.Request(args.n, args.test_n, args.seed, balanced=args.balanced,
                       min_confidence=plan.parse_filters(args.filter), chunk=args.chunk)
    validate.seed(args.seed, "--seed", args.n + args.test_n)
    total = args.n + args.test_n  # images stream through; a few numbers each stay in memory
    validate.fits_in_memory(total * 32, f"{total:,} images' labels, seeds and audit figures")
    source = args.run or default_checkpoint()
    out = Path(args.out)
    check_folder_output(out, {snapshot_path(source): "the generator being exported",
                              args.data: "the training data", args.evaluator: "the judge"})
    check_out(out, args.overwrite, OWNED)  # before the generator, judge and audit load
    g = load_generator(source, args.device)
    req.classes = parse_classes(args.classes, g)
    conditional = bool(getattr(g, "num_classes", 0))
    net, sha = judge.for_images(g.dataset, args.evaluator)
    # a conditional G's own classes label its images: then the judge only filters and audits
    net_for_labels = None if conditional and not req.min_confidence else net
    plan.check(g, req, net_for_labels)
    reference, reason = None, ""
    if not args.no_audit:
        ds, reason = audit.training_data(g.dataset, args.data, args.data_dir, on_import=print)
        reference = audit.reference(ds, net, sha) if ds is not None else None
    file = snapshot_path(source)
    generator = {"path": str(Path(file).resolve()), "sha256": file_digest(file),
                 "model": getattr(g, "model_name", type(g).__name__),
                 "conditional": conditional, "dataset": g.dataset.to_dict(),
                 "snapshot": getattr(g, "snapshot_info", {})}
    m = run.export(g, req, args.format, Path(args.out), judge=net_for_labels,
                   judge_info={"sha256": sha, "path": args.evaluator or "shipped evaluator"}
                   if net is not None else None, reference=reference,
                   no_audit_reason=reason or "--no-audit", overwrite=args.overwrite,
                   progress=not args.no_progress,
                   command=["fashiongan", *getattr(args, "argv", sys.argv[1:])],
                   generator=generator)
    total = req.n + req.test_n
    print(f"wrote {total} images ({args.format}) to {args.out} in {m['timing_s']['total']:.1f} "
          f"s ({m['timing_s']['images_per_s']:.0f} images/s)")
    a = m["audit"]
    if "copy_fraction" in a:
        print(f"audit: {100 * a['copy_fraction']:.2f}% of the images lie closer to a training "
              f"image than {100 * (1 - a['expected_for_unseen_images']):.0f}% of real test "
              f"images do (real unseen images: {100 * a['expected_for_unseen_images']:.0f}%)")
    else:
        print(f"audit skipped: {a['skipped']}")
    return 0


def parse_classes(text: str | None, g) -> list[int] | None:
    from fashiongan.generate.sampling import class_names, parse_class

    if not text:
        return None
    names = class_names(g)
    if not names:
        raise UserError("--classes: this generator's data set has no classes")
    out = []
    for part in text.split(","):
        c = parse_class(part, names)
        if c not in out:
            out.append(c)
    return out

