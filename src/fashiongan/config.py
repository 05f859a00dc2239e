"""Training configuration: frozen sections, each key documented on its line.

A key is named the same everywhere a person types it (a preset's YAML, `--set key=value`,
config.json): `lr`, `augment`, `model`. In code it lives in its section (`cfg.optim.lr`,
`cfg.augment.mode`, `cfg.model.arch`). Whether a resumed run may change a key follows from its
section: the model, the objective, the augmentation and the schedule decide what the run learns
and from which data order, so changing them starts another run; optimisation, output and
runtime keys may change on resume and are applied for real.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar

from fashiongan import validate
from fashiongan.errors import UserError


def _key(name: str, default, help: str):  # noqa: A002 - the key's help text
    """A field whose key (what a person types) differs from its attribute name."""
    return field(default=default, metadata={"key": name, "help": help})


def _check(name: str, ok: bool, what: str, value) -> None:
    if not ok:
        raise UserError(f"config: {name} must be {what}, got {value!r}")


def _positive(obj, *names: str) -> None:
    for name in names:
        _check(name, getattr(obj, name) > 0, "> 0", getattr(obj, name))


def _nonnegative(obj, *names: str) -> None:
    for name in names:
        _check(name, getattr(obj, name) >= 0, ">= 0", getattr(obj, name))


def _one_of(value, key: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise UserError(f"config: {key} must be one of {', '.join(allowed)}; got {value!r}")


@dataclass(frozen=True)
class Model:
    """What is trained: the networks' architecture and size."""
    RESUMABLE: ClassVar[bool] = False
    arch: str = _key("model", "article", "architecture name in fashiongan.models.REGISTRY")
    latent_dim: int = 100  # size of the noise vector z
    num_classes: int = 0  # 0: unconditional; N: class-conditional on the data set's N labels
    g_width: int = 256  # G's base width: units of its first layer (article) or channels
    d_width: int = 512  # D's base width: first layer's units (article) or first conv's channels
    spectral_norm: bool = False  # spectral normalisation on D's weight layers
    sync_bn: bool = False  # SyncBatchNorm in G when training on several ranks

    def __post_init__(self):
        _positive(self, "latent_dim", "g_width", "d_width")
        _nonnegative(self, "num_classes")
        if self.arch == "article" and self.num_classes:
            raise UserError("config: model article is unconditional; num_classes must be 0 "
                            "(cdcgan is the class-conditional model)")


@dataclass(frozen=True)
class Objective:
    """What the networks are trained to do: the losses and penalties, D's steps per G step."""
    RESUMABLE: ClassVar[bool] = False
    loss: str = "bce"  # bce | non_saturating | hinge | wgan_gp (training/objective.py)
    gp_weight: float = 10.0  # gradient-penalty weight, used by wgan_gp only
    r1_gamma: float = 0.0  # R1 penalty weight on real data; 0 turns it off
    r1_interval: int = 1  # lazy R1 (StyleGAN2): every this many iterations, weight x interval
    # > 0: r1_gamma is where gamma starts, and it follows D's loss towards this target, moving
    # at most 10x per r1_kimg thousand real images (training/r1.py); 0: gamma stays r1_gamma
    r1_target: float = 0.0
    r1_kimg: float = 4.0
    d_steps: int = 1  # D updates per G update (WGAN critics often use 5)
    d_split_steps: bool = False  # article/Keras: one D optimiser step on real, then one on fake
    d_fakes_eval_mode: bool = False  # article/Keras: D's fakes come from G.predict (BN in eval)
    # FastGAN's self-supervised D (Liu et al. 2021): a small decoder redraws each real image
    # from D's 8x8 features; this weighs its L1 error in D's loss. 0: off; model fastgan only
    recon_weight: float = 0.0
    # MSGAN's mode-seeking term in G's loss at this weight (training/objective.py); 0: off
    mode_seeking: float = 0.0
    # G's step backpropagates through the fakes D's step just scored (PyTorch's DCGAN
    # example) instead of drawing new ones: one G forward per iteration, not two
    g_reuses_d_fakes: bool = False

    def __post_init__(self):
        _one_of(self.loss, "loss", ("bce", "non_saturating", "hinge", "wgan_gp"))
        _positive(self, "r1_interval", "d_steps", "r1_kimg")
        _nonnegative(self, "gp_weight", "r1_gamma", "recon_weight", "r1_target",
                     "mode_seeking")
        if self.r1_target and not self.r1_gamma:
            raise UserError("config: r1_target adapts R1's weight from r1_gamma, which is 0")
        if self.recon_weight and self.d_split_steps:
            raise UserError("config: recon_weight needs the joint D step (d_split_steps false)")
        if self.d_split_steps and self.loss not in ("bce", "non_saturating"):
            raise UserError("config: d_split_steps (the article's two D steps) needs loss bce")
        if self.g_reuses_d_fakes and (self.d_steps != 1 or self.d_split_steps
                                      or self.d_fakes_eval_mode):
            raise UserError("config: g_reuses_d_fakes needs one joint D step per G step "
                            "(d_steps 1, d_split_steps and d_fakes_eval_mode false)")


