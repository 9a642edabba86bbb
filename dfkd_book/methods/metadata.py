"""What a teacher's owner records on its own labelled data, for inversion without the data: per-class activation
statistics and per-class activation spectra, saved and loaded as small metadata files shipped with the model.

Sources:

* **Activation records** (Lopes et al., *Data-Free Knowledge Distillation for Deep Neural Networks*, 2017;
  paper 004 method 1): the per-class mean and covariance of the activations at a few layers
  (:func:`record_activations`, :class:`ActivationRecords`); targets are sampled as mean + L·z, L the Cholesky
  factor (the public code multiplied by the covariance itself).
* **Spectral records** (paper 004 method 2): the per-class mean spatial Fourier magnitude spectrum of every
  channel's activation map (:func:`record_spectra`, :class:`SpectralRecords`, :func:`spectrum`).

The inversions that read these records are in :mod:`dfkd_book.methods.inversion`. Every record is per class of
the **teacher** (K read from its output): the owner's data must hold labels in [0, K), one per image, and at least
one image of every class — otherwise a ``ValueError`` names what is missing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .. import config
from ..hooks import LayerOutputs, frozen_copy, named_layers, num_classes_of
from ..kd import images_labels

__all__ = ["ActivationRecords", "SpectralRecords", "record_activations", "record_spectra", "spectrum",
           "owner_data"]


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


def owner_data(teacher: nn.Module, data, device) -> tuple[nn.Module, torch.Tensor, torch.Tensor, int]:
    """The owner's labelled data, checked against the teacher: ``(frozen teacher, images, labels, K)``.

    Args: data, an ImageSet or ``(images (N, ...), labels (N,))`` with int64 labels in [0, K), K read from the
    teacher's output. Raises TypeError for labels that are not integers; ValueError for an empty set, a label
    count other than the image count, labels outside [0, K), or a class of the teacher without any image (its
    statistics would be undefined: 0 / 0)."""
    x, y = images_labels(data)
    if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise TypeError(f"the owner's data must be tensors (images, labels), got {type(x).__name__}, "
                        f"{type(y).__name__}")
    if y.is_floating_point() or y.is_complex() or y.dtype == torch.bool or y.ndim != 1:
        raise TypeError(f"labels must be a 1-D integer tensor (N,), got {y.dtype} of shape {tuple(y.shape)}")
    if len(x) == 0 or len(y) != len(x):
        raise ValueError(f"the owner's data must hold N > 0 images and N labels, got {len(x)} images and "
                         f"{len(y)} labels")
    t = frozen_copy(teacher, device)
    k = num_classes_of(t, x[:2].to(device))
    y = y.long()
    if int(y.min()) < 0 or int(y.max()) >= k:
        raise ValueError(f"labels must be classes in [0, {k}) (the teacher has K = {k}), got labels in "
                         f"[{int(y.min())}, {int(y.max())}]")
    missing = (torch.bincount(y, minlength=k) == 0).nonzero().squeeze(1).tolist()
    if missing:
        raise ValueError(f"the owner's data has no image of class(es) {missing} of the teacher's K = {k}: "
                         "per-class records need at least one image of every class (give data of every class)")
    return t, x, y, k


def _owner_pass(t: nn.Module, x: torch.Tensor, y: torch.Tensor, k: int, layers: Sequence[str], batch_size: int,
                device):
    """The owner's one pass over its labelled data (checked by :func:`owner_data`): yields ``(activations
    {layer: tensor}, labels, one-hot labels (B, K) float64)`` per batch, from the frozen teacher ``t`` with hooks
    on ``layers`` (removed at the end)."""
    taps = LayerOutputs(t, layers)
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

    Args: data, an ImageSet or (images (N, C, H, W), labels (N,)), labels in [0, K) with every class present.
    Returns :class:`ActivationRecords` (K = the teacher's number of classes).
    Raises ValueError for missing layers, and as :func:`owner_data` (a class without images, labels out of range,
    a label count other than the image count)."""
    device = device or config.device()
    t, x, y, k = owner_data(teacher, data, device)
    s1: dict[str, torch.Tensor] = {}
    s2: dict[str, torch.Tensor] = {}
    shapes, nonneg = {}, {}
    counts = torch.bincount(y, minlength=k).double()
    for out, yb, onehot in _owner_pass(t, x, y, k, layers, batch_size, device):
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


def spectrum(a: torch.Tensor) -> torch.Tensor:
    """The spatial Fourier magnitude spectrum of activation maps (N, C, H, W) → (N, C, H, W // 2 + 1)
    (``torch.fft.rfft2``, orthonormal, so its size does not grow with H·W)."""
    if a.ndim != 4:
        raise ValueError(f"spectra need (N, C, H, W) activation maps, got {tuple(a.shape)}")
    return torch.fft.rfft2(a.float(), norm="ortho").abs()


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
    owner's labelled data (labels in [0, K), every class present). Raises ValueError for missing layers, layers
    without (C, H, W) maps, and as :func:`owner_data`."""
    device = device or config.device()
    t, x, y, k = owner_data(teacher, data, device)
    sums: dict[str, torch.Tensor] = {}
    for out, _, onehot in _owner_pass(t, x, y, k, layers, batch_size, device):
        for layer in layers:
            s = spectrum(out[layer])
            sums[layer] = sums.get(layer, 0) + torch.einsum("nk,n...->k...", onehot.float(), s)
    counts = torch.bincount(y, minlength=k)
    mean = {layer: (sums[layer] / counts.to(device).view(-1, *[1] * (sums[layer].ndim - 1))).cpu()
            for layer in layers}
    return SpectralRecords(list(layers), mean, counts, _signature(teacher))
