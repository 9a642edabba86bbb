"""The best of several restarts, an option beside the one student loop: train a few students on one static transfer
set, each holding out its own slice (or all scored on inputs drawn beside the set), and keep the one the teacher
agrees with most there — the data-free selection of :mod:`dfkd_book.selection` (DeGAN's rule, Addepalli et al.
2020) carried from checkpoints to restarts. No label of any data set is read. Chapter 7 builds the book's own
recipe with it; Appendix A measures it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from . import config
from .blackbox import TeacherAPI
from .loop import distill, transfer_set
from .selection import SELECTIONS, Beside, best_restart


@dataclass
class BestOf:
    """What :func:`best_of` returns: the kept restart, read like a :class:`dfkd_book.loop.Result` (``student``,
    ``history``, ``method``, ``pool``, ``final_acc`` are the kept restart's), and what the restarts cost together.

    Attributes:
        results: every restart's result, in order. kept: the index of the kept one. seeds: each restart's seed.
        scores: each restart's selected held-out score (top-1 agreement in [0, 1], or KL in nats).
        steps: student optimiser steps over all restarts. teacher_queries: ``{"forward", "backward"}`` in samples,
        the set's making and every restart. seconds: distillation seconds over all restarts (the set's making is
        ``method.seconds``).
    """

    results: list
    kept: int
    seeds: list[int]
    scores: list[float]
    steps: int
    teacher_queries: dict
    seconds: float

    @property
    def result(self):
        return self.results[self.kept]

    def __getattr__(self, name: str):  # student, history, method, pool, final_acc, warnings: the kept restart's
        if name.startswith("__") or name == "results":
            raise AttributeError(name)
        return getattr(self.results[self.kept], name)


def best_of(teacher, make_student: Callable[[], nn.Module], method, restarts: int = 3, *, seed: int = 0,
            select: str = "agreement", holdout: float | torch.Tensor = 0.2, checkpoints: bool = True,
            **distill_kwargs) -> BestOf:
    """Train ``restarts`` students on one static transfer set, each holding out its own slice, and keep the one
    whose selected student agrees best with the teacher on its slice (lowest KL with ``select="kl"``): DeGAN's rule
    (:mod:`dfkd_book.selection`) carried from checkpoints to restarts (:func:`~dfkd_book.selection.best_restart`).
    No label is read.

    The set is made once (:func:`dfkd_book.loop.transfer_set`, seeded with ``seed``); restart ``k`` is seeded with
    ``seed * restarts + k`` (its student's initial weights, its batches and its held-out slice), so the seeds of
    two calls never overlap.

    Args:
        teacher: a classifier returning logits (N, K), or a :class:`~dfkd_book.blackbox.TeacherAPI`.
        make_student: returns a fresh student (called after seeding, once per restart).
        method: a :class:`~dfkd_book.methods.base.StaticSet` made at once (an arbitrary set, impressions, an
            inversion, a given tensor).
        restarts: how many students, ≥ 1. select, holdout: as :func:`dfkd_book.distill` (``"agreement"`` or
            ``"kl"``; the held-out fraction in (0, 1) — each restart holds out its own slice — or a tensor of
            inputs drawn beside the set, the same for every restart, nothing held out).
        checkpoints: True: each restart is its data-free-selected checkpoint, scored by it. False: each restart
            is its final student (no checkpoint is chosen), scored once on ``holdout``, which must then be a tensor
            of inputs beside the set (the teacher answers them once; counted).
        distill_kwargs: the student's protocol and the rest of :func:`dfkd_book.distill`'s keywords (``steps``,
            ``batch_size``, ``eval_set`` — evaluated for the history only, never for the choice — ...).

    Returns:
        :class:`BestOf`.

    Raises:
        ValueError: ``restarts`` not a positive int, ``select`` not one of
            :data:`~dfkd_book.selection.SELECTIONS`, ``checkpoints=False`` without a tensor ``holdout``; whatever
            :func:`~dfkd_book.loop.transfer_set` or :func:`~dfkd_book.distill` raise (a method that makes its
            data while the student trains, a bad holdout).
    """
    if not isinstance(restarts, int) or isinstance(restarts, bool) or restarts < 1:
        raise ValueError(f"restarts must be a positive int, got {restarts!r}")
    if select not in SELECTIONS:
        raise ValueError(f"select must be one of {SELECTIONS}, got {select!r}")
    if not checkpoints and not isinstance(holdout, torch.Tensor):
        raise ValueError("checkpoints=False scores each restart's final student on inputs beside the set: holdout "
                         f"must be a tensor of them, got {type(holdout).__name__}")
    transfer_set(teacher, method, seed=seed, device=distill_kwargs.get("device"),
                 progress=distill_kwargs.get("progress", True))
    queries = dict(method.queries)
    seeds = [seed * restarts + k for k in range(restarts)]
    results = []
    if not checkpoints:
        return _best_final(teacher, make_student, method, seeds, select, holdout, queries, distill_kwargs)
    for s in seeds:
        config.seed_everything(s)
        results.append(distill(teacher, make_student(), method, seed=s, select=select, holdout=holdout,
                               **distill_kwargs))
        for k, v in results[-1].teacher_queries.items():
            queries[k] = queries.get(k, 0) + v
    score = "holdout_agreement" if select == "agreement" else "holdout_kl"
    runs = [{score: getattr(r.history, score)} for r in results]
    chosen = best_restart(runs, score)
    kept = next(i for i, r in enumerate(runs) if r is chosen)
    sign = 1 if score == "holdout_agreement" else -1
    return BestOf(results, kept, seeds, [sign * max(sign * v for v in r[score]) for r in runs],
                  sum(r.steps for r in results), queries, sum(r.history.seconds for r in results))


def _best_final(teacher, make_student, method, seeds, select, x, queries, distill_kwargs) -> BestOf:
    """:func:`best_of` with ``checkpoints=False``: every restart trains to its final student on the whole set; the
    teacher answers ``x`` once (counted) and the restart whose final student agrees best with it there (lowest
    KL with ``select="kl"``; ties: the earlier) is kept."""
    judge = Beside(method, x, select)
    judge.split(teacher.view() if isinstance(teacher, TeacherAPI) else teacher)
    queries["forward"] = queries.get("forward", 0) + len(judge.x)
    results = []
    for s in seeds:
        config.seed_everything(s)
        results.append(distill(teacher, make_student(), method, seed=s, **distill_kwargs))
        for k, v in results[-1].teacher_queries.items():
            queries[k] = queries.get(k, 0) + v
    scores = [judge.measure(r.student)[0 if select == "agreement" else 1] for r in results]
    sign = 1 if select == "agreement" else -1
    kept = max(range(len(scores)), key=lambda i: (sign * scores[i], -i))
    return BestOf(results, kept, seeds, scores, sum(r.steps for r in results), queries,
                  sum(r.history.seconds for r in results))


def runs_of(runs: list[dict], recipe: str, lever: str, budget) -> list[dict]:
    """A lever study's runs of one ``recipe``, ``lever`` and student ``budget`` (steps, or ``"recipe"``), in seed
    order: the restarts :func:`kept_final_students` and :func:`kept_selected` group (e.g. of
    ``records.load_runs("generalise")``). An empty list where none ran. Raises KeyError for a run without
    ``recipe``, ``lever``, ``budget`` or ``seed``."""
    return sorted((r for r in runs if (r["recipe"], r["lever"], r["budget"]) == (recipe, lever, budget)),
                  key=lambda r: r["seed"])


def kept_final_students(runs: list[dict], size: int = 3) -> list[dict]:
    """A lever study's runs of one set (seeds in order) as groups of ``size`` restarts, each group keeping the run
    whose *final* student agreed best with the teacher on the inputs beside the set — the choice
    ``best_of(..., checkpoints=False)`` makes, replayed from the records. No label is read to choose.

    Args:
        runs: records with ``seed``, ``holdout_agreement`` (per evaluation, the last is the final student's) and
            ``curve["val_acc"]`` (%, per evaluation), e.g. the ``generalise`` study's "beside the set" lever.
        size: restarts per group, ≥ 1; runs past the last whole group are left out.

    Returns:
        one dict per group: ``seeds``, ``kept`` (the kept run's final validation %), ``at_random`` (the group's
        mean final validation %), ``by_labels`` (the best final validation %, which reads labels).

    Raises:
        ValueError: fewer runs than ``size``, or a run without evaluations.
    """
    def final_agreement(g):
        return max(range(size), key=lambda j: (g[j]["holdout_agreement"][-1], -j))

    return _kept(runs, size, final_agreement, lambda r: r["curve"]["val_acc"][-1])


def kept_selected(runs: list[dict], size: int = 3) -> list[dict]:
    """As :func:`kept_final_students`, each group keeping the run whose *data-free-selected checkpoint* agreed best
    with the teacher on its held-out inputs (:func:`~dfkd_book.selection.best_restart`) — the choice
    ``best_of(..., checkpoints=True)`` makes, chapter 7's rule where each restart holds out its own slice.
    ``kept`` is that run's selected student (its ``val_acc``, %); ``at_random`` and ``by_labels`` read the final
    students, as :func:`kept_final_students`. Raises ValueError as it does."""
    def selected(g):
        return g.index(best_restart(g))

    return _kept(runs, size, selected, lambda r: r["val_acc"])


def _kept(runs, size, choose, kept_acc) -> list[dict]:
    runs = sorted(runs, key=lambda r: r["seed"])
    if not isinstance(size, int) or size < 1 or len(runs) < size:
        raise ValueError(f"need at least one group of {size!r} runs, got {len(runs)}")
    if any(not r.get("holdout_agreement") or not r["curve"]["val_acc"] for r in runs):
        raise ValueError("every run needs its per-evaluation holdout_agreement and validation curve")
    out = []
    for i in range(0, len(runs) - size + 1, size):
        g = runs[i:i + size]
        final = [r["curve"]["val_acc"][-1] for r in g]
        out.append({"seeds": [r["seed"] for r in g], "kept": kept_acc(g[choose(g)]), "at_random": sum(final) / size,
                    "by_labels": max(final)})
    return out
