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

All four plug their objective into the book's one pixel loop, :func:`dfkd_book.synthesis.optimize_pixels`,
and each is a method of :func:`dfkd_book.distill` (:class:`BNInversion`, :class:`DeepInversion`,
:class:`ActivationInversion`, :class:`SpectralInversion`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .. import config
from ..hooks import Hooks, LayerOutputs, frozen_copy, named_layers
from ..kd import images_labels
from ..synthesis import Synthesis, balanced_labels, optimize_pixels, total_variation
from .base import StaticSet

__all__ = ["Inversion", "BNStatistics", "bn_statistics_loss", "total_variation", "competition", "balanced_labels",
           "bn_inversion", "deep_inversion", "ActivationRecords", "record_activations", "activation_inversion",
           "spectrum", "spectral_loss", "SpectralRecords", "record_spectra", "spectral_inversion",
           "BNInversion", "DeepInversion", "ActivationInversion", "SpectralInversion"]


#: what every inversion returns (images, labels, losses, steps, seconds, curve)
Inversion = Synthesis


# ------------------------------------------------------------------------------------------------ BN statistics
def batchnorms(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The model's BatchNorm layers (1-D, 2-D, 3-D) in forward order of registration, as (name, module)."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


class BNStatistics(Hooks):
    """Forward hooks on every BatchNorm of ``model`` that measure how far the batch statistics of each BN's input
    are from its running statistics (DeepInversion; SSD-KD eq. 1).

    After a forward pass, :meth:`loss` is Σ_l w_l (‖μ_l(x) − running_mean_l‖₂ + ‖σ²_l(x) − running_var_l‖₂),
    with μ, σ² over all axes but the channel axis (biased variance, as BN normalises with), w_1 = ``first_weight``
    and w_l = 1 for the others. Use as a context manager, or call :meth:`remove`.

    Raises:
        ValueError: the model has no BatchNorm layer (then its training left no running statistics — record
            activations on the owner's data instead: :func:`record_activations`).
    """

    def __init__(self, model: nn.Module, first_weight: float = 10.0):
        bns = batchnorms(model)
        if not bns:
            raise ValueError(f"{type(model).__name__} has no BatchNorm layer, so there are no running statistics "
                             "to match; for a teacher without BN, record activation statistics on the owner's data "
                             "with inversion.record_activations() and use activation records instead")
        if not first_weight > 0:
            raise ValueError(f"first_weight must be > 0, got {first_weight}")
        self.names = [n for n, _ in bns]
        self.weights = [first_weight] + [1.0] * (len(bns) - 1)
        self.terms: list[torch.Tensor | None] = [None] * len(bns)
        self.handles = [m.register_forward_hook(self._hook(i)) for i, (_, m) in enumerate(bns)]

    def _hook(self, i: int):
        def hook(module, inputs, _output):
            x = inputs[0]
            dims = [0] + list(range(2, x.ndim))
            mean, var = x.mean(dims), x.var(dims, unbiased=False)
            self.terms[i] = (torch.linalg.vector_norm(mean - module.running_mean)
                             + torch.linalg.vector_norm(var - module.running_var))
        return hook

    def loss(self) -> torch.Tensor:
        """The weighted sum over BN layers for the last forward pass (a scalar). Raises RuntimeError before one."""
        if any(t is None for t in self.terms):
            raise RuntimeError("run a forward pass of the model before asking for the BN-statistics loss")
        return sum(w * t for w, t in zip(self.weights, self.terms))

    def per_layer(self) -> dict[str, float]:
        """Each BN layer's unweighted term for the last forward pass."""
        return {n: float(t.detach()) for n, t in zip(self.names, self.terms) if t is not None}



def bn_statistics_loss(model: nn.Module, x: torch.Tensor, first_weight: float = 10.0) -> torch.Tensor:
    """The BN-statistics loss of ``model`` (in eval mode) on a batch x (N, C, H, W): see :class:`BNStatistics`."""
    with BNStatistics(model, first_weight) as bn:
        model(x)
        return bn.loss()


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
def _signature(model: nn.Module) -> dict:
    """What identifies an architecture: its class and the name and shape of every parameter and buffer."""
    return {"class": type(model).__name__,
            "tensors": {n: list(p.shape) for n, p in (*model.named_parameters(), *model.named_buffers())}}


@dataclass
class ActivationRecords:
    """Per-class mean and covariance of a teacher's activations at named layers (Lopes et al. 2017).

    Attributes:
        layers: the layer names (``model.named_modules()`` names), in order.
        mean: layer → (K, d) per-class means of the flattened activations.
        cov: layer → (K, d, d) per-class covariances (biased).
        shapes: layer → the activation's shape for one sample.
        nonnegative: layer → whether every recorded activation was ≥ 0 (a ReLU-ed layer): sampled targets are
            then ReLU-ed too.
        counts: (K,) samples per class. signature: the architecture (see :meth:`check`).
        joint: ``None``, or (``record_activations(..., joint=True)``) ``{"mean": (K, D), "cov": (K, D, D)}``, the
            per-class mean and covariance of every layer's flattened activations concatenated in ``layers`` order
            (D = Σ d_l): what :meth:`sample` needs to draw targets that agree with each other across layers.
    """

    layers: list[str]
    mean: dict[str, torch.Tensor]
    cov: dict[str, torch.Tensor]
    shapes: dict[str, list[int]]
    nonnegative: dict[str, bool]
    counts: torch.Tensor
    signature: dict
    joint: dict[str, torch.Tensor] | None = None

    @property
    def num_classes(self) -> int:
        return len(self.counts)

    def nbytes(self) -> int:
        """The size of the statistics in bytes (float32)."""
        joint = 0 if self.joint is None else sum(4 * t.numel() for t in self.joint.values())
        return joint + sum(4 * (m.numel() + c.numel()) for m, c in zip(self.mean.values(), self.cov.values()))

    def check(self, model: nn.Module) -> None:
        """Raise ValueError unless ``model`` has the recorded architecture and layers."""
        sig = _signature(model)
        if sig != self.signature:
            theirs, ours = self.signature["class"], sig["class"]
            diff = sorted(set(map(str, sig["tensors"].items())) ^ set(map(str, self.signature["tensors"].items())))
            raise ValueError(f"these records were made for a {theirs}, not this {ours} (or for different layer "
                             f"sizes); first differences: {diff[:4]}")
        named_layers(model, self.layers)

    def sample(self, labels: torch.Tensor, generator: torch.Generator | None = None, jitter: float = 1e-4,
               joint: bool | None = None) -> dict[str, torch.Tensor]:
        """Target activations for the given classes: μ_c + L_c z with L_c the Cholesky factor of Σ_c + εI and z
        standard normal (not Σ_c z: the public code's bug), ReLU-ed for non-negative layers.

        Lopes et al. 2017 (and this book's default before joint records) draw each layer on its own, so that an
        image's targets at two layers need not agree with each other although one layer is a function of the
        other. With ``joint`` (default: whenever the records have :attr:`joint`), all layers come from one draw of
        the concatenated Gaussian, which keeps their recorded correlations.

        Returns layer → (n, d). Raises ValueError for ``joint=True`` on records made without ``joint=True``."""
        labels = torch.as_tensor(labels).long()
        joint = self.joint is not None if joint is None else joint
        if joint and self.joint is None:
            raise ValueError("these records hold no joint statistics: record them with "
                             "record_activations(..., joint=True), or sample with joint=False")
        if joint:
            a = _gaussian(self.joint["mean"], self.joint["cov"], labels, generator, jitter)
            parts = dict(zip(self.layers, a.split([self.mean[layer].shape[1] for layer in self.layers], dim=1)))
        else:
            parts = {layer: _gaussian(self.mean[layer], self.cov[layer], labels, generator, jitter)
                     for layer in self.layers}
        return {layer: a.clamp_min(0) if self.nonnegative[layer] else a for layer, a in parts.items()}

    def save(self, path: str | Path) -> Path:
        """Write the records atomically (a torch file of plain tensors and lists)."""
        blob = {k: getattr(self, k) for k in ("layers", "mean", "cov", "shapes", "nonnegative", "counts",
                                              "signature", "joint") if getattr(self, k) is not None}
        return config.atomic_write(path, lambda f: torch.save(blob, f))

    @classmethod
    def load(cls, path: str | Path) -> ActivationRecords:
        """Read records written by :meth:`save`. Raises ValueError for a file that is not one."""
        blob = torch.load(path, map_location="cpu", weights_only=True)
        need = {"layers", "mean", "cov", "shapes", "nonnegative", "counts", "signature"}
        if not isinstance(blob, dict) or not need <= set(blob) <= need | {"joint"}:
            raise ValueError(f"{path} is not an activation-records file (expected keys {sorted(need)}, "
                             "and optionally 'joint')")
        return cls(**blob)


def _gaussian(mu: torch.Tensor, cov: torch.Tensor, labels: torch.Tensor, generator: torch.Generator | None,
              jitter: float) -> torch.Tensor:
    """Draws μ_c + L_c z, (n, d), for per-class means (K, d) and covariances (K, d, d); L_c is the Cholesky factor
    of Σ_c plus ``jitter`` × its mean variance on the diagonal."""
    eye = torch.eye(cov.shape[-1])
    L = torch.linalg.cholesky(cov + jitter * eye * cov.diagonal(dim1=1, dim2=2).mean(1)[:, None, None]
                              + 1e-8 * eye)
    z = torch.randn(len(labels), cov.shape[-1], generator=generator)
    return mu[labels] + torch.einsum("nij,nj->ni", L[labels], z)


def _owner_pass(teacher: nn.Module, data, layers: Sequence[str], batch_size: int, device):
    """The teacher's owner's one pass over its labelled data: yields ``(activations {layer: tensor}, labels,
    one-hot labels (B, K) float64)`` per batch, from a frozen copy with hooks on ``layers`` (removed at the end).
    K is the largest label + 1."""
    x, y = images_labels(data)
    t = frozen_copy(teacher, device)
    taps = LayerOutputs(t, layers)
    k = int(y.max()) + 1
    try:
        for lo in range(0, len(x), batch_size):
            t(x[lo:lo + batch_size].to(device))
            yb = y[lo:lo + batch_size].to(device)
            yield taps.out, yb, F.one_hot(yb, k).double()
    finally:
        taps.remove()


_JOINT = "\0joint"  # the key of the concatenated layers in record_activations' sums


@torch.no_grad()
def record_activations(teacher: nn.Module, data, layers: Sequence[str], batch_size: int = 1024,
                       device: torch.device | None = None, joint: bool = False) -> ActivationRecords:
    """What the teacher's owner records on its own data: per-class mean and covariance of the flattened
    activations at ``layers`` (Lopes et al. 2017), class = the true label; with ``joint``, also those of all the
    layers concatenated (:attr:`ActivationRecords.joint`: D × D per class instead of Σ d_l², D = Σ d_l).

    Args: data, an ImageSet or (images (N, C, H, W), labels (N,)). Raises ValueError for missing layers."""
    device = device or config.device()
    y = images_labels(data)[1]
    k = int(y.max()) + 1
    s1: dict[str, torch.Tensor] = {}
    s2: dict[str, torch.Tensor] = {}
    shapes, nonneg = {}, {}
    counts = torch.bincount(y, minlength=k).double()
    for out, yb, onehot in _owner_pass(teacher, data, layers, batch_size, device):
        flat = {layer: out[layer].flatten(1).double() for layer in layers}
        if joint:
            flat[_JOINT] = torch.cat([flat[layer] for layer in layers], dim=1)
        for layer, a in flat.items():
            if layer not in s1:
                s1[layer] = torch.zeros(k, a.shape[1], dtype=torch.float64, device=device)
                s2[layer] = torch.zeros(k, a.shape[1], a.shape[1], dtype=torch.float64, device=device)
            if layer != _JOINT:
                shapes.setdefault(layer, list(out[layer].shape[1:]))
                nonneg[layer] = nonneg.get(layer, True) and bool((a >= 0).all())
            s1[layer] += onehot.T @ a
            for c in yb.unique().tolist():
                ac = a[yb == c]
                s2[layer][c] += ac.T @ ac
    mean, cov = {}, {}
    n = counts.to(device)[:, None]
    for layer in s1:
        mu = s1[layer] / n
        mean[layer] = mu.float().cpu()
        cov[layer] = (s2[layer] / n[..., None] - mu[:, :, None] * mu[:, None, :]).float().cpu()
    both = {"mean": mean.pop(_JOINT), "cov": cov.pop(_JOINT)} if joint else None
    return ActivationRecords(list(layers), mean, cov, shapes, nonneg, counts.long(), _signature(teacher), both)


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
def spectrum(a: torch.Tensor) -> torch.Tensor:
    """The spatial Fourier magnitude spectrum of activation maps (N, C, H, W) → (N, C, H, W // 2 + 1)
    (``torch.fft.rfft2``, orthonormal, so its size does not grow with H·W)."""
    if a.ndim != 4:
        raise ValueError(f"spectra need (N, C, H, W) activation maps, got {tuple(a.shape)}")
    return torch.fft.rfft2(a.float(), norm="ortho").abs()


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


@dataclass
class SpectralRecords:
    """Per-class mean Fourier magnitude spectra of a teacher's activation maps at named conv layers.

    Attributes: layers; mean, layer → (K, C, H, W // 2 + 1); counts (K,); signature (see
    :meth:`ActivationRecords.check`)."""

    layers: list[str]
    mean: dict[str, torch.Tensor]
    counts: torch.Tensor
    signature: dict

    check = ActivationRecords.check

    @property
    def num_classes(self) -> int:
        return len(self.counts)

    def nbytes(self) -> int:
        return sum(4 * m.numel() for m in self.mean.values())


@torch.no_grad()
def record_spectra(teacher: nn.Module, data, layers: Sequence[str], batch_size: int = 1024,
                   device: torch.device | None = None) -> SpectralRecords:
    """Per-class mean spatial magnitude spectra (:func:`spectrum`) of the activations at ``layers`` on the
    owner's labelled data. Raises ValueError for missing layers or layers without (C, H, W) maps."""
    device = device or config.device()
    y = images_labels(data)[1]
    k = int(y.max()) + 1
    sums: dict[str, torch.Tensor] = {}
    for out, _, onehot in _owner_pass(teacher, data, layers, batch_size, device):
        for layer in layers:
            s = spectrum(out[layer])
            sums[layer] = sums.get(layer, 0) + torch.einsum("nk,n...->k...", onehot.float(), s)
    counts = torch.bincount(y, minlength=k)
    mean = {layer: (sums[layer] / counts.to(device).view(-1, *[1] * (sums[layer].ndim - 1))).cpu()
            for layer in layers}
    return SpectralRecords(list(layers), mean, counts, _signature(teacher))


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
    :func:`dfkd_book.distill`: ``records`` are what the teacher's owner recorded (:func:`record_activations`).
    Keyword arguments go to :func:`activation_inversion`. Raises ValueError at preparation when the records do
    not fit the teacher, TypeError when ``records`` is not :class:`ActivationRecords`."""

    name = "activation records"
    records_type, recorder = ActivationRecords, "record_activations"
    invert_with = staticmethod(activation_inversion)


class SpectralInversion(_FromRecords):
    """Spectral records (:func:`spectral_inversion`) as a method of :func:`dfkd_book.distill`; ``records`` from
    :func:`record_spectra`. Keyword arguments go to :func:`spectral_inversion`. Raises ValueError at preparation
    when the records do not fit the teacher, TypeError when ``records`` is not :class:`SpectralRecords`."""

    name = "spectral records"
    records_type, recorder = SpectralRecords, "record_spectra"
    invert_with = staticmethod(spectral_inversion)
