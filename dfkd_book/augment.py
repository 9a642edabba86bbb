"""Batched augmentation with per-sample random parameters, on the inputs' device.

Every function here maps a batch (B, C, H, W) in [0, 1] to a batch of the same shape, drawing independent random
parameters for each sample (torchvision's v2 transforms draw one set of parameters per call, i.e. per batch).
"""

from __future__ import annotations

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
    teachers. Values stay in [0, 1]. The geometry and the noise are kornia's batched augmentations
    (``kornia.augmentation``), which draw parameters per sample on the inputs' device.

    With probability 1 − ``p`` a sample passes through untouched, so a batch mixes data impressions with augmented
    ones, as the paper's fine-tuning on "a mixture of DI and augmented DI samples".

    Call: ``(B, C, H, W) → (B, C, H, W)``. Raises ValueError for anything but a 4-D tensor, or bad parameters.
    """

    def __init__(self, p: float = 0.5, scale: tuple[float, float] = (0.6, 1.0), translate: float = 0.2,
                 degrees: float = 90.0, p_flip: float = 0.25, transpose: bool = True, gaussian_std: float = 0.0,
                 salt_pepper: float = 0.0):
        import kornia.augmentation as K

        for nm, v in (("p", p), ("p_flip", p_flip), ("translate", translate), ("salt_pepper", salt_pepper)):
            if not 0 <= v <= 1:
                raise ValueError(f"{nm} must be in [0, 1], got {v!r}")
        if not (0 < scale[0] <= scale[1]):
            raise ValueError(f"scale must be (low, high) with 0 < low <= high, got {scale!r}")
        if degrees < 0 or gaussian_std < 0:
            raise ValueError(f"degrees and gaussian_std must be >= 0, got {degrees!r}, {gaussian_std!r}")
        self.p, self.scale, self.translate, self.degrees = p, tuple(scale), translate, degrees
        self.p_flip, self.transpose, self.gaussian_std, self.salt_pepper = p_flip, transpose, gaussian_std, salt_pepper
        self.affine = K.RandomAffine(degrees=degrees, translate=(translate, translate), scale=self.scale, p=p)
        self.flips = [K.RandomHorizontalFlip(p=p_flip), K.RandomVerticalFlip(p=p_flip)]
        self.noise = []
        if gaussian_std > 0:
            self.noise.append(K.RandomGaussianNoise(std=gaussian_std, p=p))
        if salt_pepper > 0:
            self.noise.append(K.RandomSaltAndPepperNoise(amount=salt_pepper, salt_vs_pepper=0.5, p=p))

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        _check_batch(x)
        x = self.affine(x)
        for f in self.flips:
            x = f(x)
        if self.transpose and x.shape[-1] == x.shape[-2] and self.p_flip > 0:
            mask = torch.rand(x.shape[0], device=x.device) < self.p_flip
            x = torch.where(mask[:, None, None, None], x.transpose(-1, -2), x)
        for f in self.noise:
            x = f(x)
        return x.clamp(0, 1)

    def __repr__(self) -> str:
        return (f"ZSKDAugmentation(p={self.p}, scale={self.scale}, translate={self.translate}, degrees={self.degrees}, "
                f"p_flip={self.p_flip}, transpose={self.transpose}, gaussian_std={self.gaussian_std}, "
                f"salt_pepper={self.salt_pepper})")
