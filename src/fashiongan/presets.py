"""Presets: YAML files of config keys, chained by `base:`, fitted to a data set and its size,
then the `--set key=value` overrides.

A preset file may start from another: `base: NAME` (a shipped preset, or a YAML path relative
to the file) and then only the keys it changes. A preset built on the default this way (best is
the default trained longer) shares its widths per resolution and its switch to augmentation on
small training sets, so a change to the default reaches it without a second copy.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from fashiongan.config import FIELDS, TrainConfig, from_dict
from fashiongan.errors import UserError

DEFAULT_PRESET = "default"
BASE_KEY = "base"


def preset_names() -> list[str]:
    folder = resources.files("fashiongan") / "configs"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def _read_yaml(path_or_text, source: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path_or_text) or {}
    except yaml.YAMLError as e:
        raise UserError(f"{source}: not valid YAML ({str(e).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise UserError(f"{source}: must be a mapping of key: value")
    return data


def _preset_file(name_or_path: str, near: Path | None = None) -> tuple[str, str, Path | None]:
    """(source name, YAML text, the file resolved, or None for a shipped preset)."""
    path = Path(name_or_path)
    if near is not None and not path.is_absolute() and name_or_path.endswith((".yaml", ".yml")):
        path = near / path
    if name_or_path.endswith((".yaml", ".yml")) or path.is_file():
        if not path.is_file():
            raise UserError(f"preset file {path} does not exist")
        return str(path), path.read_text(), path.resolve()
    if name_or_path not in preset_names():
        raise UserError(
            f"unknown preset {name_or_path!r}; presets: {', '.join(preset_names())}"
        )
    text = (resources.files("fashiongan") / "configs" / f"{name_or_path}.yaml").read_text()
    return f"preset {name_or_path}", text, None


def preset_lineage(name_or_path: str) -> list[tuple[str, dict[str, Any]]]:
    """The preset and its bases, nearest first: (source name, its own keys without `base`)."""
    chain: list[tuple[str, dict[str, Any]]] = []
    seen: set[str] = set()
    name, near = name_or_path, None
    while True:
        source, text, file = _preset_file(name, near)
        key = str(file) if file else source
        if key in seen:
            raise UserError(f"{chain[0][0]}: `base` goes round in a circle through {source}")
        seen.add(key)
        values = _read_yaml(text, source)
        base = values.pop(BASE_KEY, None)
        chain.append((source, values))
        if base is None:
            return chain
        if not isinstance(base, str) or not base:
            raise UserError(f"{source}: `base` must name a preset or a YAML file, not {base!r}")
        name, near = base, file and file.parent


def load_preset(name_or_path: str) -> dict[str, Any]:
    """A preset's key/values: a name from `preset_names()` or a path to a YAML file, over the
    keys of its `base` chain."""
    values: dict[str, Any] = {}
    for _, own in reversed(preset_lineage(name_or_path)):
        values.update(own)
    return values


def builds_on_default(preset: str | None) -> bool:
    """Whether the preset is the default or has it in its `base` chain."""
    return any(source == f"preset {DEFAULT_PRESET}"
               for source, _ in preset_lineage(preset or DEFAULT_PRESET))


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """`key=value` strings; values are read as YAML scalars (1e-4, true, cdcgan)."""
    out = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UserError(f"--set {pair!r}: expected key=value")
        if key not in FIELDS:
            raise UserError(f"--set: unknown key {key!r}; valid keys: {', '.join(FIELDS)}")
        try:
            value = yaml.safe_load(text) if text.strip() else ""
        except yaml.YAMLError:
            value = text
        if FIELDS[key].type == "str" and not isinstance(value, str):
            value = text  # "device=0" style values stay the text the user typed
        out[key] = value
    return out


# The default preset's widths and batch per resolution (28 px: the preset file's own). D costs
# most of a CPU iteration and its cost grows with d_width squared, so it narrows as images grow,
# to keep a 64-px colour run at a few hundred images per second on two cores.
DEFAULT_SIZES = {32: {"g_width": 128, "d_width": 32, "batch_size": 32},
                 64: {"g_width": 128, "d_width": 16, "batch_size": 32},
                 128: {"g_width": 128, "d_width": 8, "batch_size": 16}}


# Colour data sets at these resolutions train the colour preset's generator when the preset
# is the default or built on it: it measured ahead of the default's ConvTranspose DCGAN at
# equal CPU time on the colour catalogue there (docs/results/2026-12-06-colour-catalogue.md).
COLOUR_PRESET = "colour"
COLOUR_RESOLUTIONS = (64, 128)


def colour_keys(preset: str, info) -> dict[str, Any]:
    """The colour preset's own keys that `preset` takes on this data set: none unless the data
    is colour at a COLOUR_RESOLUTIONS size and the preset builds on the default; then those
    keys no preset of its chain above the default sets itself (a house preset's own model
    stays)."""
    if info.channels != 3 or info.resolution not in COLOUR_RESOLUTIONS:
        return {}
    default = f"preset {DEFAULT_PRESET}"
    chain = preset_lineage(preset)
    if all(source != default for source, _ in chain):  # builds_on_default, on the chain read
        return {}
    own = {k for source, keys in chain if source != default for k in keys}
    return {k: v for k, v in preset_lineage(COLOUR_PRESET)[0][1].items() if k not in own}


def for_data(values: dict[str, Any], info, overridden: set[str], preset: str) -> dict[str, Any]:
    """A preset fitted to a data set: conditional on its classes when it has labels (a cdcgan
    preset becomes dcgan on unlabelled data), and, for the default preset and those built on
    it (`builds_on_default`), widths and batch for its resolution and, on colour data, the
    colour generator (`colour_keys`)."""
    values = dict(values)
    values.update(colour_keys(preset, info))
    if values.get("num_classes"):
        values["num_classes"] = info.num_classes
        if not info.num_classes and values.get("model") == "cdcgan" and "model" not in overridden:
            values["model"] = "dcgan"
    if builds_on_default(preset):
        values.update(DEFAULT_SIZES.get(info.resolution, {}))
    return values  # the caller applies the overrides last


# Below this many training images the default preset turns augmentation on by itself, in this
# mode: on 2,000 images ADA roughly halved the FID of no augmentation at 50,000-70,000
# iterations, while from 1,000 images up no mode was measurably better over 3,000 iterations
# (docs/results/2026-12-03-small-data.md), hence a threshold just above the measured size. ADA
# because it adapts: p stays near 0, near free, while D does not memorise, and rises as it does.
SMALL_DATA_IMAGES = 2_500
SMALL_DATA_AUGMENT = "ada"


def small_data_augment(preset: str | None, overrides: list[str] | None,
                       train_images: int | None) -> str | None:
    """The augment mode the default preset (and those built on it) takes on its own for a
    training set this small, or None: another preset, the size unknown or large enough, or
    `augment` set by the user."""
    if train_images is None or not builds_on_default(preset):
        return None
    if train_images >= SMALL_DATA_IMAGES or "augment" in parse_overrides(overrides or []):
        return None
    return SMALL_DATA_AUGMENT


def resolve(preset: str | None = None, overrides: list[str] | None = None,
            info=None, train_images: int | None = None) -> TrainConfig:
    """A preset, fitted to the data set `info` describes (None: Fashion-MNIST, as the preset
    files are written for it) and to its size `train_images` (None: not known), then the --set
    overrides."""
    values = load_preset(preset or DEFAULT_PRESET)
    changes = parse_overrides(overrides or [])
    if info is not None:
        values = for_data(values, info, set(changes), preset or DEFAULT_PRESET)
    auto = small_data_augment(preset, overrides, train_images)
    if auto:
        values["augment"] = auto
    values.update(changes)
    if (not values.get("num_classes") and values.get("batch_sampling") == "balanced"
            and "batch_sampling" not in changes):
        values["batch_sampling"] = "epoch"  # unlabelled data or num_classes=0: nothing to balance
    return from_dict(values, source=f"preset {preset or DEFAULT_PRESET}")
