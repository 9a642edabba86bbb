"""The package's public surface after the issue-16 redesign: one entry point (``distill``), one method contract and
registry (``methods``), one place for settings (``recipes``), module boundaries that hold, and a clear
``ValueError`` / ``TypeError`` for every bad input of the public functions."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
import torch
from torch import nn

import dfkd_book
from dfkd_book import hooks, models, synthesis
from dfkd_book.methods import metadata

REPO = Path(dfkd_book.__file__).resolve().parent.parent


pytestmark = pytest.mark.usefixtures("one_thread")


# --------------------------------------------------------------------------------------------- tiny models
def conv_teacher(batchnorm: bool = True, k: int = 4) -> nn.Module:
    """A small RGB classifier of 8 × 8 images (its input shape is readable: only 8 × 8 fits the Linear)."""
    norm = nn.BatchNorm2d(4) if batchnorm else nn.Identity()
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), norm, nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(4 * 4 * 4, k))


def conv_student(k: int = 4) -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(2 * 4 * 4, k))


def mlp(d: int = 6, k: int = 3) -> nn.Module:
    return nn.Sequential(nn.Linear(d, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, k))


def images(n: int = 8) -> torch.Tensor:
    return torch.rand(n, 3, 8, 8, generator=torch.Generator().manual_seed(0))


def quick(**kw) -> dict:
    return dict(dict(steps=2, batch_size=4, progress=False), **kw)


# --------------------------------------------------------------------------------------------- the entry point
def test_public_names():
    from dfkd_book import distill, evaluate, methods, recipes, student, teacher, train, transfer_set

    for f in (distill, train, transfer_set, teacher, student, evaluate):
        assert callable(f)
    assert inspect.ismodule(methods) and inspect.ismodule(recipes)
    for name in ("distill", "train", "transfer_set", "methods", "recipes", "teacher", "student", "evaluate"):
        assert name in dfkd_book.__all__


def test_student_kwargs_are_distill_arguments():
    """What a recipe's student protocol hands to distill is exactly distill's keyword arguments."""
    params = inspect.signature(dfkd_book.distill).parameters
    for name in dfkd_book.recipes.RECIPES:
        kwargs = dfkd_book.recipes.get(name, "quick").student.kwargs()
        assert set(kwargs) <= set(params), (name, set(kwargs) - set(params))


# --------------------------------------------------------------------------------------------- the registry
def test_registry_holds_method_classes():
    from dfkd_book import methods

    assert methods.REGISTRY
    for name, cls in methods.REGISTRY.items():
        assert inspect.isclass(cls) and issubclass(cls, methods.Method), name


def test_unknown_method_lists_the_known_ones():
    from dfkd_book import methods

    with pytest.raises(ValueError, match="unknown method 'nope'") as e:
        methods.get("nope")
    for name in methods.REGISTRY:
        assert name in str(e.value)


def test_get_builds_by_name():
    from dfkd_book import methods

    m = methods.get("zskd", n=4, steps=1)
    assert isinstance(m, methods.DataImpressions) and m.n == 4
    assert isinstance(methods.get("transfer-set", images()), methods.TransferSet)


@pytest.mark.parametrize("profile", ["quick", "workshop", "full"])
def test_every_recipe_builds(profile):
    from dfkd_book import methods, recipes

    for name in recipes.RECIPES:
        r = recipes.get(name, profile)
        assert r.name == name and r.profile == profile
        assert r.method in methods.REGISTRY, (name, r.method)
        assert isinstance(r.student, recipes.Student) and r.student.steps >= 1
        cls = methods.REGISTRY[r.method]
        if r.method in ("kd-real", "transfer-set"):
            m = r.build((torch.rand(4, 1, 32, 32), torch.arange(4)))
        elif r.method in ("activation-records", "spectral-records"):
            continue  # needs the owner's records: test_record_recipes_fit_their_teacher
        else:
            m = r.build()
        assert isinstance(m, cls), name


def test_record_recipes_fit_their_teacher():
    """The layers the owner records (recipe extras) exist in the recipe's teacher architecture."""
    from dfkd_book import methods, recipes

    teacher = models.build("lenet5", 1, 10)
    data = (torch.rand(20, 1, 32, 32), torch.arange(20) % 10)
    act = recipes.get("activation-records", "quick")
    rec = metadata.record_activations(teacher, data, act.extras["layers"], device=torch.device("cpu"))
    assert isinstance(act.build(rec), methods.ActivationInversion)
    spec = recipes.get("spectral", "quick")
    srec = metadata.record_spectra(teacher, data, spec.extras["layers"], device=torch.device("cpu"))
    assert isinstance(spec.build(srec), methods.SpectralInversion)


