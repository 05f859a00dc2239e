"""The studio's "Upload a photo" panel, server side.

POST /api/project takes the photo as the raw request body (the page sends the File as is:
no multipart parser needed) and answers with its converted form, the design closest to it
and variations around that; POST /api/restyle morphs such a design into another category.

Everything is checked before any work: the query by FastAPI, then the size (Content-Length,
and the bytes as they arrive, so a lying or absent header cannot get more through), then the
picture's pixel count from its header (generate/photo.py), and only then is it decoded.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
import torch
from fastapi import FastAPI, HTTPException, Query, Request
from starlette.concurrency import run_in_threadpool

from fashiongan.errors import UserError
from fashiongan.generate.photo import dark_background, read_photo, to_dataset_form
from fashiongan.generate.project import STEPS
from fashiongan.generate.sampling import dataset_info, image_shape
from fashiongan.serve import schemas
from fashiongan.serve.params import CLASS_DOC, Scale, b64, class_index
from fashiongan.serve.studio import MAX_SEED, Studio, png_bytes

MAX_UPLOAD_BYTES = 8 * 2**20  # a phone photo is 2-5 MB; more is not a garment shot
MAX_VARIATIONS = 12
MAX_PROJECT_STEPS = 400
ERRORS = {413: {"model": schemas.Problem, "description": "the upload is over the limit"},
          422: {"model": schemas.Problem, "description": "not a usable photo, or a bad "
                "parameter"}}


async def read_limited(request: Request, limit: int = MAX_UPLOAD_BYTES) -> bytes:
    """The request body, refused (413) as soon as it is known to exceed `limit` bytes."""
    too_big = HTTPException(413, f"the upload is larger than {limit // 2**20} MB; send a "
                                 "smaller photo")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_big
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_big
        chunks.append(chunk)
    if not size:
        raise HTTPException(422, "upload: no photo in the request; send the image file as "
                                 "the body")
    return b"".join(chunks)


def add_routes(app: FastAPI, studio: Studio) -> None:

    shape, info = image_shape(studio.g), dataset_info(studio.g)
    dark = dark_background(studio.g)

    @app.post("/api/project", summary="The design closest to an uploaded photo",
              response_model=schemas.Projected, responses=ERRORS,
              openapi_extra={"requestBody": {"required": True, "content": {
                  "image/*": {"schema": {"type": "string", "format": "binary"}}}}})
    async def project_photo(
        request: Request,
        class_: Annotated[str, Query(alias="class", max_length=40, description=CLASS_DOC +
                                     ", or auto: searched and blended")] = "auto",
        variations: Annotated[int, Query(ge=0, le=MAX_VARIATIONS)] = 6,
        strength: Annotated[float, Query(ge=0, le=4, allow_inf_nan=False,
                                         description="how far variations stray")] = 0.6,
        steps: Annotated[int, Query(ge=0, le=MAX_PROJECT_STEPS,
                                    description="Adam steps (more: closer, slower)")] = STEPS,
        seed: Annotated[int, Query(ge=0, lt=MAX_SEED - MAX_VARIATIONS)] = 0,
        scale: Scale = 4,
    ):
        label = None if class_ == "auto" else class_index(studio, "class", class_)
        data = await read_limited(request)

        def decode():  # in a worker thread: a 40-MP photo would hold the event loop a second
            im = read_photo(data, "upload")
            return to_dataset_form(im, info.channels, info.resolution, dark, name="upload")

        try:
            target = await run_in_threadpool(decode)
        except UserError as e:
            raise HTTPException(422, str(e)) from None
        result = await run_in_threadpool(studio.project, target, label, steps, seed)
        z = torch.from_numpy(result.latents[0])
        w = None if result.class_weights is None else torch.from_numpy(result.class_weights[0])
        around = (await run_in_threadpool(studio.around, z, w, variations, strength, seed)
                  if variations else np.zeros((0, *shape), np.uint8))
        main = None if result.labels is None else int(result.labels[0])
        return {"input": b64(png_bytes(target, scale)),
                "reconstruction": b64(png_bytes(result.images[0], scale)),
                "variations": [b64(png_bytes(v, scale)) for v in around],
                "latent": result.latents[0].tolist(),
                "class_weights": None if w is None else w.tolist(),
                "class": main, "class_name": studio.class_name(main),
                "distance": float(result.distances[0]), "distance_kind": result.kind,
                "seed": seed, "strength": strength}

    @app.post("/api/restyle", summary="Morph a projected design into another category",
              response_model=schemas.Restyled, responses=ERRORS)
    def restyle(body: schemas.Restyle):
        label = class_index(studio, "class_to", body.class_to)
        if not studio.conditional:
            raise HTTPException(422, "this generator is unconditional: it cannot restyle")
        if len(body.latent) != studio.latent_dim or len(body.class_weights) != \
                studio.num_classes:
            raise HTTPException(422, f"latent must have {studio.latent_dim} values and "
                                f"class_weights {studio.num_classes} (as /api/project "
                                "returns them)")
        z = torch.tensor(body.latent, dtype=torch.float32)
        w = torch.tensor(body.class_weights, dtype=torch.float32)
        ts, frames = studio.restyle(z, w, label, body.steps)
        return {"class_from": int(w.argmax()), "class_to": label, "class_blend": studio.blend_mode,
                "steps": body.steps, "scale": body.scale,
                "frames": [{"t": t, "png": b64(png_bytes(f, body.scale))}
                           for t, f in zip(ts, frames, strict=True)]}
