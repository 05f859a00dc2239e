"""Small hostile inputs that once cost gigabytes (#32): a label of 10^11, a zip member of a
gigabyte, a 13,000^2 PNG, --n 10^8; and files of formats the README does not list, which
Pillow would hand to Ghostscript. Each command runs in a subprocess with its address space
capped (a runaway dies there, not on the machine) and reports its peak memory.
"""

from __future__ import annotations

import io
import json
import os
import resource
import subprocess
import sys
import zipfile

import pytest
from PIL import Image

from tests.support.studio import tiny_snapshot

ROOM_KB = 300_000  # above what importing every module costs here; the hostile cases took
# 2-19 GB before their bounds, while the import alone is 0.25-1.2 GB depending on torch's build
CAP = 3 << 30
IMPORT_ALL = ("import importlib, pkgutil, resource, fashiongan\n"
              "for m in pkgutil.walk_packages(fashiongan.__path__, 'fashiongan.'):\n"
              "    if not m.name.endswith('__main__'):\n"
              "        importlib.import_module(m.name)\n"
              "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
RUN = ("import resource, sys; from fashiongan.cli import main; rc = main(sys.argv[1:]); "
       "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr); "
       "sys.exit(rc)")


def capped(*argv, env=None, cwd=None):
    """The CLI in a subprocess with at most CAP bytes of address space; (result, peak KB)."""
    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (CAP, CAP))

    r = subprocess.run([sys.executable, "-c", RUN, *map(str, argv)], capture_output=True,
                       text=True, timeout=300, preexec_fn=limit, cwd=cwd,
                       env={**os.environ, **(env or {})})
    last = r.stderr.strip().splitlines()[-1:] or ["0"]
    return r, int(last[0]) if last[0].isdigit() else 0


@pytest.fixture(scope="module")
def peak_kb():
    """The bound: this environment's cost of importing torch and all of fashiongan, plus room."""
    r = subprocess.run([sys.executable, "-c", IMPORT_ALL], capture_output=True, text=True,
                       timeout=300, check=True)
    return int(r.stdout.strip()) + ROOM_KB


def _png(colour=(200, 30, 30), size=16) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(buf, format="PNG")
    return buf.getvalue()


def _two_classes(root):
    for cls, colour in (("shirts", (200, 30, 30)), ("dresses", (30, 30, 200))):
        (root / cls).mkdir(parents=True, exist_ok=True)
        (root / cls / "a.png").write_bytes(_png(colour))


def test_a_huge_label_is_refused_in_little_memory(tmp_path, peak_kb):
    """A label of 99,999,999,999 built a tuple of class names up to it before any check."""
    _two_classes(tmp_path / "photos")
    (tmp_path / "l.json").write_text(json.dumps({"shirts/a.png": 99_999_999_999}))
    r, peak = capped("data", "import", tmp_path / "photos", "--out", tmp_path / "ds",
                     "--labels", tmp_path / "l.json")
    assert r.returncode == 2, r.stderr[-1000:]
    assert "label 99999999999" in r.stderr.splitlines()[0]
    assert peak < peak_kb, f"peak memory {peak // 1024} MB"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["l.json", "photos"]


def test_a_zip_member_of_a_gigabyte_is_skipped_unread(tmp_path, peak_kb):
    """A 1 MB zip with a 1 GiB member cost more than twice that in memory (its size was
    never looked at); now it is skipped by its declared size."""
    z = tmp_path / "photos.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("shirts/a.png", _png())
        zf.writestr("dresses/a.png", _png((30, 30, 200)))
        with zf.open("shirts/bomb.png", "w", force_zip64=True) as f:
            block = bytes(16 << 20)
            for _ in range(64):
                f.write(block)
    assert z.stat().st_size < 5 << 20
    r, peak = capped("data", "import", z, "--out", tmp_path / "ds", "--resolution", "16",
                     "--jobs", "1", "--no-progress")
    assert r.returncode == 0, r.stderr[-1000:]
    m = json.loads((tmp_path / "ds" / "manifest.json").read_text())
    assert m["count"] == 2
    assert [s["reason"] for s in m["skipped"]][0].startswith("too large")
    assert peak < peak_kb, f"peak memory {peak // 1024} MB"


