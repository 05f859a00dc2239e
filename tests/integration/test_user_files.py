"""A person's files are never destroyed, and never silently overwritten (#32, part 1).

Through the real CLI: `--overwrite` replaces only a folder that is provably fashiongan's own (its
format marker parsed and matching, nothing in it that fashiongan did not write), an output that
is also an input is refused, and so is an existing file the user did not name for overwriting.
Each case exits 2 with one line naming the fault and leaves the workspace as it was.
"""

from __future__ import annotations

import json
import shutil

import pytest

from fashiongan import data
from tests.support.cli import run_cli
from tests.support.datasets import shop_photo, tinted_folder
from tests.support.studio import tiny_snapshot
from tests.support.workspace import Case, case, listing


@pytest.fixture(scope="module")
def ws(tmp_path_factory, data_dir):
    """Photos, a data set made of them, a tiny generator and things a person keeps."""
    ws = tmp_path_factory.mktemp("files")
    tinted_folder(ws / "photos", 40, size=16)
    (ws / "photos" / "manifest.json").write_text('{"name": "shop", "icons": []}\n')  # a web app
    r = run_cli("data", "import", ws / "photos", "--out", ws / "ds", "--resolution", "16",
                "--no-progress", "--test-fraction", "0.25")
    assert r.returncode == 0, r.stderr
    tiny_snapshot(ws / "gen", "article")
    gen = ws / "gen" / "generator.safetensors"
    # a web project: its manifest.json and export.json are not fashiongan's
    (ws / "site").mkdir()
    (ws / "site" / "manifest.json").write_text('{"name": "site", "start_url": "/"}\n')
    (ws / "site" / "export.json").write_text('{"pages": 3}\n')
    (ws / "site" / "index.html").write_text("<h1>my shop</h1>\n")
    # a real data set with a person's notes beside it
    shutil.copytree(ws / "ds", ws / "ds-notes")
    (ws / "ds-notes" / "notes.txt").write_text("which photos I left out, and why\n")
    # a real export with a person's file in it, and one with a marker that only looks right
    r = run_cli("export", gen, "--n", "20", "--format", "npz", "--out", ws / "exp",
                "--no-audit", "--no-progress")
    assert r.returncode == 0, r.stderr
    shutil.copytree(ws / "exp", ws / "exp-notes")
    (ws / "exp-notes" / "report.docx").write_bytes(b"PK\x03\x04 a report")
    (ws / "fake-exp").mkdir()
    (ws / "fake-exp" / "export.json").write_text('{"format": "fashiongan-export"}\n')
    (ws / "fake-exp" / "holiday.jpg").write_bytes(b"\xff\xd8\xff a photo")
    # a person's own class folders with a classes.json
    (ws / "mine" / "tops").mkdir(parents=True)
    (ws / "mine" / "classes.json").write_text('{"folders": ["tops"], "names": ["Tops"]}\n')
    (ws / "mine" / "tops" / "0.png").write_bytes((ws / "photos" / "class 0" /
                                                   "00001.png").read_bytes())
    # a project folder with its own snapshot/ and config.json, not a run
    (ws / "project" / "snapshot").mkdir(parents=True)
    (ws / "project" / "snapshot" / "v1.tar").write_bytes(b"my backup")
    (ws / "project" / "config.json").write_text('{"theme": "dark"}\n')
    # photos and arrays of one's own
    shop_photo(data.load("test")[0][0].numpy()).save(ws / "shirt.jpg", quality=90)
    r = run_cli("sample", gen, "--n", "20", "--out", ws / "s.npz")
    assert r.returncode == 0, r.stderr
    r = run_cli("project", ws / "shirt.jpg", "--checkpoint", gen, "--steps", "1", "--starts",
                "2", "--out", ws / "p.npz", "--no-progress")
    assert r.returncode == 0, r.stderr
    shutil.copy(ws / "shirt.jpg", ws / "X.png")  # a photo that happens to be named X.png
    shutil.copy(ws / "shirt.jpg", ws / "s.audit.png")  # ... as audit's default picture
    (ws / "s.evaluation.json").write_text('{"my": "scores"}\n')  # ... evaluate's results
    (ws / "judge.json").write_text('{"my": "settings"}\n')
    shutil.copytree(ws, ws.with_name(ws.name + "-pristine"), symlinks=True)
    return ws


