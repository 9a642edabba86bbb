"""Any teacher the methods can serve (issue 16, item 6): every method of the book runs, through the one loop, on
teachers that are not the book's LeNets — an RGB CNN of 16 × 16 images with 5 classes and BatchNorm, and an MLP of
64-feature vectors (scikit-learn's 8 × 8 digits, flattened) with 10 classes and BatchNorm1d — at tiny budgets, and
every method a teacher of vectors cannot use says so with a ValueError."""

from __future__ import annotations

import math

import pytest
import torch
from sklearn.datasets import load_digits
from torch import nn

from dfkd_book import distill, hooks, methods, recipes, sources, train
from dfkd_book.methods import metadata

DEVICE = torch.device("cpu")
STEPS, BATCH, N = 4, 16, 32
RGB_SHAPE, RGB_K = (3, 16, 16), 5
VEC_SHAPE, VEC_K = (64,), 10


pytestmark = pytest.mark.usefixtures("one_thread")


# ------------------------------------------------------------------------------------------------- the teachers
def rgb_teacher() -> nn.Module:
    """3 × 16 × 16 → 5 classes, BatchNorm2d in the body and BatchNorm1d in the head. The flatten into a Linear
    of 16 · 4 · 4 inputs makes 16 × 16 the only size it reads, so the shape can be read from it."""
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),  # 0-3: 8 × 8 × 8
        nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),  # 4-7: 16 × 4 × 4
        nn.Flatten(), nn.Linear(16 * 4 * 4, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, RGB_K))  # 8-12


def rgb_student() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 0-2 (1: 4 × 16 × 16)
        nn.Conv2d(4, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 3-5 (4: 8 × 8 × 8)
        nn.Flatten(), nn.Linear(8 * 4 * 4, RGB_K))


def vec_teacher() -> nn.Module:
    return nn.Sequential(nn.Linear(64, 32), nn.BatchNorm1d(32), nn.ReLU(),  # 0-2
                         nn.Linear(32, 32), nn.BatchNorm1d(32), nn.ReLU(),  # 3-5
                         nn.Linear(32, VEC_K))


def vec_student() -> nn.Module:
    return nn.Sequential(nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, VEC_K))


class VectorGenerator(nn.Module):
    """z (B, nz) → (B, d) in [0, 1]: a generator for a teacher of vectors."""

    def __init__(self, nz: int = 8, d: int = 64):
        super().__init__()
        self.nz = nz
        self.body = nn.Sequential(nn.Linear(nz, 32), nn.ReLU(), nn.Linear(32, d))

    def forward(self, z):
        return torch.sigmoid(self.body(z))


@pytest.fixture(scope="module")
def rgb():
    """The RGB teacher, trained briefly on random images labelled by a fixed random linear map (so its BN layers
    hold real running statistics), and that labelled data (the owner's)."""
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    x = torch.rand(320, *RGB_SHAPE, generator=g)
    w = torch.randn(x[0].numel(), RGB_K, generator=g)
    y = ((x.flatten(1) - 0.5) @ w).argmax(1)
    teacher = rgb_teacher()
    train(teacher, (x[:256], y[:256]), steps=30, batch_size=64, lr=3e-3, progress=False, device=DEVICE)
    return teacher, (x[:256], y[:256]), (x[256:], y[256:])


@pytest.fixture(scope="module")
def digits():
    """The MLP teacher trained briefly on scikit-learn's digits (8 × 8 → 64 features in [0, 1]); its owner's
    training data and a held-out set."""
    d = load_digits()
    x = torch.as_tensor(d.data, dtype=torch.float32) / 16.0
    y = torch.as_tensor(d.target, dtype=torch.long)
    torch.manual_seed(0)
    teacher = vec_teacher()
    train(teacher, (x[:1500], y[:1500]), steps=60, batch_size=128, lr=1e-2, progress=False, device=DEVICE)
    return teacher, (x[:1500], y[:1500]), (x[1500:], y[1500:])


def run(teacher, student, method, eval_set, **kwargs):
    kwargs = dict(dict(steps=STEPS, batch_size=BATCH, progress=False, device=DEVICE, eval_set=eval_set), **kwargs)
    return distill(teacher, student, method, **kwargs)


