"""Datasets as in-memory tensors in the book's input space: float images in [0, 1], shape (N, C, 32, 32).

``load(name, split)`` serves ``fashion-mnist``, ``mnist`` and ``cifar10`` through torchvision's dataset classes.
28×28 images are zero-padded to 32×32, as in ZSKD (Nayak et al., 2019, Sec. 4.1). Files are looked up, in order:

1. ``$DFKD_BOOK_DATA`` (a torchvision root: ``<root>/FashionMNIST/raw/...``),
2. ``~/.cache/dfkd_book/data`` (or ``$DFKD_BOOK_CACHE/data``),
3. the Debian package ``dataset-fashion-mnist`` (``/usr/share/datasets/fashion-mnist/*.gz``), decompressed into (2),
4. torchvision's download into (2) (needs the internet — Colab, Binder, a laptop).

If none works, :class:`DataUnavailableError` names every way to provide the data.
"""

from __future__ import annotations

import gzip
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch.utils.data import Dataset

from . import config

ENV_DATA = "DFKD_BOOK_DATA"
SPLITS = ("train", "test")

FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
MNIST_CLASSES = tuple(str(d) for d in range(10))
CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)


@dataclass(frozen=True)
class _Spec:
    torchvision_class: str  # attribute of torchvision.datasets
    folder: str  # torchvision's folder under the root
    channels: int
    classes: tuple[str, ...]
    raw_files: tuple[str, ...] = ()  # IDX files torchvision expects under <root>/<folder>/raw
    debian_package: str | None = None
    debian_dir: Path | None = None


_IDX = (
    "train-images-idx3-ubyte", "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
)

DATASETS: dict[str, _Spec] = {
    "fashion-mnist": _Spec(
        "FashionMNIST", "FashionMNIST", 1, FASHION_MNIST_CLASSES, _IDX,
        debian_package="dataset-fashion-mnist", debian_dir=Path("/usr/share/datasets/fashion-mnist"),
    ),
    "mnist": _Spec("MNIST", "MNIST", 1, MNIST_CLASSES, _IDX),
    "cifar10": _Spec("CIFAR10", "cifar-10-batches-py", 3, CIFAR10_CLASSES),
}


class DataUnavailableError(RuntimeError):
    """Raised when a dataset is in none of the places :func:`load` looks and cannot be downloaded."""


@dataclass
class ImageSet(Dataset):
    """A labelled image set held in memory.

    Attributes:
        images: float32 tensor (N, C, H, W), values in [0, 1].
        labels: int64 tensor (N,), values in ``range(len(classes))``.
        classes: class names, index = label.
        name: dataset name, e.g. ``"fashion-mnist/test"``.
    """

    images: torch.Tensor
    labels: torch.Tensor
    classes: tuple[str, ...] = field(default_factory=tuple)
    name: str = ""

    def __post_init__(self):
        if self.images.ndim != 4:
            raise ValueError(f"images must be (N, C, H, W); got shape {tuple(self.images.shape)}")
        if self.labels.shape != (self.images.shape[0],):
            raise ValueError(
                f"labels must be (N,) = ({self.images.shape[0]},); got shape {tuple(self.labels.shape)}"
            )

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, i):
        return self.images[i], self.labels[i]

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def subset(self, n: int, seed: int = 0, per_class: bool = False) -> ImageSet:
        """A random subset of ``n`` images (``per_class=True``: ``n`` images of each class)."""
        g = torch.Generator().manual_seed(seed)
        if per_class:
            idx = torch.cat([
                torch.nonzero(self.labels == c).flatten()[
                    torch.randperm(int((self.labels == c).sum()), generator=g)[:n]]
                for c in range(self.num_classes)
            ])
        else:
            idx = torch.randperm(len(self), generator=g)[:n]
        return ImageSet(self.images[idx], self.labels[idx], self.classes, f"{self.name}[{len(idx)}]")


def names() -> tuple[str, ...]:
    """The dataset names :func:`load` knows."""
    return tuple(DATASETS)


def _roots() -> list[Path]:
    roots = []
    if os.environ.get(ENV_DATA):
        roots.append(Path(os.environ[ENV_DATA]).expanduser())
    roots.append(config.cache_dir("data"))
    return roots


def _has_raw(root: Path, spec: _Spec) -> bool:
    """``root`` holds the files torchvision reads (IDX files decompressed: torchvision takes a folder of gzipped
    ones for missing)."""
    if spec.raw_files:
        raw = root / spec.folder / "raw"
        return all((raw / f).exists() for f in spec.raw_files)
    return (root / spec.folder).is_dir()


def _from_debian(spec: _Spec, root: Path) -> bool:
    """Decompress the Debian package's IDX files into ``root`` (atomically, file by file)."""
    if spec.debian_dir is None or not spec.debian_dir.is_dir():
        return False
    return _decompress(spec, spec.debian_dir, root)


def _decompress(spec: _Spec, src_dir: Path, root: Path) -> bool:
    """Decompress the gzipped IDX files in ``src_dir`` into ``root``'s raw folder (atomically, file by file);
    False when ``src_dir`` lacks any of them."""
    if not spec.raw_files:
        return False
    sources = [src_dir / (f + ".gz") for f in spec.raw_files]
    if not all(s.exists() for s in sources):
        return False
    raw = root / spec.folder / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for src in sources:
        dst = raw / src.name[: -len(".gz")]
        if dst.exists():
            continue
        with gzip.open(src, "rb") as fin:
            config.atomic_write(dst, lambda fout, fin=fin: shutil.copyfileobj(fin, fout))
    return True


