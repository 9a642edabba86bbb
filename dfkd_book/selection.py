"""Data-free model selection, an option of the one student loop (``distill(select="agreement" | "kl")``).

A fraction of a static transfer set is held out before the first student step (the student never trains on it);
at every evaluation the evaluated student is compared with the teacher on it — top-1 agreement and the mean
KL(teacher ‖ student) at τ = 1 — and the student of the best evaluation is returned (ties go to the later one).
No label of any data set is read: the yardstick is the teacher. This is the rule of the DeGAN code (Addepalli et
al. 2020, "DeGAN: Data-Enriching GAN for Retrieving Representative Samples from a Trained Classifier", AAAI; the
official ``KD_related_data.py`` holds out 20 % of its transfer set and keeps the student of the best
teacher–student validation agreement; its ``KD_dfgan.py`` measures it on fresh generator samples instead).

A method that makes its data while the student trains is selected on **fresh samples** instead (:class:`Fresh`,
the ``KD_dfgan.py`` rule), when it can make them without changing its run: the generator games (ZSKT, DFAD) and
DFME draw them from their generator with latent codes of the selector's own, their BN statistics left as they were
(:meth:`dfkd_book.methods.base.Method.fresh`). The rest — SSD-KD, an inversion made in rounds, IDEAL — are refused:
asking them for extra samples would change the run that is being selected from. Any method can be selected on
inputs drawn **beside** its set (:class:`Beside`, ``holdout=`` a tensor): nothing is held out. Restarts:
:mod:`dfkd_book.restarts`.
"""

from __future__ import annotations

import random

import torch
from torch import nn

from .kd import logits as model_logits
from .kd import per_sample_kl

SELECTIONS = ("agreement", "kl")
#: added to the run's seed for the generator that draws the held-out slice (so it does not share the sampler's)
SPLIT_SEED = 7_919


class _Restricted:
    """A sampler over the kept part of a pool: ``inner`` draws positions in ``keep``, this gives pool indices."""

    def __init__(self, keep: torch.Tensor, inner):
        self.keep, self.inner = keep, inner

    def __call__(self, batch_size: int) -> torch.Tensor:
        return self.keep[self.inner(batch_size)]


class HoldOut:
    """Data-free selection on a slice held out of ``method``'s static transfer set.

    Args:
        method: a static transfer set made at step 0 (a :class:`~dfkd_book.methods.base.StaticSet` whose
            ``made_at_once`` is true).
        fraction: the share of the set held out, in (0, 1) (at least one sample held out and one kept).
        criterion: ``"agreement"`` (top-1 agreement with the teacher, higher is better) or ``"kl"`` (mean
            KL(teacher ‖ student) at τ = 1, lower is better).
        seed: seeds the draw of the held-out slice (None: unseeded).

    Use: :meth:`split` once the method has made its set (before the first batch), :meth:`observe` at every
    evaluation, :meth:`restore` at the end.

    Raises:
        ValueError: a method without a static set made at once (a game, SSD-KD, an inversion in rounds), an
            unknown ``criterion``, a ``fraction`` outside (0, 1); at :meth:`split`, a set too small to split or a
            method that does not draw its batches through the StaticSet sampler.
    """

    def __init__(self, method, fraction: float = 0.2, criterion: str = "agreement", seed: int | None = 0):
        if criterion not in SELECTIONS:
            raise ValueError(f"select must be None or one of {SELECTIONS}, got {criterion!r}")
        if not (isinstance(fraction, (int, float)) and 0 < fraction < 1):
            raise ValueError(f"holdout must be a fraction in (0, 1), got {fraction!r}")
        if getattr(method, "made_at_once", False) is not True:  # only a StaticSet made at step 0 says so
            raise ValueError(f"data-free selection holds out part of a static transfer set, and {method.name} "
                             f"({type(method).__name__}) makes its data while the student trains; pass select=None")
        self.method, self.fraction, self.criterion = method, float(fraction), criterion
        seed = random.SystemRandom().randrange(2**62) if seed is None else seed + SPLIT_SEED
        self.generator = torch.Generator().manual_seed(seed)
        self.x = self.teacher_logits = self.best = None
        self.best_step: int | None = None

    def split(self, teacher: nn.Module) -> None:
        """Hold out ``fraction`` of the method's set (drawn with the seed) and restrict its sampler to the rest;
        the teacher's logits on the held-out inputs are the method's cached ones, or one forward pass."""
        m = self.method
        n = len(m.pool)
        k = round(self.fraction * n)
        if not 1 <= k < n:
            raise ValueError(f"holdout {self.fraction} of {n} transfer samples holds out {k}: at least one must be "
                             "held out and one kept")
        sampler = getattr(m, "sampler", None)
        if not hasattr(sampler, "generator") or getattr(sampler, "order", True) is not None:  # a fresh EpochSampler
            raise ValueError(f"{m.name} does not draw its batches through the StaticSet sampler; data-free selection "
                             "cannot hold part of its set out")
        perm = torch.randperm(n, generator=self.generator)
        held, keep = perm[:k].sort().values, perm[k:].sort().values
        m.sampler = _Restricted(keep, type(sampler)(len(keep), sampler.generator))
        idx = held.to(m.pool.device)
        self.x = m.pool[idx]
        cached = getattr(m, "logits", None)
        self.teacher_logits = cached[idx] if cached is not None else model_logits(teacher, self.x,
                                                                                  device=m.pool.device)

    @torch.no_grad()
    def measure(self, student: nn.Module) -> tuple[float, float]:
        """``(top-1 agreement in [0, 1], mean KL(teacher ‖ student) in nats at τ = 1)`` on the held-out slice."""
        s = model_logits(student, self.x, device=self.x.device)
        t = self.teacher_logits.float().cpu()
        return (s.argmax(1) == t.argmax(1)).float().mean().item(), per_sample_kl(s, t, 1.0).mean().item()

    def observe(self, hist, student: nn.Module) -> None:
        """At an evaluation (after ``hist`` recorded it): measure ``student``, record the numbers in ``hist``
        (``holdout_agreement``, ``holdout_kl``) and keep a copy of its weights when it is the best so far."""
        agree, kl = self.measure(student)
        hist.holdout_agreement.append(agree)
        hist.holdout_kl.append(kl)
        score = agree if self.criterion == "agreement" else -kl
        if self.best is None or score >= self.best[0]:
            self.best = (score, {k: v.detach().clone() for k, v in student.state_dict().items()})
            self.best_step = hist.step[-1]

    def restore(self, student: nn.Module, hist) -> None:
        """Load the selected weights into ``student`` and record the choice (``hist.selected_step``)."""
        if self.best is None:
            return
        student.load_state_dict(self.best[1])
        hist.selected_step = self.best_step

    def __repr__(self) -> str:
        return f"HoldOut(fraction={self.fraction}, criterion={self.criterion!r}, selected_step={self.best_step})"


