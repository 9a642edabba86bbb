"""The one student loop: :func:`distill` trains a student from a teacher with any method, in optimiser steps.

    result = distill(teacher, student, methods.DataImpressions(n=8000), steps=10_000, eval_set=test)
    result.student, result.history, result.pool

Every method of the book — real-data KD, data impressions, arbitrary sets, ZSKT, DFAD, BN statistics,
DeepInversion, activation and spectral records, SSD-KD — goes through this loop, behind the contract of
:mod:`dfkd_book.methods.base`. The budget is counted in **optimiser steps** (not epochs, which hid how few steps
the students got); the learning rate warms up linearly for ``warmup`` steps, then follows a cosine to zero; the
student is evaluated every ``eval_every`` steps; the :class:`History` records, against student steps, the wall
seconds (synthesis included, evaluation excluded) and the **teacher queries** (forward and input-gradient passes,
in samples), so methods can be compared at equal compute.

:func:`train` (cross-entropy on labelled data: how the zoo trains teachers) runs on the same loop.

Sources: Hinton, Vinyals & Dean 2015 (the distillation loss); Nayak et al. 2019, eq. (1) and (4) and Sec. 4 (the
teacher re-labels every augmented batch); Loshchilov & Hutter 2017 (the cosine schedule).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from . import config
from .averaging import WeightAverage
from .blackbox import TeacherAPI
from .history import History
from .hooks import TeacherQueries, frozen_copy, is_image_shape, layout_of, memory_format, num_classes_of
from .hooks import input_shape as read_input_shape
from .kd import check_labelled, evaluate, images_labels
from .methods.base import Batch, Context, EpochSampler, Method, StaticSet, TransferSet
from .selection import selector

Augment = Callable[[torch.Tensor], torch.Tensor]
OPTIMIZERS = ("adam", "sgd")
SCHEDULES = ("cosine", "constant")


@dataclass
class Result:
    """What :func:`distill` returns.

    Attributes:
        student: the trained student (eval mode, on the device) — holding the weight average or the
            data-free-selected weights when :func:`distill` was asked for them. history: its :class:`History`.
        method: the method object (its synthetic pool, records, buffer, snapshots ... stay readable on it).
        steps: student optimiser steps taken. teacher_queries: ``{"forward", "backward"}`` in samples.
        warnings (property): the method's warnings.
    """

    student: nn.Module
    history: History
    method: Method
    steps: int
    teacher_queries: dict

    @property
    def pool(self) -> torch.Tensor | None:
        """The transfer set the method made or kept, (N, *input shape) on the device, or None (a game)."""
        return self.method.pool

    @property
    def final_acc(self) -> float | None:
        return self.history.final_acc

    @property
    def warnings(self) -> list[str]:
        """What the method warned about while it ran (e.g. an arbitrary set short of its size), also issued as
        ``UserWarning``; empty when all went as asked."""
        return list(getattr(self.method, "warnings", []))


def schedule_factor(step: int, steps: int, warmup: int = 0, schedule: str = "cosine") -> float:
    """The learning-rate multiplier at optimiser step ``step`` (0-based) of ``steps``: linear warm-up from
    1/warmup to 1 over the first ``warmup`` steps, then ``0.5 · (1 + cos(π · progress))`` (cosine) or 1
    (constant). With ``warmup = 0`` the cosine equals PyTorch's ``CosineAnnealingLR(T_max=steps)``."""
    if step < warmup:
        return (step + 1) / warmup
    if schedule == "constant":
        return 1.0
    return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(steps - warmup, 1)))


def _check_int(what: str, v, low: int = 1) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or v < low:
        raise ValueError(f"{what} must be an int >= {low}, got {v!r}")
    return v


def _optimizer(params, name: str, lr: float, weight_decay: float):
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=weight_decay)
    raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {name!r}")


