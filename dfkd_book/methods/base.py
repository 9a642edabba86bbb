"""The contract every method keeps with the student loop (:func:`dfkd_book.distill`).

A data-free method is whatever turns a teacher (and perhaps some statistics) into batches for a student. The
families of this book differ in *when* they synthesise — once before training (a static transfer set: data
impressions, arbitrary sets, inverted images, real data), every few student steps (a generator game: ZSKT, DFAD),
or every round into a replay buffer (SSD-KD) — and the loop does not need to know which:

1. ``prepare(ctx, student)`` — once, with the shared frozen teacher (``ctx.teacher``, whose queries are counted),
   the input shape, K, the device, the budget and a seeded generator; adversarial methods also get the student.
2. ``synthesize(step, student)`` — before **every** student step; a method does work only when it wants to (a
   static set at step 0; a game every ``s_steps``; SSD-KD every ``kd_steps``).
3. ``batch(batch_size) -> Batch`` — the inputs of one student step, and optionally the teacher's logits on them,
   per-sample weights (importance-sampling weights), indices into the method's pool, hard labels, extras.
4. ``loss(batch, student_logits, teacher_logits, T) -> (B,)`` — the per-sample distillation loss; by default
   τ² · KL(softmax(t/τ) ‖ softmax(s/τ)) (Hinton et al. 2015); the games override it.
5. ``feedback(batch, losses)`` — the per-sample losses after the step (SSD-KD's priorities).
6. ``log()`` at every evaluation, ``close()`` at the end (hooks off).
7. ``fresh(n, generator)`` — optional: new samples of the kind the student trains on now, leaving the run as it
   was (data-free selection on fresh samples, :mod:`dfkd_book.selection`); the generator games and DFME make them.

``pool`` is the synthetic (or real) set the method made, when it keeps one; ``synthetic`` counts the samples it
made; ``seconds`` its synthesis wall time.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from ..kd import per_sample_kl


@dataclass
class Batch:
    """The inputs of one student step and what the method knows about them.

    Attributes:
        x: (B, *input shape) inputs in [0, 1] on the device.
        teacher_logits: (B, K) the teacher's logits on ``x`` when the method already has them (else the loop
            asks the teacher; with augmentation the loop always re-labels).
        weights: (B,) per-sample weights of the loss (importance-sampling weights), or None for 1.
        index: (B,) indices into the method's pool, or None.
        labels: (B,) int64 hard labels (real data), or None.
        extra: anything else the method's :meth:`Method.loss` reads (e.g. the teacher's activations).
    """

    x: torch.Tensor
    teacher_logits: torch.Tensor | None = None
    weights: torch.Tensor | None = None
    index: torch.Tensor | None = None
    labels: torch.Tensor | None = None
    extra: dict = field(default_factory=dict)


@dataclass
class Context:
    """What the student loop tells a method at :meth:`Method.prepare`.

    Attributes:
        teacher: the frozen, eval-mode teacher shared by the loop and the method (its queries are counted).
        input_shape: the shape of one input, e.g. (1, 32, 32) or (64,). num_classes: K.
        device: where everything runs. steps: the student's budget in optimiser steps. batch_size: the student's.
        T: the loop's temperature τ. seed: the run's seed (None: unseeded). generator: a seeded torch.Generator
            for the method's own sampling. progress: show progress bars. relabels: the loop re-labels every batch
            (augmentation is on), so cached teacher logits would be wasted. access: ``"white-box"`` (the teacher
            is a frozen module) or what a :class:`~dfkd_book.blackbox.TeacherAPI` answers (``"logits"``,
            ``"probs"``, ``"label"``); then ``teacher`` is its :class:`~dfkd_book.blackbox.LogitsView`.
    """

    teacher: nn.Module
    input_shape: tuple[int, ...]
    num_classes: int
    device: torch.device
    steps: int
    batch_size: int
    T: float
    seed: int | None
    generator: torch.Generator
    progress: bool = True
    relabels: bool = False
    access: str = "white-box"


class Method:
    """Base class of every method (see the module docstring for the contract).

    Class attributes: ``name`` (a label), ``kind`` (``'real'``, ``'synthetic'``, ``'arbitrary'``, ``'generated'``
    or ``'hybrid'``: what the transfer set is made of), ``access`` (the least it needs of the teacher:
    ``'white-box'``, ``'logits'``, ``'probs'`` or ``'label'``; :mod:`dfkd_book.blackbox`), ``makes_fresh``
    (whether :meth:`fresh` makes samples).
    """

    name = "method"
    kind = "synthetic"
    access = "white-box"
    makes_fresh = False

    def __init__(self) -> None:
        self.ctx: Context | None = None
        self.pool: torch.Tensor | None = None
        self.synthetic = 0
        self.seconds = 0.0
        self.warnings: list[str] = []

    def warn(self, message: str) -> None:
        """Record ``message`` in :attr:`warnings` (the :class:`~dfkd_book.loop.Result` shows them) and issue it as
        a ``UserWarning``."""
        self.warnings.append(message)
        warnings.warn(message, UserWarning, stacklevel=3)

    # ------------------------------------------------------------------ the contract
    def prepare(self, ctx: Context, student: nn.Module) -> None:
        """Called once before the first step. Raises ValueError when the method cannot serve this teacher."""
        self.ctx = ctx

    def synthesize(self, step: int, student: nn.Module) -> None:
        """Called before every student step ``step`` (0, 1, ...); does work only when the method needs it."""

    def batch(self, batch_size: int) -> Batch:
        """The next student batch."""
        raise NotImplementedError

    def loss(self, batch: Batch, student_logits: torch.Tensor, teacher_logits: torch.Tensor, T: float
             ) -> torch.Tensor:
        """Per-sample loss (B,): τ² · KL(softmax(t/τ) ‖ softmax(s/τ)) (ZSKD eq. 4 per sample); from a teacher that
        answers only its top-1 class (``ctx.access == "label"``), the cross-entropy to that class."""
        if self.ctx is not None and self.ctx.access == "label":
            return F.cross_entropy(student_logits, teacher_logits.argmax(1), reduction="none")
        return per_sample_kl(student_logits, teacher_logits, T)

    def feedback(self, batch: Batch, losses: torch.Tensor) -> None:
        """Per-sample losses (B,) of the step just taken (detached)."""

    def log(self) -> dict[str, float]:
        """Method-specific numbers to record at an evaluation (e.g. the generator's mean loss)."""
        return {}

    def close(self) -> None:
        """Called once after the last step (also after an error): take hooks off."""

    def fresh(self, n: int, generator: torch.Generator) -> torch.Tensor | None:
        """``n`` new samples (n, *input shape) of the kind the method trains the student on now, their randomness
        drawn from ``generator`` alone, leaving the run as it was (no draw from the run's random streams, no
        state changed): what data-free selection measures a student on (:class:`dfkd_book.selection.Fresh`).
        None (the default): the method cannot make them so (and its class's ``makes_fresh`` is False)."""
        return None

    def settings(self) -> dict:
        """The method's settings, for records (JSON-friendly)."""
        return {k: v for k, v in vars(self).items()
                if not k.startswith("_") and isinstance(v, (int, float, str, bool, tuple, list, type(None)))
                and k not in ("synthetic", "seconds", "warnings")}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.settings().items())
        return f"{type(self).__name__}({args})"


