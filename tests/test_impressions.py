import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dfkd_book import distill, methods, models, zoo
from dfkd_book.methods import zskd as imp


@pytest.fixture(scope="module")
def teacher():
    return zoo.teacher("lenet5", "fashion-mnist")


def test_class_similarity_hand_computed():
    w = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    c = 1 / math.sqrt(2)
    cos = torch.tensor([[1, c, 0], [c, 1, c], [0, c, 1]])
    lo, hi = cos.min(1, keepdim=True).values, cos.max(1, keepdim=True).values
    assert torch.allclose(imp.class_similarity(weight=w), (cos - lo) / (hi - lo))
    # row 1: min c, max 1 -> [0, 1, 0] after min-max
    assert torch.allclose(imp.class_similarity(weight=w)[1], torch.tensor([0.0, 1.0, 0.0]))


def test_class_similarity_of_teacher_rows_in_unit_interval_with_unit_diagonal(teacher):
    s = imp.class_similarity(teacher)
    assert s.shape == (10, 10)
    assert s.min() >= 0 and s.max() <= 1
    assert torch.allclose(s.diag(), torch.ones(10))
    assert torch.allclose(s.min(1).values, torch.zeros(10))
    # the same as passing the final layer explicitly
    assert torch.allclose(s, imp.class_similarity(weight=teacher.classifier.fc3.weight))


def test_class_similarity_reads_k_from_teacher():
    s = imp.class_similarity(models.LeNet5(num_classes=7))
    assert s.shape == (7, 7)


def test_class_similarity_errors():
    conv_only = nn.Sequential(nn.Conv2d(1, 10, 32), nn.Flatten())
    with pytest.raises(ValueError, match="weight"):
        imp.class_similarity(conv_only)
    with pytest.raises(ValueError, match="teacher"):
        imp.class_similarity()
    with pytest.raises(ValueError, match=r"\(K, d\)"):
        imp.class_similarity(weight=torch.randn(10))
    # the explicit weight works for a classifier without nn.Linear
    assert imp.class_similarity(conv_only, weight=torch.randn(10, 5)).shape == (10, 10)


def test_beta_changes_the_samples_regression_for_official_code_bug(teacher):
    # The official code re-normalised each row after scaling by beta, so beta = 0.1 and 1.0 were identical.
    s = imp.class_similarity(teacher)
    a = imp.concentration(s, 1.0)
    b = imp.concentration(s, 0.1)
    assert torch.allclose(b - imp.EPS, 0.1 * (a - imp.EPS), atol=1e-6)
    y1, c1 = imp.sample_targets(s, 5000, betas=(1.0,), seed=0)
    y2, c2 = imp.sample_targets(s, 5000, betas=(0.1,), seed=0)
    assert torch.equal(c1, c2)
    row = c1 == 3
    # A smaller concentration spreads the Dirichlet more: larger variance of each coordinate.
    v1, v2 = y1[row].var(0), y2[row].var(0)
    assert (v2 >= v1).all() and v2.sum() > 2 * v1.sum()  # (a coordinate with concentration ε is ~0 in both)
    assert y2[row].max(1).values.mean() > y1[row].max(1).values.mean() + 0.1


def test_sample_targets_split_and_simplex(teacher):
    s = imp.class_similarity(teacher)
    y, c = imp.sample_targets(s, 1000)
    assert y.shape == (1000, 10) and c.shape == (1000,)
    assert torch.allclose(y.sum(1), torch.ones(1000), atol=1e-5) and (y >= 0).all()
    assert torch.equal(torch.bincount(c), torch.full((10,), 100))
    assert torch.equal(c, c.sort().values)  # class-major
    # with the class-similarity prior, class k's samples put most mass on k on average
    mean = torch.stack([y[c == k].mean(0) for k in range(10)])
    assert torch.equal(mean.argmax(1), torch.arange(10))
    # the same seed gives the same targets
    assert torch.equal(imp.sample_targets(s, 100, seed=3)[0], imp.sample_targets(s, 100, seed=3)[0])


def test_uniform_prior_is_all_ones(teacher):
    s = imp.class_similarity(teacher)
    assert torch.equal(imp.concentration(s, 0.1, prior="uniform"), torch.ones(10, 10))
    y, _ = imp.sample_targets(s, 2000, prior="uniform")
    # Dir(1, ..., 1): each coordinate has mean 1/K whatever the class
    assert torch.allclose(y.mean(0), torch.full((10,), 0.1), atol=0.01)


