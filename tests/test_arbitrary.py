import pytest
import torch
from torch import nn

from dfkd_book import sources
from dfkd_book.methods import arbitrary as arb


class Log:
    """Counts the teacher's calls; shared by a model and its (deep) copies, which balance makes."""

    def __init__(self):
        self.calls = self.seen = 0

    def __deepcopy__(self, memo):
        return self


class MeanBinTeacher(nn.Module):
    """Predicts class floor(K × mean intensity): a teacher whose decisions the tests control."""

    input_shape = (1, 4, 4)  # no layers to read it from: declared, as every model of dfkd_book.models does

    def __init__(self, k=4):
        super().__init__()
        self.k = k
        self.log = Log()

    @property
    def calls(self):
        return self.log.calls

    @property
    def seen(self):
        return self.log.seen

    def forward(self, x):
        self.log.calls += 1
        self.log.seen += len(x)
        m = x.mean(dim=(1, 2, 3))
        cls = (m * self.k).long().clamp(0, self.k - 1)
        return torch.nn.functional.one_hot(cls, self.k).float() * 10


def const_source(values, name="const"):
    """A finite source of constant images with the given mean intensities."""
    imgs = torch.tensor(values, dtype=torch.float32)[:, None, None, None].expand(-1, 1, 4, 4).clone()
    return sources.tensor_source(imgs, name, shape=(1, 4, 4), shuffle=False)


@pytest.mark.parametrize("make", [sources.uniform_noise, sources.gaussian_noise, sources.spectral_noise,
                                  sources.dead_leaves, sources.multiscale_noise, sources.random_shapes])
@pytest.mark.parametrize("shape", [(1, 32, 32), (3, 32, 32)])
def test_sources_shape_and_range(make, shape):
    x = make(shape)(17)
    assert x.shape == (17, *shape) and x.dtype == torch.float32
    assert x.min() >= 0 and x.max() <= 1
    assert x.std() > 0.01  # not constant


def test_tensor_source_adapts_channels_and_size_and_runs_dry():
    imgs = torch.rand(10, 3, 28, 28)
    src = sources.tensor_source(imgs, "rgb28", shape=(1, 32, 32))
    a = src(6)
    b = src(6)
    assert a.shape == (6, 1, 32, 32) and b.shape == (4, 1, 32, 32) and src.exhausted
    assert len(src(3)) == 0
    with pytest.raises(ValueError, match="channels"):
        sources.adapt(torch.rand(2, 2, 8, 8), (3, 8, 8))


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
    # full batches: the teacher classified the 4 candidates of the 3rd batch, Algorithm 1 examined up to the 12th
    assert t.seen == res.classified == 12 and res.seconds > 0


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


def test_quota_keep_matches_the_sequential_check():
    torch.manual_seed(0)
    for _ in range(20):
        pred = torch.randint(5, (200,))
        room = torch.randint(0, 30, (5,))
        counts, want = torch.zeros(5, dtype=torch.long), []
        for c in pred.tolist():
            want.append(bool(counts[c] < room[c]))
            counts[c] += want[-1]
        assert arb.quota_keep(pred, room).tolist() == want
    with pytest.raises(ValueError, match=r"\[0, 5\)"):
        arb.quota_keep(torch.tensor([0, 5]), torch.ones(5, dtype=torch.long))


def test_balance_full_batches_count_only_what_algorithm_1_examined():
    t = MeanBinTeacher(4)
    means = [0.1, 0.3, 0.6, 0.9] * 2 + [0.1] * 50
    res = arb.balance(t, [const_source(means)], n=8, batch_size=64, device=torch.device("cpu"))
    assert res.full and res.examined == 8 and res.examined_per_source == {"const": 8}
    assert res.classified == t.seen == 58  # one batch of every candidate, counted apart


def test_balance_unlimited_source_is_capped():
    t = MeanBinTeacher(4)
    dark = sources.Source("always dark", lambda n: torch.full((n, 1, 4, 4), 0.1))
    res = arb.balance(t, [dark], n=8, max_candidates=50, device=torch.device("cpu"))
    assert res.examined == 50 and torch.equal(res.counts, torch.tensor([2, 0, 0, 0]))


