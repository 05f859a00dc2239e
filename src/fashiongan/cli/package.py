"""`fashiongan package RUN|SHIPPED_NAME --out DIR [--onnx]`: a generator as a folder to share
(share/package.py)."""

from __future__ import annotations

from pathlib import Path

from fashiongan.cli.common import threads_arg
from fashiongan.errors import UserError


def register(sub) -> None:
    p = sub.add_parser(
        "package", help="write a generator as a folder to share: model card, Hugging Face "
        "layout, optionally ONNX",
        description="Write config.json, model.safetensors (the snapshot's weights), a README.md "
        "model card quoting the run's recorded evaluation and audit, samples.png and with "
        "--onnx generator.onnx. The folder is a checkpoint for sample/serve/evaluate, and "
        "huggingface_hub's from_pretrained and upload tools take it as it is.")
    p.add_argument("source", metavar="RUN|SHIPPED_NAME", help="run folder, snapshot folder or "
                   ".safetensors, or a shipped generator's name (default, best, resnet)")
    p.add_argument("--out", required=True, metavar="DIR", help="folder to write (must not "
                   "exist or be empty, so a typo never buries other files)")
    p.add_argument("--overwrite", action="store_true", help="replace DIR when it is an "
                   "earlier package (its config.json carries the package marker); never "
                   "another folder")
    p.add_argument("--onnx", action="store_true", help="also generator.onnx, checked "
                   "against PyTorch in onnxruntime, for runtimes without Python or torch "
                   "(needs fashiongan[share])")
    p.add_argument("--evaluation", metavar="JSON", help="the `fashiongan evaluate` result the "
                   "card quotes (default: where evaluate writes it for RUN, e.g. "
                   "RUN/evaluation.json), if you wrote it elsewhere with --json")
    p.add_argument("--audit", metavar="JSON", help="the `fashiongan audit` result the card "
                   "quotes (default: RUN/audit.json or <name>.audit.json beside a file)")
    p.add_argument("--license", help="the weights' licence identifier on the hub (default: mit "
                   "for Fashion-MNIST, whose licence is MIT; 'other' for your own data, whose "
                   "terms only you know)")
    threads_arg(p)
    p.set_defaults(func=_package)


def _package(args) -> int:
    from fashiongan.cli.common import set_threads
    from fashiongan.cli.evaluate import results_path
    from fashiongan.share.package import Request, make_package
    from fashiongan.snapshot import SHIPPED

    set_threads(args)
    source = Path(args.source)
    shipped = not source.exists() and args.source in SHIPPED
    if shipped and (args.evaluation or args.audit):
        raise UserError("a shipped generator's card quotes its own record (weights/*.json); "
                        "--evaluation/--audit are for runs")
    records = {}
    for kind, given in (("evaluation", args.evaluation), ("audit", args.audit)):
        if given and not Path(given).is_file():
            raise UserError(f"--{kind} {given}: no such file")
        records[kind] = Path(given) if given else None if shipped else \
            results_path(source, kind)
    result = make_package(Request(args.source, Path(args.out), onnx=args.onnx,
                                  overwrite=args.overwrite, license=args.license, **records))
    print(f"wrote {args.out}: {', '.join(result['files'])}")
    print(f"figures quoted from {result['evaluation']}" if result["evaluation"] else
          "no evaluation recorded: the card says 'not evaluated' (fashiongan evaluate RUN, "
          "then package again)")
    if result["audit"]:
        print(f"audit quoted from {result['audit']}")
    if result["onnx"]:
        o = result["onnx"]
        print(f"ONNX checked on {o['n']} seeds in onnxruntime: max abs difference "
              f"{o['max_abs_diff']:.3g}, {o['max_grey_diff']} grey level(s)")
    return 0