class Fresh(HoldOut):
    """Data-free selection on fresh samples of a method that makes its data while the student trains (a generator
    game, DFME): at every evaluation the method makes ``n`` new samples from the same ``n`` latent codes
    (:meth:`~dfkd_book.methods.base.Method.fresh`, drawn from a generator of this selector's own, so the run is
    not changed), and the student is compared with the teacher on them — DeGAN's ``KD_dfgan.py`` rule, with the
    method's generator as it is at that evaluation. The teacher's answers on them are teacher queries (counted).

    Args:
        method: a method whose ``fresh`` makes samples. n: how many, ≥ 1. criterion, seed: as :class:`HoldOut`.

    Raises:
        ValueError: a method that cannot make fresh samples, ``n`` not a positive int, an unknown ``criterion``;
            at an evaluation, a method that made none.
    """

    def __init__(self, method, n: int = 1_024, criterion: str = "agreement", seed: int | None = 0):
        if criterion not in SELECTIONS:
            raise ValueError(f"select must be None or one of {SELECTIONS}, got {criterion!r}")
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError(f"fresh selection needs a positive number of samples, got {n!r}")
        if not can_make_fresh(method):
            raise ValueError(f"{method.name} ({type(method).__name__}) cannot make fresh samples for data-free "
                             "selection")
        self.method, self.n, self.criterion, self.fraction = method, n, criterion, None
        self.seed = random.SystemRandom().randrange(2**62) if seed is None else seed + SPLIT_SEED
        self.x = self.teacher_logits = self.best = self.teacher = None
        self.best_step: int | None = None

    def split(self, teacher: nn.Module) -> None:
        """Nothing is held out: keep the (query-counted) teacher that will label the fresh samples."""
        self.teacher = teacher

    def observe(self, hist, student: nn.Module) -> None:
        x = self.method.fresh(self.n, torch.Generator().manual_seed(self.seed))  # the same codes every time
        if x is None:
            raise ValueError(f"{self.method.name} made no fresh samples at step {hist.step[-1]}")
        self.x, self.teacher_logits = x, model_logits(self.teacher, x, device=x.device)
        super().observe(hist, student)

    def __repr__(self) -> str:
        return f"Fresh(n={self.n}, criterion={self.criterion!r}, selected_step={self.best_step})"