def test_balance_bad_input():
    t = MeanBinTeacher(4)
    with pytest.raises(ValueError, match="at least one source"):
        arb.balance(t, [], n=8)
    with pytest.raises(ValueError, match="number of classes"):
        arb.balance(t, [sources.uniform_noise((1, 4, 4))], n=3, device=torch.device("cpu"))
    bad = sources.Source("out of range", lambda n: torch.full((n, 1, 4, 4), 2.0))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        arb.balance(t, [bad], n=8, device=torch.device("cpu"))


def test_class_histogram_counts_every_candidate():
    t = MeanBinTeacher(4)
    h = arb.class_histogram(t, const_source([0.1, 0.1, 0.6, 0.9, 0.9, 0.9]), n=100, device=torch.device("cpu"))
    assert torch.equal(h, torch.tensor([2, 0, 1, 3]))


@pytest.mark.parametrize("shape", [(1, 32, 32), (3, 28, 28)])
def test_offline_natural_sources_shape_and_range(shape):
    photos = [("gradient", torch.linspace(0, 1, 200 * 300).view(1, 200, 300)),
              ("rgb", torch.rand(3, 90, 120))]
    for src in (sources.photo_patches(shape, photos=photos), sources.digits(shape), sources.faces(shape)):
        x = src(23)
        assert x.shape == (23, *shape) and x.dtype == torch.float32, src.name
        assert x.min() >= 0 and x.max() <= 1 and x.std() > 0.01, src.name
    assert sources.digits(shape).limit == 1797 and sources.faces(shape).limit == 100


def test_photo_patches_crop_the_photo_they_are_given():
    # a photo that is 0.25 on its left half and 0.75 on its right half: every patch lies inside it, so its mean
    # is between the two, and small patches are mostly one side or the other
    photo = torch.cat([torch.full((1, 256, 256), 0.25), torch.full((1, 256, 256), 0.75)], dim=2)
    x = sources.photo_patches((1, 16, 16), photos=[("halves", photo)], scale=(0.05, 0.1))(400)
    means = x.mean(dim=(1, 2, 3))
    assert means.min() >= 0.25 - 1e-4 and means.max() <= 0.75 + 1e-4
    assert ((means - 0.25).abs() < 0.02).float().mean() > 0.3 and ((means - 0.75).abs() < 0.02).float().mean() > 0.3


def test_bundled_photos_are_there_offline():
    photos = sources.bundled_photos()
    assert len(photos) >= 15
    for name, p in photos:
        assert p.ndim == 3 and p.shape[0] in (1, 3) and min(p.shape[1:]) >= 100, name
        assert p.min() >= 0 and p.max() <= 1, name


def test_natural_source_bad_input():
    with pytest.raises(ValueError, match="at least one photo"):
        sources.photo_patches(photos=[])
    with pytest.raises(ValueError, match=r"\(C, H, W\) tensor in \[0, 1\]"):
        sources.photo_patches(photos=[("4-D", torch.rand(1, 1, 64, 64))])
    with pytest.raises(ValueError, match="scale"):
        sources.photo_patches(photos=[("ok", torch.rand(1, 64, 64))], scale=(0.5, 1.5))
    with pytest.raises(ValueError, match="leaves"):
        sources.dead_leaves(leaves=0)
    with pytest.raises(ValueError, match="not a dataset class"):
        sources.torchvision_source("NoSuchDataset")


def test_torchvision_source_offline_is_a_clear_error(tmp_path, monkeypatch):
    import torchvision

    from dfkd_book.data import DataUnavailableError

    class Offline:
        def __init__(self, root, download=False, **kwargs):
            raise RuntimeError("no internet")

    monkeypatch.setattr(torchvision.datasets, "SVHN", Offline)
    with pytest.raises(DataUnavailableError, match="SVHN.*could not be downloaded"):
        sources.torchvision_source("SVHN", root=str(tmp_path), split="train")


