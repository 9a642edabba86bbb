"""Adversarial distillation: a generator and the student play a minimax game on the teacher's disagreements.

Sources: Micaelli & Storkey, *Zero-shot Knowledge Transfer via Adversarial Belief Matching* (ZSKT, NeurIPS 2019,
paper 002) and Fang et al., *Data-Free Adversarial Distillation* (DFAD, 2019; the adversarial section of paper
004). The generator G maps noise z to images; it is trained to **maximise** a discrepancy D(T(x), S(x)) between
teacher and student on x = G(z), while the student is trained to **minimise** it:

    min_S max_G  E_z D(T(G(z)), S(G(z)))

* ZSKT: D = KL(T ‖ S) at τ = 1 (PyTorch's elementwise 'mean' reduction, as the official code); the student adds
  β · attention transfer at matched layers (β = 250); each outer step makes one z batch, ``g_steps`` generator
  steps, then ``s_steps`` = 10 student steps on that z regenerated through the updated generator (the images and
  the teacher's logits are computed once for the 10 steps: neither changes while the student trains). Adam 1e-3 (G)
  and 2e-3 (S), cosine schedules, gradient norms clipped at 5.
* DFAD: D = mean |S(x) − T(x)| on the logits (L1); each outer step makes ``s_steps`` = 5 student steps, each on a
  fresh z, then one generator step. SGD (lr 0.01, momentum 0.9, weight decay 5e-4) for the student, Adam 1e-3 for G.

Both games are methods of :func:`dfkd_book.distill` (:class:`ZSKT`, :class:`DFAD`): the loop runs the student's
steps; the method plays the generator's between them. A student step budget of ``steps`` makes
``steps / s_steps`` outer steps of the game.

The generator's loss is computed against the *student*: Fast-Datafree once passed the teacher in its place, which
makes the adversarial term identically zero. :func:`generator_loss` takes both, and a test checks it changes with
the student.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..hooks import LayerOutputs, require_images, to_device
from ..models import GENERATORS, check_depth
from .base import Batch, Method, left_as_is

GAMES = ("zskt", "dfad")

#: the official settings of each game (papers 002 and 004 / their public code)
DEFAULTS = {
    "zskt": dict(s_steps=10, g_steps=1, lr_g=1e-3, lr_s=2e-3, optimizer_s="adam", clip=5.0, at_beta=250.0),
    "dfad": dict(s_steps=5, g_steps=1, lr_g=1e-3, lr_s=0.01, optimizer_s="sgd", clip=0.0, at_beta=0.0),
}


def _check_game(game: str) -> str:
    if game not in GAMES:
        raise ValueError(f"unknown game {game!r}; expected one of {GAMES}")
    return game


def discrepancy(teacher_logits: torch.Tensor, student_logits: torch.Tensor, game: str, per_sample: bool = False
                ) -> torch.Tensor:
    """The quantity the student minimises and the generator maximises: a scalar, or with ``per_sample`` one
    value per sample (B,) whose mean is the scalar.

    * ``"zskt"``: KL(softmax(t) ‖ softmax(s)) with PyTorch's elementwise 'mean' reduction (sum / (B·K)), τ = 1;
    * ``"dfad"``: mean |s − t| over the logits (L1).

    Args: (B, K) logits of teacher and student. Raises ValueError for an unknown game or mismatched shapes."""
    _check_game(game)
    if teacher_logits.shape != student_logits.shape:
        raise ValueError(f"teacher and student logits differ in shape: {tuple(teacher_logits.shape)} vs "
                         f"{tuple(student_logits.shape)}")
    if game == "zskt":
        # the elementwise mean, written out: PyTorch's reduction="mean" is deprecated (it will become batchmean)
        kl = F.kl_div(F.log_softmax(student_logits, 1), F.softmax(teacher_logits, 1), reduction="none").sum(1)
        per = kl / teacher_logits.shape[1]
    else:
        per = (student_logits - teacher_logits).abs().mean(1)
    return per if per_sample else per.mean()


def generator_loss(teacher: nn.Module, student: nn.Module, x: torch.Tensor, game: str, balance: float = 0.0
                   ) -> torch.Tensor:
    """The generator's loss on images x = G(z): **minus** the teacher–student discrepancy, so that minimising it
    maximises their disagreement. Gradients flow into x (and so into G), not into the frozen teacher's weights.
    The student must be the student: with the teacher in its place the loss is 0 (the Fast-Datafree bug).

    With ``balance`` = λ > 0, plus λ · :func:`class_imbalance` of the teacher's predictions on the batch (the
    information-entropy term of Chen et al. 2019, DAFL, eq. 5): the generator is pushed to make every class the
    teacher knows, not the one class where the two disagree most (the games' mode collapse)."""
    t = teacher(x)
    loss = -discrepancy(t, student(x), game)
    return loss + balance * class_imbalance(t) if balance else loss


def class_imbalance(teacher_logits: torch.Tensor) -> torch.Tensor:
    """log K − H(p̄), p̄ = the batch mean of the teacher's softmax (B, K) → a scalar in [0, log K]: 0 when the
    batch is spread evenly over the K classes, log K when it is all one class (DAFL's information entropy,
    Chen et al. 2019, eq. 5, shifted to be ≥ 0)."""
    p = F.softmax(teacher_logits, 1).mean(0)
    return math.log(p.numel()) + (p * p.clamp_min(1e-12).log()).sum()


# --------------------------------------------------------------------------------------------- attention transfer
def attention_map(a: torch.Tensor) -> torch.Tensor:
    """ZSKT's spatial attention of an activation (B, C, H, W): the mean over channels of a², flattened and L2
    normalised per sample → (B, H·W) (Zagoruyko & Komodakis 2017, as in the ZSKT code)."""
    if a.ndim != 4:
        raise ValueError(f"attention needs (B, C, H, W) activations, got {tuple(a.shape)}")
    return F.normalize(a.pow(2).mean(1).flatten(1), dim=1)


def attention_loss(student_acts: dict, teacher_acts: dict, layers: Sequence[tuple[str, str]],
                   per_sample: bool = False) -> torch.Tensor:
    """Σ over matched layers of mean((a_s − a_t)²) of the attention maps (ZSKT): a scalar, or with ``per_sample``
    one value per sample (B,) whose mean is the scalar. Raises ValueError when a pair's maps cannot be matched
    (different spatial sizes)."""
    total = 0.0
    for s_name, t_name in layers:
        a_s, a_t = student_acts[s_name], teacher_acts[t_name]
        if a_s.shape[-2:] != a_t.shape[-2:]:
            raise ValueError(f"attention maps of student layer {s_name!r} {tuple(a_s.shape[-2:])} and teacher layer "
                             f"{t_name!r} {tuple(a_t.shape[-2:])} have different spatial sizes")
        d = (attention_map(a_s) - attention_map(a_t)).pow(2)
        total = total + (d.mean(1) if per_sample else d.mean())
    return total


# ---------------------------------------------------------------------------------------------------------- game
class AdversarialGame(Method):
    """The generator's side of the ZSKT / DFAD game, as a method of :func:`dfkd_book.distill`; the loop runs the
    student's steps (give it the game's optimiser: ZSKT Adam 2e-3 with clipping at 5, DFAD SGD 0.01, weight decay
    5e-4 — :mod:`dfkd_book.recipes`).

    Every ``s_steps`` student steps (an outer step of the game):

    * ``"zskt"``: one z batch; ``g_steps`` generator steps maximising :func:`discrepancy`; then the same z through
      the updated generator gives the images of the next ``s_steps`` student steps (images and the teacher's
      logits and activations computed once: neither changes while the student trains);
    * ``"dfad"``: after the first outer step, ``g_steps`` generator steps, each on a fresh z; every student step
      draws a fresh z — or, with ``reuse=True``, one fresh z per outer step whose images (and the teacher's logits)
      serve all ``s_steps`` student steps, as ZSKT does: at ``s_steps=5`` a fifth of the teacher's forward passes
      for the student's batches, a third in all with the generator's steps.

    The student's images come from the generator in train mode (BatchNorm on batch statistics), as in both
    official codes and as the generator is optimised; only the snapshots use eval mode.

    Args:
        game: ``"zskt"`` or ``"dfad"``. generator: a module z (B, nz) → inputs (B, *input shape) with an ``nz``
            attribute, or a callable ``input shape -> module`` (default: the game's conv generator of
            :mod:`dfkd_book.models`, ``width`` and ``nz`` wide with ``depth`` upsampling stages (official 2),
            its images starting near ``init_mean`` (default: mid-grey, as officially), or with
            ``pixel_stats = (mean, sd)`` of the teacher's input normalisation the official unsquashed output
            carried to the teacher's space — images only; pass a generator for vectors).
        s_steps, g_steps, lr_g, clip: student steps per outer step, generator steps per outer step, Adam's
            learning rate for the generator (cosine over the game), its gradient clipping (0: none).
        reuse: DFAD only: the student's ``s_steps`` steps of an outer step share one generated batch (default
            False, as officially; ZSKT always reuses its batch).
        balance: weight λ of the class-balance term in the generator's loss (:func:`generator_loss`; 0: none,
            as both official games).
        attention_layers, at_beta: ``(student layer, teacher layer)`` pairs and weight β of attention transfer
            (ZSKT; images only).
        snapshot_every, snapshot_n, on_snapshot: keep ``snapshot_n`` outputs of a fixed z every this many outer
            steps (and at the start and the end) in ``.snapshots`` as ``(student step, outputs)``;
            ``on_snapshot(student step, student, generator)`` is called then, both in eval mode, without grad.

    Raises:
        ValueError: unknown game, bad budgets, a generator whose output is not the teacher's input, attention
            layers that do not exist or do not match, the default generator on a teacher of vectors.
    """

    kind = "generated"

    def __init__(self, game: str, generator: nn.Module | Callable[[tuple], nn.Module] | None = None, *,
                 s_steps: int | None = None, g_steps: int | None = None, lr_g: float | None = None,
                 clip: float | None = None, attention_layers: Sequence[tuple[str, str]] = (),
                 at_beta: float | None = None, width: int = 128, nz: int = 100, init_mean: float | None = None,
                 pixel_stats: tuple[float, float] | None = None, depth: int = 2, balance: float = 0.0,
                 reuse: bool = False,
                 snapshot_every: int | None = None, snapshot_n: int = 16,
                 on_snapshot: Callable[[int, nn.Module, nn.Module], None] | None = None):
        super().__init__()
        d = DEFAULTS[_check_game(game)]
        self.game, self.name = game, game.upper()
        self.s_steps = d["s_steps"] if s_steps is None else s_steps
        self.g_steps = d["g_steps"] if g_steps is None else g_steps
        self.lr_g = d["lr_g"] if lr_g is None else lr_g
        self.clip = d["clip"] if clip is None else clip
        self.at_beta = d["at_beta"] if at_beta is None else at_beta
        for what, v in (("s_steps", self.s_steps), ("g_steps", self.g_steps), ("snapshot_n", snapshot_n)):
            if not isinstance(v, int) or v < 1:
                raise ValueError(f"{what} must be a positive int, got {v!r}")
        if snapshot_every is not None and (not isinstance(snapshot_every, int) or snapshot_every < 1):
            raise ValueError(f"snapshot_every must be a positive int, got {snapshot_every!r}")
        self.attention_layers = [tuple(p) for p in attention_layers]
        self._generator, self.width, self.nz, self.init_mean = generator, width, nz, init_mean
        self.depth = check_depth(depth)
        self.pixel_stats = None if pixel_stats is None else [float(v) for v in pixel_stats]
        if not (isinstance(balance, (int, float)) and balance >= 0):
            raise ValueError(f"balance must be a weight >= 0, got {balance!r}")
        self.balance = float(balance)
        if not isinstance(reuse, bool):
            raise ValueError(f"reuse must be True or False, got {reuse!r}")
        if reuse and game != "dfad":
            raise ValueError(f"reuse is an option of the dfad game (zskt always reuses its batch), got game={game!r}")
        self.reuse = reuse
        self.snapshot_every, self.snapshot_n, self.on_snapshot = snapshot_every, snapshot_n, on_snapshot
        self.snapshots: list[tuple[int, torch.Tensor]] = []
        self.generator: nn.Module | None = None
        self._rec_s = self._rec_t = self._student = None
        self._ready = False

    # ------------------------------------------------------------------ preparation
    def prepare(self, ctx, student):
        super().prepare(ctx, student)
        self._ready = False
        self._student = student
        if self._generator is None:
            shape = require_images(ctx.input_shape, f"the default {self.name} generator (a convolutional one)")
            g = GENERATORS[self.game](shape, nz=self.nz, width=self.width, init_mean=self.init_mean,
                                      pixel_stats=self.pixel_stats, depth=self.depth)
        elif isinstance(self._generator, nn.Module):
            g = self._generator
        else:
            g = self._generator(ctx.input_shape)
        nz = getattr(g, "nz", None)
        if not isinstance(nz, int):
            raise ValueError("the generator needs an integer attribute nz (the size of z)")
        self.generator, self.nz = to_device(g, ctx.device), nz
        g.eval()
        with torch.no_grad():
            probe = g(torch.randn(2, nz, device=ctx.device))
        if tuple(probe.shape[1:]) != tuple(ctx.input_shape):
            raise ValueError(f"the generator makes inputs of shape {tuple(probe.shape[1:])}, but the teacher reads "
                             f"{tuple(ctx.input_shape)}")
        if self.attention_layers and self.at_beta > 0:
            require_images(ctx.input_shape, "attention transfer")
            self._rec_s = LayerOutputs(student, [s for s, _ in self.attention_layers], "the student")
            self._rec_t = LayerOutputs(ctx.teacher, [t for _, t in self.attention_layers], "the teacher")
            with torch.no_grad():
                was = student.training
                student.eval()
                student(probe), ctx.teacher(probe)
                student.train(was)
            attention_loss(self._rec_s.out, self._rec_t.out, self.attention_layers)  # fails early on a mismatch
        outer = -(-ctx.steps // self.s_steps)
        self.opt_g = torch.optim.Adam(g.parameters(), lr=self.lr_g)
        self.sched_g = torch.optim.lr_scheduler.CosineAnnealingLR(self.opt_g, max(outer * self.g_steps, 1))
        self.z_fixed = torch.randn(self.snapshot_n, nz, device=ctx.device, generator=None)
        self._every = self.snapshot_every or max(outer // 10, 1)
        self.snapshots = []  # a new game: its own snapshots
        self._lg, self._ng, self._x = 0.0, 0, None
        self._ready = True  # close() takes the last snapshot only after a complete preparation

    # ------------------------------------------------------------------ the generator's moves
    def _z(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.nz, device=self.ctx.device)

    def _generator_step(self, student: nn.Module) -> None:
        g, t = self.generator, self.ctx.teacher
        g.train()
        was = student.training
        student.eval()
        x = g(self._z(self.ctx.batch_size) if self.game == "dfad" else self._zb)
        loss = generator_loss(t, student, x, self.game, self.balance)
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        if self.clip:
            nn.utils.clip_grad_norm_(g.parameters(), self.clip)
        self.opt_g.step()
        self.sched_g.step()
        student.zero_grad(set_to_none=True)  # the generator's loss reached the student's weights too
        student.train(was)
        self._lg = self._lg + loss.detach().double()  # summed on the device: no host synchronisation per step
        self._ng += 1
        self.synthetic += len(x)

    def _snapshot(self, step: int, student: nn.Module) -> None:
        g = self.generator
        was_g, was_s = g.training, student.training
        g.eval()
        student.eval()
        with torch.no_grad():
            self.snapshots.append((step, g(self.z_fixed).cpu()))
            if self.on_snapshot is not None:
                self.on_snapshot(step, student, g)
        g.train(was_g)
        student.train(was_s)

    def synthesize(self, step, student):
        if step % self.s_steps:
            return
        outer = step // self.s_steps
        if outer % self._every == 0:
            self._snapshot(step, student)
        if self.game == "zskt":
            self._zb = self._z(self.ctx.batch_size)
            for _ in range(self.g_steps):
                self._generator_step(student)
            self._outer_batch(self._zb)
        else:
            if step > 0:
                for _ in range(self.g_steps):
                    self._generator_step(student)
            if self.reuse:
                self._outer_batch(self._z(self.ctx.batch_size))

    def _outer_batch(self, z: torch.Tensor) -> None:
        """The images of G(z), the teacher's logits (and attention activations) on them, for all the student steps
        of an outer step (ZSKT; DFAD with ``reuse``): neither changes while the student trains."""
        g = self.generator
        g.train()  # as the official code (and Fang et al.'s): the student's images come from G in train mode,
        with torch.no_grad():  # its BN on batch statistics, like the images G was just optimised on
            self._x = g(z)
            self._t = self.ctx.teacher(self._x)
            self._t_acts = dict(self._rec_t.out) if self._rec_t is not None else None
        self.synthetic += len(self._x)

    def batch(self, batch_size):
        if self.game == "zskt" or self.reuse:
            return Batch(x=self._x, teacher_logits=self._t, extra={"t_acts": self._t_acts})
        g = self.generator
        g.train()  # train-mode BN, as in the generator's own steps (see synthesize)
        with torch.no_grad():
            x = g(self._z(batch_size))  # a fresh z every student step
        self.synthetic += len(x)
        return Batch(x=x)

    makes_fresh = True  # G(z) for fresh z: data-free selection on fresh samples

    def fresh(self, n, generator):
        """G(z) for ``n`` new z drawn from ``generator``, G in train mode as for the student's images, its BN
        statistics left as they were (:meth:`~dfkd_book.methods.base.Method.fresh`)."""
        if self.generator is None:
            return None
        z = torch.randn(n, self.nz, generator=generator).to(self.ctx.device)
        with left_as_is(self.generator) as g, torch.no_grad():
            return g.train()(z)

    def loss(self, batch, student_logits, teacher_logits, T):
        per = discrepancy(teacher_logits, student_logits, self.game, per_sample=True)
        if self._rec_s is not None:
            t_acts = batch.extra.get("t_acts") or dict(self._rec_t.out)
            per = per + self.at_beta * attention_loss(self._rec_s.out, t_acts, self.attention_layers, per_sample=True)
        return per

    def log(self):
        out = {"loss_generator": float(self._lg) / self._ng if self._ng else float("nan")}
        self._lg, self._ng = 0.0, 0
        return out

    def close(self):
        for r in (self._rec_s, self._rec_t):
            if r is not None:
                r.remove()
        self._rec_s = self._rec_t = None
        if self.generator is not None and self.ctx is not None:
            if self._student is not None and self._ready:
                self._snapshot(self.ctx.steps, self._student)
            self.generator.eval()

    def settings(self) -> dict:
        return {"game": self.game, "s_steps": self.s_steps, "g_steps": self.g_steps, "lr_g": self.lr_g,
                "clip": self.clip, "at_beta": self.at_beta, "attention_layers": [list(p) for p in
                                                                                 self.attention_layers],
                "width": self.width, "nz": self.nz, **({} if self.init_mean is None else {"init_mean": self.init_mean}),
                **({} if self.pixel_stats is None else {"pixel_stats": self.pixel_stats}),
                **({"balance": self.balance} if self.balance else {}), **({"reuse": True} if self.reuse else {}),
                **({} if self.depth == 2 else {"depth": self.depth})}


class ZSKT(AdversarialGame):
    """Zero-shot knowledge transfer (Micaelli & Storkey 2019): :class:`AdversarialGame` with ``game="zskt"``."""

    def __init__(self, generator=None, **kwargs):
        super().__init__("zskt", generator, **kwargs)


class DFAD(AdversarialGame):
    """Data-free adversarial distillation (Fang et al. 2019): :class:`AdversarialGame` with ``game="dfad"``."""

    def __init__(self, generator=None, **kwargs):
        super().__init__("dfad", generator, **kwargs)
