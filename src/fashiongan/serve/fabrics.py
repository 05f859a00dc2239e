"""The studio's Fabrics panel, server side: the fabric runs in a folder, a seamless tile of one
(previewed repeated 3 x 3 by the page, downloadable at a chosen size), the studio's designs
dressed in it, and one training at a time as a background job.

A training is `fashiongan texture train` in a child process (its own threads, its own Ctrl-C:
cancelling sends SIGTERM, on which the loop saves a training state and stops), on the uploaded
swatch, into FOLDER/NAME. Its progress is read from the run's metrics.jsonl and config.json.
A second training while one runs is refused (409) with a sentence saying which one runs.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Annotated

import numpy as np
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import Response

from fashiongan.data.swatch import read_swatch
from fashiongan.errors import UserError
from fashiongan.serve.params import class_index
from fashiongan.serve.studio import MAX_SEED, Studio, png_bytes
from fashiongan.serve.upload import ERRORS, read_limited
from fashiongan.snapshot import load_generator
from fashiongan.texture.dress import dress
from fashiongan.texture.fabricdir import FABRIC_DIR, is_fabric_run
from fashiongan.texture.weave import Loom

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")
MAX_TILE = 2048  # px a side of a tile from the studio (the CLI goes to 8192)
MAX_BUDGET = 3600
SWATCH_TYPES = {"image/png": ".png", "image/jpeg": ".jpg", "image/webp": ".webp",
                "image/gif": ".gif", "image/bmp": ".bmp", "image/tiff": ".tif"}


class Fabrics:
    def __init__(self, folder: Path, train_args: list[str] | None = None):
        self.folder = Path(folder)
        self.train_args = list(train_args or [])
        self._looms: dict[str, tuple[float, Loom]] = {}
        self.lock = threading.Lock()  # one weave at a time, as the studio draws one design
        self.job: dict | None = None
        self.proc: subprocess.Popen | None = None

    def names(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        return sorted(p.name for p in self.folder.iterdir()
                      if is_fabric_run(p) and (p / "snapshot" / "generator.safetensors").is_file()
                      and not (self.job and self.job["name"] == p.name and self.running()))

    def run_dir(self, name: str) -> Path:
        if not NAME.match(name) or name not in self.names():
            raise HTTPException(404, f"no fabric named {name!r}")
        return self.folder / name

    def loom(self, name: str) -> Loom:
        path = self.run_dir(name) / "snapshot" / "generator.safetensors"
        stamp = path.stat().st_mtime
        with self.lock:
            cached = self._looms.get(name)
            if cached is None or cached[0] != stamp:
                if len(self._looms) >= 4:
                    self._looms.pop(next(iter(self._looms)))
                self._looms[name] = (stamp, Loom(load_generator(path)))
            return self._looms[name][1]

    # --- the training job ----------------------------------------------------------------------
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, name: str, data: bytes, ext: str, budget: float) -> dict:
        if self.running():
            raise HTTPException(409, f"busy: the fabric {self.job['name']!r} is training; wait "
                                "for it to finish or cancel it")
        if not NAME.match(name):
            raise HTTPException(422, "name: 1-40 letters, digits, - or _, starting with a letter "
                                "or digit")
        out = self.folder / name
        if out.exists():
            raise HTTPException(409, f"a fabric named {name!r} exists; pick another name")
        uploads = self.folder / ".uploads"
        uploads.mkdir(parents=True, exist_ok=True)
        swatch = uploads / f"{name}{ext}"
        swatch.write_bytes(data)
        try:
            read_swatch(swatch)  # refused now, in one sentence, not in the child's log
        except UserError as e:
            swatch.unlink()
            raise HTTPException(422, str(e).replace(str(swatch), "the swatch")) from None
        log = uploads / f"{name}.log"
        cmd = [sys.executable, "-m", "fashiongan", "texture", "train", str(swatch), "--out",
               str(out), "--time-budget", str(budget), "--no-progress", *self.train_args]
        with open(log, "w") as f:
            self.proc = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT)
        self.job = {"name": name, "started": time.time(), "budget": budget, "log": str(log),
                    "cancelled": False}
        return self.status()

    def cancel(self) -> dict:
        if not self.running():
            raise HTTPException(409, "no fabric is training")
        self.job["cancelled"] = True
        self.proc.send_signal(signal.SIGTERM)
        return self.status()

    def status(self) -> dict:
        if self.job is None:
            return {"state": "idle"}
        job, out = self.job, self.folder / self.job["name"]
        step, total = _progress(out)
        elapsed = time.time() - job["started"]
        code = self.proc.poll()
        if code is None:
            state = "running"
        elif job["cancelled"]:
            state = "cancelled"
        else:
            state = "finished" if code == 0 else "failed"
        done = max(step / total if total else 0.0, min(elapsed / job["budget"], 1.0))
        last = ""
        if state == "failed":
            lines = Path(job["log"]).read_text(errors="replace").strip().splitlines()
            last = lines[-1] if lines else f"exit code {code}"
        return {"state": state, "name": job["name"], "step": step, "iterations": total,
                "elapsed_s": round(elapsed, 1), "budget_s": job["budget"],
                "progress": 1.0 if state == "finished" else round(done, 3), "message": last}


def _progress(run: Path) -> tuple[int, int]:
    try:
        lines = (run / "metrics.jsonl").read_text().strip().splitlines()
        step = json.loads(lines[-1])["step"] if lines else 0
    except (OSError, ValueError, KeyError):
        step = 0
    try:
        total = json.loads((run / "config.json").read_text())["iterations"]
    except (OSError, ValueError, KeyError):
        total = 0
    return step, total


def _png(a: np.ndarray) -> Response:
    return Response(png_bytes(a[..., 0] if a.ndim == 3 and a.shape[2] == 1 else a),
                    media_type="image/png")


Name = Annotated[str, Query(max_length=40, description="a fabric's name")]
Seed = Annotated[int, Query(ge=0, lt=MAX_SEED)]


NOT_FOUND = {404: {"description": "no fabric of that name"}}
BUSY = {409: {"description": "a fabric is training already, its name is taken, or none is "
                             "training to cancel"}}


def add_routes(app: FastAPI, studio: Studio, fabrics: Fabrics) -> None:

    @app.get("/api/fabrics", summary="The trained fabrics and the training job")
    def list_fabrics():
        return {"fabrics": fabrics.names(), "job": fabrics.status()}

    @app.get("/api/fabrics/swatch", summary="A fabric's first swatch", response_class=Response,
             responses=NOT_FOUND)
    def swatch(name: Name):
        return Response((fabrics.run_dir(name) / FABRIC_DIR / "swatch-00.png").read_bytes(),
                        media_type="image/png")

    @app.get("/api/fabrics/tile", summary="A seamless tile of a fabric", response_class=Response,
             responses=NOT_FOUND)
    def tile(name: Name, seed: Seed = 0,
             size: Annotated[int, Query(ge=8, le=MAX_TILE, multiple_of=8)] = 256):
        loom = fabrics.loom(name)
        with fabrics.lock:
            return _png(loom.weave(seed, size, size, tile=True))

    @app.get("/api/fabrics/dress", summary="A studio design dressed in a fabric",
             response_class=Response, responses=NOT_FOUND)
    def dressed(name: Name, seed: Seed = 0, fabric_seed: Seed = 0,
                class_: Annotated[str | None, Query(alias="class", max_length=40)] = None,
                scale: Annotated[float, Query(ge=0.25, le=8, allow_inf_nan=False)] = 1.0,
                factor: Annotated[int, Query(ge=4, le=16)] = 4):
        loom = fabrics.loom(name)
        label = class_index(studio, "class", class_)
        design = studio.designs(seed, 1, label)[0].image
        with fabrics.lock:
            return _png(dress(design, loom, fabric_seed, factor, scale))

    @app.post("/api/fabrics/train", summary="Train a fabric on an uploaded swatch (one job at "
              "a time)", status_code=202, responses={**BUSY, **ERRORS})
    async def train(request: Request, name: Name,
                    budget: Annotated[float, Query(ge=1, le=MAX_BUDGET,
                                                   allow_inf_nan=False)] = 600):
        if fabrics.running():  # before reading a large body
            fabrics.start(name, b"", "", budget)
        data = await read_limited(request)
        ext = SWATCH_TYPES.get(request.headers.get("content-type", ""), ".img")
        return fabrics.start(name, data, ext, budget)

    @app.get("/api/fabrics/job", summary="The training job's state and progress")
    def job():
        return fabrics.status()

    @app.delete("/api/fabrics/job", summary="Cancel the training job (its state is kept)",
                responses=BUSY)
    def cancel():
        return fabrics.cancel()
