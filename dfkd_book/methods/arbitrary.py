"""Arbitrary transfer sets, made target-class balanced.

Source: Nayak et al., *Effectiveness of Arbitrary Transfer Sets for Data-free Knowledge Distillation*, WACV 2021
(paper 001 in ``../shared/papers``). Any images — noise, procedural pictures, unrelated datasets — can serve as a
transfer set, but the teacher sorts them into very unequal classes. Algorithm 1 of the paper keeps a candidate
only while the class the teacher predicts for it still has room (N / K per class), going through the sources in
order, until every class is full or the sources run dry.

A **source** is a callable ``source(n) -> (n, C, H, W)`` tensor in [0, 1] in the teacher's input space, with a
``name`` and an optional ``limit`` (the most candidates it can give; ``None`` for generators that never run dry).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .. import config
from ..hooks import frozen_copy, input_shape
from ..kd import logits
from .base import StaticSet


def _check_shape(shape: Sequence[int]) -> tuple[int, int, int]:
    shape = tuple(int(s) for s in shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"shape must be (C, H, W) with positive sizes, got {shape}")
    return shape


def adapt(x: torch.Tensor, shape: Sequence[int]) -> torch.Tensor:
    """Bring images into the teacher's input space: channels (gray ↔ RGB by averaging / repeating) and size
    (bilinear resize), values clipped to [0, 1].

    Args: x (N, C', H', W') float; shape (C, H, W). Returns (N, C, H, W).
    Raises ValueError for a non-4-D input or channel counts other than 1 ↔ 3 (or equal).
    """
    c, h, w = _check_shape(shape)
    if not isinstance(x, torch.Tensor) or x.ndim != 4:
        raise ValueError(f"expected images (N, C, H, W), got {tuple(x.shape) if isinstance(x, torch.Tensor) else x}")
    x = x.float()
    if x.shape[1] != c:
        if x.shape[1] == 3 and c == 1:
            x = x.mean(1, keepdim=True)
        elif x.shape[1] == 1 and c == 3:
            x = x.expand(-1, 3, -1, -1)
        else:
            raise ValueError(f"cannot adapt {x.shape[1]} channels to {c}")
    if x.shape[-2:] != (h, w):
        x = F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False, antialias=True)
    return x.clamp(0, 1)


@dataclass
class Source:
    """A named source of candidate images: ``source(n)`` returns the next ``n`` candidates (fewer, down to 0, when
    a finite source runs dry). ``limit`` is the number of candidates it can give (None: unlimited)."""

    name: str
    draw: Callable[[int], torch.Tensor]
    limit: int | None = None
    given: int = 0

    def __call__(self, n: int) -> torch.Tensor:
        if self.limit is not None:
            n = max(0, min(n, self.limit - self.given))
        x = self.draw(n)
        self.given += len(x)
        return x

    @property
    def exhausted(self) -> bool:
        return self.limit is not None and self.given >= self.limit


def _check_any_shape(shape: Sequence[int]) -> tuple[int, ...]:
    shape = tuple(int(s) for s in shape)
    if len(shape) == 0 or min(shape) < 1:
        raise ValueError(f"shape must be the shape of one input, e.g. (1, 32, 32) or (64,), got {shape}")
    return shape


def uniform_noise(shape: Sequence[int] = (1, 32, 32), seed: int = 0) -> Source:
    """Uniform noise in [0, 1] per pixel (Nayak et al. 2021, Sec. 4) — or per feature, for a teacher of vectors
    (``shape=(D,)``). Unlimited."""
    shape = _check_any_shape(shape)
    g = torch.Generator().manual_seed(seed)
    return Source("uniform noise", lambda n: torch.rand(n, *shape, generator=g))


def gaussian_noise(shape: Sequence[int] = (1, 32, 32), mean: float = 0.5, std: float = 0.1, seed: int = 0) -> Source:
    """Gaussian noise N(μ = 0.5, σ = 0.1) per pixel (or feature), clipped to [0, 1] (Nayak et al. 2021).
    Unlimited."""
    shape = _check_any_shape(shape)
    if std < 0:
        raise ValueError(f"std must be >= 0, got {std}")
    g = torch.Generator().manual_seed(seed)
    return Source(f"Gaussian noise (μ={mean}, σ={std})",
                  lambda n: (mean + std * torch.randn(n, *shape, generator=g)).clamp(0, 1))


def spectral_noise(shape: Sequence[int] = (1, 32, 32), alpha: float = 2.0, seed: int = 0) -> Source:
    """Random images with a 1/f^α power spectrum (α = 2: the spectrum of natural images), random phase, each
    image rescaled to [0, 1]. A procedural stand-in for natural images. Unlimited."""
    c, h, w = _check_shape(shape)
    g = torch.Generator().manual_seed(seed)
    fy = torch.fft.fftfreq(h)[:, None]
    fx = torch.fft.rfftfreq(w)[None, :]
    amp = (fx**2 + fy**2).sqrt().clamp_min(1.0 / max(h, w)) ** (-alpha / 2)

    def draw(n: int) -> torch.Tensor:
        phase = 2 * math.pi * torch.rand(n, c, h, w // 2 + 1, generator=g)
        x = torch.fft.irfft2(amp * torch.exp(1j * phase), s=(h, w))
        lo = x.amin(dim=(1, 2, 3), keepdim=True)
        hi = x.amax(dim=(1, 2, 3), keepdim=True)
        return (x - lo) / (hi - lo).clamp_min(1e-8)

    return Source(f"1/f^{alpha:g} spectral noise", draw)


def multiscale_noise(shape: Sequence[int] = (1, 32, 32), scales: Sequence[int] = (1, 2, 4, 8, 16, 32),
                     black: float = 0.7, seed: int = 0) -> Source:
    """Multi-scale noise: uniform noise drawn on grids of several sizes (``scales`` × ``scales``), each upsampled
    bilinearly to the image size and added with a random weight per image and scale, then stretched to [0, 1]
    per image. A random black level ``b ~ U(0, black)`` per image maps ``x → (x − b) / (1 − b)``, clipped, so
    that the darker part of the image becomes a flat 0 background — blobs and strokes of every size on black,
    where per-pixel noise is all fine grain at mid-grey. Beyond Nayak et al. 2021: the idea of noise at several
    resolutions comes from the DIP-KD line of work. Unlimited.

    Raises ValueError for an empty or non-positive ``scales`` or ``black`` outside [0, 1)."""
    c, h, w = _check_shape(shape)
    scales = tuple(int(s) for s in scales)
    if not scales or min(scales) < 1:
        raise ValueError(f"scales must be grid sizes >= 1, got {scales}")
    if not 0 <= black < 1:
        raise ValueError(f"black must be in [0, 1), got {black}")
    g = torch.Generator().manual_seed(seed)

    def draw(n: int) -> torch.Tensor:
        x = torch.zeros(n, c, h, w)
        weight = torch.rand(n, len(scales), generator=g)
        for i, s in enumerate(scales):
            grid = 2 * torch.rand(n, c, s, s, generator=g) - 1
            x += weight[:, i, None, None, None] * F.interpolate(grid, size=(h, w), mode="bilinear",
                                                                align_corners=False)
        lo, hi = x.amin((1, 2, 3), keepdim=True), x.amax((1, 2, 3), keepdim=True)
        x = (x - lo) / (hi - lo).clamp_min(1e-8)
        b = black * torch.rand(n, 1, 1, 1, generator=g)
        return ((x - b) / (1 - b)).clamp(0, 1)

    return Source("multi-scale noise", draw)


def dead_leaves(shape: Sequence[int] = (1, 32, 32), leaves: int = 40, radius: tuple[float, float] = (0.05, 0.35),
                seed: int = 0) -> Source:
    """Dead-leaves images: ``leaves`` random discs of random intensity (colour) and radius (a fraction of the
    size) painted over each other on a random background — a classic procedural model of occluding objects
    (Lee, Mumford & Huang, 2001). Unlimited.

    Raises ValueError for leaves < 1 or a radius range outside (0, 2]."""
    c, h, w = _check_shape(shape)
    if leaves < 1:
        raise ValueError(f"leaves must be >= 1, got {leaves}")
    if not 0 < radius[0] <= radius[1] <= 2:
        raise ValueError(f"radius must be (min, max) with 0 < min <= max <= 2, got {radius}")
    g = torch.Generator().manual_seed(seed)
    yy = torch.linspace(0, 1, h)[:, None]
    xx = torch.linspace(0, 1, w)[None, :]

    def draw(n: int) -> torch.Tensor:
        x = torch.rand(n, c, 1, 1, generator=g).expand(n, c, h, w).clone()  # the background
        for _ in range(leaves):  # paint each disc over the earlier ones
            cy, cx = torch.rand(n, 1, 1, generator=g), torch.rand(n, 1, 1, generator=g)
            r = radius[0] + (radius[1] - radius[0]) * torch.rand(n, 1, 1, generator=g)
            disc = ((yy - cy) ** 2 + (xx - cx) ** 2) < r**2  # (n, h, w)
            x = torch.where(disc[:, None], torch.rand(n, c, 1, 1, generator=g), x)
        return x

    return Source("dead leaves", draw)


def random_shapes(shape: Sequence[int] = (1, 32, 32), count: tuple[int, int] = (1, 4),
                  size: tuple[float, float] = (0.2, 0.8), background: float | None = 0.0, seed: int = 0) -> Source:
    """Random flat shapes — ellipses, rectangles and triangles of random size, turn and grey level (colour) —
    painted over each other on a plain background: a procedural stand-in for the paper's rendered Clevr scenes.
    Unlimited.

    Args:
        count: (min, max) shapes per image.
        size: (min, max) extent of a shape as a fraction of the image side.
        background: the background's value in [0, 1], or None for a random grey per image.

    Raises ValueError for a bad ``count``, ``size`` or ``background``."""
    c, h, w = _check_shape(shape)
    if not 1 <= count[0] <= count[1]:
        raise ValueError(f"count must be (min, max) with 1 <= min <= max, got {count}")
    if not 0 < size[0] <= size[1] <= 1.5:
        raise ValueError(f"size must be (min, max) with 0 < min <= max <= 1.5, got {size}")
    if background is not None and not 0 <= background <= 1:
        raise ValueError(f"background must be in [0, 1] or None, got {background}")
    g = torch.Generator().manual_seed(seed)
    yy = torch.linspace(0, 1, h).view(1, h, 1)
    xx = torch.linspace(0, 1, w).view(1, 1, w)

    def draw(n: int) -> torch.Tensor:
        if background is None:
            x = torch.rand(n, c, 1, 1, generator=g).expand(n, c, h, w).clone()
        else:
            x = torch.full((n, c, h, w), float(background))
        k = torch.randint(count[0], count[1] + 1, (n,), generator=g)
        for i in range(count[1]):
            cy, cx = 0.2 + 0.6 * torch.rand(2, n, 1, 1, generator=g)
            a, b = (size[0] + (size[1] - size[0]) * torch.rand(2, n, 1, 1, generator=g)) / 2  # half-extents
            turn = math.pi * torch.rand(n, 1, 1, generator=g)
            u = (xx - cx) * turn.cos() + (yy - cy) * turn.sin()  # coordinates in the shape's frame
            v = (yy - cy) * turn.cos() - (xx - cx) * turn.sin()
            kind = torch.randint(3, (n, 1, 1), generator=g)
            ellipse = (u / a) ** 2 + (v / b) ** 2 < 1
            rectangle = (u.abs() < a) & (v.abs() < b)
            triangle = (v.abs() < b) & (u.abs() < a * (v + b) / (2 * b))
            inside = torch.where(kind == 0, ellipse, torch.where(kind == 1, rectangle, triangle))
            inside &= (k > i).view(n, 1, 1)
            x = torch.where(inside[:, None], 0.2 + 0.8 * torch.rand(n, c, 1, 1, generator=g), x)
        return x

    return Source("random shapes", draw)


# ------------------------------------------------------------------------------------------ offline natural images
SKIMAGE_PHOTOS = (
    "astronaut", "brick", "camera", "cat", "cell", "clock", "coffee", "coins", "colorwheel", "grass", "gravel",
    "hubble_deep_field", "immunohistochemistry", "microaneurysms", "moon", "page", "retina", "rocket", "text",
)
"""The photographs bundled inside scikit-image (``skimage.data``) that need no download."""


def bundled_photos() -> list[tuple[str, torch.Tensor]]:
    """The photographs that ship inside scikit-image (:data:`SKIMAGE_PHOTOS`) and scikit-learn
    (``load_sample_images``: a Chinese temple and a flower) — natural images available offline.

    Returns a list of ``(name, image)``, each image a float tensor (C, H, W) in [0, 1], C = 1 or 3 (alpha dropped).
    Raises ImportError naming the packages when scikit-image or scikit-learn is missing."""
    try:
        import skimage.data
        from sklearn.datasets import load_sample_images
    except ImportError as e:  # pragma: no cover - both are dependencies of the package
        raise ImportError("bundled_photos needs scikit-image and scikit-learn: pip install scikit-image "
                          "scikit-learn") from e

    def to_tensor(a) -> torch.Tensor:
        x = torch.from_numpy(np.array(a))  # a writable copy
        x = x.float() / 255.0 if x.dtype == torch.uint8 else x.float()
        x = x.unsqueeze(0) if x.ndim == 2 else x[..., :3].permute(2, 0, 1)
        return x.clamp(0, 1).contiguous()

    photos = [(name, to_tensor(getattr(skimage.data, name)())) for name in SKIMAGE_PHOTOS]
    sk = load_sample_images()
    photos += [(fn.rsplit("/", 1)[-1].split(".")[0], to_tensor(img)) for fn, img in zip(sk.filenames, sk.images)]
    return photos


def photo_patches(shape: Sequence[int] = (1, 32, 32), photos: Sequence[tuple[str, torch.Tensor]] | None = None,
                  scale: tuple[float, float] = (0.05, 0.5), seed: int = 0) -> Source:
    """Random square patches of photographs, resized to ``shape`` — the book's offline stand-in for the paper's
    natural datasets (SVHN, TinyImageNet). Each candidate picks a photo at random, a side of ``scale`` × the
    photo's shorter side (uniformly), a random position and a random horizontal flip; the patch is resampled
    with area averaging (``torchvision.ops.roi_align``). Unlimited, though the content is that of the photos.

    Args:
        photos: ``(name, (C, H, W) tensor in [0, 1])`` pairs; default :func:`bundled_photos`.
        scale: (min, max) side as a fraction of the photo's shorter side, 0 < min ≤ max ≤ 1.

    Raises ValueError for an empty photo list, a photo that is not (C, H, W) in [0, 1], or a bad ``scale``."""
    from torchvision.ops import roi_align

    c, h, w = _check_shape(shape)
    if not 0 < scale[0] <= scale[1] <= 1:
        raise ValueError(f"scale must be (min, max) with 0 < min <= max <= 1, got {scale}")
    photos = list(bundled_photos() if photos is None else photos)
    if not photos:
        raise ValueError("photo_patches needs at least one photo")
    pyramids = []  # per photo: the photo at 1, 1/2, 1/4, ... of its size (area-averaged), down to about shape
    for name, p in photos:
        if not isinstance(p, torch.Tensor) or p.ndim != 3 or p.min() < 0 or p.max() > 1:
            raise ValueError(f"photo {name!r} must be a (C, H, W) tensor in [0, 1]")
        level = adapt(p[None].float(), (c, *p.shape[-2:]))  # channels only; size stays
        levels = [level]
        while min(level.shape[-2:]) >= 4 * max(h, w):
            level = F.avg_pool2d(level, 2)
            levels.append(level)
        pyramids.append(levels)
    g = torch.Generator().manual_seed(seed)

    def draw(n: int) -> torch.Tensor:
        which = torch.randint(len(pyramids), (n,), generator=g)
        u = torch.rand(n, 3, generator=g)
        flip = torch.rand(n, generator=g) < 0.5
        out = torch.empty(n, c, h, w)
        for k in which.unique().tolist():
            idx = (which == k).nonzero().squeeze(1)
            ph, pw = pyramids[k][0].shape[-2:]
            side = (scale[0] + (scale[1] - scale[0]) * u[idx, 0]) * min(ph, pw)
            y0, x0 = u[idx, 1] * (ph - side), u[idx, 2] * (pw - side)
            # the pyramid level where the patch is 1-2× the output size, then bilinear 2×2 samples per pixel
            lvl = (side / max(h, w)).log2().floor().clamp(0, len(pyramids[k]) - 1).long()
            for level in lvl.unique().tolist():
                j = (lvl == level).nonzero().squeeze(1)
                f = 0.5**level
                boxes = torch.stack([torch.zeros(len(j)), x0[j] * f, y0[j] * f, (x0[j] + side[j]) * f,
                                     (y0[j] + side[j]) * f], 1)
                out[idx[j]] = roi_align(pyramids[k][level], boxes, output_size=(h, w), sampling_ratio=2,
                                        aligned=True)
        out[flip] = out[flip].flip(-1)
        return out.clamp(0, 1)

    return Source("photo patches", draw)


def digits(shape: Sequence[int] = (1, 32, 32), seed: int = 0) -> Source:
    """scikit-learn's bundled handwritten digits (1,797 images, 8 × 8, 17 grey levels), upsampled — an offline,
    far smaller stand-in for the paper's SVHN (digits that are not the teacher's classes). Finite (limit 1,797)."""
    from sklearn.datasets import load_digits

    x = torch.as_tensor(load_digits().images, dtype=torch.float32).unsqueeze(1) / 16.0
    return tensor_source(x, "sklearn digits", shape, seed=seed)


def faces(shape: Sequence[int] = (1, 32, 32), seed: int = 0) -> Source:
    """The 100 grey faces (25 × 25) of scikit-image's bundled Labeled-Faces-in-the-Wild subset (its other 100
    images are background crops, left out) — an offline stand-in for the paper's CelebA. Finite (limit 100)."""
    import skimage.data

    x = torch.as_tensor(skimage.data.lfw_subset()[:100], dtype=torch.float32).unsqueeze(1).clamp(0, 1)
    return tensor_source(x, "LFW faces", shape, seed=seed)


