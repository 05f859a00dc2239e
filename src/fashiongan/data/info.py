"""What a data set is, to everything downstream of data/: its shape and its classes.

A snapshot stores this (not the data), so a generator can be sampled, served and judged
without the images it was trained on.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from fashiongan.errors import UserError

RESOLUTIONS = (28, 32, 64, 128)  # what the conv models grow to by stride-2 stages


@dataclass(frozen=True)
class DatasetInfo:
    resolution: int  # images are square, resolution x resolution pixels
    channels: int  # 1 (grey) or 3 (RGB)
    class_names: tuple[str, ...] = ()  # empty: unlabelled
    name: str = ""  # where it came from, for people (fashion-mnist, a folder's name...)

    def __post_init__(self):
        if self.channels not in (1, 3):
            raise UserError(f"data set: channels must be 1 or 3, got {self.channels}")
        if self.resolution < 4:
            raise UserError(f"data set: resolution must be >= 4, got {self.resolution}")
        object.__setattr__(self, "class_names", tuple(self.class_names))

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.channels, self.resolution, self.resolution)

    def to_dict(self) -> dict:
        return {**asdict(self), "class_names": list(self.class_names)}

    @classmethod
    def from_dict(cls, d: dict) -> DatasetInfo:
        known = {"resolution", "channels", "class_names", "name"}
        return cls(**{k: v for k, v in d.items() if k in known})
