"""One export: draw (plan.py), write (formats.py), audit each chunk as it passes, describe.

Memory holds one chunk of images at a time (plus a few numbers per image: labels, seeds,
distances), so 60,000 images at 64 px RGB never sit in memory together.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from fashiongan.export import plan
from fashiongan.export.formats import DatasetSink, open_sink
from fashiongan.export.manifest import FORMAT, FORMAT_VERSION, file_records
from fashiongan.fileio import as_written_to
from fashiongan.metrics import audit


def export(g, req: plan.Request, fmt: str, out, *, judge=None, judge_info: dict | None = None,
           reference=None, no_audit_reason: str = "", overwrite: bool = False,
           progress: bool = True, command: list[str] | None = None,
           generator: dict | None = None) -> dict:
    """Write the export; returns its manifest. `reference` is metrics.audit.reference()'s
    (index, calibration) of the generator's training data, or None (then the manifest says
    `no_audit_reason`)."""
    from tqdm import tqdm

    info = g.dataset
    conditional = bool(getattr(g, "num_classes", 0))
    labelled = conditional or judge is not None
    sink = open_sink(fmt, out, overwrite, info, {"train": req.n, "test": req.test_n},
                     labelled)
    t0 = time.perf_counter()
    tallies, nearest, distances, labels = {}, [], [], []
    bar = tqdm(total=req.n + req.test_n, unit="img", desc=f"export {fmt}", file=sys.stderr,
               disable=not progress, dynamic_ncols=True)
    try:
        for chunk, tally in plan.stream(g, req, judge):
            sink.write(chunk)
            tallies[chunk.split] = tally
            if reference is not None:
                i, d = reference[0].nearest(chunk.images)
                nearest.append(i)
                distances.append(d)
            if chunk.labels is not None:
                labels.append(chunk.labels)
            bar.update(len(chunk.images))
            if req.min_confidence or req.balanced or req.classes:
                bar.set_postfix(tried=sum(t.tried for t in tallies.values()))
        sink.finish()
        wall = time.perf_counter() - t0
        names = info.class_names
        manifest = {
            "format": FORMAT, "format_version": FORMAT_VERSION, "export_format": fmt,
            "name": f"synthetic-{info.name or 'images'}", "resolution": info.resolution,
            "channels": info.channels, "class_names": list(names) if labelled else [],
            "generator": generator or {}, "command": command or sys.argv,
            "seed": req.seed, "chunk": req.chunk,
            "labels_from": ("the generator's class (balanced)" if conditional else
                            "the judge's most probable class" if judge is not None else None),
            "classes": [names[c] for c in req.classes] if req.classes else "all",
            "balanced": conditional or req.balanced,
            "filter": {"min_confidence": req.min_confidence} if req.min_confidence else None,
            "judge": judge_info,
            "splits": {s: {"n": t.kept, "first_seed": t.first_seed, "seeds_tried": t.tried,
                           "class_counts": dict(zip(names, t.counts, strict=True))
                           if labelled else None}
                       for s, t in tallies.items()},
            "timing_s": {"total": round(wall, 2),
                         "images_per_s": round((req.n + req.test_n) / max(wall, 1e-9), 1)},
        }
        if isinstance(sink, DatasetSink):
            manifest["files"] = {"dataset": "see manifest.json (data/store.py)"}
        elif fmt == "png":
            manifest["files"] = {"png": req.n, "classes.json": labelled}
        else:
            manifest["files"] = file_records(sink.root, sink.files())
        manifest["audit"] = _audit(reference, nearest, distances, labels, names,
                                   no_audit_reason)
        sink.commit(manifest)
    except BaseException as e:
        sink.discard()
        if isinstance(e, OSError):  # disk full...: the file of OUT meant, not the temp one
            raise as_written_to(e, sink.staging, Path(out), sink.current) from None
        raise
    finally:
        bar.close()
    return manifest


def _audit(reference, nearest, distances, labels, names, reason) -> dict:
    if reference is None:
        return {"skipped": reason or "not asked for"}
    index, calibration = reference
    y = np.concatenate(labels) if labels else None
    out = audit.summary(np.concatenate(nearest), np.concatenate(distances), calibration, y,
                        names if y is not None else ())
    return {"of": "every exported image, train split first", "space": index.space, **out}