@dataclass(frozen=True)
class Augment:
    """The same random operations on every image D sees (fashiongan.augment)."""
    RESUMABLE: ClassVar[bool] = False
    mode: str = _key("augment", "none",
                     "none | diffaugment (Zhao et al. 2020) | ada (Karras et al. 2020)")
    policy: str = _key("augment_policy", "color,translation,cutout",
                       "diffaugment: comma list of policies")
    ada_target: float = 0.6  # ada: the r_t = E[sign(D(real))] that p is steered to
    ada_kimg: float = 500.0  # ada: thousands of images for p to go 0 -> 1 at the fastest
    ada_interval: int = 4  # ada: iterations between adjustments of p
    ada_xflip: bool = True  # ada: left-right flips (garments are near-symmetric)
    ada_rotate90: bool = False  # ada: quarter turns (garments are never seen upside down)
    # ada: brightness, contrast and saturation; off where the photos share one background,
    # which the colour ops would otherwise teach G to vary (a leak)
    ada_colour: bool = True
    ada_p: float = 0.0  # ada: p at the start of a run

    def __post_init__(self):
        _one_of(self.mode, "augment", ("none", "diffaugment", "ada"))
        if not (0 < self.ada_target < 1 and 0 <= self.ada_p <= 1 and self.ada_kimg > 0
                and self.ada_interval > 0):
            raise UserError("config: ada_target must be in (0, 1), ada_p in [0, 1], ada_kimg "
                            "and ada_interval > 0")


@dataclass(frozen=True)
class Schedule:
    """Which images and noise the run sees in which order, and how G's average is kept."""
    RESUMABLE: ClassVar[bool] = False
    seed: int = 0  # fixes init, data order and noise
    batch_size: int = 32  # images per batch on each rank (global batch = batch_size x ranks)
    # replacement (article: randint) | epoch (permutations) | balanced (epoch order spread by
    # class so every batch holds the classes in proportion, and fake labels cycle the classes)
    batch_sampling: str = "replacement"
    lr_warmup_kimg: float = 0.0  # both learning rates ramp up linearly over this many kimg
    ema_halflife_kimg: float = 0.0  # half-life of G's EMA in thousands of images; 0: no EMA
    ema_rampup: float = 0.05  # EMA half-life is at most this fraction of images seen so far

    def __post_init__(self):
        validate.seed(self.seed, "config: seed")
        _positive(self, "batch_size")
        if self.batch_size < 2:  # every G has BatchNorm, whose batch statistics need two
            raise UserError(f"config: batch_size must be >= 2 (BatchNorm needs two samples "
                            f"per batch), got {self.batch_size}")
        _one_of(self.batch_sampling, "batch_sampling", ("replacement", "epoch", "balanced"))
        _nonnegative(self, "lr_warmup_kimg", "ema_halflife_kimg", "ema_rampup")


@dataclass(frozen=True)
class Optim:
    """How long and how hard to optimise, and what to do when a loss is not finite."""
    RESUMABLE: ClassVar[bool] = True
    iterations: int = 5000  # generator updates in the whole run
    lr: float = 2e-4  # Adam learning rate of G
    d_lr: float = 0.0  # Adam learning rate of D; 0 means the same as lr
    beta1: float = 0.5  # Adam beta1
    beta2: float = 0.999  # Adam beta2
    adam_eps: float = 1e-7  # Adam epsilon (Keras' default is 1e-7, PyTorch's 1e-8)
    on_nan: str = "stop"  # stop | rollback (reload the last good state, halve the lr, go on)
    max_rollbacks: int = 3  # with on_nan rollback: stop after this many rollbacks

    def __post_init__(self):
        _positive(self, "iterations", "lr", "adam_eps")
        _nonnegative(self, "d_lr", "max_rollbacks")
        for name in ("beta1", "beta2"):
            _check(name, 0 <= getattr(self, name) < 1, "in [0, 1)", getattr(self, name))
        _one_of(self.on_nan, "on_nan", ("stop", "rollback"))

    @property
    def d_learning_rate(self) -> float:
        return self.d_lr or self.lr


