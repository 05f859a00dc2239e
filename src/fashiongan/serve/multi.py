"""Several generators behind one studio: the first at the root, each other one under
/g/<slug>/ with the same page and API (the page's requests are relative to where it was
loaded), and GET /api/generators listing them for the page's picker."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.responses import RedirectResponse

from fashiongan.serve.app import create_app
from fashiongan.serve.fabrics import Fabrics
from fashiongan.serve.nearest import NearestTraining

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def slug(name: str, taken: set[str]) -> str:
    """A path segment for a generator's name, unique among those taken."""
    base = _UNSAFE.sub("-", name).strip("-.") or "generator"
    out, k = base, 2
    while out in taken:
        out, k = f"{base}-{k}", k + 1
    return out


def create_studio(generators: list[tuple[str, object, NearestTraining | None]],
                  fabrics=None) -> FastAPI:
    """generators: (name shown in the picker, generator, nearest-image lookup or None), the
    default first; `fabrics` the Fabrics panel's store (None: a `fabrics/` folder here). The
    store is the server's, one for every page (one training job at a time), while each page
    dresses its own generator's designs."""
    fabrics = fabrics if fabrics is not None else Fabrics("fabrics")
    name, g, nearest = generators[0]
    app = create_app(g, nearest=nearest, fabrics=fabrics)
    listing = [{"name": name, "path": "/", "model": getattr(g, "model_name", type(g).__name__)}]
    taken: set[str] = set()
    for name, g, nearest in generators[1:]:
        s = slug(name, taken)
        taken.add(s)
        app.mount(f"/g/{s}", create_app(g, nearest=nearest, fabrics=fabrics))
        listing.append({"name": name, "path": f"/g/{s}/",
                        "model": getattr(g, "model_name", type(g).__name__)})

    @app.get("/api/generators", summary="The generators this server offers",
             description="Each has the studio page and API under its path; the first is the "
                         "default, served at the root.")
    def generators_list():
        return {"generators": listing}

    @app.get("/g/{s}", include_in_schema=False)
    def with_slash(s: str):  # the page's relative requests need the trailing slash
        return RedirectResponse(f"/g/{s}/")

    return app
