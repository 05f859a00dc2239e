"""`fashiongan audit RUN|SAMPLES.npz|EXPORT [--data DATASET] [--json OUT]` (audit.py)."""

from __future__ import annotations

import sys
from pathlib import Path

from fashiongan.errors import UserError

DEFAULT_N = 10_000


def register(sub) -> None:
    from fashiongan.cli.common import runtime_args

    a = sub.add_parser(
        "audit", help="are the samples copies of training images? (nearest neighbours)",
        description="For every sample, the nearest training image and its distance (judge "
        "features and the spectrum find candidates; the distance is the RMS pixel difference "
        "over the best shift of up to 2 px). A sample is flagged when it lies closer to a "
        "training image than 95% of the real test images do (per class): copy_fraction is "
        "the flagged share, about 0.05 for images as new as unseen real ones.")
    a.add_argument("target", nargs="?", help="run folder, snapshot folder, generator "
                   ".safetensors, an .npz with 'images' (and 'labels'), or a folder made by "
                   "`fashiongan export` (default: the shipped generator, results in ./audit.json)")
    a.add_argument("--data", metavar="DATASET|FOLDER", help="the training data to compare "
                   "with (default: Fashion-MNIST; its test split calibrates the threshold)")
    a.add_argument("--json", help="results (default: audit.json in a run folder, else "
                   "<name>.audit.json beside the target)")
    a.add_argument("--png", help="the closest pairs, samples above their nearest training "
                   "images (default: the --json path with .png)")
    a.add_argument("--n", type=int, default=None, help=f"samples of a generator (default: "
                   f"{DEFAULT_N}); of a file, the first N")
    a.add_argument("--seed", type=int, default=0, help="first sample seed (image i: seed+i)")
    a.add_argument("--evaluator", metavar="PATH", help="the judge whose features find the "
                   "candidates (default: the shipped evaluator for Fashion-MNIST, "
                   "DATASET/judge.safetensors for --data; without one, pixels only)")
    a.add_argument("--closest", type=int, default=16, help="pairs in the PNG (default: "
                   "%(default)s)")
    a.add_argument("--batch-size", type=int, default=500)
    runtime_args(a)
    a.set_defaults(func=_audit)


def _audit(args) -> int:
    from fashiongan import validate
    from fashiongan.cli.common import input_files, set_threads
    from fashiongan.cli.evaluate import results_path
    from fashiongan.fileio import atomic_write_json
    from fashiongan.imageio import sample_shape, save_png
    from fashiongan.metrics import audit
    from fashiongan.outputs import check_outputs

    set_threads(args)
    if args.n is not None and args.n < 1:
        raise UserError(f"--n must be >= 1, got {args.n}")
    if args.closest < 1:
        raise UserError(f"--closest must be >= 1, got {args.closest}")
    shipped = args.target is None
    if shipped:  # its results go to the working folder, never into the installed package
        from fashiongan.cli.common import default_checkpoint

        args.target = default_checkpoint()
    out = Path(args.json or ("audit.json" if shipped else results_path(Path(args.target),
                                                                        "audit")))
    png = Path(args.png) if args.png else out.with_suffix(".png")
    derived = [o for o, given in (("--json", args.json), ("--png", args.png)) if not given]
    check_outputs({"--json": out, "--png": png}, input_files(args.target, args.data,
                                                             args.evaluator), derived)
    images, labels, source, info = _target(args)
    ds = _dataset(args, info)
    validate.images(images, str(args.target), sample_shape(ds.info))
    if labels is not None:
        labels = validate.labels(labels, len(images), max(ds.info.num_classes, 1),
                                 str(args.target))
    net, judge_record = _judge(args, ds)
    if labels is None and net is not None and ds.info.num_classes:
        from fashiongan.imageio import to_nchw
        from fashiongan.metrics.features import probabilities

        labels = probabilities(to_nchw(images), net).argmax(1).numpy()  # for per-class figures
        source["labels"] = "the judge's"
    index, calibration = audit.reference(ds, net, judge_record.get("sha256"))
    print(f"auditing {len(images)} images against {len(index)} training images "
          f"({index.space})", flush=True)
    nearest, dist = index.nearest(images)
    command = ["fashiongan", *getattr(args, "argv", sys.argv[1:])]
    result = {"source": source, "command": " ".join(command),
              "data": ds.info.name or str(ds.path), "train_images": len(index),
              "judge": judge_record or None, "space": index.space,
              "distance": "RMS pixel difference (0..1) at the best shift of up to "
              f"{audit.MAX_SHIFT} px", **audit.summary(
                  nearest, dist, calibration, labels, ds.info.class_names, args.closest),
              "png": str(png)}
    xtr, _ = ds.train()
    save_png(audit.closest_pairs_grid(images, xtr, result["closest"]), png)
    atomic_write_json(out, result)
    print(format_report(result, ds.info.class_names))
    print(f"wrote {out} and {png}")
    return 0


def format_report(r: dict, names) -> str:
    q = r["expected_for_unseen_images"]
    lines = [f"copy_fraction {100 * r['copy_fraction']:.2f}% of {r['n']} samples lie closer to "
             f"a training image than {100 * (1 - q):.0f}% of real test images do (real unseen "
             f"images: {100 * q:.0f}%); median distance {r['median_distance']:.4f} (test "
             f"images: {r['calibration']['test_median_distance']:.4f})"]
    for name, c in (r.get("per_class") or {}).items():
        if c["n"]:
            lines.append(f"  {name:12s} {c['n']:6d} samples  copies "
                         f"{100 * c['copy_fraction']:6.2f}%  threshold {c['threshold']:.4f}  "
                         f"median {c['median_distance']:.4f}")
    return "\n".join(lines)


def _target(args):
    """(images in the sample layout, labels or None, source, DatasetInfo or None)."""
    from fashiongan import validate
    from fashiongan.cli.evaluate import is_image_target, read_image_target

    target = Path(args.target)
    if is_image_target(target):
        images, labels = read_image_target(target)
        n = len(images) if args.n is None else min(args.n, len(images))
        return images[:n], None if labels is None else labels[:n], {"file": str(target)}, None
    from fashiongan.generate.sampling import sample
    from fashiongan.snapshot import load_generator

    n = DEFAULT_N if args.n is None else args.n
    validate.seed(args.seed, "--seed", n)
    g = load_generator(target, args.device)
    images, labels = sample(g, n, seed=args.seed, batch_size=args.batch_size,
                            return_labels=True)
    return images, labels, {"generator": str(target), "seed": args.seed}, g.dataset


def _dataset(args, info):
    """The training data (audit.training_data), or a one-line error saying why there is none."""
    from fashiongan.metrics import audit

    ds, why = audit.training_data(info, args.data, args.data_dir, str(args.target),
                                  on_import=print)
    if ds is None:
        raise UserError(why)
    return ds


def _judge(args, ds):
    """(network or None, its record): --evaluator, the shipped evaluator for Fashion-MNIST,
    DATASET/judge.safetensors when it exists; None: the audit runs on pixels alone."""
    from fashiongan.metrics import evaluator, judge

    if ds.path is None:
        net, digest = evaluator.load(args.evaluator)
        return net, {"sha256": digest, "path": args.evaluator or "shipped evaluator"}
    path = Path(args.evaluator) if args.evaluator else judge.default_path(ds)
    if not (args.evaluator or path.is_file()):
        return None, {}
    net, record = judge.load(path, ds)
    return net, {"sha256": record["sha256"], "path": str(path)}
