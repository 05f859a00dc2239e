"""The `fashiongan` command: one module per subcommand, each listed here (an import error is a
crash, never a subcommand missing from --help); errors become one line and an exit code:
2 for bad input (UserError), 1 for a fault of the machine or of ours, 130 for Ctrl-C."""

from __future__ import annotations

import os
import sys
import warnings

from fashiongan.cli import (
    audit,
    data,
    evaluate,
    evaluator,
    export,
    package,
    project,
    sample,
    serve,
    texture,
    train,
)
from fashiongan.cli.common import Parser
from fashiongan.errors import UserError
from fashiongan.outputs import printable
from fashiongan.version import version

COMMANDS = (train, sample, evaluate, evaluator, serve, data, project, export, audit,
            package, texture)
DESCRIPTION = ("Train, evaluate, sample and serve GANs of clothes: Fashion-MNIST or your own "
               "photo catalogue.")


def build_parser() -> Parser:
    p = Parser(prog="fashiongan", description=DESCRIPTION)
    p.add_argument("--version", action="version", version=f"%(prog)s {version()}",
                   help="print the installed version and exit")  # stdout, exit 0
    sub = p.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.register(sub)
    return p


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    return f"fashiongan: warning: {printable(str(message))}\n"


def main(argv: list[str] | None = None) -> int:
    warnings.formatwarning = _one_line_warning
    try:
        args = build_parser().parse_args(argv)
        args.argv = list(sys.argv[1:] if argv is None else argv)
        if getattr(args, "n", 1) is not None and getattr(args, "n", 1) < 0:
            raise UserError(f"--n must be >= 0, got {args.n}")
        if getattr(args, "batch_size", 1) < 1:
            raise UserError(f"--batch-size must be >= 1, got {args.batch_size}")
        if getattr(args, "device", None) is not None:
            from fashiongan.validate import device

            args.device = str(device(args.device))
        return args.func(args)
    except UserError as e:  # printable: a file name's newline cannot start a forged line
        print(f"fashiongan: error: {printable(str(e))}", file=sys.stderr)
        return 2
    except OSError as e:  # disk full, no permission, not a folder...: the machine, not the code
        where = e.filename2 or e.filename
        print(printable(f"fashiongan: error: {f'{where}: ' if where else ''}"
                        f"{e.strerror or e}"), file=sys.stderr)
        return 1
    except KeyboardInterrupt as e:
        print(f"fashiongan: {printable(str(e)) or 'interrupted'}", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - a fault of ours: still one line, naming the input
        if os.environ.get("FASHIONGAN_TRACEBACK"):
            raise
        cmd = " ".join(sys.argv[1:] if argv is None else argv)
        first = str(e).splitlines()[0] if str(e) else ""
        print(printable(f"fashiongan: error: {type(e).__name__}: {first} (in `fashiongan "
                        f"{cmd}`; FASHIONGAN_TRACEBACK=1 shows where)"), file=sys.stderr)
        return 1
