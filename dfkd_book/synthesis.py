"""The one pixel-optimisation loop: inputs optimised from noise until the teacher answers as asked.

ZSKD's data impressions (Nayak et al. 2019, eq. 3), class impressions (Mopuri et al. 2018), BN-statistics
matching and DeepInversion (Yin et al. 2020), activation records (Lopes et al. 2017) and spectral records all
optimise pixels the same way; only the **objective** differs. :func:`optimize_pixels` holds that loop once, and
each method plugs its objective into it (:mod:`dfkd_book.methods.zskd`, :mod:`dfkd_book.methods.inversion`).

One step, for a chunk of ``batch_size`` inputs x (N, *shape):

    view = jitter/flip/affine(x)       (images only; a copy — x itself is never moved)
    loss = objective(view, teacher(view), labels, first index) + tv_weight · TV(view) + l2_weight · ‖view‖₂
    x ← Adam step on loss;  x ← clip(x, 0, 1)

with a cosine or constant learning rate, and optionally the lowest-loss x kept (DeepInversion).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn
from tqdm.auto import tqdm

from . import config
from .augment import jittered_view
from .hooks import (
    Hooks,
    frozen_copy,
    input_shape,
    is_image_shape,
    memory_format,
    num_classes_of,
    require_images,
)

#: objective(view (B, *shape), teacher logits (B, K), labels (B,), first index of the chunk) -> scalar loss
Objective = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, int], torch.Tensor]


@dataclass
class Synthesis:
    """Inputs made by :func:`optimize_pixels` and what made them.

    Attributes:
        images: (N, *shape) in [0, 1], on the CPU.
        labels: (N,) the class each input was made for (−1 where none was asked for).
        losses: (N,) the final (or, with ``keep_best``, the best) objective of each input's chunk.
        steps: optimisation steps per chunk. seconds: wall time. name: the method.
        curve: ``[(step, mean loss over all inputs), ...]`` at a few steps.
    """

    images: torch.Tensor
    labels: torch.Tensor
    losses: torch.Tensor
    steps: int
    seconds: float
    name: str = ""
    curve: list[tuple[int, float]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.images)


def total_variation(x: torch.Tensor) -> torch.Tensor:
    """DeepInversion's L2 total variation of a batch (N, C, H, W): the sum of the L2 norms, over the whole batch,
    of the differences between neighbouring pixels in the four directions (down, right, and both diagonals)
    (NVlabs/DeepInversion ``get_image_prior_losses``, ``loss_var_l2``). It grows with √N.
    Raises ValueError for anything but (N, C, H, W)."""
    if x.ndim != 4:
        raise ValueError(f"total variation needs images (N, C, H, W), got {tuple(x.shape)}")
    d1 = x[..., :-1, :] - x[..., 1:, :]
    d2 = x[..., :, :-1] - x[..., :, 1:]
    d3 = x[..., 1:, :-1] - x[..., :-1, 1:]
    d4 = x[..., :-1, :-1] - x[..., 1:, 1:]
    return sum(torch.linalg.vector_norm(d) for d in (d1, d2, d3, d4))


def balanced_labels(n: int, k: int) -> torch.Tensor:
    """n class labels, as even as possible over k classes, interleaved (0, 1, ..., k−1, 0, 1, ...) so that every
    batch holds all classes."""
    return torch.arange(n) % k


def _positive_int(what: str, v) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or v < 1:
        raise ValueError(f"{what} must be a positive int, got {v!r}")
    return v


def _affine_view(view_affine: dict | None):
    if view_affine is None:
        return None
    import kornia.augmentation as K

    unknown = set(view_affine) - {"degrees", "translate", "scale"}
    if unknown:
        raise ValueError(f"view_affine takes degrees, translate and scale; got unknown keys {sorted(unknown)}")
    tr = view_affine.get("translate", 0.0)
    return K.RandomAffine(degrees=view_affine.get("degrees", 0.0), translate=(tr, tr),
                          scale=tuple(view_affine.get("scale", (1.0, 1.0))), p=1.0)


def optimize_pixels(teacher: nn.Module, n: int, objective: Objective, *, shape: Sequence[int] | None = None,
                    labels: torch.Tensor | None = None, steps: int = 200, batch_size: int = 256, lr: float = 0.1,
                    betas: tuple[float, float] = (0.5, 0.9), schedule: str = "cosine",
                    tv_weight: float | None = None, l2_weight: float = 0.0, jitter: int | None = None,
                    flip: bool | None = None, view_affine: dict | None = None, keep_best: bool = True,
                    init_range: tuple[float, float] = (0.0, 1.0), seed: int | None = 0,
                    device: torch.device | None = None, progress: bool = True, name: str = "synthesis",
                    attach: Callable[[nn.Module], object] | None = None) -> Synthesis:
    """Optimise ``n`` inputs from uniform noise, ``batch_size`` at a time, to minimise ``objective`` + priors.

    Args:
        teacher: classifier returning logits (B, K); a frozen private copy is used (or the model itself if it
            already is one, e.g. the teacher :func:`dfkd_book.distill` shares with its method).
        n: how many inputs.
        objective: ``objective(view, logits, labels, lo)`` → scalar, where ``view`` is what the teacher saw,
            ``labels`` the chunk's classes and ``lo`` the index of the chunk's first input in 0..n−1 (so an
            objective can read per-input targets).
        shape: the shape of one input; default: read from the teacher (:func:`dfkd_book.hooks.input_shape`).
        labels: (n,) classes the inputs are made for (default: interleaved classes).
        steps: Adam steps per chunk. lr: learning rate on the pixels. betas: Adam's (DeepInversion: (0.5, 0.9);
            ZSKD: PyTorch's default (0.9, 0.999)). schedule: ``'cosine'`` or ``'constant'``.
        tv_weight: weight of :func:`total_variation` (default: 1e-4 for images, 0 for vectors).
        l2_weight: weight of the L2 norm of the chunk.
        jitter: largest random circular shift (pixels) of the teacher's view (default: 2 for images, 0 for
            vectors). flip: random horizontal flips of the view (default: on for images, off for vectors).
        view_affine: a random affine map per input of the view (kornia ``RandomAffine`` ``degrees``,
            ``translate``, ``scale``); images only.
        keep_best: each chunk ends as the lowest-loss version it went through (DeepInversion).
        init_range: the inputs start as uniform noise in (low, high) ⊆ [0, 1].
        attach: called once with the frozen teacher before the first step (an objective registering hooks);
            whatever it returns is given ``.remove()`` at the end when it has one.

    Returns:
        :class:`Synthesis`, inputs on the CPU.

    Raises:
        ValueError: bad budgets, lr ≤ 0, negative weights, an unknown schedule, labels of the wrong length or
            range, a shape the teacher does not accept, or an image-only option (jitter, flip, TV, view_affine)
            asked for on a teacher of vectors.
    """
    _positive_int("n", n)
    _positive_int("steps", steps)
    _positive_int("batch_size", batch_size)
    if not (isinstance(lr, (int, float)) and lr > 0):
        raise ValueError(f"lr must be > 0, got {lr!r}")
    if schedule not in ("cosine", "constant"):
        raise ValueError(f"schedule must be 'cosine' or 'constant', got {schedule!r}")
    lo_init, hi_init = init_range
    if not 0 <= lo_init <= hi_init <= 1:
        raise ValueError(f"init_range must be (low, high) with 0 <= low <= high <= 1, got {init_range!r}")
    device = device or config.device()
    t = frozen_copy(teacher, device)
    shape = input_shape(t, shape, device)
    image = is_image_shape(shape)
    if not image:
        for what, v in (("jitter", jitter), ("flip", flip), ("tv_weight", tv_weight), ("view_affine", view_affine)):
            if v:
                require_images(shape, what)
    tv_weight = (1e-4 if image else 0.0) if tv_weight is None else tv_weight
    jitter = (2 if image else 0) if jitter is None else jitter
    flip = image if flip is None else flip
    if tv_weight < 0 or l2_weight < 0:
        raise ValueError(f"weights must be >= 0, got tv_weight={tv_weight}, l2_weight={l2_weight}")
    if not isinstance(jitter, int) or jitter < 0:
        raise ValueError(f"jitter must be an int >= 0 (pixels), got {jitter!r}")
    affine = _affine_view(view_affine)
    k = num_classes_of(t, torch.zeros(2, *shape, device=device))
    labels = balanced_labels(n, k) if labels is None else torch.as_tensor(labels).long().cpu()
    if labels.shape != (n,) or labels.min() < 0 or labels.max() >= k:
        raise ValueError(f"labels must be ({n},) classes in [0, {k}), got shape {tuple(labels.shape)}")
    if seed is not None:
        torch.manual_seed(seed)
    memory = memory_format(device) if image else torch.contiguous_format
    hooks = attach(t) if attach is not None else None
    images, losses = torch.empty(n, *shape), torch.empty(n)
    curve_at = sorted({0, *(int(steps * f) for f in (0.1, 0.25, 0.5, 0.75)), steps - 1})
    curve = {s: 0.0 for s in curve_at}
    start = time.perf_counter()
    bar = tqdm(total=n * steps, desc=name, unit="img-step", unit_scale=True, disable=not progress, leave=False)
    try:
        for lo in range(0, n, batch_size):
            y = labels[lo:lo + batch_size].to(device)
            x = lo_init + (hi_init - lo_init) * torch.rand(len(y), *shape, device=device)
            x = x.contiguous(memory_format=memory).requires_grad_(True)
            opt = torch.optim.Adam([x], lr=lr, betas=betas)
            sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps) if schedule == "cosine" else None
            # the best loss and its inputs stay on the device (no host synchronisation per step)
            best, best_x = torch.tensor(math.inf, dtype=torch.float64, device=device), x.detach().clone()
            for s in range(steps):
                view = jittered_view(x, jitter, flip) if image else x
                if affine is not None:
                    view = affine(view)
                loss = objective(view, t(view), y, lo)
                if tv_weight:
                    loss = loss + tv_weight * total_variation(view)
                if l2_weight:
                    loss = loss + l2_weight * torch.linalg.vector_norm(view)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                value = loss.detach().double()
                if s in curve:  # steps - 1 is always in the curve
                    curve[s] += value.item() * len(y) / n
                if keep_best:  # the inputs this loss was measured on: before the step
                    better = value < best
                    best, best_x = torch.where(better, value, best), torch.where(better, x.detach(), best_x)
                opt.step()
                if sched is not None:
                    sched.step()
                with torch.no_grad():
                    x.clamp_(0, 1)
                bar.update(len(y))
            if not keep_best:
                best, best_x = value, x.detach()
            images[lo:lo + len(y)] = best_x.cpu()
            losses[lo:lo + len(y)] = best.item()
    finally:
        bar.close()
        if hooks is not None and hasattr(hooks, "remove"):
            hooks.remove()
    return Synthesis(images, labels, losses, steps, time.perf_counter() - start, name, sorted(curve.items()))


# ----------------------------------------------------------------------------------------------- BN statistics
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
            activations on the owner's data instead: :func:`dfkd_book.methods.metadata.record_activations`).
    """

    def __init__(self, model: nn.Module, first_weight: float = 10.0):
        bns = batchnorms(model)
        if not bns:
            raise ValueError(f"{type(model).__name__} has no BatchNorm layer, so there are no running statistics "
                             "to match; for a teacher without BN, record activation statistics on the owner's data "
                             "with dfkd_book.methods.metadata.record_activations() and use activation records "
                             "instead")
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
