"""Knowledge distillation: the loss, the one training loop every chapter uses, and evaluation.

Sources: Hinton, Vinyals & Dean, *Distilling the Knowledge in a Neural Network* (2015); the objective as written in
Nayak et al., *Zero-Shot Knowledge Distillation in Deep Networks* (ICML 2019), eq. (1) (with hard labels) and
eq. (4) (distillation term only, as every data-free chapter uses).
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from . import config

Batch = torch.Tensor
Augment = Callable[[torch.Tensor], torch.Tensor]


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


def soft_targets(logits: torch.Tensor, T: float = 1.0) -> torch.Tensor:
    """``softmax(logits / T)`` over the last dimension: the teacher's soft targets at temperature ``T`` (N, K)."""
    if not T > 0:
        raise ValueError(f"temperature T must be > 0, got {T}")
    return F.softmax(logits / T, dim=-1)


# -------------------------------------------------------------------------------------------------------- history
class Curve:
    """What every training record shares: ``test_acc`` and cumulative ``wall_s`` lists, one entry per evaluation."""

    test_acc: list
    wall_s: list

    @property
    def final_acc(self) -> float | None:
        """Test accuracy at the last evaluation (``None`` if there was no evaluation set)."""
        return self.test_acc[-1] if self.test_acc else None

    @property
    def seconds(self) -> float:
        """Total training wall time in seconds."""
        return self.wall_s[-1] if self.wall_s else 0.0


@dataclass
class History(Curve):
    """What a training run leaves behind, one entry per epoch.

    Attributes:
        name: a label for plots and tables.
        epoch: 1, 2, ...
        loss: mean training loss of the epoch.
        test_acc: accuracy in [0, 1] on the evaluation set after the epoch (``None`` without one).
        wall_s: cumulative wall-clock seconds at the end of the epoch (evaluation excluded).
    """

    name: str = ""
    epoch: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    test_acc: list[float | None] = field(default_factory=list)
    wall_s: list[float] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


# ------------------------------------------------------------------------------------------------------ inference
@torch.no_grad()
def logits(model: nn.Module, x: torch.Tensor, batch_size: int = 4096, device: torch.device | None = None
           ) -> torch.Tensor:
    """Model outputs for a tensor of inputs, in eval mode, in chunks. Input (N, ...) → logits (N, K) on the CPU."""
    device = device or config.device()
    was_training = model.training
    model.eval()
    try:
        out = [model(x[i:i + batch_size].to(device)).float().cpu() for i in range(0, len(x), batch_size)]
    finally:
        model.train(was_training)
    return torch.cat(out) if out else torch.empty(0)


def _images_labels(data) -> tuple[torch.Tensor, torch.Tensor]:
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return data[0], data[1]
    if hasattr(data, "images") and hasattr(data, "labels"):
        return data.images, data.labels
    raise TypeError(
        "expected an ImageSet (with .images and .labels) or a tuple (images, labels); "
        f"got {type(data).__name__}"
    )


def evaluate(model: nn.Module, data, batch_size: int = 4096, device: torch.device | None = None) -> float:
    """Top-1 accuracy of ``model`` on ``data``, a number in [0, 1].

    Args:
        data: an :class:`~dfkd_book.data.ImageSet` or a tuple ``(images (N, C, H, W), labels (N,))``.

    Raises:
        TypeError: ``data`` is neither.
    """
    x, y = _images_labels(data)
    if len(x) == 0:
        raise ValueError("cannot evaluate on an empty set")
    pred = logits(model, x, batch_size, device).argmax(1)
    return (pred == y.cpu()).float().mean().item()


def agreement(model_a: nn.Module, model_b: nn.Module, x: torch.Tensor, batch_size: int = 4096) -> float:
    """Fraction of inputs ``x`` (N, ...) on which the two models predict the same class, in [0, 1]."""
    return (logits(model_a, x, batch_size).argmax(1) == logits(model_b, x, batch_size).argmax(1)).float().mean().item()


# --------------------------------------------------------------------------------------------------------- loops
def num_classes_of(model: nn.Module, probe: torch.Tensor) -> int:
    """K, read from the model's output on ``probe`` (a batch of at least one input), in eval mode and without
    gradients; the model's training flag is restored. Works for any classifier, with or without ``nn.Linear``."""
    was_training = model.training
    model.eval()
    with torch.no_grad():
        k = model(probe).shape[1]
    model.train(was_training)
    return k


def frozen_copy(model: nn.Module, device: torch.device | None = None) -> nn.Module:
    """A private, frozen copy of ``model`` for fast inference and input gradients: on ``device``, in eval mode,
    no parameter gradients, in channels-last memory format (measured on LeNet-5 on a 2-core CPU: about twice the
    throughput of the default layout, for forward passes and for gradients with respect to the input; harmless on
    a GPU). The caller's model is left as it was."""
    device = device or config.device()
    frozen = copy.deepcopy(model).to(device).eval().to(memory_format=torch.channels_last)
    for p in frozen.parameters():
        p.requires_grad_(False)
    return frozen


