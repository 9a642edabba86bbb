"""Defects a held-out probe found (issue item 7), one test each: every one failed before its fix."""

import warnings

import pytest
import torch
from torch import nn

from dfkd_book import distill, hooks, kd, methods, models
from dfkd_book.methods import metadata
from dfkd_book.methods.base import StaticSet

CPU = torch.device("cpu")
QUIET = dict(steps=1, batch_size=8, progress=False)


def lenet(cls=models.LeNet5, seed=0):
    torch.manual_seed(seed)
    return cls(num_classes=10, in_channels=1)


def images(n=16, seed=0):
    return torch.rand(n, 1, 32, 32, generator=torch.Generator().manual_seed(seed))


# ------------------------------------------------------------------------- teacher queries and device spellings
@pytest.mark.parametrize("make, teacher_cls", [
    (lambda: methods.DataImpressions(n=8, steps=2, batch_size=8), models.LeNet5),
    (lambda: methods.DeepInversion(n=8, steps=2, batch_size=8), models.LeNet5BN),
    (lambda: methods.ArbitraryBalanced("noise", n=10, max_candidates=60, batch_size=30), models.LeNet5),
])
def test_teacher_queries_do_not_depend_on_how_the_device_is_spelt(make, teacher_cls):
    counts = {}
    for device in ("cpu", "cpu:0", torch.device("cpu"), torch.device("cpu", 0)):
        r = distill(lenet(teacher_cls), lenet(models.LeNet5Half, 1), make(), device=device, **QUIET)
        counts[str(device)] = r.teacher_queries
    assert len({tuple(c.values()) for c in counts.values()}) == 1, counts
    assert next(iter(counts.values()))["forward"] > 8


def test_same_device_and_frozen_copies_are_not_copied_again():
    assert hooks.same_device("cpu", "cpu:0") and hooks.same_device(torch.device("cpu"), "cpu:0")
    assert not hooks.same_device("cpu", "meta")
    t = hooks.frozen_copy(lenet(), "cpu")
    assert hooks.frozen_copy(t, "cpu:0") is t and hooks.frozen_copy(t, torch.device("cpu")) is t


# ------------------------------------------------------------------------------- owner-side records
def owner(labels):
    labels = torch.as_tensor(labels)
    return images(len(labels)), labels


@pytest.mark.parametrize("record", [
    lambda t, d: metadata.record_activations(t, d, ["classifier.fc1"], device=CPU),
    lambda t, d: metadata.record_spectra(t, d, ["features.conv1"], device=CPU),
], ids=["activations", "spectra"])
def test_records_refuse_owner_data_that_misses_classes_or_miscounts(record):
    t = lenet(models.LeNet5Half)
    with pytest.raises(ValueError, match=r"no image of class\(es\) \[3\]"):  # class 3 absent
        record(t, owner([0, 1, 2, 4, 5, 6, 7, 8, 9] * 2))
    with pytest.raises(ValueError, match=r"class\(es\) \[6, 7, 8, 9\] of the teacher's K = 10"):  # labels 0..5
        record(t, owner(list(range(6)) * 3))
    with pytest.raises(ValueError, match="20 images and 19 labels"):
        record(t, (images(20), torch.arange(19) % 10))
    with pytest.raises(ValueError, match=r"classes in \[0, 10\).*\[0, 12\]"):
        record(t, owner(list(range(13)) * 2))
    with pytest.raises(TypeError, match="integer"):
        record(t, (images(20), (torch.arange(20) % 10).float()))
    rec = record(t, owner(list(range(10)) * 2))
    assert rec.num_classes == 10 and all(torch.isfinite(m).all() for m in rec.mean.values())


# --------------------------------------------------------------------------- transfer-set dtypes and range
def test_uint8_and_other_float_transfer_sets_are_converted():
    x = images(16)
    ref = distill(lenet(), lenet(models.LeNet5Half, 1), methods.TransferSet(x), device=CPU, **QUIET)
    for given in ((x * 255).round().to(torch.uint8), x.double(), x.half()):
        r = distill(lenet(), lenet(models.LeNet5Half, 1), methods.TransferSet(given), device=CPU, **QUIET)
        assert r.pool.dtype == torch.float32 and r.pool.shape == x.shape
        assert torch.allclose(r.pool, x, atol=1 / 255)
        assert r.history.loss[0] == pytest.approx(ref.history.loss[0], rel=0.05)


def test_a_float64_teacher_is_distilled_in_float32():
    r = distill(lenet().double(), lenet(models.LeNet5Half, 1), methods.TransferSet(images()), device=CPU, **QUIET)
    assert torch.isfinite(torch.tensor(r.history.loss)).all()
    with pytest.raises(TypeError, match="student must have float32"):
        distill(lenet(), lenet(models.LeNet5Half, 1).double(), methods.TransferSet(images()), device=CPU, **QUIET)


def test_images_in_0_255_or_of_integers_are_refused():
    with pytest.raises(ValueError, match=r"inputs are images in \[0, 1\].*divide them by 255"):
        distill(lenet(), lenet(models.LeNet5Half, 1), methods.TransferSet(images() * 255), device=CPU, **QUIET)
    with pytest.raises(TypeError, match="uint8"):
        methods.TransferSet((images() * 255).long())


