"""Every kind of bad input, through the real CLI (`python -m fashiongan ...`).

Each case must end with a non-zero exit, exactly one line on stderr that names the fault, no
traceback anywhere, and every file of the workspace (real run folders, snapshots, data folders)
byte-for-byte as it was, with nothing added or removed: a refused command leaves no trace.
"""

from __future__ import annotations

import shutil

import pytest

from tests.support.cli import run_cli
from tests.support.workspace import SLOW, Case, case, listing, make_workspace  # noqa: F401


@pytest.fixture(scope="module")
def ws(tmp_path_factory, data_dir):
    return make_workspace(tmp_path_factory, data_dir)


NEW = "{ws}/new-run"  # a run folder that must not come into being
QUICK = ("--set", "iterations=2", "--no-progress")  # bounds a case that wrongly runs
CASES = [
    # --- train: presets and config keys ----------------------------------------------------
    case("train-unknown-preset", "unknown preset 'nope'", "train", "--preset", "nope",
         "--out", NEW),
    case("train-missing-preset-file", "does not exist", "train", "--preset",
         "{ws}/nothing.yaml", "--out", NEW, slow=True),
    case("train-broken-yaml", "not valid YAML", "train", "--preset", "{ws}/broken.yaml",
         "--out", NEW, slow=True),
    case("train-yaml-not-a-mapping", "mapping", "train", "--preset", "{ws}/list.yaml",
         "--out", NEW, slow=True),
    case("train-yaml-unknown-key", "unknown key(s) colour", "train", "--preset",
         "{ws}/unknown-key.yaml", "--out", NEW),
    case("train-yaml-ill-typed", "batch_size must be a int", "train", "--preset",
         "{ws}/typed.yaml", "--out", NEW, slow=True),
    case("train-set-unknown-key", "unknown key 'colour'", "train", "--set", "colour=red",
         "--out", NEW),
    case("train-set-ill-typed-int", "batch_size must be a int", "train", "--set",
         "batch_size=many", "--out", NEW),
    case("train-set-ill-typed-float", "lr must be a float", "train", "--set", "lr=fast",
         "--out", NEW, slow=True),
    case("train-set-no-value", "expected key=value", "train", "--set", "batch_size",
         "--out", NEW, slow=True),
    case("train-set-bad-choice", "loss must be one of", "train", "--set", "loss=magic",
         "--out", NEW, slow=True),
    # --- train: sizes ----------------------------------------------------------------------
    case("train-zero-batch", "batch_size must be > 0", "train", "--set", "batch_size=0",
         "--out", NEW),
    case("train-negative-iterations", "iterations must be > 0", "train", "--set",
         "iterations=-5", "--out", NEW, slow=True),
    case("train-zero-latent", "latent_dim must be > 0", "train", "--set", "latent_dim=0",
         "--out", NEW, slow=True),
    case("train-batch-of-one", "batch_size must be >= 2", "train", "--set", "batch_size=1",
         "--out", NEW, slow=True),
    case("train-negative-limit-data", "argument --limit-data: must be >= 0", "train",
         "--limit-data", "-1", "--out", NEW, "--data-dir", "{data}", *QUICK),
    case("train-negative-time-budget", "argument --time-budget: must be >= 0", "train",
         "--time-budget", "-1", "--out", NEW, "--data-dir", "{data}", *QUICK, slow=True),
    case("train-zero-nproc", "argument --nproc: must be >= 1", "train", "--nproc", "0",
         "--out", NEW, "--data-dir", "{data}", *QUICK, slow=True),
    case("train-batch-over-data", "larger than the dataset", "train", "--limit-data", "10",
         "--set", "batch_sampling=epoch", "--out", NEW, "--data-dir", "{data}", *QUICK,
         slow=True),
    # --- train: data -----------------------------------------------------------------------
    case("train-data-missing-file", "t10k-labels-idx1-ubyte: missing", "train", "--data-dir",
         "{ws}/data-missing", "--out", NEW, *QUICK),
    case("train-data-truncated", "train-images-idx3-ubyte.gz: unreadable or truncated",
         "train", "--data-dir", "{ws}/data-truncated", "--out", NEW, *QUICK),
    case("train-data-garbage", "train-labels-idx1-ubyte: wrong magic", "train",
         "--data-dir", "{ws}/data-garbage", "--out", NEW, *QUICK, slow=True),
    case("train-data-wrong-count", "holds 100 items", "train", "--data-dir",
         "{ws}/data-wrong-count", "--out", NEW, *QUICK, slow=True),
    case("train-data-no-folder", "nothing/train-images-idx3-ubyte: missing", "train",
         "--data-dir", "{ws}/nothing", "--out", NEW, *QUICK, slow=True),
    # --- train: run folders and checkpoints ---------------------------------------------------
    case("train-run-folder-exists", "--overwrite", "train", "--out", "{ws}/run",
         "--data-dir", "{data}", *QUICK),
    case("train-out-is-a-file", "exists and is not a folder", "train", "--out", "{ws}/a-file",
         "--data-dir", "{data}", *QUICK, slow=True),
    case("train-out-unwritable", "cannot write to run folder", "train", "--out",
         "{ws}/a-file/run", "--data-dir", "{data}", *QUICK),
    case("train-resume-random-file", "random.pt: not a fashiongan training state", "train",
         "--resume", "{ws}/random.pt", "--out", "{ws}/run", "--data-dir", "{data}",
         "--no-progress"),
    case("train-resume-other-model", "does not fit model 'article'", "train", "--resume",
         "{ws}/mixed", "--data-dir", "{data}", "--no-progress", "--limit-data", "256"),
    case("train-resume-latest-no-runs", "no run with checkpoints under runs/", "train",
         "--resume", "latest", "--data-dir", "{data}", slow=True),
    case("train-resume-nothing", "no such file or folder", "train", "--resume",
         "{ws}/nothing", "--data-dir", "{data}", slow=True),
    case("train-resume-not-a-run", "a-folder/config.json: not a readable", "train", "--resume",
         "{ws}/a-folder", "--data-dir", "{data}", slow=True),
    # --- sample ------------------------------------------------------------------------------
    case("sample-no-checkpoint", "no generator snapshot found", "sample", "{ws}/nothing",
         "--out", "{ws}/o.npz", slow=True),
    case("sample-random-file", "not a readable safetensors", "sample",
         "{ws}/random.safetensors", "--out", "{ws}/o.npz"),
    case("sample-empty-file", "not a readable safetensors", "sample",
         "{ws}/empty.safetensors", "--out", "{ws}/o.npz", slow=True),
    case("sample-pickle-pt", "refusing a pickle", "sample", "{ws}/weights.pt", "--out",
         "{ws}/o.npz"),
    case("sample-zip-pickle-renamed", "pickle", "sample", "{ws}/zip-pickle.safetensors",
         "--out", "{ws}/o.npz"),
    case("sample-raw-pickle-renamed", "pickle", "sample", "{ws}/raw-pickle.safetensors",
         "--out", "{ws}/o.npz", slow=True),
    case("sample-other-model", "do not fit model 'article'", "sample",
         "{ws}/other-model.safetensors", "--out", "{ws}/o.npz"),
    case("sample-no-metadata", "without a fashiongan model description", "sample",
         "{ws}/no-metadata.safetensors", "--out", "{ws}/o.npz", slow=True),
    case("sample-negative-n", "--n must be >= 0", "sample", "{ws}/run", "--n", "-3", "--out",
         "{ws}/o.npz"),
    case("sample-zero-batch", "--batch-size must be >= 1", "sample", "{ws}/run", "--batch-size",
         "0", "--out", "{ws}/o.npz"),
    case("sample-zero-scale", "argument --scale: must be >= 1", "sample", "{ws}/run",
         "--scale", "0", "--grid", "{ws}/g.png", slow=True),
    case("sample-negative-rows", "argument --rows: must be >= 0", "sample", "{ws}/run",
         "--rows", "-2", "--grid", "{ws}/g.png", slow=True),
    case("sample-n-not-a-number", "argument --n: invalid int value: 'many'", "sample",
         "{ws}/run", "--n", "many", "--out", "{ws}/o.npz"),
    case("unknown-command", "invalid choice: 'trian'", "trian", "--out", NEW, slow=True),
    case("sample-zero-steps", "argument --steps: must be >= 2", "sample", "{ws}/run",
         "--interpolate", "0", "1", "--steps", "0", "--out", "{ws}/o.npz", slow=True),
    case("sample-class-for-unconditional", "unconditional", "sample", "{ws}/run", "--class",
         "dress", "--out", "{ws}/o.npz", slow=True),
    case("sample-out-under-a-file", "a-file is not a folder", "sample", "{ws}/run", "--out",
         "{ws}/a-file/o.npz"),
    # a folder named as the output file is the user's slip, as for evaluate --json: exit 2
    case("sample-out-is-a-folder", "a-folder: cannot write: is a directory", "sample",
         "{ws}/run", "--out", "{ws}/a-folder"),
    # refused by the output check before any sampling, as evaluate --json is: exit 2
    case("sample-grid-unwritable", "/proc/fashiongan-grid.png: cannot write", "sample",
         "{ws}/run", "--grid", "/proc/fashiongan-grid.png", slow=True),
    # --- evaluate ----------------------------------------------------------------------------
    case("evaluate-random-file", "not a readable safetensors", "evaluate",
         "{ws}/random.safetensors", "--no-floor"),
    case("evaluate-pickle", "refusing a pickle", "evaluate", "{ws}/weights.pt", "--no-floor",
         slow=True),
    case("evaluate-garbage-npz", "garbage.npz: not an .npz", "evaluate", "{ws}/garbage.npz",
         "--no-floor"),
    case("evaluate-object-npz", "objects.npz: not an .npz", "evaluate", "{ws}/objects.npz",
         "--no-floor", slow=True),
    case("evaluate-wrong-shape", "must be uint8 Nx28x28", "evaluate", "{ws}/wrong-shape.npz",
         "--no-floor", slow=True),
    case("evaluate-json-unwritable", "/proc/fashiongan-eval.json: cannot write", "evaluate",
         "{ws}/run", "--json", "/proc/fashiongan-eval.json", "--n", "20", "--no-floor"),
    case("evaluate-json-is-a-folder", "is a folder", "evaluate", "{ws}/run", "--json", "{ws}",
         "--n", "20", "--no-floor"),
    case("evaluate-too-few", "--n must be at least 10", "evaluate", "{ws}/run", "--n", "5",
         "--no-floor", slow=True),
    case("evaluate-zero-batch", "--batch-size must be >= 1", "evaluate", "{ws}/run",
         "--batch-size", "0", "--n", "20", "--no-floor", slow=True),
    # --- evaluate and evaluator train on an imported data set ----------------------------------
    case("evaluate-data-other-generator", "trained on fashion-mnist (1x28x28, 10 classes), not "
         "on --data", "evaluate", "{ws}/run", "--data", "{ws}/ds", "--n", "20"),
    case("evaluate-data-judge-of-another-set", "a judge of another data set", "evaluate",
         "{ws}/tinted.npz", "--data", "{ws}/ds-unlabelled", "--evaluator",
         "{ws}/judge-ds.safetensors"),
    case("evaluate-data-npz-wrong-shape", "must be uint8 Nx32x32x3, got uint8 20x28x28",
         "evaluate", "{ws}/labels-length.npz", "--data", "{ws}/ds", slow=True),
    case("evaluator-train-unlabelled", "the data set is unlabelled", "evaluator", "train",
         "--data", "{ws}/ds-unlabelled"),
    case("evaluator-train-images-zero", "--train-images must be 1 to 60000, not 0",
         "evaluator", "train", "--out", "{ws}/e0.safetensors", "--train-images", "0"),
    case("evaluator-train-images-with-data", "--train-images is for the Fashion-MNIST "
         "evaluator", "evaluator", "train", "--data", "{ws}/ds", "--train-images", "100"),
    # --- data --------------------------------------------------------------------------------
    case("data-missing-file", "t10k-labels-idx1-ubyte: missing", "data", "--data-dir",
         "{ws}/data-missing"),
    case("data-truncated", "unreadable or truncated", "data", "--data-dir",
         "{ws}/data-truncated"),
    case("data-garbage", "wrong magic number", "data", "--data-dir", "{ws}/data-garbage"),
    case("data-wrong-count", "holds 100 items, expected 60000", "data", "--data-dir",
         "{ws}/data-wrong-count", slow=True),
    # --- serve (a case that wrongly starts a server is cut off by the timeout) ---------------
    case("serve-random-file", "not a readable safetensors", "serve", "--checkpoint",
         "{ws}/random.safetensors", "--port", "0"),
    case("serve-pickle", "refusing a pickle", "serve", "--checkpoint", "{ws}/weights.pt",
         "--port", "0"),
    case("serve-other-model", "do not fit model", "serve", "--checkpoint",
         "{ws}/other-model.safetensors", "--port", "0", slow=True),
    case("serve-no-checkpoint", "no generator snapshot found", "serve", "--checkpoint",
         "{ws}/nothing", "--port", "0", slow=True),
    case("serve-bad-port", "--port must be in 0-65535", "serve", "--checkpoint", "{ws}/run",
         "--port", "70000", slow=True),
    # --- numbers that are not numbers, seeds beyond int64, devices that are not devices ----
    case("train-set-nan-ema", "ema_halflife_kimg must be a finite number", "train", "--set",
         "ema_halflife_kimg=nan", "--out", NEW),
    case("train-set-inf-lr", "lr must be a finite number", "train", "--set", "lr=inf",
         "--out", NEW),
    case("train-set-nan-d-lr", "d_lr must be a finite number", "train", "--set", "d_lr=.nan",
         "--out", NEW, slow=True),
    case("train-set-nan-beta", "beta1 must be a finite number", "train", "--set", "beta1=nan",
         "--out", NEW, slow=True),
    case("train-time-budget-nan", "argument --time-budget: must be a finite number", "train",
         "--time-budget", "nan", "--out", NEW, "--data-dir", "{data}", *QUICK),
    case("train-time-budget-inf", "argument --time-budget: must be a finite number", "train",
         "--time-budget", "inf", "--out", NEW, "--data-dir", "{data}", *QUICK, slow=True),
    case("train-set-huge-seed", "seed must be in [0, 2^63)", "train", "--set",
         "seed=99999999999999999999", "--out", NEW),
    case("train-set-negative-seed", "seed must be in [0, 2^63)", "train", "--set", "seed=-1",
         "--out", NEW, slow=True),
    case("sample-huge-seed", "--seed must be in [0, 2^63)", "sample", "{ws}/run", "--seed",
         "99999999999999999999", "--out", "{ws}/o.npz"),
    case("sample-seed-range-overflows", "with 50 images", "sample", "{ws}/run", "--seed",
         str(2**63 - 10), "--out", "{ws}/o.npz", slow=True),
    case("sample-negative-seed", "--seed must be in [0, 2^63)", "sample", "{ws}/run", "--seed",
         "-1", "--out", "{ws}/o.npz", slow=True),
    case("sample-interpolate-huge-seed", "--interpolate must be in [0, 2^63)", "sample",
         "{ws}/run", "--interpolate", "0", "99999999999999999999", "--out", "{ws}/o.npz",
         slow=True),
    case("evaluate-huge-seed", "--seed must be in [0, 2^63)", "evaluate", "{ws}/run", "--seed",
         "99999999999999999999", "--n", "20", "--no-floor", slow=True),
    case("train-device-nonsense", "not a device", "train", "--set", "device=cuda:x",
         "--out", NEW),
    case("train-device-no-cuda", "CUDA is not available", "train", "--set", "device=cuda",
         "--out", NEW, slow=True),
    case("sample-device-nonsense", "--device 'gpu0': not a device", "sample", "{ws}/run",
         "--device", "gpu0", "--out", "{ws}/o.npz"),
    case("sample-device-no-cuda", "CUDA is not available", "sample", "{ws}/run", "--device",
         "cuda", "--out", "{ws}/o.npz", slow=True),
    case("sample-device-meta", "only cpu and cuda", "sample", "{ws}/run", "--device", "meta",
         "--out", "{ws}/o.npz", slow=True),
    case("serve-device-nonsense", "not a device", "serve", "--checkpoint", "{ws}/run",
         "--device", "banana", "--port", "0"),
    case("serve-device-no-cuda", "CUDA is not available", "serve", "--checkpoint", "{ws}/run",
         "--device", "cuda:0", "--port", "0", slow=True),
    case("evaluate-device-nonsense", "not a device", "evaluate", "{ws}/run", "--device", "x",
         "--n", "20", "--no-floor", slow=True),
    # --- models and classes --------------------------------------------------------------------
    case("train-num-classes-not-the-data", "num_classes must be 0 (unconditional) or 10",
         "train", "--preset", "cdcgan", "--set", "num_classes=3", "--out", NEW, "--data-dir",
         "{data}", "--limit-data", "256", *QUICK),
    case("train-article-with-classes", "model article is unconditional", "train", "--preset",
         "article", "--set", "num_classes=10", "--out", NEW),
    case("sample-scale-unbounded", "megapixels", "sample", "{ws}/run", "--n", "4", "--scale",
         "100000", "--grid", "{ws}/g.png"),
    # --- evaluate: arrays read from files --------------------------------------------------------
    case("evaluate-labels-column", "'labels' must be one per image (shape N), got shape 20x1",
         "evaluate", "{ws}/labels-column.npz", "--no-floor"),
    case("evaluate-labels-out-of-range", "labels must be in 0..9, got 3..12", "evaluate",
         "{ws}/labels-range.npz", "--no-floor"),
    case("evaluate-labels-negative", "labels must be in 0..9, got -1..8", "evaluate",
         "{ws}/labels-negative.npz", "--no-floor", slow=True),
    case("evaluate-labels-length", "19 labels for 20 images", "evaluate",
         "{ws}/labels-length.npz", "--no-floor"),
    case("evaluate-labels-strings", "'labels' must be integers", "evaluate",
         "{ws}/labels-strings.npz", "--no-floor"),
    case("evaluate-labels-floats", "'labels' must be integers", "evaluate",
         "{ws}/labels-floats.npz", "--no-floor", slow=True),
    case("evaluate-one-image", "1 image(s); scoring needs at least 10", "evaluate",
         "{ws}/one-image.npz", "--no-floor"),
    case("evaluate-no-image", "0 image(s)", "evaluate", "{ws}/no-image.npz", "--no-floor",
         slow=True),
    # --- resume: what may change ------------------------------------------------------------
    case("train-resume-set-fixed-key", "--set batch_size: cannot change on --resume", "train",
         "--resume", "{ws}/run", "--set", "batch_size=8", "--data-dir", "{data}",
         "--no-progress"),
    case("train-resume-set-model", "--set g_width, model: cannot change", "train", "--resume",
         "{ws}/run", "--set", "model=dcgan", "--set", "g_width=8", "--data-dir", "{data}",
         "--no-progress", slow=True),
    case("train-resume-preset", "--preset article: a resumed run keeps its own config",
         "train", "--resume", "{ws}/run", "--preset", "article", "--data-dir", "{data}",
         "--no-progress"),
    case("train-resume-older-state-in-place", "would replace the later training state(s) "
         "state-00000002.pt", "train", "--resume", "{ws}/run/checkpoints/state-00000001.pt",
         "--data-dir", "{data}", "--no-progress"),
    case("train-resume-branch-into-nonempty", "folder exists and is not empty", "train",
         "--resume", "{ws}/run", "--out", "{ws}/other", "--data-dir", "{data}",
         "--no-progress", slow=True),

]