def torchvision_source(dataset: str, shape: Sequence[int] = (1, 32, 32), root: str | None = None,
                       seed: int = 0, **kwargs) -> Source:
    """Any image dataset of ``torchvision.datasets`` as a finite source (for readers online): e.g.
    ``torchvision_source("SVHN", split="train")`` or ``torchvision_source("MNIST", train=True)``. Images are
    converted to [0, 1] tensors and adapted to ``shape`` as they are drawn.

    Raises:
        ValueError: ``dataset`` is not a class of ``torchvision.datasets``.
        dfkd_book.data.DataUnavailableError: the dataset is not under ``root`` and could not be downloaded
            (offline); the message says how to provide it.
    """
    import torchvision
    from torchvision.transforms.v2 import functional as TF

    from .. import data

    cls = getattr(torchvision.datasets, dataset, None)
    if not isinstance(cls, type):
        raise ValueError(f"{dataset!r} is not a dataset class of torchvision.datasets")
    root = root or str(config.cache_dir("data"))
    try:
        ds = cls(root, download=True, **kwargs)
    except Exception as e:  # noqa: BLE001 — any failure here means the files are not there and not downloadable
        raise data.DataUnavailableError(
            f"torchvision.datasets.{dataset} is not under {root} and could not be downloaded "
            f"({type(e).__name__}: {e}). Connect to the internet once, or put its files under {root}.") from e
    order = torch.randperm(len(ds), generator=torch.Generator().manual_seed(seed))
    state = {"pos": 0}

    def draw(n: int) -> torch.Tensor:
        idx = order[state["pos"]:state["pos"] + n].tolist()
        state["pos"] += len(idx)
        if not idx:
            return torch.empty(0, *_check_shape(shape))
        imgs = [TF.to_dtype(TF.to_image(ds[i][0]), torch.float32, scale=True) for i in idx]
        return torch.cat([adapt(x[None], shape) for x in imgs])

    return Source(f"torchvision {dataset}", draw, limit=len(ds))


