"""Issue 46's options of the one student loop: weight averaging (EMA, SWA) with BN statistics recomputed, data-free
selection on a held-out slice of the transfer set, and the papers' best-test-epoch number beside them."""

import pytest
import torch
from test_loop import CPU, Linear  # the loop tests' seeded linear classifier
from torch import nn

from dfkd_book import distill, kd, methods, models
from dfkd_book.averaging import BN_BATCHES, WeightAverage, has_batchnorm
from dfkd_book.history import History
from dfkd_book.loop import History as LoopHistory
from dfkd_book.methods.base import Batch, Method
from dfkd_book.selection import HoldOut


class BNNet(nn.Module):
    """BatchNorm straight on the inputs, then a linear layer: the BN's running mean is the inputs' mean."""

    def __init__(self, d=6, k=3, seed=1):
        super().__init__()
        torch.manual_seed(seed)
        self.bn, self.fc = nn.BatchNorm1d(d), nn.Linear(d, k)

    def forward(self, x):
        return self.fc(self.bn(x))


class Watched(methods.TransferSet):
    """A transfer set that keeps, after every step, the student's weights and the batch it was given."""

    def prepare(self, ctx, student):
        super().prepare(ctx, student)
        self.student, self.iterates, self.batches = student, [], []

    def feedback(self, batch, losses):
        self.iterates.append([p.detach().clone() for p in self.student.parameters()])
        self.batches.append(batch)


# ------------------------------------------------------------------------------------------------- averaging
def test_ema_is_the_exponential_average_of_the_iterates():
    m = Watched(torch.randn(64, 4))
    r = distill(Linear(4, 3, 0), Linear(4, 3, 1), m, steps=7, batch_size=16, lr=0.1, average="ema", ema_decay=0.6,
                device=CPU, progress=False)
    ema = m.iterates[0]
    for w in m.iterates[1:]:
        ema = [0.6 * a + 0.4 * b for a, b in zip(ema, w)]
    assert all(torch.allclose(p, e, atol=1e-6) for p, e in zip(r.student.parameters(), ema))
    assert not torch.allclose(next(r.student.parameters()), m.iterates[-1][0])  # not the last iterate


def test_swa_is_the_mean_of_the_iterates_from_its_start():
    m = Watched(torch.randn(64, 4))
    r = distill(Linear(4, 3, 0), Linear(4, 3, 1), m, steps=10, batch_size=16, lr=0.1, average="swa", swa_start=0.6,
                eval_every=2, device=CPU, progress=False)
    tail = m.iterates[6:]  # the iterates after optimiser steps 7..10
    mean = [torch.stack(ws).mean(0) for ws in zip(*tail)]
    assert all(torch.allclose(p, e, atol=1e-6) for p, e in zip(r.student.parameters(), mean))


def test_averaging_leaves_the_run_alone_and_the_history_evaluates_the_average():
    x, ev = torch.randn(96, 4), (torch.randn(40, 4), torch.randint(0, 3, (40,)))
    kw = dict(steps=12, batch_size=16, lr=0.1, eval_every=4, eval_set=ev, device=CPU, progress=False, seed=2)
    plain = distill(Linear(4, 3, 0), Linear(4, 3, 1), x, **kw)
    avg = distill(Linear(4, 3, 0), Linear(4, 3, 1), x, average="ema", ema_decay=0.9, **kw)
    assert avg.history.loss == plain.history.loss  # the same training run: no extra random draws
    assert avg.history.final_acc == kd.evaluate(avg.student, ev)  # the history's last number is the average's
    assert avg.student is not None and not avg.student.training


def test_bn_student_gets_its_statistics_recomputed_on_recent_training_batches():
    m = Watched(torch.randn(200, 6) * 3 + 5)
    student = BNNet()
    assert has_batchnorm(student) and not has_batchnorm(models.LeNet5Half())
    r = distill(BNNet(seed=0), student, m, steps=14, batch_size=20, lr=0.05, average="ema", ema_decay=0.9,
                device=CPU, progress=False)
    bn = r.student.bn
    last = [b.x for b in m.batches[-BN_BATCHES:]]
    assert int(bn.num_batches_tracked) == BN_BATCHES  # recomputed from scratch (momentum None) on the kept batches
    assert torch.allclose(bn.running_mean, torch.stack([b.mean(0) for b in last]).mean(0), atol=1e-5)


