"""SSD-KD (Liu et al. 2024): the modulating function, the replay buffer's priority sampling, Algorithm 1 on a toy."""

import math

import pytest
import torch

from dfkd_book import distill, methods, models
from dfkd_book.methods import ssd


def _logits(classes, conf, k=3):
    """Logits whose softmax gives probability ``conf`` to ``classes`` and splits the rest evenly."""
    p = torch.full((len(classes), k), 0.0)
    for i, (c, q) in enumerate(zip(classes, conf)):
        p[i] = (1 - q) / (k - 1)
        p[i, c] = q
    return p.log()


def test_modulating_function_on_a_hand_worked_buffer():
    # buffer: classes 0, 0, 0, 1 → frequencies 3/4, 1/4, 0
    buffer = torch.tensor([0, 0, 0, 1])
    logits = _logits([0, 1, 2], [0.9, 0.6, 0.5])
    phi = ssd.modulating_function(logits, buffer, gamma=2.0)
    expected = torch.tensor([(1 - 3 / 4) * 0.1 ** 2, (1 - 1 / 4) * 0.4 ** 2, 1.0 * 0.5 ** 2])
    assert torch.allclose(phi, expected, atol=1e-6)
    # each factor alone (the ablations of Table 4), and both off → 1
    assert torch.allclose(ssd.modulating_function(logits, buffer, 2.0, difficulty=False),
                          torch.tensor([0.25, 0.75, 1.0]))
    assert torch.allclose(ssd.modulating_function(logits, buffer, 2.0, diversity=False),
                          torch.tensor([0.01, 0.16, 0.25]), atol=1e-6)
    assert torch.equal(ssd.modulating_function(logits, buffer, 2.0, False, False), torch.ones(3))
    # γ = 0: the difficulty factor is 1; an empty buffer: the diversity factor is 1
    assert torch.allclose(ssd.modulating_function(logits, torch.empty(0, dtype=torch.long), 0.0), torch.ones(3))


def test_modulating_function_rejects_negative_gamma():
    with pytest.raises(ValueError, match="gamma"):
        ssd.modulating_function(torch.zeros(2, 3), torch.tensor([0]), gamma=-1.0)


def _filled(priorities, capacity=None, alpha=0.6, beta=0.4):
    n = len(priorities)
    buf = ssd.ReplayBuffer(capacity or n, alpha=alpha, beta=beta)
    buf.add(torch.arange(n, dtype=torch.float).view(n, 1, 1, 1), torch.zeros(n, 3), torch.tensor(priorities))
    return buf


def test_sampling_probabilities_sum_to_one_and_favour_high_priority():
    buf = _filled([0.0, 1.0, 4.0, 9.0], alpha=0.5, beta=0.4)
    p = buf.probabilities()
    assert p.sum().item() == pytest.approx(1.0)
    raw = (torch.tensor([0.0, 1.0, 4.0, 9.0]) + buf.eps) ** 0.5
    assert torch.allclose(p, raw / raw.sum())  # eq. 6
    assert torch.all(p[1:] > p[:-1]) and p[0] > 0  # ε keeps a zero-priority sample drawable
    counts = torch.zeros(4)
    g = torch.Generator().manual_seed(0)
    for _ in range(2000):
        idx, _ = buf.sample(1, g)
        counts[idx] += 1
    assert torch.all(counts[1:] > counts[:-1])
    assert torch.allclose(_filled([0.0, 1.0, 4.0, 9.0], alpha=0.0).probabilities(), torch.full((4,), 0.25))


def test_importance_weights_match_eq_5_normalised_by_their_maximum():
    buf = _filled([0.0, 1.0, 4.0, 9.0], alpha=0.5, beta=0.4)
    p = buf.probabilities()
    raw = (4 * p) ** -0.4
    w = buf.importance_weights(torch.arange(4))
    assert torch.allclose(w, raw / raw.max())
    assert w.max().item() == pytest.approx(1.0) and w.argmax().item() == 0  # the least likely weighs most
    idx, w_sampled = buf.sample(2, torch.Generator().manual_seed(1))
    assert torch.allclose(w_sampled, (raw / raw.max())[idx])


def test_buffer_never_exceeds_capacity_and_drops_the_oldest():
    buf = ssd.ReplayBuffer(5)
    for start in range(0, 12, 3):
        x = torch.arange(start, start + 3, dtype=torch.float).view(3, 1, 1, 1)
        buf.add(x, torch.zeros(3, 2), torch.ones(3))
        assert len(buf) <= 5
    assert buf.images.flatten().tolist() == [7.0, 8.0, 9.0, 10.0, 11.0]
    assert buf.added == 12
    big = ssd.ReplayBuffer(2)
    big.add(torch.arange(4.0).view(4, 1, 1, 1), torch.zeros(4, 2), torch.ones(4))
    assert big.images.flatten().tolist() == [2.0, 3.0]