# ------------------------------------------------------------------------------------- NaN / inf, eval sets
class MadeSet(StaticSet):
    """A static method whose made set holds a NaN."""

    name = "made with a NaN"

    def make(self):
        x = images(16)
        x[3, 0, 5, 5] = float("nan")
        return x, None


def test_nan_or_inf_in_a_transfer_set_is_refused_before_training():
    x = images()
    x[0, 0, 0, 0] = float("inf")
    with pytest.raises(ValueError, match="1 NaN or infinite"):
        methods.TransferSet(x)
    student = lenet(models.LeNet5Half, 1)
    before = [p.detach().clone() for p in student.parameters()]
    with pytest.raises(ValueError, match="made with a NaN.*NaN or infinite"):
        distill(lenet(), student, MadeSet(), device=CPU, **QUIET)
    assert all(torch.equal(a, b) for a, b in zip(before, student.parameters()))  # not one step taken


def test_eval_sets_are_checked_once_up_front():
    x, y = images(), torch.arange(16) % 10
    bad_x = x.clone()
    bad_x[2] = float("nan")
    with pytest.raises(ValueError, match="eval_set holds 1024 NaN"):
        distill(lenet(), lenet(models.LeNet5Half, 1), methods.TransferSet(x), eval_set=(bad_x, y), device=CPU,
                **QUIET)
    with pytest.raises(ValueError, match=r"eval_set: labels must be classes in \[0, 10\).*\[0, 11\]"):
        distill(lenet(), lenet(models.LeNet5Half, 1), methods.TransferSet(x), eval_set=(x, torch.arange(16) % 12),
                device=CPU, **QUIET)
    with pytest.raises(ValueError, match="labels must be classes"):
        kd.evaluate(lenet(), (x, torch.full((16,), 10)), device=CPU)
    with pytest.raises(ValueError, match="NaN"):
        kd.evaluate(lenet(), (bad_x, y), device=CPU)


# ------------------------------------------------------------------------------------------------ SSD-KD
def test_ssd_kd_capacity_smaller_than_the_batch_is_refused():
    m = methods.SSDKD(synthesis_batch=8, capacity=16, g_steps=1, kd_steps=1, width=8)
    with pytest.raises(ValueError, match=r"capacity \(16\) must be >= the distillation batch size \(32\)"):
        distill(lenet(models.LeNet5BN), lenet(models.LeNet5Half, 1), m, steps=1, batch_size=32, device=CPU,
                progress=False)


# ------------------------------------------------------------------------------------- arbitrary shortfall
class AlwaysZero(nn.Module):
    """A teacher that calls everything class 0 (of 10)."""

    input_shape = (1, 8, 8)

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(64, 10)
        with torch.no_grad():
            self.fc.weight.zero_()
            self.fc.bias.copy_(torch.arange(10, 0, -1).float())

    def forward(self, x):
        return self.fc(x.flatten(1))


class Student(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        return self.fc(x.flatten(1))


def test_an_arbitrary_shortfall_reaches_the_result_and_the_log():
    m = methods.ArbitraryBalanced("noise", n=20, max_candidates=100, batch_size=50)
    with pytest.warns(UserWarning, match=r"kept 2 of the 20 images asked.*short per class"):
        r = distill(AlwaysZero(), Student(), m, device=CPU, **QUIET)
    assert m.shortfall == 18 and r.history.logs["shortfall"] == [18.0]
    assert len(r.warnings) == 1 and "kept 2 of the 20" in r.warnings[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = distill(AlwaysZero(), Student(), methods.ArbitraryBalanced("noise", n=10, max_candidates=100,
                                                                       balanced=False), device=CPU, **QUIET)
    assert r.warnings == [] and r.history.logs["shortfall"] == [0.0]  # a full (unbalanced) set: no warning


# ---------------------------------------------------------------------------------------- memory formats
def test_on_a_cpu_the_student_trains_channels_last_and_the_caller_gets_its_layout_back():
    student = lenet(models.LeNet5Half, 1)
    seen = []
    conv = [m for m in student.modules() if isinstance(m, nn.Conv2d)][1]  # 6 input channels: the layouts differ
    conv.register_forward_pre_hook(lambda mod, inp: seen.append(
        mod.weight.is_contiguous(memory_format=torch.channels_last) and not mod.weight.is_contiguous())
        if mod.training else None)
    distill(lenet(), student, methods.TransferSet(images()), device=CPU, **QUIET)
    assert seen and all(seen)  # channels-last during the steps (measured faster on CPUs)
    assert conv.weight.is_contiguous() and hooks.layout_of(student) == torch.contiguous_format  # given back
    nhwc = lenet(models.LeNet5Half, 1).to(memory_format=torch.channels_last)
    distill(lenet(), nhwc, methods.TransferSet(images()), device=CPU, **QUIET)
    assert hooks.layout_of(nhwc) == torch.channels_last  # a caller's channels-last student stays so
    assert hooks.memory_format("cpu") == torch.channels_last
    assert hooks.memory_format("cuda") == torch.contiguous_format  # no GPU measurement says otherwise
    g = hooks.to_device(models.DFADGenerator((1, 32, 32), nz=8, width=8), "cpu")
    assert hooks.layout_of(g) == torch.channels_last and g(torch.randn(2, 8)).shape == (2, 1, 32, 32)