def test_averaging_a_student_without_bn_lenet5_half(fmnist_test):
    x = fmnist_test.images[:64]
    teacher = models.LeNet5Half()
    r = distill(teacher, models.LeNet5Half(), x, steps=4, batch_size=16, average="swa", swa_start=0.5,
                eval_every=2, eval_set=(x, fmnist_test.labels[:64]), device=CPU, progress=False)
    assert r.history.step == [2, 4] and r.history.final_acc == kd.evaluate(r.student, (x, fmnist_test.labels[:64]))


def test_weight_average_refuses_bad_settings():
    s = Linear(4, 3, 0)
    for kind, kw in (("mean", {}), ("ema", dict(decay=1.0)), ("ema", dict(decay=0.0)), ("swa", dict(start=1.0)),
                     ("swa", dict(start=-0.1))):
        with pytest.raises(ValueError):
            WeightAverage(s, kind, 10, **kw)
    with pytest.raises(ValueError, match="average must be"):
        distill(Linear(4, 3, 0), s, torch.randn(8, 4), steps=2, average="polyak", device=CPU, progress=False)
    w = WeightAverage(s, "swa", 10, start=0.5)
    assert w.current() is s and w.count == 0  # before SWA starts the student itself is evaluated


# ------------------------------------------------------------------------------------------------- selection
def test_selection_trains_on_the_kept_part_only_and_returns_the_best_evaluation():
    x = torch.randn(50, 4)
    m = Watched(x)
    teacher = Linear(4, 3, 0)
    r = distill(teacher, Linear(4, 3, 1), m, steps=20, batch_size=8, lr=0.05, eval_every=2, select="agreement",
                holdout=0.2, device=CPU, progress=False, seed=4)
    keep = m.sampler.keep
    held = torch.tensor(sorted(set(range(50)) - set(keep.tolist())))
    assert len(held) == 10 and len(keep) == 40
    seen = torch.cat([b.index for b in m.batches]).unique()
    assert set(seen.tolist()) <= set(keep.tolist())  # the held-out slice is never trained on
    h = r.history
    assert len(h.holdout_agreement) == len(h.step) == 10 and len(h.holdout_kl) == 10
    best = max(h.holdout_agreement)
    last_best = max(i for i, a in enumerate(h.holdout_agreement) if a == best)  # ties go to the later evaluation
    assert h.selected_step == h.step[last_best]
    assert kd.agreement(r.student, teacher, x[held]) == pytest.approx(best)
    assert r.pool.shape == (50, 4)  # the method keeps its whole set


def test_selection_reads_no_evaluation_labels_and_final_acc_is_the_selected_students():
    x, ev_x = torch.randn(60, 4), torch.randn(30, 4)
    y = torch.randint(0, 3, (30,))
    kw = dict(steps=16, batch_size=8, lr=0.05, eval_every=2, select="kl", holdout=0.25, device=CPU, progress=False,
              seed=1)
    a = distill(Linear(4, 3, 0), Linear(4, 3, 1), x, eval_set=(ev_x, y), **kw)
    b = distill(Linear(4, 3, 0), Linear(4, 3, 1), x, eval_set=(ev_x, y.roll(1)), **kw)
    c = distill(Linear(4, 3, 0), Linear(4, 3, 1), x, **kw)
    assert a.history.selected_step == b.history.selected_step == c.history.selected_step
    assert all(torch.equal(p, q) for p, q in zip(a.student.parameters(), c.student.parameters()))
    kl = a.history.holdout_kl
    assert a.history.selected_step == a.history.step[max(i for i, v in enumerate(kl) if v == min(kl))]
    assert a.history.final_acc == kd.evaluate(a.student, (ev_x, y))


def test_selection_with_averaging_chooses_among_the_averages():
    x = torch.randn(60, 4)
    r = distill(Linear(4, 3, 0), Linear(4, 3, 1), x, steps=12, batch_size=8, lr=0.05, eval_every=3, average="ema",
                ema_decay=0.8, select="agreement", device=CPU, progress=False)
    assert r.history.selected_step in r.history.step and len(r.history.holdout_agreement) == 4