def _run(model: nn.Module, step_loss: Callable[[int], torch.Tensor], *, steps: int, lr: float, optimizer: str,
         weight_decay: float, warmup: int, schedule: str, clip: float, eval_every: int | None, eval_set,
         device, progress: bool, name: str, after_step: Callable[[], None] | None = None,
         counters: Callable[[], tuple[int, int, int]] | None = None,
         log: Callable[[], dict] | None = None, evaluated: Callable[[], nn.Module] | None = None,
         on_eval: Callable[[History, nn.Module], None] | None = None) -> History:
    """The optimisation shared by :func:`distill` and :func:`train`: ``steps`` optimiser steps on
    ``step_loss(step)``, schedule, clipping, evaluation and the history. At an evaluation, ``evaluated()`` gives
    the model to evaluate (default ``model``) and ``on_eval(history, that model)`` runs after it is recorded."""
    _check_int("steps", steps)
    _check_int("warmup", warmup, 0)
    if warmup >= steps:
        raise ValueError(f"warmup ({warmup}) must be shorter than the budget of {steps} steps")
    if not (isinstance(lr, (int, float)) and lr > 0):
        raise ValueError(f"lr must be > 0, got {lr!r}")
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
    if clip < 0 or weight_decay < 0:
        raise ValueError(f"clip and weight_decay must be >= 0, got {clip!r}, {weight_decay!r}")
    if eval_every is not None:
        _check_int("eval_every", eval_every)
    eval_every = eval_every or max(steps // 10, 1)
    layout = layout_of(model)  # the caller's, given back at the end; the steps run in the device's
    model.to(memory_format=memory_format(device))
    opt = _optimizer(model.parameters(), optimizer, lr, weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: schedule_factor(s, steps, warmup, schedule))
    hist = History(name=name)
    elapsed, loss_sum, count = 0.0, torch.zeros((), device=device), 0
    bar = tqdm(total=steps, desc=name, disable=not progress, leave=False, mininterval=1.0)
    t0 = time.perf_counter()
    try:
        for step in range(steps):
            loss = step_loss(step)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if clip:
                nn.utils.clip_grad_norm_(model.parameters(), clip)
            opt.step()
            sched.step()
            if after_step is not None:
                after_step()
            loss_sum += loss.detach()
            count += 1
            bar.update(1)
            if (step + 1) % eval_every == 0 or step + 1 == steps:
                elapsed += time.perf_counter() - t0
                mean_loss = float(loss_sum) / count
                if not math.isfinite(mean_loss):
                    raise FloatingPointError(f"{name} diverged: mean loss {mean_loss} before step {step + 1}")
                target = evaluated() if evaluated is not None else model
                acc = evaluate(target, eval_set, device=device, check=False) if eval_set is not None else None
                model.train()
                hist.step.append(step + 1)
                hist.test_acc.append(acc)
                hist.loss.append(mean_loss)
                hist.lr.append(opt.param_groups[0]["lr"])
                hist.wall_s.append(elapsed)
                fwd, bwd, syn = counters() if counters is not None else (0, 0, 0)
                hist.teacher_forward.append(fwd)
                hist.teacher_backward.append(bwd)
                hist.synthetic.append(syn)
                for key, value in (log() if log is not None else {}).items():
                    hist.logs.setdefault(key, []).append(value)
                if on_eval is not None:
                    on_eval(hist, target)
                loss_sum, count = torch.zeros((), device=device), 0
                bar.set_postfix(loss=f"{mean_loss:.4f}", **({"acc": f"{acc:.4f}"} if acc is not None else {}))
                t0 = time.perf_counter()
    finally:
        bar.close()
        model.to(memory_format=layout)
    model.eval()
    return hist


def _setup(teacher: nn.Module | TeacherAPI, seed: int | None, device, input_shape, method: Method):
    """What :func:`distill` and :func:`transfer_set` do first, in this order (so that a set made by either is the
    same): seed, frozen teacher (an API's :class:`~dfkd_book.blackbox.LogitsView`, once it admits ``method``), its
    input shape and K. Returns ``(device, generator, teacher, shape, probe, K, query counter)``."""
    if not isinstance(teacher, (nn.Module, TeacherAPI)):
        raise TypeError(f"teacher must be a torch.nn.Module or a dfkd_book.blackbox.TeacherAPI, got "
                        f"{type(teacher).__name__}")
    device = device or config.device()
    g = config.seed_everything(seed) if seed is not None else torch.Generator().manual_seed(torch.seed() % 2**63)
    if isinstance(teacher, TeacherAPI):
        teacher.admit(method)
        if input_shape is not None and tuple(input_shape) != tuple(teacher.input_shape):
            raise ValueError(f"input_shape {tuple(input_shape)} is not the API's {tuple(teacher.input_shape)}")
        t, shape = teacher.view(), tuple(teacher.input_shape)
        return device, g, t, shape, torch.zeros(2, *shape, device=device), teacher.num_classes, t.counter()
    t = frozen_copy(teacher, device)
    shape = read_input_shape(t, input_shape, device)
    probe = torch.zeros(2, *shape, device=device)
    k = num_classes_of(t, probe)  # before the counter: probing the shape and K is not a query
    return device, g, t, shape, probe, k, TeacherQueries(t)


def distill(teacher: nn.Module | TeacherAPI, student: nn.Module, method: Method, *, steps: int, batch_size: int = 256,
            lr: float = 1e-2, optimizer: str = "adam", weight_decay: float = 0.0, warmup: int = 0,
            schedule: str = "cosine", clip: float = 0.0, T: float = 20.0, lam: float = 0.0,
            augment: Augment | None = None, eval_every: int | None = None, eval_set=None,
            input_shape: tuple[int, ...] | None = None, seed: int | None = 0, device: torch.device | None = None,
            progress: bool = True, name: str | None = None, average: str | None = None, ema_decay: float = 0.999,
            swa_start: float = 0.75, select: str | None = None, holdout: float | torch.Tensor = 0.2) -> Result:
    """Train ``student`` from ``teacher`` with ``method`` for ``steps`` optimiser steps — every method, one loop.

    Each step: ``method.synthesize(step, student)`` (the method makes data when it needs to), ``method.batch()``
    gives the inputs; with ``augment`` each batch is augmented and the **teacher re-labels the augmented batch**
    (ZSKD Sec. 4), else the method's cached teacher logits are used when it has them; the loss is the weighted
    mean of ``method.loss`` (per sample; by default τ² · KL(softmax(t/τ) ‖ softmax(s/τ)), ZSKD eq. 4) plus
    ``lam`` · cross-entropy to hard labels (ZSKD eq. 1, real data only); one optimiser step (gradient norm
    clipped at ``clip`` when > 0); ``method.feedback`` gets the per-sample losses.

    Args:
        teacher: a classifier returning logits (N, K); a frozen copy is used, the caller's model is untouched.
            Or a :class:`~dfkd_book.blackbox.TeacherAPI` (black-box: the method must need no more access than it
            answers; its queries are counted as forward queries).
        student: the model trained in place (moved to ``device``); it must give the teacher's K.
        method: a :class:`~dfkd_book.methods.base.Method` (``dfkd_book.methods.get(name, ...)`` or a class).
        steps: the student's budget in optimiser steps.
        batch_size: student batch size. lr: peak learning rate. optimizer: ``'adam'`` or ``'sgd'`` (momentum
            0.9). weight_decay: L2 weight decay. warmup: linear warm-up steps. schedule: ``'cosine'`` or
            ``'constant'`` after the warm-up. clip: gradient-norm clipping (0: none).
        T: temperature τ of the default loss. lam: weight λ of the hard-label term (needs labels in the batches).
        augment: a batched augmentation ``(B, C, H, W) → (B, C, H, W)`` (images only).
        eval_every: evaluate every this many steps (default: ``steps // 10``) and at the end.
        eval_set: a labelled set (ImageSet or ``(inputs, labels)``), or None.
        input_shape: the shape of one input; default read from the teacher (:func:`dfkd_book.hooks.input_shape`).
        seed: seeds Python, NumPy and torch, and the method's sampling (None: not seeded).
        progress: tqdm bars.
        average: weight averaging of the student (:mod:`dfkd_book.averaging`): ``'ema'`` (decay ``ema_decay``)
            or ``'swa'`` (every step from the fraction ``swa_start`` of the budget on); the history evaluates
            the average, and the student ends holding it. BN statistics are recomputed on recent training batches.
        select: data-free selection (:mod:`dfkd_book.selection`): ``'agreement'`` or ``'kl'`` with the teacher
            on a fraction ``holdout`` of a static transfer set the student never trains on — or, for a method
            that makes its data while the student trains and can make fresh samples (the games, DFME), on fresh
            samples of it; or, with ``holdout`` a tensor (N, ...) of inputs, on those inputs drawn beside the set
            (nothing held out) — at every evaluation; the student ends holding the best evaluation's weights (ties:
            the later; ``history.selected_step``). Never reads labels. With ``average``, the averages are the
            candidates.

    Returns:
        :class:`Result` (student in eval mode, :class:`History`, the method with its pool, teacher queries).

    Raises:
        TypeError: teacher or student not an ``nn.Module``; method not a Method; a student whose parameters are
            not float32; a transfer set of neither floats nor uint8.
        ValueError: bad budgets or settings; a teacher that does not accept ``input_shape``; a student that does
            not read the teacher's inputs or gives another K; augmentation on a teacher of vectors; ``lam > 0``
            without labels; an ``eval_set`` with NaN / infinite inputs or labels outside [0, K); a static transfer
            set with NaN / infinite inputs or images outside [0, 1] (:func:`~dfkd_book.methods.base.as_inputs`);
            whatever the method cannot serve (e.g. BN inversion of a teacher without BN); bad ``average`` /
            ``select`` settings, ``select`` with a method that makes data while the student trains and cannot
            make fresh samples (SSD-KD, IDEAL).
        FloatingPointError: the loss diverged.
    """
    if not isinstance(student, nn.Module):
        raise TypeError(f"student must be a torch.nn.Module, got {type(student).__name__}")
    if isinstance(method, torch.Tensor):
        method = TransferSet(method)
    if not isinstance(method, Method):
        raise TypeError(f"method must be a dfkd_book.methods Method (e.g. methods.get('zskd') or "
                        f"methods.DataImpressions(n=...)), got {type(method).__name__}")
    _check_int("steps", steps)
    _check_int("batch_size", batch_size)
    if not (isinstance(T, (int, float)) and T > 0):
        raise ValueError(f"temperature T must be > 0, got {T!r}")
    if lam < 0:
        raise ValueError(f"lam (weight of the hard-label term) must be >= 0, got {lam!r}")
    if augment is not None and not callable(augment):
        raise TypeError(f"augment must be a callable batch -> batch, got {type(augment).__name__}")
    device, g, t, shape, probe, k, queries = _setup(teacher, seed, device, input_shape, method)
    if eval_set is not None:
        check_labelled(eval_set, k, "eval_set")
    if any(p.is_floating_point() and p.dtype != torch.float32 for p in student.parameters()):
        raise TypeError(f"the student must have float32 parameters (the book's inputs are float32), got "
                        f"{next(p.dtype for p in student.parameters() if p.dtype != torch.float32)}; pass "
                        "student.float()")
    student.to(device)
    try:
        k_s = num_classes_of(student, probe)
    except (RuntimeError, TypeError, IndexError) as e:  # the student cannot read the teacher's inputs
        raise ValueError(f"the student does not accept the teacher's inputs {shape}: {type(e).__name__}: {e}") from e
    if k_s != k:
        raise ValueError(f"teacher and student must have the same number of classes; teacher has {k}, student "
                         f"has {k_s}")
    if augment is not None and not is_image_shape(shape):
        raise ValueError(f"augmentation works on images (C, H, W), but this teacher reads inputs of shape {shape}; "
                         "pass augment=None")
    avg = WeightAverage(student, average, steps, ema_decay, swa_start) if average is not None else None
    held = selector(method, holdout, select, seed) if select is not None else None
    ctx = Context(teacher=t, input_shape=shape, num_classes=k, device=device, steps=steps, batch_size=batch_size,
                  T=float(T), seed=seed, generator=g, progress=progress, relabels=augment is not None,
                  access=getattr(t, "access", "white-box"))
    name = name or method.name
    current: dict[str, Batch | torch.Tensor] = {}

    def step_loss(step: int) -> torch.Tensor:
        method.synthesize(step, student)
        if held is not None and step == 0:
            held.split(t)
        b = method.batch(batch_size)
        x, tl = b.x, b.teacher_logits
        if augment is not None:
            x, tl = augment(x), None
        if avg is not None:
            avg.record(x)
        if tl is None:
            with torch.no_grad():
                tl = t(x)
        student.train()
        s = student(x)
        per = method.loss(Batch(x, tl, b.weights, b.index, b.labels, b.extra), s, tl, T)
        loss = (b.weights * per).mean() if b.weights is not None else per.mean()
        if lam > 0:
            if b.labels is None:
                raise ValueError(f"lam > 0 needs hard labels, and {method.name} gives none")
            loss = loss + lam * F.cross_entropy(s, b.labels)
        current["batch"], current["per"] = b, per.detach()
        return loss

    def after_step() -> None:
        method.feedback(current["batch"], current["per"])
        if avg is not None:
            avg.update()

    try:
        method.prepare(ctx, student)
        hist = _run(student, step_loss, steps=steps, lr=lr, optimizer=optimizer, weight_decay=weight_decay,
                    warmup=warmup, schedule=schedule, clip=clip, eval_every=eval_every, eval_set=eval_set,
                    device=device, progress=progress, name=name, after_step=after_step,
                    counters=lambda: (queries.forward, queries.backward, method.synthetic), log=method.log,
                    evaluated=None if avg is None else avg.current, on_eval=None if held is None else held.observe)
    finally:
        method.close()
        queries.remove()
    if held is not None:
        held.restore(student, hist)
    elif avg is not None:
        avg.restore(student)
    student.eval()
    return Result(student=student, history=hist, method=method, steps=steps, teacher_queries=queries.as_dict())


def train(model: nn.Module, trainset, *, steps: int, batch_size: int = 256, lr: float = 1e-3,
          optimizer: str = "adam", weight_decay: float = 0.0, warmup: int = 0, schedule: str = "cosine",
          augment: Augment | None = None, eval_every: int | None = None, eval_set=None, seed: int | None = 0,
          device: torch.device | None = None, progress: bool = True, name: str = "cross-entropy") -> History:
    """Train ``model`` on labelled data with cross-entropy (Teacher-CE / Student-CE in the papers' tables), on the
    same loop as :func:`distill`.

    Args:
        trainset: an ImageSet or a tuple ``(inputs (N, ...), labels (N,))``.
        steps, batch_size, lr, optimizer, weight_decay, warmup, schedule, eval_every, eval_set, seed: as
            :func:`distill`. augment: optional batched augmentation applied to every batch.

    Returns:
        :class:`History`; the model is left in eval mode on ``device``.

    Raises:
        TypeError: ``trainset`` is neither an ImageSet nor a tuple. ValueError: bad budgets or an empty set; an
            ``eval_set`` with NaN / infinite inputs or labels outside [0, K).
    """
    device = device or config.device()
    x_all, y_all = images_labels(trainset)
    if len(x_all) == 0 or len(y_all) != len(x_all):
        raise ValueError(f"trainset must hold N > 0 inputs and N labels, got {len(x_all)} and {len(y_all)}")
    g = config.seed_everything(seed) if seed is not None else torch.Generator().manual_seed(torch.seed() % 2**63)
    model.to(device)
    if eval_set is not None:
        check_labelled(eval_set, num_classes_of(model, x_all[:2].to(device)), "eval_set")
    sampler = EpochSampler(len(x_all), g)

    def step_loss(step: int) -> torch.Tensor:
        idx = sampler(batch_size)
        x, y = x_all[idx].to(device), y_all[idx].to(device)
        if augment is not None:
            x = augment(x)
        model.train()
        return F.cross_entropy(model(x), y)

    return _run(model, step_loss, steps=steps, lr=lr, optimizer=optimizer, weight_decay=weight_decay,
                warmup=warmup, schedule=schedule, clip=0.0, eval_every=eval_every, eval_set=eval_set,
                device=device, progress=progress, name=name)


def transfer_set(teacher: nn.Module | TeacherAPI, method: StaticSet, *, seed: int | None = 0,
                 device: torch.device | None = None, input_shape: tuple[int, ...] | None = None,
                 student: nn.Module | None = None, batch_size: int = 256, progress: bool = True
                 ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Make a static method's transfer set without training a student: the context is prepared exactly as
    :func:`distill` prepares it (the same seeding, the same frozen, query-counted teacher, its input shape and K),
    so the set is the one ``distill(teacher, student, method, seed=seed, ...)`` would make, bit for bit.

    The method keeps the set: a later :func:`distill` with it distils on that set (it only asks the new teacher
    for its logits). ``method.queries`` holds the teacher queries the set cost (``{"forward", "backward"}``).

    Args:
        teacher: a classifier returning logits (N, K) (a frozen copy is used), or a
            :class:`~dfkd_book.blackbox.TeacherAPI`.
        method: a :class:`~dfkd_book.methods.base.StaticSet` (data impressions, arbitrary sets, inversions,
            real data, a given tensor).
        seed, device, input_shape, progress: as :func:`distill`.
        student: the student, for a method that makes its set against one (Adaptive DeepInversion's
            competition term); others ignore it.
        batch_size: the student batch size the context announces (no method's set depends on it).

    Returns:
        ``(inputs (N, *input shape) on ``device``, hard labels (N,) or None)``.

    Raises:
        TypeError: teacher not an ``nn.Module``; method not a StaticSet (a game or SSD-KD makes its data while
            the student trains: use :func:`distill`).
        ValueError: a method that needs a student and got none, or makes its set in rounds while the student
            trains; whatever the method or :func:`distill` raise at preparation.
    """
    if not isinstance(method, StaticSet):
        raise TypeError(f"transfer_set needs a static method (its set made once, before training), got "
                        f"{type(method).__name__}; a game or SSD-KD makes data while the student trains: use distill")
    if student is None and method.needs_student:
        raise ValueError(f"{method.name} makes its set against the student (competition_weight > 0): pass student=")
    if not method.made_at_once:
        raise ValueError(f"{method.name} makes its set in rounds while the student trains (rounds > 1): use distill")
    device, g, t, shape, _, k, queries = _setup(teacher, seed, device, input_shape, method)
    if student is not None:
        student.to(device)
    ctx = Context(teacher=t, input_shape=shape, num_classes=k, device=device, steps=1, batch_size=batch_size, T=1.0,
                  seed=seed, generator=g, progress=progress, relabels=True, access=getattr(t, "access", "white-box"))
    try:
        method.prepare(ctx, student)
        method.synthesize(0, student)
    finally:
        method.close()
        queries.remove()
    method.queries = queries.as_dict()
    return method.pool, method.labels
