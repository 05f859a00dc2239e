"""The studio's request parameters and their limits, shared by its routes (app.py) and its
upload panel (upload.py): a limit is a Query constraint, so a bad request is a 422 before any
generator work."""

from __future__ import annotations

import base64
from typing import Annotated, Literal

from fastapi import Query
from fastapi.exceptions import RequestValidationError

from fashiongan.errors import UserError
from fashiongan.generate.sampling import class_names, parse_class
from fashiongan.serve.studio import MAX_SEED, Studio

MAX_N = 64
MAX_STEPS = 32
MAX_SCALE = 16

CLASS_DOC = "class index or name (the model's categories: GET /api/classes)"
Seed = Annotated[int, Query(ge=0, lt=MAX_SEED, description="seed in [0, 2^31)")]
ClassParam = Annotated[str | None, Query(max_length=40, description=CLASS_DOC)]
Scale = Annotated[int, Query(ge=1, le=MAX_SCALE, description="enlarge each design (at the data "
                                                              "set's resolution) this many times")]
Format = Annotated[Literal["png", "json"], Query(
    description="png: one picture, a grid with 2-px gaps (a single design comes unframed); "
                "json: base64 PNGs with their seeds and classes")]


def invalid(name: str, message: str, value) -> RequestValidationError:
    """A 422 in FastAPI's own error shape, for checks Query constraints cannot express."""
    return RequestValidationError([{"type": "value_error", "loc": ("query", name),
                                    "msg": message, "input": value}])


def class_index(studio: Studio, name: str, value: str | None) -> int | None:
    if value is None:
        return None
    try:
        studio.check_class(0, name)
        return parse_class(value, class_names(studio.g))
    except UserError as e:
        raise invalid(name, str(e), value) from None


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
