"""Training configuration: one frozen dataclass, presets as YAML files, `key=value` overrides.

A preset or override may only name keys that exist here and must give a value of the field's
type; anything else is a one-line UserError that lists the valid keys.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from fashiongan import validate
from fashiongan.errors import UserError

DEFAULT_PRESET = "default"
# A preset file may start from another: `base: NAME` (a shipped preset, or a YAML path relative
# to the file) and then only the keys it changes. A preset built on the default this way (best
# is the default trained longer) shares its widths per resolution and its switch to augmentation
# on small training sets, so a change to the default reaches it without a second copy.
BASE_KEY = "base"


@dataclass(frozen=True)
class TrainConfig:
    # --- model -------------------------------------------------------------------------------
    model: str = "article"  # architecture name in fashiongan.models.REGISTRY
    latent_dim: int = 100  # size of the noise vector z
    num_classes: int = 0  # 0: unconditional; 10: class-conditional on the Fashion-MNIST labels
    g_width: int = 256  # G's base width: units of its first layer (article) or channels at 7x7
    d_width: int = 512  # D's base width: first layer's units (article) or first conv's channels
    spectral_norm: bool = False  # spectral normalisation on D's weight layers
    sync_bn: bool = False  # SyncBatchNorm in G when training on several ranks
    # --- objective ---------------------------------------------------------------------------
    loss: str = "bce"  # bce | non_saturating | hinge | wgan_gp (see fashiongan.training.objective)
    gp_weight: float = 10.0  # gradient-penalty weight, used by wgan_gp only
    r1_gamma: float = 0.0  # R1 penalty weight on real data; 0 turns it off
    r1_interval: int = 1  # lazy R1 (StyleGAN2): every this many iterations, weight x interval
    d_steps: int = 1  # D updates per G update (WGAN critics often use 5)
    d_split_steps: bool = False  # article/Keras: one D optimiser step on real, then one on fake
    d_fakes_eval_mode: bool = False  # article/Keras: D's fakes come from G.predict (BN in eval)
    # --- augmentation (fashiongan.augment: the same ops on every image D sees) ------------
    augment: str = "none"  # none | diffaugment (Zhao et al. 2020) | ada (Karras et al. 2020)
    augment_policy: str = "color,translation,cutout"  # diffaugment: comma list of policies
    ada_target: float = 0.6  # ada: the r_t = E[sign(D(real))] that p is steered to
    ada_kimg: float = 500.0  # ada: thousands of images for p to go 0 -> 1 at the fastest
    ada_interval: int = 4  # ada: iterations between adjustments of p
    ada_xflip: bool = True  # ada: left-right flips (garments are near-symmetric)
    ada_rotate90: bool = False  # ada: quarter turns (garments are never seen upside down)
    ada_p: float = 0.0  # ada: p at the start of a run
    # --- optimisation ------------------------------------------------------------------------
    iterations: int = 5000  # generator updates in the whole run
    batch_size: int = 32  # images per batch on each rank (global batch = batch_size x ranks)
    lr: float = 2e-4  # Adam learning rate of G
    d_lr: float = 0.0  # Adam learning rate of D; 0 means the same as lr
    lr_warmup_kimg: float = 0.0  # both learning rates ramp up linearly over this many kimg
    beta1: float = 0.5  # Adam beta1
    beta2: float = 0.999  # Adam beta2
    adam_eps: float = 1e-7  # Adam epsilon (Keras' default is 1e-7, PyTorch's 1e-8)
    ema_halflife_kimg: float = 0.0  # half-life of G's EMA in thousands of images; 0: no EMA
    ema_rampup: float = 0.05  # EMA half-life is at most this fraction of images seen so far
    # replacement (article: randint) | epoch (permutations) | balanced (epoch order spread by
    # class so every batch holds the classes in proportion, and fake labels cycle the classes)
    batch_sampling: str = "replacement"
    seed: int = 0  # fixes init, data order and noise
    on_nan: str = "stop"  # stop | rollback (reload the last good state, halve the lr, go on)
    max_rollbacks: int = 3  # with on_nan rollback: stop after this many rollbacks
    # --- output ------------------------------------------------------------------------------
    log_interval: int = 1000  # print losses every this many iterations
    sample_interval: int = 1000  # write a sample grid (fixed noise) every this many iterations
    checkpoint_interval: int = 1000  # write a training state every this many iterations
    keep_checkpoints: int = 3  # training states kept on disk (the newest ones)
    grid_rows: int = 5  # rows of the sample grid
    grid_cols: int = 10  # columns of the sample grid
    grid_scale: int = 3  # training grids enlarged this many times (nearest) so clothes are seen
    eval_every: int = 0  # compute evaluator FID every this many iterations; 0: never
    eval_samples: int = 5000  # samples per FID evaluation during training
    # --- execution ---------------------------------------------------------------------------
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    compile: bool = False  # torch.compile the training step's models
    amp: str = "none"  # none | bf16 (autocast: CUDA, or a CPU with AVX512-BF16; changes numerics)
    threads: int = 0  # CPU threads for torch; 0 leaves torch's default (one per core)
    onednn_linear: bool = True  # CPU: wide Linear layers on oneDNN's GEMM (models/onednn_linear)
    fused_step: bool = True  # CPU: the article's iteration without autograd (article_step.py)

    def __post_init__(self):
        for f in fields(self):  # nan < 0 is False: NaN and infinity would pass every range
            if f.type == "float":
                validate.finite(f.name, getattr(self, f.name))
        validate.seed(self.seed, "config: seed")
        positive = ("latent_dim", "g_width", "d_width", "iterations", "batch_size", "d_steps",
                    "log_interval", "sample_interval", "checkpoint_interval", "keep_checkpoints",
                    "grid_rows", "grid_cols", "grid_scale", "eval_samples", "r1_interval")
        for name in positive:
            if getattr(self, name) <= 0:
                raise UserError(f"config: {name} must be > 0, got {getattr(self, name)}")
        if self.batch_size < 2:  # every G has BatchNorm, whose batch statistics need two
            raise UserError(f"config: batch_size must be >= 2 (BatchNorm needs two samples "
                            f"per batch), got {self.batch_size}")
        for name in ("lr", "adam_eps"):
            if not getattr(self, name) > 0:
                raise UserError(f"config: {name} must be > 0, got {getattr(self, name)}")
        nonneg = ("num_classes", "gp_weight", "r1_gamma", "d_lr", "ema_halflife_kimg", "ema_rampup",
                  "eval_every", "threads", "max_rollbacks", "lr_warmup_kimg")  # seed: validate
        for name in nonneg:
            if getattr(self, name) < 0:
                raise UserError(f"config: {name} must be >= 0, got {getattr(self, name)}")
        for name in ("beta1", "beta2"):
            if not 0 <= getattr(self, name) < 1:
                raise UserError(f"config: {name} must be in [0, 1), got {getattr(self, name)}")
        choices = {
            "loss": ("bce", "non_saturating", "hinge", "wgan_gp"),
            "batch_sampling": ("replacement", "epoch", "balanced"),
            "amp": ("none", "bf16"),
            "on_nan": ("stop", "rollback"),
            "augment": ("none", "diffaugment", "ada"),
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                got = getattr(self, name)
                raise UserError(f"config: {name} must be one of {', '.join(allowed)}; got {got!r}")
        if not (0 < self.ada_target < 1 and 0 <= self.ada_p <= 1 and self.ada_kimg > 0
                and self.ada_interval > 0):
            raise UserError("config: ada_target must be in (0, 1), ada_p in [0, 1], ada_kimg "
                            "and ada_interval > 0")
        if self.batch_sampling == "balanced" and not self.num_classes:
            raise UserError("config: batch_sampling balanced balances classes; it needs a "
                            "class-conditional model (num_classes > 0)")
        if self.model == "article" and self.num_classes:
            raise UserError("config: model article is unconditional; num_classes must be 0 "
                            "(cdcgan is the class-conditional model)")
        if self.d_split_steps and self.loss not in ("bce", "non_saturating"):
            raise UserError("config: d_split_steps (the article's two D steps) needs loss bce")
        if self.device != "auto" and self.device != "cpu" and not self.device.startswith("cuda"):
            raise UserError(f"config: device must be auto, cpu, cuda or cuda:N; "
                            f"got {self.device!r}")

    @property
    def d_learning_rate(self) -> float:
        return self.d_lr or self.lr

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def replace(self, **changes) -> TrainConfig:
        return from_dict({**self.to_dict(), **changes}, source="arguments")


FIELDS = {f.name: f for f in fields(TrainConfig)}


def _typed(name: str, value: Any, source: str) -> Any:
    kind = FIELDS[name].type
    if kind == "float" and isinstance(value, str):
        with contextlib.suppress(ValueError):  # YAML 1.1 reads "1e-4" (no dot) as a string
            value = float(value)
    ok = {
        "int": isinstance(value, int) and not isinstance(value, bool),
        "float": isinstance(value, int | float) and not isinstance(value, bool),
        "bool": isinstance(value, bool),
        "str": isinstance(value, str),
    }[kind]
    if not ok:
        raise UserError(f"{source}: {name} must be a {kind}, got {value!r}")
    return float(value) if kind == "float" else value


def from_dict(values: dict[str, Any], source: str = "config") -> TrainConfig:
    unknown = sorted(set(values) - set(FIELDS))
    if unknown:
        raise UserError(
            f"{source}: unknown key(s) {', '.join(unknown)}; valid keys: {', '.join(FIELDS)}"
        )
    return TrainConfig(**{k: _typed(k, v, source) for k, v in values.items()})


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


def for_data(values: dict[str, Any], info, overridden: set[str], preset: str) -> dict[str, Any]:
    """A preset fitted to a data set: conditional on its classes when it has labels (a cdcgan
    preset becomes dcgan on unlabelled data), and, for the default preset and those built on
    it (`builds_on_default`), widths and batch for its resolution."""
    values = dict(values)
    if values.get("num_classes"):
        values["num_classes"] = info.num_classes
        if not info.num_classes and values.get("model") == "cdcgan" and "model" not in overridden:
            values["model"] = "dcgan"
    if builds_on_default(preset):
        values.update(DEFAULT_SIZES.get(info.resolution, {}))
    return values  # the caller applies the overrides last


# Below this many training images the default preset turns augmentation on by itself, in this
# mode. benchmarks/small_data.py (README, "Small catalogues"), 2,000 images, the preset as it is:
# FID of 5,000 samples none 4.82 vs ADA (ada_target 0.4) 2.76 at 50,000 iterations, none 4.29
# and 3.70 (two runs) vs 2.15 at 70,000; at 3,000 iterations no mode is measurably better from
# 1,000 images up, and 5,000 images are not measured at length, hence a threshold just above the
# measured size. ADA, because it adapts: p stays near 0, near free, while D does not memorise,
# and rises as it does.
# Its ada_target stays Karras et al.'s 0.6: 0.4 beat 0.6 once (the older preset, one seed each).
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


def load_json(path: str | Path) -> TrainConfig:
    """The config saved in a run folder or beside a snapshot."""
    path = Path(path)
    try:
        values = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise UserError(f"{path}: not a readable config.json ({e})") from None
    if not isinstance(values, dict):
        raise UserError(f"{path}: not a config mapping")
    values = values.get("config", values)
    return from_dict(values, source=str(path))
