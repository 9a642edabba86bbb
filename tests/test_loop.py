"""The one student loop (dfkd_book.loop): distill and train, the schedule, the history, the teacher queries."""

import math

import pytest
import torch
from torch import nn

from dfkd_book import data, distill, kd, loop, methods, models, train, zoo
from dfkd_book.methods.base import Batch

CPU = torch.device("cpu")


class Linear(nn.Module):
    def __init__(self, d, k, seed):
        super().__init__()
        torch.manual_seed(seed)
        self.fc = nn.Linear(d, k)

    def forward(self, x):
        return self.fc(x.flatten(1))


def params(m):
    return [p.detach().clone() for p in m.parameters()]


# ------------------------------------------------------------------------------------------------- the schedule
@pytest.mark.parametrize("steps", [1, 7, 50])
def test_cosine_schedule_equals_torch_cosine_annealing_without_warmup(steps):
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.5)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    for step in range(steps + 1):
        assert 0.5 * loop.schedule_factor(step, steps) == pytest.approx(opt.param_groups[0]["lr"], abs=1e-12)
        opt.step()
        sched.step()


def test_warmup_is_linear_then_cosine_or_constant():
    for s in range(10):
        assert loop.schedule_factor(s, 100, warmup=10) == pytest.approx((s + 1) / 10)
        assert loop.schedule_factor(s, 100, warmup=10, schedule="constant") == pytest.approx((s + 1) / 10)
    assert loop.schedule_factor(10, 100, warmup=10) == pytest.approx(1.0)
    assert loop.schedule_factor(55, 100, warmup=10) == pytest.approx(0.5)  # half-way through the cosine
    assert loop.schedule_factor(100, 100, warmup=10) == pytest.approx(0.0, abs=1e-12)
    assert all(loop.schedule_factor(s, 100, 10, "constant") == 1.0 for s in range(10, 100))
    # the loop records that rate: history.lr after each step, with eval_every=1
    t, s = Linear(4, 3, 0), Linear(4, 3, 1)
    r = distill(t, s, torch.randn(32, 4), steps=10, batch_size=8, lr=0.1, warmup=4, schedule="constant",
                eval_every=1, device=CPU, progress=False)
    expected = [0.1 * loop.schedule_factor(i, 10, 4, "constant") for i in range(1, 11)]
    assert r.history.lr == pytest.approx(expected)
    assert r.history.lr[:3] == pytest.approx([0.05, 0.075, 0.1])


# ------------------------------------------------------------------------------------------------- distillation
def test_distill_makes_student_agree_with_teacher():
    teacher = Linear(16, 5, seed=0)
    student = Linear(16, 5, seed=1)
    t0 = params(teacher)
    x = torch.randn(2048, 16)
    before = kd.agreement(student, teacher, x)
    r = distill(teacher, student, x, steps=80, batch_size=128, lr=1e-2, T=4.0, eval_every=16, progress=False,
                seed=0, device=CPU)
    hist = r.history
    after = kd.agreement(student, teacher, x)
    assert after > 0.9 > before
    assert r.student is student and isinstance(r.method, methods.TransferSet) and r.steps == 80
    assert hist.loss[-1] < hist.loss[0] and hist.step == [16, 32, 48, 64, 80] and hist.seconds > 0
    assert hist.test_acc == [None] * 5 and r.final_acc is None  # no evaluation set
    # the caller's teacher is untouched: not trained, not frozen in place, no hooks left on it
    assert all(torch.equal(a, b) for a, b in zip(t0, teacher.parameters()))
    assert all(p.requires_grad for p in teacher.parameters()) and teacher.training
    assert not teacher._forward_pre_hooks and not teacher._forward_hooks


def test_eval_every_sets_the_history_steps(fmnist_test):
    t, s = Linear(4, 3, 0), Linear(4, 3, 1)
    x = torch.randn(64, 4)
    assert distill(t, s, x, steps=10, batch_size=8, eval_every=3, device=CPU, progress=False).history.step == [
        3, 6, 9, 10]
    h = distill(t, s, x, steps=20, batch_size=8, device=CPU, progress=False).history  # default: steps // 10
    assert h.step == list(range(2, 21, 2))
    assert distill(t, s, x, steps=5, batch_size=8, device=CPU, progress=False).history.step == [1, 2, 3, 4, 5]
    # an evaluation set: accuracies in [0, 1], the last one is the student's
    teacher = zoo.teacher("lenet5", "fashion-mnist")
    ev = (fmnist_test.images[:300], fmnist_test.labels[:300])
    r = distill(teacher, models.LeNet5Half(), fmnist_test.images[:256], steps=4, batch_size=64, eval_every=2,
                eval_set=ev, device=CPU, progress=False)
    assert r.history.step == [2, 4] and all(0 <= a <= 1 for a in r.history.test_acc)
    assert r.final_acc == pytest.approx(kd.evaluate(r.student, ev))
    assert not r.student.training