def test_torchvision_source_adapts_a_dataset(tmp_path, monkeypatch):
    import numpy as np
    import torchvision
    from PIL import Image

    class Fake:  # a torchvision-style dataset of 5 RGB PIL images of 40 × 40
        def __init__(self, root, download=False, **kwargs):
            self.images = [Image.fromarray(np.full((40, 40, 3), 50 * i, dtype=np.uint8)) for i in range(5)]

        def __len__(self):
            return len(self.images)

        def __getitem__(self, i):
            return self.images[i], 0

    monkeypatch.setattr(torchvision.datasets, "SVHN", Fake)
    src = sources.torchvision_source("SVHN", shape=(1, 32, 32), root=str(tmp_path), split="train")
    x = src(3)
    assert x.shape == (3, 1, 32, 32) and src.limit == 5
    assert len(src(10)) == 2 and src.exhausted
    levels = {round(float(v) * 255) for v in x.mean(dim=(1, 2, 3))}
    assert levels <= {0, 50, 100, 150, 200} and len(levels) == 3  # constant images keep their grey level


def test_random_shapes_paint_shapes_on_the_background():
    x = sources.random_shapes((1, 32, 32), count=(1, 1), size=(0.3, 0.5), background=0.0)(200)
    covered = (x > 0).float().mean(dim=(1, 2, 3))  # shapes have grey levels >= 0.2, the background is 0
    assert covered.min() > 0.0 and covered.max() < 0.5  # one shape of at most half the side each
    assert x[x > 0].min() >= 0.2
    with pytest.raises(ValueError, match="count"):
        sources.random_shapes(count=(0, 2))
    with pytest.raises(ValueError, match="background"):
        sources.random_shapes(background=2.0)


def test_multiscale_noise_has_blobs_on_black():
    x = sources.multiscale_noise((1, 32, 32), seed=0)(300)
    assert (x == 0).float().mean() > 0.2  # a black background under the random black level
    # coarse grids: neighbouring pixels agree far more than in per-pixel noise
    d = (x[..., 1:] - x[..., :-1]).abs().mean()
    u = sources.uniform_noise((1, 32, 32))(300)
    assert d < 0.5 * (u[..., 1:] - u[..., :-1]).abs().mean()
    with pytest.raises(ValueError, match="scales"):
        sources.multiscale_noise(scales=())
    with pytest.raises(ValueError, match="black"):
        sources.multiscale_noise(black=1.0)


def test_first_takes_candidates_in_order_whatever_their_class():
    x = arb.first([const_source([0.1, 0.9], "a"), const_source([0.3, 0.6, 0.9], "b")], 4)
    assert x.mean(dim=(1, 2, 3)).tolist() == pytest.approx([0.1, 0.9, 0.3, 0.6])
    with pytest.raises(ValueError, match="n must be"):
        arb.first([const_source([0.1])], 0)


def test_family_gives_fresh_unbalanced_and_balanced_sources():
    for name in sources.FAMILIES + sources.BEYOND_FAMILIES:
        unbalanced, balanced = sources.family(name, (1, 32, 32), seed=0)
        assert isinstance(unbalanced, sources.Source) and balanced
        assert all(isinstance(s, sources.Source) for s in balanced)
        a, b = unbalanced(4), balanced[0](4)
        assert a.shape == b.shape == (4, 1, 32, 32)
        assert not torch.equal(a, b)  # different seeds: the two sets never share images
    with pytest.raises(ValueError, match="noise"):
        sources.family("clevr")


