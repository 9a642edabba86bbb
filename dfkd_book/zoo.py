"""Pretrained teachers and fresh students.

``teacher(arch, dataset)`` returns a trained, frozen, eval-mode classifier:

* shipped weights (inside the package, ``dfkd_book/weights/``) for ``lenet5`` and ``lenet5bn`` on
  ``fashion-mnist``: loaded with ``torch.load(..., weights_only=True)`` after checking the sha256 recorded in
  ``weights/manifest.json``;
* any other (arch, dataset): never trained silently — :func:`teacher` raises :class:`WeightsMissingError` naming
  ``python -m dfkd_book.zoo train ARCH DATASET``; with ``train_if_missing=True`` it is trained once by the zoo's
  recipe and cached in ``~/.cache/dfkd_book/weights`` (atomic write, sha256 recorded beside it).

The shipped files are reproduced by ``python -m dfkd_book.zoo train lenet5 fashion-mnist`` (the recipe is in
:data:`RECIPES`; the command rewrites the file and its manifest entry, including its test accuracy and wall time).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import json
import math
import os
import time
from pathlib import Path

import torch
from torch import nn

from . import augment, config, data, kd, loop, models

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
MANIFEST_NAME = "manifest.json"

#: How every teacher is trained (cross-entropy on the full training split, Adam, cosine schedule). The ZSKD
#: appendix trained its LeNet-5 with Adam (lr 1e-3, batch 512) for 200 epochs; random flips (and, for the BN
#: teacher, which overfits more, 2-pixel shifts) let a CPU-sized budget reach the same accuracy.
RECIPES: dict[str, dict] = {
    "lenet5": dict(epochs=40, batch_size=256, lr=2e-3, weight_decay=0.0, augment="flip", seed=0),
    "lenet5bn": dict(epochs=40, batch_size=256, lr=2e-3, weight_decay=0.0, augment="flip-shift", seed=0),
    "lenet5half": dict(epochs=40, batch_size=256, lr=2e-3, weight_decay=0.0, augment="flip", seed=0),
    "alexnet": dict(epochs=60, batch_size=256, lr=1e-3, weight_decay=5e-4, augment="flip-shift", seed=0),
    "alexnethalf": dict(epochs=60, batch_size=256, lr=1e-3, weight_decay=5e-4, augment="flip-shift", seed=0),
}

#: The augmentations a recipe can name: random horizontal flips, optionally with 2-pixel shifts.
AUGMENTS = {None: lambda: None, "flip": lambda: augment.FlipShift(0, flip=True),
            "flip-shift": lambda: augment.FlipShift(2, flip=True)}


class WeightsIntegrityError(ValueError):
    """A weights file's sha256 does not match the recorded one (corrupted, truncated or replaced)."""


class WeightsMissingError(FileNotFoundError):
    """No shipped or cached weights for an (architecture, dataset) pair; the message names the command that
    trains them. :func:`teacher` never trains one silently."""


def _arch(arch: str) -> str:
    key = arch.lower().replace("-", "").replace("_", "")
    if key not in models.ARCHITECTURES:
        raise ValueError(f"unknown architecture {arch!r}; known: {', '.join(models.ARCHITECTURES)}")
    return key


def _key(arch: str, dataset: str) -> str:
    return f"{_arch(arch)}-{data.check_name(dataset)}"