def test_unknown_recipe_or_profile():
    from dfkd_book import recipes

    with pytest.raises(ValueError, match="unknown recipe 'nope'.*zskd"):
        recipes.get("nope")
    with pytest.raises(ValueError, match="profile must be one of.*'slow'"):
        recipes.get("zskd", "slow")


def test_recipe_table():
    from dfkd_book import recipes

    t = recipes.table("zskd")
    assert list(t.columns) == ["quick", "full"]
    assert "student.steps" in t.index
    q, f = recipes.get("zskd", "quick"), recipes.get("zskd", "full")
    assert t.loc["student.steps", "quick"] == str(q.student.steps)
    assert t.loc["student.steps", "full"] == str(f.student.steps)


# --------------------------------------------------------------------------------------------- distill: bad input
def test_distill_type_errors():
    from dfkd_book import distill, methods

    x = images()
    with pytest.raises(TypeError, match="teacher must be a torch.nn.Module"):
        distill("lenet5", conv_student(), methods.TransferSet(x), **quick())
    with pytest.raises(TypeError, match="student must be a torch.nn.Module"):
        distill(conv_teacher(), lambda x: x, methods.TransferSet(x), **quick())
    with pytest.raises(TypeError, match="method must be a dfkd_book.methods Method.*str"):
        distill(conv_teacher(), conv_student(), "zskd", **quick())


@pytest.mark.parametrize("kwargs, message", [
    (dict(steps=0), r"steps must be an int >= 1, got 0"),
    (dict(batch_size=0), r"batch_size must be an int >= 1, got 0"),
    (dict(T=0), r"temperature T must be > 0, got 0"),
    (dict(lam=-0.1), r"lam .* must be >= 0, got -0.1"),
    (dict(warmup=2), r"warmup \(2\) must be shorter than the budget of 2 steps"),
    (dict(optimizer="rmsprop"), r"optimizer must be one of \('adam', 'sgd'\), got 'rmsprop'"),
    (dict(schedule="step"), r"schedule must be one of \('cosine', 'constant'\), got 'step'"),
])
def test_distill_value_errors(kwargs, message):
    from dfkd_book import distill, methods

    with pytest.raises(ValueError, match=message):
        distill(conv_teacher(), conv_student(), methods.TransferSet(images()), **quick(**kwargs))


def test_distill_student_with_another_k():
    from dfkd_book import distill, methods

    with pytest.raises(ValueError, match="same number of classes; teacher has 4, student has 7"):
        distill(conv_teacher(k=4), conv_student(k=7), methods.TransferSet(images()), **quick())


def test_distill_student_that_cannot_read_the_inputs():
    from dfkd_book import distill, methods

    with pytest.raises(ValueError, match=r"student does not accept the teacher's inputs \(3, 8, 8\)"):
        distill(conv_teacher(), mlp(d=5, k=4), methods.TransferSet(images()), **quick())


def test_distill_augment_on_a_vector_teacher():
    from dfkd_book import distill, methods
    from dfkd_book.augment import FlipShift

    x = torch.rand(8, 6)
    with pytest.raises(ValueError, match=r"augmentation works on images .* inputs of shape \(6,\)"):
        distill(mlp(), mlp(), methods.TransferSet(x), augment=FlipShift(1), **quick())


def test_distill_takes_a_bare_tensor():
    from dfkd_book import distill, methods

    r = distill(conv_teacher(), conv_student(), images(), **quick())
    assert isinstance(r.method, methods.TransferSet) and r.steps == 2 and tuple(r.pool.shape) == (8, 3, 8, 8)


def test_transfer_set_shape_is_checked_against_the_teacher():
    from dfkd_book import distill, methods

    x = torch.rand(8, 1, 28, 28)
    with pytest.raises(ValueError, match=r"inputs of shape \(1, 28, 28\), but the teacher reads \(1, 32, 32\)"):
        distill(models.LeNet5(), models.LeNet5Half(), methods.TransferSet(x), **quick())


@pytest.mark.parametrize("method", ["BNInversion", "DeepInversion", "SSDKD"])
def test_bn_methods_need_batchnorm(method):
    from dfkd_book import distill, methods

    m = methods.SSDKD(g_steps=1, kd_steps=1, synthesis_batch=4, width=4) if method == "SSDKD" else \
        getattr(methods, method)(4, steps=1)
    with pytest.raises(ValueError, match="has no BatchNorm layer.*record_activations"):
        distill(conv_teacher(batchnorm=False), conv_student(), m, **quick())


