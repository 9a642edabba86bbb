"""Decision boundaries of teacher and student: transition curves and the mean transition error (MTE).

Source: Micaelli & Storkey, *Zero-shot Knowledge Transfer via Adversarial Belief Matching*, NeurIPS 2019 (paper 002
in ``../shared/papers``), Sec. "Measuring belief match near decision boundaries". Start from an image on which
teacher and student agree; for every other class j, walk the image towards j by K plain gradient steps on the
input that minimise the *student's* cross-entropy to j; at every step record the probability of j under both
networks. The two curves p_j^S and p_j^T are a **transition curve**; the **mean transition error** is the mean
absolute gap |p_j^T − p_j^S| over images × classes × steps. A student that has matched the teacher's beliefs near
its decision boundaries has a small MTE.

The public code walks one image and one class at a time; here all images × classes move together in batches.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from . import config
from .hooks import frozen_copy
from .kd import logits


@dataclass
class Transitions:
    """Transition curves of N images towards each of their K − 1 other classes.

    Attributes:
        images: (N, C, H, W) the starting images.
        labels: (N,) the class teacher and student agree on.
        targets: (N, K − 1) the classes j walked towards (every class but the label, in increasing order).
        p_teacher, p_student: (N, K − 1, steps) the probability of the target class j under the teacher / the
            student after each of the ``steps`` gradient steps.
        steps, lr: the walk.
    """

    images: torch.Tensor
    labels: torch.Tensor
    targets: torch.Tensor
    p_teacher: torch.Tensor
    p_student: torch.Tensor
    steps: int
    lr: float

    @property
    def mte(self) -> float:
        """The mean transition error: mean |p_j^T − p_j^S| over images × classes × steps, in [0, 1]."""
        return (self.p_teacher - self.p_student).abs().mean().item()


def agreeing(teacher: nn.Module, student: nn.Module, images: torch.Tensor, n: int,
             device: torch.device | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``n`` images on which teacher and student predict the same class, and that class.

    Args: images (M, C, H, W). Returns ``(images (n', C, H, W), labels (n',))`` with n' = min(n, agreements).
    Raises ValueError for n < 1 or when the two never agree."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    yt = logits(teacher, images, device=device).argmax(1)
    ys = logits(student, images, device=device).argmax(1)
    idx = (yt == ys).nonzero().squeeze(1)[:n]
    if len(idx) == 0:
        raise ValueError("teacher and student agree on none of the images")
    return images[idx].cpu(), yt[idx]


def transition_curves(teacher: nn.Module, student: nn.Module, images: torch.Tensor, labels: torch.Tensor | None = None,
                      *, steps: int = 100, lr: float = 1.0, batch_size: int = 1_024,
                      device: torch.device | None = None) -> Transitions:
    """Transition curves (paper 002): for each image and each class j other than its label, ``steps`` plain
    gradient steps ``x ← x − lr · ∇_x CE(student(x), j)``, recording p_j under teacher and student after each.

    All images × classes are walked together, ``batch_size`` walks at a time; each walk's gradient is its own
    (the batch loss is a sum). The inputs are not clipped, as in the paper.

    Args:
        teacher, student: classifiers returning logits (B, K); neither is changed.
        images: (N, C, H, W) starting points, normally from :func:`agreeing`.
        labels: (N,) their agreed class; default: the teacher's prediction.
        steps: K, gradient steps per walk (≥ 1). lr: the step size.

    Returns:
        :class:`Transitions` with (N, K − 1, steps) curves.

    Raises:
        ValueError: images not 4-D, labels of the wrong length, steps < 1, lr ≤ 0, or teacher and student with
            different numbers of classes.
    """
    if not isinstance(images, torch.Tensor) or images.ndim != 4:
        raise ValueError(f"images must be (N, C, H, W), got {getattr(images, 'shape', images)}")
    if steps < 1 or not lr > 0:
        raise ValueError(f"steps must be >= 1 and lr > 0, got steps={steps}, lr={lr}")
    device = device or config.device()
    t, s = frozen_copy(teacher, device), frozen_copy(student, device)
    with torch.no_grad():
        probe = images[:1].to(device)
        k_t, k_s = t(probe).shape[1], s(probe).shape[1]
    if k_t != k_s:
        raise ValueError(f"teacher has {k_t} classes but student has {k_s}")
    k, n = k_t, len(images)
    if labels is None:
        labels = logits(teacher, images, device=device).argmax(1)
    labels = torch.as_tensor(labels).long().cpu()
    if labels.shape != (n,):
        raise ValueError(f"labels must be ({n},), got {tuple(labels.shape)}")
    # every (image, other class) pair: (N, K - 1)
    others = torch.arange(k).expand(n, k)
    targets = others[others != labels[:, None]].view(n, k - 1)
    img_idx = torch.arange(n)[:, None].expand(n, k - 1).reshape(-1)
    tgt = targets.reshape(-1)
    p_t = torch.empty(n * (k - 1), steps)
    p_s = torch.empty(n * (k - 1), steps)
    for lo in range(0, len(tgt), batch_size):
        j = tgt[lo:lo + batch_size].to(device)
        x = images[img_idx[lo:lo + batch_size]].to(device).float()
        x = x.contiguous().requires_grad_(True)  # measured: 126 ms per step, 149 with channels-last inputs
        rows = torch.arange(len(j), device=device)
        # one student forward per step serves both the gradient at x and the record of p_j^S at x
        z_s = s(x)
        for step in range(steps + 1):
            if step > 0:  # record p_j after the step just taken
                with torch.no_grad():
                    p_s[lo:lo + len(j), step - 1] = z_s.detach().softmax(1)[rows, j].cpu()
                    p_t[lo:lo + len(j), step - 1] = t(x).softmax(1)[rows, j].cpu()
            if step == steps:
                break
            (grad,) = torch.autograd.grad(F.cross_entropy(z_s, j, reduction="sum"), x)
            with torch.no_grad():
                x -= lr * grad
            z_s = s(x)
    return Transitions(images.cpu(), labels, targets, p_t.view(n, k - 1, steps), p_s.view(n, k - 1, steps),
                       steps, lr)


def mean_transition_error(teacher: nn.Module, student: nn.Module, images: torch.Tensor, n: int = 1_000,
                          steps: int = 100, lr: float = 1.0, device: torch.device | None = None) -> float:
    """MTE (paper 002) of ``student`` against ``teacher`` on the first ``n`` of ``images`` where they agree:
    mean |p_j^T − p_j^S| over images × other classes × ``steps`` steps, in [0, 1]. Lower: the student's beliefs
    near the teacher's decision boundaries match better. Raises as :func:`agreeing` and :func:`transition_curves`."""
    x, y = agreeing(teacher, student, images, n, device)
    return transition_curves(teacher, student, x, y, steps=steps, lr=lr, device=device).mte