def _restore(ws):
    """The workspace as the fixture made it, whatever a case did to it."""
    shutil.rmtree(ws)
    shutil.copytree(ws.with_name(ws.name + "-pristine"), ws, symlinks=True)


GEN = "{ws}/gen/generator.safetensors"
CASES = [
    # --- --overwrite replaces only what is provably fashiongan's ----------------------------
    case("import-overwrite-web-project", "site: manifest.json is not a fashiongan-dataset",
         "data", "import", "{ws}/photos", "--out", "{ws}/site", "--overwrite",
         "--resolution", "16", "--no-progress"),
    case("import-overwrite-own-source", "photos: is the folder being imported", "data",
         "import", "{ws}/photos", "--out", "{ws}/photos", "--overwrite", "--resolution", "16",
         "--no-progress"),
    case("import-overwrite-folder-holding-the-source", "holds the folder being imported", "data",
         "import", "{ws}/photos/class 0", "--out", "{ws}/photos", "--overwrite",
         "--resolution", "16", "--no-progress", "--labels", "none"),
    case("import-overwrite-dataset-with-notes", "notes.txt", "data", "import", "{ws}/photos",
         "--out", "{ws}/ds-notes", "--overwrite", "--resolution", "16", "--no-progress"),
    case("export-overwrite-web-project", "site: export.json is not a fashiongan-export",
         "export", GEN, "--n", "10", "--format", "npz", "--out", "{ws}/site", "--overwrite",
         "--no-audit", "--no-progress"),
    case("export-overwrite-export-with-a-report", "report.docx", "export", GEN, "--n", "10",
         "--format", "npz", "--out", "{ws}/exp-notes", "--overwrite", "--no-audit",
         "--no-progress"),
    case("export-overwrite-marker-only", "holiday.jpg", "export", GEN, "--n", "10",
         "--format", "npz", "--out", "{ws}/fake-exp", "--overwrite", "--no-audit",
         "--no-progress"),
    case("export-overwrite-its-generator", "holds the generator being exported", "export",
         "{ws}/gen", "--n", "10", "--format", "npz", "--out", "{ws}/gen", "--overwrite",
         "--no-audit", "--no-progress"),
    case("export-fmnist-overwrite-own-class-folders", "mine: classes.json is not", "data",
         "export-fmnist", "{ws}/mine", "--overwrite", "--limit", "5", "--no-progress"),
    case("train-overwrite-project-folder", "project: config.json is not a fashiongan run",
         "train", "--out", "{ws}/project", "--overwrite", "--data-dir", "{data}",
         "--set", "iterations=2", "--no-progress", "--limit-data", "64"),
    case("train-out-is-its-data-set", "ds: is the data set being trained on", "train",
         "--data", "{ws}/ds", "--out", "{ws}/ds", "--overwrite", "--set", "iterations=2",
         "--set", "batch_size=4", "--no-progress"),
    # --- an output is never an input ---------------------------------------------------------
    case("project-out-is-the-photo", "--out {ws}/shirt.jpg: is an input", "project",
         "{ws}/shirt.jpg", "--checkpoint", GEN, "--out", "{ws}/shirt.jpg", "--steps", "1"),
    case("project-grid-is-the-photo", "--grid {ws}/shirt.jpg: is an input", "project",
         "{ws}/shirt.jpg", "--checkpoint", GEN, "--out", "{ws}/new.npz", "--grid",
         "{ws}/shirt.jpg", "--steps", "1"),
    case("project-out-is-the-generator", "is an input", "project", "{ws}/shirt.jpg",
         "--checkpoint", "{ws}/gen", "--out", GEN, "--steps", "1"),
    case("audit-json-is-the-samples", "--json {ws}/s.npz: is an input", "audit", "{ws}/s.npz",
         "--json", "{ws}/s.npz"),
    case("audit-png-is-the-samples", "--png {ws}/s.npz: is an input", "audit", "{ws}/s.npz",
         "--json", "{ws}/a.json", "--png", "{ws}/s.npz"),
    case("audit-json-and-png-one-file", "--json and --png name the same file", "audit",
         "{ws}/s.npz", "--json", "{ws}/a.json", "--png", "{ws}/a.json"),
    case("audit-json-would-replace-a-photo", "{ws}/X.png: exists", "audit", "{ws}/s.npz",
         "--json", "{ws}/X.json"),
    case("audit-default-png-would-replace-a-photo", "{ws}/s.audit.png: exists", "audit",
         "{ws}/s.npz"),
    case("evaluate-default-json-would-replace-a-file", "{ws}/s.evaluation.json: exists",
         "evaluate", "{ws}/s.npz", "--no-floor"),
    case("sample-out-is-the-generator", "is an input", "sample", "{ws}/gen", "--out", GEN),
    case("sample-out-is-the-design", "--out {ws}/p.npz: is an input", "sample", GEN,
         "--from", "{ws}/p.npz", "--variations", "2", "--out", "{ws}/p.npz"),
    case("sample-out-is-an-interpolation-end", "--out {ws}/p.npz: is an input", "sample",
         GEN, "--interpolate", "{ws}/p.npz:0", "1", "--out", "{ws}/p.npz"),
    case("sample-out-and-grid-one-file", "--out and --grid name the same file", "sample",
         GEN, "--out", "{ws}/new.png", "--grid", "{ws}/new.png"),
    case("evaluate-json-is-the-samples", "--json {ws}/s.npz: is an input", "evaluate",
         "{ws}/s.npz", "--json", "{ws}/s.npz", "--no-floor"),
    case("evaluator-out-is-the-data", "is an input", "evaluator", "train", "--data",
         "{ws}/ds", "--out", "{ws}/ds/pixels.npy", "--epochs", "1"),
    case("evaluator-record-would-replace-a-file", "{ws}/judge.json: exists", "evaluator",
         "train", "--data", "{ws}/ds", "--out", "{ws}/judge.safetensors", "--epochs", "1"),
]