def test_selection_tie_goes_to_the_later_evaluation():
    held = HoldOut(methods.TransferSet(torch.randn(10, 4)), 0.2, "agreement")
    hist, student = History(), Linear(4, 3, 0)
    for step, agree in ((1, 0.5), (2, 0.9), (3, 0.7), (4, 0.9)):
        held.measure = lambda s, a=agree: (a, 0.0)
        hist.step.append(step)
        held.observe(hist, student)
    held.restore(student, hist)
    assert hist.selected_step == 4 and hist.holdout_agreement == [0.5, 0.9, 0.7, 0.9]


class Game(Method):
    name = "game"

    def batch(self, batch_size):
        return Batch(torch.randn(batch_size, 4))


def test_selection_refuses_methods_without_a_static_set_and_bad_settings():
    with pytest.raises(ValueError, match="static transfer set"):
        distill(Linear(4, 3, 0), Linear(4, 3, 1), Game(), steps=2, select="agreement", device=CPU, progress=False)
    for kw in (dict(select="best"), dict(select="kl", holdout=0.0), dict(select="kl", holdout=1.0)):
        with pytest.raises(ValueError):
            distill(Linear(4, 3, 0), Linear(4, 3, 1), torch.randn(8, 4), steps=2, device=CPU, progress=False, **kw)
    with pytest.raises(ValueError, match="held out and one kept"):
        distill(Linear(4, 3, 0), Linear(4, 3, 1), torch.randn(2, 4), steps=2, select="kl", holdout=0.1,
                device=CPU, progress=False)


# ------------------------------------------------------------------------------------- the papers' selection
def test_best_test_acc_is_the_papers_rule_shown_beside_the_final_student():
    assert LoopHistory is History
    h = History(step=[1, 2, 3], test_acc=[0.1, 0.3, 0.2])
    assert h.best_test_acc == 0.3 and h.final_acc == 0.2
    h.selected_step = 2
    assert h.final_acc == 0.3
    assert History().best_test_acc is None and History(test_acc=[None, None]).best_test_acc is None


def test_best_restart_reads_only_the_held_out_scores():
    from dfkd_book.selection import best_restart

    runs = [{"seed": 0, "holdout_agreement": [50.0, 61.0], "holdout_kl": [0.9, 0.4], "val_acc": 70.0},
            {"seed": 1, "holdout_agreement": [64.0, 60.0], "holdout_kl": [0.5, 0.6], "val_acc": 60.0},
            {"seed": 2, "holdout_agreement": [64.0, 55.0], "holdout_kl": [0.3, 0.7], "val_acc": 80.0}]
    assert best_restart(runs)["seed"] == 1  # the best selected agreement; the tie with seed 2 goes to the earlier
    assert best_restart(runs, "holdout_kl")["seed"] == 2
    with pytest.raises(ValueError, match="score must be"):
        best_restart(runs, "val_acc")
    with pytest.raises(ValueError, match="2 runs, 1 without it"):
        best_restart([runs[0], {"seed": 3, "holdout_agreement": []}])


class Counted(methods.TransferSet):
    """A given transfer set that counts how often it is made."""

    made = 0

    def make(self):
        self.made += 1
        return super().make()


def test_best_of_makes_the_set_once_and_keeps_the_restart_the_teacher_agrees_with_most():
    from dfkd_book import config
    from dfkd_book.restarts import best_of

    x, teacher = torch.randn(60, 4), Linear(4, 3, 0)
    kw = dict(steps=12, batch_size=8, lr=0.05, eval_every=3, device=CPU, progress=False)
    m = Counted(x)
    b = best_of(teacher, lambda: nn.Linear(4, 3), m, 3, seed=2, **kw)
    assert m.made == 1 and b.seeds == [6, 7, 8] and len(b.results) == 3
    assert b.scores == [max(r.history.holdout_agreement) for r in b.results]
    assert b.kept == max(range(3), key=lambda i: (b.scores[i], -i))  # ties go to the earlier restart
    assert b.student is b.results[b.kept].student and b.history is b.results[b.kept].history and b.method is m
    assert b.steps == 36 and b.seconds == pytest.approx(sum(r.history.seconds for r in b.results))
    assert b.teacher_queries["forward"] >= sum(r.teacher_queries["forward"] for r in b.results) > 0
    # restart k is the plain selected run of its seed: the same student, step for step
    config.seed_everything(7)
    alone = distill(teacher, nn.Linear(4, 3), x, seed=7, select="agreement", holdout=0.2, **kw)
    assert all(torch.equal(p, q) for p, q in zip(alone.student.parameters(), b.results[1].student.parameters()))
    assert alone.history.holdout_agreement == b.results[1].history.holdout_agreement
    # the choice reads no label: other evaluation labels keep the same restart
    ev_x, y = torch.randn(30, 4), torch.randint(0, 3, (30,))
    kept = {best_of(teacher, lambda: nn.Linear(4, 3), Counted(x), 3, seed=2, eval_set=(ev_x, lab), **kw).kept
            for lab in (y, y.roll(1))}
    assert kept == {b.kept}