def regions(model: nn.Module, box: float | tuple[float, float] = 2.0, size: int = 200,
            device: torch.device | None = None) -> torch.Tensor:
    """The decision regions of a classifier of 2-D points (the toys of chapters 2, 4 and 8): its predicted class on
    a ``size`` × ``size`` grid over the square [−box, box]² (a number) or [lo, hi]² (a pair), as
    :func:`dfkd_book.plot.decision_regions` draws them.

    Returns (size, size) int64 on the CPU; row i is the i-th y value from low to high, column j the j-th x value.
    Raises ValueError for size < 2, an empty square, or a model that does not take (N, 2) points."""
    lo, hi = (-float(box), float(box)) if isinstance(box, (int, float)) else map(float, box)
    if not isinstance(size, int) or size < 2 or not hi > lo:
        raise ValueError(f"regions needs size >= 2 and a square with lo < hi, got size={size!r}, box={box!r}")
    axis = torch.linspace(lo, hi, size)
    grid = torch.stack(torch.meshgrid(axis, axis, indexing="xy"), -1).reshape(-1, 2)
    try:
        out = logits(model, grid, device=device)
    except RuntimeError as e:
        raise ValueError(f"regions needs a model of (N, 2) points: {e}") from e
    return out.argmax(1).view(size, size).cpu()