@pytest.mark.parametrize("c", CASES)
def test_a_persons_files_stay(c: Case, ws, data_dir):
    before = listing(ws)
    argv = [a.format(ws=ws, data=data_dir) for a in c.argv]
    try:
        r = run_cli(*argv, cwd=ws, timeout=300)
        after = listing(ws)
    finally:
        if listing(ws) != before:
            _restore(ws)
    err = r.stderr.strip().splitlines()
    assert r.returncode == c.code, r.stderr[-2000:]
    assert "Traceback" not in r.stderr + r.stdout, r.stderr
    assert len(err) == 1, f"want one line on stderr, got {len(err)}:\n{r.stderr}"
    assert err[0].startswith("fashiongan: error: "), err[0]
    assert c.expect.format(ws=ws).lower() in err[0].lower(), err[0]
    assert after == before, "the workspace changed"


def test_fashiongans_own_folders_are_still_replaced(ws, tmp_path):
    """--overwrite goes on replacing a data set, an export or a Fashion-MNIST export that
    fashiongan made (a judge trained into the data set included)."""
    ds, exp = tmp_path / "ds", tmp_path / "exp"
    shutil.copytree(ws / "ds", ds)
    (ds / "judge.safetensors").write_bytes(b"weights")
    (ds / "judge.json").write_text(json.dumps({"sha256": "0" * 64}))
    r = run_cli("data", "import", ws / "photos", "--out", ds, "--overwrite", "--resolution",
                "16", "--no-progress", "--channels", "1")
    assert r.returncode == 0, r.stderr
    assert json.loads((ds / "manifest.json").read_text())["channels"] == 1
    shutil.copytree(ws / "exp", exp)
    r = run_cli("export", ws / "gen", "--n", "12", "--format", "png", "--out", exp,
                "--overwrite", "--no-audit", "--no-progress")
    assert r.returncode == 0, r.stderr
    assert not (exp / "samples.npz").exists() and len(list(exp.rglob("*.png"))) == 12
    for _ in range(2):
        r = run_cli("data", "export-fmnist", tmp_path / "fm", "--limit", "5", "--overwrite",
                    "--no-progress")
        assert r.returncode == 0, r.stderr