def test_best_of_refuses_bad_restarts_and_methods_without_a_static_set():
    from dfkd_book.restarts import best_of

    x, teacher = torch.randn(20, 4), Linear(4, 3, 0)
    for bad in (0, 2.0, True):
        with pytest.raises(ValueError, match="restarts must be a positive int"):
            best_of(teacher, lambda: nn.Linear(4, 3), methods.TransferSet(x), bad, steps=2, device=CPU)
    with pytest.raises(ValueError, match="select must be one of"):
        best_of(teacher, lambda: nn.Linear(4, 3), methods.TransferSet(x), 2, select="test", steps=2, device=CPU)
    with pytest.raises(TypeError, match="static method"):
        best_of(teacher, lambda: nn.Linear(4, 3), methods.DFAD(), 2, steps=2, device=CPU)


# ------------------------------------------------------------------------------ selection on fresh samples
def _tiny_run(method, select=None, **kw):
    from test_blackbox import student as tiny_student
    from test_blackbox import teacher as tiny_teacher

    return distill(kw.pop("teacher", None) or tiny_teacher(), tiny_student(), method, steps=20, batch_size=8,
                   lr=0.05, eval_every=5, device=CPU, progress=False, seed=3, select=select, **kw)


@pytest.mark.parametrize("make", [lambda: methods.DFAD(width=8, nz=8), lambda: methods.ZSKT(width=8, nz=8),
                                  lambda: methods.DFME(width=8, nz=8)], ids=["dfad", "zskt", "dfme"])
def test_fresh_selection_leaves_the_run_as_it_was_and_keeps_the_best_agreeing_student(make):
    """A method that makes its data while the student trains is selected on fresh samples of its generator:
    drawing them changes neither the generator nor the student's steps, and costs teacher queries of its own."""
    from test_blackbox import teacher as tiny_teacher

    from dfkd_book.blackbox import TeacherAPI
    from dfkd_book.selection import Fresh

    def teacher():
        return TeacherAPI(tiny_teacher(), "probs", device=CPU) if isinstance(make(), methods.DFME) else None

    plain, chosen = make(), make()
    a = _tiny_run(plain, teacher=teacher())
    b = _tiny_run(chosen, "agreement", teacher=teacher())
    ga, gb = plain.generator.state_dict(), chosen.generator.state_dict()
    assert all(torch.equal(ga[k], gb[k]) for k in ga)  # the same game, step for step
    h = b.history
    assert len(h.holdout_agreement) == len(h.step) == len(a.history.step)
    best = max(h.holdout_agreement)
    assert h.selected_step == h.step[max(i for i, v in enumerate(h.holdout_agreement) if v == best)]
    extra = b.teacher_queries["forward"] - a.teacher_queries["forward"]
    assert extra == 1_024 * len(h.step)  # the fresh samples' answers, at every evaluation
    assert b.teacher_queries["backward"] == a.teacher_queries["backward"]
    if h.selected_step == h.step[-1]:
        assert all(torch.equal(p, q) for p, q in zip(a.student.parameters(), b.student.parameters()))
    assert "Fresh" in repr(Fresh(chosen))


