"""Inception scores against an imported data set's held-out test split, beside its real floor.

`fashiongan evaluate RUN --data DATASET`: the generator's samples (or an .npz of images at the
data set's shape) go through the Inception network (inception.py: grey repeated to three
channels, any resolution resized to 299 with TF1's alignment) and are scored against the test
split of DATASET: FID, KID, precision/recall (k=3), density/coverage (k=5). Beside each
figure stands the real-data floor: as many *training-split* images as there are samples (at
most the whole training split), scored against the same test split in exactly the same way.
A perfect generator scores like the floor at the same N; FID in particular falls with N, so a
figure means something only beside the floor of its own N.

Both the test split's statistics (features, mean, covariance, k-NN radii) and the floor's
scores are cached (reference.py's mechanism), keyed by the network's key (file hash,
protocol, dtype) and the data set's identity: the SHA-256 of its pixels.npy and split.npy as
its manifest records them (`fashiongan data info DATASET` verifies them against the files).
"""

from __future__ import annotations

import time

import numpy as np
import torch

from fashiongan.data.store import read_manifest
from fashiongan.errors import UserError
from fashiongan.metrics import kid
from fashiongan.metrics.inception_scores import InceptionReference, reference_of, score_features
from fashiongan.metrics.reference import FLOOR_SEED, K_DC, K_PR, cache_key, cached_json

MAX_DEFAULT_N = 5000


def identity(ds) -> dict:
    """What names a data set's pixels and split: the manifest's SHA-256 of pixels.npy and
    split.npy, its class names, shape and name."""
    if ds.path is None:
        raise UserError("--data: an imported data set folder is needed (made by `fashiongan "
                        "data import`)")
    files = read_manifest(ds.path)["files"]
    return {"pixels_sha256": files["pixels.npy"]["sha256"],
            "split_sha256": files["split.npy"]["sha256"], "name": ds.info.name,
            "class_names": list(ds.info.class_names), "resolution": ds.info.resolution,
            "channels": ds.info.channels}


def default_n(ds) -> int:
    """Twice the test split, at most 5000: enough for KID and PR/DC to settle, and 20-50
    images/s of Inception (bfloat16, two CPU cores) make it minutes, not hours."""
    return min(2 * len(ds.test_index), MAX_DEFAULT_N)


def sample_layout(images: np.ndarray) -> np.ndarray:
    """uint8 N x C x H x W (the data set's layout) -> N x H x W (grey) or N x H x W x 3, the
    layout of samples and .npz files."""
    x = np.asarray(images)
    return x[:, 0] if x.shape[1] == 1 else x.transpose(0, 2, 3, 1)


def sample_shape(info) -> tuple[int, ...]:
    """One image's shape in the sample layout: (H, W) grey, (H, W, 3) colour."""
    r = info.resolution
    return (r, r) if info.channels == 1 else (r, r, 3)


def check_match(info, ds, what: str) -> None:
    """A one-line UserError unless `info` (a generator's or an .npz's DatasetInfo) has the
    data set's resolution, channels and class names."""
    d = ds.info
    if (info.resolution, info.channels, info.class_names) == (d.resolution, d.channels,
                                                             d.class_names):
        return
    def shape(i):
        return f"{i.channels}x{i.resolution}x{i.resolution}, {i.num_classes} classes"
    raise UserError(f"{what} was trained on {info.name or 'another data set'} ({shape(info)}), "
                    f"not on --data {ds.path} ({d.name}: {shape(d)})")


def floor_index(ds, n: int) -> np.ndarray:
    """The training-split images that stand in for a perfect generator of n samples: a seeded
    draw (reference.FLOOR_SEED) of min(n, training split) of them, in file order."""
    train = ds.train_index
    pick = torch.randperm(len(train), generator=torch.Generator().manual_seed(FLOOR_SEED))[:n]
    return np.sort(train[pick.numpy()])


def load_reference(net, ds, progress: bool = True) -> InceptionReference:
    ident = identity(ds)
    key = cache_key(kind="inception-reference", network=net.key, k=[K_PR, K_DC],
                    dataset=[ident["pixels_sha256"], ident["split_sha256"]])
    return reference_of(net, key, lambda: np.array(ds.test()[0]), progress,
                        desc=f"Inception features, {len(ds.test_index)} test images (once)")


def real_floor(net, ds, ref: InceptionReference, n: int, progress: bool = True) -> dict:
    from fashiongan.metrics.inception import features

    idx = floor_index(ds, n)

    def compute():
        feats = features(net, np.array(ds.pixels[idx]), progress=progress,
                         desc=f"Inception features, {len(idx)} training images (floor, once)")
        return score_features(feats, ref)

    key = cache_key(kind="inception-floor", reference=ref.key, n=len(idx), seed=FLOOR_SEED,
                    kid=[kid.SUBSETS, kid.SUBSET_SIZE])
    return cached_json("inception-floor", key, compute)


def evaluate(net, ds, images, floor: bool = True, progress: bool = True) -> dict:
    """Score uint8 images (sample layout or N x C x H x W) against ds's test split; with the
    floor of as many training images."""
    from fashiongan.metrics.inception import features

    t0 = time.perf_counter()
    ref = load_reference(net, ds, progress)
    t_ref = time.perf_counter()
    feats = features(net, images, progress=progress, desc=f"Inception features, {len(images)} "
                     "samples")
    result = {"network": net.name, "reference_key": ref.key,
              "test_images": len(ref.features), "samples": score_features(feats, ref)}
    t_score = time.perf_counter()
    if floor:
        result["real_floor"] = real_floor(net, ds, ref, len(images), progress)
        result["real_floor"]["split"] = "train"
    result["timing_s"] = {"reference": t_ref - t0, "score": t_score - t_ref,
                          "floor": time.perf_counter() - t_score}
    return result


def format_table(result: dict) -> str:
    """The scores beside the floor; the judge's conditional accuracy beside its accuracy on
    the real test split."""
    from fashiongan.metrics.scores import metric_rows, table_lines

    s, f = result["samples"], result.get("real_floor")
    header = f"N={s['n']}" + (f", floor {f['n']}" if f else "") + f" vs {result['test_images']}"
    rows, add = metric_rows(s, f, "Inception", header)
    j, hist = result.get("judge"), None
    if j:
        hist = j["classes"]["histogram"]
        rows.append((f"class entropy (max {j['classes']['max_entropy_bits']:.2f} bits)",
                     f"{j['classes']['entropy_bits']:.3f}", "-"))
        if "conditional_accuracy" in j:
            real = j.get("judge_test_accuracy")
            rows.append(("judge accuracy (floor: test)", f"{100 * j['conditional_accuracy']:.2f}%",
                         "-" if real is None else f"{100 * real:.2f}%"))
    lines = [f"Inception ({result['network']}) against the test split of "
             f"{result['dataset']['name'] or result['dataset']['path']}; real floor: "
             "training-split images"]
    names = result["dataset"]["class_names"]
    return "\n".join(lines + table_lines(rows, hist, names, result.get("warnings", [])))