def tensor_source(images: torch.Tensor, name: str, shape: Sequence[int] = (1, 32, 32), shuffle: bool = True,
                  seed: int = 0) -> Source:
    """A finite source from a tensor of images (N, C', H', W') in [0, 1] (e.g. a torchvision dataset loaded with
    :func:`dfkd_book.data.load`), adapted to ``shape`` as it is drawn. ``limit`` = N."""
    shape = _check_shape(shape)
    if not isinstance(images, torch.Tensor) or images.ndim != 4:
        raise ValueError("images must be a (N, C, H, W) tensor")
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed)) if shuffle else \
        torch.arange(len(images))
    state = {"pos": 0}

    def draw(n: int) -> torch.Tensor:
        idx = order[state["pos"]:state["pos"] + n]
        state["pos"] += len(idx)
        return adapt(images[idx], shape)

    return Source(name, draw, limit=len(images))


FAMILIES = ("noise", "synthetic", "natural")
"""The paper's three families of arbitrary transfer sets (paper 001, Table 1)."""
BEYOND_FAMILIES = ("multi-scale noise", "all offline")
"""This book's families beyond the paper's: :func:`multiscale_noise`, and every offline source in one
Algorithm 1 (the natural family's, then the synthetic family's, then multi-scale noise)."""