def sha256(path: str | os.PathLike) -> str:
    """Hex sha256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def save_weights(model: nn.Module, path: str | os.PathLike) -> str:
    """Atomically save ``model.state_dict()`` (on the CPU, contiguous: the file does not depend on the weights'
    memory layout, :func:`dfkd_book.models.channels_last`) to ``path``; return its sha256."""
    state = {k: v.detach().cpu().clone(memory_format=torch.contiguous_format) for k, v in model.state_dict().items()}
    config.atomic_write(path, lambda f: torch.save(state, f))
    return sha256(path)


def load_weights(model: nn.Module, path: str | os.PathLike, expected_sha256: str) -> nn.Module:
    """Check ``path``'s sha256 against ``expected_sha256``, then load it with ``weights_only=True``.

    Raises:
        FileNotFoundError: no file at ``path``.
        WeightsIntegrityError: the sha256 does not match.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"weights file {path} does not exist")
    actual = sha256(path)
    if actual != expected_sha256:
        raise WeightsIntegrityError(
            f"sha256 of {path} does not match: expected {expected_sha256}, got {actual}. The file is corrupted or "
            "was replaced; reinstall dfkd-book, or retrain it with `python -m dfkd_book.zoo train ARCH DATASET`."
        )
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return model


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def _write_json(path: Path, obj: dict) -> None:
    config.atomic_write(path, lambda f: f.write((json.dumps(obj, indent=2, sort_keys=True) + "\n").encode()))


def manifest() -> dict:
    """The shipped weights: ``{"lenet5-fashion-mnist": {"file", "sha256", "test_acc", "train_seconds", ...}}``."""
    return _read_json(WEIGHTS_DIR / MANIFEST_NAME)


def _freeze(model: nn.Module) -> nn.Module:
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def student(arch: str = "lenet5half", dataset: str = "fashion-mnist") -> nn.Module:
    """A fresh, randomly initialised student with the dataset's channels and number of classes, on the device."""
    name = data.check_name(dataset)
    return models.build(arch, data.channels(name), len(data.classes(name))).to(config.device())


def moons_teacher(seed: int = 0, steps: int = 700) -> tuple[nn.Module, tuple[torch.Tensor, torch.Tensor]]:
    """The teacher of the 2-D toys of chapters 4 and 8: an MLP (2 → 64 → 64 → 2) trained with cross-entropy on
    :func:`dfkd_book.data.moons` (3,000 points inside [−2, 2]²), Adam 10⁻², batch 128, ``steps`` steps, seeded by
    ``seed`` (initialisation and batches), so each chapter gets the same teacher.

    Returns ``(teacher, (points (3000, 2), labels (3000,)))``, the teacher frozen in eval mode on the device; its
    accuracy on the points is ≈ 99 %. Raises ValueError for steps < 1."""
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    pts, lab = data.moons()
    config.seed_everything(seed)
    teacher = models.MLP(2, (64, 64), 2)
    loop.train(teacher, (pts, lab), steps=steps, batch_size=128, lr=1e-2, seed=seed, progress=False)
    return _freeze(teacher), (pts, lab)


def train_teacher(arch: str, dataset: str, path: str | os.PathLike, progress: bool = True) -> dict:
    """Train ``arch`` on ``dataset`` by :data:`RECIPES` and save it atomically to ``path``.

    Returns:
        a record: file name, sha256, test accuracy in [0, 1], training wall seconds, recipe, device, versions, date.
    """
    arch, name = _arch(arch), data.check_name(dataset)
    recipe = RECIPES[arch]
    train_set, test_set = data.load(name, "train"), data.load(name, "test")
    config.seed_everything(recipe["seed"])  # seeds the initialisation too, so the command reproduces the file
    model = models.build(arch, data.channels(name), len(data.classes(name)))
    aug = AUGMENTS[recipe["augment"]]()
    t0 = time.perf_counter()
    steps = recipe["epochs"] * math.ceil(len(train_set) / recipe["batch_size"])
    hist = loop.train(model, train_set, steps=steps, batch_size=recipe["batch_size"], lr=recipe["lr"],
                    weight_decay=recipe["weight_decay"], augment=aug, seed=recipe["seed"], progress=progress,
                    name=f"train {arch} on {name}")
    seconds = time.perf_counter() - t0
    acc = kd.evaluate(model, test_set)
    digest = save_weights(model, path)
    return {
        "file": Path(path).name, "sha256": digest, "test_acc": round(acc, 6), "train_seconds": round(seconds, 1),
        "final_train_loss": round(hist.loss[-1], 6), "recipe": recipe, "device": str(config.device()),
        "threads": torch.get_num_threads(), "torch": torch.__version__,
        "date": _dt.date.today().isoformat(), "parameters": models.count_parameters(model),
    }


