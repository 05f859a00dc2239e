"""What an export draws: seeds, classes and the judge's say, chunk by chunk.

Seeds. Images are drawn from seeds seed, seed+1, ... in one stream (the train split, then the
test split), each seed's latent its own (generate/latent.py), so an export is a function of
its arguments and its chunk size alone. Without a filter the t-th image of a conditional G
has class classes[t % len(classes)], exactly as `fashiongan sample` labels them.

Classes. A conditional G gets balanced classes: n split evenly over the classes asked for
(the first n % k get one more). An unconditional G has no say in its classes: the judge (the
shipped evaluator for Fashion-MNIST, `--evaluator` for another data set) labels each image
with its most probable class; `--classes` keeps the images it puts in those classes and
`--balanced` keeps drawing until each class has its share.

Filter. `min_confidence=P` keeps an image only when the judge gives its label (the class G
was asked for, or the judge's own pick) a probability of at least P. Rejected seeds are
skipped, so a filtered export tries more seeds than it keeps (the manifest says how many);
after MAX_TRIES_PER_IMAGE tries per image it gives up with the classes still short.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import torch

from fashiongan.errors import UserError
from fashiongan.generate.latent import latents
from fashiongan.generate.sampling import class_names, generate
from fashiongan.imageio import to_nchw
from fashiongan.metrics.features import probabilities

MAX_TRIES_PER_IMAGE = 50
FILTER_KEYS = ("min_confidence",)


@dataclass
class Request:
    n: int
    test_n: int = 0
    seed: int = 0
    classes: list[int] | None = None  # None: all
    balanced: bool = False  # for an unconditional G (a conditional one always is)
    min_confidence: float = 0.0
    chunk: int = 1000


@dataclass
class Chunk:
    split: str  # "train" or "test"
    images: np.ndarray  # uint8, the sample layout: N x H x W grey, N x H x W x 3 colour
    labels: np.ndarray | None  # int64
    confidence: np.ndarray | None  # float32: the judge's probability of the label
    seeds: np.ndarray  # int64


@dataclass
class Tally:
    """What one split drew: seeds tried, images kept per class."""

    first_seed: int
    tried: int = 0
    kept: int = 0
    counts: list[int] = field(default_factory=list)


def parse_filters(items: list[str]) -> float:
    """`--filter min_confidence=0.9` (repeatable) -> min_confidence."""
    conf = 0.0
    for item in items:
        key, sep, value = item.partition("=")
        if key.strip() not in FILTER_KEYS or not sep:
            raise UserError(f"--filter {item}: expected KEY=VALUE with KEY one of "
                            + ", ".join(FILTER_KEYS))
        try:
            conf = float(value)
        except ValueError:
            conf = float("nan")
        if not 0 <= conf <= 1:
            raise UserError(f"--filter {item}: min_confidence must be a probability in [0, 1]")
    return conf


def quotas(n: int, classes: list[int], k: int) -> np.ndarray:
    """n images split evenly over `classes` (the first n % len get one more); int [k]."""
    need = np.zeros(k, np.int64)
    for i, c in enumerate(classes):
        need[c] = n // len(classes) + (i < n % len(classes))
    return need


def check(g, req: Request, judge) -> None:
    """Refuse what this G and judge cannot do, before anything is drawn."""
    conditional = bool(getattr(g, "num_classes", 0))
    needs_judge = req.min_confidence > 0 or (not conditional and (req.classes or req.balanced))
    if needs_judge and judge is None:
        raise UserError("--classes, --balanced and --filter need the judge's labels for an "
                        "unconditional generator (and --filter for any): this generator's "
                        "data set has none known; give --evaluator JUDGE.safetensors")
    if req.n < 1:
        raise UserError(f"--n must be >= 1, got {req.n}")


def stream(g, req: Request, judge=None) -> Iterator[tuple[Chunk, Tally]]:
    """The accepted images, chunk by chunk (at most req.chunk each), train split first."""
    check(g, req, judge)
    k = len(class_names(g))
    classes = req.classes or list(range(k))
    seed = req.seed
    for split, n in (("train", req.n), ("test", req.test_n)):
        tally = Tally(seed, counts=[0] * k)
        yield from _split(g, req, judge, split, n, classes, tally)
        seed += tally.tried


def _split(g, req, judge, split, n, classes, tally):
    conditional = bool(getattr(g, "num_classes", 0))
    k = len(tally.counts)
    need = quotas(n, classes, k) if (conditional or req.balanced) and k else None
    # exact: every image drawn is kept, so draw no more than are still needed
    exact = req.min_confidence == 0 and (conditional or not (req.classes or req.balanced))
    pointer = 0
    while tally.kept < n:
        if tally.tried >= MAX_TRIES_PER_IMAGE * n:
            raise UserError(_short(tally, n, need, class_names(g), req))
        b = min(req.chunk, n - tally.kept) if exact else req.chunk
        seeds = np.arange(tally.first_seed + tally.tried, tally.first_seed + tally.tried + b)
        labels = None
        if conditional:
            labels, pointer = _cycle(classes, need, pointer, b, exact)
        images = generate(g, latents(seeds.tolist(), g.latent_dim),
                          None if labels is None else torch.from_numpy(labels), batch_size=b)
        tally.tried += b
        conf = None
        if judge is not None:
            probs = probabilities(to_nchw(images), judge)
            if labels is None:
                labels = probs.argmax(1).numpy()
            conf = probs.gather(1, torch.from_numpy(labels)[:, None])[:, 0].numpy()
        keep = _accept(b, labels, conf, need, req.min_confidence, n - tally.kept,
                       req.classes if not conditional else None)
        for c in labels[keep] if labels is not None else ():
            tally.counts[c] += 1
        tally.kept += int(keep.sum())
        if keep.any():
            yield Chunk(split, images[keep], None if labels is None else labels[keep],
                        None if conf is None else conf[keep], seeds[keep]), tally


def _cycle(classes, need, pointer, b, exact):
    """b labels cycling over `classes` from `pointer`, skipping classes that have their
    share; with `exact` a label counts against its share at once (every image is kept)."""
    rem = need.copy()
    out = []
    while len(out) < b:
        c = classes[pointer % len(classes)]
        pointer += 1
        if rem[c] > 0:
            out.append(c)
            rem[c] -= exact
    return np.array(out, np.int64), pointer


def _accept(b: int, labels, conf, need, min_confidence: float, room: int,
            allowed) -> np.ndarray:
    """Which of a chunk's b images are kept, in order: confident enough, of an allowed class,
    within their class's share (need is updated) and within the room left."""
    keep = np.ones(b, bool)
    if conf is not None and min_confidence > 0:
        keep &= conf >= min_confidence
    if allowed is not None:
        keep &= np.isin(labels, allowed)
    for i in np.flatnonzero(keep):
        if room == 0 or (need is not None and need[labels[i]] == 0):
            keep[i] = False
            continue
        room -= 1
        if need is not None:
            need[labels[i]] -= 1
    return keep


def _short(tally: Tally, n: int, need, names, req) -> str:
    short = "" if need is None else ", ".join(
        f"{names[c]} {int(need[c])} short" for c in range(len(need)) if need[c] > 0)
    return (f"after {tally.tried:,} seeds only {tally.kept:,} of the {n:,} images passed "
            f"(min_confidence={req.min_confidence}{', classes ' + short if short else ''}); "
            "lower --filter min_confidence or ask for fewer images")
