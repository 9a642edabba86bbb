"""Adversarial distillation: a generator and the student play a minimax game on the teacher's disagreements.

Sources: Micaelli & Storkey, *Zero-shot Knowledge Transfer via Adversarial Belief Matching* (ZSKT, NeurIPS 2019,
paper 002) and Fang et al., *Data-Free Adversarial Distillation* (DFAD, 2019; the adversarial section of paper
004). The generator G maps noise z to images; it is trained to **maximise** a discrepancy D(T(x), S(x)) between
teacher and student on x = G(z), while the student is trained to **minimise** it:

    min_S max_G  E_z D(T(G(z)), S(G(z)))

* ZSKT: D = KL(T ‖ S) at τ = 1 (PyTorch's elementwise 'mean' reduction, as the official code); the student adds
  β · attention transfer at matched layers (β = 250); each outer step makes one z batch, ``g_steps`` generator
  steps, then ``s_steps`` = 10 student steps on that z regenerated through the updated generator (the images and
  the teacher's logits are computed once for the 10 steps: neither changes while the student trains). Adam 1e-3 (G)
  and 2e-3 (S), cosine schedules, gradient norms clipped at 5.
* DFAD: D = mean |S(x) − T(x)| on the logits (L1); each outer step makes ``s_steps`` = 5 student steps, each on a
  fresh z, then one generator step. SGD (lr 0.01, momentum 0.9, weight decay 5e-4) for the student, Adam 1e-3 for G.

The generator's loss is computed against the *student*: Fast-Datafree once passed the teacher in its place, which
makes the adversarial term identically zero. :func:`generator_loss` takes both, and a test checks it changes with
the student.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from . import config
from .kd import Curve, evaluate, num_classes_of
from .models import LayerOutputs

GAMES = ("zskt", "dfad")

#: the official settings of each game (papers 002 and 004 / their public code)
DEFAULTS = {
    "zskt": dict(s_steps=10, g_steps=1, lr_g=1e-3, lr_s=2e-3, optimizer_s="adam", clip=5.0, at_beta=250.0),
    "dfad": dict(s_steps=5, g_steps=1, lr_g=1e-3, lr_s=0.01, optimizer_s="sgd", clip=0.0, at_beta=0.0),
}


def _check_game(game: str) -> str:
    if game not in GAMES:
        raise ValueError(f"unknown game {game!r}; expected one of {GAMES}")
    return game


def discrepancy(teacher_logits: torch.Tensor, student_logits: torch.Tensor, game: str) -> torch.Tensor:
    """The quantity the student minimises and the generator maximises (a scalar).

    * ``"zskt"``: KL(softmax(t) ‖ softmax(s)) with PyTorch's elementwise 'mean' reduction (sum / (B·K)), τ = 1;
    * ``"dfad"``: mean |s − t| over the logits (L1).

    Args: (B, K) logits of teacher and student. Raises ValueError for an unknown game or mismatched shapes."""
    _check_game(game)
    if teacher_logits.shape != student_logits.shape:
        raise ValueError(f"teacher and student logits differ in shape: {tuple(teacher_logits.shape)} vs "
                         f"{tuple(student_logits.shape)}")
    if game == "zskt":
        # the elementwise mean, written out: PyTorch's reduction="mean" is deprecated (it will become batchmean)
        kl = F.kl_div(F.log_softmax(student_logits, 1), F.softmax(teacher_logits, 1), reduction="sum")
        return kl / teacher_logits.numel()
    return (student_logits - teacher_logits).abs().mean()


def generator_loss(teacher: nn.Module, student: nn.Module, x: torch.Tensor, game: str) -> torch.Tensor:
    """The generator's loss on images x = G(z): **minus** the teacher–student discrepancy, so that minimising it
    maximises their disagreement. Gradients flow into x (and so into G), not into the frozen teacher's weights.
    The student must be the student: with the teacher in its place the loss is 0 (the Fast-Datafree bug)."""
    return -discrepancy(teacher(x), student(x), game)


# --------------------------------------------------------------------------------------------- attention transfer
def attention_map(a: torch.Tensor) -> torch.Tensor:
    """ZSKT's spatial attention of an activation (B, C, H, W): the mean over channels of a², flattened and L2
    normalised per sample → (B, H·W) (Zagoruyko & Komodakis 2017, as in the ZSKT code)."""
    if a.ndim != 4:
        raise ValueError(f"attention needs (B, C, H, W) activations, got {tuple(a.shape)}")
    return F.normalize(a.pow(2).mean(1).flatten(1), dim=1)


def attention_loss(student_acts: dict, teacher_acts: dict, layers: Sequence[tuple[str, str]]) -> torch.Tensor:
    """Σ over matched layers of mean((a_s − a_t)²) of the attention maps (ZSKT). Raises ValueError when a pair's
    maps cannot be matched (different spatial sizes)."""
    total = 0.0
    for s_name, t_name in layers:
        a_s, a_t = student_acts[s_name], teacher_acts[t_name]
        if a_s.shape[-2:] != a_t.shape[-2:]:
            raise ValueError(f"attention maps of student layer {s_name!r} {tuple(a_s.shape[-2:])} and teacher layer "
                             f"{t_name!r} {tuple(a_t.shape[-2:])} have different spatial sizes")
        total = total + (attention_map(a_s) - attention_map(a_t)).pow(2).mean()
    return total


# ---------------------------------------------------------------------------------------------------------- game
def _update(loss: torch.Tensor, opt, sched, model: nn.Module, clip: float) -> float:
    """One optimiser step of one player on ``loss`` (gradient norm clipped at ``clip`` when > 0); the loss value."""
    opt.zero_grad(set_to_none=True)
    loss.backward()
    if clip:
        nn.utils.clip_grad_norm_(model.parameters(), clip)
    opt.step()
    sched.step()
    return loss.item()


@dataclass
class AdversarialHistory(Curve):
    """What a game leaves behind.

    Attributes:
        name: a label.
        iteration: outer steps at which the student was evaluated.
        test_acc: accuracy in [0, 1] at those steps (``None`` without an evaluation set).
        loss_generator, loss_student: mean losses since the previous evaluation.
        wall_s: cumulative wall seconds of the game at those steps (evaluation excluded).
        snapshots: ``(iteration, images (n, C, H, W))`` generated from a fixed z during training.
    """

    name: str = ""
    iteration: list[int] = field(default_factory=list)
    test_acc: list[float | None] = field(default_factory=list)
    loss_generator: list[float] = field(default_factory=list)
    loss_student: list[float] = field(default_factory=list)
    wall_s: list[float] = field(default_factory=list)
    snapshots: list[tuple[int, torch.Tensor]] = field(default_factory=list)


def adversarial_distill(student: nn.Module, teacher: nn.Module, generator: nn.Module, *, game: str = "zskt",
                        iterations: int = 1000, batch_size: int = 256, s_steps: int | None = None,
                        g_steps: int | None = None, lr_g: float | None = None, lr_s: float | None = None,
                        optimizer_s: str | None = None, clip: float | None = None,
                        attention_layers: Sequence[tuple[str, str]] = (), at_beta: float | None = None,
                        eval_set=None, eval_every: int = 100, snapshot_every: int | None = None,
                        snapshot_n: int = 16, on_snapshot: Callable[[int, nn.Module, nn.Module], None] | None = None,
                        seed: int | None = None, device: torch.device | None = None,
                        progress: bool = True, name: str | None = None) -> AdversarialHistory:
    """Play the ZSKT or DFAD game for ``iterations`` outer steps; the student and the generator are trained in place.

    Args:
        student, teacher: classifiers returning logits (B, K); the teacher is frozen.
        generator: z (B, nz) → images (B, C, H, W) in [0, 1] of the teacher's input shape; needs an ``nz``
            attribute (see :mod:`dfkd_book.models` ``ZSKTGenerator`` / ``DFADGenerator``).
        game: ``"zskt"`` or ``"dfad"``; ``s_steps``, ``g_steps``, ``lr_g``, ``lr_s``, ``optimizer_s``
            ('adam'|'sgd'), ``clip`` (gradient-norm clipping; 0 for none) and ``at_beta`` default to the
            game's official settings (:data:`DEFAULTS`). Both learning rates follow cosine schedules.
        attention_layers: ``(student layer, teacher layer)`` name pairs for attention transfer (ZSKT), e.g.
            ``[("features.relu1", "features.relu1"), ("features.relu2", "features.relu2")]``.
        eval_set: labelled set evaluated every ``eval_every`` outer steps and at the end.
        snapshot_every: keep ``snapshot_n`` images generated from one fixed z every this many steps (and at
            step 0 and the end); default: the evaluation cadence.
        on_snapshot: called as ``on_snapshot(iteration, student, generator)`` at every snapshot, both players in
            eval mode and without gradients (e.g. to record the student's decision regions in the 2-D toy).

    Returns:
        :class:`AdversarialHistory`; student and generator are left in eval mode.

    Raises:
        ValueError: unknown game, bad budgets, a generator whose output shape is not the teacher's input, a
            teacher and student with different K, attention layers that do not exist or cannot be matched.
    """
    _check_game(game)
    d = DEFAULTS[game]
    s_steps = d["s_steps"] if s_steps is None else s_steps
    g_steps = d["g_steps"] if g_steps is None else g_steps
    lr_g = d["lr_g"] if lr_g is None else lr_g
    lr_s = d["lr_s"] if lr_s is None else lr_s
    optimizer_s = d["optimizer_s"] if optimizer_s is None else optimizer_s
    clip = d["clip"] if clip is None else clip
    at_beta = d["at_beta"] if at_beta is None else at_beta
    for what, v in (("iterations", iterations), ("batch_size", batch_size), ("s_steps", s_steps),
                    ("g_steps", g_steps), ("eval_every", eval_every)):
        if not isinstance(v, int) or v < 1:
            raise ValueError(f"{what} must be a positive int, got {v!r}")
    if optimizer_s not in ("adam", "sgd"):
        raise ValueError(f"optimizer_s must be 'adam' or 'sgd', got {optimizer_s!r}")
    device = device or config.device()
    if seed is not None:
        config.seed_everything(seed)
    nz = getattr(generator, "nz", None)
    if not isinstance(nz, int):
        raise ValueError("the generator needs an integer attribute nz (the size of z)")
    student.to(device)
    generator.to(device)
    teacher.to(device).eval()
    for p in teacher.parameters():
        p.requires_grad_(False)

    # the generator must produce what the teacher reads
    generator.eval()
    with torch.no_grad():
        probe = generator(torch.randn(2, nz, device=device))
    try:
        k_t = num_classes_of(teacher, probe)
    except (RuntimeError, ValueError) as e:
        raise ValueError(f"the generator's output {tuple(probe.shape[1:])} does not fit the teacher's input: {e}"
                         ) from e
    k_s = num_classes_of(student, probe)
    if k_t != k_s:
        raise ValueError(f"teacher and student must have the same number of classes; teacher has {k_t}, "
                         f"student has {k_s}")

    rec_s = rec_t = None
    if attention_layers:
        rec_s = LayerOutputs(student, [s for s, _ in attention_layers], "the student")
        rec_t = LayerOutputs(teacher, [t for _, t in attention_layers], "the teacher")
        student(probe), teacher(probe)
        attention_loss(rec_s.out, rec_t.out, attention_layers)  # fails early when maps cannot be matched

    opt_g = torch.optim.Adam(generator.parameters(), lr=lr_g)
    opt_s = (torch.optim.Adam(student.parameters(), lr=lr_s) if optimizer_s == "adam"
             else torch.optim.SGD(student.parameters(), lr=lr_s, momentum=0.9, weight_decay=5e-4))
    sched_g = torch.optim.lr_scheduler.CosineAnnealingLR(opt_g, iterations * g_steps)
    sched_s = torch.optim.lr_scheduler.CosineAnnealingLR(opt_s, iterations * s_steps)
    z_fixed = torch.randn(snapshot_n, nz, device=device)
    snapshot_every = snapshot_every or eval_every
    hist = AdversarialHistory(name=name or game.upper())

    def snapshot(it):
        generator.eval()
        with torch.no_grad():
            hist.snapshots.append((it, generator(z_fixed).cpu()))
            if on_snapshot is not None:
                was_training = student.training
                student.eval()
                on_snapshot(it, student, generator)
                student.train(was_training)
        generator.train()

    def teacher_view(x):
        """The teacher's logits on x, and its attention-layer activations (kept: later forwards overwrite them)."""
        with torch.no_grad():
            t = teacher(x)
        return t, (dict(rec_t.out) if rec_t is not None else None)

    def student_step(x, t, t_acts):
        student.train()
        s = student(x)
        loss = discrepancy(t, s, game)
        if rec_s is not None and at_beta > 0:
            loss = loss + at_beta * attention_loss(rec_s.out, t_acts, attention_layers)
        return _update(loss, opt_s, sched_s, student, clip)

    def generator_step(z):
        generator.train()
        student.eval()
        loss = generator_loss(teacher, student, generator(z), game)
        return _update(loss, opt_g, sched_g, generator, clip)

    snapshot(0)
    elapsed, lg, ls, ng, ns = 0.0, 0.0, 0.0, 0, 0
    bar = tqdm(total=iterations, desc=hist.name, disable=not progress, leave=False, mininterval=1.0)
    try:
        for it in range(1, iterations + 1):
            t0 = time.perf_counter()
            if game == "zskt":
                z = torch.randn(batch_size, nz, device=device)
                for _ in range(g_steps):
                    lg, ng = lg + generator_step(z), ng + 1
                # the same z through the updated generator; G and T do not change during the student's steps, so
                # x and the teacher's view of it are computed once (the official code recomputes them each step)
                with torch.no_grad():
                    x = generator(z)
                t, t_acts = teacher_view(x)
                for _ in range(s_steps):
                    ls, ns = ls + student_step(x, t, t_acts), ns + 1
            else:
                for _ in range(s_steps):
                    with torch.no_grad():
                        x = generator(torch.randn(batch_size, nz, device=device))  # a fresh z each step
                    ls, ns = ls + student_step(x, *teacher_view(x)), ns + 1
                for _ in range(g_steps):
                    lg, ng = lg + generator_step(torch.randn(batch_size, nz, device=device)), ng + 1
            elapsed += time.perf_counter() - t0
            bar.update(1)
            if it % eval_every == 0 or it == iterations:
                acc = evaluate(student, eval_set, device=device) if eval_set is not None else None
                hist.iteration.append(it)
                hist.test_acc.append(acc)
                hist.loss_generator.append(lg / max(ng, 1))
                hist.loss_student.append(ls / max(ns, 1))
                hist.wall_s.append(elapsed)
                lg, ls, ng, ns = 0.0, 0.0, 0, 0
                bar.set_postfix(**({"acc": f"{acc:.4f}"} if acc is not None else {}))
            if it % snapshot_every == 0 or it == iterations:
                snapshot(it)
    finally:
        bar.close()
        for r in (rec_s, rec_t):
            if r is not None:
                r.remove()
    student.eval()
    generator.eval()
    if not math.isfinite(hist.loss_student[-1]):
        raise FloatingPointError(f"the {game} game diverged: student loss {hist.loss_student[-1]}")
    return hist
