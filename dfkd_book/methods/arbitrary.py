"""Arbitrary transfer sets, made target-class balanced.

Source: Nayak et al., *Effectiveness of Arbitrary Transfer Sets for Data-free Knowledge Distillation*, WACV 2021
(paper 001 in ``../shared/papers``). Any images — noise, procedural pictures, unrelated datasets — can serve as a
transfer set, but the teacher sorts them into very unequal classes. Algorithm 1 of the paper keeps a candidate
only while the class the teacher predicts for it still has room (N / K per class), going through the sources in
order, until every class is full or the sources run dry.

The sources themselves (noise, shapes, photo patches, digits, faces, torchvision datasets, tensors, and the
paper's families) live in :mod:`dfkd_book.sources`; this module balances them (:func:`balance`) and makes the
method :class:`ArbitraryBalanced`.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from .. import config
from ..hooks import frozen_copy, input_shape
from ..kd import logits
from ..sources import BEYOND_FAMILIES, FAMILIES, Source, family, uniform_noise
from .base import StaticSet


@dataclass
class Balanced:
    """The result of :func:`balance`.

    Attributes:
        images: (M, C, H, W) the kept candidates, M ≤ n.
        labels: (M,) the teacher's predicted class of each (not used for distillation; for inspection).
        counts: (K,) kept per class; each ≤ the quota ``n // K``.
        quota: per-class quota.
        examined: candidates Algorithm 1 examined, in all — the one-at-a-time count: candidates after the one that
            filled the last open slot are not counted, even when the teacher classified them in the same batch.
        examined_per_source: ``{source name: candidates examined}``.
        kept_per_source: ``{source name: candidates kept}``.
        classified: candidates the teacher actually classified (≥ ``examined``: at most one batch more per source).
        seconds: wall time of the whole balancing (s).
    """

    images: torch.Tensor
    labels: torch.Tensor
    counts: torch.Tensor
    quota: int
    examined: int
    examined_per_source: dict = field(default_factory=dict)
    kept_per_source: dict = field(default_factory=dict)
    classified: int = 0
    seconds: float = 0.0

    @property
    def shortfall(self) -> torch.Tensor:
        """(K,) how many each class is short of its quota (all zeros when the set is full)."""
        return self.quota - self.counts

    @property
    def full(self) -> bool:
        return bool((self.shortfall == 0).all())

    @property
    def candidates_per_s(self) -> float:
        """Candidates the teacher classified per second of balancing."""
        return self.classified / self.seconds if self.seconds > 0 else float("nan")


def quota_keep(pred: torch.Tensor, room: torch.Tensor) -> torch.Tensor:
    """Algorithm 1's quota check for a whole batch at once: candidate ``i`` (in order) is kept when fewer than
    ``room[pred[i]]`` earlier candidates of the batch have the same predicted class — exactly what checking them
    one at a time against the counts would keep.

    Args: pred (B,) int64 predicted classes in [0, K); room (K,) int64 open slots per class (≥ 0).
    Returns (B,) bool. Raises ValueError for a class outside [0, K)."""
    if pred.numel() and (int(pred.min()) < 0 or int(pred.max()) >= len(room)):
        raise ValueError(f"predicted classes must be in [0, {len(room)}), got [{int(pred.min())}, {int(pred.max())}]")
    onehot = F.one_hot(pred, len(room))
    rank = (onehot.cumsum(0) * onehot).sum(1) - 1  # how many earlier candidates of the batch share the class
    return rank < room[pred]


@torch.no_grad()
def balance(teacher: nn.Module, sources: Sequence[Source], n: int, *, batch_size: int = 2048,
            max_candidates: int | None = None, device: torch.device | None = None) -> Balanced:
    """Algorithm 1 of paper 001: a target-class-balanced transfer set of ``n`` images from arbitrary sources.

    Sources are used in order. Each candidate is classified by the teacher and kept only if its predicted class
    has fewer than ``n // K`` kept so far; the algorithm stops as soon as every class is full, or when the sources
    are exhausted (finite sources) or ``max_candidates`` have been examined (each unlimited source may examine up
    to ``max_candidates``). A shortfall is reported in the result (``.shortfall``), never hidden.

    The teacher classifies full batches and the quota check is vectorised (:func:`quota_keep`); the kept set and
    the ``examined`` counts are those of the one-at-a-time algorithm on the same stream of candidates.

    Args:
        teacher: frozen classifier returning logits (B, K), or a black-box teacher's
            :class:`~dfkd_book.blackbox.LogitsView` (only its top-1 class is read).
        sources: :class:`Source` objects, in order of preference.
        n: target size (≥ K); the quota per class is ``n // K``.
        batch_size: candidates per teacher call.
        max_candidates: per-source cap on examined candidates (default: 100 × n for unlimited sources).

    Returns:
        :class:`Balanced`.

    Raises:
        ValueError: no sources, n < K, or a source giving inputs of another shape than the teacher's, or values
            outside [0, 1].
    """
    if not sources:
        raise ValueError("balance needs at least one source")
    t0 = time.perf_counter()
    device = device or config.device()
    if isinstance(teacher, nn.Module):
        teacher = frozen_copy(teacher, device)  # channels-last: about 2× the forward throughput on a CPU
        shape = input_shape(teacher, None, device)
    else:  # a black-box teacher's view (dfkd_book.blackbox.LogitsView): the input shape its API states
        shape = tuple(teacher.input_shape)
    cap = max_candidates if max_candidates is not None else 100 * n
    counts, quota = None, None
    kept_x, kept_y = [], []
    examined, classified, per_source, kept_source = 0, 0, {}, {}
    for src in sources:
        per_source.setdefault(src.name, 0)
        kept_source.setdefault(src.name, 0)
        seen = 0
        while seen < cap and not src.exhausted:
            if counts is not None and int((quota - counts).sum()) == 0:
                break
            x = src(min(batch_size, cap - seen))
            if len(x) == 0:
                break
            if tuple(x.shape[1:]) != shape or x.min() < 0 or x.max() > 1:
                raise ValueError(f"source {src.name!r} must give inputs (B, *{shape}) in [0, 1] (the teacher's "
                                 f"input shape); got shape {tuple(x.shape)}, range "
                                 f"[{float(x.min()):.3g}, {float(x.max()):.3g}]")
            z = logits(teacher, x, device=device)
            pred = z.argmax(1)
            classified += len(x)
            if counts is None:
                k = z.shape[1]
                if n < k:
                    raise ValueError(f"n must be at least the number of classes K = {k}, got {n}")
                quota = n // k
                counts = torch.zeros(k, dtype=torch.long)
            keep = quota_keep(pred, quota - counts)
            counts += torch.bincount(pred[keep], minlength=len(counts))
            used = len(x)
            if int((quota - counts).sum()) == 0:  # full: the one-at-a-time algorithm stopped at the last kept
                used = int(keep.nonzero().max()) + 1
            seen += used
            examined += used
            per_source[src.name] += used
            kept_x.append(x[keep])
            kept_y.append(pred[keep])
            kept_source[src.name] += int(keep.sum())
        if counts is not None and int((quota - counts).sum()) == 0:
            break
    if counts is None:
        raise ValueError("the sources gave no candidates at all")
    images = torch.cat(kept_x) if kept_x else torch.empty(0)
    labels = torch.cat(kept_y) if kept_y else torch.empty(0, dtype=torch.long)
    return Balanced(images, labels, counts, quota, examined, per_source, kept_source, classified,
                    round(time.perf_counter() - t0, 3))


def first(sources: Sequence[Source], n: int) -> torch.Tensor:
    """The first ``n`` candidates of ``sources`` in order, whatever the teacher calls them — the paper's
    unbalanced transfer sets. Returns (M, C, H, W), M = n unless the sources run dry.

    Raises ValueError for n < 1 or sources that give nothing."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    parts, got = [], 0
    for src in sources:
        while got < n and not src.exhausted:
            x = src(min(4096, n - got))
            if len(x) == 0:
                break
            parts.append(x)
            got += len(x)
    if not parts:
        raise ValueError("the sources gave no candidates at all")
    return torch.cat(parts)