def family(name: str, shape: Sequence[int] = (1, 32, 32), seed: int = 0) -> tuple[Source, list[Source]]:
    """One family of paper 001's Table 1 with this book's offline sources: ``(unbalanced source, balanced sources)``.

    ============ ============================== ================================================================
    family       unbalanced (paper → here)      balanced by Algorithm 1 (paper → here)
    ============ ============================== ================================================================
    noise        uniform noise                  uniform noise
    synthetic    Clevr → random shapes          Clevr + Mid-Air → random shapes, then dead leaves
    natural      SVHN → photo patches           SVHN + TinyImageNet → photo patches, then sklearn digits, LFW faces
    multi-scale  (beyond the paper)             multi-scale noise (:func:`multiscale_noise`)
    noise
    all offline  (beyond the paper)             photo patches, sklearn digits, LFW faces, random shapes, dead
                                                leaves, multi-scale noise, in this order
    ============ ============================== ================================================================

    Each call builds fresh sources (seeded from ``seed``), so the unbalanced and balanced sets never share images.
    Raises ValueError for an unknown family (the message lists :data:`FAMILIES` and :data:`BEYOND_FAMILIES`)."""
    if name == "multi-scale noise":
        return multiscale_noise(shape, seed=seed), [multiscale_noise(shape, seed=seed + 1)]
    if name == "all offline":
        return photo_patches(shape, seed=seed), (family("natural", shape, seed)[1] + family("synthetic", shape, seed)[1]
                                                 + family("multi-scale noise", shape, seed)[1])
    if name == "noise":
        return uniform_noise(shape, seed), [uniform_noise(shape, seed + 1)]
    if name == "synthetic":
        return random_shapes(shape, seed=seed), [random_shapes(shape, seed=seed + 1), dead_leaves(shape, seed=seed + 2)]
    if name == "natural":
        return photo_patches(shape, seed=seed), [photo_patches(shape, seed=seed + 1), digits(shape, seed),
                                                 faces(shape, seed)]
    raise ValueError(f"unknown family {name!r}; expected one of {FAMILIES + BEYOND_FAMILIES}")


