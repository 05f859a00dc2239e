"""`fashiongan serve`: the studio under uvicorn, bound to loopback unless told otherwise."""

from __future__ import annotations

import socket

from fashiongan.errors import UserError


def register(subparsers) -> None:
    s = subparsers.add_parser(
        "serve", help="the studio: web page and REST API for new designs",
        description="Serve the studio page at http://HOST:PORT/ and its API (OpenAPI docs at "
                    "/docs). Needs `pip install fashiongan[serve]`.")
    s.add_argument("--checkpoint", help="run folder, snapshot folder or .safetensors "
                   "(default: the pretrained generator shipped in the package)")
    s.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default: %(default)s, this machine only)")
    s.add_argument("--port", type=int, default=8000, help="port (default: %(default)s)")
    s.add_argument("--threads", type=int, default=0,
                   help="torch CPU threads (default: torch's own choice)")
    s.add_argument("--device", default="cpu")
    s.add_argument("--data", metavar="DATASET", help="the generator's training data, for the "
                   "nearest-training-image button (default: Fashion-MNIST for its generators)")
    s.add_argument("--evaluator", metavar="PATH", help="the judge whose features find the "
                   "nearest training image (default: the shipped evaluator for Fashion-MNIST)")
    s.add_argument("--fabrics", metavar="FOLDER", default="fabrics",
                   help="the Fabrics panel's fabric runs, where it trains new ones (default: "
                   "%(default)s)")
    s.add_argument("--fabric-set", action="append", default=[], metavar="KEY=VALUE",
                   help="config keys for the fabrics the panel trains (e.g. g_width=16)")
    s.set_defaults(func=_serve)


def _serve(args) -> int:
    try:
        import uvicorn

        from fashiongan.serve.app import create_app
    except ModuleNotFoundError as e:
        raise UserError(f"serve needs the serve extra ({e.name} is missing): "
                        "pip install 'fashiongan[serve]'") from None
    from fashiongan.cli.common import default_checkpoint, set_threads
    from fashiongan.snapshot import load_generator

    if not 0 <= args.port <= 65535:
        raise UserError(f"--port must be in 0-65535, got {args.port}")
    set_threads(args)
    source = args.checkpoint or default_checkpoint()
    from fashiongan.serve.nearest import for_generator

    g = load_generator(source, args.device)
    from fashiongan.serve.fabrics import Fabrics

    train_args = [a for kv in args.fabric_set for a in ("--set", kv)]
    app = create_app(g, nearest=for_generator(g, args.data, args.evaluator),
                     fabrics=Fabrics(args.fabrics, train_args))
    _check_listen(args.host, args.port)
    print(f"fashiongan studio: {source} on http://{args.host}:{args.port}/", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


def _check_listen(host: str, port: int) -> None:
    """A taken port or unknown host as one line, before uvicorn logs a traceback-ish error."""
    try:
        family, kind, proto, _, addr = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind, proto) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
            s.bind(addr)
    except OSError as e:
        raise UserError(f"cannot listen on {host}:{port}: {e.strerror or e}; "
                        "pick another --port or --host") from None