def as_inputs(x: torch.Tensor, what: str = "the transfer set") -> torch.Tensor:
    """Inputs as the book's teachers read them: float32, finite, images in [0, 1].

    uint8 images (0..255) are divided by 255; float64, float16 and bfloat16 inputs become float32. Images
    (N, C, H, W) must lie in [0, 1]; values a little outside (down to −0.5, up to 1.5: interpolation overshoot)
    pass, anything further is refused (e.g. floats in 0..255, or normalised images — per-dataset normalisation
    is the model's first layer). Inputs of other shapes (vectors) are only checked to be finite.

    Returns the input itself when it already is float32, else a converted copy.
    Raises TypeError for a non-tensor or an integer / bool / complex dtype other than uint8; ValueError for NaN
    or infinite values, or images outside [0, 1] (the message gives the range found)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{what} must be a tensor (N, *input shape), got {type(x).__name__}")
    if x.dtype == torch.uint8:
        x = x.float() / 255
    elif x.is_floating_point():
        x = x.float()
    else:
        raise TypeError(f"{what} must hold float inputs in [0, 1] (or uint8 images in 0..255), got {x.dtype}")
    bad = int((~torch.isfinite(x)).sum())
    if bad:
        raise ValueError(f"{what} holds {bad} NaN or infinite values (of {x.numel()}); inputs must be finite, "
                         "in [0, 1]")
    if x.ndim == 4 and len(x):
        lo, hi = float(x.min()), float(x.max())
        if lo < -0.5 or hi > 1.5:
            hint = " (images in 0..255? divide them by 255)" if hi > 2 else ""
            raise ValueError(f"{what}: inputs are images in [0, 1], got values in [{lo:.4g}, {hi:.4g}]{hint}")
    return x


class EpochSampler:
    """Indices 0..n−1 in shuffled passes: each call returns the next ``batch_size`` of the current pass (the last
    batch of a pass may be smaller), then a new permutation starts — epochs without counting them."""

    def __init__(self, n: int, generator: torch.Generator):
        if n < 1:
            raise ValueError(f"cannot sample from an empty pool (n = {n})")
        self.n, self.generator, self.order, self.pos = n, generator, None, n

    def __call__(self, batch_size: int) -> torch.Tensor:
        if self.pos >= self.n:
            self.order, self.pos = torch.randperm(self.n, generator=self.generator), 0
        idx = self.order[self.pos:self.pos + batch_size]
        self.pos += len(idx)
        return idx


class StaticSet(Method):
    """A method whose transfer set is made once, before the first student step: subclasses implement
    :meth:`make`, returning ``(inputs (N, *shape) in [0, 1], hard labels (N,) or None)``.

    Batches walk through the set in shuffled passes. Without augmentation the teacher's logits on the set are
    computed once (N teacher queries) and reused. The set is checked once, when the loop first takes it up
    (:func:`as_inputs`: float32, finite, images in [0, 1]; hard labels in [0, K)); :func:`dfkd_book.loop.transfer_set`
    makes it without a student.
    """

    labels: torch.Tensor | None = None
    #: whether the set is made against the student (then :func:`dfkd_book.loop.transfer_set` needs one)
    needs_student = False
    #: whether the whole set is made at step 0 (False: it grows while the student trains)
    made_at_once = True

    def make(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        raise NotImplementedError

    def prepare(self, ctx: Context, student: nn.Module) -> None:
        """Prepared again (another :func:`dfkd_book.distill` call), the method keeps the set it made and only
        asks the new teacher for its logits."""
        super().prepare(ctx, student)
        self.logits = self.sampler = None

    def synthesize(self, step: int, student: nn.Module) -> None:
        if self.pool is not None and self.sampler is not None:
            return
        ctx = self.ctx
        if self.pool is None:
            t0 = time.perf_counter()
            x, y = self.make()
            self.seconds = time.perf_counter() - t0
            self.pool, self.labels = x, y
            self.synthetic = len(x)
        x = self.pool
        if not isinstance(x, torch.Tensor) or x.ndim < 2 or len(x) == 0:
            raise ValueError(f"{self.name}: the transfer set must be a non-empty (N, *input shape) tensor, got "
                             f"{tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}")
        if tuple(x.shape[1:]) != tuple(ctx.input_shape):
            raise ValueError(f"{self.name}: the transfer set holds inputs of shape {tuple(x.shape[1:])}, but the "
                             f"teacher reads {tuple(ctx.input_shape)}")
        if self.labels is not None:
            y = self.labels
            if len(y) != len(x):
                raise ValueError(f"{self.name}: {len(y)} labels for {len(x)} inputs")
            if y.is_floating_point() or (len(y) and (int(y.min()) < 0 or int(y.max()) >= ctx.num_classes)):
                raise ValueError(f"{self.name}: hard labels must be classes in [0, {ctx.num_classes}), got "
                                 f"{y.dtype} in [{y.min().item():.4g}, {y.max().item():.4g}]")
        self.pool = as_inputs(x, f"{self.name}'s transfer set").to(ctx.device)
        if self.labels is not None:
            self.labels = self.labels.to(ctx.device)
        if not ctx.relabels:
            with torch.no_grad():
                self.logits = torch.cat([ctx.teacher(self.pool[i:i + 4096]) for i in range(0, len(self.pool), 4096)])
        self.sampler = EpochSampler(len(self.pool), ctx.generator)

    def batch(self, batch_size: int) -> Batch:
        idx = self.sampler(batch_size).to(self.pool.device)
        return Batch(x=self.pool[idx], teacher_logits=None if self.logits is None else self.logits[idx], index=idx,
                     labels=None if self.labels is None else self.labels[idx])


class TransferSet(StaticSet):
    """A transfer set given as a tensor: inputs (N, *input shape) in [0, 1], optionally hard labels (N,) (used
    only by the loop's λ · cross-entropy term). Use it to distil on inputs made beforehand (e.g. an
    :class:`~dfkd_book.synthesis.Synthesis`'s images) or on any set of your own.

    Inputs are converted and checked by :func:`as_inputs` (uint8 → /255, other floats → float32).

    Raises:
        TypeError: ``inputs`` is not a tensor, or of an integer dtype other than uint8. ValueError: an empty set,
            labels of the wrong length, NaN / infinite inputs, images outside [0, 1].
    """

    name = "transfer set"
    access = "label"  # a given set needs only the teacher's answers on it

    def __init__(self, inputs: torch.Tensor, labels: torch.Tensor | None = None, *, name: str | None = None,
                 kind: str = "synthetic"):
        super().__init__()
        if not isinstance(inputs, torch.Tensor):
            raise TypeError(f"inputs must be a tensor (N, *input shape), got {type(inputs).__name__}")
        if inputs.ndim < 2 or len(inputs) == 0:
            raise ValueError(f"inputs must be a non-empty (N, *input shape) tensor, got {tuple(inputs.shape)}")
        if labels is not None and len(labels) != len(inputs):
            raise ValueError(f"labels must have {len(inputs)} entries, got {len(labels)}")
        self.inputs, self.given_labels = as_inputs(inputs, f"the {name or self.name}"), labels
        self.name, self.kind = name or self.name, kind

    def make(self):
        return self.inputs, self.given_labels

    def settings(self) -> dict:
        return {"n": len(self.inputs), "name": self.name, "kind": self.kind}


@contextmanager
def left_as_is(module: nn.Module) -> Iterator[nn.Module]:
    """Use ``module`` and have its buffers (BN running statistics and counts) and every submodule's train / eval
    mode as they were afterwards: a generator drawn from outside the run (:meth:`Method.fresh`) changes nothing."""
    buffers = {k: v.clone() for k, v in module.named_buffers()}
    modes = [m.training for m in module.modules()]
    try:
        yield module
    finally:
        with torch.no_grad():
            for k, v in module.named_buffers():
                v.copy_(buffers[k])
        for m, mode in zip(module.modules(), modes):
            m.training = mode
