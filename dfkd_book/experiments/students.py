"""What every study of the lab shares: a student protocol (:class:`Protocol`), the fixed validation split, a
class-balanced subset, and one student trained on a static transfer set (:func:`run_one`).

The lab selects on the **validation split** — 5,000 Fashion-MNIST training images held out of every transfer set
— and reports the test accuracy of the final student beside it, so no choice is made on the test set.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass

import torch

from .. import config, recipes, stats, zoo
from ..kd import evaluate
from ..loop import distill
from ..methods import TransferSet
from . import runner

DATASET = "fashion-mnist"
VALIDATION = 5_000


@dataclass(frozen=True)
class Protocol:
    """One student protocol: what :func:`dfkd_book.distill` gets besides the method (see
    :class:`dfkd_book.recipes.Student`, whose fields these are; ``warmup`` here is a fraction of the steps)."""

    steps: int = 10_000
    batch_size: int = 256
    lr: float = 1e-2
    optimizer: str = "adam"
    weight_decay: float = 0.0
    warmup: float = 0.0
    T: float = 20.0
    augment: str | None = "zskd"

    def student(self) -> recipes.Student:
        return recipes.Student(steps=self.steps, batch_size=self.batch_size, lr=self.lr, optimizer=self.optimizer,
                               weight_decay=self.weight_decay, warmup=int(self.warmup * self.steps), T=self.T,
                               augment=self.augment)

    def key(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


#: the yardstick's one protocol: the base optimiser with ZSKD's augmentation (the best augmentation on 1,000 real
#: images), 5,000 steps (on real data, 5k → 10k steps adds about half a point: 86.4 → 86.9 % on 1,000 images)
YARDSTICK_PROTOCOL = Protocol(steps=5_000, augment="zskd")




def validation_split(seed: int = 1234) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices of the Fashion-MNIST training set: ``(held-out validation (5,000), the rest (55,000))``, fixed."""
    perm = torch.randperm(60_000, generator=torch.Generator().manual_seed(seed))
    return perm[:VALIDATION], perm[VALIDATION:]


def balanced_subset(images: torch.Tensor, labels: torch.Tensor, n: int, seed: int = 0) -> torch.Tensor:
    """Indices of ``n`` images with (as nearly as possible) ``n / K`` of each class, drawn with ``seed``.

    Raises ValueError when ``n`` exceeds the images available or is < 1."""
    k = int(labels.max()) + 1
    if not 1 <= n <= len(labels):
        raise ValueError(f"n must be in [1, {len(labels)}], got {n}")
    g = torch.Generator().manual_seed(seed)
    per = [n // k + (1 if c < n % k else 0) for c in range(k)]
    idx = []
    for c in range(k):
        pool = torch.nonzero(labels == c).flatten()
        if per[c] > len(pool):
            raise ValueError(f"class {c} has {len(pool)} images, {per[c]} asked")
        idx.append(pool[torch.randperm(len(pool), generator=g)[:per[c]]])
    return torch.cat(idx)


def run_one(x: torch.Tensor, teacher_name: str, proto: Protocol, seed: int, val, test, device=None) -> dict:
    """One student trained on the static set ``x`` with ``proto``; returns final validation and test accuracy (%)
    and the validation curve."""
    teacher = zoo.teacher(teacher_name, DATASET)
    config.seed_everything(seed)
    student = zoo.student("lenet5half", DATASET)
    kw = proto.student().kwargs()
    kw["eval_every"] = max(proto.steps // 10, 1)
    t0 = time.perf_counter()
    res = distill(teacher, student, TransferSet(x), eval_set=val, seed=seed, device=device, progress=False, **kw)
    wall = time.perf_counter() - t0
    return {"val_acc": round(100 * res.history.final_acc, 2), "test_acc": round(100 * evaluate(res.student, test), 2),
            "device": runner.device_name(device), "threads": torch.get_num_threads(),
            "curve": {"step": res.history.step, "val_acc": [round(100 * a, 2) for a in res.history.test_acc]},
            "wall_s": round(wall, 1), "train_s": round(res.history.seconds, 1)}


def eval_sets():
    """``(validation images and labels, the test set)``: what a study's workers load once (a pool's ``init``)."""
    from .. import data

    train = data.load(DATASET, "train")
    val_idx, _ = validation_split()
    return (train.images[val_idx], train.labels[val_idx]), data.load(DATASET, "test")


def seed_stats(rs: list[dict]) -> dict:
    """Runs of one set and protocol from several seeds → ``seeds``, ``per_seed_test``, ``test_acc`` and
    ``test_acc_sd`` (mean and sample sd of the final test accuracy, %), ``val_acc`` (mean)."""
    v = [r["test_acc"] for r in rs]
    m, sd = stats.mean_sd(v)
    return {"seeds": len(v), "per_seed_test": v, "test_acc": round(m, 2), "test_acc_sd": round(sd, 2),
            "val_acc": round(sum(r["val_acc"] for r in rs) / len(rs), 2)}