@torch.no_grad()
def class_histogram(teacher: nn.Module, source: Source, n: int = 10_000, batch_size: int = 4096,
                    device: torch.device | None = None) -> torch.Tensor:
    """The teacher's predicted-class histogram on ``n`` candidates of ``source`` (paper 001, Fig. 2).

    Returns (K,) counts (int64). Raises ValueError for n < 1."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    device = device or config.device()
    teacher = frozen_copy(teacher, device)
    hist = None
    done = 0
    while done < n and not source.exhausted:
        x = source(min(batch_size, n - done))
        if len(x) == 0:
            break
        z = logits(teacher, x, device=device)
        h = torch.bincount(z.argmax(1), minlength=z.shape[1])
        hist = h if hist is None else hist + h
        done += len(x)
    if hist is None:
        raise ValueError(f"source {source.name!r} gave no candidates")
    return hist


# ------------------------------------------------------------------------------------------------- the method
def batch_statistics_teacher(teacher: nn.Module) -> nn.Module:
    """A copy of ``teacher`` whose BatchNorm layers normalise every batch by **that batch's own mean and
    variance** instead of the running statistics recorded on the training data — Raikwar & Mishra (NeurIPS 2022),
    *Discovering and Overcoming Limitations of Noise-engineered Data-free Knowledge Distillation*: noise
    shifts the teacher's hidden activations away from the statistics its BN layers expect, and normalising by the
    batch's statistics removes the shift (their code runs the teacher in train mode while it labels noise).

    The copy keeps the affine weights (γ, β) and drops the running buffers, so it never updates them and reads
    the same in train and eval mode; its outputs depend on the whole batch (use batches of ≥ 2). The caller's
    model is untouched. Pass the copy to :func:`dfkd_book.distill` as the teacher.

    Raises:
        TypeError: ``teacher`` is not an ``nn.Module``.
        ValueError: ``teacher`` has no BatchNorm layer (LeNet-5 has none; LeNet-5-BN does).
    """
    if not isinstance(teacher, nn.Module):
        raise TypeError(f"teacher must be a torch.nn.Module, got {type(teacher).__name__}")
    t = copy.deepcopy(teacher)
    norms = [m for m in t.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        raise ValueError(f"{type(teacher).__name__} has no BatchNorm layer: batch statistics need one "
                         "(Raikwar & Mishra 2022 correct the BN layers); use a teacher with BatchNorm, e.g. LeNet-5-BN")
    for m in norms:
        m.track_running_stats = False
        m.running_mean = m.running_var = m.num_batches_tracked = None
    return t


class ArbitraryBalanced(StaticSet):
    """An arbitrary transfer set made target-class balanced by Algorithm 1 (Nayak et al. 2021), as a method of
    :func:`dfkd_book.distill`: balanced once, before the first student step, then distilled on.

    Args:
        sources: the arbitrary sources in order of preference — a family name of :data:`FAMILIES` (its balanced
            sources, :func:`family`, built for the teacher's input shape); a tuple of family names (each family
            balanced to ``n`` on its own, the sets concatenated: each is balanced, so the union is too); a list
            of :class:`Source`; or a callable ``(input shape, seed) -> list of Source``. For a teacher of
            vectors, ``"noise"`` gives uniform noise of its shape.
        n: target size of each family's set (≥ K). max_candidates: per-source cap (see :func:`balance`).
        balanced: False gives the paper's *unbalanced* baseline instead: the first ``n`` candidates of each
            family's unbalanced source (:func:`family`; of the sources in order, for sources given as a list or
            a callable), kept whatever the teacher calls them.

    After :func:`dfkd_book.distill`, ``.balanced`` maps each family (or ``"sources"``) to its :class:`Balanced`
    result (counts, shortfall, composition; empty for an unbalanced set), ``.classes`` (N,) holds the
    teacher's predicted class of every image of the set, and ``.shortfall`` the images the set is short of its
    size (the per-class quotas of every family, or ``n`` per family unbalanced). A shortfall is never silent: it
    is issued as a ``UserWarning``, kept in the method's (and the Result's) ``warnings`` and logged in the
    history (``history.logs["shortfall"]``). Raises ValueError for an unknown family or n < 1
    (others as :func:`balance`).
    """

    name = "arbitrary balanced set"
    access = "label"  # balancing reads the teacher's top-1 class, distilling its answers
    kind = "arbitrary"

    def __init__(self, sources="noise", n: int = 8_000, *, max_candidates: int | None = None,
                 batch_size: int = 2048, balanced: bool = True):
        super().__init__()
        families = (sources,) if isinstance(sources, str) else sources
        self.families = tuple(families) if isinstance(families, tuple) or isinstance(sources, str) else None
        for fam in self.families or ():
            if fam not in FAMILIES + BEYOND_FAMILIES:
                raise ValueError(f"unknown family {fam!r}; expected one of {FAMILIES + BEYOND_FAMILIES}, a list of "
                                 "sources or a callable (shape, seed) -> sources")
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be an int >= 1, got {n!r}")
        self.sources, self.n, self.max_candidates, self.batch_size = sources, n, max_candidates, batch_size
        self.is_balanced = bool(balanced)
        self.balanced: dict[str, Balanced] = {}
        self.classes: torch.Tensor | None = None
        self.shortfall = 0
        if self.families:
            self.name = ("balanced " if self.is_balanced else "unbalanced ") + " + ".join(self.families)

    def _family(self, fam: str, shape, seed: int) -> list[Source]:
        if len(shape) != 3:
            if fam == "noise":
                return [uniform_noise(shape, seed + 1)] if self.is_balanced else [uniform_noise(shape, seed)]
            raise ValueError(f"the {fam!r} family is made of images, but this teacher reads inputs of shape "
                             f"{shape}; use 'noise' or your own sources")
        unbalanced, balanced = family(fam, shape, seed)
        return balanced if self.is_balanced else [unbalanced]

    def make(self):
        shape, seed = self.ctx.input_shape, 0 if self.ctx.seed is None else self.ctx.seed
        if self.families:
            groups = {fam: self._family(fam, shape, seed) for fam in self.families}
        elif callable(self.sources):
            groups = {"sources": list(self.sources(shape, seed))}
        else:
            groups = {"sources": list(self.sources)}
        if not self.is_balanced:
            self.balanced = {}
            parts = {key: first(srcs, self.n) for key, srcs in groups.items()}
            self.shortfall = sum(self.n - len(x) for x in parts.values())
            for key, x in parts.items():
                if len(x) < self.n:
                    self.warn(f"{self.name}: {key!r} gave {len(x):,} of the {self.n:,} images asked (its sources "
                              "ran dry)")
            x = torch.cat(list(parts.values()))
            self.classes = logits(self.ctx.teacher, x, device=self.ctx.device).argmax(1)  # no_grad inside
            return x, None
        self.balanced = {key: balance(self.ctx.teacher, srcs, self.n, batch_size=self.batch_size,
                                      max_candidates=self.max_candidates, device=self.ctx.device)
                         for key, srcs in groups.items()}
        self.shortfall = sum(int(b.shortfall.sum()) for b in self.balanced.values())
        for key, b in self.balanced.items():
            if not b.full:
                short = {c: int(v) for c, v in enumerate(b.shortfall.tolist()) if v}
                self.warn(f"{self.name}: {key!r} kept {len(b.images):,} of the {self.n:,} images asked "
                          f"({b.quota:,} per class); short per class {short} after {b.examined:,} candidates — "
                          "add sources or raise max_candidates")
        self.classes = torch.cat([b.labels for b in self.balanced.values()])
        return torch.cat([b.images for b in self.balanced.values()]), None

    def log(self) -> dict[str, float]:
        """``{"shortfall": images short of the set's size}`` (0 for a full set; see :attr:`shortfall`)."""
        return {"shortfall": float(self.shortfall)}

    def composition(self) -> dict:
        """How the set was made, per family (or ``"sources"``): kept and examined per source, kept per class and
        the shortfall; for an unbalanced set, the teacher's classes of the whole set. Raises RuntimeError before
        the set is made."""
        if self.classes is None:
            raise RuntimeError("the set is not made yet: it is made by dfkd_book.distill, before the first step")
        if not self.is_balanced:
            k = int(self.classes.max()) + 1
            return {"unbalanced": {"counts": torch.bincount(self.classes, minlength=k).tolist(),
                                   "n": len(self.classes)}}
        return {fam: {"kept_per_source": b.kept_per_source, "examined_per_source": b.examined_per_source,
                      "classified": b.classified, "seconds": b.seconds, "candidates_per_s": round(
                          b.candidates_per_s), "counts": b.counts.tolist(), "shortfall": int(b.shortfall.sum())}
                for fam, b in self.balanced.items()}

    def settings(self) -> dict:
        src = list(self.families) if self.families else "custom sources"
        return {"sources": src, "n": self.n, "max_candidates": self.max_candidates, "balanced": self.is_balanced}