def test_arbitrary_balanced_is_a_method_of_the_loop():
    from dfkd_book import distill, methods

    means = [0.1] * 5 + [0.3] * 3 + [0.6] * 2 + [0.9] * 3 + [0.1, 0.3, 0.6, 0.9]
    student = nn.Sequential(nn.Flatten(), nn.Linear(16, 4))
    m = methods.ArbitraryBalanced([const_source(means)], n=8, batch_size=4)
    r = distill(MeanBinTeacher(4), student, m, steps=2, batch_size=4, device=torch.device("cpu"), progress=False)
    b = m.balanced["sources"]
    assert torch.equal(b.counts, torch.tensor([2, 2, 2, 2])) and b.examined == 12
    assert r.pool.shape == (8, 1, 4, 4) and r.history.synthetic == [8, 8] and m.kind == "arbitrary"
    # the teacher classified the 12 candidates examined, then labelled the 8 kept once for the student
    assert r.teacher_queries == {"forward": 12 + 8, "backward": 0}
    # sources may also be a callable (input shape, seed) -> sources, built for the teacher
    shapes = []

    def sources(shape, seed):
        shapes.append(shape)
        return [const_source(means)]

    m = methods.ArbitraryBalanced(sources, n=4)
    distill(MeanBinTeacher(4), student, m, steps=1, batch_size=4, device=torch.device("cpu"), progress=False)
    assert shapes == [(1, 4, 4)] and torch.equal(m.balanced["sources"].counts, torch.ones(4, dtype=torch.long))
    with pytest.raises(ValueError, match="unknown family"):
        methods.ArbitraryBalanced("clevr")
    comp = methods.ArbitraryBalanced([const_source(means)], n=8, batch_size=4)
    with pytest.raises(RuntimeError, match="not made yet"):
        comp.composition()


def test_arbitrary_unbalanced_keeps_the_first_candidates():
    from dfkd_book import distill, methods

    means = [0.1] * 5 + [0.3] * 3 + [0.6] * 2 + [0.9] * 3
    student = nn.Sequential(nn.Flatten(), nn.Linear(16, 4))
    m = methods.ArbitraryBalanced([const_source(means)], n=8, balanced=False)
    distill(MeanBinTeacher(4), student, m, steps=1, batch_size=4, device=torch.device("cpu"), progress=False)
    assert m.pool.shape == (8, 1, 4, 4) and m.balanced == {}
    assert m.classes.tolist() == [0] * 5 + [1] * 3  # the teacher's classes, kept whatever they are
    assert m.composition() == {"unbalanced": {"counts": [5, 3], "n": 8}}
    assert m.settings()["balanced"] is False
    named = methods.ArbitraryBalanced("noise", n=8, balanced=False)
    assert named.name == "unbalanced noise"


# ------------------------------------------------------------- Raikwar & Mishra 2022: BN on batch statistics
def test_batch_statistics_teacher_normalises_each_batch_by_its_own_statistics():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 16, 5),
                        nn.BatchNorm1d(5))
    for m in net.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.running_mean.uniform_(-1, 1), m.running_var.uniform_(0.5, 2), m.weight.data.uniform_(0.5, 2)
    net.eval()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    b = arb.batch_statistics_teacher(net).eval()
    x = torch.rand(8, 1, 6, 6) * 3 + 1  # far from what the running statistics expect
    with torch.no_grad():
        out = b(x)
        h = net[0](x)
        m, v = h.mean((0, 2, 3), keepdim=True), h.var((0, 2, 3), unbiased=False, keepdim=True)
        h = net[1].weight.view(1, -1, 1, 1) * (h - m) / (v + net[1].eps).sqrt() + net[1].bias.view(1, -1, 1, 1)
        h = net[4](net[3](net[2](h)))
        want = net[5].weight * (h - h.mean(0)) / (h.var(0, unbiased=False) + net[5].eps).sqrt() + net[5].bias
        assert torch.allclose(out, want, atol=1e-5)
        assert torch.allclose(b.train()(x), out)  # the same in train mode, and nothing is tracked
        assert not torch.allclose(net(x), out)
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())  # the caller's model untouched
    assert not any(n.startswith(("1.running", "5.running")) for n, _ in b.named_buffers())


def test_batch_statistics_teacher_needs_batchnorm():
    with pytest.raises(ValueError, match="no BatchNorm layer"):
        arb.batch_statistics_teacher(nn.Sequential(nn.Flatten(), nn.Linear(4, 2)))
    with pytest.raises(TypeError, match="torch.nn.Module"):
        arb.batch_statistics_teacher(lambda x: x)
