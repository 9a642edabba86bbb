"""Knowledge distillation on real data (Hinton et al. 2015): the ceiling every data-free method is measured
against — the student sees the teacher's own training images (or a subset of them)."""

from __future__ import annotations

import torch

from ..kd import images_labels
from .base import TransferSet


class RealData(TransferSet):
    """The teacher's real training data as a transfer set: an ImageSet or ``(inputs, labels)``; the labels serve
    only the loop's optional λ · cross-entropy term (ZSKD eq. 1).

    Args:
        data: an :class:`~dfkd_book.data.ImageSet` or a tuple ``(inputs (N, ...), labels (N,))``.
        n: keep only the first ``n`` (default: all).

    Raises:
        TypeError: ``data`` is neither. ValueError: an empty set, or n outside [1, N].
    """

    name = "KD on real data"

    def __init__(self, data, n: int | None = None):
        x, y = images_labels(data)
        if n is not None:
            if not isinstance(n, int) or not 1 <= n <= len(x):
                raise ValueError(f"n must be an int in [1, {len(x)}], got {n!r}")
            x, y = x[:n], y[:n]
        super().__init__(x, torch.as_tensor(y).long(), name=self.name, kind="real")