# --------------------------------------------------------------------------------------------- hooks.input_shape
def test_input_shape_read_and_checked():
    assert hooks.input_shape(conv_teacher()) == (3, 8, 8)
    assert hooks.input_shape(mlp()) == (6,)
    assert hooks.input_shape(models.LeNet5()) == (1, 32, 32)
    assert hooks.input_shape(conv_teacher(), (3, 8, 8)) == (3, 8, 8)


def test_input_shape_wrong_shape_names_both():
    with pytest.raises(ValueError, match=r"inputs of shape \(1, 8, 8\) \(its first layer is a Conv2d with 3 input "
                                         r"channels\)"):
        hooks.input_shape(conv_teacher(), (1, 8, 8))
    with pytest.raises(ValueError, match=r"inputs of shape \(5,\) \(its first layer is a Linear with 6 input "
                                         r"features"):
        hooks.input_shape(mlp(), (5,))
    with pytest.raises(ValueError, match=r"inputs of shape \(3, 32, 32\) \(it reads inputs \(1, 32, 32\)\)"):
        hooks.input_shape(models.LeNet5(), (3, 32, 32))
    with pytest.raises(ValueError, match="a tuple of positive ints"):
        hooks.input_shape(mlp(), (0, 6))


def test_input_shape_unreadable():
    with pytest.raises(ValueError, match="cannot read the input shape .*no Linear or Conv layer.*input_shape="):
        hooks.input_shape(nn.Sequential(nn.Flatten(), nn.Identity()))
    odd = nn.Sequential(nn.Conv2d(3, 2, 3), nn.Flatten(), nn.Linear(2 * 10 * 10, 3))  # 12 × 12, not a probe size
    with pytest.raises(ValueError, match="cannot read the input shape .*Conv2d with 3 input channels"):
        hooks.input_shape(odd)
    assert hooks.input_shape(odd, (3, 12, 12)) == (3, 12, 12)


# --------------------------------------------------------------------------------------------- synthesis
def _objective(view, logits, labels, lo):
    return logits.sum()


@pytest.mark.parametrize("kwargs, message", [
    (dict(n=0), "n must be a positive int, got 0"),
    (dict(steps=0), "steps must be a positive int, got 0"),
    (dict(lr=0), "lr must be > 0, got 0"),
    (dict(lr=-1.0), "lr must be > 0"),
    (dict(schedule="linear"), "schedule must be 'cosine' or 'constant', got 'linear'"),
    (dict(labels=torch.full((4,), 9)), r"labels must be \(4,\) classes in \[0, 4\)"),
    (dict(labels=torch.zeros(3)), r"labels must be \(4,\) classes .* got shape \(3,\)"),
    (dict(init_range=(0.5, 2.0)), "init_range must be"),
])
def test_optimize_pixels_bad_input(kwargs, message):
    args = dict(n=4, steps=1, progress=False, device=torch.device("cpu"))
    args.update(kwargs)
    n = args.pop("n")
    with pytest.raises(ValueError, match=message):
        synthesis.optimize_pixels(conv_teacher(), n, _objective, **args)


@pytest.mark.parametrize("option", [dict(jitter=2), dict(flip=True), dict(tv_weight=1e-3),
                                    dict(view_affine=dict(degrees=5))])
def test_optimize_pixels_image_options_on_vectors(option):
    what = next(iter(option))
    with pytest.raises(ValueError, match=rf"{what} works on images \(C, H, W\).*\(6,\)"):
        synthesis.optimize_pixels(mlp(), 4, _objective, steps=1, progress=False, device=torch.device("cpu"),
                                  **option)


def test_optimize_pixels_on_vectors():
    syn = synthesis.optimize_pixels(mlp(), 4, _objective, steps=2, progress=False, device=torch.device("cpu"))
    assert tuple(syn.images.shape) == (4, 6) and 0 <= syn.images.min() and syn.images.max() <= 1


def test_optimize_pixels_keep_best_keeps_the_inputs_its_loss_was_measured_on():
    """With keep_best, each chunk's recorded loss is the objective of the inputs returned (no jitter, no priors:
    the teacher sees the inputs themselves). A large constant lr makes the loss jump, so the best is not the last."""
    teacher = mlp().eval()
    target = torch.rand(6)

    def objective(view, logits, labels, lo):
        return (view - target).pow(2).sum()

    syn = synthesis.optimize_pixels(teacher, 8, objective, steps=12, batch_size=4, lr=0.7, schedule="constant",
                                    keep_best=True, progress=False, device=torch.device("cpu"))
    for lo in (0, 4):
        again = objective(syn.images[lo:lo + 4], None, None, lo).item()
        assert again == pytest.approx(syn.losses[lo].item(), rel=1e-5), (lo, again, syn.losses[lo].item())