def check(r, shape, k, *, pool: int | None, synthesises: bool, eval_set):
    """What every run must leave: the budget taken, a complete history, finite losses, the teacher's queries
    counted, a student with the teacher's K, and (for methods that keep one) a pool of the teacher's inputs."""
    h = r.history
    assert r.steps == STEPS and h.step[-1] == STEPS
    assert h.step == list(range(1, STEPS + 1))  # eval_every = max(steps // 10, 1) = 1
    for field in (h.test_acc, h.loss, h.lr, h.wall_s, h.teacher_forward, h.teacher_backward, h.synthetic):
        assert len(field) == len(h.step)
    assert all(math.isfinite(v) for v in h.loss)
    assert all(0.0 <= a <= 1.0 for a in h.test_acc)
    for values in h.logs.values():
        assert len(values) == len(h.step)
    assert r.teacher_queries["forward"] > 0
    assert h.teacher_forward[-1] == r.teacher_queries["forward"]
    if synthesises:  # pixels or a generator optimised through the teacher
        assert r.teacher_queries["backward"] > 0 and h.synthetic[-1] > 0
    else:
        assert r.teacher_queries["backward"] == 0
    if pool is None:
        assert r.pool is None
    else:
        assert tuple(r.pool.shape) == (pool, *shape)
        assert 0 <= float(r.pool.min()) and float(r.pool.max()) <= 1
    out = r.student(torch.zeros(2, *shape, device=DEVICE))
    assert tuple(out.shape) == (2, k)
    assert hooks.num_classes_of(r.student, torch.zeros(2, *shape)) == k
    return r


# ------------------------------------------------------------------------------------------------- RGB CNN
def test_rgb_input_shape_is_read_from_the_teacher(rgb):
    teacher, _, _ = rgb
    assert hooks.input_shape(teacher) == RGB_SHAPE
    assert hooks.num_classes_of(teacher, torch.zeros(2, *RGB_SHAPE)) == RGB_K


def test_rgb_real_data_and_transfer_set(rgb):
    teacher, owner, test = rgb
    check(run(teacher, rgb_student(), methods.RealData(owner, n=64), test, lam=0.3), RGB_SHAPE, RGB_K, pool=64,
          synthesises=False, eval_set=test)
    x = torch.rand(N, *RGB_SHAPE, generator=torch.Generator().manual_seed(1))
    check(run(teacher, rgb_student(), methods.TransferSet(x), test), RGB_SHAPE, RGB_K, pool=N, synthesises=False,
          eval_set=test)


@pytest.mark.parametrize("cls", [methods.DataImpressions, methods.ClassImpressions])
def test_rgb_impressions(rgb, cls):
    teacher, _, test = rgb
    r = check(run(teacher, rgb_student(), cls(N, steps=3, batch_size=N), test), RGB_SHAPE, RGB_K, pool=N,
              synthesises=True, eval_set=test)
    assert tuple(r.method.impressions.targets.shape) == (N, RGB_K)
    assert set(r.method.impressions.classes.tolist()) == set(range(RGB_K))


def test_rgb_impressions_with_jitter_and_affine_views(rgb):
    teacher, _, test = rgb
    m = methods.DataImpressions(N, steps=2, jitter=1, view_affine=dict(degrees=10.0, translate=0.1))
    check(run(teacher, rgb_student(), m, test), RGB_SHAPE, RGB_K, pool=N, synthesises=True, eval_set=test)


@pytest.mark.parametrize("sources", ["noise", "synthetic"])
def test_rgb_arbitrary_balanced(rgb, sources):
    teacher, _, test = rgb
    m = methods.ArbitraryBalanced(sources, n=20, max_candidates=200)
    r = run(teacher, rgb_student(), m, test)
    kept = len(r.pool)
    assert 0 < kept <= 20
    check(r, RGB_SHAPE, RGB_K, pool=kept, synthesises=False, eval_set=test)
    b = r.method.balanced[sources]
    assert b.quota == 20 // RGB_K and int(b.counts.sum()) == kept and (b.counts <= b.quota).all()


