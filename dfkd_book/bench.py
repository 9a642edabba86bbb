"""The benchmark runner: ``python -m dfkd_book.bench METHOD`` runs one method end to end with the active profile
and writes ``results/METHOD.json``; ``python -m dfkd_book.bench all [--only M ...] [--skip M ...]`` runs them in
turn (a failing method is reported, the others still run) and writes ``results/bench-all.json``.

Speed and accuracy targets are benchmarks, measured here and recorded in ``results/``, never timed tests.
Chapters add their methods to :data:`METHODS`. Every record carries: method, dataset, teacher, student,
teacher_acc, student_acc (in %), wall_s, device, profile, torch / torchvision versions, git commit, date.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import subprocess
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import torch

from . import config, data, kd, zoo

REPO_ROOT = config.REPO_ROOT


def kd_real_recipe() -> dict:
    """Student-KD on real data (chapter 1 and ``bench kd-real``): LeNet-5 → LeNet-5-Half on the full
    Fashion-MNIST training set, the pure distillation term (ZSKD eq. 4) at τ = 4, Adam (lr 5e-3) with a cosine
    schedule, batch 256, 30 epochs (quick: 2). No augmentation: the frozen teacher's soft targets are computed once.
    """
    return dict(epochs=config.pick(quick=2, full=30), batch_size=256, lr=5e-3, T=4.0, lam=0.0)


def zskd_recipe() -> dict:
    """ZSKD (chapter 2 and ``bench zskd``): data impressions from the shipped LeNet-5, distilled into LeNet-5-Half.

    ``craft``: ``n`` impressions (quick 2,000; full 8,000), Dirichlet targets with β ∈ {1.0, 0.1} half each, τ = 20,
    ``steps`` Adam steps on the pixels (quick 100 at lr 0.02; full 150 at lr 0.01), starting from uniform noise in
    [0, 0.1]; the teacher sees a copy jittered by ≤ 2 px and flipped at random, and (full profile) turned by a
    small random affine map per impression (±15°, ±10 % shift, 90–110 % scale) — this book's choices, measured
    against the paper's way in chapter 2. (On the quick profile's 100 steps the affine view did not converge.)
    ``distill``: the pure distillation term at τ = 20, Adam lr 0.01 with a cosine schedule, batch 256, epochs
    (quick 20; full 40), with ZSKD augmentation and the teacher re-labelling every augmented batch.
    """
    return dict(
        craft=dict(n=config.pick(quick=2_000, full=8_000), steps=config.pick(quick=100, full=150),
                   lr=config.pick(quick=0.02, full=0.01), T=20.0,
                   betas=(1.0, 0.1), init_range=(0.0, 0.1), jitter=2,
                   view_affine=config.pick(quick=None, full=dict(degrees=15.0, translate=0.1, scale=(0.9, 1.1)))),
        distill=dict(epochs=config.pick(quick=20, full=40), batch_size=256, lr=1e-2, T=20.0),
        augment=dict(p=0.5),
    )


def arbitrary_recipe() -> dict:
    """Arbitrary transfer sets (chapter 3, ``bench arbitrary-noise`` and ``bench arbitrary-best``).

    ``n`` images per transfer set (quick 1,500; full 8,000), balanced by Algorithm 1 with at most ``cap``
    candidates examined per unlimited source (quick 20,000; full 200,000). ``best``: the union of the balanced
    synthetic and natural sets (each balanced, so the union is too). ``distill``: the pure distillation term at
    τ = 20, Adam lr 0.01 with a cosine schedule, batch 256, epochs (quick 20; full 25), with ZSKD augmentation
    (``augment``) and the teacher re-labelling every augmented batch — the same student recipe as chapter 2.
    """
    return dict(
        n=config.pick(quick=1_500, full=8_000),
        cap=config.pick(quick=20_000, full=200_000),
        best=("synthetic", "natural"),
        distill=dict(epochs=config.pick(quick=20, full=25), batch_size=256, lr=1e-2, T=20.0),
        augment=dict(p=0.5),
    )


def adversarial_recipe() -> dict:
    """Adversarial distillation and the MTE (chapter 4, ``bench adversarial`` and ``bench mte``).

    ``zskt`` and ``dfad``: keyword arguments of :func:`dfkd_book.adversarial.adversarial_distill` (each game's
    official step ratio, optimisers and learning rates from :data:`~dfkd_book.adversarial.DEFAULTS`) plus the
    generator ``width`` (official 128; 32 here, which a CPU can afford) and a budget in outer steps. ZSKT adds
    attention transfer after both ReLU-ed convolutions. ``few_shot``: the baseline the paper compares MTE with,
    a student distilled (τ = 4) from ``per_class`` real training images per class, shown over and over with ZSKD
    augmentation. ``full_kd``: a student distilled from the whole training set (quick: ``images`` of it) by
    chapter 1's recipe (:func:`kd_real_recipe`) with fewer epochs. ``mte``: the walk of the mean transition
    error on ``n`` test images the two nets agree on (``bench mte`` uses ``bench_n``).
    """
    at = [("features.relu1", "features.relu1"), ("features.relu2", "features.relu2")]
    return dict(
        zskt=dict(game="zskt", iterations=config.pick(quick=30, full=500), batch_size=128, width=32,
                  attention_layers=at),
        dfad=dict(game="dfad", iterations=config.pick(quick=10, full=200), batch_size=128, width=32),
        few_shot=dict(per_class=10, epochs=config.pick(quick=40, full=200), batch_size=100, lr=5e-3, T=4.0),
        full_kd=dict(images=config.pick(quick=10_000, full=60_000), epochs=config.pick(quick=1, full=3),
                     batch_size=256, lr=5e-3, T=4.0, lam=0.0),
        mte=dict(n=config.pick(quick=20, full=200), steps=100, lr=1.0),
        bench_n=config.pick(quick=100, full=1_000),
    )


def git_commit() -> str:
    """The repository's HEAD commit (``+dirty`` when the tree has uncommitted changes), or ``"unknown"``."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True,
                              check=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO_ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return head + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def environment() -> dict:
    """Where a number was measured: device, threads, profile, versions, commit, date."""
    import torchvision

    dev = config.device()
    return {
        "device": str(dev) + (f" ({torch.cuda.get_device_name(dev)})" if dev.type == "cuda" else ""),
        "cpu_count": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "profile": config.profile(),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "python": platform.python_version(),
        "git_commit": git_commit(),
        "date": _now(),
    }