@dataclass
class Balanced:
    """The result of :func:`balance`.

    Attributes:
        images: (M, C, H, W) the kept candidates, M ≤ n.
        labels: (M,) the teacher's predicted class of each (not used for distillation; for inspection).
        counts: (K,) kept per class; each ≤ the quota ``n // K``.
        quota: per-class quota.
        examined: candidates Algorithm 1 examined, in all — the one-at-a-time count: candidates after the one that
            filled the last open slot are not counted, even when the teacher classified them in the same batch.
        examined_per_source: ``{source name: candidates examined}``.
        kept_per_source: ``{source name: candidates kept}``.
        classified: candidates the teacher actually classified (≥ ``examined``: at most one batch more per source).
        seconds: wall time of the whole balancing (s).
    """

    images: torch.Tensor
    labels: torch.Tensor
    counts: torch.Tensor
    quota: int
    examined: int
    examined_per_source: dict = field(default_factory=dict)
    kept_per_source: dict = field(default_factory=dict)
    classified: int = 0
    seconds: float = 0.0

    @property
    def shortfall(self) -> torch.Tensor:
        """(K,) how many each class is short of its quota (all zeros when the set is full)."""
        return self.quota - self.counts

    @property
    def full(self) -> bool:
        return bool((self.shortfall == 0).all())

    @property
    def candidates_per_s(self) -> float:
        """Candidates the teacher classified per second of balancing."""
        return self.classified / self.seconds if self.seconds > 0 else float("nan")


