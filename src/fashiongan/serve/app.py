"""The studio's HTTP face: FastAPI routes over a Studio, plus the static page.

Every limit is a Query constraint, so an oversized or malformed request is refused with a 422
before any generator work; the checks that need the model (a class given to an unconditional
generator, an unknown class name) raise the same 422 shape. Endpoints are plain `def`s: FastAPI
runs them in its thread pool, and the Studio's lock serialises the generator.
"""

from __future__ import annotations

from importlib import resources
from typing import Annotated

import numpy as np
from fastapi import FastAPI, Query
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from torch import nn

from fashiongan.errors import UserError
from fashiongan.generate.sampling import class_names
from fashiongan.serve import schemas
from fashiongan.serve.limits import BodyLimits, validation_problem
from fashiongan.serve.nearest import NearestTraining, for_generator
from fashiongan.serve.params import (
    CLASS_DOC,
    MAX_N,
    MAX_STEPS,
    ClassParam,
    Format,
    Scale,
    Seed,
    b64,
    class_index,
    invalid,
)
from fashiongan.serve.studio import MAX_SEED, Studio, grid_png, png_bytes
from fashiongan.serve.upload import MAX_UPLOAD_BYTES
from fashiongan.version import version


def create_app(generator: nn.Module, title: str = "fashiongan studio",
               nearest: NearestTraining | None = None, fabrics=None) -> FastAPI:
    """The studio app serving this generator (conditional or not); `nearest` looks designs
    up in the training data (default: Fashion-MNIST's, for its generators); `fabrics` a
    serve.fabrics.Fabrics (the Fabrics panel; None: a `fabrics/` folder here)."""
    studio = Studio(generator)
    nearest = nearest or for_generator(generator)
    # FastAPIOffline serves Swagger UI from its own package: FastAPI's default /docs loads it
    # from a CDN, a blank page on a machine without internet. No /redoc: ReDoc still fetches
    # its logo from the internet.
    app = FastAPIOffline(
        redoc_url=None, title=title, version="1",
        description="New Fashion-MNIST designs on demand. A design is a pure function of its "
                    "seed and class: the same request always returns the same bytes.")
    app.state.studio = studio
    # bounded bodies, slow and vanished clients, refusals that quote no more than a little
    app.add_middleware(BodyLimits, limits={"/api/project": MAX_UPLOAD_BYTES})
    app.add_exception_handler(RequestValidationError, validation_problem)
    static = resources.files("fashiongan") / "serve" / "static"
    running = version()  # the page's footer shows it, from /healthz

    @app.get("/", include_in_schema=False)
    def page():
        return FileResponse(str(static / "index.html"))

    app.mount("/static", StaticFiles(directory=str(static)), name="static")

    @app.api_route("/healthz", methods=["GET", "HEAD"], response_model=schemas.Health,
                   summary="Liveness, fashiongan's version and which generator is loaded")
    async def healthz():
        # async: answered on the event loop, so it stays instant while every worker thread of
        # the pool is busy generating (as a sync route it queued behind them: p99 ~1 s at 32
        # clients); it only reads attributes, nothing that blocks.
        return {"status": "ok", "version": running, **studio.info(),
                "snapshot": getattr(generator, "snapshot_info", {})}

    @app.api_route("/api/classes", methods=["GET", "HEAD"], response_model=schemas.Classes,
                   summary="The model's categories, and whether it takes one")
    def classes():
        return {**studio.info(),
                "classes": [{"index": i, "name": n}
                            for i, n in enumerate(class_names(generator))]}

    @app.get("/api/generate", summary="n designs from seeds seed..seed+n-1",
             response_model=schemas.Designs, responses=schemas.PNG_RESPONSE)
    def generate(
        class_: Annotated[str | None, Query(alias="class", max_length=40,
                                            description=CLASS_DOC + "; omitted: each seed's "
                                            "own class, seed % num_classes")] = None,
        n: Annotated[int, Query(ge=1, le=MAX_N, description="number of designs")] = 16,
        seed: Seed = 0,
        format: Format = "png",
        mix_class: Annotated[str | None, Query(max_length=40, description="second class to "
                                               "blend in (" + CLASS_DOC + ")")] = None,
        mix: Annotated[float, Query(ge=0, le=1, allow_inf_nan=False,
                                    description="how far towards mix_class")] = 0.5,
        cols: Annotated[int, Query(ge=1, le=MAX_N, description="grid columns (png)")] = 8,
        scale: Scale = 1,
    ):
        if seed + n > MAX_SEED:
            raise invalid("seed", f"seed + n - 1 must stay below 2^31 = {MAX_SEED}; "
                           f"got seed {seed} with n {n}", seed)
        label = class_index(studio, "class", class_)
        mixed = class_index(studio, "mix_class", mix_class)
        designs = studio.designs(seed, n, label, mixed, mix)
        if format == "png":
            return Response(grid_png(np.stack([d.image for d in designs]), cols, scale),
                            media_type="image/png")
        return {"seed": seed, "n": n, "class": label, "mix_class": mixed,
                "mix": mix if mixed is not None else None, "scale": scale,
                "images": [{"seed": d.seed, "class": d.label,
                            "class_name": studio.class_name(d.label),
                            "png": b64(png_bytes(d.image, scale))} for d in designs]}

    @app.get("/api/interpolate", summary="A morph from design A to design B, ends included",
             response_model=schemas.Morph, responses=schemas.PNG_RESPONSE)
    def interpolate(
        seed_a: Seed = 0,
        seed_b: Seed = 1,
        class_a: ClassParam = None,
        class_b: ClassParam = None,
        steps: Annotated[int, Query(ge=2, le=MAX_STEPS, description="frames")] = 8,
        format: Format = "png",
        scale: Scale = 1,
    ):
        la = class_index(studio, "class_a", class_a)
        lb = class_index(studio, "class_b", class_b)
        ts, frames = studio.morph(seed_a, seed_b, la, lb, steps)
        if format == "png":
            return Response(grid_png(frames, steps, scale), media_type="image/png")
        la = la if la is not None else studio.default_class(seed_a)
        lb = lb if lb is not None else studio.default_class(seed_b)
        return {"seed_a": seed_a, "seed_b": seed_b, "class_a": la, "class_b": lb,
                "class_blend": studio.blend_mode, "steps": steps, "scale": scale,
                "frames": [{"t": t, "png": b64(png_bytes(f, scale))}
                           for t, f in zip(ts, frames, strict=True)]}

    from fashiongan.serve.upload import add_routes as add_upload_routes

    add_upload_routes(app, studio)  # the "Upload a photo" panel's two endpoints

    from fashiongan.serve.fabrics import Fabrics
    from fashiongan.serve.fabrics import add_routes as add_fabric_routes

    add_fabric_routes(app, studio, fabrics if fabrics is not None else Fabrics("fabrics"))

    @app.post("/api/nearest", summary="A design's nearest training image, and how near",
              response_model=schemas.Nearest, response_model_by_alias=True)
    def nearest_image(req: schemas.NearestRequest):
        label = class_index(studio, "class", None if req.class_ is None else str(req.class_))
        design = studio.designs(req.seed, 1, label)[0]
        found = nearest.lookup(design.image, design.label)
        image = found.pop("image")
        return {"seed": req.seed, "class": design.label, **found,
                "design_png": b64(png_bytes(design.image, req.scale)),
                "png": b64(png_bytes(image, req.scale))}

    @app.exception_handler(UserError)
    def user_error(request, exc: UserError):
        return JSONResponse({"detail": str(exc)}, status_code=422)

    return app