@dataclass(frozen=True)
class Output:
    """What the run writes and how often."""
    RESUMABLE: ClassVar[bool] = True
    log_interval: int = 1000  # print losses every this many iterations
    sample_interval: int = 1000  # write a sample grid (fixed noise) every this many iterations
    checkpoint_interval: int = 1000  # write a training state every this many iterations
    keep_checkpoints: int = 3  # training states kept on disk (the newest ones)
    grid_rows: int = 5  # rows of the sample grid
    grid_cols: int = 10  # columns of the sample grid
    grid_scale: int = 3  # training grids enlarged this many times (nearest) so clothes are seen
    eval_every: int = 0  # compute evaluator FID every this many iterations; 0: never
    eval_samples: int = 5000  # samples per FID evaluation during training

    def __post_init__(self):
        _positive(self, "log_interval", "sample_interval", "checkpoint_interval",
                  "keep_checkpoints", "grid_rows", "grid_cols", "grid_scale", "eval_samples")
        _nonnegative(self, "eval_every")


@dataclass(frozen=True)
class Runtime:
    """Where and how fast it runs; none of it changes what is learnt beyond float rounding."""
    RESUMABLE: ClassVar[bool] = True
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    compile: bool = False  # torch.compile the training step's models
    amp: str = "none"  # none | bf16 | auto: bf16 autocast where it runs fast (accel/bf16.py)
    threads: int = 0  # CPU threads for torch; 0: one per idle core, re-chosen as load changes
    onednn_linear: bool = True  # CPU: wide Linear layers on oneDNN's GEMM (accel/onednn_linear)
    fused_step: bool = True  # CPU: the article's iteration without autograd (article_step.py)

    def __post_init__(self):
        _one_of(self.amp, "amp", ("none", "bf16", "auto"))
        _nonnegative(self, "threads")
        if self.device not in ("auto", "cpu") and not self.device.startswith("cuda"):
            raise UserError(f"config: device must be auto, cpu, cuda or cuda:N; "
                            f"got {self.device!r}")


SECTIONS = {"model": Model, "objective": Objective, "augment": Augment, "schedule": Schedule,
            "optim": Optim, "output": Output, "runtime": Runtime}


@dataclass(frozen=True)
class Key:
    """One configuration key as a person types it: its section and attribute, type, default."""
    name: str
    section: str
    attr: str
    type: str
    default: Any

    @property
    def resumable(self) -> bool:
        return SECTIONS[self.section].RESUMABLE


FIELDS: dict[str, Key] = {
    f.metadata.get("key", f.name): Key(f.metadata.get("key", f.name), section, f.name, f.type,
                                       f.default)
    for section, cls in SECTIONS.items() for f in fields(cls)}
RESUMABLE = tuple(k for k, key in FIELDS.items() if key.resumable)


@dataclass(frozen=True)
class TrainConfig:
    model: Model = field(default_factory=Model)
    objective: Objective = field(default_factory=Objective)
    augment: Augment = field(default_factory=Augment)
    schedule: Schedule = field(default_factory=Schedule)
    optim: Optim = field(default_factory=Optim)
    output: Output = field(default_factory=Output)
    runtime: Runtime = field(default_factory=Runtime)

    def __post_init__(self):  # the checks that span sections
        if self.schedule.batch_sampling == "balanced" and not self.model.num_classes:
            raise UserError("config: batch_sampling balanced balances classes; it needs a "
                            "class-conditional model (num_classes > 0)")

    def to_dict(self) -> dict[str, Any]:
        """Every key by the name a person types (presets, --set, config.json)."""
        return {k: getattr(getattr(self, key.section), key.attr) for k, key in FIELDS.items()}

    def replace(self, **changes) -> TrainConfig:
        """A copy with keys (by their typed names) changed."""
        return from_dict({**self.to_dict(), **changes}, source="arguments")

    def changed(self, other: TrainConfig) -> list[str]:
        """The keys whose values differ between the two."""
        mine, theirs = self.to_dict(), other.to_dict()
        return [k for k in FIELDS if mine[k] != theirs[k]]


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
    if kind == "float":  # nan < 0 is False: NaN and infinity would pass every range
        validate.finite(name, value)
        return float(value)
    return value


def from_dict(values: dict[str, Any], source: str = "config") -> TrainConfig:
    """A config from keys by their typed names; absent keys take their defaults."""
    unknown = sorted(set(values) - set(FIELDS))
    if unknown:
        raise UserError(
            f"{source}: unknown key(s) {', '.join(unknown)}; valid keys: {', '.join(FIELDS)}"
        )
    parts: dict[str, dict[str, Any]] = {s: {} for s in SECTIONS}
    for k, v in values.items():
        key = FIELDS[k]
        parts[key.section][key.attr] = _typed(k, v, source)
    return TrainConfig(**{s: SECTIONS[s](**kw) for s, kw in parts.items()})


def load_json(path: str | Path) -> TrainConfig:
    """The config saved in a run folder (config.json)."""
    path = Path(path)
    try:
        values = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise UserError(f"{path}: not a readable config.json ({e})") from None
    if not isinstance(values, dict):
        raise UserError(f"{path}: not a config mapping")
    values = values.get("config", values)
    return from_dict(values, source=str(path))