def quota_keep(pred: torch.Tensor, room: torch.Tensor) -> torch.Tensor:
    """Algorithm 1's quota check for a whole batch at once: candidate ``i`` (in order) is kept when fewer than
    ``room[pred[i]]`` earlier candidates of the batch have the same predicted class — exactly what checking them
    one at a time against the counts would keep.

    Args: pred (B,) int64 predicted classes in [0, K); room (K,) int64 open slots per class (≥ 0).
    Returns (B,) bool. Raises ValueError for a class outside [0, K)."""
    if pred.numel() and (int(pred.min()) < 0 or int(pred.max()) >= len(room)):
        raise ValueError(f"predicted classes must be in [0, {len(room)}), got [{int(pred.min())}, {int(pred.max())}]")
    onehot = F.one_hot(pred, len(room))
    rank = (onehot.cumsum(0) * onehot).sum(1) - 1  # how many earlier candidates of the batch share the class
    return rank < room[pred]


@torch.no_grad()
def balance(teacher: nn.Module, sources: Sequence[Source], n: int, *, batch_size: int = 2048,
            max_candidates: int | None = None, device: torch.device | None = None) -> Balanced:
    """Algorithm 1 of paper 001: a target-class-balanced transfer set of ``n`` images from arbitrary sources.

    Sources are used in order. Each candidate is classified by the teacher and kept only if its predicted class
    has fewer than ``n // K`` kept so far; the algorithm stops as soon as every class is full, or when the sources
    are exhausted (finite sources) or ``max_candidates`` have been examined (each unlimited source may examine up
    to ``max_candidates``). A shortfall is reported in the result (``.shortfall``), never hidden.

    The teacher classifies full batches and the quota check is vectorised (:func:`quota_keep`); the kept set and
    the ``examined`` counts are those of the one-at-a-time algorithm on the same stream of candidates.

    Args:
        teacher: frozen classifier returning logits (B, K).
        sources: :class:`Source` objects, in order of preference.
        n: target size (≥ K); the quota per class is ``n // K``.
        batch_size: candidates per teacher call.
        max_candidates: per-source cap on examined candidates (default: 100 × n for unlimited sources).

    Returns:
        :class:`Balanced`.

    Raises:
        ValueError: no sources, n < K, or a source giving inputs of another shape than the teacher's, or values
            outside [0, 1].
    """
    if not sources:
        raise ValueError("balance needs at least one source")
    t0 = time.perf_counter()
    device = device or config.device()
    teacher = frozen_copy(teacher, device)  # channels-last: about 2× the forward throughput on a CPU
    shape = input_shape(teacher, None, device)
    cap = max_candidates if max_candidates is not None else 100 * n
    counts, quota = None, None
    kept_x, kept_y = [], []
    examined, classified, per_source, kept_source = 0, 0, {}, {}
    for src in sources:
        per_source.setdefault(src.name, 0)
        kept_source.setdefault(src.name, 0)
        seen = 0
        while seen < cap and not src.exhausted:
            if counts is not None and int((quota - counts).sum()) == 0:
                break
            x = src(min(batch_size, cap - seen))
            if len(x) == 0:
                break
            if tuple(x.shape[1:]) != shape or x.min() < 0 or x.max() > 1:
                raise ValueError(f"source {src.name!r} must give inputs (B, *{shape}) in [0, 1] (the teacher's "
                                 f"input shape); got shape {tuple(x.shape)}, range "
                                 f"[{float(x.min()):.3g}, {float(x.max()):.3g}]")
            z = logits(teacher, x, device=device)
            pred = z.argmax(1)
            classified += len(x)
            if counts is None:
                k = z.shape[1]
                if n < k:
                    raise ValueError(f"n must be at least the number of classes K = {k}, got {n}")
                quota = n // k
                counts = torch.zeros(k, dtype=torch.long)
            keep = quota_keep(pred, quota - counts)
            counts += torch.bincount(pred[keep], minlength=len(counts))
            used = len(x)
            if int((quota - counts).sum()) == 0:  # full: the one-at-a-time algorithm stopped at the last kept
                used = int(keep.nonzero().max()) + 1
            seen += used
            examined += used
            per_source[src.name] += used
            kept_x.append(x[keep])
            kept_y.append(pred[keep])
            kept_source[src.name] += int(keep.sum())
        if counts is not None and int((quota - counts).sum()) == 0:
            break
    if counts is None:
        raise ValueError("the sources gave no candidates at all")
    images = torch.cat(kept_x) if kept_x else torch.empty(0)
    labels = torch.cat(kept_y) if kept_y else torch.empty(0, dtype=torch.long)
    return Balanced(images, labels, counts, quota, examined, per_source, kept_source, classified,
                    round(time.perf_counter() - t0, 3))


