"""Feature-statistics inversion: images reconstructed from what a teacher remembers of its training data.

Sources:

* **BN statistics** (DeepInversion, Yin et al., CVPR 2020; eq. 1 of SSD-KD, Liu et al., CVPR 2024, paper 003):
  every BatchNorm keeps the running mean and variance of its input over the training set — a free summary of
  the data. Forward hooks read the batch mean and variance of each BN's *input* on synthetic images x and the
  loss is Σ_l w_l (‖μ_l(x) − μ_l‖₂ + ‖σ²_l(x) − σ²_l‖₂), norms not squared, the first BN weighted more (×10).
* **Activation records** (Lopes et al., *Data-Free Knowledge Distillation for Deep Neural Networks*, 2017;
  paper 004 method 1): for a teacher without BN, the owner records the per-class mean and covariance of
  activations at a few layers on its data — a small metadata file shipped with the model. Inputs are
  reconstructed by sampling target activations (mean + L·z, L the Cholesky factor; the public code multiplied
  by the covariance itself), ReLU-ing them where the layer is ReLU-ed, and matching them, layers weighted by
  1/size.
* **Spectral feature matching** (paper 004 method 2): record the per-class mean spatial Fourier magnitude
  spectrum of every channel's activation map at chosen layers, and reconstruct by matching the spectra of the
  synthetic images' activations to the recorded ones. (The public code compared a sample with itself.)
* **DeepInversion**: BN statistics + cross-entropy to chosen classes + total variation + L2 on the pixels, an
  optional competition term (Jensen–Shannon divergence between teacher and student, "Adaptive DeepInversion"),
  random jitter and flips applied to a *copy* of the optimised batch, clipping to [0, 1], keeping the best batch.

What the owner records (activation and spectral records, saved and loaded) is in
:mod:`dfkd_book.methods.metadata`. All four plug their objective into the book's one pixel loop,
:func:`dfkd_book.synthesis.optimize_pixels`, and each is a method of :func:`dfkd_book.distill`
(:class:`BNInversion`, :class:`DeepInversion`, :class:`ActivationInversion`, :class:`SpectralInversion`).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..hooks import LayerOutputs, frozen_copy
from ..synthesis import (
    BNStatistics,
    Synthesis,
    balanced_labels,
    batchnorms,
    bn_statistics_loss,
    optimize_pixels,
    total_variation,
)
from .base import StaticSet
from .metadata import ActivationRecords, SpectralRecords, spectrum

__all__ = ["Inversion", "BNStatistics", "batchnorms", "bn_statistics_loss", "total_variation", "competition",
           "balanced_labels", "bn_inversion", "deep_inversion", "activation_inversion", "spectral_loss",
           "spectral_inversion", "BNInversion", "DeepInversion", "ActivationInversion", "SpectralInversion"]


#: what every inversion returns (images, labels, losses, steps, seconds, curve)
Inversion = Synthesis


# ------------------------------------------------------------------------------------------------ image priors
def competition(teacher_logits: torch.Tensor, student_logits: torch.Tensor, T: float = 3.0) -> torch.Tensor:
    """Adaptive DeepInversion's competition term: 1 − JS(p_T ‖ p_S) at temperature T, averaged over the batch.
    Minimising it pushes the images towards inputs on which teacher and student *disagree*."""
    p, q = F.softmax(teacher_logits / T, 1), F.softmax(student_logits / T, 1)
    m = (0.5 * (p + q)).clamp_min(1e-8)
    js = 0.5 * (p * (p.clamp_min(1e-8) / m).log()).sum(1) + 0.5 * (q * (q.clamp_min(1e-8) / m).log()).sum(1)
    return (1 - js.clamp(0, 1)).mean()


def invert(teacher: nn.Module, n: int, shape: Sequence[int] | None, objective, **kwargs) -> Inversion:
    """The pixel loop (:func:`dfkd_book.synthesis.optimize_pixels`) with DeepInversion's settings: Adam betas
    (0.5, 0.9), a cosine schedule, TV (1e-4) and L2 (1e-5) priors, jitter ≤ 2 px and flips of the teacher's view,
    the best batch kept (images; vectors get no image prior). ``objective`` may have an ``attach(teacher)``
    method registering its hooks (removed at the end). ``kwargs`` go to ``optimize_pixels``."""
    kwargs.setdefault("l2_weight", 1e-5)
    return optimize_pixels(teacher, n, objective, shape=shape, attach=getattr(objective, "attach", None), **kwargs)


# ------------------------------------------------------------------------------------------- the four methods
class _BNObjective:
    """BN statistics (× ``bn_weight``) + optional cross-entropy to the labels + optional competition."""

    def __init__(self, bn_weight=1.0, first_weight=10.0, ce_weight=0.0, student=None, competition_weight=0.0,
                 T=3.0):
        self.bn_weight, self.first_weight, self.ce_weight = bn_weight, first_weight, ce_weight
        self.student, self.competition_weight, self.T = student, competition_weight, T
        self.bn = None

    def attach(self, model):
        self.bn = BNStatistics(model, self.first_weight)
        return self.bn

    def __call__(self, view, logits, y, _lo):
        loss = self.bn_weight * self.bn.loss()
        if self.ce_weight:
            loss = loss + self.ce_weight * F.cross_entropy(logits, y)
        if self.competition_weight and self.student is not None:
            loss = loss + self.competition_weight * competition(logits, self.student(view), self.T)
        return loss


def bn_inversion(teacher: nn.Module, n: int, shape: Sequence[int] | None = None, *, bn_weight: float = 1.0,
                 first_weight: float = 10.0, **kwargs) -> Inversion:
    """BN-statistics matching alone: images whose batch statistics match every BN layer's running statistics,
    with no class asked for (the teacher labels them afterwards). ``kwargs`` go to :func:`invert`.
    Raises ValueError for a teacher without BatchNorm (pointing to activation records)."""
    BNStatistics(teacher, first_weight).remove()  # fails early, with the message, for a teacher without BN
    inv = invert(teacher, n, shape, _BNObjective(bn_weight, first_weight), name=kwargs.pop("name", "BN statistics"),
                 **kwargs)
    inv.labels = torch.full((n,), -1)
    return inv


def deep_inversion(teacher: nn.Module, n: int, shape: Sequence[int] | None = None, *, bn_weight: float = 1.0,
                   first_weight: float = 10.0, ce_weight: float = 1.0, student: nn.Module | None = None,
                   competition_weight: float = 0.0, T: float = 3.0, **kwargs) -> Inversion:
    """DeepInversion (Yin et al. 2020): BN statistics (× ``bn_weight``, first BN × ``first_weight``) +
    ``ce_weight`` · CE(teacher(x), label) + TV + L2 priors (see :func:`invert`), and with a ``student`` and
    ``competition_weight`` > 0, Adaptive DeepInversion's competition term at temperature T.
    Raises ValueError for a teacher without BatchNorm."""
    BNStatistics(teacher, first_weight).remove()
    if student is not None:
        student = frozen_copy(student, kwargs.get("device"))
    obj = _BNObjective(bn_weight, first_weight, ce_weight, student, competition_weight, T)
    return invert(teacher, n, shape, obj, name=kwargs.pop("name", "DeepInversion"), **kwargs)


# ------------------------------------------------------------------------------------------ activation records
class _RecordsObjective:
    """Σ_l (1/d_l) ‖a_l(x) − target_l‖² per image, averaged over the batch; targets sampled once per batch."""

    def __init__(self, records: ActivationRecords, labels: torch.Tensor, seed: int):
        self.records, self.taps = records, None
        g = torch.Generator().manual_seed(seed)
        self.targets = records.sample(labels, g)

    def attach(self, model):
        self.taps = LayerOutputs(model, self.records.layers)
        return self.taps

    def __call__(self, view, logits, y, lo):
        loss = 0.0
        for layer in self.records.layers:
            a = self.taps.out[layer].flatten(1)
            target = self.targets[layer][lo:lo + len(a)].to(a.device)
            loss = loss + (a - target).pow(2).sum(1).mean() / a.shape[1]
        return loss


def activation_inversion(teacher: nn.Module, records: ActivationRecords, n: int, shape: Sequence[int] | None = None,
                         *, labels: torch.Tensor | None = None, seed: int = 0, batch_size: int = 256,
                         **kwargs) -> Inversion:
    """Reconstruct ``n`` images from activation records (Lopes et al. 2017): per image, sample target activations
    of its class from the records (:meth:`ActivationRecords.sample`) and optimise x until the teacher's
    activations match them. ``kwargs`` go to :func:`invert` (jitter defaults to 0 here: a sampled activation
    belongs to one position).

    Raises ValueError when the records do not fit the teacher (another architecture, missing layers)."""
    records.check(teacher)
    labels = balanced_labels(n, records.num_classes) if labels is None else torch.as_tensor(labels).long()
    obj = _RecordsObjective(records, labels, seed)
    kwargs.setdefault("jitter", 0)
    kwargs.setdefault("flip", False)
    return invert(teacher, n, shape, obj, labels=labels, batch_size=batch_size, seed=seed,
                  name=kwargs.pop("name", "activation records"), **kwargs)


# ------------------------------------------------------------------------------------------- spectral records
def spectral_loss(acts: dict[str, torch.Tensor], targets: dict[str, torch.Tensor]) -> torch.Tensor:
    """Σ_l (1/size_l) ‖|F(a_l)| − S_l‖²_F per image, averaged over the batch (paper 004, method 2): a_l are
    activation maps (N, C, H, W), S_l target spectra (N, C, H, W // 2 + 1). Zero for identical spectra."""
    loss = 0.0
    for layer, target in targets.items():
        s = spectrum(acts[layer])
        if s.shape != target.shape:
            raise ValueError(f"layer {layer!r}: spectrum {tuple(s.shape)} vs target {tuple(target.shape)}")
        loss = loss + (s - target).pow(2).flatten(1).mean(1).mean()
    return loss



class _SpectralObjective:
    def __init__(self, records: SpectralRecords):
        self.records, self.taps = records, None

    def attach(self, model):
        self.taps = LayerOutputs(model, self.records.layers)
        return self.taps

    def __call__(self, view, logits, y, _lo):
        targets = {layer: self.records.mean[layer].to(y.device)[y] for layer in self.records.layers}
        return spectral_loss(self.taps.out, targets)


def spectral_inversion(teacher: nn.Module, records: SpectralRecords, n: int, shape: Sequence[int] | None = None,
                       **kwargs) -> Inversion:
    """Reconstruct ``n`` images whose activation spectra match the recorded class means (paper 004, method 2).
    Raises ValueError when the records do not fit the teacher."""
    records.check(teacher)
    return invert(teacher, n, shape, _SpectralObjective(records), name=kwargs.pop("name", "spectral"), **kwargs)


# ------------------------------------------------------------------------------------------------ the methods
class _InversionSet(StaticSet):
    """A static transfer set inverted from the teacher once, before the first student step."""

    kind = "synthetic"

    def __init__(self, n: int, **kwargs):
        super().__init__()
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be an int >= 1, got {n!r}")
        self.n, self.kwargs = n, dict(kwargs)
        self.inversion: Inversion | None = None

    def _common(self) -> dict:
        ctx = self.ctx
        return dict(seed=0 if ctx.seed is None else ctx.seed, device=ctx.device, progress=ctx.progress,
                    **self.kwargs)

    def make(self):
        self.inversion = self._invert()
        return self.inversion.images, None

    def settings(self) -> dict:
        return {"n": self.n, **{k: v for k, v in self.kwargs.items() if not isinstance(v, nn.Module)}}


class BNInversion(_InversionSet):
    """BN-statistics matching alone (:func:`bn_inversion`) as a method of :func:`dfkd_book.distill`.
    Keyword arguments go to :func:`bn_inversion` (bn_weight, first_weight, steps, lr, batch_size, tv_weight, ...).
    Raises ValueError at preparation for a teacher without BatchNorm."""

    name = "BN statistics"

    def prepare(self, ctx, student):
        super().prepare(ctx, student)
        BNStatistics(ctx.teacher).remove()  # fails now, with the message, for a teacher without BN

    def _invert(self):
        return bn_inversion(self.ctx.teacher, self.n, self.ctx.input_shape, **self._common())


class DeepInversion(_InversionSet):
    """DeepInversion (:func:`deep_inversion`) as a method of :func:`dfkd_book.distill`. Keyword arguments go to
    :func:`deep_inversion`.

    **Adaptive DeepInversion** (Yin et al. 2020, Sec. 3.3): with ``competition_weight`` > 0 the student is the
    competitor — at step 0 only (``rounds=1``), or, with ``rounds`` = R > 1, the student *in training*: the ``n``
    images are made in R rounds of about n/R, at student steps 0, S/R, 2S/R, ... (S the loop's steps), each round
    against a frozen copy of the student of that moment and added to the transfer set (round r seeded seed + r).

    Raises:
        ValueError: ``rounds`` not an int in [1, n]; at preparation, a teacher without BN.
    """

    name = "DeepInversion"

    def __init__(self, n: int, *, rounds: int = 1, **kwargs):
        super().__init__(n, **kwargs)
        if not isinstance(rounds, int) or not 1 <= rounds <= n:
            raise ValueError(f"rounds must be an int in [1, n={n}], got {rounds!r}")
        self.rounds = rounds
        self._parts: list[Synthesis] = []

    @property
    def needs_student(self) -> bool:
        return bool(self.kwargs.get("competition_weight"))

    @property
    def made_at_once(self) -> bool:
        return self.rounds == 1

    def prepare(self, ctx, student):
        super().prepare(ctx, student)
        BNStatistics(ctx.teacher).remove()
        self.student = student

    def _invert(self, n: int | None = None, seed_offset: int = 0):
        kw = self._common()
        kw["seed"] += seed_offset
        if kw.get("competition_weight"):
            kw.setdefault("student", self.student)
        return deep_inversion(self.ctx.teacher, self.n if n is None else n, self.ctx.input_shape, **kw)

    def synthesize(self, step, student):
        if self.rounds > 1:
            every = -(-self.ctx.steps // self.rounds)
            r = len(self._parts)
            if r < self.rounds and step >= r * every:  # this round's images, against the student of now
                self._parts.append(self._invert(self.n // self.rounds + (r < self.n % self.rounds), r))
                self.pool = self.sampler = None  # the set grows: StaticSet.synthesize takes it up below
        super().synthesize(step, student)
        if self.rounds > 1:
            self.seconds = self.inversion.seconds

    def make(self):
        if self.rounds == 1:
            return super().make()
        parts = self._parts
        self.inversion = Synthesis(torch.cat([p.images for p in parts]), torch.cat([p.labels for p in parts]),
                                   torch.cat([p.losses for p in parts]), parts[0].steps,
                                   sum(p.seconds for p in parts), parts[0].name, parts[-1].curve)
        return self.inversion.images, None

    def settings(self) -> dict:
        return {**super().settings(), "rounds": self.rounds}


class _FromRecords(_InversionSet):
    """An inversion from what the teacher's owner recorded (``records``), checked against the teacher."""

    records_type: type
    recorder = ""

    def __init__(self, records, n: int, **kwargs):
        if not isinstance(records, self.records_type):
            raise TypeError(f"records must be {self.records_type.__name__} ({self.recorder}), got "
                            f"{type(records).__name__}")
        super().__init__(n, **kwargs)
        self.records = records

    def prepare(self, ctx, student):
        super().prepare(ctx, student)
        self.records.check(ctx.teacher)

    def _invert(self):
        return type(self).invert_with(self.ctx.teacher, self.records, self.n, self.ctx.input_shape, **self._common())


class ActivationInversion(_FromRecords):
    """Activation records (Lopes et al. 2017; :func:`activation_inversion`) as a method of
    :func:`dfkd_book.distill`: ``records`` are what the teacher's owner recorded
    (:func:`dfkd_book.methods.metadata.record_activations`). Keyword arguments go to :func:`activation_inversion`.
    Raises ValueError at preparation when the records do not fit the teacher, TypeError when ``records`` is not
    :class:`~dfkd_book.methods.metadata.ActivationRecords`."""

    name = "activation records"
    records_type, recorder = ActivationRecords, "record_activations"
    invert_with = staticmethod(activation_inversion)


class SpectralInversion(_FromRecords):
    """Spectral records (:func:`spectral_inversion`) as a method of :func:`dfkd_book.distill`; ``records`` from
    :func:`dfkd_book.methods.metadata.record_spectra`. Keyword arguments go to :func:`spectral_inversion`. Raises
    ValueError at preparation when the records do not fit the teacher, TypeError when ``records`` is not
    :class:`~dfkd_book.methods.metadata.SpectralRecords`."""

    name = "spectral records"
    records_type, recorder = SpectralRecords, "record_spectra"
    invert_with = staticmethod(spectral_inversion)
