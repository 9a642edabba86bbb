"""Black-box data-free distillation: methods that need only what a teacher behind an API answers.

Both are methods of :func:`dfkd_book.distill`; give them a :class:`dfkd_book.blackbox.TeacherAPI` (a module
teacher works too, and is then read only through its outputs).

* :class:`DFME` — Truong, Maini, Walls & Papernot 2021, *Data-Free Model Extraction* (CVPR): DFAD's game (the
  generator maximises the L1 disagreement of teacher and student logits, the student minimises it) with the
  teacher's gradient replaced by a **zeroth-order estimate**: forward differences along m random directions u_j,
  uniform on the unit sphere of R^d (d = C·H·W), of the generator's loss L at its pre-tanh output y,

      ĝ(y_i) = (1/m) Σ_j d · [L(y_i + ε u_j) − L(y_i)] / ε · u_j,

  pushed back through the generator (``y.backward(ĝ)``). Probabilities stand in for logits as
  log p − mean_k log p (the official code's ``logit_correction='mean'``). Each generator step costs (m + 1)·B
  queries, each student step B. Settings: the official code (``cake-lab/datafree-model-extraction``,
  ``dfme/approximate_gradients.py`` and ``train.py``): m = 1, ε = 10⁻³, B = 256, one generator step then five
  student steps, Adam 10⁻⁴ for the generator and SGD 0.1 (momentum 0.9, weight decay 5 · 10⁻⁴) for the student,
  both × 0.3 at 10, 30 and 50 % of the run; its generator ends in BN(affine=False) → tanh, nz = 256.
* :class:`IDEAL` — Zhang, Chen & Lyu 2023, *IDEAL: Query-Efficient Data-Free Learning from Black-box Models*
  (ICLR): a **hard-label** method in rounds. Each round a fresh generator is trained against the **student
  alone** (no teacher query): cross-entropy of the student on its images to fixed class-balanced targets plus
  5 · mean(p log p) of the student's softmax (the official ``ideal.py``); the batch of lowest loss joins the
  pool and the teacher labels it, **once per sample**; the student then trains on the whole pool with
  cross-entropy to those labels (SGD 0.01, momentum 0.9, weight decay 5 · 10⁻⁴, no schedule). Settings: the
  official code (``SonyResearch/IDEAL``): 30 generator steps of Adam 10⁻³ (β = 0.5, 0.999) per round, batch 250,
  nz = 256, generator weights drawn from N(0, 0.02) every round.

What the book could not find (the papers' bodies were not readable here; every setting is the official code's):
DFME's and IDEAL's Fashion-MNIST settings (neither code has a Fashion-MNIST path), IDEAL's printed objective.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..augment import FlipShift
from ..hooks import require_images, to_device
from ..kd import per_sample_kl
from ..models import DFADGenerator
from ..synthesis import balanced_labels
from .base import Batch, Method, left_as_is

#: where each setting comes from, and what the book reads into it (shown by chapter 8)
READING = {
    "DFME's logits from probabilities": "log p − its mean over the K classes (logit_correction='mean')",
    "DFME's estimate": "forward differences at the generator's pre-tanh output, m directions uniform on the sphere, "
                       "scaled by d; divided by K·B as the official code (the gradient of the batch mean)",
    "DFME's student schedule": "the loop's cosine replaces the official × 0.3 steps (the generator keeps them)",
    "IDEAL's information term": "5 · mean(p log p) over the batch and the K classes, as coded: minus the mean entropy "
                                "of the student's softmax, so minimising it keeps the student unsure (the paper's "
                                "printed form not read here)",
    "IDEAL's rounds and student steps": "round r starts when the student has taken r(r−1)/2 of R(R+1)/2 batches' "
                                        "worth of steps: one pass over the growing pool per round, as the code",
    "IDEAL's student schedule": "the loop's cosine replaces the official constant learning rate (the constant rate "
                                "measured better: Appendix B.8)",
    "IDEAL's augmentation": "a random flip and shift of ≤ 4 pixels before the student in generation (the code's "
                            "crop and flip), a flip of the pool's images in distillation (the label kept: one query "
                            "per sample, as the paper counts; the code re-queries the flipped views)",
}


def squash(y: torch.Tensor) -> torch.Tensor:
    """(tanh(y) + 1) / 2: a generator's pre-activation output → images in [0, 1]."""
    return (torch.tanh(y) + 1) / 2