def teacher(arch: str = "lenet5", dataset: str = "fashion-mnist", train_if_missing: bool = False,
            progress: bool = True) -> nn.Module:
    """A pretrained, frozen, eval-mode teacher on :func:`config.device`.

    Shipped weights are sha256-checked and loaded with ``weights_only=True``; so are weights cached in
    ``~/.cache/dfkd_book/weights`` (or ``$DFKD_BOOK_CACHE/weights``). A teacher is never trained silently: for a
    pair with neither, the error names the command that trains it (``python -m dfkd_book.zoo train ARCH DATASET``,
    which ships the file in ``dfkd_book/weights/``); with ``train_if_missing=True`` it is trained here by
    :data:`RECIPES` and cached (atomic write) — minutes to hours on a CPU.

    Raises:
        ValueError: unknown ``arch`` or ``dataset``.
        WeightsIntegrityError: a shipped or cached file's sha256 does not match its record.
        WeightsMissingError (a FileNotFoundError): not shipped, not cached, and ``train_if_missing`` is False.
    """
    key = _key(arch, dataset)
    name = data.check_name(dataset)
    model = models.build(arch, data.channels(name), len(data.classes(name)))
    shipped = manifest().get(key)
    if shipped is not None:
        load_weights(model, WEIGHTS_DIR / shipped["file"], shipped["sha256"])
        return _freeze(model).to(config.device())
    cache = config.cache_dir("weights")
    path, record_path = cache / f"{key}.pt", cache / f"{key}.json"
    record = _read_json(record_path)
    if not (path.exists() and record.get("sha256")):
        recipe = RECIPES[_arch(arch)]
        if not train_if_missing:
            raise WeightsMissingError(
                f"no shipped or cached weights for {key} (looked in {WEIGHTS_DIR} and {cache}). Train the teacher "
                f"once with `python -m dfkd_book.zoo train {_arch(arch)} {name}` ({recipe['epochs']} epochs by "
                f"the zoo recipe; it ships the file in {WEIGHTS_DIR}), or call "
                f"teacher({arch!r}, {dataset!r}, train_if_missing=True) to train and cache it here.")
        print(f"No weights for {key} yet: training it once by the zoo recipe {recipe} (cached in {cache}), as "
              "asked by train_if_missing=True.")
        record = train_teacher(arch, name, path, progress=progress)
        _write_json(record_path, record)
    load_weights(model, path, record["sha256"])
    return _freeze(model).to(config.device())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dfkd_book.zoo", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p_train = sub.add_parser("train", help="train a teacher by the recipe and ship it in dfkd_book/weights/")
    p_train.add_argument("arch", choices=sorted(models.ARCHITECTURES))
    p_train.add_argument("dataset", choices=data.names())
    sub.add_parser("list", help="list the shipped weights")
    sub.add_parser("verify", help="check every shipped file's sha256 and test accuracy")
    args = parser.parse_args(argv)
    if args.cmd == "train":
        key = _key(args.arch, args.dataset)
        record = train_teacher(args.arch, args.dataset, WEIGHTS_DIR / f"{key}.pt")
        entries = manifest()
        entries[key] = record
        _write_json(WEIGHTS_DIR / MANIFEST_NAME, entries)
        print(json.dumps({key: record}, indent=2))
    elif args.cmd == "list":
        for key, rec in manifest().items():
            print(f"{key:28s} test acc {rec['test_acc']:.4f}  trained in {rec['train_seconds']:.0f} s  "
                  f"sha256 {rec['sha256'][:16]}…")
    else:
        for key, rec in manifest().items():
            arch, dataset = key.split("-", 1)
            acc = kd.evaluate(teacher(arch, dataset, train_if_missing=False), data.load(dataset, "test"))
            print(f"{key:28s} sha256 ok  test acc {acc:.4f} (recorded {rec['test_acc']:.4f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
