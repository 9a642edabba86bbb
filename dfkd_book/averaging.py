"""Weight averaging of the student, an option of the one student loop (``distill(average="ema" | "swa")``).

- ``"ema"``: an exponential moving average of the student's weights over every optimiser step,
  ``w̄ ← decay · w̄ + (1 − decay) · w`` (the first step copies) — iterate averaging (Polyak & Juditsky 1992,
  "Acceleration of stochastic approximation by averaging") with exponential weights.
- ``"swa"``: stochastic weight averaging (Izmailov et al. 2018, "Averaging Weights Leads to Wider Optima and Better
  Generalization", UAI): the equal-weight mean of the weights after every optimiser step from the fraction
  ``start`` of the budget on. The paper averages once per epoch under a cyclical or constant learning rate; here
  every step is averaged and the loop's schedule is left as it is (pass ``schedule="constant"`` for the paper's).

Both run on ``torch.optim.swa_utils.AveragedModel`` (``get_ema_multi_avg_fn`` for the EMA). The average keeps no
BN statistics of its own: a student with BatchNorm gets its running statistics recomputed on the last
:data:`BN_BATCHES` training batches (the transfer inputs as the student saw them, augmentation included) with
``torch.optim.swa_utils.update_bn`` whenever the average is evaluated — as SWA prescribes, since the mean of the
weights is a network the running statistics were never measured on.
"""

from __future__ import annotations

import math
from collections import deque

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn, update_bn

AVERAGES = ("ema", "swa")
#: training batches kept to recompute an average's BN statistics (the live student's BN momentum 0.1 weighs about
#: the last ten batches)
BN_BATCHES = 10


def has_batchnorm(model: nn.Module) -> bool:
    """Whether ``model`` holds a BatchNorm layer (whose running statistics an average must recompute)."""
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())


class WeightAverage:
    """A running average of ``student``'s weights, updated after every optimiser step.

    Args:
        student: the model being trained (its weights are read, never changed, until :meth:`restore`).
        kind: ``"ema"`` or ``"swa"`` (see the module docstring).
        steps: the budget in optimiser steps (SWA starts after ``⌊start · steps⌋`` of them).
        decay: the EMA's decay in (0, 1) (ignored by SWA); the average's memory is about 1 / (1 − decay) steps.
        start: SWA's start as a fraction of the budget in [0, 1) (ignored by the EMA).
        bn_batches: training batches kept to recompute BN statistics (only for a student with BatchNorm).

    Use: :meth:`record` each step's training inputs (B, *input shape), :meth:`update` after each optimiser step,
    :meth:`current` at an evaluation, :meth:`restore` at the end.

    Raises:
        ValueError: an unknown ``kind``, ``decay`` outside (0, 1), ``start`` outside [0, 1), ``steps`` < 1 or
            ``bn_batches`` < 1.
    """

    def __init__(self, student: nn.Module, kind: str, steps: int, decay: float = 0.999, start: float = 0.75,
                 bn_batches: int = BN_BATCHES):
        if kind not in AVERAGES:
            raise ValueError(f"average must be None or one of {AVERAGES}, got {kind!r}")
        if not (isinstance(decay, (int, float)) and 0 < decay < 1):
            raise ValueError(f"ema_decay must be in (0, 1), got {decay!r}")
        if not (isinstance(start, (int, float)) and 0 <= start < 1):
            raise ValueError(f"swa_start must be a fraction of the steps in [0, 1), got {start!r}")
        if not isinstance(steps, int) or steps < 1 or not isinstance(bn_batches, int) or bn_batches < 1:
            raise ValueError(f"steps and bn_batches must be ints >= 1, got {steps!r}, {bn_batches!r}")
        self.student, self.kind, self.decay, self.start = student, kind, float(decay), float(start)
        self.first = 0 if kind == "ema" else min(math.floor(start * steps), steps - 1)
        fn = get_ema_multi_avg_fn(self.decay) if kind == "ema" else None
        self.averaged = AveragedModel(student, multi_avg_fn=fn, use_buffers=False)
        self.averaged.eval()
        self.bn: deque | None = deque(maxlen=bn_batches) if has_batchnorm(student) else None
        self.calls = 0

    @property
    def count(self) -> int:
        """How many weight sets the average holds (0 before SWA starts)."""
        return int(self.averaged.n_averaged)

    def record(self, x: torch.Tensor) -> None:
        """Keep a training batch (B, *input shape) for recomputing BN statistics (a no-op without BatchNorm)."""
        if self.bn is not None:
            self.bn.append(x.detach())

    def update(self) -> None:
        """After an optimiser step: fold the student's weights into the average (from step ``first`` on)."""
        if self.calls >= self.first:
            self.averaged.update_parameters(self.student)
        self.calls += 1

    def current(self) -> nn.Module:
        """The model to evaluate now, in eval mode: the average (BN statistics recomputed on the kept batches), or
        the student itself while the average is empty (SWA before its start)."""
        if self.count == 0:
            return self.student
        model = self.averaged.module
        if self.bn:
            with torch.no_grad():
                update_bn(list(self.bn), model)
        return model.eval()

    def restore(self, student: nn.Module) -> None:
        """Load the average (as :meth:`current` gives it) into ``student``, in place."""
        model = self.current()
        if model is not student:
            student.load_state_dict(model.state_dict())

    def __repr__(self) -> str:
        what = f"decay={self.decay}" if self.kind == "ema" else f"start={self.start}"
        return f"WeightAverage({self.kind!r}, {what}, averaged={self.count})"
