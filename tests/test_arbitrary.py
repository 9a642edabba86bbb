import pytest
import torch
from torch import nn

from dfkd_book import arbitrary as arb


class MeanBinTeacher(nn.Module):
    """Predicts class floor(K × mean intensity): a teacher whose decisions the tests control."""

    def __init__(self, k=4):
        super().__init__()
        self.k = k
        self.calls = 0
        self.seen = 0

    def forward(self, x):
        self.calls += 1
        self.seen += len(x)
        m = x.mean(dim=(1, 2, 3))
        cls = (m * self.k).long().clamp(0, self.k - 1)
        return torch.nn.functional.one_hot(cls, self.k).float() * 10


def const_source(values, name="const"):
    """A finite source of constant images with the given mean intensities."""
    imgs = torch.tensor(values, dtype=torch.float32)[:, None, None, None].expand(-1, 1, 4, 4).clone()
    return arb.tensor_source(imgs, name, shape=(1, 4, 4), shuffle=False)


@pytest.mark.parametrize("make", [arb.uniform_noise, arb.gaussian_noise, arb.spectral_noise, arb.dead_leaves])
@pytest.mark.parametrize("shape", [(1, 32, 32), (3, 32, 32)])
def test_sources_shape_and_range(make, shape):
    x = make(shape)(17)
    assert x.shape == (17, *shape) and x.dtype == torch.float32
    assert x.min() >= 0 and x.max() <= 1
    assert x.std() > 0.01  # not constant


def test_tensor_source_adapts_channels_and_size_and_runs_dry():
    imgs = torch.rand(10, 3, 28, 28)
    src = arb.tensor_source(imgs, "rgb28", shape=(1, 32, 32))
    a = src(6)
    b = src(6)
    assert a.shape == (6, 1, 32, 32) and b.shape == (4, 1, 32, 32) and src.exhausted
    assert len(src(3)) == 0
    with pytest.raises(ValueError, match="channels"):
        arb.adapt(torch.rand(2, 2, 8, 8), (3, 8, 8))


def test_balance_never_exceeds_quota_and_stops_when_full():
    t = MeanBinTeacher(4)
    # class of each candidate: 0,0,0,0,0,1,1,1,2,2,3,3,3,0,1,2,3 (means 0.1→0, 0.3→1, 0.6→2, 0.9→3)
    means = [0.1] * 5 + [0.3] * 3 + [0.6] * 2 + [0.9] * 3 + [0.1, 0.3, 0.6, 0.9]
    res = arb.balance(t, [const_source(means)], n=8, batch_size=4, device=torch.device("cpu"))
    assert res.quota == 2
    assert torch.equal(res.counts, torch.tensor([2, 2, 2, 2])) and res.full
    assert (res.counts <= res.quota).all() and len(res.images) == 8
    # it stopped when full: the last candidate needed was the 2nd class-3 image, the 12th candidate
    assert res.examined == 12
    assert t.seen == res.examined  # the teacher classified exactly the examined candidates


def test_balance_reports_shortfall_when_sources_run_dry_and_uses_sources_in_order():
    t = MeanBinTeacher(4)
    first = const_source([0.1] * 10, "dark")
    second = const_source([0.3, 0.3, 0.9], "mid")
    res = arb.balance(t, [first, second], n=12, batch_size=64, device=torch.device("cpu"))
    assert res.quota == 3
    assert torch.equal(res.counts, torch.tensor([3, 2, 0, 1]))
    assert torch.equal(res.shortfall, torch.tensor([0, 1, 3, 2])) and not res.full
    assert res.examined_per_source == {"dark": 10, "mid": 3}
    assert res.kept_per_source == {"dark": 3, "mid": 3}


def test_balance_examines_no_more_candidates_than_one_at_a_time():
    torch.manual_seed(0)
    means = torch.rand(400).tolist()
    big = arb.balance(MeanBinTeacher(4), [const_source(means)], n=40, batch_size=1000, device=torch.device("cpu"))
    one = arb.balance(MeanBinTeacher(4), [const_source(means)], n=40, batch_size=1, device=torch.device("cpu"))
    assert big.examined == one.examined
    assert torch.equal(big.counts, one.counts) and torch.equal(big.images, one.images)


def test_balance_unlimited_source_is_capped():
    t = MeanBinTeacher(4)
    dark = arb.Source("always dark", lambda n: torch.full((n, 1, 4, 4), 0.1))
    res = arb.balance(t, [dark], n=8, max_candidates=50, device=torch.device("cpu"))
    assert res.examined == 50 and torch.equal(res.counts, torch.tensor([2, 0, 0, 0]))


def test_balance_bad_input():
    t = MeanBinTeacher(4)
    with pytest.raises(ValueError, match="at least one source"):
        arb.balance(t, [], n=8)
    with pytest.raises(ValueError, match="number of classes"):
        arb.balance(t, [arb.uniform_noise((1, 4, 4))], n=3, device=torch.device("cpu"))
    bad = arb.Source("out of range", lambda n: torch.full((n, 1, 4, 4), 2.0))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        arb.balance(t, [bad], n=8, device=torch.device("cpu"))


def test_class_histogram_counts_every_candidate():
    t = MeanBinTeacher(4)
    h = arb.class_histogram(t, const_source([0.1, 0.1, 0.6, 0.9, 0.9, 0.9]), n=100, device=torch.device("cpu"))
    assert torch.equal(h, torch.tensor([2, 0, 1, 3]))
