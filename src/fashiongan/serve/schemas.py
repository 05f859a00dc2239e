"""Response shapes of the studio API, so its OpenAPI page documents every field."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

PNG_RESPONSE = {200: {"description": "format=png: one PNG picture; format=json: the JSON below",
                      "content": {"image/png": {"schema": {"type": "string",
                                                           "format": "binary"}}}}}


class Info(BaseModel):
    model: str = Field(description="architecture of the loaded generator")
    conditional: bool = Field(description="whether it takes a class")
    num_classes: int
    latent_dim: int
    resolution: int = Field(description="designs are resolution x resolution pixels")
    channels: int = Field(description="1: grey, 3: colour")
    dataset: str = Field(description="name of the data set the generator was trained on")
    class_blend: Literal["none", "soft", "switch"] = Field(
        description="how two classes mix: soft (blended), switch (at t=0.5), none")


class Health(Info):
    status: Literal["ok"]
    version: str = Field(description="the fashiongan serving it (`fashiongan --version`)")
    snapshot: dict[str, Any] = Field(description="what the snapshot says of itself (step, ...)")


class ClassName(BaseModel):
    index: int
    name: str


class Classes(Info):
    classes: list[ClassName]


class _WithClass(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


class Design(_WithClass):
    seed: int
    class_: int | None = Field(alias="class", description="class index; null: unconditional")
    class_name: str | None
    png: str = Field(description="base64 PNG, the data set's resolution times scale, grey "
                                  "or colour")


class Designs(_WithClass):
    seed: int
    n: int
    class_: int | None = Field(alias="class", description="the class asked for, if any")
    mix_class: int | None
    mix: float | None
    scale: int
    images: list[Design]


class Frame(BaseModel):
    t: float = Field(description="0 at design A, 1 at design B")
    png: str = Field(description="base64 PNG")


class Morph(BaseModel):
    seed_a: int
    seed_b: int
    class_a: int | None
    class_b: int | None
    class_blend: Literal["none", "soft", "switch"]
    steps: int
    scale: int
    frames: list[Frame]


class Projected(BaseModel):
    """POST /api/project: an uploaded photo, converted and projected into the generator."""

    input: str = Field(description="base64 PNG: the photo in the data set's form (what was "
                       "projected)")
    reconstruction: str = Field(description="base64 PNG: the design closest to it")
    variations: list[str] = Field(description="base64 PNGs: designs around it")
    latent: list[float] = Field(description="its latent: send it to /api/restyle")
    class_weights: list[float] | None = Field(description="its class blend (null: "
                                              "unconditional generator)")
    class_: int | None = Field(alias="class", description="its main class")
    class_name: str | None
    distance: float = Field(description="final distance to the input (lower: closer)")
    distance_kind: Literal["evaluator", "pyramid"] = Field(
        description="evaluator: the evaluator's layers + pixels; pyramid: pixels at 4 scales")
    seed: int
    strength: float
    model_config = ConfigDict(populate_by_name=True)


class Restyle(BaseModel):
    """POST /api/restyle's body: a projected design and the category to morph it into."""

    latent: list[Annotated[float, Field(ge=-100, le=100, allow_inf_nan=False)]] = Field(
        max_length=4096)
    class_weights: list[Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]] = Field(
        max_length=1024)
    class_to: str = Field(max_length=40, description="class index or name")
    steps: int = Field(9, ge=2, le=32, description="frames, ends included")
    scale: int = Field(4, ge=1, le=16)


class Restyled(BaseModel):
    class_from: int = Field(description="the design's main class")
    class_to: int
    class_blend: Literal["none", "soft", "switch"]
    steps: int
    scale: int
    frames: list[Frame] = Field(description="t = 0: the design itself; t = 1: restyled")


class Problem(BaseModel):
    """A refused request: FastAPI's list of field errors, or one message (a bad upload)."""

    detail: str | list[dict[str, Any]]


class NearestRequest(_WithClass):
    seed: int = Field(ge=0, lt=2**31, description="the design's seed")
    class_: str | int | None = Field(None, alias="class", description="its class (index or "
                                     "name); omitted: the seed's own class, seed % num_classes")
    scale: int = Field(4, ge=1, le=16, description="enlarge both pictures")


class Nearest(_WithClass):
    seed: int
    class_: int | None = Field(alias="class")
    train_index: int = Field(description="index of the nearest image in the training split")
    train_label: int | None
    distance: float = Field(description="RMS pixel difference (0..1) at the best shift of up "
                            "to 2 px")
    threshold: float = Field(description="5 % of real test images lie closer than this")
    closer_than_unseen: bool = Field(description="distance < threshold: as close as a copy")
    design_png: str = Field(description="base64 PNG of the design")
    png: str = Field(description="base64 PNG of the nearest training image")