def _torchvision(spec: _Spec, root: Path, train: bool, download: bool):
    import torchvision

    cls = getattr(torchvision.datasets, spec.torchvision_class)
    return cls(str(root), train=train, download=download)


def _download(spec: _Spec, root: Path, train: bool):
    """torchvision's download (needs the internet); separate so tests can simulate being offline."""
    return _torchvision(spec, root, train, download=True)


def _unavailable(name: str, spec: _Spec, tried: list[Path], reason: BaseException | None) -> DataUnavailableError:
    ways = [
        f"  - set ${ENV_DATA} to a torchvision root holding {spec.folder}/ (looked in: "
        + ", ".join(str(p) for p in tried) + ")",
    ]
    if spec.debian_package:
        ways.append(
            f"  - install the Debian package: apt-get install {spec.debian_package} "
            f"(files in {spec.debian_dir})"
        )
    ways.append(f"  - connect to the internet so torchvision.datasets.{spec.torchvision_class} can download it")
    why = f" (download failed: {type(reason).__name__}: {reason})" if reason else ""
    return DataUnavailableError(f"dataset {name!r} is not available offline{why}. Provide it one of these ways:\n"
                                + "\n".join(ways))


def _to_tensor(raw) -> torch.Tensor:
    x = torch.as_tensor(raw)
    if x.ndim == 3:  # (N, H, W) grayscale
        x = x.unsqueeze(1)
    elif x.ndim == 4 and x.shape[-1] in (1, 3):  # (N, H, W, C) from numpy
        x = x.permute(0, 3, 1, 2)
    x = x.float().div_(255.0)
    pad_h, pad_w = 32 - x.shape[-2], 32 - x.shape[-1]
    if pad_h or pad_w:
        from torchvision.transforms.v2 import functional as TF

        x = TF.pad(x, [pad_w // 2, pad_h // 2, pad_w - pad_w // 2, pad_h - pad_h // 2], fill=0.0)
    return x.contiguous()


def load(name: str, split: str = "train") -> ImageSet:
    """Load a dataset split as an :class:`ImageSet` of float images in [0, 1], shape (N, C, 32, 32).

    Args:
        name: one of :func:`names` — ``"fashion-mnist"``, ``"mnist"``, ``"cifar10"``.
        split: ``"train"`` or ``"test"``.

    Returns:
        ImageSet with ``images`` (N, C, 32, 32) float32 in [0, 1] (28×28 zero-padded to 32×32 as in ZSKD),
        ``labels`` (N,) int64 and the class names.

    Raises:
        ValueError: unknown ``name`` or ``split`` (the message lists the known ones).
        DataUnavailableError: the files are nowhere offline and the download failed; the message names
            ``$DFKD_BOOK_DATA``, the Debian package and torchvision's download.
    """
    key = check_name(name)
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    spec = DATASETS[key]
    train = split == "train"
    roots = _roots()
    ds = None
    for root in roots:
        if not _has_raw(root, spec) and _decompress(spec, root / spec.folder / "raw", roots[-1]):
            root = roots[-1]  # a root of gzipped IDX files only (a carried copy): decompressed into the cache
        if _has_raw(root, spec):
            ds = _torchvision(spec, root, train, download=False)
            break
    if ds is None and _from_debian(spec, roots[-1]):
        ds = _torchvision(spec, roots[-1], train, download=False)
    if ds is None:
        try:
            ds = _download(spec, roots[-1], train)
        except Exception as e:  # noqa: BLE001 — any failure to download means "offline" to the reader
            raise _unavailable(key, spec, roots, e) from e
    images = _to_tensor(ds.data)
    labels = torch.as_tensor(ds.targets, dtype=torch.long)
    return ImageSet(images, labels, spec.classes, f"{key}/{split}")


def channels(name: str) -> int:
    """Number of input channels of a dataset (1 for the MNIST family, 3 for CIFAR-10)."""
    return DATASETS[check_name(name)].channels


def classes(name: str) -> tuple[str, ...]:
    """Class names of a dataset, index = label."""
    return DATASETS[check_name(name)].classes


_ALIASES = {"fmnist": "fashion-mnist", "fashionmnist": "fashion-mnist", "cifar-10": "cifar10"}


def check_name(name: str) -> str:
    """Canonical dataset name (accepts ``FashionMNIST``, ``fmnist``, ``cifar-10``...)."""
    key = str(name).lower().replace("_", "-")
    key = _ALIASES.get(key, key)
    if key not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; known datasets: {', '.join(DATASETS)}")
    return key


def moons(n: int = 3_000, noise: float = 0.12, seed: int = 0, spread: float = 0.6) -> tuple[torch.Tensor, torch.Tensor]:
    """The 2-D toy of chapters 4 and 8: scikit-learn's two interleaved half-moons (``make_moons``), each coordinate
    centred and scaled to standard deviation ``spread`` (so the moons sit inside [−2, 2]²).

    Returns ``(points (n, 2) float32, labels (n,) int64 in {0, 1})``. Raises ValueError for n < 2 or noise < 0."""
    if not isinstance(n, int) or n < 2 or noise < 0:
        raise ValueError(f"n must be an int >= 2 and noise >= 0, got n={n!r}, noise={noise!r}")
    from sklearn.datasets import make_moons

    pts, lab = make_moons(n, noise=noise, random_state=seed)
    pts = torch.tensor(pts, dtype=torch.float32)
    return (pts - pts.mean(0)) / pts.std(0) * spread, torch.tensor(lab)
