"""The active profile, the device, seeding and cache locations.

Every chapter states its budgets through :func:`pick`, so one environment variable switches the whole book
between a CI-sized preview and the published run::

    DFKD_BOOK_PROFILE=quick      # each chapter < 2 min on a 2-core CPU (CI, previews)
    DFKD_BOOK_PROFILE=workshop   # a room's budget: the full students, cheaper where measured as close
    DFKD_BOOK_PROFILE=full       # default: what the published book shows

A ``workshop`` budget differs from ``full`` only where a recipe gives one (``pick(..., workshop=...)``), chosen on
the validation split to keep the student within 3 points of full; everywhere else it is the full budget.
Paper-scale budgets are reached by passing arguments, not by another profile.
"""

from __future__ import annotations

import os
import platform
import random
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, TypeVar

import numpy as np
import torch

#: the repository checkout this package runs from (results/, README.md, the notebooks)
REPO_ROOT = Path(__file__).resolve().parent.parent
#: the benchmark records: ``dfkd_book/results`` is a link to the repository's ``results/`` in a checkout and a
#: copy of it in an installed package (package data), so chapter 7 and the appendix read them after a pip install
RESULTS = Path(__file__).resolve().parent / "results"

PROFILES = ("quick", "workshop", "full")
DEFAULT_PROFILE = "full"
ENV_PROFILE = "DFKD_BOOK_PROFILE"
ENV_CACHE = "DFKD_BOOK_CACHE"
ENV_DEVICE = "DFKD_BOOK_DEVICE"

T = TypeVar("T")
#: ``pick``'s default for ``workshop``: the full budget
_FULL: object = object()


def profile() -> str:
    """Return the active profile, read from ``$DFKD_BOOK_PROFILE`` (default ``"full"``).

    Raises:
        ValueError: if the variable holds anything but one of :data:`PROFILES`.
    """
    value = os.environ.get(ENV_PROFILE, DEFAULT_PROFILE).strip().lower() or DEFAULT_PROFILE
    if value not in PROFILES:
        raise ValueError(
            f"{ENV_PROFILE}={os.environ.get(ENV_PROFILE)!r} is not a profile; expected one of {PROFILES} "
            f"(unset means {DEFAULT_PROFILE!r})"
        )
    return value


def pick(*, quick: T, full: T, workshop: T = _FULL, at: str | None = None) -> T:
    """Return ``quick``, ``workshop`` or ``full`` according to the profile ``at`` (default: the active one,
    :func:`profile`); ``workshop`` defaults to ``full`` (the workshop profile departs from the full one only where a
    budget says so).

    Example: ``steps = pick(quick=100, full=20_000, workshop=10_000)``.

    Raises:
        ValueError: if ``$DFKD_BOOK_PROFILE`` (or ``at``) is not one of :data:`PROFILES`.
    """
    active = profile() if at is None else at
    if active not in PROFILES:
        raise ValueError(f"profile must be one of {PROFILES}, got {at!r}")
    if active == "quick":
        return quick
    return workshop if active == "workshop" and workshop is not _FULL else full


def device() -> torch.device:
    """The device every chapter runs on: ``$DFKD_BOOK_DEVICE`` if set, else CUDA when present, else CPU."""
    forced = os.environ.get(ENV_DEVICE)
    if forced:
        return torch.device(forced)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


#: inputs per forward pass of inference on a CPU: small enough for a LeNet's activations to stay in cache (the
#: LeNet-5 teacher on 2,048 noise candidates, one thread of a 2-core machine: 11,500 candidates/s against 6,000
#: in chunks of 4,096)
CPU_INFERENCE_BATCH = 512
#: inputs per forward pass of inference on a GPU
GPU_INFERENCE_BATCH = 4096


def inference_batch(dev: torch.device | str | None = None) -> int:
    """Inputs per forward pass when a model only infers (:func:`dfkd_book.kd.logits`): :data:`CPU_INFERENCE_BATCH`
    on a CPU, :data:`GPU_INFERENCE_BATCH` elsewhere. ``dev``: the device (default :func:`device`)."""
    dev = torch.device(dev) if dev is not None else device()
    return CPU_INFERENCE_BATCH if dev.type == "cpu" else GPU_INFERENCE_BATCH


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and PyTorch (CPU and CUDA) and return a ``torch.Generator`` seeded with ``seed``.

    Raises:
        TypeError: if ``seed`` is not an ``int``.
    """
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)
    return torch.Generator().manual_seed(seed)


def cache_dir(*parts: str) -> Path:
    """A directory under the dfkd-book cache (``$DFKD_BOOK_CACHE``, default ``~/.cache/dfkd_book``), created."""
    root = Path(os.environ.get(ENV_CACHE) or Path.home() / ".cache" / "dfkd_book")
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], object]) -> Path:
    """Write a file atomically: ``write(f)`` fills a temporary file beside ``path``, which then replaces ``path``
    (mode 0644). A failure leaves neither a half-written ``path`` nor the temporary file behind.

    Used for every cache, weights file and benchmark record the book writes.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def describe() -> dict:
    """Print (and return) the profile, device and library versions — the first output of every chapter."""
    import torchvision

    dev = device()
    info = {
        "profile": profile(),
        "device": str(dev) + (f" ({torch.cuda.get_device_name(dev)})" if dev.type == "cuda" else ""),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "python": platform.python_version(),
    }
    print("  ".join(f"{k}: {v}" for k, v in info.items()))
    return info
