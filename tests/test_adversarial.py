import pytest
import torch

from dfkd_book import distill, methods, models
from dfkd_book.methods import adversarial as adv

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


def game(name, generator, **kw):
    return (methods.ZSKT if name == "zskt" else methods.DFAD)(generator, **kw)


def test_attention_map_is_normalised_and_layers_are_checked():
    a = adv.attention_map(torch.randn(3, 6, 14, 14))
    assert a.shape == (3, 196) and torch.allclose(a.norm(dim=1), torch.ones(3))
    teacher, student = lenets()
    gen = models.ZSKTGenerator((1, 32, 32), nz=8)
    with pytest.raises(ValueError, match="no layer"):
        distill(teacher, student, methods.ZSKT(gen, attention_layers=[("nope", "features.relu1")]), steps=1,
                device=CPU, progress=False)
    with pytest.raises(ValueError, match="different spatial sizes"):
        distill(teacher, student, methods.ZSKT(gen, attention_layers=[("features.relu1", "features.relu2")]),
                steps=1, device=CPU, progress=False)
    assert not student._forward_hooks  # the failed preparation took its hooks off


def test_generator_must_fit_the_teacher():
    teacher, student = lenets()
    with pytest.raises(ValueError, match=r"generator makes inputs of shape \(1, 28, 28\).*teacher reads"):
        distill(teacher, student, methods.DFAD(models.DFADGenerator((1, 28, 28), nz=8)), steps=1, device=CPU,
                progress=False)
    with pytest.raises(ValueError, match="same number of classes"):
        distill(teacher, models.LeNet5Half(1, 5), methods.DFAD(models.DFADGenerator((1, 32, 32), nz=8)), steps=1,
                device=CPU, progress=False)
    with pytest.raises(ValueError, match="unknown game"):
        adv.AdversarialGame("gan", models.DFADGenerator((1, 32, 32), nz=8))


