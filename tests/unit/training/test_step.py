"""The fast training step computes what the plain tutorial-style step computes.

Both steps get the same initial weights, the same real batches and the same noise (their noise
generators are seeded alike before every iteration, and draw in the same order); after a few
iterations their losses, accuracies, weights, BatchNorm statistics and Adam moments must agree
to float tolerance. The speed work (fused Adam, D frozen during G's step, one forward over
real+fake, channels-last convolutions, no host syncs) may change rounding, never the arithmetic.

The channels-last runs are compared in float64: Adam divides each gradient by its own running
RMS, so a weight whose gradient is ~0 (some of G's first-layer weights at init) takes a full
learning-rate step in a direction set by float32 rounding noise, and two correct float32 steps
with different kernels (NHWC vs NCHW) then differ by ~lr per iteration in those weights. In
float64 that noise is 1e-9 times smaller and the tolerances can be tight.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from benchmarks.reference import ReferenceStep
from fashiongan import data, presets
from fashiongan.data.info import DatasetInfo
from fashiongan.errors import UserError
from fashiongan.models import build_discriminator, build_generator
from fashiongan.training.step import GANStep

ITERS = 4


@pytest.fixture(autouse=True)
def one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)  # the machine is small and shared; results do not depend on it
    yield
    torch.set_num_threads(old)


@pytest.fixture
def dtype(request):
    old = torch.get_default_dtype()
    torch.set_default_dtype(request.param)  # models, noise and batches are built in it
    yield request.param
    torch.set_default_dtype(old)


def _pair(cfg, channels_last=None):
    torch.manual_seed(cfg.schedule.seed)
    G, D = build_generator(cfg), build_discriminator(cfg)
    # copies first: GANStep switches its models' wide Linear layers to oneDNN in place, and the
    # reference is torch's plain nn.Linear
    ref = ReferenceStep(cfg, copy.deepcopy(G), copy.deepcopy(D), torch.Generator())
    fast = GANStep(cfg, G, D, torch.device("cpu"), channels_last=channels_last)
    assert all(type(m) is torch.nn.Linear for m in ref.D.modules()
               if isinstance(m, torch.nn.Linear))
    return fast, ref


def _batches(cfg, data_dir, n):
    images, labels = data.load("train", data_dir)
    g = torch.Generator().manual_seed(123)
    for _ in range(n):
        idx = torch.randint(0, 2000, (cfg.schedule.batch_size,), generator=g)
        yield (images[idx].unsqueeze(1).to(torch.get_default_dtype()) / 127.5 - 1.0,
               labels[idx] if cfg.model.num_classes else None)


def _run(fast, ref, cfg, data_dir, noise_offset=0):
    out_fast, out_ref = [], []
    for i, (real, y) in enumerate(_batches(cfg, data_dir, ITERS)):
        fast.noise.manual_seed(1000 + i)
        ref.noise.manual_seed(1000 + i + noise_offset)
        out_fast.append(fast(real, y).tolist())
        out_ref.append(ref(real, y))
    return torch.tensor(out_fast), torch.tensor(out_ref)


def _assert_same_state(fast, ref, atol=2e-5, rtol=1e-4, m_atol=1e-6, m_rtol=1e-3, scale=0.0):
    """scale > 0 (float32): each tensor also may differ by scale x its largest magnitude. Adam
    divides by sqrt(v), so a weight with a near-zero gradient moves by up to lr on a rounding
    difference alone, and the GAN feeds that back into the other net's moments. Seen on an Intel
    Xeon (MKL's sgemm rounds otherwise there than on the AMD machine this test was written on):
    5 of 313,600 G weights off by 4e-5, moments off by 3e-5 of 2e-2, after 4 iterations."""
    def close(a, b, atol, rtol, what):
        atol = max(atol, scale * b.abs().max().item())
        torch.testing.assert_close(a, b, atol=atol, rtol=rtol, msg=lambda m: f"{what}: {m}")

    for name, a, b in [("G", fast.G, ref.G), ("D", fast.D, ref.D)]:
        sa, sb = a.state_dict(), b.state_dict()
        assert sa.keys() == sb.keys()
        for k in sa:  # weights and BatchNorm running statistics
            close(sa[k], sb[k], atol, rtol, f"{name}.{k}")
    for oa, ob in [(fast.opt_g, ref.opt_g), (fast.opt_d, ref.opt_d)]:
        for pa, pb in zip(oa.param_groups[0]["params"], ob.param_groups[0]["params"],
                          strict=True):
            for key in ("exp_avg", "exp_avg_sq"):
                close(oa.state[pa][key], ob.state[pb][key], m_atol, m_rtol, key)
            assert float(oa.state[pa]["step"]) == float(ob.state[pb]["step"])


F32, F64 = torch.float32, torch.float64
F32_SCALE = 2e-3  # float32 state tolerance, relative to each tensor's scale (_assert_same_state)


@pytest.mark.parametrize("preset,batch,dtype,nhwc,path",
                         [("article", 32, F32, None, "fused"),
                          ("article", 32, F32, None, "onednn"),
                          ("article", 32, F32, None, "aten"), ("article", 32, F64, None, "aten"),
                          ("cdcgan", 16, F32, False, "aten"), ("cdcgan", 16, F64, None, "aten"),
                          ("dcgan", 16, F64, None, "aten")], indirect=["dtype"])
def test_fast_step_matches_reference_step(preset, batch, dtype, nhwc, path, data_dir):
    """nhwc None: GANStep's default (channels-last for conv models); False: the plain layout.
    path: fused = the article's hand-written CPU step (article_step.py), onednn = autograd
    with the wide Linear layers on oneDNN, aten = autograd with torch's own Linear."""
    cfg = presets.resolve(preset, [f"batch_size={batch}",
                                  f"fused_step={path == 'fused'}",
                                  f"onednn_linear={path != 'aten'}"])
    fast, ref = _pair(cfg, channels_last=nhwc)
    assert (fast.article is not None) == (path == "fused")
    linears = [type(m).__name__ for m in fast.D.modules() if isinstance(m, torch.nn.Linear)]
    assert ("OneDNNLinear" in linears) == (path != "aten")
    assert fast.channels_last == (preset != "article" and nhwc is not False)
    if fast.channels_last:
        assert fast.G.up1.weight.is_contiguous(memory_format=torch.channels_last)
    init = {k: v.clone() for k, v in fast.G.state_dict().items()}
    f, r = _run(fast, ref, cfg, data_dir)
    assert f.shape == (ITERS, 4) and next(fast.G.parameters()).dtype == dtype
    # losses to float tolerance; accuracies are counts over the batch and must be equal
    tol = 1e-5 if dtype == F32 else 1e-10
    torch.testing.assert_close(f[:, :2], r[:, :2], atol=tol, rtol=tol)
    assert torch.equal(f[:, 2:], r[:, 2:])
    if dtype == F32:
        _assert_same_state(fast, ref, scale=F32_SCALE)
    else:
        _assert_same_state(fast, ref, atol=1e-9, rtol=1e-7, m_atol=1e-12, m_rtol=1e-6)
    # the weights moved, so agreeing is not agreeing on the initial weights
    moved = max((fast.G.state_dict()[k] - v).abs().max().item() for k, v in init.items())
    assert moved > 1e-3


def test_equivalence_check_notices_different_noise(data_dir):
    """The tolerances above are tight enough to tell apart a step that saw other noise."""
    cfg = presets.resolve("article")
    fast, ref = _pair(cfg)
    f, r = _run(fast, ref, cfg, data_dir, noise_offset=1)
    assert not torch.allclose(f[:, :2], r[:, :2], atol=1e-5, rtol=1e-5)
    with pytest.raises(AssertionError):
        _assert_same_state(fast, ref, scale=F32_SCALE)


def test_bf16_autocast_step_runs_on_cpu_and_stays_near_float32(data_dir):
    """amp=bf16 (the CUDA fast path, also taken on CPUs with AVX512-BF16) changes rounding
    only: the same iterations in bf16 give losses within a few percent of float32's."""
    losses = {}
    for amp in ("none", "bf16"):
        cfg = presets.resolve("cdcgan", ["batch_size=16", f"amp={amp}"])
        fast, ref = _pair(cfg)
        assert fast.amp == (amp == "bf16")
        f, _ = _run(fast, ref, cfg, data_dir)
        assert f.dtype == torch.float32 and torch.isfinite(f).all()
        losses[amp] = f[:, :2]
    torch.testing.assert_close(losses["bf16"], losses["none"], rtol=0.05, atol=0.02)
    assert not torch.equal(losses["bf16"], losses["none"])  # bf16 was really used


def test_throughput_benchmark_prints_its_table():
    """benchmarks/throughput.py end to end, tiny: one row with numbers, Keras skipped cleanly
    where TensorFlow is missing (the test's Python has none)."""
    import subprocess
    import sys

    script = Path(__file__).resolve().parents[3] / "benchmarks" / "throughput.py"
    r = subprocess.run([sys.executable, str(script), "--presets", "article",
                        "--iters", "2", "--reps", "1", "--keras", "--keras-iters", "2",
                        "--keras-python", sys.executable],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    row = next(ln for ln in r.stdout.splitlines() if ln.startswith("| article | 32 |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    # structure and arithmetic, never time: every timing cell is a number, and the FLOPs of
    # the article's iteration are counted exactly
    head = next(ln for ln in r.stdout.splitlines() if ln.startswith("| preset |"))
    assert len(cells) == head.count("|") - 1
    for c in (cells[3], cells[4], cells[5], cells[6], cells[7].rstrip("x")):
        float(c.replace(",", ""))
    assert float(cells[8]) == pytest.approx(0.600, abs=0.01)
    assert "cannot import tensorflow" in r.stdout


@pytest.mark.parametrize("reuse", [False, True])
def test_g_reuses_the_fakes_d_scored(reuse, data_dir):
    """g_reuses_d_fakes: one G forward per iteration, and G's step sends D exactly the fakes
    that D's step scored; without it G draws twice and D sees two different batches."""
    cfg = presets.resolve("cdcgan", ["batch_size=8", f"g_reuses_d_fakes={reuse}",
                                     "mode_seeking=0.5"])
    fast, _ = _pair(cfg)
    calls, seen = [], []
    fast.G.register_forward_hook(lambda m, i, o: calls.append(1))
    fast.D.register_forward_pre_hook(lambda m, args: seen.append(args[0].detach().clone()))
    real, y = next(_batches(cfg, data_dir, 1))
    out = fast(real, y)
    assert torch.isfinite(out).all()
    assert len(calls) == (1 if reuse else 2)
    d_fakes, g_fakes = seen[0][8:], seen[-1]
    assert g_fakes.shape == d_fakes.shape == (8, 1, 28, 28)
    assert torch.equal(d_fakes, g_fakes) == reuse


def test_g_reuses_d_fakes_needs_one_joint_d_step():
    with pytest.raises(UserError, match="g_reuses_d_fakes"):
        presets.resolve("cdcgan", ["g_reuses_d_fakes=true", "d_steps=2"])



@pytest.mark.parametrize("mode", ["none", "ada"])
def test_augmented_maps_reach_d_channels_last(mode, data_dir):
    """Augmentation returns NCHW maps; on a channels-last model both D's and G's steps hand D
    channels-last ones again (an NCHW input to channels-last weights takes a slower path).
    Three channels: with one, the two layouts are the same strides."""
    info = DatasetInfo(32, 3, tuple("abcdefghij"), name="tinted")
    cfg = presets.resolve("colour", ["batch_size=8", f"augment={mode}", "ada_p=1.0"])
    torch.manual_seed(0)
    fast = GANStep(cfg, build_generator(cfg, info), build_discriminator(cfg, info),
                   torch.device("cpu"), channels_last=True)
    layouts = []
    fast.D.register_forward_pre_hook(lambda m, args: layouts.append(
        (args[0].is_contiguous(memory_format=torch.channels_last), args[0].is_contiguous())))
    grey, y = next(_batches(cfg, data_dir, 1))  # real garments, tinted per channel
    real = F.interpolate(grey, size=32) * torch.tensor([1.0, 0.8, 0.5])[:, None, None]
    assert torch.isfinite(fast(real, y)).all()
    assert fast.aug.p == (1.0 if mode == "ada" else 0.0)
    assert len(layouts) == 2 and all(cl and not plain for cl, plain in layouts)