@pytest.mark.parametrize("c", CASES)
def test_bad_input_is_one_clear_line(c: Case, ws, data_dir):
    before = listing(ws)
    argv = [a.format(ws=ws, data=data_dir) for a in c.argv]
    try:
        r = run_cli(*argv, cwd=ws, timeout=120)
        after = listing(ws)
    finally:  # whatever a failing case left behind must not spill into the next case
        for rel in sorted(set(listing(ws)) - set(before), key=len):
            if (ws / rel).is_dir():
                shutil.rmtree(ws / rel, ignore_errors=True)
            else:
                (ws / rel).unlink(missing_ok=True)
    err = r.stderr.strip().splitlines()
    assert r.returncode != 0, f"accepted: {r.stdout[-500:]}"
    assert r.returncode == c.code, r.stderr
    assert "Traceback" not in r.stderr + r.stdout, r.stderr
    assert len(err) == 1, f"want one line on stderr, got {len(err)}:\n{r.stderr}"
    assert err[0].startswith("fashiongan: error: "), err[0]
    assert c.expect.lower() in err[0].lower(), err[0]
    assert after == before, "the workspace changed"


def test_unwritable_results_file_fails_before_any_evaluation(ws):
    """Found out before sampling and scoring (which take minutes at --n 10000), not after:
    nothing of the evaluation was printed."""
    r = run_cli("evaluate", ws / "run", "--json", "/proc/fashiongan-eval.json", "--n", "20",
                "--no-floor", cwd=ws, timeout=120)
    assert r.returncode == 2 and "cannot write" in r.stderr
    assert "FID" not in r.stdout and r.stdout.strip() == ""


