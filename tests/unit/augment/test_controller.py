"""ADA's p controller, driven by a real discriminator: the article's D (shrunk to width 64)
trained to memorise 64 real Fashion-MNIST images against 64 others. On the memorised reals its
signs say "real" (r_t near 1, the overfitting ADA looks for); on fresh reals it guesses
(r_t near 0)."""

from __future__ import annotations

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F

from fashiongan.augment import AdaController
from fashiongan.models.article import ArticleDiscriminator
from tests.support.augment import one_thread, real_images  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("one_thread")

SGD_STEPS, SGD_LR = 150, 0.05


@pytest.fixture(scope="module")
def logits(data_dir):
    """D's logits on its memorised reals and on fresh reals, 64 each, plus r_t of both."""
    seen, other, fresh = real_images(64), real_images(64, start=64), real_images(64, start=1000)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # module scope: set up before the one_thread fixture runs
    with torch.random.fork_rng():  # the model's init draws from the global RNG
        torch.manual_seed(0)
        D = ArticleDiscriminator(d_width=64)
    x, y = torch.cat([seen, other]), torch.cat([torch.ones(64), torch.zeros(64)])
    params = list(D.parameters())
    for _ in range(SGD_STEPS):  # plain SGD by hand: torch.optim's first step costs seconds
        loss = F.binary_cross_entropy_with_logits(D(x), y)
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            for p, g in zip(params, grads, strict=True):
                p.sub_(SGD_LR * g)
    with torch.no_grad():
        out = {"seen": D(seen), "fresh": D(fresh)}
    torch.set_num_threads(threads)
    return out


def rt(t: torch.Tensor) -> float:
    return torch.sign(t).mean().item()


def test_real_d_memorised_its_reals_and_guesses_on_fresh_ones(logits):
    assert rt(logits["seen"]) > 0.95
    assert abs(rt(logits["fresh"])) < 0.4


def test_p_rises_on_memorised_reals_and_falls_on_fresh_ones(logits):
    c = AdaController(target=0.6, kimg=1.0, interval=4, p=0.5)
    step = 4 * 64 / 1000  # interval x batch images, over kimg x 1000: the paper's speed
    for _ in range(3):
        c.observe(logits["seen"])
        assert c.p == 0.5 and c.rt is None  # no adjustment before `interval` observations
    c.observe(logits["seen"])
    assert c.p == 0.5 + step and c.rt == rt(logits["seen"])
    for _ in range(8):
        c.observe(logits["fresh"])
    assert c.p == 0.5 + step - step - step and c.rt == rt(logits["fresh"])
    assert c.metrics() == {"aug_p": c.p, "aug_rt": rt(logits["fresh"])}


def test_p_is_clamped_to_0_1_and_holds_at_the_target(logits):
    c = AdaController(target=0.6, kimg=1.0, interval=1)  # 0.064 per observation
    for _ in range(20):
        c.observe(logits["seen"])
    assert c.p == 1.0
    for _ in range(20):
        c.observe(logits["fresh"])
    assert c.p == 0.0
    held = AdaController(target=0.5, kimg=1.0, interval=1, p=0.3)
    held.observe(torch.tensor([1.0, 2.0, 3.0, -1.0]))  # r_t = 0.5 exactly
    assert held.p == 0.3 and held.rt == 0.5


def test_paper_pace_at_batch_32(logits):
    c = AdaController()  # target 0.6, 500 kimg, every 4 iterations
    for _ in range(4):
        c.observe(logits["seen"][:32])
    assert c.p == 4 * 32 / 500_000


def test_reduce_sums_over_ranks_in_place_or_returned(logits):
    def returned(t):
        return t * 2  # two ranks that saw the same logits

    def in_place(t):  # like torch.distributed.all_reduce, which returns None
        t.mul_(2)

    ps = []
    for reduce in (returned, in_place):
        c = AdaController(kimg=1.0, interval=2, p=0.5, reduce=reduce)
        for _ in range(2):
            c.observe(logits["seen"])
        assert c.rt == rt(logits["seen"])  # a mean: unchanged by the doubling
        ps.append(c.p)
    assert ps[0] == ps[1] == 0.5 + 2 * (2 * 64) / 1000  # twice the images: twice the step


def _rank(rank: int, store: str, parts: list, out: list) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=2)
    c = AdaController(kimg=1.0, interval=2, p=0.5, reduce=dist.all_reduce)
    for t in parts[rank]:
        c.observe(t)
    out_t = torch.tensor([c.p, c.rt], dtype=torch.float64)
    gathered = [torch.zeros(2, dtype=torch.float64) for _ in range(2)]
    dist.all_gather(gathered, out_t)
    if rank == 0:
        torch.save(gathered, out[0])
    dist.destroy_process_group()


def test_two_gloo_ranks_adjust_p_like_one_process_on_both_batches(logits, tmp_path):
    # ~10 s on the 2-core machine, most of it two processes importing torch.
    # rank 0 sees memorised reals, rank 1 fresh ones: only the all-reduced r_t is the truth
    parts = [[logits["seen"], logits["seen"][:32]], [logits["fresh"], logits["fresh"][:32]]]
    mp.spawn(_rank, args=(str(tmp_path / "store"), parts, [str(tmp_path / "out.pt")]),
             nprocs=2, join=True)
    per_rank = torch.load(tmp_path / "out.pt", weights_only=True)
    one = AdaController(kimg=1.0, interval=2, p=0.5)
    for a, b in zip(*parts, strict=True):
        one.observe(torch.cat([a, b]))
    for r in per_rank:
        assert r.tolist() == [one.p, one.rt]


def test_state_dict_round_trip_continues_identically(logits, tmp_path):
    stream = [logits["seen"], logits["fresh"], logits["seen"][:40]] * 5
    a = AdaController(kimg=2.0, interval=4, p=0.2)
    for t in stream[:6]:  # stop between adjustments: the partial sums must travel too
        a.observe(t)
    state = a.state_dict()
    assert state["calls"] == 2 and state["count"] == 64 + 40
    torch.save(state, tmp_path / "s.pt")
    b = AdaController(kimg=2.0, interval=4)
    b.load_state_dict(torch.load(tmp_path / "s.pt", weights_only=True))
    assert b.state_dict() == state
    for t in stream[6:]:
        a.observe(t)
        b.observe(t)
        assert (a.p, a.rt) == (b.p, b.rt)
    assert a.state_dict() == b.state_dict() and a.p != 0.2