def _now() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _history(hist) -> dict:
    """A training curve for a record: epochs (or outer steps), test accuracy in %, cumulative wall seconds."""
    steps = {"epoch": hist.epoch} if hasattr(hist, "epoch") else {"iteration": hist.iteration}
    return {**steps, "test_acc": [round(100 * a, 2) for a in hist.test_acc],
            "wall_s": [round(w, 1) for w in hist.wall_s]}


def _student_record(teacher, student, test, hist, wall: float, **fields) -> dict:
    """The fields every student record shares: the benchmark pair, both accuracies (%), wall time, history."""
    return {
        "dataset": "fashion-mnist", "teacher": "lenet5", "student": "lenet5half",
        "teacher_acc": round(100 * kd.evaluate(teacher, test), 2),
        "student_acc": round(100 * kd.evaluate(student, test), 2),
        "wall_s": round(wall, 1),
        **fields,
        "history": _history(hist),
    }


def kd_real() -> dict:
    """Student-KD on real data: the ceiling every data-free method is compared against."""
    dataset = "fashion-mnist"
    train, test = data.load(dataset, "train"), data.load(dataset, "test")
    teacher = zoo.teacher("lenet5", dataset)
    config.seed_everything(0)
    student = zoo.student("lenet5half", dataset)
    recipe = kd_real_recipe()
    t0 = time.perf_counter()
    hist = kd.distill(student, teacher, train, eval_set=test, seed=0, name="Student-KD (real data)", **recipe)
    wall = time.perf_counter() - t0
    return _student_record(
        teacher, student, test, hist, wall, transfer_set=f"{dataset} train ({len(train)} images)", recipe=recipe,
        transfer_samples=len(train), transfer_kind="real",
        paper={"source": "Nayak et al. 2019, Table 2", "teacher_acc": 90.84, "student_ce_acc": 89.43,
               "student_kd_acc": 89.66, "published": 89.66, "setting": "Fashion-MNIST, real training set"})