def test_priorities_update_in_place():
    buf = _filled([1.0, 1.0, 1.0])
    buf.update(torch.tensor([2]), torch.tensor([5.0]), torch.tensor([0.5]))
    assert buf.priorities.tolist() == [1.0, 1.0, 5.0] and buf.weights.tolist() == [1.0, 1.0, 0.5]


def test_bad_buffer_input_gets_clear_errors():
    with pytest.raises(ValueError, match="capacity"):
        ssd.ReplayBuffer(0)
    with pytest.raises(ValueError, match="alpha"):
        ssd.ReplayBuffer(10, alpha=-0.1)
    with pytest.raises(ValueError, match="beta"):
        ssd.ReplayBuffer(10, beta=-1.0)
    with pytest.raises(ValueError, match="capacity .* smaller than the batch size"):
        _filled([1.0, 2.0]).sample(3)
    on_meta = _filled([1.0, 2.0, 3.0])
    on_meta.priorities = on_meta.priorities.to("meta")  # a buffer on another device than the generator
    with pytest.raises(ValueError, match="generator is on cpu and the buffer on meta"):
        on_meta.sample(1, torch.Generator().manual_seed(0))


def _toy_teacher():
    torch.manual_seed(0)
    t = models.LeNet5BN(num_classes=10, in_channels=1)
    t.train()
    with torch.no_grad():  # give BN some running statistics
        for _ in range(3):
            t(torch.rand(64, 1, 32, 32))
    return t.eval()


def _gen(shape):
    return models.DFADGenerator(shape, nz=8, width=8)


CPU = torch.device("cpu")


def test_ssd_kd_rejects_bad_input():
    t, s = _toy_teacher(), models.LeNet5Half(num_classes=10, in_channels=1)
    with pytest.raises(ValueError, match="capacity"):
        distill(t, s, methods.SSDKD(_gen, capacity=16, synthesis_batch=32), steps=1, batch_size=32, device=CPU,
                progress=False)
    with pytest.raises(ValueError, match="gamma"):
        methods.SSDKD(_gen, gamma=-2.0)
    with pytest.raises(ValueError, match="alpha"):
        methods.SSDKD(_gen, alpha=-1.0)
    with pytest.raises(ValueError, match="no BatchNorm"):
        distill(models.LeNet5(num_classes=10, in_channels=1), s, methods.SSDKD(_gen), steps=1, device=CPU,
                progress=False)
    with pytest.raises(ValueError, match=r"generator makes inputs of shape \(1, 28, 28\)"):
        distill(t, s, methods.SSDKD(lambda shape: _gen((1, 28, 28))), steps=1, device=CPU, progress=False)


def test_ssd_kd_runs_algorithm_1_on_a_tiny_budget():
    t, s = _toy_teacher(), models.LeNet5Half(num_classes=10, in_channels=1)
    before = [p.detach().clone() for p in s.parameters()]
    m = methods.SSDKD(_gen, g_steps=2, kd_steps=2, synthesis_batch=20, capacity=50)
    r = distill(t, s, m, steps=6, batch_size=8, eval_every=2, device=CPU, progress=False)  # 3 epochs of Alg. 1
    h = r.history
    assert h.synthetic == [20, 40, 60] and len(m.buffer) == 50  # the oldest 10 dropped
    assert r.pool is m.buffer.images and len(r.pool) == 50
    assert len(m.classes) == 3 and all(len(c) == 20 for c in m.classes)
    assert all(((0 <= c) & (c <= 1)).all() for c in m.confidence)
    assert len(h.logs["loss_generator"]) == 3
    assert all(math.isfinite(v) for v in h.loss + h.logs["loss_generator"])
    assert any(not torch.equal(a, b) for a, b in zip(before, s.parameters()))
    assert 0 <= m.buffer.images.min() and m.buffer.images.max() <= 1
    # the drawn samples got their priority δ = w_{i−1} · KL back (eq. 4) and this draw's IS weights (some < 1)
    assert (m.buffer.weights < 1).any()


def test_the_buffer_gets_the_batch_the_generator_was_optimised_to_make():
    """The batch joining the replay buffer comes from the generator in train mode (BN on batch statistics), the
    mode its g_steps optimised, not from its running statistics."""
    made = _modes_of_the_batches_made()  # the probe, then one batch per epoch
    assert len(made) >= 2 and all(made[-2:]), made


def _modes_of_the_batches_made(**kw) -> list[bool]:
    """The generator's train/eval mode at each of its forward passes without gradient (the probe, then the batch
    of every epoch that joins the buffer) in a 2-epoch SSD-KD run."""
    t, s = _toy_teacher(), models.LeNet5Half(num_classes=10, in_channels=1)
    modes = []

    def gen(shape):
        g = _gen(shape)
        g.register_forward_hook(lambda module, inputs, output: modes.append((module.training,
                                                                             torch.is_grad_enabled())))
        return g

    distill(t, s, methods.SSDKD(gen, g_steps=2, kd_steps=2, synthesis_batch=20, capacity=50, **kw), steps=4,
            batch_size=8, eval_every=4, device=CPU, progress=False)
    return [training for training, grad in modes if not grad]


