"""`fashiongan serve`: the studio under uvicorn, bound to loopback unless told otherwise."""

from __future__ import annotations

import socket

from fashiongan.cli.common import at_least, threads_arg
from fashiongan.errors import UserError

# An idle keep-alive connection closed by the server just as a client reuses it fails that
# request ("Server disconnected without sending a response"). uvicorn's 5 s equals httpx's own
# idle limit, so the two raced; a server limit well above the clients' (httpx and requests 5 s,
# reverse proxies 60 s) leaves the closing to the client, which does it safely.
KEEP_ALIVE_S = 75.0


def register(subparsers) -> None:
    s = subparsers.add_parser(
        "serve", help="the studio: web page and REST API for new designs",
        description="Serve the studio page at http://HOST:PORT/ and its API (OpenAPI docs at "
                    "/docs). Needs `pip install fashiongan[serve]`.")
    s.add_argument("--checkpoint", action="append", metavar="RUN",
                   help="run folder, snapshot folder, .safetensors or a shipped name; repeat it "
                   "to offer several (the first is the default; the shipped generators are "
                   "always offered too; default: the best shipped generator)")
    s.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default: %(default)s, this machine only)")
    s.add_argument("--port", type=int, default=8000, help="port (default: %(default)s)")
    threads_arg(s)
    s.add_argument("--device", default="cpu")
    s.add_argument("--data", metavar="DATASET", help="the generator's training data, for the "
                   "nearest-training-image button (default: Fashion-MNIST for its generators)")
    s.add_argument("--evaluator", metavar="PATH", help="the judge whose features find the "
                   "nearest training image (default: the shipped evaluator for Fashion-MNIST)")
    s.add_argument("--keep-alive", type=at_least(0.1, float), default=KEEP_ALIVE_S,
                   metavar="SECONDS", help="how long an idle connection is kept open "
                   "(default: %(default)s; longer than clients' own idle limits, so the server "
                   "never closes a connection a client is about to reuse: docs/serve.md)")
    s.add_argument("--fabrics", metavar="FOLDER", default="fabrics",
                   help="the Fabrics panel's fabric runs, where it trains new ones (default: "
                   "%(default)s)")
    s.add_argument("--fabric-set", action="append", default=[], metavar="KEY=VALUE",
                   help="config keys for the fabrics the panel trains (e.g. g_width=16)")
    s.set_defaults(func=_serve)


def _serve(args) -> int:
    try:
        import uvicorn

        from fashiongan.serve.multi import create_studio
    except ModuleNotFoundError as e:
        raise UserError(f"serve needs the serve extra ({e.name} is missing): "
                        "pip install 'fashiongan[serve]'") from None
    from fashiongan.cli.common import default_checkpoint, set_threads
    from fashiongan.snapshot import load_generator

    if not 0 <= args.port <= 65535:
        raise UserError(f"--port must be in 0-65535, got {args.port}")
    set_threads(args)
    from fashiongan.serve.nearest import for_generator
    from fashiongan.snapshot import listed_shipped

    given = args.checkpoint or [default_checkpoint()]
    served = [(str(c), load_generator(c, args.device)) for c in given]
    entries = [(name, g, for_generator(g, args.data, args.evaluator)) for name, g in served]
    for name, file in listed_shipped():  # the others to pick from on the page
        if not any(c in (name, str(file)) for c in map(str, given)):
            g = load_generator(file, args.device)
            entries.append((name, g, for_generator(g)))
    from fashiongan.serve.fabrics import Fabrics

    train_args = [a for kv in args.fabric_set for a in ("--set", kv)]
    app = create_studio(entries, fabrics=Fabrics(args.fabrics, train_args))
    _check_listen(args.host, args.port)
    print(f"fashiongan studio: {given[0]} on http://{args.host}:{args.port}/ (also on the page: "
          f"{', '.join(name for name, _, _ in entries[1:]) or 'nothing else'})", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning",
                timeout_keep_alive=args.keep_alive)
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