# --------------------------------------------------------------------------------------------- method constructors
def test_transfer_set_bad_input():
    from dfkd_book import methods

    with pytest.raises(TypeError, match="inputs must be a tensor .* got list"):
        methods.TransferSet([[0.0, 1.0]])
    with pytest.raises(ValueError, match="non-empty"):
        methods.TransferSet(torch.empty(0, 3, 8, 8))
    with pytest.raises(ValueError, match="labels must have 8 entries, got 3"):
        methods.TransferSet(images(), torch.zeros(3, dtype=torch.long))


def test_real_data_bad_input():
    from dfkd_book import methods

    data = (images(), torch.zeros(8, dtype=torch.long))
    for n in (0, 9, 2.5):
        with pytest.raises(ValueError, match=r"n must be an int in \[1, 8\]"):
            methods.RealData(data, n=n)
    with pytest.raises(TypeError, match="ImageSet"):
        methods.RealData(images())
    assert len(methods.RealData(data, n=3).inputs) == 3


def test_method_constructors_bad_input():
    from dfkd_book import methods

    with pytest.raises(ValueError, match="n must be an int >= 1, got 0"):
        methods.DataImpressions(n=0)
    with pytest.raises(ValueError, match="n must be an int >= 1, got 0"):
        methods.ClassImpressions(n=0)
    with pytest.raises(ValueError, match="n must be an int >= 1, got 0"):
        methods.BNInversion(0)
    with pytest.raises(ValueError, match="unknown family 'nope'.*noise"):
        methods.ArbitraryBalanced("nope")
    with pytest.raises(ValueError, match="unknown family 'nope'"):
        methods.ArbitraryBalanced(("synthetic", "nope"))
    with pytest.raises(ValueError, match="n must be an int >= 1"):
        methods.ArbitraryBalanced("noise", n=0)
    for game in (methods.ZSKT, methods.DFAD):
        with pytest.raises(ValueError, match="s_steps must be a positive int, got 0"):
            game(s_steps=0)
        with pytest.raises(ValueError, match="g_steps must be a positive int"):
            game(g_steps=0)
    with pytest.raises(ValueError, match="gamma .* must be >= 0, got -1"):
        methods.SSDKD(gamma=-1.0)
    with pytest.raises(ValueError, match="alpha .* must be >= 0, got -0.5"):
        methods.SSDKD(alpha=-0.5)
    with pytest.raises(ValueError, match="capacity must be a positive int, got 0"):
        methods.SSDKD(capacity=0)
    with pytest.raises(ValueError, match="kd_steps must be a positive int"):
        methods.SSDKD(kd_steps=0)


def test_records_methods_need_records():
    from dfkd_book import methods

    with pytest.raises(TypeError, match="records must be ActivationRecords .* got dict"):
        methods.ActivationInversion({"layer": torch.zeros(3)}, 4)
    with pytest.raises(TypeError, match="records must be SpectralRecords .* got str"):
        methods.SpectralInversion("records.pt", 4)


def test_records_of_another_teacher_are_refused():
    from dfkd_book import distill, methods

    data = (images(), torch.arange(8) % 4)
    rec = metadata.record_activations(conv_teacher(), data, ["2"], device=torch.device("cpu"))
    other = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(6 * 4 * 4, 4))
    with pytest.raises(ValueError, match="these records were made for a Sequential"):
        distill(other, conv_student(), methods.ActivationInversion(rec, 4, steps=1), **quick())


def test_student_protocol_bad_input():
    from dfkd_book import recipes

    with pytest.raises(ValueError,
                       match=r"augment must be one of \(None, 'flip-shift', 'affine', 'zskd', 'curriculum', "
                             r"'zskd\+cutmix'\), got 'x'"):
        recipes.Student(steps=1, augment="x")
    with pytest.raises(ValueError, match="steps must be a positive int, got 0"):
        recipes.Student(steps=0)
    with pytest.raises(ValueError, match=r"schedule must be one of \('cosine', 'constant'\), got 'step'"):
        recipes.Student(steps=1, schedule="step")


def test_student_protocol_zskd_then_cutmix():
    from dfkd_book import augment, recipes

    aug = recipes.Student(steps=10, augment="zskd+cutmix").make_augment()
    assert isinstance(aug, augment.Compose) and "ZSKD" in repr(aug) and "CutMix(p=1.0, beta=1.0)" in repr(aug)
    x = torch.rand(8, 1, 32, 32)
    y = aug(x)
    assert y.shape == x.shape and 0 <= float(y.min()) and float(y.max()) <= 1