@pytest.mark.parametrize("name", adv.GAMES)
def test_a_short_game_trains_both_players(name):
    teacher, student = lenets()
    gen = models.GENERATORS[name]((1, 32, 32), nz=8, width=16)
    s0 = [p.detach().clone() for p in student.parameters()]
    g0 = [p.detach().clone() for p in gen.parameters()]
    t0 = [p.detach().clone() for p in teacher.parameters()]
    x = torch.rand(20, 1, 32, 32)
    y = torch.randint(0, 10, (20,))
    layers = [("features.relu1", "features.relu1")] if name == "zskt" else ()
    method = game(name, gen, s_steps=2, attention_layers=layers, snapshot_every=2, snapshot_n=3)
    r = distill(teacher, student, method, steps=8, batch_size=8, eval_set=(x, y), eval_every=4, seed=0,
                device=CPU, progress=False)
    h = r.history
    assert h.step == [4, 8] and len(h.test_acc) == 2 and all(0 <= a <= 1 for a in h.test_acc)
    # outer steps 0 and 2 of 4 (snapshot_every=2), then the end: in student steps
    assert [s for s, _ in r.method.snapshots] == [0, 4, 8] and r.method.snapshots[0][1].shape == (3, 1, 32, 32)
    lg = h.logs["loss_generator"]
    assert len(lg) == 2 and all(v < 0 for v in lg)  # minus a discrepancy > 0
    assert r.method.generator is gen
    assert any(not torch.equal(a, b) for a, b in zip(s0, student.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(g0, gen.parameters()))
    assert all(torch.equal(a, b) for a, b in zip(t0, teacher.parameters()))  # the teacher is frozen
    shared = r.method.ctx.teacher  # the frozen copy the loop and the method shared
    assert shared is not teacher and not teacher.features.relu1._forward_hooks
    assert not student._forward_hooks and not shared.features.relu1._forward_hooks  # hooks removed
    assert not shared._forward_pre_hooks  # the query counter too
    assert r.teacher_queries["backward"] > 0 and h.teacher_backward[-1] == r.teacher_queries["backward"]


def test_the_toy_game_runs_on_points_and_calls_back_at_every_snapshot():
    """The 2-D game of chapter 4 uses the same loop; on_snapshot sees the step and both players."""
    torch.manual_seed(0)
    teacher, student = models.MLP(2, (16,), 2), models.MLP(2, (4,), 2)
    gen = models.PointGenerator(nz=4, box=1.5)
    seen = []

    def cb(step, s, g):
        assert s is student and g is gen and not s.training and not torch.is_grad_enabled()
        seen.append(step)

    r = distill(teacher, student, methods.ZSKT(gen, s_steps=2, snapshot_every=2, snapshot_n=5, on_snapshot=cb),
                steps=8, batch_size=16, eval_every=4, seed=0, device=CPU, progress=False)
    assert seen == [0, 4, 8] == [s for s, _ in r.method.snapshots]
    pts = r.method.snapshots[-1][1]
    assert pts.shape == (5, 2) and pts.abs().max() <= 1.5
    with pytest.raises(ValueError, match="images"):  # the default generator is convolutional
        distill(teacher, models.MLP(2, (4,), 2), methods.ZSKT(), steps=2, device=CPU, progress=False)


def test_zskt_trains_the_student_on_one_batch_per_outer_step():
    """ZSKT's student steps reuse the images and the teacher's logits of the outer step (they cannot change)."""
    teacher, student = lenets()
    gen = models.ZSKTGenerator((1, 32, 32), nz=8, width=8)
    r = distill(teacher, student, methods.ZSKT(gen, s_steps=3), steps=6, batch_size=4, eval_every=6, seed=0,
                device=CPU, progress=False)
    # per outer step: one forward (with an input gradient) in the generator's step, one for the student's three
    # steps; 2 outer steps of a batch of 4
    assert r.teacher_queries == {"forward": 2 * 2 * 4, "backward": 2 * 4}
    assert r.history.synthetic == [2 * 2 * 4]


def test_dfad_draws_a_fresh_batch_for_every_student_step():
    teacher, student = lenets()
    gen = models.DFADGenerator((1, 32, 32), nz=8, width=8)
    r = distill(teacher, student, methods.DFAD(gen, s_steps=3), steps=6, batch_size=4, eval_every=6, seed=0,
                device=CPU, progress=False)
    # six student batches labelled by the teacher, and one generator step (after the first outer step)
    assert r.teacher_queries == {"forward": 6 * 4 + 4, "backward": 4}


def test_dfad_with_reuse_trains_on_one_batch_per_outer_step():
    """reuse=True: DFAD's s_steps student steps share one generated batch and the teacher's logits on it."""
    teacher, student = lenets()
    gen = models.DFADGenerator((1, 32, 32), nz=8, width=8)
    game_ = methods.DFAD(gen, s_steps=3, reuse=True)
    seen = []
    orig = game_.batch
    game_.batch = lambda b: seen.append(orig(b)) or seen[-1]
    r = distill(teacher, student, game_, steps=6, batch_size=4, eval_every=6, seed=0, device=CPU, progress=False)
    # two student batches labelled by the teacher (one per outer step), and one generator step
    assert r.teacher_queries == {"forward": 2 * 4 + 4, "backward": 4}
    assert [b.x is seen[0].x for b in seen] == [True] * 3 + [False] * 3
    assert seen[3].x is seen[5].x and seen[0].teacher_logits is not None
    assert game_.settings()["reuse"] is True and "reuse" not in methods.DFAD(gen).settings()
    with pytest.raises(ValueError, match="dfad"):
        methods.ZSKT(reuse=True)
    with pytest.raises(ValueError, match="True or False"):
        methods.DFAD(reuse=1)


@pytest.mark.parametrize("name", ["zskt", "dfad"])
def test_the_students_images_come_from_the_generator_in_train_mode(name):
    """As in the official codes: the student trains on G's images with G's BatchNorm on batch statistics (the
    images G was optimised on), not on its running statistics; only snapshots use eval mode."""
    teacher, student = lenets()
    gen = (models.ZSKTGenerator if name == "zskt" else models.DFADGenerator)((1, 32, 32), nz=8, width=8)
    modes = []
    gen.register_forward_hook(lambda module, inputs, output: modes.append((module.training,
                                                                           torch.is_grad_enabled())))
    distill(teacher, student, game(name, gen, s_steps=2, snapshot_every=100), steps=4, batch_size=4, eval_every=4,
            seed=0, device=CPU, progress=False)
    # without gradient and in eval mode: the probe, and the snapshots at the start and the end; everything else in
    # train mode, with (the generator's steps) or without (the student's images) gradient
    assert sum(not training for training, _ in modes) == 3
    assert any(training and not grad for training, grad in modes)


@pytest.mark.parametrize("cls", [models.ZSKTGenerator, models.DFADGenerator])
def test_init_mean_starts_the_generator_dark_instead_of_grey(cls):
    """The untrained generator's images centre on ``init_mean`` (the official start is mid-grey, 0.5)."""
    torch.manual_seed(0)
    z = torch.randn(64, 8)
    grey = cls((1, 32, 32), nz=8, width=8)(z).mean().item()
    torch.manual_seed(0)
    dark = cls((1, 32, 32), nz=8, width=8, init_mean=0.2)(z).mean().item()
    assert abs(grey - 0.5) < 0.1 and abs(dark - 0.2) < 0.05, (grey, dark)
    with pytest.raises(ValueError, match=r"init_mean must be a pixel value in \(0, 1\) or None, got 1.5"):
        cls((1, 32, 32), nz=8, width=8, init_mean=1.5)


def test_init_mean_reaches_the_games_default_generator_and_its_settings():
    teacher, student = lenets()
    game_ = methods.DFAD(init_mean=0.25, width=8, nz=8)
    distill(teacher, student, game_, steps=2, batch_size=4, eval_every=2, seed=0, device=CPU, progress=False)
    assert game_.settings()["init_mean"] == 0.25
    assert "init_mean" not in methods.DFAD(width=8).settings()  # the records of the official start are unchanged


def test_depth_reaches_the_games_default_generator_and_its_settings():
    teacher, student = lenets()
    game_ = methods.ZSKT(depth=1, width=8, nz=8)
    distill(teacher, student, game_, steps=2, batch_size=4, eval_every=2, seed=0, device=CPU, progress=False)
    assert game_.generator.depth == 1 and game_.settings()["depth"] == 1
    assert "depth" not in methods.ZSKT(width=8).settings()  # the records of the official depth are unchanged
    with pytest.raises(ValueError, match="depth must be a positive int"):
        methods.DFAD(depth=1.5)


@pytest.mark.parametrize("cls", [models.ZSKTGenerator, models.DFADGenerator])
def test_pixel_stats_give_the_official_unsquashed_output_in_the_teachers_space(cls):
    """With the teacher's normalisation (mean, sd), a fresh generator's batch has that mean and sd (its last BN
    standardises, as officially) and is not squashed into [0, 1]."""
    torch.manual_seed(0)
    g = cls((1, 32, 32), nz=8, width=8, pixel_stats=(0.3, 0.4))
    x = g(torch.randn(256, 8))  # train mode: BN on the batch's statistics
    assert x.mean().item() == pytest.approx(0.3, abs=1e-3) and x.std().item() == pytest.approx(0.4, abs=1e-2)
    assert x.min().item() < 0 or x.max().item() > 1
    with pytest.raises(ValueError, match="pixel_stats must be"):
        cls((1, 32, 32), nz=8, width=8, pixel_stats=(0.3, -1.0))
    with pytest.raises(ValueError, match="not both"):
        cls((1, 32, 32), nz=8, width=8, pixel_stats=(0.3, 0.4), init_mean=0.2)


def test_class_imbalance_is_zero_when_balanced_and_log_k_when_collapsed():
    k = 10
    spread = torch.eye(k) * 50  # every class once, confidently
    collapsed = torch.zeros(k, k)
    collapsed[:, 3] = 50.0  # every sample the same class
    assert adv.class_imbalance(spread).item() == pytest.approx(0.0, abs=1e-6)
    assert adv.class_imbalance(collapsed).item() == pytest.approx(torch.log(torch.tensor(k * 1.0)).item(), abs=1e-5)


def test_balance_adds_the_weighted_class_imbalance_to_the_generators_loss():
    teacher, student = lenets()
    x = torch.rand(8, 1, 32, 32)
    plain = adv.generator_loss(teacher, student, x, "dfad")
    with torch.no_grad():
        imb = adv.class_imbalance(teacher(x))
    assert imb.item() > 0
    assert adv.generator_loss(teacher, student, x, "dfad", balance=2.0).item() == pytest.approx(
        plain.item() + 2.0 * imb.item(), rel=1e-5)
    game_ = methods.DFAD(balance=5.0, width=8, nz=8)
    distill(teacher, student, game_, steps=2, batch_size=4, eval_every=2, seed=0, device=CPU, progress=False)
    assert game_.settings()["balance"] == 5.0 and "balance" not in methods.DFAD(width=8).settings()
    with pytest.raises(ValueError, match="balance must be a weight >= 0"):
        methods.DFAD(balance=-1.0)
