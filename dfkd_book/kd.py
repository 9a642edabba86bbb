"""Knowledge distillation: the loss (batch and per sample), soft targets, and evaluation.

The student loop itself is :func:`dfkd_book.distill` (:mod:`dfkd_book.loop`).

Sources: Hinton, Vinyals & Dean, *Distilling the Knowledge in a Neural Network* (2015); the objective as written in
Nayak et al., *Zero-Shot Knowledge Distillation in Deep Networks* (ICML 2019), eq. (1) (with hard labels) and
eq. (4) (distillation term only, as every data-free chapter uses).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from . import config


# ----------------------------------------------------------------------------------------------------------- loss
def kd_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, T: float = 20.0,
            labels: torch.Tensor | None = None, lam: float = 0.0) -> torch.Tensor:
    """The distillation objective, ZSKD eq. (1): ``τ² · KL(softmax(t/τ) ‖ softmax(s/τ)) + λ · CE(s, y)``.

    The KL term is averaged over the batch and scaled by τ² so its gradients keep the same magnitude as τ
    changes (Hinton et al., 2015, Sec. 2). Up to the teacher's entropy (a constant for the student) it equals the
    cross-entropy between the soft targets ``softmax(t/τ)`` and the student's ``softmax(s/τ)``.

    Args:
        student_logits: (N, K) raw student outputs.
        teacher_logits: (N, K) raw teacher outputs (treated as constants: detached).
        T: temperature τ > 0 (the book's default 20, as ZSKD).
        labels: optional (N,) int64 hard labels for the λ · cross-entropy term.
        lam: weight λ ≥ 0 of the hard-label term (ZSKD used λ = 0.3 on real data; 0 = eq. (4)).

    Returns:
        A scalar tensor.

    Raises:
        ValueError: shapes differ, a non-positive temperature, negative λ, or λ > 0 without labels.
    """
    if student_logits.ndim != 2 or student_logits.shape != teacher_logits.shape:
        raise ValueError(
            "student and teacher logits must both be (N, K) with the same shape; got "
            f"{tuple(student_logits.shape)} and {tuple(teacher_logits.shape)}"
        )
    if not T > 0:
        raise ValueError(f"temperature T must be > 0, got {T}")
    if lam < 0:
        raise ValueError(f"lam (weight of the hard-label term) must be >= 0, got {lam}")
    log_p_s = F.log_softmax(student_logits / T, dim=1)
    p_t = F.softmax(teacher_logits.detach() / T, dim=1)
    loss = F.kl_div(log_p_s, p_t, reduction="batchmean") * (T * T)
    if lam > 0:
        if labels is None:
            raise ValueError("lam > 0 needs hard labels: pass labels=(N,) int64")
        if labels.shape != student_logits.shape[:1]:
            raise ValueError(f"labels must be ({student_logits.shape[0]},), got {tuple(labels.shape)}")
        loss = loss + lam * F.cross_entropy(student_logits, labels)
    return loss


def per_sample_kl(student_logits: torch.Tensor, teacher_logits: torch.Tensor, T: float) -> torch.Tensor:
    """τ² · KL(softmax(t/τ) ‖ softmax(s/τ)) for each sample → (N,); its batch mean is :func:`kd_loss` (λ = 0).
    Logits (N, K); the teacher's are detached. Raises ValueError for different shapes or T ≤ 0."""
    if student_logits.shape != teacher_logits.shape:
        raise ValueError(f"student and teacher logits differ in shape: {tuple(student_logits.shape)} vs "
                         f"{tuple(teacher_logits.shape)}")
    if not T > 0:
        raise ValueError(f"temperature T must be > 0, got {T}")
    log_p_s = F.log_softmax(student_logits / T, 1)
    log_p_t = F.log_softmax(teacher_logits.detach() / T, 1)
    return (T * T) * (log_p_t.exp() * (log_p_t - log_p_s)).sum(1)


def soft_targets(logits: torch.Tensor, T: float = 1.0) -> torch.Tensor:
    """``softmax(logits / T)`` over the last dimension: the teacher's soft targets at temperature ``T`` (N, K)."""
    if not T > 0:
        raise ValueError(f"temperature T must be > 0, got {T}")
    return F.softmax(logits / T, dim=-1)


# ------------------------------------------------------------------------------------------------------ inference
@torch.no_grad()
def logits(model: nn.Module, x: torch.Tensor, batch_size: int | None = None, device: torch.device | None = None
           ) -> torch.Tensor:
    """Model outputs for a tensor of inputs, in eval mode, in chunks of ``batch_size`` (default
    :func:`dfkd_book.config.inference_batch` for the device). Input (N, ...) → logits (N, K) on the CPU."""
    device = device or config.device()
    batch_size = batch_size or config.inference_batch(device)
    was_training = model.training
    model.eval()
    try:
        out = [model(x[i:i + batch_size].to(device)).float().cpu() for i in range(0, len(x), batch_size)]
    finally:
        model.train(was_training)
    return torch.cat(out) if out else torch.empty(0)


def images_labels(data) -> tuple[torch.Tensor, torch.Tensor]:
    """``(inputs, labels)`` of an :class:`~dfkd_book.data.ImageSet` (``.images``, ``.labels``) or of a tuple.
    Raises TypeError for anything else."""
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return data[0], data[1]
    if hasattr(data, "images") and hasattr(data, "labels"):
        return data.images, data.labels
    raise TypeError(
        "expected an ImageSet (with .images and .labels) or a tuple (images, labels); "
        f"got {type(data).__name__}"
    )


def check_labelled(data, num_classes: int, what: str = "the labelled set") -> tuple[torch.Tensor, torch.Tensor]:
    """Check a labelled set once, before it is used: ``(inputs (N, ...), labels (N,))`` with N > 0, finite inputs
    and integer labels in [0, ``num_classes``). Returns ``(inputs, labels)``.

    Raises:
        TypeError: ``data`` is neither an ImageSet nor a tuple, or the labels are not integers.
        ValueError: an empty set, a label count other than the input count, NaN / infinite inputs, or labels
            outside [0, K) (the message gives what came).
    """
    x, y = images_labels(data)
    y = torch.as_tensor(y)
    if y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
        raise TypeError(f"{what}: labels must be integer classes, got {y.dtype}")
    if len(x) == 0 or y.shape != (len(x),):
        raise ValueError(f"{what} must hold N > 0 inputs and N labels, got {len(x)} inputs and labels of shape "
                         f"{tuple(y.shape)}")
    if torch.is_tensor(x) and x.is_floating_point():
        bad = int((~torch.isfinite(x)).sum())
        if bad:
            raise ValueError(f"{what} holds {bad} NaN or infinite input values (of {x.numel()})")
    lo, hi = int(y.min()), int(y.max())
    if lo < 0 or hi >= num_classes:
        raise ValueError(f"{what}: labels must be classes in [0, {num_classes}) (the model has K = {num_classes}), "
                         f"got labels in [{lo}, {hi}]")
    return x, y


def evaluate(model: nn.Module, data, batch_size: int | None = None, device: torch.device | None = None,
             check: bool = True) -> float:
    """Top-1 accuracy of ``model`` on ``data``, a number in [0, 1].

    Args:
        data: an :class:`~dfkd_book.data.ImageSet` or a tuple ``(images (N, C, H, W), labels (N,))``.
        check: check the set (:func:`check_labelled`: finite inputs, labels in [0, K)); the student loop checks
            its evaluation set once up front and passes False.

    Raises:
        TypeError: ``data`` is neither. ValueError: an empty set; with ``check``, NaN / infinite inputs or labels
            outside [0, K).
    """
    x, y = images_labels(data)
    if len(x) == 0:
        raise ValueError("cannot evaluate on an empty set")
    z = logits(model, x, batch_size, device)
    if check:
        check_labelled((x, y), z.shape[1], "the evaluation set")
    return (z.argmax(1) == torch.as_tensor(y).cpu()).float().mean().item()


def agreement(model_a: nn.Module, model_b: nn.Module, x: torch.Tensor, batch_size: int | None = None) -> float:
    """Fraction of inputs ``x`` (N, ...) on which the two models predict the same class, in [0, 1]."""
    return (logits(model_a, x, batch_size).argmax(1) == logits(model_b, x, batch_size).argmax(1)).float().mean().item()


