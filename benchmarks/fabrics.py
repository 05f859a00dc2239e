"""Fabrics side by side: fashiongan's texture generator, image quilting (benchmarks/quilting.py)
and plain repetition of the swatch, on the same swatches, with the same scores and times.

    python benchmarks/fabrics.py swatches DIR          # the woven swatches (tests/support)
    python benchmarks/fabrics.py score NAME=RUN ...    # table, JSON and pictures
    python benchmarks/fabrics.py speed RUN             # 2048^2 weave time, arithmetic floor
    python benchmarks/fabrics.py memory RUN SIZE ...   # peak RSS of `texture sample --size`
    python benchmarks/fabrics.py sensitivity SWATCH    # what SIFID punishes: blur, noise, collage
    python benchmarks/fabrics.py seams RUN [N]         # tile seam over N seeds beside its null
    python benchmarks/fabrics.py tiles RUN SIZE ...    # SIFID of tiles of each size, repeated

Each run is trained first with `fashiongan texture train SWATCH --out RUN --time-budget 600`.
Every method is scored against the run's own split: the quilt and the repetition are made from
the swatch's training part only, as the generator was trained on it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import quilting  # noqa: E402 - benchmarks/quilting.py

from fashiongan.metrics import fabric as scores
from fashiongan.metrics.sifid import early_net, sifid
from fashiongan.snapshot import load_generator
from fashiongan.texture import judge
from fashiongan.texture.fabricdir import load_fabric, to_hwc
from fashiongan.texture.weave import Loom

SEEDS = 8


def _timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def _tiled(a: np.ndarray, ry: int, rx: int) -> np.ndarray:
    """An H x W (grey) or H x W x 3 image repeated ry times down and rx across."""
    return np.tile(a, (ry, rx) + ((1,) if a.ndim == 3 else ()))


def repetition(train: np.ndarray, w: int, h: int) -> np.ndarray:
    """The training part repeated, a window of w x h that spans its repeat's corner."""
    reps = (-(-2 * h // train.shape[0]) + 1, -(-2 * w // train.shape[1]) + 1)
    big = _tiled(train, *reps)
    y, x = max(0, train.shape[0] - h // 2), max(0, train.shape[1] - w // 2)
    return big[y:y + h, x:x + w]


def score(name: str, run: str, net, pictures: Path) -> dict:
    loom = Loom(load_generator(run))
    fabric = load_fabric(Path(run))
    gan, t_eval = _timed(lambda: judge.evaluate_run(loom, fabric, SEEDS, net))
    gan = gan["swatches"][0]
    train, held = to_hwc(fabric.train_part(0)), to_hwc(fabric.held_out_part(0))
    whole = to_hwc(fabric.swatches[0])
    h, w = held.shape[:2]
    _, t_gan = _timed(lambda: loom.weave(0, w, h))
    quilts, t_quilt = [], 0.0
    for s in range(2):  # quilting is slow: two seeds
        q, t = _timed(lambda s=s: quilting.quilt(train, w, h, s))
        quilts.append(q)
        t_quilt += t / 2
    rep = repetition(train, w, h)
    row = {
        "name": name, "run": run, "swatch": [whole.shape[1], whole.shape[0]],
        "held_out": [w, h], "crop": fabric.crop,
        "floor": gan["real_floor"],
        "gan": {"sifid": gan["sifid"], "copy": gan["copy"]["mean"],
                "seam_tile": gan["seam_tile"], "seam_untiled": gan["seam_untiled"]["mean"],
                "diversity": gan["diversity"], "seconds": t_gan},
        "quilting": {"sifid": float(np.mean([sifid(net, q, train) for q in quilts])),
                     "copy": float(np.mean([scores.copy_score(q, whole) for q in quilts])),
                     "seam": float(np.mean([scores.seam_score(q) for q in quilts])),
                     "seconds": t_quilt},
        "repetition": {"sifid": sifid(net, rep, train), "copy": scores.copy_score(rep, whole),
                       "seam": gan["seam_swatch_repeated"], "seconds": 0.0},
        "evaluate_seconds": t_eval,
    }
    _picture(pictures / f"fabrics-{name}.png", whole, loom, quilts[0], rep)
    return row


def _rgb(a: np.ndarray) -> Image.Image:
    return Image.fromarray(a).convert("RGB")


def _picture(path: Path, swatch, loom, quilt, rep) -> None:
    """swatch | generated 256 px | its 96-px tile repeated 3x3 | quilt | repetition."""
    side = 256
    tile = loom.weave(0, 96, 96, tile=True)
    tile3 = _tiled(tile, 3, 3)[:side, :side]
    panels = [_rgb(swatch).resize((side, side)), _rgb(loom.weave(0, side, side)), _rgb(tile3),
              _rgb(quilt).resize((side, round(side * quilt.shape[0] / quilt.shape[1]))),
              _rgb(rep).resize((side, round(side * rep.shape[0] / rep.shape[1])))]
    canvas = Image.new("RGB", (5 * side + 16, side), (255, 255, 255))
    for i, p in enumerate(panels):
        canvas.paste(p, (i * (side + 4), 0))
    path.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(path)


def table(rows: list[dict]) -> str:
    out = ["| swatch | method | SIFID (floor) | copy (floor) | seam | diversity | time |",
           "|---|---|---|---|---|---|---|"]
    for r in rows:
        f, g = r["floor"], r["gan"]
        out.append(f"| {r['name']} | fashiongan | {g['sifid']['mean']:.2f} ± "
                   f"{g['sifid']['std']:.2f} ({f['sifid']:.2f}) | {g['copy']:.2f} "
                   f"({f['copy']:.2f}) | tile {g['seam_tile']['mean']:.3f} ± "
                   f"{g['seam_tile']['std']:.3f}; untiled {g['seam_untiled']:.2f} | "
                   f"{'n/a' if g['diversity'] is None else format(g['diversity'], '.2f')} | "
                   f"{g['seconds']:.2f} s |")
        for m in ("quilting", "repetition"):
            q = r[m]
            out.append(f"| | {m} | {q['sifid']:.2f} | {q['copy']:.2f} | {q['seam']:.2f} | | "
                       f"{q['seconds']:.2f} s |")
    return "\n".join(out)


def speed(run: str) -> dict:
    """2048^2 weave seconds per precision and thread count, beside the floor: the body's
    multiply-adds at the rate of a 2048^2 GEMM in the same precision, measured in the same
    process (the machine's load moves both alike)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    g = load_generator(run)
    out = {}
    for precision in ("float32", "bf16"):
        loom = Loom(g, precision=precision)
        for threads in (1, 2):
            torch.set_num_threads(threads)
            loom.weave(1, 512, 512)
            times = [_timed(lambda s=s, lo=loom: lo.weave(s, 2048, 2048))[1] for s in range(3)]
            a = torch.randn(2048, 2048).to(loom.dtype)
            gemm = min(_timed(lambda a=a: a @ a)[1] for _ in range(5))
            out[f"{precision}, {threads} thread(s)"] = {
                "weave_2048_s": sorted(times)[1], "gemm_gflops": 2 * 2048**3 / gemm / 1e9}
    # the arithmetic of one 512-px piece with its halo, counted by torch, times the pieces
    field = loom.field(1, 512, 512)
    with torch.no_grad(), FlopCounterMode(display=False) as count:
        g.body(*g.features(field.window(-g.halo, -g.halo, 64 + 2 * g.halo, 64 + 2 * g.halo)))
    gmac = count.get_total_flops() / 2 * (2048 / 512) ** 2 / 1e9
    for row in out.values():
        row["floor_s"] = 2 * gmac / row["gemm_gflops"]
    return {"gmac": gmac, "rows": out}


def speed_table(result: dict) -> str:
    lines = [f"2048 x 2048 colour weave, {result['gmac']:.0f} GMAC with the halos",
             "| precision, threads | weave | GEMM rate | floor | weave / floor |",
             "|---|---:|---:|---:|---:|"]
    for name, r in result["rows"].items():
        lines.append(f"| {name} | {r['weave_2048_s']:.2f} s | {r['gemm_gflops']:.0f} GFLOP/s | "
                     f"{r['floor_s']:.2f} s | {r['weave_2048_s'] / r['floor_s']:.1f} |")
    return "\n".join(lines)


def seams(run: str, n: int = 64) -> dict:
    """The `--tile` seam score over n seeds beside its null: the same tiles rolled by a seeded
    offset, so that an interior line of the periodic canvas lies on the wrap. An exact tile
    draws both from one distribution; the null's mean is what the texture's line-to-line
    variation alone gives, and the first 8 seeds' mean is the figure `texture evaluate` prints."""
    loom = Loom(load_generator(run))
    rng = np.random.default_rng(0)
    at, null = [], []
    for s in range(n):
        t = loom.weave(s, judge.TILE, judge.TILE, tile=True)
        at.append(scores.seam_score(t))
        null.append(scores.seam_score(np.roll(t, tuple(rng.integers(1, judge.TILE, 2)),
                                              (0, 1))))

    def stats(v):
        return {"mean": float(np.mean(v)), "se": float(np.std(v, ddof=1) / np.sqrt(len(v)))}

    return {"seeds": n, "first_8": float(np.mean(at[:8])), "wrap": stats(at),
            "null": stats(null)}


def tiles(run: str, sizes: list[int], seeds: int = SEEDS) -> dict:
    """SIFID of `--tile` weaves repeated to the held-out strip's size, against the training
    part (8 seeds per tile size; mean and sd): whether a tile still draws the fabric, which
    rounding its waves to whole periods across the tile can spoil."""
    net, fabric = early_net(), load_fabric(Path(run))
    train, held = to_hwc(fabric.train_part(0)), to_hwc(fabric.held_out_part(0))
    h, w = held.shape[:2]
    loom = Loom(load_generator(run))
    out = {}
    for size in sizes:
        v = []
        for s in range(seeds):
            t = _tiled(loom.weave(s, size, size, tile=True), -(-h // size), -(-w // size))
            v.append(sifid(net, t[:h, :w], train))
        out[size] = {"mean": float(np.mean(v)), "sd": float(np.std(v))}
    return out


def memory(run: str, sizes: list[int]) -> dict:
    out = {}
    for size in sizes:
        png = Path(f"/tmp/fabrics-mem-{size}.png")
        cmd = ["/usr/bin/time", "-v", sys.executable, "-m", "fashiongan", "texture", "sample",
               run, "--size", str(size), "--out", str(png), "--threads", "1"]
        t = time.perf_counter()
        res = subprocess.run(cmd, capture_output=True, text=True, check=True)
        rss = next(int(x.split()[-1]) for x in res.stderr.splitlines() if "Maximum resident" in x)
        out[size] = {"peak_rss_mib": rss / 1024, "seconds": time.perf_counter() - t,
                     "png_mib": png.stat().st_size / 2**20}
        png.unlink()
    return out


def sensitivity(swatch: str, holdout: float = 0.25) -> list[tuple[str, float]]:
    """SIFID of the held-out strip against the training part, as it is and spoilt in known
    ways: how far from the floor a blur, noise, lower contrast or a collage of the swatch's own
    patches (phase jumps at every patch border) take it."""
    from PIL import ImageFilter

    im = np.asarray(Image.open(swatch).convert("RGB"))
    cut = im.shape[0] - round(im.shape[0] * holdout)
    train, held = im[:cut], im[cut:]
    rng = np.random.default_rng(0)
    net = early_net()
    rows = [("held-out strip (the floor)", held)]
    for r in (0.5, 1.0):
        rows.append((f"blurred, Gaussian radius {r} px",
                     np.asarray(Image.fromarray(held).filter(ImageFilter.GaussianBlur(r)))))
    for sd in (15, 30):
        noisy = held + rng.normal(0, sd, held.shape)
        rows.append((f"colour noise, sd {sd}", np.clip(noisy, 0, 255).astype(np.uint8)))
    mean = held.mean()
    rows.append(("contrast x 0.7", np.clip((held - mean) * 0.7 + mean, 0, 255).astype(np.uint8)))
    for p in (8, 16, 32):
        out = np.zeros_like(held)
        for y in range(0, held.shape[0], p):
            for x in range(0, held.shape[1], p):
                yy, xx = rng.integers(0, train.shape[0] - p), rng.integers(0, train.shape[1] - p)
                out[y:y + p, x:x + p] = train[yy:yy + p, xx:xx + p][:held.shape[0] - y,
                                                                     :held.shape[1] - x]
        rows.append((f"collage of the training part's {p}-px patches", out))
    return [(name, sifid(net, img, train)) for name, img in rows]


def main() -> None:
    what = sys.argv[1]
    if what == "swatches":
        from tests.support.fabrics import KINDS, woven

        folder = Path(sys.argv[2])
        folder.mkdir(parents=True, exist_ok=True)
        for i, k in enumerate(KINDS):
            Image.fromarray(woven(k, 384, i)).save(folder / f"{k}.png")
    elif what == "score":
        net = early_net()
        rows = [score(*arg.split("=", 1), net, Path("docs/results/img")) for arg in sys.argv[2:]]
        Path("/tmp/fabrics-score.json").write_text(json.dumps(rows, indent=1))
        print(table(rows))
    elif what == "seams":
        print(json.dumps(seams(sys.argv[2], *map(int, sys.argv[3:4])), indent=1))
    elif what == "tiles":
        print(json.dumps(tiles(sys.argv[2], [int(s) for s in sys.argv[3:]]), indent=1))
    elif what == "speed":
        print(speed_table(speed(sys.argv[2])))
    elif what == "sensitivity":
        print("| the held-out strip ... | SIFID |\n|---|---:|")
        for name, v in sensitivity(sys.argv[2]):
            print(f"| {name} | {v:.2f} |")
    elif what == "memory":
        print(json.dumps(memory(sys.argv[2], [int(s) for s in sys.argv[3:]]), indent=1))


if __name__ == "__main__":
    main()
