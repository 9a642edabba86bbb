"""A teacher behind an API (dfkd_book.blackbox): what each access answers, that no module or gradient reaches a
method, that queries are counted per input, the defences (rounding, top-k, a cap), and that every method given
less access than it needs is refused by name."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dfkd_book import distill, methods
from dfkd_book.blackbox import ACCESS, FLOOR, QueryBudgetExhausted, TeacherAPI

pytestmark = pytest.mark.usefixtures("one_thread")


def teacher(k: int = 4) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(4 * 4 * 4, k)).eval()


def student(k: int = 4) -> nn.Module:
    torch.manual_seed(1)
    return nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(2 * 4 * 4, k))


def images(n: int = 16, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(seed))


CPU = torch.device("cpu")


def test_each_access_answers_what_it_says():
    t, x = teacher(), images()
    z = t(x).detach()
    assert torch.allclose(TeacherAPI(t, "logits", device=CPU)(x), z, atol=1e-5)
    p = TeacherAPI(t, "probs", device=CPU)(x)
    assert torch.allclose(p, F.softmax(z, 1), atol=1e-5) and torch.allclose(p.sum(1), torch.ones(len(x)))
    y = TeacherAPI(t, "label", device=CPU)(x)
    assert y.dtype == torch.int64 and y.shape == (len(x),) and torch.equal(y, z.argmax(1))


def test_the_defences_round_cut_and_cap():
    t, x = teacher(), images()
    p = F.softmax(t(x).detach(), 1)
    rounded = TeacherAPI(t, "probs", decimals=1, device=CPU)(x)
    assert torch.equal(rounded, p.round(decimals=1))
    top = TeacherAPI(t, "probs", top_k=2, device=CPU)(x)
    assert ((top > 0).sum(1) <= 2).all() and torch.equal(top.argmax(1), p.argmax(1))
    kept = top.gather(1, p.topk(2, 1).indices)
    assert torch.allclose(kept, p.topk(2, 1).values)
    capped = TeacherAPI(t, "label", max_queries=20, device=CPU)
    capped(x)
    with pytest.raises(QueryBudgetExhausted, match="at most 20 queries; 16 were answered and 16 more"):
        capped(x)
    assert capped.queries == 16  # the refused batch was neither answered nor counted


def test_no_module_and_no_gradient_reach_a_method():
    api = TeacherAPI(teacher(), "logits", device=CPU)
    seen = [*vars(api).values(), *vars(api.view()).values()]
    assert not any(isinstance(v, nn.Module) for v in seen)
    assert not isinstance(api.view(), nn.Module) and not hasattr(api.view(), "parameters")
    x = images().requires_grad_(True)
    for access in ACCESS:
        out = TeacherAPI(teacher(), access, device=CPU)(x)
        assert not out.requires_grad and out.grad_fn is None
    out = api.view()(x)
    assert not out.requires_grad
    with pytest.raises(RuntimeError):  # nothing to differentiate through: the API is a wall for gradients
        out.sum().backward()


def test_queries_are_the_inputs_passed():
    api = TeacherAPI(teacher(), "probs", device=CPU)
    for n in (1, 7, 16):
        api(images(n))
    assert api.queries == 24
    view = api.view()
    counter = view.counter()
    view(images(5))
    assert counter.as_dict() == {"forward": 5, "backward": 0} and api.queries == 29


def test_the_view_gives_logits_as_far_as_the_access_reveals_them():
    t, x = teacher(), images()
    z = t(x).detach()
    as_probs = TeacherAPI(t, "probs", device=CPU).view()(x)
    for tau in (1.0, 20.0):  # log p is z up to a constant per sample: the same softmax at every temperature
        assert torch.allclose(F.softmax(as_probs / tau, 1), F.softmax(z / tau, 1), atol=1e-5)
    as_label = TeacherAPI(t, "label", device=CPU).view()(x)
    assert torch.equal(as_label.argmax(1), z.argmax(1))
    assert torch.allclose(as_label.exp().max(1).values, torch.ones(len(x)))
    assert float(as_label.min()) == pytest.approx(torch.tensor(FLOOR).log().item())


@pytest.mark.parametrize("access", ACCESS)
def test_distill_on_a_transfer_set_counts_one_query_per_input(access):
    api = TeacherAPI(teacher(), access, device=CPU)
    x = images(40)
    r = distill(api, student(), methods.TransferSet(x), steps=3, batch_size=8, device=CPU, progress=False)
    assert r.teacher_queries == {"forward": 40, "backward": 0} and api.queries == 40  # the set is labelled once


def test_a_hard_label_api_trains_with_cross_entropy_to_the_label():
    api = TeacherAPI(teacher(), "label", device=CPU)
    m = methods.TransferSet(images(8))
    distill(api, student(), m, steps=1, batch_size=8, device=CPU, progress=False)
    s = torch.randn(8, 4)
    t_view = api.view()(images(8))
    expected = F.cross_entropy(s, t_view.argmax(1), reduction="none")
    assert torch.allclose(m.loss(None, s, t_view, 20.0), expected)


@pytest.mark.parametrize("name, kwargs", [("zskd", dict(n=8)), ("dfad", {}), ("zskt", {}),
                                          ("deepinversion", dict(n=8)), ("ssd-kd", {})])
@pytest.mark.parametrize("access", ACCESS)
def test_white_box_methods_refuse_an_api(name, kwargs, access):
    m = methods.get(name, **kwargs)
    with pytest.raises(ValueError, match=rf"needs white-box access .* an API that answers '{access}'"):
        distill(TeacherAPI(teacher(), access, device=CPU), student(), m, steps=2, batch_size=4, device=CPU,
                progress=False)


def test_bad_api_settings_and_queries():
    t = teacher()
    with pytest.raises(TypeError, match="teacher must be a torch.nn.Module"):
        TeacherAPI("lenet5")
    with pytest.raises(ValueError, match=r"access must be one of \('logits', 'probs', 'label'\), got 'grads'"):
        TeacherAPI(t, "grads")
    with pytest.raises(ValueError, match="top_k goes with access='probs'"):
        TeacherAPI(t, "label", top_k=2, device=CPU)
    with pytest.raises(ValueError, match=r"top_k .* in \[1, 4\]"):
        TeacherAPI(t, "probs", top_k=5, device=CPU)
    for what in ("decimals", "max_queries"):
        with pytest.raises(ValueError, match=f"{what} must be None or an int"):
            TeacherAPI(t, **{what: -1})
    api = TeacherAPI(t, device=CPU)
    with pytest.raises(ValueError, match=r"takes inputs \(B, \*\(1, 8, 8\)\), got \(2, 1, 4, 4\)"):
        api(torch.rand(2, 1, 4, 4))
    with pytest.raises(TypeError, match="float tensors"):
        api(torch.zeros(2, 1, 8, 8, dtype=torch.uint8))
    with pytest.raises(ValueError, match="NaN or infinite"):
        api(torch.full((2, 1, 8, 8), float("nan")))
    assert api.queries == 0
    with pytest.raises(TypeError, match="teacher must be a torch.nn.Module or a dfkd_book.blackbox.TeacherAPI"):
        distill(t.state_dict(), student(), methods.TransferSet(images()), steps=1, progress=False)


@pytest.mark.filterwarnings("ignore:balanced noise")
def test_an_arbitrary_balanced_set_needs_only_the_top1_class():
    """Nayak et al. (2021)'s balancing reads only the teacher's top-1 class: a hard-label API balances the set as
    the white-box teacher does, at one query per candidate examined."""
    t = teacher()
    white = methods.ArbitraryBalanced("noise", n=8)
    distill(t, student(), white, steps=1, batch_size=4, device=CPU, progress=False)
    api = TeacherAPI(t, "label", device=CPU)
    black = methods.ArbitraryBalanced("noise", n=8)
    r = distill(api, student(), black, steps=1, batch_size=4, device=CPU, progress=False)
    assert torch.equal(black.pool, white.pool) and torch.equal(black.classes, white.classes)
    b = black.balanced["noise"]
    assert r.teacher_queries["forward"] == api.queries == b.classified + len(black.pool)  # balancing, then labels


# --------------------------------------------------------------------------------------------- DFME and IDEAL
def test_forward_differences_estimate_the_gradient():
    from dfkd_book.methods.blackbox import forward_differences

    a = torch.tensor([[1.0, -2.0], [0.5, 3.0]])
    y = torch.rand(3, 2, 2, generator=torch.Generator().manual_seed(0))
    g, base = forward_differences(lambda p: (p * a).flatten(1).sum(1), y, m=20_000, eps=1e-3,
                                  generator=torch.Generator().manual_seed(1))
    assert torch.allclose(base, (y * a).flatten(1).sum(1))
    assert torch.allclose(g, a.expand_as(y), atol=0.1)  # E[d · u uᵀ] = I for u uniform on the unit sphere
    with pytest.raises(ValueError, match="m must be an int >= 1 and eps > 0"):
        forward_differences(lambda p: p.sum(), y, m=0)


def test_dfme_distils_log_probabilities_as_logits():
    from dfkd_book.methods.blackbox import centred, l1_disagreement

    z, s = torch.randn(5, 4), torch.randn(5, 4)
    assert torch.allclose(centred(F.log_softmax(z, 1)), centred(z), atol=1e-5)
    assert torch.allclose(l1_disagreement(s, F.log_softmax(z, 1)), (s - centred(z)).abs().mean(1), atol=1e-5)


def test_dfme_counts_m_plus_one_queries_per_generated_image():
    api = TeacherAPI(teacher(), "probs", device=CPU)
    m = methods.get("dfme", m=2, nz=8, width=8)
    r = distill(api, student(), m, steps=10, batch_size=4, device=CPU, progress=False)
    # generator steps at student steps 0 and 5 ((m + 1) · B each), a fresh batch of B every student step
    assert r.teacher_queries == {"forward": 2 * 3 * 4 + 10 * 4, "backward": 0} == {"forward": api.queries,
                                                                                 "backward": 0}
    with pytest.raises(ValueError, match=r"DFME needs probs access .* an API that answers 'label'"):
        distill(TeacherAPI(teacher(), "label", device=CPU), student(), methods.DFME(nz=8, width=8), steps=2,
                batch_size=4, device=CPU, progress=False)


def test_dfme_learns_nothing_from_the_teacher_s_weights():
    """The generator's step reads the teacher only through its answers: with the teacher's weights frozen behind
    the API, the generator still moves, and no gradient ever reaches the teacher."""
    t = teacher()
    api = TeacherAPI(t, "probs", device=CPU)
    m = methods.DFME(nz=8, width=8)
    distill(api, student(), m, steps=1, batch_size=4, device=CPU, progress=False)
    before = {k: v.clone() for k, v in m.generator.state_dict().items()}
    m.generator_step(student())
    assert any(not torch.equal(before[k], v) for k, v in m.generator.state_dict().items())
    assert all(p.grad is None for p in t.parameters())


def test_ideal_queries_each_pool_image_once_and_never_in_generation():
    api = TeacherAPI(teacher(), "label", device=CPU)
    m = methods.get("ideal", rounds=3, batch=8, g_steps=2, nz=8, width=8)
    r = distill(api, student(), m, steps=6, batch_size=4, device=CPU, progress=False)
    assert m.starts == {0, 1, 3} and m.made == 3 and len(m.pool) == 24
    assert r.teacher_queries["forward"] == api.queries == 24  # once per image, none in the generator's rounds
    assert torch.equal(m.teacher_logits.argmax(1), TeacherAPI(teacher(), "label", device=CPU)(m.pool))
    with pytest.raises(ValueError, match=r"batch \(6\) must be a multiple of K = 4"):
        distill(api, student(), methods.IDEAL(rounds=2, batch=6, nz=8, width=8), steps=4, device=CPU, progress=False)
    with pytest.raises(ValueError, match="IDEAL makes 5 rounds within the student's steps; got 4 steps"):
        distill(api, student(), methods.IDEAL(rounds=5, batch=8, nz=8, width=8), steps=4, device=CPU, progress=False)


def test_answer_quality_judges_what_an_honest_user_gets():
    from dfkd_book.blackbox import answer_quality

    t, x = teacher(), images(64)
    y = t(x).argmax(1)  # labels the teacher gets right: accuracy 100, a label claims certainty (ECE = 0 here)
    exact = answer_quality(TeacherAPI(t, "probs", device=CPU), x, y, batch_size=10)
    label = answer_quality(TeacherAPI(t, "label", device=CPU), x, y)
    assert exact["accuracy"] == label["accuracy"] == 100.0
    p = F.softmax(t(x), 1).max(1).values.detach()
    assert exact["nll"] == pytest.approx(float(-p.log().mean()), abs=1e-4)
    assert exact["ece"] == pytest.approx(100 * float((1 - p).mean()), abs=0.01)  # all right: ECE = 1 − mean conf
    assert label["nll"] == pytest.approx(0.0, abs=1e-6) and label["ece"] == 0.0
    wrong = (y + 1) % 4
    assert answer_quality(TeacherAPI(t, "label", device=CPU), x, wrong)["nll"] == pytest.approx(-torch.log(
        torch.tensor(FLOOR)).item(), rel=1e-4)
    with pytest.raises(ValueError, match="one length"):
        answer_quality(TeacherAPI(t, "probs", device=CPU), x, y[:3])
    with pytest.raises(ValueError, match="logits"):
        answer_quality(TeacherAPI(t, "logits", device=CPU), x, y)


@pytest.mark.parametrize("name, access", [("dfme", "probs"), ("ideal", "label")])
def test_the_black_box_recipes_run_through_their_api(name, access, monkeypatch):
    """bench runs a black-box recipe with the teacher behind the recipe's API: no gradient is ever asked of it."""
    from dfkd_book import recipes
    from dfkd_book.experiments import recipe_runs as bench  # where bench runs a recipe

    r = recipes.get(name, "quick")
    assert r.extras["api"] == {"access": access} and methods.get(name).access == access
    seen = []
    monkeypatch.setattr(bench, "TeacherAPI", lambda t, **kw: seen.append(kw) or TeacherAPI(t, **kw, device=CPU))
    monkeypatch.setattr(bench.zoo, "teacher", lambda arch, ds: teacher(10))
    monkeypatch.setattr(bench.zoo, "student", lambda arch, ds: student(10))
    small = recipes.replace(r, settings={**r.settings, "width": 4, "nz": 8, **({"rounds": 2, "batch": 10, "g_steps": 1}
                                                                               if name == "ideal" else {})},
                            student=recipes.replace(r.student, steps=3, batch_size=10))
    monkeypatch.setattr(bench.recipes, "get", lambda n, profile=None: small)
    res, _, _ = bench.run_recipe(name, 0, progress=False, recipe=small)
    assert seen == [{"access": access}]
    assert res.teacher_queries["backward"] == 0 and res.teacher_queries["forward"] > 0