class _Batches:
    """Turns the kinds of transfer set the book uses into per-epoch iterators of (inputs, labels-or-None)."""

    def __init__(self, transfer, labels, batch_size, steps_per_epoch, device, generator):
        self.device, self.batch_size, self.generator = device, batch_size, generator
        self.x = self.y = self.loader = self.stream = None
        if isinstance(transfer, torch.Tensor):
            self.x, self.y = transfer, labels
        elif hasattr(transfer, "images") and isinstance(transfer.images, torch.Tensor):
            self.x = transfer.images
            self.y = labels if labels is not None else getattr(transfer, "labels", None)
        elif isinstance(transfer, Dataset):
            self.loader = DataLoader(transfer, batch_size=batch_size, shuffle=True, drop_last=False,
                                     generator=generator)
        elif callable(transfer):
            if not steps_per_epoch:
                raise ValueError("a callable transfer set (a stream) needs steps_per_epoch")
            self.stream = transfer
        else:
            raise TypeError(
                "transfer must be a tensor of inputs (N, C, H, W), an ImageSet/Dataset, or a callable "
                f"batch_size -> inputs; got {type(transfer).__name__}"
            )
        if self.x is not None:
            if self.x.ndim < 2 or len(self.x) == 0:
                raise ValueError(f"transfer tensor must be (N, ...) with N > 0, got shape {tuple(self.x.shape)}")
            if self.y is not None and len(self.y) != len(self.x):
                raise ValueError(f"labels must have {len(self.x)} entries, got {len(self.y)}")
            n = len(self.x)
            self.steps = steps_per_epoch or math.ceil(n / batch_size)
        elif self.loader is not None:
            self.steps = steps_per_epoch or len(self.loader)
        else:
            self.steps = steps_per_epoch

    def probe(self) -> torch.Tensor:
        """A couple of inputs to check shapes before training."""
        if self.x is not None:
            return self.x[:2].to(self.device)
        if self.loader is not None:
            item = self.loader.dataset[0]
            x = item[0] if isinstance(item, (tuple, list)) else item
            return x.unsqueeze(0).to(self.device)
        return self.stream(2).to(self.device)

    def epoch(self) -> Iterator[tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]]:
        """Yields (inputs, labels or None, index into the static set or None)."""
        if self.x is not None:
            n = len(self.x)
            order = torch.randperm(n, generator=self.generator)
            for s in range(self.steps):
                idx = order[(s * self.batch_size) % n:][: self.batch_size]
                if len(idx) == 0:
                    continue
                y = self.y[idx].to(self.device) if self.y is not None else None
                yield self.x[idx].to(self.device, non_blocking=True), y, idx
        elif self.loader is not None:
            for s, item in enumerate(self.loader):
                if s >= self.steps:
                    break
                if isinstance(item, (tuple, list)):
                    yield item[0].to(self.device), item[1].to(self.device), None
                else:
                    yield item.to(self.device), None, None
        else:
            for _ in range(self.steps):
                yield self.stream(self.batch_size).to(self.device), None, None


def _optimizer(params, name: str, lr: float, weight_decay: float):
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=weight_decay, nesterov=True)
    raise ValueError(f"optimizer must be 'adam' or 'sgd', got {name!r}")


def _run(model, batches: _Batches, step_loss, *, epochs, lr, optimizer, weight_decay, schedule, eval_set,
         progress, desc, name, device) -> History:
    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive int, got {epochs!r}")
    if schedule not in ("cosine", "constant"):
        raise ValueError(f"schedule must be 'cosine' or 'constant', got {schedule!r}")
    opt = _optimizer(model.parameters(), optimizer, lr, weight_decay)
    total = epochs * batches.steps
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, total) if schedule == "cosine" else None
    hist = History(name=name)
    elapsed = 0.0
    bar = tqdm(total=total, desc=desc, disable=not progress, leave=False, mininterval=1.0)
    for ep in range(1, epochs + 1):
        model.train()
        t0 = time.perf_counter()
        loss_sum, count = 0.0, 0
        for x, y, idx in batches.epoch():
            loss = step_loss(model, x, y, idx)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()
            loss_sum += loss.item() * len(x)
            count += len(x)
            bar.update(1)
        elapsed += time.perf_counter() - t0
        acc = evaluate(model, eval_set, device=device) if eval_set is not None else None
        hist.epoch.append(ep)
        hist.loss.append(loss_sum / max(count, 1))
        hist.test_acc.append(acc)
        hist.wall_s.append(elapsed)
        bar.set_postfix(loss=f"{hist.loss[-1]:.4f}", **({"acc": f"{acc:.4f}"} if acc is not None else {}))
    bar.close()
    model.eval()
    return hist


