"""Hybrid transfer sets: several static methods' sets in one, in equal shares.

Each data-free source covers a different part of the teacher's input space: natural images that are not the
owner's (Nayak et al. 2021) carry real edges and textures, data impressions (Nayak et al. 2019) and inverted
images (Yin et al. 2020) carry what the teacher itself finds typical of a class. A hybrid set puts them together,
so the student is taught on all of them: every part's set is made with the same teacher, in order, and repeated
(or cut) to the size of the largest part, so each part fills an equal share of the set — and, on average, of every
batch.
"""

from __future__ import annotations

import time

import torch
from torch import nn

from ..blackbox import LEVELS
from .base import Context, StaticSet


class Hybrid(StaticSet):
    """Several static transfer sets as one, each an equal share, as a method of :func:`dfkd_book.distill`.

    Args:
        parts: two or more parts, each a :class:`~dfkd_book.methods.base.StaticSet` method made at once and not
            against the student (e.g. :class:`~dfkd_book.methods.ArbitraryBalanced`,
            :class:`~dfkd_book.methods.DataImpressions`, :class:`~dfkd_book.methods.DeepInversion` without
            competition), or a ``(registry name, keyword arguments)`` pair of :func:`dfkd_book.methods.get`.

    After the set is made, ``.sizes`` holds each part's own size (before the repetition) and ``.seconds_per_part``
    the seconds each took; the teacher queries of every part are counted by the loop as usual. Hard labels of the
    parts are dropped (the teacher labels the set). The set has ``len(parts) × max(sizes)`` inputs, (N, *input
    shape) in [0, 1].

    Raises:
        ValueError: fewer than two parts; a part that is not a static set made at once, or one made against the
            student (then it cannot be made before the first step); others as each part's own method.
    """

    name = "hybrid set"
    kind = "hybrid"

    def __init__(self, parts):
        super().__init__()
        from . import get

        if isinstance(parts, (str, bytes)) or not hasattr(parts, "__iter__"):
            raise ValueError(f"parts must be a sequence of static methods or (name, settings) pairs, got {parts!r}")
        built = []
        for p in parts:
            if isinstance(p, (tuple, list)) and len(p) == 2 and isinstance(p[0], str) and isinstance(p[1], dict):
                p = get(p[0], **p[1])
            if not isinstance(p, StaticSet) or not p.made_at_once or p.needs_student:
                raise ValueError(f"each part must be a static set made at once, before the student trains (not "
                                 f"against it); got {p!r}")
            built.append(p)
        if len(built) < 2:
            raise ValueError(f"a hybrid set needs at least two parts, got {len(built)}")
        self.parts = built
        self.access = min((p.access for p in built), key=LEVELS.index)  # what its most demanding part needs
        self.sizes: list[int] = []
        self.seconds_per_part: list[float] = []
        self.name = "hybrid: " + " + ".join(p.name for p in built)

    def prepare(self, ctx: Context, student: nn.Module) -> None:
        super().prepare(ctx, student)
        self._student = student

    def make(self):
        sets = []
        for p in self.parts:
            t0 = time.perf_counter()
            p.prepare(self.ctx, self._student)
            try:
                x, _ = p.make()
            finally:
                p.close()
            self.seconds_per_part.append(round(time.perf_counter() - t0, 1))
            sets.append(x.detach().to(self.ctx.device, torch.float32))
        self.sizes = [len(x) for x in sets]
        size = max(self.sizes)
        return torch.cat([x.repeat(-(-size // len(x)), *[1] * (x.ndim - 1))[:size] for x in sets]), None

    def settings(self) -> dict:
        return {"parts": [{"method": type(p).__name__, **p.settings()} for p in self.parts]}