def first(sources: Sequence[Source], n: int) -> torch.Tensor:
    """The first ``n`` candidates of ``sources`` in order, whatever the teacher calls them — the paper's
    unbalanced transfer sets. Returns (M, C, H, W), M = n unless the sources run dry.

    Raises ValueError for n < 1 or sources that give nothing."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    parts, got = [], 0
    for src in sources:
        while got < n and not src.exhausted:
            x = src(min(4096, n - got))
            if len(x) == 0:
                break
            parts.append(x)
            got += len(x)
    if not parts:
        raise ValueError("the sources gave no candidates at all")
    return torch.cat(parts)


@torch.no_grad()
def class_histogram(teacher: nn.Module, source: Source, n: int = 10_000, batch_size: int = 4096,
                    device: torch.device | None = None) -> torch.Tensor:
    """The teacher's predicted-class histogram on ``n`` candidates of ``source`` (paper 001, Fig. 2).

    Returns (K,) counts (int64). Raises ValueError for n < 1."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    device = device or config.device()
    teacher = frozen_copy(teacher, device)
    hist = None
    done = 0
    while done < n and not source.exhausted:
        x = source(min(batch_size, n - done))
        if len(x) == 0:
            break
        z = logits(teacher, x, device=device)
        h = torch.bincount(z.argmax(1), minlength=z.shape[1])
        hist = h if hist is None else hist + h
        done += len(x)
    if hist is None:
        raise ValueError(f"source {source.name!r} gave no candidates")
    return hist


