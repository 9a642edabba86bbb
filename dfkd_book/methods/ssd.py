"""SSD-KD: small-scale data-free knowledge distillation (Liu et al., CVPR 2024, paper 003).

The authors released no code; this module follows the paper's equations and Algorithm 1, and names every choice
the paper leaves open (:data:`OPEN_CHOICES`). The objective (eq. 2) is

    min_S max_G  E_{x = δ∘g(z)} [ L_BN(x) + L_KD(x) + φ(x) · L_Task(x) ]

* **Data inversion with distribution balancing** (Sec. 3.3): every epoch a generator g is (re-)initialised and
  trained for T_g steps, together with its input z, on L_BN (BN-statistics matching, eq. 1; see
  :class:`dfkd_book.synthesis.BNStatistics`) − L_KD (the generator *maximises* the teacher–student KL) +
  φ(x)·L_Task (cross-entropy of the teacher to the class each sample is made for), where the **modulating
  function** φ (eq. 3) weighs each sample by how rare its teacher-predicted class is in the replay buffer
  (diversity) and by how unsure the teacher is about it (difficulty): :func:`modulating_function`.
* **Distillation with priority sampling** (Sec. 3.4): the batch joins a fixed-size **replay buffer** (the oldest
  samples drop out); T_kd student steps follow on mini-batches drawn with probability P ∝ (|δ| + ε)^α (eq. 6),
  weighted by importance-sampling weights w = (N·P)^(−β) normalised by their maximum (eq. 5), and each drawn
  sample's **priority** becomes δ = w_{i−1} · KL(T(x) ‖ S(x)) (eq. 4; w_{i−1}: its IS weight from its previous
  draw, 1 before its first): :class:`ReplayBuffer`.

Switches reproduce the ablation of the paper's Table 4: ``priority`` (priority sampling vs uniform sampling),
``difficulty`` and ``diversity`` (the two factors of φ; with both off φ ≡ 1). Two more keep the book's earlier
readings of Algorithm 1 measurable (:data:`READINGS`): ``priority_weight="current"`` (δ = w_i · KL, this draw's IS
weight) and ``buffer_batch="eval"`` (the batch regenerated with the generator's running BN statistics).
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ..hooks import require_images, to_device
from ..kd import per_sample_kl
from ..models import DFADGenerator
from ..synthesis import BNStatistics, balanced_labels
from .base import Batch, Method

#: what the paper leaves open, and what this implementation chose (printed by chapter 6)
OPEN_CHOICES = {
    "who maximises what in eq. 2": "read as in the Fast / CMI code it builds on: the generator minimises "
                                   "L_BN + φ·L_Task − L_KD (it maximises only the teacher–student KL); the student "
                                   "minimises L_KD",
    "p_T(x) in eq. 3": "the teacher's softmax probability of its own predicted class c_T(x) (its confidence)",
    "the buffer B in eq. 3": "the replay buffer's samples before the new batch joins, plus the new batch itself "
                             "(so the diversity term is defined for the first epoch, when B is empty)",
    "gradient through φ": "none: φ is a per-sample weight (computed without gradient), like the IS weights",
    "weights of the terms of eq. 2": "bn_weight, adv_weight, task_weight (eq. 2 writes them as 1)",
    "the class a sample is made for (L_Task)": "classes cycle 0, 1, ..., K−1 over the generator's batch",
    "'Initialize a generative network' (Alg. 1, line 4)": "a fresh generator (and a fresh z) every epoch by default; "
                                                         "reinit_generator=False carries the generator over, and "
                                                         "meta=True meta-learns it as Fast does (Reptile; "
                                                         "the ssd-kd-fast recipe, 8 steps per batch)",
    "KL in eq. 4 and L_KD": "τ² · KL(softmax(t/τ) ‖ softmax(s/τ)) per sample, τ = T (the book's kd_loss)",
    "max in the normalisation of eq. 5": "the largest IS weight over the whole buffer, that of the sample least "
                                         "likely to be drawn (prioritised experience replay, Schaul et al. 2016)",
    "which w multiplies the KL in eq. 4": "wᵢ₋₁, the sample's IS weight from its previous draw, as eq. 4 writes "
                                          "it (Alg. 1, lines 19–20, can also be read as this draw's wᵢ, which "
                                          "weights the loss)",
    "wᵢ₋₁ of a sample never drawn": "1 (the paper's w₋₁ = 1) until it is drawn",
}


#: two other readings of Algorithm 1 (earlier versions of this package used them), kept as switches so that their
#: effect can be measured: the keyword arguments of :class:`SSDKD` for each
READINGS = {
    "as eq. 4 and Alg. 1 (the book's)": dict(priority_weight="previous", buffer_batch="train"),
    "δ = wᵢ · KL (this draw's IS weight)": dict(priority_weight="current", buffer_batch="train"),
    "buffer batch from the generator in eval mode": dict(priority_weight="previous", buffer_batch="eval"),
    "both earlier readings": dict(priority_weight="current", buffer_batch="eval"),
}


#: the rows of SSD-KD's Table 4: which modules are on (priority sampling, difficulty term, diversity term)
ABLATION = {
    "baseline": dict(priority=False, difficulty=False, diversity=False),
    "baseline + PS": dict(priority=True, difficulty=False, diversity=False),
    "baseline + difficulty": dict(priority=False, difficulty=True, diversity=False),
    "baseline + diversity": dict(priority=False, difficulty=False, diversity=True),
    "baseline + difficulty + diversity": dict(priority=False, difficulty=True, diversity=True),
    "SSD-KD (all)": dict(priority=True, difficulty=True, diversity=True),
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


# ------------------------------------------------------------------------------------------- eqs. 4, 5 and 6
class ReplayBuffer:
    """A fixed-capacity replay buffer of synthetic samples with priority sampling (SSD-KD Sec. 3.4).

    Each slot holds an image, the teacher's logits on it, its priority δ and its last importance-sampling weight
    w. :meth:`add` appends a batch and drops the **oldest** samples beyond ``capacity``; :meth:`sample` draws a
    mini-batch with probability (eq. 6)

        P(x) = (|δ(x)| + ε)^α / Σ_{x'∈B} (|δ(x')| + ε)^α

    (α = 0: uniform) and returns importance-sampling weights (eq. 5) w(x) = (N · P(x))^(−β) divided by the largest
    weight in the buffer; :meth:`update` stores the new priorities δ = w_{i−1} · KL (eq. 4) of the drawn samples.

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
        if generator is not None and generator.device.type != probs.device.type:  # no host copy: drawn on the device
            raise ValueError(f"the sampling generator is on {generator.device} and the buffer on {probs.device}; "
                             "make the generator on the buffer's device")
        idx = torch.multinomial(probs, batch_size, replacement=False, generator=generator)
        return idx, self.importance_weights(idx, probs)

    def update(self, idx: torch.Tensor, priorities: torch.Tensor, weights: torch.Tensor) -> None:
        """Store new priorities δ (eq. 4) and this draw's IS weights w_i of the samples ``idx`` (Alg. 1, line 21);
        the stored w_i is the w_{i−1} of the sample's next priority."""
        self.priorities[idx] = priorities.detach().float().to(self.priorities.device)
        self.weights[idx] = weights.detach().float().to(self.weights.device)