def test_teacher_queries_are_counted(fmnist_test):
    teacher = zoo.teacher("lenet5", "fashion-mnist")
    x = fmnist_test.images[:100]
    # without augmentation: the teacher's logits on the set are computed once (N queries) and reused
    r = distill(teacher, models.LeNet5Half(), x, steps=6, batch_size=32, eval_every=3, device=CPU, progress=False)
    assert r.teacher_queries == {"forward": 100, "backward": 0}
    assert r.history.teacher_forward == [100, 100] and r.history.teacher_backward == [0, 0]
    assert r.history.synthetic == [100, 100] and r.pool.shape == (100, 1, 32, 32)
    # with augmentation the teacher re-labels every augmented batch: steps × batch, and nothing else
    calls = []

    def aug(b):
        calls.append(len(b))
        return b.flip(3)

    r = distill(teacher, models.LeNet5Half(), x, steps=6, batch_size=32, augment=aug, eval_every=3, device=CPU,
                progress=False)
    assert calls == [32, 32, 32, 4, 32, 32]  # shuffled passes over the 100 images: the last batch of a pass is short
    assert r.teacher_queries == {"forward": sum(calls), "backward": 0}
    assert r.history.teacher_forward == [sum(calls[:3]), sum(calls)]


class Weighted(methods.TransferSet):
    """A transfer set whose batches carry per-sample weights."""

    def __init__(self, x, w):
        super().__init__(x)
        self.w = w

    def batch(self, batch_size):
        b = super().batch(batch_size)
        return Batch(b.x, b.teacher_logits, torch.full((len(b.x),), self.w), b.index)


def test_per_sample_weights_are_used():
    x = torch.randn(16, 4)
    losses = [distill(Linear(4, 3, 0), Linear(4, 3, 1), Weighted(x, w), steps=1, batch_size=16, device=CPU,
                      progress=False).history.loss[0] for w in (1.0, 2.5)]
    plain = distill(Linear(4, 3, 0), Linear(4, 3, 1), x, steps=1, batch_size=16, device=CPU,
                    progress=False).history.loss[0]
    assert losses[0] == pytest.approx(plain, rel=1e-6)
    assert losses[1] == pytest.approx(2.5 * plain, rel=1e-6)


def test_distill_with_hard_labels_uses_the_real_labels(fmnist_test):
    teacher = zoo.teacher("lenet5", "fashion-mnist")
    small = data.ImageSet(fmnist_test.images[:512], fmnist_test.labels[:512], fmnist_test.classes)
    student = models.LeNet5Half()
    kd_only = distill(teacher, models.LeNet5Half(), methods.RealData(small), steps=1, batch_size=64, seed=0,
                      device=CPU, progress=False).history.loss[0]
    r = distill(teacher, student, methods.RealData(small), steps=1, batch_size=64, lam=0.3, seed=0, device=CPU,
                progress=False)
    assert len(r.history.loss) == 1 and math.isfinite(r.history.loss[0])
    assert r.history.loss[0] > kd_only  # + 0.3 · cross-entropy to the labels
    with pytest.raises(ValueError, match="labels"):
        distill(teacher, student, small.images, steps=1, lam=0.3, device=CPU, progress=False)


def test_distill_rejects_different_number_of_classes():
    with pytest.raises(ValueError, match=r"teacher has 10.*student has 7"):
        distill(Linear(4, 10, 0), Linear(4, 7, 0), torch.randn(16, 4), steps=1, device=CPU, progress=False)
    with pytest.raises(ValueError, match="does not accept the teacher's inputs"):
        distill(Linear(4, 10, 0), Linear(5, 10, 0), torch.randn(16, 4), steps=1, device=CPU, progress=False)


def test_distill_rejects_bad_arguments():
    t, s, x = Linear(4, 3, 0), Linear(4, 3, 1), torch.randn(16, 4)
    with pytest.raises(TypeError, match="method must be"):
        distill(t, s, [1, 2, 3], steps=1, progress=False)
    with pytest.raises(TypeError, match="teacher must be a torch.nn.Module"):
        distill(lambda z: z, s, x, steps=1, progress=False)
    with pytest.raises(TypeError, match="student must be a torch.nn.Module"):
        distill(t, "student", x, steps=1, progress=False)
    for kw, match in [(dict(steps=0), "steps"), (dict(steps=2.5), "steps"), (dict(steps=4, warmup=4), "warmup"),
                      (dict(steps=2, lr=0), "lr"), (dict(steps=2, optimizer="rmsprop"), "optimizer"),
                      (dict(steps=2, schedule="step"), "schedule"), (dict(steps=2, T=0), "T"),
                      (dict(steps=2, lam=-1), "lam"), (dict(steps=2, eval_every=0), "eval_every"),
                      (dict(steps=2, augment=lambda b: b), "images")]:
        with pytest.raises(ValueError, match=match):
            distill(t, s, x, device=CPU, progress=False, **kw)
    with pytest.raises(ValueError, match="teacher reads"):
        distill(t, s, torch.randn(16, 5), steps=1, device=CPU, progress=False)