def test_priority_uses_the_is_weight_of_the_previous_draw():
    """Eq. 4: δ = w_{i−1} · KL; this draw's w_i is stored for the next priority."""
    from dfkd_book.methods.base import Batch

    m = methods.SSDKD(_gen)
    m.buffer = _filled([1.0, 1.0, 1.0])
    m.buffer.update(torch.tensor([1, 2]), torch.tensor([1.0, 1.0]), torch.tensor([0.5, 0.25]))
    idx = torch.tensor([0, 1, 2])
    m.feedback(Batch(x=torch.zeros(3, 1, 4, 4), weights=torch.tensor([0.9, 0.8, 0.7]), index=idx),
               torch.tensor([2.0, 2.0, 2.0]))
    assert m.buffer.priorities.tolist() == pytest.approx([2.0, 1.0, 0.5])  # w_{i−1}: 1 (never drawn), 0.5, 0.25
    assert m.buffer.weights.tolist() == pytest.approx([0.9, 0.8, 0.7])


def test_the_earlier_readings_stay_measurable_behind_switches():
    """priority_weight="current": δ = w_i · KL; buffer_batch="eval": the batch from the generator in eval mode."""
    from dfkd_book.methods.base import Batch

    assert ssd.READINGS["both earlier readings"] == dict(priority_weight="current", buffer_batch="eval")
    m = methods.SSDKD(_gen, priority_weight="current")
    m.buffer = _filled([1.0, 1.0, 1.0])
    m.buffer.update(torch.tensor([1, 2]), torch.tensor([1.0, 1.0]), torch.tensor([0.5, 0.25]))
    m.feedback(Batch(x=torch.zeros(3, 1, 4, 4), weights=torch.tensor([0.9, 0.8, 0.7]), index=torch.tensor([0, 1, 2])),
               torch.tensor([2.0, 2.0, 2.0]))
    assert m.buffer.priorities.tolist() == pytest.approx([1.8, 1.6, 1.4])  # this draw's w_i
    made = _modes_of_the_batches_made(buffer_batch="eval")
    assert len(made) >= 2 and not any(made[-2:]), made
    with pytest.raises(ValueError, match="priority_weight must be 'previous'.*got 'next'"):
        methods.SSDKD(_gen, priority_weight="next")
    with pytest.raises(ValueError, match="buffer_batch must be 'train'.*got 'test'"):
        methods.SSDKD(_gen, buffer_batch="test")


def test_fast_meta_generator_follows_each_epochs_copy():
    """meta=True (Fast, Reptile): the generator carried over moves towards the copy its epoch optimised."""
    with pytest.raises(ValueError, match="reinit_generator=False"):
        methods.SSDKD(_gen, meta=True)
    t, s = _toy_teacher(), models.LeNet5Half(num_classes=10, in_channels=1)
    m = methods.SSDKD(_gen, g_steps=2, kd_steps=2, synthesis_batch=20, capacity=60, reinit_generator=False,
                      meta=True)
    seen = []
    orig = m._reptile

    def spy(fast):
        before = [p.detach().clone() for p in m.generator.parameters()]
        orig(fast)
        seen.append([(b, p.detach().clone(), q.detach().clone())
                     for b, p, q in zip(before, m.generator.parameters(), fast.parameters())])

    m._reptile = spy
    r = distill(t, s, m, steps=6, batch_size=8, eval_every=6, device=CPU, progress=False)
    assert len(seen) == 3 and r.history.synthetic[-1] == 60
    assert m.settings()["meta"] is True
    for b, p, q in seen[0]:  # every coordinate the copy changed moved the same way (Adam's first step: ± η)
        moved = (q - b).abs() > 1e-6
        assert torch.equal(torch.sign(p - b)[moved], torch.sign(q - b)[moved])
    assert any(not torch.equal(b, p) for b, p, _ in seen[0])


def test_ablation_rows_switch_the_modules_of_table_4():
    assert set(ssd.ABLATION) >= {"baseline", "SSD-KD (all)"} and len(ssd.ABLATION) == 6
    assert ssd.ABLATION["baseline"] == dict(priority=False, difficulty=False, diversity=False)
    assert ssd.ABLATION["SSD-KD (all)"] == dict(priority=True, difficulty=True, diversity=True)
    t, s = _toy_teacher(), models.LeNet5Half(num_classes=10, in_channels=1)
    m = methods.SSDKD(_gen, g_steps=1, kd_steps=2, synthesis_batch=20, **ssd.ABLATION["baseline"])
    distill(t, s, m, steps=4, batch_size=8, device=CPU, progress=False)
    # without priority sampling: uniform draws (α = 0) and IS weights 1 (β = 0)
    assert m.buffer.alpha == 0 and m.buffer.beta == 0
    assert torch.allclose(m.buffer.probabilities(), torch.full((40,), 1 / 40))
    assert torch.equal(m.buffer.weights, torch.ones(40))