def zskd() -> dict:
    """ZSKD: craft data impressions (Nayak et al. 2019, eq. 3), then distil on them with augmentation."""
    from . import augment, impressions

    dataset = "fashion-mnist"
    test = data.load(dataset, "test")
    teacher = zoo.teacher("lenet5", dataset)
    recipe = zskd_recipe()
    craft = dict(recipe["craft"])
    n = craft.pop("n")
    t0 = time.perf_counter()
    di = impressions.data_impressions(teacher, n, (data.channels(dataset), 32, 32), seed=0, **craft)
    config.seed_everything(0)
    student = zoo.student("lenet5half", dataset)
    hist = kd.distill(student, teacher, di.images, augment=augment.ZSKDAugmentation(**recipe["augment"]),
                      eval_set=test, seed=0, name="ZSKD student", **recipe["distill"])
    wall = time.perf_counter() - t0
    return _student_record(
        teacher, student, test, hist, wall, transfer_set=f"{n} data impressions", impressions=n,
        transfer_samples=n, transfer_kind="synthetic",
        steps_per_impression=di.steps, impression_steps=di.impression_steps, crafting_s=round(di.seconds, 1),
        distillation_s=round(hist.seconds, 1), recipe=recipe,
        paper={"source": "Nayak et al. 2019, Tables 2 and 6", "teacher_acc": 90.84, "student_acc": 79.62,
               "student_acc_without_augmentation": 69.37, "impressions": 48_000, "steps_per_impression": 1500,
               "published": 79.62, "setting": "Fashion-MNIST, 48,000 data impressions"})


def _arbitrary(families: tuple[str, ...], name: str, published: dict) -> dict:
    """Balance each family's sources by Algorithm 1 (paper 001), concatenate, distil with augmentation."""
    from . import arbitrary, augment

    dataset = "fashion-mnist"
    test = data.load(dataset, "test")
    teacher = zoo.teacher("lenet5", dataset)
    recipe = arbitrary_recipe()
    shape = (data.channels(dataset), 32, 32)
    t0 = time.perf_counter()
    sets = {}
    for fam in families:
        b = arbitrary.balance(teacher, arbitrary.family(fam, shape, seed=0)[1], recipe["n"],
                              max_candidates=recipe["cap"])
        sets[fam] = b
    balancing_s = time.perf_counter() - t0
    transfer = torch.cat([b.images for b in sets.values()])
    config.seed_everything(0)
    student = zoo.student("lenet5half", dataset)
    hist = kd.distill(student, teacher, transfer, augment=augment.ZSKDAugmentation(**recipe["augment"]),
                      eval_set=test, seed=0, name=name, **recipe["distill"])
    wall = time.perf_counter() - t0
    composition = {fam: {"kept_per_source": b.kept_per_source, "examined_per_source": b.examined_per_source,
                         "counts": b.counts.tolist(), "shortfall": int(b.shortfall.sum())} for fam, b in sets.items()}
    return _student_record(
        teacher, student, test, hist, wall, transfer_set=f"{len(transfer)} arbitrary images, balanced: "
        + " + ".join(families), transfer_size=len(transfer), composition=composition,
        transfer_samples=len(transfer), transfer_kind="arbitrary",
        examined=sum(b.examined for b in sets.values()), balancing_s=round(balancing_s, 1),
        distillation_s=round(hist.seconds, 1), recipe=recipe,
        paper={"source": "Nayak et al. 2021 (WACV), Tables 1 and 2", "teacher_acc": 90.84,
               "balanced_noise_with_augmentation": 74.33, "svhn_tinyimagenet_with_augmentation": 84.75,
               **published})


def arbitrary_noise() -> dict:
    """Balanced uniform noise + augmentation (paper 001, Table 1: 74.33 % on Fashion-MNIST)."""
    return _arbitrary(("noise",), "balanced uniform noise",
                      {"published": 74.33, "setting": "Fashion-MNIST, balanced uniform noise + augmentation"})


def arbitrary_best() -> dict:
    """The best offline combination of chapter 3 (:func:`arbitrary_recipe` ``best``), + augmentation."""
    return _arbitrary(tuple(arbitrary_recipe()["best"]), "best offline combination",
                      {"published": 84.75, "setting": "Fashion-MNIST, SVHN + TinyImageNet (balanced) + augmentation"})


