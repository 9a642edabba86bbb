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
