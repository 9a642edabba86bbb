import pytest
import torch

from dfkd_book import adversarial as adv
from dfkd_book import models

CPU = torch.device("cpu")


def lenets():
    torch.manual_seed(0)
    return models.LeNet5(1, 10), models.LeNet5Half(1, 10)


def test_the_generator_loss_depends_on_the_student():
    """Regression for Fast-Datafree's student=teacher bug: the adversarial term must see the student."""
    teacher, student = lenets()
    other = models.LeNet5Half(1, 10)
    x = torch.rand(8, 1, 32, 32)
    for game in adv.GAMES:
        a = adv.generator_loss(teacher, student, x, game)
        b = adv.generator_loss(teacher, other, x, game)
        assert a.item() != pytest.approx(b.item()), game
        assert a.item() < 0  # minus a discrepancy that is > 0 between different networks
        assert adv.generator_loss(teacher, teacher, x, game).item() == pytest.approx(0.0, abs=1e-7)


def test_generator_loss_sends_gradients_to_the_images():
    teacher, student = lenets()
    x = torch.rand(4, 1, 32, 32, requires_grad=True)
    adv.generator_loss(teacher, student, x, "dfad").backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_discrepancy_and_bad_input():
    t = torch.randn(5, 3)
    assert adv.discrepancy(t, t, "zskt").item() == pytest.approx(0.0, abs=1e-7)
    assert adv.discrepancy(t, t + 1.0, "dfad").item() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="unknown game"):
        adv.discrepancy(t, t, "gan")
    with pytest.raises(ValueError, match="differ in shape"):
        adv.discrepancy(t, torch.randn(5, 4), "zskt")


def test_attention_map_is_normalised_and_layers_are_checked():
    a = adv.attention_map(torch.randn(3, 6, 14, 14))
    assert a.shape == (3, 196) and torch.allclose(a.norm(dim=1), torch.ones(3))
    teacher, student = lenets()
    gen = models.ZSKTGenerator((1, 32, 32), nz=8)
    with pytest.raises(ValueError, match="no layer"):
        adv.adversarial_distill(student, teacher, gen, iterations=1, attention_layers=[("nope", "features.relu1")],
                                device=CPU, progress=False)
    with pytest.raises(ValueError, match="different spatial sizes"):
        adv.adversarial_distill(student, teacher, gen, iterations=1,
                                attention_layers=[("features.relu1", "features.relu2")], device=CPU, progress=False)


def test_generator_must_fit_the_teacher():
    teacher, student = lenets()
    with pytest.raises(ValueError, match="does not fit the teacher"):
        adv.adversarial_distill(student, teacher, models.DFADGenerator((1, 28, 28), nz=8), iterations=1,
                                device=CPU, progress=False)
    with pytest.raises(ValueError, match="same number of classes"):
        adv.adversarial_distill(models.LeNet5Half(1, 5), teacher, models.DFADGenerator((1, 32, 32), nz=8),
                                iterations=1, device=CPU, progress=False)
    with pytest.raises(ValueError, match="unknown game"):
        adv.adversarial_distill(student, teacher, models.DFADGenerator((1, 32, 32), nz=8), game="gan",
                                device=CPU, progress=False)


@pytest.mark.parametrize("game", adv.GAMES)
def test_a_short_game_trains_both_players(game):
    teacher, student = lenets()
    gen = models.ZSKTGenerator((1, 32, 32), nz=8) if game == "zskt" else models.DFADGenerator((1, 32, 32), nz=8)
    s0 = [p.detach().clone() for p in student.parameters()]
    g0 = [p.detach().clone() for p in gen.parameters()]
    t0 = [p.detach().clone() for p in teacher.parameters()]
    x = torch.rand(20, 1, 32, 32)
    y = torch.randint(0, 10, (20,))
    layers = [("features.relu1", "features.relu1")] if game == "zskt" else ()
    h = adv.adversarial_distill(student, teacher, gen, game=game, iterations=4, batch_size=8, s_steps=2,
                                attention_layers=layers, eval_set=(x, y), eval_every=2, snapshot_n=3,
                                seed=0, device=CPU, progress=False)
    assert h.iteration == [2, 4] and len(h.test_acc) == 2 and all(0 <= a <= 1 for a in h.test_acc)
    assert [it for it, _ in h.snapshots] == [0, 2, 4] and h.snapshots[0][1].shape == (3, 1, 32, 32)
    assert any(not torch.equal(a, b) for a, b in zip(s0, student.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(g0, gen.parameters()))
    assert all(torch.equal(a, b) for a, b in zip(t0, teacher.parameters()))  # the teacher is frozen
    assert not student._forward_hooks and not teacher.features.relu1._forward_hooks  # hooks removed


def test_the_toy_game_runs_on_points_and_calls_back_at_every_snapshot():
    """The 2-D game of chapter 4 uses the same function; on_snapshot sees the step and both players."""
    torch.manual_seed(0)
    teacher, student = models.MLP(2, (16,), 2), models.MLP(2, (4,), 2)
    gen = models.PointGenerator(nz=4, box=1.5)
    seen = []

    def cb(step, s, g):
        assert s is student and g is gen and not s.training and not torch.is_grad_enabled()
        seen.append(step)

    h = adv.adversarial_distill(student, teacher, gen, game="zskt", iterations=4, batch_size=16, s_steps=2,
                                eval_every=2, snapshot_n=5, on_snapshot=cb, seed=0, device=CPU, progress=False)
    assert seen == [0, 2, 4] == [it for it, _ in h.snapshots]
    pts = h.snapshots[-1][1]
    assert pts.shape == (5, 2) and pts.abs().max() <= 1.5


def test_zskt_trains_the_student_on_one_batch_per_outer_step():
    """ZSKT's student steps reuse the images and the teacher's logits of the outer step (they cannot change)."""
    teacher, student = lenets()
    gen = models.ZSKTGenerator((1, 32, 32), nz=8, width=8)
    calls = []
    handle = teacher.register_forward_hook(lambda m, i, o: calls.append(len(o)))
    try:
        adv.adversarial_distill(student, teacher, gen, game="zskt", iterations=2, batch_size=4, s_steps=3,
                                eval_every=2, seed=0, device=CPU, progress=False)
    finally:
        handle.remove()
    # per outer step: one forward in the generator's step, one for the student's three steps (+ the size probe)
    assert calls == [2, 4, 4, 4, 4]