def adversarial_game(game: str, teacher, test, progress: bool = True):
    """One adversarial game of :func:`adversarial_recipe` on Fashion-MNIST, seeded (seed 0): a fresh LeNet-5-Half
    student and generator. Returns ``(student, history)``."""
    from . import adversarial, models

    kwargs = dict(adversarial_recipe()[game])
    width = kwargs.pop("width")
    config.seed_everything(0)
    student = zoo.student("lenet5half")
    generator = models.GENERATORS[game]((data.channels("fashion-mnist"), 32, 32), width=width)
    hist = adversarial.adversarial_distill(student, teacher, generator, eval_set=test, seed=0, progress=progress,
                                           eval_every=max(kwargs["iterations"] // 10, 1), **kwargs)
    return student, hist


_ADVERSARIAL_PAPER = {"source": "Micaelli & Storkey 2019 (ZSKT); Fang et al. 2019 (DFAD)", "teacher_acc": 90.84,
                      "dfad_mnist_student_acc": 98.3, "note": "no published Fashion-MNIST number for either game",
                      "published": 98.3, "setting": "MNIST (DFAD); no Fashion-MNIST number"}


def _generated(game: str, iterations: int) -> int:
    """How many distinct generated images the student of a game saw: ZSKT trains on one batch per outer step (the
    same z through the updated generator), DFAD draws a fresh batch for each of its student steps."""
    from . import adversarial

    batch = adversarial_recipe()[game]["batch_size"]
    return iterations * batch * (adversarial.DEFAULTS[game]["s_steps"] if game == "dfad" else 1)


def adversarial() -> dict:
    """ZSKT and DFAD with the same teacher and budget recipe; the record keeps the better student."""
    dataset = "fashion-mnist"
    test = data.load(dataset, "test")
    teacher = zoo.teacher("lenet5", dataset)
    t0 = time.perf_counter()
    games = {game: adversarial_game(game, teacher, test) for game in ("zskt", "dfad")}
    wall = time.perf_counter() - t0
    best = max(games, key=lambda g: games[g][1].final_acc)
    student, hist = games[best]
    return _student_record(
        teacher, student, test, hist, wall, transfer_set=f"images of a generator, {best.upper()} game",
        game=best, transfer_samples=_generated(best, hist.iteration[-1]), transfer_kind="generated",
        games={g: {"student_acc": round(100 * h.final_acc, 2), "seconds": round(h.seconds, 1),
                              "iterations": h.iteration[-1], "history": _history(h)}
                          for g, (_, h) in games.items()},
        recipe=adversarial_recipe(), paper=_ADVERSARIAL_PAPER)


def baseline_students(teacher, train, test, progress: bool = True) -> dict:
    """The students chapter 4 compares the zero-shot one with (:func:`adversarial_recipe` ``few_shot`` and
    ``full_kd``), seeded: ``{"few-shot KD": (student, history), "full-data KD": (student, history)}``."""
    from . import augment

    recipe = adversarial_recipe()
    few = dict(recipe["few_shot"])
    shots = train.subset(few.pop("per_class"), seed=0, per_class=True)
    config.seed_everything(0)
    s_few = zoo.student("lenet5half")
    h_few = kd.distill(s_few, teacher, shots.images, augment=augment.ZSKDAugmentation(p=0.5), seed=0,
                       progress=progress, name=f"few-shot KD ({len(shots)} real images)", **few)
    full = dict(recipe["full_kd"])
    n = full.pop("images")
    real = train if n >= len(train) else train.subset(n, seed=0)
    config.seed_everything(0)
    s_full = zoo.student("lenet5half")
    h_full = kd.distill(s_full, teacher, real, eval_set=test, seed=0, progress=progress,
                        name=f"full-data KD ({len(real):,} real images)", **full)
    return {"few-shot KD": (s_few, h_few), "full-data KD": (s_full, h_full)}


def mte() -> dict:
    """The mean transition error (paper 002) of the zero-shot ZSKT student, a few-shot-KD student and a
    full-data KD student against the teacher, each on ``bench_n`` test images it agrees with the teacher on."""
    from . import boundary

    dataset = "fashion-mnist"
    train, test = data.load(dataset, "train"), data.load(dataset, "test")
    teacher = zoo.teacher("lenet5", dataset)
    recipe = adversarial_recipe()
    t0 = time.perf_counter()
    students = {"zero-shot (ZSKT)": adversarial_game("zskt", teacher, test)}
    students.update(baseline_students(teacher, train, test))
    rows, mte_s = {}, []
    for name, (student, _) in students.items():
        x, y = boundary.agreeing(teacher, student, test.images, recipe["bench_n"])
        t1 = time.perf_counter()
        tr = boundary.transition_curves(teacher, student, x, y, steps=recipe["mte"]["steps"], lr=recipe["mte"]["lr"])
        mte_s.append(time.perf_counter() - t1)
        rows[name] = {"student_acc": round(100 * kd.evaluate(student, test), 2), "mte": round(tr.mte, 4),
                      "images": len(x), "walks": int(tr.targets.numel()), "mte_seconds": round(mte_s[-1], 1)}
    zero = rows["zero-shot (ZSKT)"]
    return {"dataset": dataset, "teacher": "lenet5", "student": "lenet5half",
            "teacher_acc": round(100 * kd.evaluate(teacher, test), 2),
            "student_acc": zero["student_acc"], "mte": zero["mte"], "students": rows,
            "mte_steps": recipe["mte"]["steps"], "mte_lr": recipe["mte"]["lr"],
            "wall_s": round(time.perf_counter() - t0, 1), "recipe": recipe,
            "paper": {"source": "Micaelli & Storkey 2019, poster: MTE zero-shot vs KD+AT",
                      "svhn": {"zero_shot": 0.09, "kd_at": 0.64}, "cifar10": {"zero_shot": 0.22, "kd_at": 0.68}}}


def inversion_recipe() -> dict:
    """Feature-statistics inversion (chapter 5, ``bench bn-stats``, ``activation-records``, ``spectral``,
    ``deepinversion``), sized so that chapter 5 runs the four methods in under 15 minutes on 2 CPU cores.

    ``n`` images per method, ``steps`` Adam steps per batch of ``batch_size`` (betas 0.5, 0.9, cosine), jitter
    ≤ 2 px and flips on the teacher's copy (:func:`dfkd_book.inversion.invert`). Per method, the keyword
    arguments of its function: learning rate, TV / L2 prior weights, the initial noise range (dark, like
    Fashion-MNIST, except for spectral matching) and the method's own weights. ``activation_layers`` /
    ``spectral_layers``: where the LeNet-5 owner records statistics on its training set. ``distill``: the
    student recipe of chapters 2 and 3 (τ = 20, Adam 1e-2, cosine, ZSKD augmentation with the teacher
    re-labelling every augmented batch), run for 100 epochs.

    Measured on DeepInversion images (seed 0, 2 CPU cores): 1,024 images × 400 steps gave 45.0 % after 30
    distillation epochs, 62.3 % after 100 and 68.1 % after 200; 1,024 × 300 steps gave 57.6 % and 2,048 × 200
    steps (the cost of 1,024 × 400) 58.1 % after 100 epochs. Four methods at 1,024 × 400 made chapter 5 take
    15 minutes, so the full profile makes 768 images per method. Spectral matching works from uniform noise at
    lr 0.1 (43.1 % on 1,024 × 300) and not from the dark start (26.4 % on 1,024 × 400).
    """
    dark = (0.0, 0.1)
    return dict(
        n=config.pick(quick=512, full=768), steps=config.pick(quick=40, full=400), batch_size=256,
        bn=dict(lr=0.02, tv_weight=1e-2, init_range=dark, bn_weight=1.0, first_weight=10.0),
        deepinversion=dict(lr=0.02, tv_weight=1e-3, init_range=dark, bn_weight=1.0, first_weight=10.0,
                           ce_weight=1.0),
        activation=dict(lr=0.01, tv_weight=1e-3, init_range=dark),
        spectral=dict(lr=0.1, tv_weight=1e-4, init_range=(0.0, 1.0)),
        activation_layers=["features.pool2", "classifier.relu3", "classifier.relu4", "classifier.fc3"],
        spectral_layers=["features.relu1", "features.relu2"],
        distill=dict(epochs=config.pick(quick=10, full=100), batch_size=256, lr=1e-2, T=20.0),
        augment=dict(p=0.5),
    )


def synthesize(method: str, teacher, train=None, progress: bool = True):
    """Synthetic images of one chapter-5 method by :func:`inversion_recipe`, seeded (seed 0).

    ``method``: ``"bn-stats"`` or ``"deepinversion"`` (``teacher`` must have BN), ``"activation-records"`` or
    ``"spectral"`` (records made on ``train``, the owner's data, first). Returns ``(Inversion, records or None)``.
    """
    from . import inversion

    r = inversion_recipe()
    shape = (data.channels("fashion-mnist"), 32, 32)
    common = dict(steps=r["steps"], batch_size=r["batch_size"], seed=0, progress=progress)
    if method == "bn-stats":
        return inversion.bn_inversion(teacher, r["n"], shape, **r["bn"], **common), None
    if method == "deepinversion":
        return inversion.deep_inversion(teacher, r["n"], shape, **r["deepinversion"], **common), None
    if method == "activation-records":
        records = inversion.record_activations(teacher, train, r["activation_layers"])
        return inversion.activation_inversion(teacher, records, r["n"], shape, **r["activation"], **common), records
    if method == "spectral":
        records = inversion.record_spectra(teacher, train, r["spectral_layers"])
        return inversion.spectral_inversion(teacher, records, r["n"], shape, **r["spectral"], **common), records
    raise ValueError(f"unknown inversion method {method!r}")


def distill_on(teacher, images, test, name: str, progress: bool = True):
    """A seeded LeNet-5-Half distilled on ``images`` by :func:`inversion_recipe` ``distill`` (with augmentation).
    Returns ``(student, history)``."""
    from . import augment

    r = inversion_recipe()
    config.seed_everything(0)
    student = zoo.student("lenet5half")
    hist = kd.distill(student, teacher, images, augment=augment.ZSKDAugmentation(**r["augment"]), eval_set=test,
                      seed=0, progress=progress, name=name, **r["distill"])
    return student, hist


def _inversion(method: str, arch: str, paper: dict) -> dict:
    dataset = "fashion-mnist"
    train, test = data.load(dataset, "train"), data.load(dataset, "test")
    teacher = zoo.teacher(arch, dataset)
    t0 = time.perf_counter()
    inv, records = synthesize(method, teacher, train)
    synthesis_s = time.perf_counter() - t0
    student, hist = distill_on(teacher, inv.images, test, method)
    wall = time.perf_counter() - t0
    extra = {}
    if records is not None:
        extra["metadata_bytes"] = records.nbytes()
    if method == "spectral":  # the baseline the issue compares with: plain uniform noise, the same budget
        noise = torch.rand(len(inv.images), *inv.images.shape[1:], generator=torch.Generator().manual_seed(0))
        _, h_noise = distill_on(teacher, noise, test, "uniform noise")
        extra["uniform_noise_student_acc"] = round(100 * h_noise.final_acc, 2)
    rec = _student_record(teacher, student, test, hist, wall, transfer_set=f"{len(inv)} images, {method}",
                          synthetic_images=len(inv), transfer_samples=len(inv), transfer_kind="synthetic",
                          steps_per_batch=inv.steps, synthesis_s=round(synthesis_s, 1),
                          seconds_per_1000_images=round(1000 * inv.seconds / len(inv), 1),
                          distillation_s=round(hist.seconds, 1), recipe=inversion_recipe(), paper=paper, **extra)
    rec["teacher"] = arch
    return rec


_LOPES = {"source": "Lopes et al. 2017 (MNIST, activation records)", "mnist_student_acc": 92.47,
          "note": "no published Fashion-MNIST number; the paper-004 library reports chance-level students for its "
                  "statistics methods", "published": None, "setting": "no published number"}


def bn_stats() -> dict:
    """BN-statistics matching alone, LeNet-5-BN teacher."""
    return _inversion("bn-stats", "lenet5bn", _LOPES)


def activation_records() -> dict:
    """Activation records (Lopes et al. 2017), LeNet-5 teacher (no BN)."""
    return _inversion("activation-records", "lenet5",
                      _LOPES | {"published": 92.47, "setting": "MNIST (activation records)"})


def spectral() -> dict:
    """Spectral feature matching (paper 004, method 2), LeNet-5 teacher, with a uniform-noise baseline."""
    return _inversion("spectral", "lenet5", _LOPES)


def deepinversion() -> dict:
    """DeepInversion (Yin et al. 2020), LeNet-5-BN teacher."""
    return _inversion("deepinversion", "lenet5bn", {"source": "Yin et al. 2020 (DeepInversion)",
                                                     "note": "no published LeNet-5 / Fashion-MNIST number",
                                                     "published": None, "setting": "no published number"})


def ssd_recipe() -> dict:
    """SSD-KD (chapter 6 and ``bench ssd-kd``): the shipped LeNet-5-BN teacher → LeNet-5-Half.

    ``ssd``: the keyword arguments of :func:`dfkd_book.ssd.ssd_kd` — ``epochs`` × ``synthesis_batch`` synthetic
    samples in all (the same scale as ``deepinversion_n``, chapter 5's DeepInversion set, which chapter 6 runs
    beside it), ``g_steps`` inversion steps and ``kd_steps`` distillation steps per epoch, a replay buffer that
    holds every sample made, γ, α, β as in focal loss and prioritised experience replay (γ = 2, α = 0.6,
    β = 0.4). ``generator``: the DFAD generator's size. ``augment``: ZSKD augmentation on the student's
    mini-batches, re-labelled by the teacher. ``ablation``: the smaller budget of the Table 4 runs.
    """
    epochs = config.pick(quick=4, full=16)
    ssd = dict(epochs=epochs, g_steps=config.pick(quick=10, full=100), kd_steps=config.pick(quick=20, full=100),
               synthesis_batch=64, kd_batch=128, capacity=max(128, epochs * 64), lr_g=1e-2, lr_z=1e-2, lr_s=1e-2,
               T=20.0, bn_weight=1.0, first_weight=10.0, adv_weight=1.0, task_weight=1.0, gamma=2.0, alpha=0.6,
               beta=0.4, eps=1e-6, reinit_generator=True)
    return dict(ssd=ssd, generator=dict(nz=100, width=32), augment=dict(p=0.5),
                deepinversion_n=epochs * ssd["synthesis_batch"],
                ablation=dict(epochs=config.pick(quick=2, full=8), g_steps=config.pick(quick=5, full=50),
                              kd_steps=config.pick(quick=10, full=50)))


def ssd_run(teacher, test, progress: bool = True, name: str = "SSD-KD", seed: int = 0, **overrides):
    """One seeded SSD-KD run by :func:`ssd_recipe` (``overrides`` replace its ``ssd`` settings, e.g. the switches
    of :data:`SSD_ABLATION`). Returns ``(student, SSDHistory)``."""
    from . import augment, models, ssd

    r = ssd_recipe()
    shape = (data.channels("fashion-mnist"), 32, 32)
    config.seed_everything(seed)
    student = zoo.student("lenet5half")
    hist = ssd.ssd_kd(student, teacher, lambda: models.DFADGenerator(shape, **r["generator"]),
                      augment=augment.ZSKDAugmentation(**r["augment"]), eval_set=test, seed=seed, progress=progress,
                      name=name, **(r["ssd"] | overrides))
    return student, hist


#: the rows of SSD-KD's Table 4: which modules are on (priority sampling, difficulty term, diversity term)
SSD_ABLATION = {
    "baseline": dict(priority=False, difficulty=False, diversity=False),
    "baseline + PS": dict(priority=True, difficulty=False, diversity=False),
    "baseline + difficulty": dict(priority=False, difficulty=True, diversity=False),
    "baseline + diversity": dict(priority=False, difficulty=False, diversity=True),
    "baseline + difficulty + diversity": dict(priority=False, difficulty=True, diversity=True),
    "SSD-KD (all)": dict(priority=True, difficulty=True, diversity=True),
}


def ssd_ablation(teacher, test, progress: bool = True) -> dict:
    """Table 4 of SSD-KD at :func:`ssd_recipe` ``ablation``'s budget: row name → SSDHistory."""
    budget = ssd_recipe()["ablation"]
    return {row: ssd_run(teacher, test, progress, name=row, **budget, **switches)[1]
            for row, switches in SSD_ABLATION.items()}


def ssd_kd() -> dict:
    """SSD-KD (Liu et al. 2024, paper 003) by :func:`ssd_recipe`, LeNet-5-BN teacher."""
    dataset = "fashion-mnist"
    test = data.load(dataset, "test")
    teacher = zoo.teacher("lenet5bn", dataset)
    t0 = time.perf_counter()
    student, hist = ssd_run(teacher, test)
    wall = time.perf_counter() - t0
    rec = _student_record(teacher, student, test, hist, wall, transfer_set=f"{hist.synthetic[-1]} synthetic samples",
                          synthetic_samples=hist.synthetic[-1], transfer_samples=hist.synthetic[-1],
                          transfer_kind="synthetic", buffer_capacity=ssd_recipe()["ssd"]["capacity"],
                          recipe=ssd_recipe(),
                          paper={"source": "Liu et al. 2024 (SSD-KD), Table 1", "cifar10_resnet34_resnet18": 92.92,
                                 "note": "no published Fashion-MNIST number", "published": None,
                                 "setting": "no Fashion-MNIST number (CIFAR-10, ResNet-34 → ResNet-18: 92.92)"})
    rec["teacher"] = "lenet5bn"
    return rec


#: method name → function returning the method-specific fields of its record.
METHODS: dict[str, Callable[[], dict]] = {
    "kd-real": kd_real,
    "zskd": zskd,
    "arbitrary-noise": arbitrary_noise,
    "arbitrary-best": arbitrary_best,
    "adversarial": adversarial,
    "mte": mte,
    "bn-stats": bn_stats,
    "activation-records": activation_records,
    "spectral": spectral,
    "deepinversion": deepinversion,
    "ssd-kd": ssd_kd,
}


def run(method: str, out_dir: str | os.PathLike = REPO_ROOT / "results", env: dict | None = None) -> dict:
    """Run ``method`` and write ``out_dir/METHOD.json`` atomically; return the record.

    ``env``: the :func:`environment` to record (``bench all`` passes the one it took at its start, so every record
    of a run names the same commit — the records it writes would otherwise make the tree look dirty).

    Raises:
        ValueError: unknown method (the message lists the known ones).
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; known: {', '.join(METHODS)}")
    env = environment() if env is None else env
    t0 = time.perf_counter()
    record = {"method": method, **METHODS[method](), **env}
    record["total_wall_s"] = round(time.perf_counter() - t0, 1)
    text = json.dumps(record, indent=2) + "\n"
    config.atomic_write(Path(out_dir) / f"{method}.json", lambda f: f.write(text.encode()))
    return record


def select(only: list[str] | None = None, skip: list[str] | None = None) -> list[str]:
    """The methods ``bench all`` runs, in :data:`METHODS` order: ``only`` those (default: all) minus ``skip``.

    Raises:
        ValueError: a name that is not a method (the message lists the known ones), or nothing left to run.
    """
    for name in (only or []) + (skip or []):
        if name not in METHODS:
            raise ValueError(f"unknown method {name!r}; known: {', '.join(METHODS)}")
    names = [m for m in METHODS if (not only or m in only) and m not in (skip or [])]
    if not names:
        raise ValueError(f"nothing to run: --only {only} minus --skip {skip} leaves no method")
    return names


def run_all(names: list[str], out_dir: str | os.PathLike = REPO_ROOT / "results", summary: bool = True) -> dict:
    """Run each method of ``names`` in turn (:func:`run`); a method that raises is reported (traceback on stderr)
    and the others still run. With ``summary``, write ``out_dir/bench-all.json``: per method its status, student
    accuracy (%) and wall seconds, the total wall seconds and the environment — the record of one complete run.

    Returns the summary dict (``failed``: the names that raised).
    """
    env = environment()
    t0 = time.perf_counter()
    methods: dict[str, dict] = {}
    for i, name in enumerate(names, 1):
        print(f"== [{i}/{len(names)}] {name}", flush=True)
        t1 = time.perf_counter()
        try:
            record = run(name, out_dir, {**env, "date": _now()})
            methods[name] = {"status": "ok", "student_acc": record.get("student_acc"),
                             "wall_s": round(time.perf_counter() - t1, 1)}
        except Exception as e:  # noqa: BLE001 — one failing method must not stop the benchmark
            traceback.print_exc()
            methods[name] = {"status": "failed", "error": f"{type(e).__name__}: {e}",
                             "wall_s": round(time.perf_counter() - t1, 1)}
        print(f"== {name}: {methods[name]['status']} in {methods[name]['wall_s']} s", flush=True)
    result = {"methods": methods, "failed": [m for m, r in methods.items() if r["status"] != "ok"],
              "total_wall_s": round(time.perf_counter() - t0, 1), **env}
    if summary:
        text = json.dumps(result, indent=2) + "\n"
        config.atomic_write(Path(out_dir) / "bench-all.json", lambda f: f.write(text.encode()))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dfkd_book.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("method", choices=sorted(METHODS) + ["all"],
                        help="one method, or all of them in turn (a failing method does not stop the others)")
    parser.add_argument("--out", default=str(REPO_ROOT / "results"), help="directory for METHOD.json")
    parser.add_argument("--only", nargs="+", metavar="METHOD", help="with all: run only these")
    parser.add_argument("--skip", nargs="+", metavar="METHOD", help="with all: leave these out")
    args = parser.parse_args(argv)
    if args.method != "all":
        if args.only or args.skip:
            parser.error("--only and --skip go with 'all'")
        record = run(args.method, args.out)
        summary = {k: record[k] for k in ("method", "teacher_acc", "student_acc", "students", "wall_s", "device",
                                          "profile") if k in record}
        print(json.dumps(summary, indent=2))
        print(f"wrote {Path(args.out) / (args.method + '.json')}")
        return 0
    try:
        names = select(args.only, args.skip)
    except ValueError as e:
        parser.error(str(e))
    # bench-all.json describes one complete run; a selection only prints its summary
    result = run_all(names, args.out, summary=not (args.only or args.skip))
    print(f"{'method':<20} {'status':<7} {'student %':>9} {'wall s':>8}")
    for name, r in result["methods"].items():
        print(f"{name:<20} {r['status']:<7} {r.get('student_acc') or '':>9} {r['wall_s']:>8}")
    print(f"total {result['total_wall_s']} s on {result['device']} ({result['profile']} profile)")
    if result["failed"]:
        print(f"FAILED: {', '.join(result['failed'])}")
    return 1 if result["failed"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
