import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dfkd_book import data, kd


def test_kd_loss_hand_computed():
    s = torch.tensor([[1.0, 0.0]])
    t = torch.tensor([[0.0, 1.0]])
    T = 2.0
    ps = [math.exp(0.5) / (math.exp(0.5) + 1), 1 / (math.exp(0.5) + 1)]
    pt = [ps[1], ps[0]]
    kl = sum(p * math.log(p / q) for p, q in zip(pt, ps))
    assert kd.kd_loss(s, t, T).item() == pytest.approx(T * T * kl, rel=1e-5)


def test_kd_loss_zero_for_identical_logits_and_positive_otherwise():
    z = torch.randn(8, 10)
    assert kd.kd_loss(z, z.clone(), 20.0).item() == pytest.approx(0.0, abs=1e-4)  # float32 x tau^2
    assert kd.kd_loss(torch.randn(8, 10), z, 20.0).item() > 0


def test_kd_loss_hard_label_term():
    s, t = torch.randn(5, 4), torch.randn(5, 4)
    y = torch.randint(0, 4, (5,))
    expected = kd.kd_loss(s, t, 3.0) + 0.3 * F.cross_entropy(s, y)
    assert kd.kd_loss(s, t, 3.0, labels=y, lam=0.3).item() == pytest.approx(expected.item(), rel=1e-6)


def test_kd_loss_gradient_is_temperature_stable():
    # The tau^2 factor keeps the gradient magnitude comparable across temperatures (Hinton et al. 2015).
    torch.manual_seed(0)
    t = torch.randn(64, 10)
    norms = []
    for T in (4.0, 20.0):
        s = torch.randn(64, 10, generator=torch.Generator().manual_seed(1)).requires_grad_()
        kd.kd_loss(s, t, T).backward()
        norms.append(s.grad.norm().item())  # d/ds = T (p_s - p_t) ~ (s - t) / K for large T: T-free
    assert norms[0] == pytest.approx(norms[1], rel=0.5)


@pytest.mark.parametrize("kwargs, match", [
    (dict(student_logits=torch.zeros(2, 3), teacher_logits=torch.zeros(2, 4)), "same shape"),
    (dict(student_logits=torch.zeros(2, 3), teacher_logits=torch.zeros(2, 3), T=0.0), "T must be > 0"),
    (dict(student_logits=torch.zeros(2, 3), teacher_logits=torch.zeros(2, 3), lam=0.5), "labels"),
])
def test_kd_loss_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        kd.kd_loss(**kwargs)


class Linear(nn.Module):
    def __init__(self, d, k, seed):
        super().__init__()
        torch.manual_seed(seed)
        self.fc = nn.Linear(d, k)

    def forward(self, x):
        return self.fc(x.flatten(1))


def test_distill_makes_student_agree_with_teacher():
    teacher = Linear(16, 5, seed=0)
    student = Linear(16, 5, seed=1)
    x = torch.randn(2048, 16)
    before = kd.agreement(student, teacher, x)
    hist = kd.distill(student, teacher, x, epochs=5, batch_size=128, lr=1e-2, T=4.0, progress=False, seed=0)
    after = kd.agreement(student, teacher, x)
    assert after > 0.9 > before
    assert hist.loss[-1] < hist.loss[0] and len(hist.epoch) == 5 and hist.seconds > 0
    assert not any(p.requires_grad for p in teacher.parameters())


def test_distill_stream_and_augment():
    teacher, student = Linear(8, 3, 0), Linear(8, 3, 1)
    calls = []

    def stream(b):
        calls.append(b)
        return torch.randn(b, 8)

    def aug(x):
        return x + 0.01 * torch.randn_like(x)

    hist = kd.distill(student, teacher, stream, epochs=2, steps_per_epoch=5, batch_size=32, augment=aug,
                      progress=False)
    assert len(hist.epoch) == 2 and calls.count(32) == 10
    with pytest.raises(ValueError, match="steps_per_epoch"):
        kd.distill(student, teacher, stream, epochs=1, progress=False)


def test_distill_rejects_different_number_of_classes():
    with pytest.raises(ValueError, match=r"teacher has 10.*student has 7"):
        kd.distill(Linear(4, 7, 0), Linear(4, 10, 0), torch.randn(16, 4), epochs=1, progress=False)


def test_distill_rejects_bad_transfer():
    with pytest.raises(TypeError, match="transfer must be"):
        kd.distill(Linear(4, 3, 0), Linear(4, 3, 0), [1, 2, 3], epochs=1, progress=False)


def test_train_and_evaluate_on_real_data(fmnist_test):
    from dfkd_book import models

    small = fmnist_test.subset(2000, seed=0)
    model = models.LeNet5Half()
    untrained = kd.evaluate(model, fmnist_test)
    hist = kd.train(model, small, epochs=3, batch_size=128, lr=3e-3, progress=False, seed=0,
                    eval_set=fmnist_test)
    assert hist.final_acc == pytest.approx(kd.evaluate(model, fmnist_test))
    assert hist.final_acc > untrained + 0.3
    with pytest.raises(TypeError, match="ImageSet"):
        kd.evaluate(model, fmnist_test.images)


def test_distill_with_hard_labels_uses_imageset_labels(fmnist_test):
    from dfkd_book import models, zoo

    teacher = zoo.teacher("lenet5", "fashion-mnist")
    small = data.ImageSet(fmnist_test.images[:512], fmnist_test.labels[:512], fmnist_test.classes)
    student = models.LeNet5Half()
    hist = kd.distill(student, teacher, small, epochs=1, lam=0.3, progress=False, seed=0)
    assert len(hist.loss) == 1 and math.isfinite(hist.loss[0])
    with pytest.raises(ValueError, match="labels"):
        kd.distill(student, teacher, small.images, epochs=1, lam=0.3, progress=False)