def test_a_13000_pixel_png_is_skipped_undecoded(tmp_path, peak_kb):
    """The importer had no pixel cap (project and the studio refuse past 40 megapixels): a
    13,000^2 PNG of a few hundred KB cost gigabytes per decoding worker."""
    _two_classes(tmp_path / "photos")
    Image.new("1", (13_000, 13_000), 0).save(tmp_path / "photos" / "shirts" / "huge.png")
    r, peak = capped("data", "import", tmp_path / "photos", "--out", tmp_path / "ds",
                     "--resolution", "16", "--jobs", "1", "--no-progress")
    assert r.returncode == 0, r.stderr[-1000:]
    m = json.loads((tmp_path / "ds" / "manifest.json").read_text())
    assert m["count"] == 2 and m["skipped"][0]["path"] == "shirts/huge.png"
    assert m["skipped"][0]["reason"].startswith("too large (13000x13000 pixels")
    assert peak < peak_kb, f"peak memory {peak // 1024} MB"


@pytest.mark.parametrize("argv", [
    ("audit", "{gen}", "--n", "100000000", "--json", "{tmp}/a.json"),
    ("sample", "{gen}", "--n", "100000000", "--out", "{tmp}/s.npz"),
    ("evaluate", "{gen}", "--n", "100000000", "--no-floor", "--json", "{tmp}/e.json"),
    ("export", "{gen}", "--n", "100000000000", "--format", "npz", "--out", "{tmp}/x",
     "--no-audit"),
], ids=lambda a: a[0])
def test_n_beyond_memory_is_refused_before_it_is_allocated(tmp_path, argv, peak_kb):
    """audit --n 100000000 allocated every latent at once (more than 40 GB); export streams
    its images but keeps a few numbers of each."""
    tiny_snapshot(tmp_path / "gen", "article")
    r, peak = capped(*[a.format(gen=tmp_path / "gen", tmp=tmp_path) for a in argv])
    err = r.stderr.strip().splitlines()
    assert r.returncode == 2, r.stderr[-1000:]
    assert "Traceback" not in r.stderr and len(err) == 2, r.stderr  # the line, the peak
    n = f"{int(argv[argv.index('--n') + 1]):,} images"
    assert n in err[0] and "of memory" in err[0], err[0]
    assert peak < peak_kb, f"peak memory {peak // 1024} MB"


EPS = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 64 64\nnewpath 0 0 moveto showpage\n"


@pytest.fixture
def fake_ghostscript(tmp_path):
    """A `gs` first on PATH that leaves a mark when anything runs it."""
    bin_dir, mark = tmp_path / "bin", tmp_path / "gs-was-run"
    bin_dir.mkdir()
    (bin_dir / "gs").write_text(f"#!/bin/sh\ntouch {mark}\nexit 1\n")
    (bin_dir / "gs").chmod(0o755)
    return {"PATH": f"{bin_dir}:{os.environ['PATH']}"}, mark


def test_only_the_listed_formats_are_opened(tmp_path, fake_ghostscript):
    """An EPS named .png went to Ghostscript (Pillow opens every format it knows); the
    importer, `project` and the studio open only JPEG, PNG, WebP, BMP, GIF and TIFF."""
    env, mark = fake_ghostscript
    _two_classes(tmp_path / "photos")
    (tmp_path / "photos" / "shirts" / "poster.png").write_bytes(EPS)
    r, _ = capped("data", "import", tmp_path / "photos", "--out", tmp_path / "ds",
                  "--resolution", "16", "--jobs", "1", "--no-progress", env=env)
    assert r.returncode == 0, r.stderr[-1000:]
    m = json.loads((tmp_path / "ds" / "manifest.json").read_text())
    assert m["count"] == 2 and m["skipped"][0]["reason"].startswith("not a readable image")
    assert not mark.exists(), "the importer ran Ghostscript"
    tiny_snapshot(tmp_path / "gen", "article")
    r, _ = capped("project", tmp_path / "photos" / "shirts" / "poster.png", "--checkpoint",
                  tmp_path / "gen", "--out", tmp_path / "p.npz", "--steps", "1", env=env)
    assert r.returncode == 2 and "not an image" in r.stderr, r.stderr[-1000:]
    assert not mark.exists(), "project ran Ghostscript"
    code = ("import sys; from fastapi.testclient import TestClient; "
            "from fashiongan.serve.app import create_app; "
            "from fashiongan.snapshot import load_generator; "
            "c = TestClient(create_app(load_generator(sys.argv[1]))); "
            "r = c.post('/api/project?steps=1&variations=0', content=open(sys.argv[2], "
            "'rb').read()); print(r.status_code, r.text[:200])")
    r = subprocess.run([sys.executable, "-c", code, tmp_path / "gen",
                        tmp_path / "photos" / "shirts" / "poster.png"], capture_output=True,
                       text=True, timeout=120, env={**os.environ, **env})
    assert r.stdout.startswith("422") and "not an image" in r.stdout, r.stdout + r.stderr
    assert not mark.exists(), "the studio ran Ghostscript"
