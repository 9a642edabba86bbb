"""SSD-KD: small-scale data-free knowledge distillation (Liu et al., CVPR 2024, paper 003).

The authors released no code; this module follows the paper's equations and Algorithm 1, and names every choice
the paper leaves open (:data:`OPEN_CHOICES`). The objective (eq. 2) is

    min_S max_G  E_{x = δ∘g(z)} [ L_BN(x) + L_KD(x) + φ(x) · L_Task(x) ]

* **Data inversion with distribution balancing** (Sec. 3.3): every epoch a generator g is (re-)initialised and
  trained for T_g steps, together with its input z, on L_BN (BN-statistics matching, eq. 1; see
  :class:`dfkd_book.inversion.BNStatistics`) − L_KD (the generator *maximises* the teacher–student KL) +
  φ(x)·L_Task (cross-entropy of the teacher to the class each sample is made for), where the **modulating
  function** φ (eq. 3) weighs each sample by how rare its teacher-predicted class is in the replay buffer
  (diversity) and by how unsure the teacher is about it (difficulty): :func:`modulating_function`.
* **Distillation with priority sampling** (Sec. 3.4): the batch joins a fixed-size **replay buffer** (the oldest
  samples drop out); T_kd student steps follow on mini-batches drawn with probability P ∝ (|δ| + ε)^α (eq. 6),
  weighted by importance-sampling weights w = (N·P)^(−β) normalised by their maximum (eq. 5), and each drawn
  sample's **priority** becomes δ = w · KL(T(x) ‖ S(x)) (eq. 4): :class:`ReplayBuffer`.

Switches reproduce the ablation of the paper's Table 4: ``priority`` (priority sampling vs uniform sampling),
``difficulty`` and ``diversity`` (the two factors of φ; with both off φ ≡ 1).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from . import config
from .adversarial import _update
from .inversion import BNStatistics, balanced_labels
from .kd import Curve, evaluate, frozen_copy, num_classes_of

#: what the paper leaves open, and what this implementation chose (printed by chapter 6)
OPEN_CHOICES = {
    "who maximises what in eq. 2": "read as in the Fast / CMI code it builds on: the generator minimises "
                                   "L_BN + φ·L_Task − L_KD (it maximises only the teacher–student KL); the student "
                                   "minimises L_KD",
    "p_T(x) in eq. 3": "the teacher's softmax probability of its own predicted class c_T(x) (its confidence)",
    "the buffer B in eq. 3": "the replay buffer's samples *before* the new batch joins, plus the new batch itself "
                             "(so the diversity term is defined for the first epoch, when B is empty)",
    "gradient through φ": "none: φ is a per-sample weight (computed without gradient), like the IS weights",
    "weights of the terms of eq. 2": "bn_weight, adv_weight, task_weight (eq. 2 writes them as 1)",
    "the class a sample is made for (L_Task)": "classes cycle 0, 1, ..., K−1 over the generator's batch",
    "'Initialize a generative network' (Alg. 1, line 4)": "a fresh generator (and a fresh z) every epoch by default; "
                                                         "reinit_generator=False carries the generator over",
    "KL in eq. 4 and L_KD": "τ² · KL(softmax(t/τ) ‖ softmax(s/τ)) per sample, τ = T (the book's kd_loss)",
    "max in the normalisation of eq. 5": "the largest IS weight over the whole buffer, (N · min P)^(−β) "
                                         "(prioritised experience replay, Schaul et al. 2016)",
    "w_{i−1} of a sample never drawn": "1 (the paper's w_{−1} = 1) until it is drawn",
}


# --------------------------------------------------------------------------------------------------- eq. 3
def modulating_function(teacher_logits: torch.Tensor, buffer_classes: torch.Tensor, gamma: float = 2.0,
                        diversity: bool = True, difficulty: bool = True) -> torch.Tensor:
    """φ(x) of SSD-KD eq. 3 for a batch of synthetic samples:

        φ(x) = (1 − (1/|B|) Σ_{x'∈B} 1[c_T(x') = c_T(x)]) · (1 − p_T(x))^γ

    the diversity-aware factor (samples whose teacher-predicted class is common in the buffer weigh less) times
    the difficulty-aware factor (samples the teacher is sure about weigh less; a focal-loss factor).

    Args:
        teacher_logits: (N, K) the teacher's logits on the samples; c_T = argmax, p_T = the max softmax.
        buffer_classes: (M,) teacher-predicted classes of the buffer B; M = 0 makes the diversity factor 1.
        gamma: γ ≥ 0 of the difficulty factor. diversity, difficulty: switch each factor off (→ 1; Table 4).

    Returns:
        (N,) weights in [0, 1], without gradient.

    Raises:
        ValueError: γ < 0, or logits not (N, K).
    """
    if not gamma >= 0:
        raise ValueError(f"gamma (the difficulty exponent γ of eq. 3) must be >= 0, got {gamma!r}")
    if teacher_logits.ndim != 2:
        raise ValueError(f"teacher_logits must be (N, K), got {tuple(teacher_logits.shape)}")
    with torch.no_grad():
        prob = F.softmax(teacher_logits.float(), 1)
        p, c = prob.max(1)
        phi = torch.ones_like(p)
        if diversity and len(buffer_classes):
            counts = torch.bincount(buffer_classes.to(c.device).long(), minlength=teacher_logits.shape[1]).float()
            phi = phi * (1 - counts[c] / len(buffer_classes))
        if difficulty:
            phi = phi * (1 - p).pow(gamma)
    return phi


def per_sample_kl(student_logits: torch.Tensor, teacher_logits: torch.Tensor, T: float) -> torch.Tensor:
    """τ² · KL(softmax(t/τ) ‖ softmax(s/τ)) for each sample → (N,). Its batch mean is :func:`dfkd_book.kd.kd_loss`."""
    log_p_s = F.log_softmax(student_logits / T, 1)
    log_p_t = F.log_softmax(teacher_logits.detach() / T, 1)
    return (T * T) * (log_p_t.exp() * (log_p_t - log_p_s)).sum(1)


# ------------------------------------------------------------------------------------------- eqs. 4, 5 and 6
class ReplayBuffer:
    """A fixed-capacity replay buffer of synthetic samples with priority sampling (SSD-KD Sec. 3.4).

    Each slot holds an image, the teacher's logits on it, its priority δ and its last importance-sampling weight
    w. :meth:`add` appends a batch and drops the **oldest** samples beyond ``capacity``; :meth:`sample` draws a
    mini-batch with probability (eq. 6)

        P(x) = (|δ(x)| + ε)^α / Σ_{x'∈B} (|δ(x')| + ε)^α

    (α = 0: uniform) and returns importance-sampling weights (eq. 5) w(x) = (N · P(x))^(−β) divided by the largest
    weight in the buffer; :meth:`update` stores the new priorities δ = w · KL (eq. 4) of the drawn samples.

    Args:
        capacity: |B|, the number of samples kept (≥ 1). alpha: α ≥ 0. beta: β ≥ 0. eps: ε > 0.

    Raises:
        ValueError: a bad capacity, α < 0, β < 0, ε ≤ 0; at :meth:`sample`, a batch larger than the capacity.
    """

    def __init__(self, capacity: int, alpha: float = 0.6, beta: float = 0.4, eps: float = 1e-6):
        if not isinstance(capacity, int) or capacity < 1:
            raise ValueError(f"capacity must be a positive int, got {capacity!r}")
        if not alpha >= 0:
            raise ValueError(f"alpha (the priority exponent α of eq. 6) must be >= 0, got {alpha!r}")
        if not beta >= 0:
            raise ValueError(f"beta (the importance-sampling exponent β of eq. 5) must be >= 0, got {beta!r}")
        if not eps > 0:
            raise ValueError(f"eps (ε of eq. 6) must be > 0, got {eps!r}")
        self.capacity, self.alpha, self.beta, self.eps = capacity, float(alpha), float(beta), float(eps)
        self.images = self.logits = None
        self.priorities = torch.empty(0)
        self.weights = torch.empty(0)
        self.added = 0  # samples ever added

    def __len__(self) -> int:
        return len(self.priorities)

    def add(self, images: torch.Tensor, teacher_logits: torch.Tensor, priorities: torch.Tensor) -> None:
        """Append (B, C, H, W) images, their (B, K) teacher logits and (B,) priorities; keep the newest
        ``capacity``. New samples carry the IS weight w_{−1} = 1."""
        if not (len(images) == len(teacher_logits) == len(priorities)):
            raise ValueError(f"images, logits and priorities must have the same length, got {len(images)}, "
                             f"{len(teacher_logits)}, {len(priorities)}")
        images, teacher_logits = images.detach(), teacher_logits.detach()
        priorities = priorities.detach().float().to(images.device)
        old = (self.images, self.logits, self.priorities.to(images.device), self.weights.to(images.device))
        new = (images, teacher_logits, priorities, torch.ones_like(priorities))
        self.images, self.logits, self.priorities, self.weights = (
            (n if o is None else torch.cat([o, n]))[-self.capacity:] for o, n in zip(old, new))
        self.added += len(images)

    def classes(self) -> torch.Tensor:
        """(N,) the teacher's predicted class of every sample in the buffer (empty when the buffer is)."""
        return torch.empty(0, dtype=torch.long) if self.logits is None else self.logits.argmax(1)

    def probabilities(self) -> torch.Tensor:
        """(N,) sampling probabilities of eq. 6; they sum to 1."""
        p = (self.priorities.abs() + self.eps).pow(self.alpha)
        return p / p.sum()

    def importance_weights(self, idx: torch.Tensor, probs: torch.Tensor | None = None) -> torch.Tensor:
        """IS weights (eq. 5) of the samples ``idx``: (N·P)^(−β) / max over the buffer of (N·P)^(−β)."""
        probs = self.probabilities() if probs is None else probs
        n = len(probs)
        return ((n * probs[idx]).pow(-self.beta) / (n * probs.min()).pow(-self.beta)).clamp(max=1.0)

    def sample(self, batch_size: int, generator: torch.Generator | None = None
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw ``batch_size`` distinct indices by eq. 6; returns ``(idx, IS weights)``.
        Raises ValueError when the buffer holds fewer samples than ``batch_size`` or the capacity is smaller."""
        if batch_size > self.capacity:
            raise ValueError(f"the buffer's capacity ({self.capacity}) is smaller than the batch size "
                             f"({batch_size}); use a larger buffer or smaller mini-batches")
        if batch_size > len(self):
            raise ValueError(f"the buffer holds {len(self)} samples, fewer than the batch size {batch_size}")
        probs = self.probabilities()
        idx = torch.multinomial(probs.cpu(), batch_size, replacement=False, generator=generator).to(probs.device)
        return idx, self.importance_weights(idx, probs)

    def update(self, idx: torch.Tensor, priorities: torch.Tensor, weights: torch.Tensor) -> None:
        """Store new priorities δ_{i+1} and IS weights w_i of the samples ``idx`` (Alg. 1, line 21)."""
        self.priorities[idx] = priorities.detach().float().to(self.priorities.device)
        self.weights[idx] = weights.detach().float().to(self.weights.device)


# ------------------------------------------------------------------------------------------------- Algorithm 1
@dataclass
class SSDHistory(Curve):
    """What an SSD-KD run leaves behind.

    Attributes:
        name: a label. epoch: epochs at which the student was evaluated. test_acc: accuracy in [0, 1] there.
        wall_s: cumulative wall seconds (evaluation excluded). synthetic: samples synthesised so far.
        classes, confidence: per epoch, the teacher's predicted class and its confidence on that epoch's new
            batch (the distributions of the paper's Fig. 2).
        loss_generator, loss_student: per epoch, the mean losses.
        buffer: the replay buffer at the end.
    """

    name: str = ""
    epoch: list[int] = field(default_factory=list)
    test_acc: list[float | None] = field(default_factory=list)
    wall_s: list[float] = field(default_factory=list)
    synthetic: list[int] = field(default_factory=list)
    classes: list[torch.Tensor] = field(default_factory=list)
    confidence: list[torch.Tensor] = field(default_factory=list)
    loss_generator: list[float] = field(default_factory=list)
    loss_student: list[float] = field(default_factory=list)
    buffer: ReplayBuffer | None = None


def ssd_kd(student: nn.Module, teacher: nn.Module, make_generator: Callable[[], nn.Module], *, epochs: int = 20,
           g_steps: int = 50, kd_steps: int = 50, synthesis_batch: int = 256, kd_batch: int = 128,
           capacity: int = 5000, lr_g: float = 1e-2, lr_z: float = 1e-2, lr_s: float = 1e-2, T: float = 20.0,
           bn_weight: float = 1.0, first_weight: float = 10.0, adv_weight: float = 1.0, task_weight: float = 1.0,
           gamma: float = 2.0, alpha: float = 0.6, beta: float = 0.4, eps: float = 1e-6, priority: bool = True,
           diversity: bool = True, difficulty: bool = True, reinit_generator: bool = True,
           augment: Callable[[torch.Tensor], torch.Tensor] | None = None, eval_set=None, eval_every: int = 1,
           seed: int | None = 0, device: torch.device | None = None, progress: bool = True,
           name: str = "SSD-KD") -> SSDHistory:
    """Train ``student`` from ``teacher`` by SSD-KD (paper 003, Algorithm 1); the student is trained in place.

    Per epoch: (1) a generator from ``make_generator()`` (fresh each epoch with ``reinit_generator``) and a
    fresh z ~ N(0, 1) of ``synthesis_batch`` rows are optimised together for ``g_steps`` Adam steps on
    ``bn_weight``·L_BN − ``adv_weight``·L_KD + ``task_weight``·mean(φ·CE) (eq. 2; φ of eq. 3 from the buffer);
    the batch joins the replay buffer with priority δ = KL(T‖S) (eq. 4, w_{−1} = 1). (2) ``kd_steps`` student
    steps (Adam ``lr_s``, cosine over the whole run) on ``kd_batch`` samples drawn by priority (eq. 6; uniform
    without ``priority``), loss = mean(w · KL) with IS weights w (eq. 5; 1 without ``priority``); the drawn
    samples get δ = w · KL (eq. 4). With ``augment``, the student sees an augmented mini-batch and the teacher
    re-labels it.

    Args:
        make_generator: builds a generator z (B, nz) → images (B, C, H, W) in [0, 1] with an ``nz`` attribute
            (e.g. ``lambda: models.DFADGenerator((1, 32, 32), width=32)``).
        epochs: E. g_steps: T_g. kd_steps: T_kd. capacity: |B|. gamma: γ (eq. 3). alpha, beta, eps: eqs. 5–6.
        priority, diversity, difficulty: the modules of Table 4 (all off = the baseline).

    Returns:
        :class:`SSDHistory`; the student is left in eval mode.

    Raises:
        ValueError: bad budgets, capacity < kd_batch, γ < 0, α < 0, β < 0, a teacher without BatchNorm (SSD-KD
            inverts BN statistics), a generator that does not fit the teacher, teacher and student with
            different numbers of classes.
    """
    for what, v in (("epochs", epochs), ("g_steps", g_steps), ("kd_steps", kd_steps),
                    ("synthesis_batch", synthesis_batch), ("kd_batch", kd_batch), ("eval_every", eval_every)):
        if not isinstance(v, int) or v < 1:
            raise ValueError(f"{what} must be a positive int, got {v!r}")
    if capacity < kd_batch:
        raise ValueError(f"the replay buffer's capacity ({capacity}) must be >= the distillation batch size "
                         f"({kd_batch})")
    if not gamma >= 0:
        raise ValueError(f"gamma (the difficulty exponent γ of eq. 3) must be >= 0, got {gamma!r}")
    if not T > 0:
        raise ValueError(f"temperature T must be > 0, got {T}")
    buffer = ReplayBuffer(capacity, alpha if priority else 0.0, beta if priority else 0.0, eps)
    device = device or config.device()
    if seed is not None:
        config.seed_everything(seed)
    t = frozen_copy(teacher, device)
    bn = BNStatistics(t, first_weight)  # raises for a teacher without BN
    student.to(device)
    g = make_generator().to(device)
    nz = getattr(g, "nz", None)
    if not isinstance(nz, int):
        bn.remove()
        raise ValueError("the generator needs an integer attribute nz (the size of z)")
    with torch.no_grad():
        g.eval()
        probe = g(torch.randn(2, nz, device=device))
    try:
        k = num_classes_of(t, probe)
    except (RuntimeError, ValueError) as e:
        bn.remove()
        raise ValueError(f"the generator's output {tuple(probe.shape[1:])} does not fit the teacher's input: {e}"
                         ) from e
    if num_classes_of(student, probe) != k:
        bn.remove()
        raise ValueError(f"teacher and student must have the same number of classes; teacher has {k}, student "
                         f"has {num_classes_of(student, probe)}")

    opt_s = torch.optim.Adam(student.parameters(), lr=lr_s)
    sched_s = torch.optim.lr_scheduler.CosineAnnealingLR(opt_s, epochs * kd_steps)
    labels = balanced_labels(synthesis_batch, k).to(device)
    sampler = torch.Generator().manual_seed(0 if seed is None else seed)
    hist = SSDHistory(name=name)
    elapsed = 0.0
    bar = tqdm(total=epochs, desc=name, disable=not progress, leave=False, mininterval=1.0)
    try:
        for epoch in range(1, epochs + 1):
            t0 = time.perf_counter()
            # (1) data inversion with distribution balancing
            if reinit_generator and epoch > 1:
                g = make_generator().to(device)
            g.train()
            student.eval()
            z = torch.randn(synthesis_batch, nz, device=device, requires_grad=True)
            opt_g = torch.optim.Adam([{"params": g.parameters(), "lr": lr_g}, {"params": [z], "lr": lr_z}],
                                     betas=(0.5, 0.999))
            lg = 0.0
            for _ in range(g_steps):
                x = g(z)
                t_logits = t(x)
                loss_bn = bn.loss()
                s_logits = student(x)
                loss_adv = per_sample_kl(s_logits, t_logits, T).mean()
                phi = modulating_function(t_logits, torch.cat([buffer.classes().to(device),
                                                               t_logits.argmax(1).detach()]),
                                          gamma, diversity, difficulty)
                loss_task = (phi * F.cross_entropy(t_logits, labels, reduction="none")).mean()
                loss = bn_weight * loss_bn - adv_weight * loss_adv + task_weight * loss_task
                opt_g.zero_grad(set_to_none=True)
                loss.backward()
                opt_g.step()
                lg += loss.item()
            with torch.no_grad():
                g.eval()
                x = g(z).detach()
                t_logits = t(x)
                prob = F.softmax(t_logits, 1)
                delta = per_sample_kl(student(x), t_logits, T)  # eq. 4 with w_{−1} = 1
            buffer.add(x, t_logits, delta)
            hist.classes.append(prob.argmax(1).cpu())
            hist.confidence.append(prob.max(1).values.cpu())
            # (2) distillation with priority sampling
            student.train()
            ls = 0.0
            for _ in range(kd_steps):
                idx, w = buffer.sample(min(kd_batch, len(buffer)), sampler)
                xb = buffer.images[idx]
                if augment is not None:
                    xb = augment(xb)
                    with torch.no_grad():
                        tb = t(xb)
                else:
                    tb = buffer.logits[idx]
                kl = per_sample_kl(student(xb), tb, T)
                ls += _update((w * kl).mean(), opt_s, sched_s, student, clip=0.0)
                buffer.update(idx, w * kl.detach(), w)
            elapsed += time.perf_counter() - t0
            bar.update(1)
            if epoch % eval_every == 0 or epoch == epochs:
                acc = evaluate(student, eval_set, device=device) if eval_set is not None else None
                hist.epoch.append(epoch)
                hist.test_acc.append(acc)
                hist.wall_s.append(elapsed)
                hist.synthetic.append(buffer.added)
                hist.loss_generator.append(lg / g_steps)
                hist.loss_student.append(ls / kd_steps)
                if acc is not None:
                    bar.set_postfix(acc=f"{acc:.4f}")
    finally:
        bar.close()
        bn.remove()
    student.eval()
    if not math.isfinite(hist.loss_student[-1]):
        raise FloatingPointError(f"SSD-KD diverged: student loss {hist.loss_student[-1]}")
    hist.buffer = buffer
    return hist