def centred(logits: torch.Tensor) -> torch.Tensor:
    """(B, K) logits minus their mean over the K classes: what DFME distils (log p becomes logits up to nothing)."""
    return logits - logits.mean(1, keepdim=True)


def l1_disagreement(student_logits: torch.Tensor, teacher_logits: torch.Tensor) -> torch.Tensor:
    """(B,) mean over the K classes of |s − centred(t)| (DFME's L1 loss, per sample)."""
    return (student_logits - centred(teacher_logits)).abs().mean(1)


def disagreement(student_logits: torch.Tensor, teacher_logits: torch.Tensor, loss: str = "l1") -> torch.Tensor:
    """(B,) DFME's loss per sample: ``"l1"`` (:func:`l1_disagreement`, the paper's) or ``"kl"``
    (KL(softmax(t) ‖ softmax(s)) at τ = 1, the official code's other choice, as MAZE)."""
    if loss == "l1":
        return l1_disagreement(student_logits, teacher_logits)
    return per_sample_kl(student_logits, teacher_logits, 1.0)


@torch.no_grad()
def forward_differences(f, y: torch.Tensor, m: int = 1, eps: float = 1e-3,
                        generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """DFME's zeroth-order gradient estimate of a per-sample function ``f: (N, *shape) → (N,)`` at ``y`` (B, *shape):
    ĝ_i = (1/m) Σ_j d · [f(y_i + ε u_j) − f(y_i)] / ε · u_j with u_j uniform on the unit sphere of R^d. One call
    of ``f`` on (m + 1)·B points. Returns ``(ĝ (B, *shape), f(y) (B,))``.

    Raises ValueError for m < 1 or ε <= 0."""
    if not isinstance(m, int) or m < 1 or not eps > 0:
        raise ValueError(f"m must be an int >= 1 and eps > 0, got m={m!r}, eps={eps!r}")
    b, d = len(y), y[0].numel()
    u = torch.randn(m, b, d, device=y.device, generator=generator)
    u = u / u.norm(dim=2, keepdim=True)
    flat = y.reshape(1, b, d)
    values = f(torch.cat([flat, flat + eps * u]).view(-1, *y.shape[1:])).view(m + 1, b)
    g = (d * (values[1:] - values[0]) / eps).unsqueeze(-1) * u
    return g.mean(0).view_as(y), values[0]


class DFMEGenerator(DFADGenerator):
    """DFME's generator (the official ``GeneratorA``): DFAD's body (:class:`~dfkd_book.models.DFADGenerator`),
    then BN(affine=False) before the tanh; :func:`squash` puts its images in [0, 1]. z (B, nz) → (B, C, H, W)."""

    def __init__(self, shape=(1, 32, 32), nz: int = 256, width: int = 128):
        super().__init__(shape, nz=nz, width=width)
        self.out_norm = nn.BatchNorm2d(self.shape[0], affine=False)

    def pre_activation(self, z: torch.Tensor) -> torch.Tensor:
        return self.out_norm(super().pre_activation(z))


class DFME(Method):
    """Data-free model extraction (Truong et al. 2021; module docstring) as a method of :func:`dfkd_book.distill`:
    soft labels suffice (``access = "probs"``). Give the loop DFME's student optimiser (SGD 0.1, momentum 0.9,
    weight decay 5 · 10⁻⁴: :mod:`dfkd_book.recipes`) and no augmentation.

    Every ``s_steps`` student steps, ``g_steps`` generator steps (Adam ``lr_g``, × ``gamma`` at the fractions
    ``milestones`` of the run), each on a fresh z, the gradient estimated by :func:`forward_differences` (``m``
    directions, step ``eps``); every student step a fresh z, the loss :func:`l1_disagreement`.

    Args: s_steps, g_steps, m, eps, lr_g, milestones, gamma, nz, width (the generator's, :class:`DFMEGenerator`);
        loss: ``"l1"`` or ``"kl"`` (:func:`disagreement`).

    Raises:
        ValueError: bad settings; a teacher of vectors (the generator makes images).
    """

    name = "DFME"
    kind = "generated"
    access = "probs"

    def __init__(self, *, s_steps: int = 5, g_steps: int = 1, m: int = 1, eps: float = 1e-3, lr_g: float = 1e-4,
                 milestones: tuple[float, ...] = (0.1, 0.3, 0.5), gamma: float = 0.3, nz: int = 256,
                 width: int = 128, loss: str = "l1"):
        super().__init__()
        if loss not in ("l1", "kl"):
            raise ValueError(f"loss must be 'l1' or 'kl', got {loss!r}")
        self.loss_name = loss
        for what, v in (("s_steps", s_steps), ("g_steps", g_steps), ("m", m)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{what} must be a positive int, got {v!r}")
        if not (eps > 0 and lr_g > 0 and 0 < gamma <= 1 and all(0 < f < 1 for f in milestones)):
            raise ValueError(f"eps and lr_g must be > 0, gamma in (0, 1], milestones in (0, 1); got eps={eps!r}, "
                             f"lr_g={lr_g!r}, gamma={gamma!r}, milestones={milestones!r}")
        self.s_steps, self.g_steps, self.m, self.eps, self.lr_g = s_steps, g_steps, m, float(eps), float(lr_g)
        self.milestones, self.gamma, self.nz, self.width = tuple(milestones), float(gamma), nz, width
        self.generator: DFMEGenerator | None = None
        self._lg, self._ng = 0.0, 0

    def prepare(self, ctx, student):
        super().prepare(ctx, student)
        shape = require_images(ctx.input_shape, "DFME's generator (a convolutional one)")
        self.generator = to_device(DFMEGenerator(shape, self.nz, self.width), ctx.device).train()
        outer = -(-ctx.steps // self.s_steps) * self.g_steps
        self.opt_g = torch.optim.Adam(self.generator.parameters(), lr=self.lr_g)
        self.sched_g = torch.optim.lr_scheduler.MultiStepLR(self.opt_g, [int(f * outer) for f in self.milestones],
                                                            self.gamma)
        self._lg, self._ng = 0.0, 0

    def _z(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.nz, device=self.ctx.device)

    def generator_step(self, student: nn.Module) -> None:
        """One generator step: ĝ of −L1 at y = G's pre-tanh output, by forward differences through the teacher
        ((m + 1)·B queries), pushed back through G; the generator maximises the disagreement."""
        g, t, ctx = self.generator, self.ctx.teacher, self.ctx
        was = student.training
        student.eval()
        y = g.pre_activation(self._z(ctx.batch_size))

        def loss(pre):  # the generator's loss per point: minus the teacher-student disagreement
            x = squash(pre)
            return -disagreement(student(x), t(x), self.loss_name)

        grad, base = forward_differences(loss, y.detach(), self.m, self.eps)
        self.opt_g.zero_grad(set_to_none=True)
        y.backward(grad / (ctx.num_classes * len(y)))  # as the official code: the gradient of the batch mean, / K
        self.opt_g.step()
        self.sched_g.step()
        student.train(was)
        self._lg = self._lg + base.mean().double()  # summed on the device: no host synchronisation per step
        self._ng += 1
        self.synthetic += len(y) * (self.m + 1)

    def synthesize(self, step, student):
        if step % self.s_steps == 0:
            for _ in range(self.g_steps):
                self.generator_step(student)

    def batch(self, batch_size):
        self.generator.train()  # as the official code: the student's images from G in train mode
        with torch.no_grad():
            x = squash(self.generator.pre_activation(self._z(batch_size)))
        self.synthetic += len(x)
        return Batch(x=x)

    makes_fresh = True  # G(z) for fresh z: data-free selection on fresh samples

    def fresh(self, n, generator):
        """The student's kind of images for ``n`` new z drawn from ``generator``, G's BN statistics left as they
        were (:meth:`~dfkd_book.methods.base.Method.fresh`)."""
        if self.generator is None:
            return None
        z = torch.randn(n, self.nz, generator=generator).to(self.ctx.device)
        with left_as_is(self.generator) as g, torch.no_grad():
            return squash(g.train().pre_activation(z))

    def loss(self, batch, student_logits, teacher_logits, T):
        return disagreement(student_logits, teacher_logits, self.loss_name)

    def log(self):
        out = {"loss_generator": float(self._lg) / self._ng if self._ng else float("nan")}
        self._lg, self._ng = 0.0, 0
        return out

    def settings(self) -> dict:
        return {k: getattr(self, k) for k in ("s_steps", "g_steps", "m", "eps", "lr_g", "gamma", "nz", "width")} | {
            "milestones": list(self.milestones), "loss": self.loss_name}


def reset_weights(model: nn.Module, generator: torch.Generator | None = None) -> nn.Module:
    """IDEAL's ``reset_model``: convolution and linear weights from N(0, 0.02), biases 0, BN weights from
    N(1, 0.02) and BN biases 0. Returns ``model``."""
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, (nn.Conv2d, nn.Linear)):
                mod.weight.normal_(0.0, 0.02, generator=generator)
            elif isinstance(mod, nn.BatchNorm2d) and mod.affine:
                mod.weight.normal_(1.0, 0.02, generator=generator)
            else:
                continue
            if mod.bias is not None:
                mod.bias.zero_()
    return model


class IDEAL(Method):
    """IDEAL (Zhang et al. 2023; module docstring) as a method of :func:`dfkd_book.distill`: the top-1 class
    suffices (``access = "label"``), one query per pool image. Give the loop IDEAL's student optimiser (SGD 0.01,
    momentum 0.9, weight decay 5 · 10⁻⁴; the official rate is constant, the recipe's decays on the loop's cosine:
    :mod:`dfkd_book.recipes`), no augmentation, and R(R+1)/2 student steps for one pass over the pool per round.

    Args:
        rounds: R, the generator rounds (each adds ``batch`` images to the pool); they start at the steps where
            one pass per round over the growing pool would put them (:data:`READING`).
        batch: images per round (a multiple of K: the targets are class-balanced). g_steps, lr_g: the generator's
            Adam steps per round and learning rate. info_weight: the weight of mean(p log p). nz, width: the
            generator's (:class:`~dfkd_book.models.DFADGenerator`, its images (tanh + 1)/2).
        flip: flip pool images at random in distillation (the label kept).

    Raises:
        ValueError: bad settings; a budget of fewer student steps than rounds; ``batch`` not a multiple of K; a
            teacher of vectors.
    """

    name = "IDEAL"
    kind = "generated"
    access = "label"

    def __init__(self, *, rounds: int = 100, batch: int = 250, g_steps: int = 30, lr_g: float = 1e-3,
                 info_weight: float = 5.0, nz: int = 256, width: int = 128, flip: bool = True):
        super().__init__()
        for what, v in (("rounds", rounds), ("batch", batch), ("g_steps", g_steps)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{what} must be a positive int, got {v!r}")
        if not (lr_g > 0 and info_weight >= 0):
            raise ValueError(f"lr_g must be > 0 and info_weight >= 0, got {lr_g!r}, {info_weight!r}")
        self.rounds, self.batch_n, self.g_steps, self.lr_g = rounds, batch, g_steps, float(lr_g)
        self.info_weight, self.nz, self.width, self.flip = float(info_weight), nz, width, bool(flip)
        self.jitter = FlipShift(max_shift=4)

    def prepare(self, ctx, student):
        super().prepare(ctx, student)
        self.shape = require_images(ctx.input_shape, "IDEAL's generator (a convolutional one)")
        if ctx.steps < self.rounds:
            raise ValueError(f"IDEAL makes {self.rounds} rounds within the student's steps; got {ctx.steps} steps")
        if self.batch_n % ctx.num_classes:
            raise ValueError(f"batch ({self.batch_n}) must be a multiple of K = {ctx.num_classes} (class-balanced "
                             "targets)")
        r = torch.arange(self.rounds)
        self.starts = set((r * (r + 1) // 2 * ctx.steps // (self.rounds * (self.rounds + 1) // 2)).tolist())
        self.targets = balanced_labels(self.batch_n, ctx.num_classes).to(ctx.device)
        self.pool = torch.empty(0, *self.shape, device=ctx.device)
        self.teacher_logits = torch.empty(0, ctx.num_classes, device=ctx.device)
        self.made, self.generator_loss = 0, []

    def generation_round(self, student: nn.Module) -> torch.Tensor:
        """Stage 1: a fresh generator trained against the student alone (no teacher query); returns the batch of
        lowest loss (B, *shape) in [0, 1]."""
        ctx = self.ctx
        g = to_device(reset_weights(DFADGenerator(self.shape, nz=self.nz, width=self.width)), ctx.device).train()
        opt = torch.optim.Adam(g.parameters(), lr=self.lr_g, betas=(0.5, 0.999))
        z = torch.randn(self.batch_n, self.nz, device=ctx.device)
        was = student.training
        student.eval()
        best_loss, best = torch.tensor(float("inf"), device=ctx.device), None
        for _ in range(self.g_steps):
            x = g(z)
            s = student(self.jitter(x))
            p = F.softmax(s, 1)
            loss = F.cross_entropy(s, self.targets) + self.info_weight * (p * p.clamp_min(1e-12).log()).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            better = loss.detach() < best_loss  # kept on the device: no host synchronisation per step
            best = x.detach() if best is None else torch.where(better, x.detach(), best)
            best_loss = torch.minimum(best_loss, loss.detach())
        student.zero_grad(set_to_none=True)
        student.train(was)
        self.generator_loss.append(best_loss)
        return best

    def synthesize(self, step, student):
        if step not in self.starts or self.made >= self.rounds:
            return
        x = self.generation_round(student)
        with torch.no_grad():  # stage 2's only queries: the teacher labels each new image once
            t = self.ctx.teacher(x)
        self.pool = torch.cat([self.pool, x])
        self.teacher_logits = torch.cat([self.teacher_logits, t.float()])
        self.made += 1
        self.synthetic += len(x)

    def batch(self, batch_size):
        idx = torch.randint(len(self.pool), (batch_size,), generator=self.ctx.generator).to(self.pool.device)
        x = self.pool[idx]
        if self.flip:
            x = torch.where(torch.rand(len(x), 1, 1, 1, device=x.device) < 0.5, x.flip(-1), x)
        t = self.teacher_logits[idx]
        return Batch(x=x, teacher_logits=t, index=idx, labels=t.argmax(1))

    def loss(self, batch, student_logits, teacher_logits, T):
        return F.cross_entropy(student_logits, teacher_logits.argmax(1), reduction="none")

    def log(self):
        return {"pool": float(len(self.pool)),
                "loss_generator": float(self.generator_loss[-1]) if self.generator_loss else float("nan")}

    def settings(self) -> dict:
        return {"rounds": self.rounds, "batch": self.batch_n, "g_steps": self.g_steps, "lr_g": self.lr_g,
                "info_weight": self.info_weight, "nz": self.nz, "width": self.width, "flip": self.flip}