class Beside(HoldOut):
    """Data-free selection on inputs drawn **beside** the transfer set: nothing is held out of the set (the student
    trains on all of it), and every evaluation compares student and teacher on the given inputs ``x`` — e.g. a
    second, smaller draw of the same recipe's set. The same ``x`` for several restarts makes their scores
    comparable (:func:`dfkd_book.restarts.best_of`). The teacher's answers on ``x`` are one forward pass of
    queries (counted). No label is read.

    Args:
        method: any method (nothing of it is changed). x: the selection inputs (N, C, H, W) or (N, D), finite,
            N ≥ 1, as the teacher reads them. criterion, seed: as :class:`HoldOut` (the seed is not used).

    Raises:
        ValueError: ``x`` not a tensor of at least one finite input, an unknown ``criterion``.
    """

    def __init__(self, method, x: torch.Tensor, criterion: str = "agreement", seed: int | None = 0):
        if criterion not in SELECTIONS:
            raise ValueError(f"select must be None or one of {SELECTIONS}, got {criterion!r}")
        if not isinstance(x, torch.Tensor) or x.ndim < 2 or len(x) < 1 or not torch.isfinite(x.float()).all():
            got = f"shape {tuple(x.shape)}" if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"selection beside the set needs a tensor of N >= 1 finite inputs (N, ...), got {got}")
        self.method, self.criterion, self.fraction = method, criterion, None
        self.x = x.float() if x.dtype != torch.uint8 else x.float() / 255
        self.teacher_logits = self.best = None
        self.best_step: int | None = None

    def split(self, teacher: nn.Module) -> None:
        """Nothing is held out: the (query-counted) teacher answers the selection inputs once."""
        device = getattr(self.method, "pool", None)
        device = device.device if isinstance(device, torch.Tensor) else self.x.device
        self.x = self.x.to(device)
        self.teacher_logits = model_logits(teacher, self.x, device=device)

    def __repr__(self) -> str:
        return f"Beside(n={len(self.x)}, criterion={self.criterion!r}, selected_step={self.best_step})"


def can_make_fresh(method) -> bool:
    """Whether ``method`` makes fresh samples (:meth:`~dfkd_book.methods.base.Method.fresh`; its class says so
    with ``makes_fresh``)."""
    return getattr(method, "makes_fresh", False) is True and callable(getattr(method, "fresh", None))


def selector(method, holdout: float | torch.Tensor = 0.2, criterion: str = "agreement",
             seed: int | None = 0) -> HoldOut:
    """The data-free selection :func:`dfkd_book.distill` runs for ``select=criterion``: on inputs drawn beside
    the set when ``holdout`` is a tensor (:class:`Beside`), on a held-out ``holdout`` of a static transfer set
    (:class:`HoldOut`), or on fresh samples of a method that makes its data while the student trains and can make
    them (:class:`Fresh`). Raises ValueError as they do (a method that can do none of these: SSD-KD, an inversion
    in rounds, IDEAL, given no tensor)."""
    if isinstance(holdout, torch.Tensor):
        return Beside(method, holdout, criterion, seed)
    if getattr(method, "made_at_once", False) is not True and can_make_fresh(method):
        return Fresh(method, criterion=criterion, seed=seed)
    return HoldOut(method, holdout, criterion, seed)


def best_restart(runs, score: str = "holdout_agreement") -> dict:
    """Of several restarts of one student, the one whose selected student scores best with the teacher on its
    held-out slice: the data-free choice of DeGAN's rule (module docstring) carried from checkpoints to restarts.
    No label is read.

    Args:
        runs: records of the restarts, each with ``score``: the per-evaluation list :func:`dfkd_book.distill`
            recorded with ``select`` (``history.holdout_agreement`` or ``holdout_kl``, as a lever study keeps them).
        score: ``"holdout_agreement"`` (a restart scores its best, the highest) or ``"holdout_kl"`` (its lowest).

    Returns:
        the chosen run (ties: the earlier run).

    Raises:
        ValueError: no runs, an unknown score, or a run without evaluations of it.
    """
    if score not in ("holdout_agreement", "holdout_kl"):
        raise ValueError(f"score must be 'holdout_agreement' or 'holdout_kl', got {score!r}")
    runs = list(runs)
    if not runs or any(not r.get(score) for r in runs):
        raise ValueError(f"best_restart needs runs that each recorded {score} (distill with select=...); got "
                         f"{len(runs)} runs, {sum(not r.get(score) for r in runs)} without it")
    sign = 1 if score == "holdout_agreement" else -1
    best = max(range(len(runs)), key=lambda i: (max(sign * v for v in runs[i][score]), -i))
    return runs[best]

