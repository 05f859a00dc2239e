"""Response shapes of the studio API, so its OpenAPI page documents every field."""

from __future__ import annotations

from typing import Any, Literal

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
    png: str = Field(description="base64 PNG, 28x28 times scale, grey")


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
