"""Zero-Shot Knowledge Distillation: class similarity, Dirichlet targets, data impressions, class impressions.

Source: Nayak et al., *Zero-Shot Knowledge Distillation in Deep Networks*, ICML 2019 (paper 000 in
``../shared/papers``). The teacher's softmax space is modelled, class by class, as a Dirichlet distribution whose
concentration comes from the similarity of the teacher's final-layer weight vectors (eq. 2). Softmax vectors are
sampled from it and inputs — **data impressions** — are optimised from noise until the teacher's temperature-τ
softmax matches each sampled vector (eq. 3), on the book's one pixel loop (:func:`dfkd_book.synthesis.optimize_pixels`).
The impressions form the transfer set of :class:`DataImpressions`, the method :func:`dfkd_book.distill` runs.

Two ablations of the paper live here too: the **uniform prior** (an all-ones concentration, Table 7) and **class
impressions** (one-hot targets, Mopuri et al. 2018; Fig. 3).

The official TensorFlow code min-max normalised each concentration row *again* after scaling by β, so β = 0.1 and
β = 1 gave identical samples. Here β multiplies the already-normalised row, and a test checks that it changes the
spread of the samples.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from .. import config
from ..hooks import frozen_copy, input_shape, num_classes_of
from ..models import last_linear
from ..synthesis import optimize_pixels
from .base import StaticSet

PRIORS = ("class-similarity", "uniform")
EPS = 1e-8  # added to every concentration so that no entry is exactly 0 (a Dirichlet needs all entries > 0)


def class_similarity(teacher: nn.Module | None = None, *, weight: torch.Tensor | None = None) -> torch.Tensor:
    """Class similarity matrix C (K, K) from the teacher's final-layer weights (ZSKD eq. 2).

    ``C[i, j] = cos(w_i, w_j)`` for the rows ``w_k`` of the final layer's weight matrix W (K, d); then every row is
    min-max normalised to [0, 1], so the diagonal is 1 and the least similar class of each row is 0.

    Args:
        teacher: a classifier whose **last** ``nn.Linear`` is the output layer (K outputs). Ignored if ``weight``
            is given.
        weight: the output layer's weight matrix (K, d) given explicitly (any classifier, e.g. a conv head).

    Returns:
        (K, K) float tensor on the CPU, rows in [0, 1] with ones on the diagonal.

    Raises:
        ValueError: neither argument given; the teacher has no ``nn.Linear`` layer; ``weight`` is not 2-D with
            K ≥ 2 rows; a row of W is zero or all rows are identical (min-max is undefined).
    """
    if weight is None:
        if teacher is None:
            raise ValueError("class_similarity needs a teacher (with a final nn.Linear) or weight= (K, d)")
        weight = last_linear(teacher).weight
    if not isinstance(weight, torch.Tensor) or weight.ndim != 2 or weight.shape[0] < 2:
        got = tuple(weight.shape) if isinstance(weight, torch.Tensor) else type(weight).__name__
        raise ValueError(f"weight must be a (K, d) matrix with K >= 2 classes, got {got}")
    w = weight.detach().float().cpu()
    norms = w.norm(dim=1, keepdim=True)
    if (norms == 0).any():
        raise ValueError("a row of the final-layer weight matrix is all zeros; its cosine similarity is undefined")
    w = w / norms
    cos = w @ w.T
    lo, hi = cos.min(dim=1, keepdim=True).values, cos.max(dim=1, keepdim=True).values
    if ((hi - lo) <= 0).any():
        raise ValueError("a row of the cosine-similarity matrix is constant; cannot min-max normalise it")
    return ((cos - lo) / (hi - lo)).clamp(0, 1)


def concentration(similarity: torch.Tensor, beta: float, prior: str = "class-similarity") -> torch.Tensor:
    """Dirichlet concentration (K, K): row k is the concentration for class k (ZSKD Sec. 3.2).

    ``class-similarity``: ``β · C[k] + ε`` — β scales the **already normalised** row (not re-normalised: that was
    the official code's bug). ``uniform``: all ones, the uninformed prior of the paper's Table 7 (β is unused).

    Raises:
        ValueError: β ≤ 0, an unknown prior, or a similarity matrix that is not (K, K).
    """
    if not (isinstance(beta, (int, float)) and beta > 0 and math.isfinite(beta)):
        raise ValueError(f"beta (the concentration scale) must be a finite number > 0, got {beta!r}")
    if prior not in PRIORS:
        raise ValueError(f"prior must be one of {PRIORS}, got {prior!r}")
    if similarity.ndim != 2 or similarity.shape[0] != similarity.shape[1]:
        raise ValueError(f"similarity must be a square (K, K) matrix, got {tuple(similarity.shape)}")
    if prior == "uniform":
        return torch.ones_like(similarity, dtype=torch.float32)
    return beta * similarity.float() + EPS


def sample_targets(similarity: torch.Tensor, n: int, betas: Sequence[float] = (1.0, 0.1),
                   prior: str = "class-similarity", seed: int | None = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Sample ``n`` softmax vectors from the per-class Dirichlet distributions (ZSKD Sec. 3.2).

    The ``n`` targets are split as evenly as possible over the K classes and, within a class, over the β values
    (the paper: half the impressions with β = 1.0, half with β = 0.1).

    Args:
        similarity: (K, K) class similarity from :func:`class_similarity`.
        n: number of targets (≥ 1).
        betas: concentration scales; each must be > 0.
        prior: ``'class-similarity'`` (the method) or ``'uniform'`` (the Table 7 ablation).
        seed: seed of the sampler (None: not reseeded).

    Returns:
        ``(targets, classes)``: targets (n, K) float, each row on the probability simplex; classes (n,) int64, the
        Dirichlet (row) each target was drawn from. Ordered class-major, then β.

    Raises:
        ValueError: n < 1, empty ``betas``, a β ≤ 0, or an unknown prior.
    """
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be an int >= 1, got {n!r}")
    if len(betas) == 0:
        raise ValueError("betas must hold at least one concentration scale")
    k = similarity.shape[0]
    alphas = torch.stack([concentration(similarity, b, prior) for b in betas])  # (B, K, K)
    cells = torch.arange(n) % (k * len(betas))  # round-robin over (class, beta) cells, then sorted class-major
    cls, beta_i = cells // len(betas), cells % len(betas)
    order = torch.argsort(cls * len(betas) + beta_i, stable=True)
    cls, beta_i = cls[order], beta_i[order]
    if seed is not None:
        torch.manual_seed(seed)
    targets = torch.distributions.Dirichlet(alphas[beta_i, cls]).sample()
    targets = targets.clamp_min(0)
    return targets / targets.sum(dim=1, keepdim=True), cls


def cap_targets(targets: torch.Tensor, top: float) -> torch.Tensor:
    """Cap each target's largest entry at ``top`` and share what it loses among the other entries in proportion
    to them, so the row stays on the simplex and keeps its order (a way to handle ZSKD's near-one-hot β = 0.1
    targets, which ask eq. 3 for logit gaps of τ·ln(y_max / y_other), far beyond a real image's).

    Args: targets (N, K) rows on the simplex; top in (1/K, 1]. Returns (N, K). Raises ValueError otherwise.
    """
    if targets.ndim != 2:
        raise ValueError(f"targets must be (N, K), got {tuple(targets.shape)}")
    k = targets.shape[1]
    if not (isinstance(top, (int, float)) and 1 / k < top <= 1):
        raise ValueError(f"top must be in (1/K, 1] = ({1 / k:.3g}, 1], got {top!r}")
    m, i = targets.max(dim=1)
    excess = (m - top).clamp_min(0)
    rest = 1 - m
    out = targets + excess[:, None] * targets / rest.clamp_min(1e-12)[:, None]
    flat = rest <= 1e-12  # a true one-hot: share the excess equally
    out[flat] = excess[flat, None] / (k - 1)
    out[torch.arange(len(out)), i] = torch.minimum(m, torch.tensor(float(top)))
    return out / out.sum(1, keepdim=True)


def one_hot_targets(n: int, num_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """One-hot targets for **class impressions** (Mopuri et al. 2018; ZSKD Fig. 3): ``n`` rows split evenly over
    the classes. Returns ``(targets (n, K), classes (n,))``. Raises ValueError for n < 1 or K < 2."""
    if not isinstance(n, int) or n < 1 or not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(f"need n >= 1 and num_classes >= 2, got n={n!r}, num_classes={num_classes!r}")
    cls = torch.sort(torch.arange(n) % num_classes).values
    return F.one_hot(cls, num_classes).float(), cls


def impression_loss(logits: torch.Tensor, targets: torch.Tensor, T: float = 20.0) -> torch.Tensor:
    """Per-impression cross-entropy between sampled targets y and softmax(logits / τ) (ZSKD eq. 3).

    Args: logits (N, K), targets (N, K) rows on the simplex, T = τ. Returns (N,) losses (nats).
    Raises ValueError when the shapes differ.
    """
    if logits.shape != targets.shape:
        raise ValueError(f"targets must have the teacher's shape (N, K) = {tuple(logits.shape)}, "
                         f"got {tuple(targets.shape)}")
    return -(targets * F.log_softmax(logits / T, dim=1)).sum(dim=1)


@dataclass
class Impressions:
    """A crafted transfer set.

    Attributes:
        images: (N, C, H, W) float in [0, 1] on the CPU.
        targets: (N, K) the softmax vectors they were optimised towards.
        classes: (N,) the Dirichlet (class) each target came from.
        loss: (N,) final cross-entropy of each impression to its target (eq. 3, nats).
        steps: optimisation steps per impression.
        seconds: wall-clock crafting time.
        curve: mean loss over all impressions at a few steps, ``[(step, loss), ...]``.
    """

    images: torch.Tensor
    targets: torch.Tensor
    classes: torch.Tensor
    loss: torch.Tensor
    steps: int
    seconds: float
    curve: list[tuple[int, float]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.images)

    @property
    def impression_steps(self) -> int:
        """Compute used: impressions × optimisation steps."""
        return len(self.images) * self.steps

    def subset(self, n: int) -> Impressions:
        """The first ``n`` impressions of every class, in equal shares (nested: a smaller subset is contained in
        a larger one). Raises ValueError if ``n`` exceeds the set."""
        idx = equal_shares(self.classes, n)
        return Impressions(self.images[idx], self.targets[idx], self.classes[idx], self.loss[idx], self.steps,
                           self.seconds * n / len(self), [])


def equal_shares(classes: torch.Tensor, n: int) -> torch.Tensor:
    """Indices (sorted, shape ``(n,)``) of the first ``n`` items taken in equal class shares: the first item of
    every class, then the second of every class, and so on, so a smaller selection is contained in a larger one.

    Args:
        classes: shape ``(N,)``, integer class of each item.
        n: how many to take, 1 ≤ n ≤ N.

    Raises:
        ValueError: if ``classes`` is not a non-empty 1-D integer tensor or ``n`` is outside [1, N].
    """
    if classes.ndim != 1 or len(classes) == 0 or classes.is_floating_point():
        raise ValueError(f"classes must be a non-empty 1-D integer tensor, got shape {tuple(classes.shape)} "
                         f"and dtype {classes.dtype}")
    if not 1 <= n <= len(classes):
        raise ValueError(f"n must be in [1, {len(classes)}], got {n}")
    k = int(classes.max()) + 1
    rank = torch.zeros_like(classes)
    for c in range(k):
        idx = (classes == c).nonzero().squeeze(1)
        rank[idx] = torch.arange(len(idx))
    return torch.argsort(rank * k + classes, stable=True)[:n].sort().values


def craft(teacher: nn.Module, targets: torch.Tensor, shape: Sequence[int] | None = None, *, steps: int = 1500,
          lr: float = 0.05, T: float = 20.0, batch_size: int = 4096, classes: torch.Tensor | None = None,
          init_range: tuple[float, float] = (0.0, 1.0), jitter: int = 0, view_affine: dict | None = None,
          l2_weight: float = 0.0, tv_weight: float = 0.0, stop_kl: float | None = None,
          device: torch.device | None = None, seed: int | None = 0, progress: bool = True) -> Impressions:
    """Craft one impression per target row: x ← argmin CE(y, softmax(teacher(x)/τ)) from uniform noise (ZSKD eq. 3).

    All impressions of a chunk of ``batch_size`` are optimised in parallel with Adam (PyTorch's default betas, a
    constant learning rate — the official code), the loss summed over impressions so each one's gradient is its
    own; after every step x is clipped back to [0, 1]. This is :func:`dfkd_book.synthesis.optimize_pixels` with
    the objective of eq. 3 and no image prior.

    Three options go beyond the paper and are off by default (the paper's crafting): ``init_range`` starts from
    uniform noise in a narrower range (e.g. (0, 0.1), dark like Fashion-MNIST's background); ``jitter`` > 0
    evaluates the teacher at every step on a randomly translated (up to ``jitter`` pixels, circularly) and randomly
    flipped **copy** of the batch, as DeepInversion (Yin et al. 2020) does; ``view_affine`` additionally gives
    every impression of that copy its own small random affine map (kornia ``RandomAffine`` keyword arguments,
    e.g. ``dict(degrees=15, translate=0.1, scale=(0.9, 1.1))``). The optimised tensor itself is never moved, so an
    impression must make the teacher answer under small shifts and turns rather than be a pixel-exact
    adversarial pattern. Chapter 2 measures them against the paper's way. The three need images; on a teacher of
    vectors leave them at their defaults. ``l2_weight`` > 0 adds a pixel prior, ``l2_weight`` times each
    impression's mean squared pixel, summed over impressions (not in the paper; a public re-implementation found
    an L2 prior "very helpful"); ``tv_weight`` > 0 adds a total-variation prior
    (:func:`dfkd_book.synthesis.total_variation`, as DeepInversion). ``stop_kl`` stops an impression once it is
    close enough: its term of the loss is dropped (no more gradient) while KL(y ‖ softmax(teacher(x)/τ)) — the
    cross-entropy of eq. 3 minus the target's entropy, in nats — is below ``stop_kl`` on the current view, so
    near-one-hot targets are not chased to saturated, extreme-logit patterns.

    Args:
        teacher: frozen classifier returning logits (N, K); put in eval mode, never updated.
        targets: (N, K) softmax vectors (e.g. from :func:`sample_targets` or :func:`one_hot_targets`).
        shape: the shape of one input (default: read from the teacher).
        steps: Adam steps per impression (the official code: 1500). lr: Adam learning rate on the pixels.
        T: temperature τ (the paper: 20). batch_size: impressions optimised together.
        classes: (N,) class of each target, stored with the result (default: argmax of the targets).
        init_range, jitter, view_affine, l2_weight: see above. seed: seeds the initial noise.

    Returns:
        :class:`Impressions`, images on the CPU.

    Raises:
        ValueError: targets not (N, K) with K the teacher's number of classes or rows not on the simplex; steps < 1;
            T ≤ 0; l2_weight < 0; a shape the teacher does not accept; jitter or view_affine on a teacher of
            vectors.
    """
    device = device or config.device()
    if not isinstance(targets, torch.Tensor) or targets.ndim != 2:
        got = tuple(targets.shape) if isinstance(targets, torch.Tensor) else type(targets).__name__
        raise ValueError(f"targets must be a (N, K) tensor of softmax vectors, got {got}")
    if (targets < 0).any() or not torch.allclose(targets.sum(1), torch.ones(len(targets)), atol=1e-4):
        raise ValueError("every target row must be a probability vector (non-negative, summing to 1)")
    if not T > 0:
        raise ValueError(f"temperature T must be > 0, got {T}")
    if not isinstance(jitter, int) or jitter < 0:
        raise ValueError(f"jitter must be an int >= 0 (pixels), got {jitter!r}")
    for what, v in (("l2_weight", l2_weight), ("tv_weight", tv_weight)):
        if not (isinstance(v, (int, float)) and v >= 0):
            raise ValueError(f"{what} must be a number >= 0, got {v!r}")
    if stop_kl is not None and not (isinstance(stop_kl, (int, float)) and stop_kl > 0):
        raise ValueError(f"stop_kl must be None or a number > 0 (nats), got {stop_kl!r}")
    t = frozen_copy(teacher, device)  # channels-last: about 2x faster input gradients on a CPU
    shape = input_shape(t, shape, device)
    k = num_classes_of(t, torch.zeros(1, *shape, device=device))
    if targets.shape[1] != k:
        raise ValueError(f"targets have {targets.shape[1]} columns but the teacher has {k} classes")
    y_all = targets.to(device)

    entropy = -(y_all * y_all.clamp_min(1e-12).log()).sum(1)

    def objective(view, logits, _labels, lo):
        ce = impression_loss(logits, y_all[lo:lo + len(view)], T)
        if stop_kl is not None:  # impressions already within stop_kl nats of their target get no gradient
            ce = ce * ((ce.detach() - entropy[lo:lo + len(view)]) > stop_kl)
        loss = ce.sum()
        if l2_weight:
            loss = loss + l2_weight * view.square().flatten(1).mean(1).sum()
        return loss

    cls = targets.argmax(1) if classes is None else classes
    syn = optimize_pixels(t, len(targets), objective, shape=shape, labels=cls, steps=steps, batch_size=batch_size,
                          lr=lr, betas=(0.9, 0.999), schedule="constant", tv_weight=tv_weight, jitter=jitter,
                          flip=jitter > 0, view_affine=view_affine, keep_best=False, init_range=init_range,
                          seed=seed, device=device, progress=progress, name="crafting impressions")
    with torch.no_grad():
        losses = torch.cat([impression_loss(t(syn.images[i:i + 4096].to(device)), y_all[i:i + 4096], T).cpu()
                            for i in range(0, len(targets), 4096)])
    curve = [(s, v / len(targets)) for s, v in syn.curve]  # the objective is a sum: per impression
    return Impressions(syn.images, targets.clone(), cls.clone(), losses, steps, syn.seconds, curve)


def data_impressions(teacher: nn.Module, n: int, shape: Sequence[int] | None = None, *,
                     betas: Sequence[float] = (1.0, 0.1), prior: str = "class-similarity",
                     weight: torch.Tensor | None = None, top: float | None = None, seed: int = 0,
                     **craft_kwargs) -> Impressions:
    """The whole ZSKD recipe: class similarity (eq. 2) → Dirichlet targets → crafted impressions (eq. 3).

    ``prior='uniform'`` gives the Table 7 ablation; ``top`` caps every target's largest entry
    (:func:`cap_targets`; None: the paper's targets). Extra keyword arguments go to :func:`craft`
    (``steps``, ``lr``, ``T``, ``batch_size``, ``device``, ``progress``). Raises as the functions it calls.
    """
    sim = class_similarity(teacher, weight=weight)
    targets, cls = sample_targets(sim, n, betas=betas, prior=prior, seed=seed)
    if top is not None:
        targets = cap_targets(targets, top)
    return craft(teacher, targets, shape, classes=cls, seed=seed, **craft_kwargs)


def class_impressions(teacher: nn.Module, n: int, shape: Sequence[int] | None = None, *, seed: int = 0,
                      **craft_kwargs) -> Impressions:
    """**Class impressions** (Mopuri et al. 2018): impressions crafted towards one-hot targets, ``n`` split evenly
    over the teacher's classes — the comparison of ZSKD Fig. 3. Keyword arguments go to :func:`craft`."""
    device = craft_kwargs.get("device") or config.device()
    t = frozen_copy(teacher, device)
    shape = input_shape(t, shape, device)
    targets, cls = one_hot_targets(n, num_classes_of(t, torch.zeros(1, *shape, device=device)))
    return craft(t, targets, shape, classes=cls, seed=seed, **craft_kwargs)


# ------------------------------------------------------------------------------------------------ the methods
class DataImpressions(StaticSet):
    """ZSKD (Nayak et al. 2019) as a method of :func:`dfkd_book.distill`: ``n`` data impressions crafted once
    (:func:`data_impressions`) before the first student step, then distilled on.

    Args:
        n: impressions. betas, prior, weight: the Dirichlet targets (:func:`sample_targets`). The other keyword
            arguments go to :func:`craft` (steps, lr, T, batch_size, init_range, jitter, view_affine).

    After :func:`dfkd_book.distill`, ``.impressions`` holds the :class:`Impressions` (targets, classes, losses).
    Raises ValueError for n < 1 (others as :func:`craft`, at preparation).
    """

    name = "ZSKD data impressions"
    kind = "synthetic"

    def __init__(self, n: int, *, betas: Sequence[float] = (1.0, 0.1), prior: str = "class-similarity",
                 weight: torch.Tensor | None = None, **craft_kwargs):
        super().__init__()
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be an int >= 1, got {n!r}")
        self.n, self.betas, self.prior, self.weight = n, tuple(betas), prior, weight
        self.craft_kwargs = dict(craft_kwargs)
        self.impressions: Impressions | None = None

    def _craft(self) -> Impressions:
        ctx = self.ctx
        return data_impressions(ctx.teacher, self.n, ctx.input_shape, betas=self.betas, prior=self.prior,
                                weight=self.weight, seed=0 if ctx.seed is None else ctx.seed, device=ctx.device,
                                progress=ctx.progress, **self.craft_kwargs)

    def make(self):
        self.impressions = self._craft()
        return self.impressions.images, None

    def settings(self) -> dict:
        return {"n": self.n, "betas": list(self.betas), "prior": self.prior, **self.craft_kwargs}


class ClassImpressions(DataImpressions):
    """Class impressions (Mopuri et al. 2018; the comparison of ZSKD Fig. 3): impressions crafted towards one-hot
    targets, ``n`` split evenly over the classes. Keyword arguments go to :func:`craft`."""

    name = "class impressions"

    def __init__(self, n: int, **craft_kwargs):
        super().__init__(n, **craft_kwargs)

    def _craft(self) -> Impressions:
        ctx = self.ctx
        return class_impressions(ctx.teacher, self.n, ctx.input_shape, seed=0 if ctx.seed is None else ctx.seed,
                                 device=ctx.device, progress=ctx.progress, **self.craft_kwargs)

    def settings(self) -> dict:
        return {"n": self.n, **self.craft_kwargs}