class NaN(methods.TransferSet):
    def loss(self, batch, student_logits, teacher_logits, T):
        return super().loss(batch, student_logits, teacher_logits, T) * float("nan")


def test_divergence_raises_floating_point_error():
    t, x = Linear(4, 3, 0), torch.randn(64, 4)
    with pytest.raises(FloatingPointError, match="diverged"):
        distill(t, Linear(4, 3, 1), NaN(x), steps=2, batch_size=8, device=CPU, progress=False)
    # a learning rate that throws the weights past float32's range (the KL's gradient is bounded, so it takes one)
    with pytest.raises(FloatingPointError, match="diverged"):
        distill(t, Linear(4, 3, 1), x * 100, steps=4, batch_size=8, lr=1e37, optimizer="sgd", device=CPU,
                progress=False)


# ------------------------------------------------------------------------------------------------------- train
def test_train_and_evaluate_on_real_data(fmnist_test):
    small = fmnist_test.subset(2000, seed=0)
    model = models.LeNet5Half()
    untrained = kd.evaluate(model, fmnist_test)
    hist = train(model, small, steps=48, batch_size=128, lr=3e-3, eval_every=48, progress=False, seed=0,
                 eval_set=fmnist_test, device=CPU)
    assert hist.step == [48] and hist.final_acc == pytest.approx(kd.evaluate(model, fmnist_test))
    assert hist.final_acc > untrained + 0.3
    assert not model.training
    with pytest.raises(TypeError, match="ImageSet"):
        train(model, fmnist_test.images, steps=1, progress=False)
    with pytest.raises(ValueError, match="N > 0"):
        train(model, (fmnist_test.images[:0], fmnist_test.labels[:0]), steps=1, progress=False)


def test_distill_trains_channels_last_and_gives_the_layout_back():
    teacher = zoo.teacher("lenet5", "fashion-mnist")
    student = zoo.student("lenet5half", "fashion-mnist")
    x = torch.rand(64, 1, 32, 32, generator=torch.Generator().manual_seed(0))
    distill(teacher, student, methods.TransferSet(x), steps=3, batch_size=32, progress=False, device=CPU)
    assert all(p.is_contiguous() for p in student.parameters())


# ------------------------------------------------------------------------------------- transfer_set
@pytest.mark.parametrize("make", [
    lambda: methods.DataImpressions(n=12, steps=3, batch_size=6),
    lambda: methods.ArbitraryBalanced("synthetic", n=20, max_candidates=200, batch_size=64),
], ids=["zskd", "arbitrary"])
def test_transfer_set_is_the_set_distill_makes(make):
    torch.manual_seed(0)
    teacher = models.LeNet5(num_classes=10, in_channels=1)
    student = models.LeNet5Half(num_classes=10, in_channels=1)
    for seed in (0, 3):
        via_distill = distill(teacher, student, make(), steps=1, batch_size=8, seed=seed, device=CPU,
                              progress=False).pool
        m = make()
        x, y = loop.transfer_set(teacher, m, seed=seed, device=CPU, progress=False)
        assert y is None and x.dtype == torch.float32 and torch.equal(x, via_distill)
        assert m.queries["forward"] >= len(x)
    # the method keeps its set: a later distill trains on it without making it again
    r = distill(teacher, student, m, steps=2, batch_size=8, seed=seed, device=CPU, progress=False)
    assert r.pool is not None and torch.equal(r.pool, x)


def test_transfer_set_refuses_games_and_student_dependent_sets():
    teacher = models.LeNet5BN(num_classes=10, in_channels=1)
    with pytest.raises(TypeError, match="static method"):
        loop.transfer_set(teacher, methods.DFAD(), device=CPU)
    with pytest.raises(ValueError, match="pass student="):
        loop.transfer_set(teacher, methods.DeepInversion(n=4, competition_weight=1.0), device=CPU)
    with pytest.raises(ValueError, match="in rounds"):
        loop.transfer_set(teacher, methods.DeepInversion(n=4, rounds=2), device=CPU)
    x, y = loop.transfer_set(teacher, methods.RealData((torch.rand(6, 1, 32, 32), torch.arange(6))), device=CPU)
    assert x.shape == (6, 1, 32, 32) and torch.equal(y, torch.arange(6))