def test_bad_beta_prior_and_n(teacher):
    s = imp.class_similarity(teacher)
    for beta in (0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="beta"):
            imp.concentration(s, beta)
        with pytest.raises(ValueError, match="beta"):
            imp.sample_targets(s, 10, betas=(1.0, beta))
    with pytest.raises(ValueError, match="prior"):
        imp.sample_targets(s, 10, prior="flat")
    with pytest.raises(ValueError, match="n must be"):
        imp.sample_targets(s, 0)


def test_one_hot_targets():
    y, c = imp.one_hot_targets(25, 5)
    assert torch.equal(y.argmax(1), c) and torch.equal(torch.bincount(c), torch.full((5,), 5))
    assert torch.equal(y.sum(1), torch.ones(25))


def test_impression_loss_hand_computed():
    z = torch.tensor([[2.0, 0.0]])
    y = torch.tensor([[0.25, 0.75]])
    p = F.softmax(z / 2.0, 1)[0]
    expected = -(0.25 * math.log(p[0]) + 0.75 * math.log(p[1]))
    assert imp.impression_loss(z, y, T=2.0).item() == pytest.approx(expected, rel=1e-6)


def test_crafting_lowers_cross_entropy_to_targets(teacher):
    s = imp.class_similarity(teacher)
    y, c = imp.sample_targets(s, 200, seed=1)
    r = imp.craft(teacher, y, steps=40, lr=0.1, classes=c, progress=False, device=torch.device("cpu"))
    assert r.images.shape == (200, 1, 32, 32) and r.images.min() >= 0 and r.images.max() <= 1
    with torch.no_grad():
        noise = imp.impression_loss(teacher(torch.rand(200, 1, 32, 32)), y).mean()
        crafted = imp.impression_loss(teacher(r.images), y).mean()
    assert crafted < noise - 0.5
    assert r.curve[0][1] > r.curve[-1][1]
    assert torch.allclose(r.loss.mean(), crafted, atol=1e-4)
    assert r.impression_steps == 200 * 40
    # the teacher's top class on the impressions agrees with the targets' top class for most of them
    with torch.no_grad():
        agree = (teacher(r.images).argmax(1) == y.argmax(1)).float().mean()
    assert agree > 0.8
    # the caller's teacher is left as it was (crafting uses a private channels-last copy)
    assert not teacher.classifier.fc3.weight.requires_grad and not teacher.training


def test_class_impressions_reach_their_class(teacher):
    r = imp.class_impressions(teacher, 50, steps=40, lr=0.1, progress=False, device=torch.device("cpu"))
    assert torch.equal(torch.bincount(r.classes), torch.full((10,), 5))
    with torch.no_grad():
        pred = teacher(r.images).argmax(1)
    assert (pred == r.classes).float().mean() >= 0.95


def test_craft_rejects_bad_targets(teacher):
    with pytest.raises(ValueError, match="10 classes"):
        imp.craft(teacher, F.softmax(torch.randn(4, 7), 1), steps=1, progress=False)
    with pytest.raises(ValueError, match="probability"):
        imp.craft(teacher, torch.randn(4, 10), steps=1, progress=False)
    with pytest.raises(ValueError, match=r"\(N, K\)"):
        imp.craft(teacher, torch.rand(10), steps=1, progress=False)
    with pytest.raises(ValueError, match="steps"):
        imp.craft(teacher, F.softmax(torch.randn(4, 10), 1), steps=0, progress=False)
    with pytest.raises(ValueError, match="targets must have"):
        imp.impression_loss(torch.randn(4, 10), torch.rand(4, 9))
    with pytest.raises(ValueError, match="l2_weight"):
        imp.craft(teacher, F.softmax(torch.randn(4, 10), 1), steps=1, l2_weight=-1.0, progress=False)


def test_the_l2_prior_darkens_the_impressions(teacher):
    y, c = imp.sample_targets(imp.class_similarity(teacher), 40, seed=2)
    kw = dict(steps=30, lr=0.05, classes=c, progress=False, device=torch.device("cpu"))
    plain = imp.craft(teacher, y, **kw).images
    prior = imp.craft(teacher, y, l2_weight=50.0, **kw).images
    assert prior.square().mean() < 0.8 * plain.square().mean()


def test_subset_is_balanced_and_nested():
    n = 40
    cls = torch.arange(n) % 4
    r = imp.Impressions(torch.rand(n, 1, 4, 4), torch.rand(n, 4), cls, torch.rand(n), 5, 2.0)
    a, b = r.subset(8), r.subset(20)
    assert torch.equal(torch.bincount(a.classes), torch.full((4,), 2))
    assert torch.equal(torch.bincount(b.classes), torch.full((4,), 5))
    rows_b = {tuple(x.flatten().tolist()) for x in b.images}
    assert all(tuple(x.flatten().tolist()) in rows_b for x in a.images)
    with pytest.raises(ValueError):
        r.subset(41)


