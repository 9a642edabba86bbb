"""Arbitrary image sources: candidates for an arbitrary transfer set, in the teacher's input space.

Source: Nayak et al., *Effectiveness of Arbitrary Transfer Sets for Data-free Knowledge Distillation*, WACV 2021
(paper 001 in ``../shared/papers``), Sec. 4 and Table 1: noise, procedural pictures and unrelated natural images
can all serve as a transfer set. This module holds the **sources** (the offline stand-ins of the paper's datasets
named in :func:`family`); :mod:`dfkd_book.methods.arbitrary` balances them by the teacher's classes (Algorithm 1).

A **source** is a callable ``source(n) -> (n, C, H, W)`` tensor in [0, 1] in the teacher's input space, with a
``name`` and an optional ``limit`` (the most candidates it can give; ``None`` for generators that never run dry).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from . import config


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

    from . import data

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