def test_rgb_arbitrary_custom_sources(rgb):
    teacher, _, test = rgb
    m = methods.ArbitraryBalanced(lambda shape, seed: [sources.dead_leaves(shape, leaves=5, seed=seed)], n=10,
                                  max_candidates=100)
    r = run(teacher, rgb_student(), m, test)
    check(r, RGB_SHAPE, RGB_K, pool=len(r.pool), synthesises=False, eval_set=test)


@pytest.mark.parametrize("game", [methods.ZSKT, methods.DFAD])
def test_rgb_games_with_the_default_generator(rgb, game):
    teacher, _, test = rgb
    m = game(width=8, nz=16, s_steps=2, snapshot_n=4)
    r = check(run(teacher, rgb_student(), m, test), RGB_SHAPE, RGB_K, pool=None, synthesises=True, eval_set=test)
    assert r.method.snapshots and all(tuple(s.shape) == (4, *RGB_SHAPE) for _, s in r.method.snapshots)
    assert any(math.isfinite(v) for v in r.history.logs["loss_generator"])


def test_rgb_zskt_with_attention(rgb):
    """Attention transfer between the convolutional layers of equal spatial size (16 × 16 and 8 × 8)."""
    teacher, _, test = rgb
    m = methods.ZSKT(width=8, nz=16, s_steps=2, attention_layers=[("1", "2"), ("4", "6")])
    check(run(teacher, rgb_student(), m, test), RGB_SHAPE, RGB_K, pool=None, synthesises=True, eval_set=test)
    bad = methods.ZSKT(width=8, nz=16, s_steps=2, attention_layers=[("1", "6")])  # 16 × 16 against 8 × 8
    with pytest.raises(ValueError, match="different spatial sizes"):
        run(teacher, rgb_student(), bad, test)


@pytest.mark.parametrize("cls", [methods.BNInversion, methods.DeepInversion])
def test_rgb_bn_inversion(rgb, cls):
    teacher, _, test = rgb
    r = check(run(teacher, rgb_student(), cls(N, steps=3), test), RGB_SHAPE, RGB_K, pool=N, synthesises=True,
              eval_set=test)
    assert len(r.method.inversion) == N


def test_rgb_adaptive_deepinversion(rgb):
    teacher, _, test = rgb
    m = methods.DeepInversion(N, steps=2, competition_weight=1.0)
    check(run(teacher, rgb_student(), m, test), RGB_SHAPE, RGB_K, pool=N, synthesises=True, eval_set=test)


def test_rgb_activation_records(rgb):
    teacher, owner, test = rgb
    rec = metadata.record_activations(teacher, owner, ["7", "11"], device=DEVICE)
    assert rec.num_classes == RGB_K and rec.shapes["7"] == [16, 4, 4]
    r = check(run(teacher, rgb_student(), methods.ActivationInversion(rec, N, steps=3), test), RGB_SHAPE, RGB_K,
              pool=N, synthesises=True, eval_set=test)
    assert sorted(r.method.inversion.labels.tolist()) == sorted(torch.arange(N).remainder(RGB_K).tolist())