def test_fresh_samples_come_from_their_own_generator_and_methods_without_them_are_refused():
    from test_blackbox import student as tiny_student
    from test_blackbox import teacher as tiny_teacher

    from dfkd_book.methods.base import left_as_is
    from dfkd_book.selection import Fresh, can_make_fresh

    m = methods.DFAD(width=8, nz=8)
    _tiny_run(m)
    rng = torch.get_rng_state()
    x1, x2 = (m.fresh(6, torch.Generator().manual_seed(1)) for _ in range(2))
    assert torch.equal(x1, x2) and x1.shape == (6, 1, 8, 8)  # the same codes give the same samples
    assert torch.equal(rng, torch.get_rng_state())  # the run's random stream untouched
    assert not m.generator.training  # as the game left it (eval after its last step)
    before = {k: v.clone() for k, v in m.generator.named_buffers()}
    with left_as_is(m.generator) as g:
        g.train()(torch.randn(4, 8))
        assert g.training and any(not torch.equal(before[k], v) for k, v in g.named_buffers())  # BN moved ...
    assert not m.generator.training  # ... and is back, with its mode
    assert all(torch.equal(before[k], v) for k, v in m.generator.named_buffers())
    assert can_make_fresh(m) and not can_make_fresh(methods.TransferSet(torch.rand(4, 1, 8, 8)))
    for bad in (0, 1.5):
        with pytest.raises(ValueError, match="positive number of samples"):
            Fresh(m, n=bad)
    ideal = methods.get("ideal", rounds=2, batch=8, g_steps=1, nz=8, width=8)
    with pytest.raises(ValueError, match="static transfer set"):
        distill(tiny_teacher(), tiny_student(), ideal, steps=3, batch_size=4, select="agreement", device=CPU,
                progress=False)


# ------------------------------------------------------------------------------- selection beside the set
def test_selection_beside_the_set_trains_on_all_of_it_and_selects_on_the_given_inputs():
    from dfkd_book.selection import Beside, selector

    x, beside = torch.randn(50, 4), torch.randn(12, 4)
    m = Watched(x)
    teacher = Linear(4, 3, 0)
    r = distill(teacher, Linear(4, 3, 1), m, steps=20, batch_size=8, lr=0.05, eval_every=2, select="agreement",
                holdout=beside, device=CPU, progress=False, seed=4)
    seen = torch.cat([b.index for b in m.batches]).unique()
    assert len(seen) == 50  # nothing held out of the set: every sample is trained on
    h = r.history
    assert len(h.holdout_agreement) == len(h.step) == 10
    best = max(h.holdout_agreement)
    assert h.selected_step == h.step[max(i for i, a in enumerate(h.holdout_agreement) if a == best)]
    assert kd.agreement(r.student, teacher, beside) == pytest.approx(best)
    # the teacher answered the inputs beside once, and they count as queries
    plain = distill(teacher, Linear(4, 3, 1), Watched(x), steps=20, batch_size=8, lr=0.05, eval_every=2,
                    device=CPU, progress=False, seed=4)
    assert r.teacher_queries["forward"] == plain.teacher_queries["forward"] + 12
    assert isinstance(selector(m, beside), Beside)


@pytest.mark.parametrize("bad", [torch.randn(0, 4), torch.tensor([1.0, 2.0]), torch.full((3, 4), float("nan"))])
def test_selection_beside_refuses_what_is_not_a_batch_of_finite_inputs(bad):
    with pytest.raises(ValueError, match="beside the set needs a tensor"):
        distill(Linear(4, 3, 0), Linear(4, 3, 1), torch.randn(20, 4), steps=2, select="agreement",
                holdout=bad, device=CPU, progress=False)


def test_best_of_beside_the_set_scores_every_restart_on_the_same_inputs():
    from dfkd_book.restarts import best_of

    x, beside, teacher = torch.randn(60, 4), torch.randn(16, 4), Linear(4, 3, 0)
    kw = dict(steps=12, batch_size=8, lr=0.05, eval_every=3, device=CPU, progress=False)
    b = best_of(teacher, lambda: nn.Linear(4, 3), Counted(x), 3, seed=1, holdout=beside, **kw)
    assert b.scores == [max(r.history.holdout_agreement) for r in b.results]
    assert b.kept == max(range(3), key=lambda i: (b.scores[i], -i))
    # each kept student's score is its agreement with the teacher on the shared inputs
    assert kd.agreement(b.student, teacher, beside) == pytest.approx(b.scores[b.kept])