# ------------------------------------------------------------------------------------------------- the method
class ArbitraryBalanced(StaticSet):
    """An arbitrary transfer set made target-class balanced by Algorithm 1 (Nayak et al. 2021), as a method of
    :func:`dfkd_book.distill`: balanced once, before the first student step, then distilled on.

    Args:
        sources: the arbitrary sources in order of preference — a family name of :data:`FAMILIES` (its balanced
            sources, :func:`family`, built for the teacher's input shape); a tuple of family names (each family
            balanced to ``n`` on its own, the sets concatenated: each is balanced, so the union is too); a list
            of :class:`Source`; or a callable ``(input shape, seed) -> list of Source``. For a teacher of
            vectors, ``"noise"`` gives uniform noise of its shape.
        n: target size of each family's set (≥ K). max_candidates: per-source cap (see :func:`balance`).
        balanced: False gives the paper's *unbalanced* baseline instead: the first ``n`` candidates of each
            family's unbalanced source (:func:`family`; of the sources in order, for sources given as a list or
            a callable), kept whatever the teacher calls them.

    After :func:`dfkd_book.distill`, ``.balanced`` maps each family (or ``"sources"``) to its :class:`Balanced`
    result (counts, shortfall, composition; empty for an unbalanced set), and ``.classes`` (N,) holds the
    teacher's predicted class of every image of the set. Raises ValueError for an unknown family or n < 1
    (others as :func:`balance`).
    """

    name = "arbitrary balanced set"
    kind = "arbitrary"

    def __init__(self, sources="noise", n: int = 8_000, *, max_candidates: int | None = None,
                 batch_size: int = 2048, balanced: bool = True):
        super().__init__()
        families = (sources,) if isinstance(sources, str) else sources
        self.families = tuple(families) if isinstance(families, tuple) or isinstance(sources, str) else None
        for fam in self.families or ():
            if fam not in FAMILIES + BEYOND_FAMILIES:
                raise ValueError(f"unknown family {fam!r}; expected one of {FAMILIES + BEYOND_FAMILIES}, a list of "
                                 "sources or a callable (shape, seed) -> sources")
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be an int >= 1, got {n!r}")
        self.sources, self.n, self.max_candidates, self.batch_size = sources, n, max_candidates, batch_size
        self.is_balanced = bool(balanced)
        self.balanced: dict[str, Balanced] = {}
        self.classes: torch.Tensor | None = None
        if self.families:
            self.name = ("balanced " if self.is_balanced else "unbalanced ") + " + ".join(self.families)

    def _family(self, fam: str, shape, seed: int) -> list[Source]:
        if len(shape) != 3:
            if fam == "noise":
                return [uniform_noise(shape, seed + 1)] if self.is_balanced else [uniform_noise(shape, seed)]
            raise ValueError(f"the {fam!r} family is made of images, but this teacher reads inputs of shape "
                             f"{shape}; use 'noise' or your own sources")
        unbalanced, balanced = family(fam, shape, seed)
        return balanced if self.is_balanced else [unbalanced]

    def make(self):
        shape, seed = self.ctx.input_shape, 0 if self.ctx.seed is None else self.ctx.seed
        if self.families:
            groups = {fam: self._family(fam, shape, seed) for fam in self.families}
        elif callable(self.sources):
            groups = {"sources": list(self.sources(shape, seed))}
        else:
            groups = {"sources": list(self.sources)}
        if not self.is_balanced:
            self.balanced = {}
            x = torch.cat([first(srcs, self.n) for srcs in groups.values()])
            self.classes = logits(self.ctx.teacher, x, device=self.ctx.device).argmax(1)  # no_grad inside
            return x, None
        self.balanced = {key: balance(self.ctx.teacher, srcs, self.n, batch_size=self.batch_size,
                                      max_candidates=self.max_candidates, device=self.ctx.device)
                         for key, srcs in groups.items()}
        self.classes = torch.cat([b.labels for b in self.balanced.values()])
        return torch.cat([b.images for b in self.balanced.values()]), None

    def composition(self) -> dict:
        """How the set was made, per family (or ``"sources"``): kept and examined per source, kept per class and
        the shortfall; for an unbalanced set, the teacher's classes of the whole set. Raises RuntimeError before
        the set is made."""
        if self.classes is None:
            raise RuntimeError("the set is not made yet: it is made by dfkd_book.distill, before the first step")
        if not self.is_balanced:
            k = int(self.classes.max()) + 1
            return {"unbalanced": {"counts": torch.bincount(self.classes, minlength=k).tolist(),
                                   "n": len(self.classes)}}
        return {fam: {"kept_per_source": b.kept_per_source, "examined_per_source": b.examined_per_source,
                      "classified": b.classified, "seconds": b.seconds, "candidates_per_s": round(
                          b.candidates_per_s), "counts": b.counts.tolist(), "shortfall": int(b.shortfall.sum())}
                for fam, b in self.balanced.items()}

    def settings(self) -> dict:
        src = list(self.families) if self.families else "custom sources"
        return {"sources": src, "n": self.n, "max_candidates": self.max_candidates, "balanced": self.is_balanced}
