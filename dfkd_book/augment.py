"""Batched augmentation with per-sample random parameters, on the inputs' device.

Every function here maps a batch (B, C, H, W) in [0, 1] to a batch of the same shape, drawing independent random
parameters for each sample (torchvision's v2 transforms draw one set of parameters per call, i.e. per batch).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def _check_batch(x: torch.Tensor) -> None:
    if not isinstance(x, torch.Tensor) or x.ndim != 4:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"expected a batch of images (B, C, H, W), got {shape}")


def jittered_view(x: torch.Tensor, jitter: int, flip: bool = True) -> torch.Tensor:
    """One random circular shift (up to ``jitter`` pixels along each axis) and, with probability 1/2, a
    horizontal flip of the whole batch, returned as a **copy**: the tensor being optimised is never moved
    (DeepInversion, Yin et al. 2020; the Fast-Datafree code jittered the optimised tensor in place). Chapters 2
    and 5 show the teacher this view of the images they synthesise. Raises ValueError for jitter < 0."""
    if not isinstance(jitter, int) or jitter < 0:
        raise ValueError(f"jitter must be an int >= 0 (pixels), got {jitter!r}")
    view = x
    if jitter:
        dy, dx = torch.randint(-jitter, jitter + 1, (2,)).tolist()
        view = torch.roll(view, (dy, dx), dims=(2, 3))
    if flip and torch.rand(()) < 0.5:
        view = view.flip(3)
    return view


class FlipShift:
    """Random horizontal flip (p = 0.5) and a random translation of up to ``max_shift`` whole pixels per sample,
    filling with zeros — the standard light augmentation for training Fashion-MNIST / CIFAR classifiers.

    Args:
        max_shift: largest shift in pixels along each axis (≥ 0).
        flip: whether to flip horizontally with probability 0.5.

    Call: ``(B, C, H, W) → (B, C, H, W)``. Raises ValueError for anything but a 4-D tensor.
    """

    def __init__(self, max_shift: int = 2, flip: bool = True):
        if not isinstance(max_shift, int) or max_shift < 0:
            raise ValueError(f"max_shift must be an int >= 0, got {max_shift!r}")
        self.max_shift, self.flip = max_shift, flip

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        _check_batch(x)
        b, _, h, w = x.shape
        if self.flip:
            mask = torch.rand(b, device=x.device) < 0.5
            x = torch.where(mask[:, None, None, None], x.flip(-1), x)
        s = self.max_shift
        if s == 0:
            return x
        padded = F.pad(x, (s, s, s, s))
        dy = torch.randint(0, 2 * s + 1, (b,), device=x.device)
        dx = torch.randint(0, 2 * s + 1, (b,), device=x.device)
        rows = (dy[:, None] + torch.arange(h, device=x.device)[None, :])  # (B, H)
        cols = (dx[:, None] + torch.arange(w, device=x.device)[None, :])  # (B, W)
        batch = torch.arange(b, device=x.device)[:, None, None]
        out = padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]]  # (B, H, W, C)
        return out.permute(0, 3, 1, 2).contiguous()

    def __repr__(self) -> str:
        return f"FlipShift(max_shift={self.max_shift}, flip={self.flip})"


class ZSKDAugmentation:
    """The augmentation of ZSKD (Nayak et al. 2019, Appendix Sec. 3), batched, with per-sample random parameters.

    Each sample is, with probability ``p``, transformed by a random affine map (scale in ``scale``, translation up
    to ``translate`` of the size along each axis, rotation in ±``degrees``), then independently flipped left-right,
    up-down and transposed (each with probability ``p_flip``), then given Gaussian noise (σ = ``gaussian_std``) and
    salt-and-pepper noise (a fraction ``salt_pepper`` of the pixels) — the paper used the noise only for RGB
    teachers. Values stay in [0, 1]. With probability 1 − ``p`` (and no flip) a sample passes through untouched,
    so a batch mixes data impressions with augmented ones, as the paper's fine-tuning on "a mixture of DI and
    augmented DI samples".

    The whole geometry of a sample (affine map, flips, transpose) is one 2 × 3 matrix, and the batch is resampled
    by one ``torch.nn.functional.affine_grid`` + ``grid_sample`` call (bilinear, zero padding) — the transforms
    composed before sampling, so the image is interpolated once, not three times.

    Call: ``(B, C, H, W) → (B, C, H, W)``. Raises ValueError for anything but a 4-D tensor, or bad parameters.
    """

    def __init__(self, p: float = 0.5, scale: tuple[float, float] = (0.6, 1.0), translate: float = 0.2,
                 degrees: float = 90.0, p_flip: float = 0.25, transpose: bool = True, gaussian_std: float = 0.0,
                 salt_pepper: float = 0.0, vflip: bool = True):
        for nm, v in (("p", p), ("p_flip", p_flip), ("translate", translate), ("salt_pepper", salt_pepper)):
            if not 0 <= v <= 1:
                raise ValueError(f"{nm} must be in [0, 1], got {v!r}")
        if not (0 < scale[0] <= scale[1]):
            raise ValueError(f"scale must be (low, high) with 0 < low <= high, got {scale!r}")
        if degrees < 0 or gaussian_std < 0:
            raise ValueError(f"degrees and gaussian_std must be >= 0, got {degrees!r}, {gaussian_std!r}")
        self.p, self.scale, self.translate, self.degrees = p, tuple(scale), translate, degrees
        self.p_flip, self.transpose, self.gaussian_std, self.salt_pepper = p_flip, transpose, gaussian_std, salt_pepper
        self.vflip = vflip

    def matrices(self, b: int, h: int, w: int, device=None) -> tuple[torch.Tensor, torch.Tensor]:
        """Random per-sample sampling matrices: ``(theta (B, 2, 3), moved (B,) bool)``, where theta maps an output
        pixel to the input pixel it reads, in the normalised coordinates of ``affine_grid`` (align_corners False),
        and ``moved`` marks the samples any transform touches."""
        def u(lo=0.0, hi=1.0):
            return lo + (hi - lo) * torch.rand(b, device=device)

        on = torch.rand(b, device=device) < self.p
        ang = torch.where(on, u(-1, 1) * math.radians(self.degrees), torch.zeros(b, device=device))
        sc = torch.where(on, u(*self.scale), torch.ones(b, device=device))
        tx = torch.where(on, u(-1, 1) * self.translate * w, torch.zeros(b, device=device))
        ty = torch.where(on, u(-1, 1) * self.translate * h, torch.zeros(b, device=device))
        cos, sin = ang.cos() / sc, ang.sin() / sc
        inv = torch.stack([torch.stack([cos, sin], -1), torch.stack([-sin, cos], -1)], -2)  # (R S)^-1, (B, 2, 2)
        # out = transpose(flips(affine(x))): an output pixel reads affine^-1(flips(transpose(p)))
        fx = torch.where(torch.rand(b, device=device) < self.p_flip, -1.0, 1.0)
        fy = torch.where(torch.rand(b, device=device) < (self.p_flip if self.vflip else 0.0), -1.0, 1.0)
        post = torch.diag_embed(torch.stack([fx, fy], -1))
        tr = torch.zeros(b, dtype=torch.bool, device=device)
        if self.transpose and h == w and self.p_flip > 0:
            tr = torch.rand(b, device=device) < self.p_flip
            swap = torch.tensor([[0.0, 1.0], [1.0, 0.0]], device=device).expand(b, 2, 2)
            post = torch.where(tr[:, None, None], post @ swap, post)
        lin = inv @ post  # in pixel units about the centre
        off = -(inv @ torch.stack([tx, ty], -1)[..., None])[..., 0]
        half = torch.tensor([w / 2, h / 2], device=device)
        theta = torch.cat([lin * half[None, None, :] / half[None, :, None], (off / half)[..., None]], -1)
        moved = on | (fx < 0) | (fy < 0) | tr
        return theta, moved

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        _check_batch(x)
        b, c, h, w = x.shape
        theta, moved = self.matrices(b, h, w, x.device)
        if x.device.type != "cpu":  # no host sync: resample every sample, keep the untouched ones as they were
            grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
            x = torch.where(moved[:, None, None, None], F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros",
                                                                      align_corners=False), x)
        elif moved.any():
            idx = moved.nonzero().squeeze(1)
            xm = x[idx]
            grid = F.affine_grid(theta[idx].to(x.dtype), list(xm.shape), align_corners=False)
            x = x.index_copy(0, idx, F.grid_sample(xm, grid, mode="bilinear", padding_mode="zeros",
                                                   align_corners=False))
        if self.gaussian_std > 0:
            on = (torch.rand(b, 1, 1, 1, device=x.device) < self.p).to(x.dtype)
            x = x + on * self.gaussian_std * torch.randn_like(x)
        if self.salt_pepper > 0:
            on = torch.rand(b, 1, 1, 1, device=x.device) < self.p
            hit = on & (torch.rand(b, 1, h, w, device=x.device) < self.salt_pepper)
            salt = (torch.rand(b, 1, h, w, device=x.device) < 0.5).to(x.dtype)
            x = torch.where(hit, salt, x)
        return x.clamp(0, 1)

    def __repr__(self) -> str:
        return (f"ZSKDAugmentation(p={self.p}, scale={self.scale}, translate={self.translate}, degrees={self.degrees}, "
                f"p_flip={self.p_flip}, transpose={self.transpose}, gaussian_std={self.gaussian_std}, "
                f"salt_pepper={self.salt_pepper}, vflip={self.vflip})")


class MildAffine(ZSKDAugmentation):
    """A mild random affine map for every sample — rotation within ±``degrees``, translation up to ``translate`` of
    the size, scale in ``scale`` — and a horizontal flip with probability 1/2: the light geometric augmentation of
    supervised Fashion-MNIST / CIFAR training, between :class:`FlipShift` and ZSKD's heavy set. One
    ``affine_grid`` + ``grid_sample`` per batch, as :class:`ZSKDAugmentation`.

    Call: ``(B, C, H, W) → (B, C, H, W)``. Raises ValueError for anything but a 4-D tensor, or bad parameters.
    """

    def __init__(self, degrees: float = 10.0, translate: float = 0.1, scale: tuple[float, float] = (0.9, 1.1)):
        super().__init__(p=1.0, scale=scale, translate=translate, degrees=degrees, p_flip=0.5, transpose=False,
                         vflip=False)

    def __repr__(self) -> str:
        return f"MildAffine(degrees={self.degrees}, translate={self.translate}, scale={self.scale})"


class Curriculum:
    """Augmentation that changes as training goes on: ``stages`` is a list of ``(until, augment)`` pairs, where
    ``until`` is the fraction of the ``steps`` calls (one call per student step) up to which ``augment`` (a
    callable, or None for the clean batch) is used — e.g. ``[(0.5, None), (1.0, ZSKDAugmentation())]``: clean
    images first, ZSKD's heavy set in the second half, as ZSKD's fine-tuning stage (Nayak et al. 2019, Appendix
    Sec. 2.2: training on the data impressions, then on a mixture of impressions and augmented impressions).

    The object counts its calls: build a fresh one for every training run. Calls past ``steps`` use the last
    stage. Call: ``(B, C, H, W) → (B, C, H, W)``.

    Raises:
        ValueError: no stages, fractions not increasing in (0, 1] or not ending at 1, or ``steps`` < 1.
    """

    def __init__(self, stages: list, steps: int):
        fractions = [f for f, _ in stages]
        if not stages or any(not 0 < f <= 1 for f in fractions) or fractions != sorted(fractions) \
                or fractions[-1] != 1:
            raise ValueError(f"stages must be (until, augment) pairs with increasing until in (0, 1] ending at 1, "
                             f"got {fractions}")
        if not isinstance(steps, int) or steps < 1:
            raise ValueError(f"steps must be an int >= 1, got {steps!r}")
        self.stages, self.steps, self.calls = list(stages), steps, 0

    def current(self):
        """The augmentation the next call uses (None: clean)."""
        progress = self.calls / self.steps
        return next((a for f, a in self.stages if progress < f), self.stages[-1][1])

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        _check_batch(x)
        aug = self.current()
        self.calls += 1
        return x if aug is None else aug(x)

    def __repr__(self) -> str:
        return f"Curriculum({[(f, a) for f, a in self.stages]}, steps={self.steps})"



class Compose:
    """Augmentations applied in turn, e.g. ``Compose(ZSKDAugmentation(p=0.5), MixUp())``: ZSKD's per-sample set,
    then mixup between the augmented images. Through :func:`dfkd_book.distill`'s ``augment=`` the teacher
    re-labels the batch that comes out, whatever the parts did to it.

    Args:
        *augments: batched augmentations ``(B, C, H, W) → (B, C, H, W)``; ``None`` entries are skipped (a
            :class:`Curriculum` keeps counting its calls inside a Compose).

    Call: ``(B, C, H, W) → (B, C, H, W)``.

    Raises:
        TypeError: an entry that is neither callable nor None. ValueError: no augmentation at all; a call with
            anything but a 4-D tensor.
    """

    def __init__(self, *augments):
        bad = [type(a).__name__ for a in augments if a is not None and not callable(a)]
        if bad:
            raise TypeError(f"Compose takes batched augmentations (callables) or None, got {bad}")
        self.augments = tuple(a for a in augments if a is not None)
        if not self.augments:
            raise ValueError("Compose needs at least one augmentation (got none, or only None)")

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        _check_batch(x)
        for a in self.augments:
            x = a(x)
        return x

    def __repr__(self) -> str:
        return f"Compose({', '.join(map(repr, self.augments))})"


class _BatchMix:
    """What :class:`MixUp` and :class:`CutMix` share: a kornia mix augmentation over the whole batch, kept for a
    fraction ``p`` of the samples (drawn per sample); the rest pass untouched."""

    def __init__(self, p: float):
        if not (isinstance(p, (int, float)) and 0 <= p <= 1):
            raise ValueError(f"p must be in [0, 1] (the probability that a sample is mixed), got {p!r}")
        self.p = float(p)
        self._mix = None

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        _check_batch(x)
        if self.p == 0 or len(x) < 2:
            return x
        mixed = self._mix(x)
        if self.p < 1:
            keep = torch.rand(len(x), device=x.device) >= self.p
            mixed = torch.where(keep[:, None, None, None], x, mixed)
        return mixed


class MixUp(_BatchMix):
    """mixup between the images of a batch (Zhang et al. 2018, "mixup: Beyond Empirical Risk Minimization", ICLR,
    eq. 1): each image is mixed with a partner from the same batch (a random permutation, which may pair an image
    with itself), ``x̃_i = (1 − λ_i) · x_i + λ_i · x_π(i)``, λ_i drawn per sample uniformly in ``lambda_range`` —
    mixup's Beta(α, α) with α = 1 for the default (0, 1). The mixing is kornia's
    ``kornia.augmentation.RandomMixUpV2``; values stay in [0, 1] when the inputs are.

    No labels are mixed: in distillation the teacher labels the mixed image itself (:func:`dfkd_book.distill`
    re-labels every augmented batch), so the student is taught the teacher's function between the transfer
    images — the "function matching" with mixup of Beyer et al. 2022 ("Knowledge distillation: A good teacher is
    patient and consistent", CVPR).

    Args:
        p: the probability that a sample is mixed, drawn per sample (the others pass untouched); 1: every sample.
        lambda_range: ``(low, high)`` with 0 ≤ low ≤ high ≤ 1, the range of the partner's weight λ.

    Call: ``(B, C, H, W) → (B, C, H, W)`` (a batch of one passes untouched).

    Raises:
        ValueError: ``p`` outside [0, 1], a bad ``lambda_range``, or a call with anything but a 4-D tensor.
    """

    def __init__(self, p: float = 1.0, lambda_range: tuple[float, float] = (0.0, 1.0)):
        super().__init__(p)
        lo, hi = (float(v) for v in lambda_range)
        if not 0 <= lo <= hi <= 1:
            raise ValueError(f"lambda_range must be (low, high) with 0 <= low <= high <= 1, got {lambda_range!r}")
        from kornia.augmentation import RandomMixUpV2

        self.lambda_range = (lo, hi)
        self._mix = RandomMixUpV2(lambda_val=self.lambda_range, p=1.0)

    def __repr__(self) -> str:
        return f"MixUp(p={self.p}, lambda_range={self.lambda_range})"


class CutMix(_BatchMix):
    """CutMix between the images of a batch (Yun et al. 2019, "CutMix: Regularization Strategy to Train Strong
    Classifiers with Localizable Features", ICCV): a box of each image is replaced by the same box of a partner
    from the batch (a random permutation). λ ~ Beta(β, β) per sample, the box's sides are ``⌊√(1 − λ) · side⌋``
    (so it covers about 1 − λ of the image) and its place is uniform — the paper's sampling, done by kornia's
    ``kornia.augmentation.RandomCutMixV2``. Pixels are copied, so values stay in the inputs' range.

    No labels are mixed: the teacher labels the pasted image itself (:func:`dfkd_book.distill` re-labels every
    augmented batch).

    Args:
        p: the probability that a sample gets a box, drawn per sample (the others pass untouched).
        beta: β > 0 of the Beta distribution of λ (1: uniform, the paper's choice).

    Call: ``(B, C, H, W) → (B, C, H, W)`` (a batch of one passes untouched).

    Raises:
        ValueError: ``p`` outside [0, 1], β ≤ 0, or a call with anything but a 4-D tensor.
    """

    def __init__(self, p: float = 1.0, beta: float = 1.0):
        super().__init__(p)
        if not (isinstance(beta, (int, float)) and beta > 0):
            raise ValueError(f"beta must be > 0, got {beta!r}")
        from kornia.augmentation import RandomCutMixV2

        self.beta = float(beta)
        self._mix = RandomCutMixV2(num_mix=1, beta=self.beta, p=1.0, use_correct_lambda=True)

    def __repr__(self) -> str:
        return f"CutMix(p={self.p}, beta={self.beta})"