def test_best_of_final_students_scored_beside_the_set_keeps_the_best_agreeing_final_student():
    from dfkd_book.blackbox import TeacherAPI
    from dfkd_book.restarts import best_of

    x, beside, teacher = torch.randn(60, 4), torch.randn(16, 4), Linear(4, 3, 0)
    kw = dict(steps=12, batch_size=8, lr=0.05, eval_every=3, device=CPU, progress=False)
    m = Counted(x)
    b = best_of(teacher, lambda: nn.Linear(4, 3), m, 3, seed=1, holdout=beside, checkpoints=False, **kw)
    assert b.scores == [pytest.approx(kd.agreement(r.student, teacher, beside)) for r in b.results]
    assert b.kept == max(range(3), key=lambda i: (b.scores[i], -i))
    assert all(r.history.selected_step is None for r in b.results)  # final students: no checkpoint chosen
    # the teacher answered the inputs beside once, the set's making and each restart's batches: all counted
    made = m.queries["forward"]
    assert b.teacher_queries["forward"] == made + 16 + sum(r.teacher_queries["forward"] for r in b.results) > 16
    # the same through an API that answers labels; KL on the one-hot answers picks the lowest
    api = TeacherAPI(teacher, "label", device=CPU)
    k = best_of(api, lambda: nn.Linear(4, 3), Counted(x), 2, seed=1, holdout=beside, checkpoints=False,
                select="kl", **kw)
    assert k.kept == min(range(2), key=lambda i: (k.scores[i], i))
    with pytest.raises(ValueError, match="holdout must be a tensor"):
        best_of(teacher, lambda: nn.Linear(4, 3), Counted(x), 2, holdout=0.2, checkpoints=False, **kw)


def test_kept_final_students_replays_the_choice_of_best_of_from_records():
    from dfkd_book.restarts import kept_final_students

    def run(seed, agree, val):
        return {"seed": seed, "holdout_agreement": [10.0, agree], "curve": {"val_acc": [1.0, val]}}

    runs = [run(3, 50, 70), run(0, 52, 60), run(1, 55, 80), run(2, 51, 90), run(4, 50, 75), run(5, 49, 65),
            run(6, 60, 99)]
    groups = kept_final_students(runs)  # seeds 0-2 and 3-5; seed 6 makes no whole group
    assert [g["seeds"] for g in groups] == [[0, 1, 2], [3, 4, 5]]
    assert [g["kept"] for g in groups] == [80, 70]  # ties (50, 50) go to the earlier seed
    assert groups[0]["at_random"] == pytest.approx(230 / 3) and groups[0]["by_labels"] == 90
    with pytest.raises(ValueError, match="at least one group"):
        kept_final_students(runs[:2])


def test_kept_selected_replays_the_held_out_choice_and_keeps_the_selected_student():
    from dfkd_book.restarts import kept_selected

    def run(seed, agree, selected, final):  # agreement per evaluation; the selected student's val %, the final's
        return {"seed": seed, "holdout_agreement": agree, "val_acc": selected, "curve": {"val_acc": [1.0, final]}}

    runs = [run(2, [40, 45], 72, 71), run(0, [50, 41], 80, 60), run(1, [30, 49], 85, 90)]
    (g,) = kept_selected(runs)  # seed 0's best evaluation (50) beats seed 1's (49) and seed 2's (45)
    assert g["seeds"] == [0, 1, 2] and g["kept"] == 80 and g["by_labels"] == 90
    assert g["at_random"] == pytest.approx(221 / 3)
    with pytest.raises(ValueError, match="holdout_agreement"):
        kept_selected([run(0, [], 1, 1), *runs[1:]])


def test_runs_of_picks_one_recipe_lever_and_budget_in_seed_order():
    from dfkd_book.restarts import runs_of

    runs = [{"recipe": "a", "lever": "x", "budget": b, "seed": s} for b, s in ((5_000, 2), ("recipe", 1), (5_000, 0))]
    runs.append({"recipe": "b", "lever": "x", "budget": 5_000, "seed": 1})
    assert [r["seed"] for r in runs_of(runs, "a", "x", 5_000)] == [0, 2]
    assert [r["seed"] for r in runs_of(runs, "a", "x", "recipe")] == [1] and runs_of(runs, "a", "y", 5_000) == []
    with pytest.raises(KeyError):
        runs_of([{"recipe": "a"}], "a", "x", 5_000)