# ------------------------------------------------------------------------------------------------- Algorithm 1
class SSDKD(Method):
    """SSD-KD (Liu et al. 2024, Algorithm 1) as a method of :func:`dfkd_book.distill`; the loop runs the student's
    T_kd steps (Adam, cosine over the whole run, in :mod:`dfkd_book.recipes`) and the method everything else.

    Every ``kd_steps`` student steps (an epoch of Algorithm 1): (1) a generator (fresh with ``reinit_generator``)
    and a fresh z ~ N(0, 1) of ``synthesis_batch`` rows are optimised together for ``g_steps`` Adam steps on
    ``bn_weight``·L_BN − ``adv_weight``·L_KD + ``task_weight``·mean(φ·CE) (eq. 2; φ of eq. 3 from the buffer);
    the batch joins the replay buffer with priority δ = KL(T‖S) (eq. 4, w_{−1} = 1). (2) The student's batches
    are drawn from the buffer by priority (eq. 6; uniform without ``priority``) with IS weights w (eq. 5; 1
    without ``priority``) — the loop's loss is mean(w · KL) — and the drawn samples get δ = w_{i−1} · KL (eq. 4;
    the IS weight of their previous draw) back through :meth:`feedback`. With augmentation the loop re-labels
    the mini-batch with the teacher.

    Args:
        generator: a callable ``input shape -> generator`` with an ``nz`` attribute (default: the DFAD generator,
            ``width`` wide). g_steps: T_g. kd_steps: T_kd. synthesis_batch: samples per epoch.
        capacity: |B| (default: every sample the run makes). lr_g, lr_z: Adam learning rates of the generator
            and z. T: τ of L_KD in the generator's loss (default: the loop's τ). bn_weight, first_weight,
            adv_weight, task_weight: the terms of eq. 2. gamma: γ (eq. 3). alpha, beta, eps: eqs. 5–6.
        priority, diversity, difficulty: the modules of Table 4 (all off = the baseline).
        priority_weight: ``"previous"`` (eq. 4's w_{i−1}) or ``"current"`` (this draw's w_i, the book's earlier
            reading). buffer_batch: ``"train"`` (the batch the generator's steps optimised: BN on batch
            statistics) or ``"eval"`` (regenerated with the generator's running BN statistics, the book's earlier
            reading). See :data:`READINGS`.
        meta: Fast's meta-generator (Fang et al. 2022, Reptile; needs ``reinit_generator=False``): every epoch's
            g_steps run on a copy of the generator, and the generator then takes one Adam step (learning rate
            lr_g · g_steps) towards the copy, θ ← θ − η·(θ − θ'): a start from which a few steps make a good batch.

    After :func:`dfkd_book.distill`: ``.buffer`` (:class:`ReplayBuffer`), ``.classes`` and ``.confidence`` (per
    epoch, the teacher's predicted class and confidence on the new batch: the paper's Fig. 2), ``.pool`` (the
    buffer's images).

    Raises:
        ValueError: bad budgets, capacity < the student's batch, γ < 0, α < 0, β < 0, a teacher without BatchNorm
            (SSD-KD inverts BN statistics), a generator that does not fit the teacher, the default generator on a
            teacher of vectors, an unknown ``priority_weight`` or ``buffer_batch``, ``meta`` with
            ``reinit_generator``.
    """

    name = "SSD-KD"
    kind = "synthetic"

    def __init__(self, generator: Callable[[tuple], nn.Module] | None = None, *, g_steps: int = 50,
                 kd_steps: int = 50, synthesis_batch: int = 256, capacity: int | None = None, lr_g: float = 1e-2,
                 lr_z: float = 1e-2, T: float | None = None, bn_weight: float = 1.0, first_weight: float = 10.0,
                 adv_weight: float = 1.0, task_weight: float = 1.0, gamma: float = 2.0, alpha: float = 0.6,
                 beta: float = 0.4, eps: float = 1e-6, priority: bool = True, diversity: bool = True,
                 difficulty: bool = True, reinit_generator: bool = True, nz: int = 100, width: int = 32,
                 priority_weight: str = "previous", buffer_batch: str = "train", meta: bool = False):
        super().__init__()
        if meta and reinit_generator:
            raise ValueError("meta=True (Fast's meta-generator) carries the generator over epochs: it needs "
                             "reinit_generator=False")
        self.meta = meta
        if priority_weight not in ("previous", "current"):
            raise ValueError(f"priority_weight must be 'previous' (eq. 4's w_(i-1)) or 'current' (this draw's "
                             f"w_i), got {priority_weight!r}")
        if buffer_batch not in ("train", "eval"):
            raise ValueError(f"buffer_batch must be 'train' (the batch the generator was optimised to make) or "
                             f"'eval' (regenerated with its running BN statistics), got {buffer_batch!r}")
        self.priority_weight, self.buffer_batch = priority_weight, buffer_batch
        for what, v in (("g_steps", g_steps), ("kd_steps", kd_steps), ("synthesis_batch", synthesis_batch)):
            if not isinstance(v, int) or v < 1:
                raise ValueError(f"{what} must be a positive int, got {v!r}")
        if not gamma >= 0:
            raise ValueError(f"gamma (the difficulty exponent γ of eq. 3) must be >= 0, got {gamma!r}")
        if T is not None and not T > 0:
            raise ValueError(f"temperature T must be > 0, got {T}")
        if capacity is not None and (not isinstance(capacity, int) or capacity < 1):
            raise ValueError(f"capacity must be a positive int, got {capacity!r}")
        ReplayBuffer(1, alpha, beta, eps)  # checks α, β, ε
        self._make_generator = generator
        self.g_steps, self.kd_steps, self.synthesis_batch, self.capacity = g_steps, kd_steps, synthesis_batch, capacity
        self.lr_g, self.lr_z, self.T = lr_g, lr_z, T
        self.bn_weight, self.first_weight, self.adv_weight, self.task_weight = bn_weight, first_weight, adv_weight, \
            task_weight
        self.gamma, self.alpha, self.beta, self.eps = gamma, alpha, beta, eps
        self.priority, self.diversity, self.difficulty = priority, diversity, difficulty
        self.reinit_generator, self.nz, self.width = reinit_generator, nz, width
        self.buffer: ReplayBuffer | None = None
        self.classes: list[torch.Tensor] = []
        self.confidence: list[torch.Tensor] = []

    def _new_generator(self) -> nn.Module:
        shape = self.ctx.input_shape
        if self._make_generator is None:
            g = DFADGenerator(require_images(shape, "SSD-KD's default generator (a convolutional one)"),
                              nz=self.nz, width=self.width)
        else:
            g = self._make_generator(shape)
        if not isinstance(getattr(g, "nz", None), int):
            raise ValueError("the generator needs an integer attribute nz (the size of z)")
        return to_device(g, self.ctx.device)

    def prepare(self, ctx, student):
        super().prepare(ctx, student)
        BNStatistics(ctx.teacher, self.first_weight).remove()  # raises for a teacher without BN
        epochs = -(-ctx.steps // self.kd_steps)
        capacity = self.capacity or max(epochs * self.synthesis_batch, ctx.batch_size)
        if capacity < ctx.batch_size:
            raise ValueError(f"the replay buffer's capacity ({capacity}) must be >= the distillation batch size "
                             f"({ctx.batch_size})")
        self.buffer = ReplayBuffer(capacity, self.alpha if self.priority else 0.0,
                                   self.beta if self.priority else 0.0, self.eps)
        self.generator = self._new_generator()
        self._meta_opt = None
        with torch.no_grad():
            self.generator.eval()
            probe = self.generator(torch.randn(2, self.generator.nz, device=ctx.device))
        if tuple(probe.shape[1:]) != tuple(ctx.input_shape):
            raise ValueError(f"the generator makes inputs of shape {tuple(probe.shape[1:])}, but the teacher reads "
                             f"{tuple(ctx.input_shape)}")
        self.labels = balanced_labels(self.synthesis_batch, ctx.num_classes).to(ctx.device)
        # the buffer's draws (eq. 6) on the device they are made on, so sampling never waits on a host copy
        self.sampler = torch.Generator(ctx.device).manual_seed(0 if ctx.seed is None else ctx.seed)
        self._lg = []

    # ------------------------------------------------------------------ (1) data inversion with balancing
    def synthesize(self, step, student):
        if step % self.kd_steps:
            return
        ctx, t = self.ctx, self.ctx.teacher
        T = self.T or ctx.T
        if self.reinit_generator and step > 0:
            self.generator = self._new_generator()
        if self.meta:  # Fast: this epoch's steps run on a copy; the meta-generator follows it below (Reptile)
            g = copy.deepcopy(self.generator)
        else:
            g = self.generator
        g.train()
        was = student.training
        student.eval()
        z = torch.randn(self.synthesis_batch, g.nz, device=ctx.device, requires_grad=True)
        opt_g = torch.optim.Adam([{"params": g.parameters(), "lr": self.lr_g}, {"params": [z], "lr": self.lr_z}],
                                 betas=(0.5, 0.999))
        lg = 0.0
        with BNStatistics(t, self.first_weight) as bn:
            for _ in range(self.g_steps):
                x = g(z)
                t_logits = t(x)
                loss_bn = bn.loss()
                loss_adv = per_sample_kl(student(x), t_logits, T).mean()
                phi = modulating_function(t_logits, torch.cat([self.buffer.classes().to(ctx.device),
                                                               t_logits.argmax(1).detach()]),
                                          self.gamma, self.diversity, self.difficulty)
                loss_task = (phi * F.cross_entropy(t_logits, self.labels, reduction="none")).mean()
                loss = self.bn_weight * loss_bn - self.adv_weight * loss_adv + self.task_weight * loss_task
                opt_g.zero_grad(set_to_none=True)
                loss.backward()
                opt_g.step()
                lg = lg + loss.detach().double()  # summed on the device: no host synchronisation per step
        with torch.no_grad():  # the batch as the generator was optimised to make it: BN on batch statistics
            if self.buffer_batch == "eval":
                g.eval()
            x = g(z).detach()
            g.eval()
            t_logits = t(x)
            prob = F.softmax(t_logits, 1)
            delta = per_sample_kl(student(x), t_logits, T)  # eq. 4 with w_{−1} = 1
        student.train(was)
        student.zero_grad(set_to_none=True)
        if self.meta:
            self._reptile(g)
        self.buffer.add(x, t_logits, delta)
        self.classes.append(prob.argmax(1).cpu())
        self.confidence.append(prob.max(1).values.cpu())
        self.synthetic = self.buffer.added
        self.pool = self.buffer.images
        self._lg.append(lg / self.g_steps)

    def _reptile(self, fast: nn.Module) -> None:
        """One Reptile step of the meta-generator towards ``fast`` (its copy after this epoch's g_steps): the
        gradient θ − θ' to Adam (Fast, Fang et al. 2022)."""
        if self._meta_opt is None:
            self._meta_opt = torch.optim.Adam(self.generator.parameters(), lr=self.lr_g * self.g_steps,
                                              betas=(0.5, 0.999))
        for p, q in zip(self.generator.parameters(), fast.parameters()):
            p.grad = (p.detach() - q.detach()).clone()
        self._meta_opt.step()
        self._meta_opt.zero_grad(set_to_none=True)
        self.generator.load_state_dict({k: v for k, v in fast.state_dict().items() if "running" in k or
                                        "num_batches" in k}, strict=False)

    # ------------------------------------------------------------------ (2) distillation with priority sampling
    def batch(self, batch_size):
        idx, w = self.buffer.sample(min(batch_size, len(self.buffer)), self.sampler)
        return Batch(x=self.buffer.images[idx], teacher_logits=self.buffer.logits[idx], weights=w, index=idx)

    def feedback(self, batch, losses):
        # eq. 4: δ = w_{i−1} · KL, the IS weight of the sample's previous draw (1 before its first); this draw's
        # w_i weighted the loss and is stored for the next
        w = self.buffer.weights[batch.index] if self.priority_weight == "previous" else batch.weights
        self.buffer.update(batch.index, w * losses, batch.weights)

    def log(self):
        out = {"loss_generator": float(sum(self._lg)) / len(self._lg) if self._lg else float("nan")}
        self._lg = []
        return out

    def settings(self) -> dict:
        keys = ("g_steps", "kd_steps", "synthesis_batch", "capacity", "lr_g", "lr_z", "T", "bn_weight",
                "first_weight", "adv_weight", "task_weight", "gamma", "alpha", "beta", "eps", "priority",
                "diversity", "difficulty", "reinit_generator", "nz", "width", "priority_weight", "buffer_batch", "meta")
        return {k: getattr(self, k) for k in keys}