def test_equal_shares_takes_classes_in_turn():
    cls = torch.tensor([2, 0, 0, 1, 0, 2, 1, 0])  # class 0 has four items, 1 and 2 two each
    assert imp.equal_shares(cls, 3).tolist() == [0, 1, 3]  # the first of each class
    assert imp.equal_shares(cls, 6).tolist() == [0, 1, 2, 3, 5, 6]  # then the second of each
    assert imp.equal_shares(cls, 8).tolist() == list(range(8))
    with pytest.raises(ValueError, match="n must be"):
        imp.equal_shares(cls, 0)
    with pytest.raises(ValueError, match="1-D integer"):
        imp.equal_shares(cls.float(), 2)


def test_view_options_validate_and_keep_images_in_range(teacher):
    y, c = imp.sample_targets(imp.class_similarity(teacher), 20)
    r = imp.craft(teacher, y, steps=3, init_range=(0.0, 0.1), jitter=2, progress=False,
                  view_affine=dict(degrees=15, translate=0.1, scale=(0.9, 1.1)), device=torch.device("cpu"))
    assert r.images.shape == (20, 1, 32, 32) and r.images.min() >= 0 and r.images.max() <= 1
    with pytest.raises(ValueError, match="view_affine"):
        imp.craft(teacher, y, steps=1, view_affine=dict(shear=3), progress=False)
    with pytest.raises(ValueError, match="init_range"):
        imp.craft(teacher, y, steps=1, init_range=(0.5, 2.0), progress=False)
    with pytest.raises(ValueError, match="jitter"):
        imp.craft(teacher, y, steps=1, jitter=-1, progress=False)


def test_data_and_class_impressions_are_methods_of_the_loop(teacher):
    cpu = torch.device("cpu")
    m = methods.DataImpressions(20, steps=2, lr=0.1)
    r = distill(teacher, models.LeNet5Half(), m, steps=2, batch_size=10, device=cpu, progress=False)
    assert len(m.impressions) == 20 and m.impressions.steps == 2 and r.pool.shape == (20, 1, 32, 32)
    assert r.history.synthetic == [20, 20] and m.seconds > 0
    assert torch.equal(torch.bincount(m.impressions.classes), torch.full((10,), 2))
    # crafting queried the teacher's input gradient once per impression and step
    assert r.teacher_queries["backward"] == 20 * 2 and r.teacher_queries["forward"] >= 20 * 2 + 20
    m = methods.ClassImpressions(10, steps=1)
    distill(teacher, models.LeNet5Half(), m, steps=1, batch_size=10, device=cpu, progress=False)
    assert torch.equal(m.impressions.targets, torch.eye(10))
    with pytest.raises(ValueError, match="n must be"):
        methods.DataImpressions(0)


def test_cap_targets_keeps_the_simplex_and_the_order():
    t = torch.tensor([[0.99, 0.006, 0.004, 0.0], [1.0, 0.0, 0.0, 0.0], [0.5, 0.3, 0.2, 0.0]])
    c = imp.cap_targets(t, 0.7)
    assert torch.allclose(c.sum(1), torch.ones(3))
    assert torch.allclose(c[:, 0], torch.tensor([0.7, 0.7, 0.5]))
    assert torch.allclose(c[0, 1:], torch.tensor([0.18, 0.12, 0.0]), atol=1e-6)  # shared in proportion
    assert torch.allclose(c[1, 1:], torch.full((3,), 0.1))  # a one-hot shares equally
    assert torch.equal(c[2], t[2])  # under the cap: untouched
    with pytest.raises(ValueError, match="top must be"):
        imp.cap_targets(t, 0.2)


def test_stop_kl_freezes_impressions_that_are_close_enough(teacher):
    y, c = imp.sample_targets(imp.class_similarity(teacher), 40, seed=3)
    kw = dict(lr=0.05, classes=c, progress=False, device=torch.device("cpu"), T=20.0)
    loose = imp.craft(teacher, y, steps=40, stop_kl=5.0, **kw)
    free = imp.craft(teacher, y, steps=40, **kw)
    entropy = -(y * y.clamp_min(1e-12).log()).sum(1)
    assert (free.loss - entropy).mean() < (loose.loss - entropy).mean()  # stopping early leaves them further away
    with pytest.raises(ValueError, match="stop_kl"):
        imp.craft(teacher, y, steps=1, stop_kl=0.0, progress=False)
    with pytest.raises(ValueError, match="tv_weight"):
        imp.craft(teacher, y, steps=1, tv_weight=-1.0, progress=False)