def train(model: nn.Module, trainset, *, epochs: int = 10, batch_size: int = 256, lr: float = 1e-3,
          optimizer: str = "adam", weight_decay: float = 0.0, schedule: str = "cosine",
          augment: Augment | None = None, eval_set=None, device: torch.device | None = None,
          progress: bool = True, seed: int | None = None, name: str = "cross-entropy") -> History:
    """Train ``model`` on labelled data with cross-entropy (Teacher-CE / Student-CE in the papers' tables).

    Args:
        trainset: an ImageSet, a tuple ``(images, labels)`` or a Dataset of ``(x, y)`` pairs.
        augment: optional batched augmentation ``(B, C, H, W) → (B, C, H, W)`` applied to every batch.
        eval_set: optional labelled set evaluated after every epoch.
        seed: seeds the shuffling (and torch's global generator) for a reproducible run.

    Returns:
        :class:`History`; the model is left in eval mode on ``device``.
    """
    device = device or config.device()
    g = config.seed_everything(seed) if seed is not None else torch.Generator().manual_seed(torch.seed() % 2**63)
    if isinstance(trainset, (tuple, list)):
        trainset = _Pair(*trainset)
    batches = _Batches(trainset, None, batch_size, None, device, g)
    if batches.y is None and batches.loader is None:
        raise ValueError("train() needs labels: pass an ImageSet or (images, labels)")
    model.to(device)

    def step_loss(m, x, y, idx):
        if augment is not None:
            x = augment(x)
        return F.cross_entropy(m(x), y)

    return _run(model, batches, step_loss, epochs=epochs, lr=lr, optimizer=optimizer, weight_decay=weight_decay,
                schedule=schedule, eval_set=eval_set, progress=progress, desc=name, name=name, device=device)


@dataclass
class _Pair:
    images: torch.Tensor
    labels: torch.Tensor


def distill(student: nn.Module, teacher: nn.Module, transfer, *, epochs: int = 10, batch_size: int = 256,
            lr: float = 1e-3, T: float = 20.0, lam: float = 0.0, labels: torch.Tensor | None = None,
            optimizer: str = "adam", weight_decay: float = 0.0, schedule: str = "cosine",
            augment: Augment | None = None, steps_per_epoch: int | None = None, eval_set=None,
            device: torch.device | None = None, progress: bool = True, seed: int | None = None,
            name: str = "distill") -> History:
    """Train ``student`` to match ``teacher``'s soft targets on a transfer set — the loop every chapter uses.

    The loss is :func:`kd_loss` (ZSKD eq. (1); with ``lam=0`` the pure distillation term of eq. (4)). With
    ``augment``, each batch is augmented and the **teacher re-labels the augmented batch** (ZSKD Sec. 4). Without
    augmentation the frozen teacher's logits on a static transfer set are computed once and reused.

    Args:
        student: the model to train; moved to ``device``.
        teacher: frozen classifier; put in eval mode and never updated.
        transfer: one of
            * a tensor of inputs (N, C, H, W) — data impressions, arbitrary or inverted images;
            * an ImageSet or a ``Dataset`` (its labels are used only when ``lam > 0``);
            * a callable ``batch_size -> (B, C, H, W)`` tensor (a stream, e.g. a generator); needs
              ``steps_per_epoch``.
        epochs, batch_size, lr, optimizer ('adam'|'sgd'), weight_decay, schedule ('cosine'|'constant'): the
            optimisation; the cosine schedule anneals over all steps.
        T: temperature τ of the soft targets.
        lam, labels: weight and labels of the optional hard-label term (labels default to the ImageSet's).
        augment: batched augmentation ``(B, C, H, W) → (B, C, H, W)``.
        steps_per_epoch: batches per epoch (default: one pass over a static set).
        eval_set: optional labelled set (ImageSet or tuple) evaluated after every epoch.
        seed: seeds shuffling and torch's global generator.

    Returns:
        :class:`History` with per-epoch loss, test accuracy and wall seconds; the student is left in eval mode.

    Raises:
        ValueError: teacher and student disagree on the number of classes K, or bad budgets / shapes.
        TypeError: ``transfer`` is of an unsupported kind.
    """
    device = device or config.device()
    g = config.seed_everything(seed) if seed is not None else torch.Generator().manual_seed(torch.seed() % 2**63)
    if not T > 0:
        raise ValueError(f"temperature T must be > 0, got {T}")
    batches = _Batches(transfer, labels, batch_size, steps_per_epoch, device, g)
    student.to(device)
    teacher.to(device).eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    probe = batches.probe()
    k_t, k_s = num_classes_of(teacher, probe), num_classes_of(student, probe)
    if k_t != k_s:
        raise ValueError(f"teacher and student must have the same number of classes; teacher has {k_t}, "
                         f"student has {k_s}")
    if lam > 0 and batches.y is None and batches.loader is None:
        raise ValueError("lam > 0 needs labels: pass labels= or a labelled ImageSet")
    cached = None
    if augment is None and batches.x is not None:
        cached = logits(teacher, batches.x, device=device)  # the frozen teacher's soft targets, computed once

    def step_loss(m, x, y, idx):
        if augment is not None:
            x = augment(x)
        if cached is not None:
            t = cached[idx].to(device)
        else:
            with torch.no_grad():
                t = teacher(x)
        return kd_loss(m(x), t, T, labels=y if lam > 0 else None, lam=lam)

    return _run(student, batches, step_loss, epochs=epochs, lr=lr, optimizer=optimizer,
                weight_decay=weight_decay, schedule=schedule, eval_set=eval_set, progress=progress,
                desc=name, name=name, device=device)