def test_rgb_spectral_records(rgb):
    teacher, owner, test = rgb
    rec = metadata.record_spectra(teacher, owner, ["2"], device=DEVICE)
    assert tuple(rec.mean["2"].shape) == (RGB_K, 8, 16, 16 // 2 + 1)
    check(run(teacher, rgb_student(), methods.SpectralInversion(rec, N, steps=3), test), RGB_SHAPE, RGB_K, pool=N,
          synthesises=True, eval_set=test)


def test_rgb_ssd_kd(rgb):
    teacher, _, test = rgb
    m = methods.SSDKD(width=8, nz=16, g_steps=2, kd_steps=2, synthesis_batch=BATCH)
    r = check(run(teacher, rgb_student(), m, test), RGB_SHAPE, RGB_K, pool=2 * BATCH, synthesises=True,
              eval_set=test)
    assert len(r.method.buffer) == 2 * BATCH and len(r.method.classes) == 2


@pytest.mark.parametrize("augment", ["zskd", "flip-shift"])
def test_rgb_with_augmentation(rgb, augment):
    """With augmentation the teacher re-labels every augmented batch: STEPS · BATCH more forward queries."""
    teacher, _, test = rgb
    aug = recipes.Student(steps=1, augment=augment).make_augment()
    x = torch.rand(N, *RGB_SHAPE, generator=torch.Generator().manual_seed(2))
    r = check(run(teacher, rgb_student(), methods.TransferSet(x), test, augment=aug), RGB_SHAPE, RGB_K, pool=N,
              synthesises=False, eval_set=test)
    assert r.teacher_queries["forward"] >= STEPS * BATCH
    check(run(teacher, rgb_student(), methods.DataImpressions(N, steps=2), test, augment=aug), RGB_SHAPE, RGB_K,
          pool=N, synthesises=True, eval_set=test)


def test_rgb_wrong_input_shape(rgb):
    teacher, _, test = rgb
    with pytest.raises(ValueError, match=r"inputs of shape \(1, 32, 32\).*Conv2d with 3 input channels"):
        run(teacher, rgb_student(), methods.DataImpressions(N, steps=1), test, input_shape=(1, 32, 32))
    x = torch.rand(N, 1, 16, 16)
    with pytest.raises(ValueError, match=r"inputs of shape \(1, 16, 16\), but the teacher reads \(3, 16, 16\)"):
        run(teacher, rgb_student(), methods.TransferSet(x), test)


# ------------------------------------------------------------------------------------------------- MLP on vectors
def test_vec_input_shape_is_read_from_the_teacher(digits):
    teacher, _, test = digits
    assert hooks.input_shape(teacher) == VEC_SHAPE
    assert hooks.num_classes_of(teacher, torch.zeros(2, *VEC_SHAPE)) == VEC_K


def test_vec_real_data_and_transfer_set(digits):
    teacher, owner, test = digits
    check(run(teacher, vec_student(), methods.RealData(owner, n=64), test), VEC_SHAPE, VEC_K, pool=64,
          synthesises=False, eval_set=test)
    x = torch.rand(N, *VEC_SHAPE, generator=torch.Generator().manual_seed(1))
    check(run(teacher, vec_student(), methods.TransferSet(x), test), VEC_SHAPE, VEC_K, pool=N, synthesises=False,
          eval_set=test)


@pytest.mark.parametrize("cls", [methods.DataImpressions, methods.ClassImpressions])
def test_vec_impressions(digits, cls):
    teacher, _, test = digits
    r = check(run(teacher, vec_student(), cls(N, steps=3), test), VEC_SHAPE, VEC_K, pool=N, synthesises=True,
              eval_set=test)
    assert tuple(r.method.impressions.targets.shape) == (N, VEC_K)


def test_vec_arbitrary_noise(digits):
    teacher, _, test = digits
    r = run(teacher, vec_student(), methods.ArbitraryBalanced("noise", n=30, max_candidates=300), test)
    assert 0 < len(r.pool) <= 30
    check(r, VEC_SHAPE, VEC_K, pool=len(r.pool), synthesises=False, eval_set=test)


@pytest.mark.parametrize("cls", [methods.BNInversion, methods.DeepInversion])
def test_vec_bn_inversion(digits, cls):
    teacher, _, test = digits
    check(run(teacher, vec_student(), cls(N, steps=3), test), VEC_SHAPE, VEC_K, pool=N, synthesises=True,
          eval_set=test)


def test_vec_activation_records(digits):
    teacher, owner, test = digits
    rec = metadata.record_activations(teacher, owner, ["2", "5"], device=DEVICE)
    assert rec.num_classes == VEC_K and rec.nonnegative["2"] and rec.shapes["5"] == [32]
    check(run(teacher, vec_student(), methods.ActivationInversion(rec, N, steps=3), test), VEC_SHAPE, VEC_K,
          pool=N, synthesises=True, eval_set=test)


@pytest.mark.parametrize("game", [methods.ZSKT, methods.DFAD])
def test_vec_games_with_a_vector_generator(digits, game):
    teacher, _, test = digits
    m = game(VectorGenerator(8, 64), s_steps=2, snapshot_n=4)
    r = check(run(teacher, vec_student(), m, test), VEC_SHAPE, VEC_K, pool=None, synthesises=True, eval_set=test)
    assert r.method.snapshots and all(tuple(s.shape) == (4, *VEC_SHAPE) for _, s in r.method.snapshots)
    # a callable shape -> generator works too
    m = game(lambda shape: VectorGenerator(8, shape[0]), s_steps=2)
    check(run(teacher, vec_student(), m, test), VEC_SHAPE, VEC_K, pool=None, synthesises=True, eval_set=test)


def test_vec_ssd_kd_with_a_vector_generator(digits):
    teacher, _, test = digits
    m = methods.SSDKD(lambda shape: VectorGenerator(8, shape[0]), g_steps=2, kd_steps=2, synthesis_batch=BATCH)
    check(run(teacher, vec_student(), m, test), VEC_SHAPE, VEC_K, pool=2 * BATCH, synthesises=True, eval_set=test)


# ----------------------------------------------------------------------------------------- what vectors cannot do
def test_vec_no_augmentation(digits):
    teacher, _, test = digits
    aug = recipes.Student(steps=1, augment="zskd").make_augment()
    with pytest.raises(ValueError, match=r"augmentation works on images .*\(64,\); pass augment=None"):
        run(teacher, vec_student(), methods.TransferSet(torch.rand(N, 64)), test, augment=aug)


@pytest.mark.parametrize("method, message", [
    (lambda: methods.ZSKT(width=8), r"default ZSKT generator .* works on images .*\(64,\)"),
    (lambda: methods.DFAD(width=8), r"default DFAD generator .* works on images .*\(64,\)"),
    (lambda: methods.SSDKD(width=8, g_steps=1, kd_steps=2, synthesis_batch=BATCH),
     r"SSD-KD's default generator .* works on images .*\(64,\)"),
    (lambda: methods.ZSKT(VectorGenerator(), attention_layers=[("1", "2")]),
     r"attention transfer works on images .*\(64,\)"),
    (lambda: methods.ArbitraryBalanced("synthetic", n=20), r"'synthetic' family is made of images.*\(64,\)"),
    (lambda: methods.ArbitraryBalanced(("noise", "natural"), n=20), r"'natural' family is made of images"),
    (lambda: methods.DataImpressions(N, steps=1, jitter=2), r"jitter works on images .*\(64,\)"),
    (lambda: methods.DataImpressions(N, steps=1, view_affine=dict(degrees=10.0)),
     r"view_affine works on images .*\(64,\)"),
    (lambda: methods.BNInversion(N, steps=1, jitter=2), r"jitter works on images .*\(64,\)"),
    (lambda: methods.DeepInversion(N, steps=1, tv_weight=1e-3), r"tv_weight works on images .*\(64,\)"),
    (lambda: methods.ZSKT(VectorGenerator(d=32)), r"generator makes inputs of shape \(32,\), but the teacher "
                                                  r"reads \(64,\)"),
])
def test_vec_methods_that_need_images(digits, method, message):
    teacher, _, test = digits
    with pytest.raises(ValueError, match=message):
        run(teacher, vec_student(), method(), test)


def test_vec_no_spectra_of_a_linear_layer(digits):
    teacher, owner, test = digits
    with pytest.raises(ValueError, match=r"spectra need \(N, C, H, W\) activation maps, got \(\d+, 32\)"):
        metadata.record_spectra(teacher, owner, ["2"], device=DEVICE)
    # records made by hand for that layer (what record_spectra refuses to make) fail at synthesis, as clearly
    sig = metadata.record_activations(teacher, owner, ["2"], device=DEVICE).signature
    rec = metadata.SpectralRecords(["2"], {"2": torch.zeros(VEC_K, 32)}, torch.ones(VEC_K, dtype=torch.long), sig)
    with pytest.raises(ValueError, match=r"spectra need \(N, C, H, W\) activation maps"):
        run(teacher, vec_student(), methods.SpectralInversion(rec, N, steps=1), test)


def test_rgb_records_do_not_fit_the_mlp(rgb, digits):
    rgb_t, owner, _ = rgb
    teacher, _, test = digits
    rec = metadata.record_activations(rgb_t, owner, ["11"], device=DEVICE)
    with pytest.raises(ValueError, match="these records were made for a Sequential"):
        run(teacher, vec_student(), methods.ActivationInversion(rec, N, steps=1), test)
