import math

import pytest
import torch
import torch.nn.functional as F

from dfkd_book import config, kd, models


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


def test_per_sample_kl_means_to_kd_loss():
    s, t = torch.randn(6, 5), torch.randn(6, 5)
    per = kd.per_sample_kl(s, t, 4.0)
    assert per.shape == (6,) and (per >= 0).all()
    assert per.mean().item() == pytest.approx(kd.kd_loss(s, t, 4.0).item(), rel=1e-5)
    with pytest.raises(ValueError, match="differ in shape"):
        kd.per_sample_kl(s, torch.randn(6, 4), 4.0)
    with pytest.raises(ValueError, match="T must be > 0"):
        kd.per_sample_kl(s, t, 0.0)


def test_soft_targets_images_labels_evaluate_and_agreement(fmnist_test):
    z = torch.randn(3, 4)
    assert torch.allclose(kd.soft_targets(z, 2.0), F.softmax(z / 2.0, 1))
    x, y = kd.images_labels(fmnist_test)
    assert x is fmnist_test.images and y is fmnist_test.labels
    assert kd.images_labels((x[:3], y[:3]))[0].shape == (3, 1, 32, 32)
    model = models.LeNet5Half()
    small = (fmnist_test.images[:200], fmnist_test.labels[:200])
    pred = kd.logits(model, small[0], device=torch.device("cpu")).argmax(1)
    assert kd.evaluate(model, small) == pytest.approx((pred == small[1]).float().mean().item())
    assert kd.agreement(model, model, small[0]) == 1.0
    with pytest.raises(TypeError, match="ImageSet"):
        kd.evaluate(model, fmnist_test.images)
    with pytest.raises(ValueError, match="empty"):
        kd.evaluate(model, (x[:0], y[:0]))


def test_logits_in_chunks_match_one_pass():
    """kd.logits chunks by config.inference_batch on the CPU: the same logits as one forward pass, and the model's
    training mode is given back."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 5), torch.nn.Dropout(0.5))
    x = torch.randn(2 * config.CPU_INFERENCE_BATCH + 7, 3, 4)
    model.train()
    z = kd.logits(model, x, device=torch.device("cpu"))
    assert model.training
    model.eval()
    with torch.no_grad():
        assert torch.allclose(z, model(x), atol=1e-6)
    assert kd.logits(model, x[:0], device=torch.device("cpu")).numel() == 0
