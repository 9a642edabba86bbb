"""What the book says of each method and what its papers published: the one place a published number is written
(a test checks). :data:`METHODS` maps a recipe (or a composite method's) name to its :class:`About` — label,
group, chapter, leaderboard row, and its :class:`Published` numbers; :func:`published` reads one. Bench, the
leaderboard, the studies and the chapters read them here (also as ``dfkd_book.recipes.published`` and friends).
"""

from __future__ import annotations

from dataclasses import dataclass

#: the groups: *data-free* (the teacher, its BN statistics, or natural images not the owner's), *metadata*
#: (statistics the owner recorded on the training data), *real data* (the training set itself, the ceiling)
GROUPS = ("data-free", "metadata", "real data")


@dataclass(frozen=True)
class Published:
    """One number a paper published, as this book compares with it.

    ``key``: what it is within its method (``"student"``: the headline student accuracy; ``"teacher"``; a row of
    a table). ``value`` in ``unit`` (``"%"`` accuracy, ``"h"`` hours, ``"MTE"``). ``source``: authors and year;
    ``table``: where in the paper; ``dataset``: ``"fashion-mnist"``, ``"mnist"``, ``"cifar10"`` or ``"svhn"`` —
    only a Fashion-MNIST number is compared with this book's like with like; ``setting``: what was run."""

    key: str
    value: float
    source: str
    table: str
    dataset: str
    setting: str
    unit: str = "%"


@dataclass(frozen=True)
class About:
    """A method of the book: its ``label`` (how tables and figures name it), its ``group`` (:data:`GROUPS`), the
    ``chapter`` that teaches it, whether it is a row of the ``leaderboard``, its ``published`` numbers, and the
    recipes it runs (``runs``: itself, or the recipes a composite method picks from); ``benched``: run by ``bench
    all`` before it is a leaderboard row (its first record is still to be made; it becomes a row with it)."""

    label: str
    group: str
    chapter: int
    leaderboard: bool = True
    published: tuple[Published, ...] = ()
    runs: tuple[str, ...] = ()
    benched: bool = False


_N19, _N21 = "Nayak et al. 2019", "Nayak et al. 2021"
_FM = "fashion-mnist"


def _table1(family: str, *values: float) -> tuple[Published, ...]:
    """Nayak et al. 2021, Table 1 (Fashion-MNIST): a source family (un)balanced, without / with augmentation."""
    cells = [(bal, aug) for bal in ("unbalanced", "balanced") for aug in ("without", "with")]
    return tuple(Published(f"{family}, {b}, {a} augmentation", v, _N21, "Table 1", _FM, f"{family}, {b}, {a}")
                 for (b, a), v in zip(cells, values))


_TEACHER_N19 = Published("teacher", 90.84, _N19, "Table 2", _FM, "LeNet-5 teacher")
_SSD_T4 = "Liu et al. 2024"
#: every method of the book: recipe name (or a composite's name) → what it is and what its papers published. The
#: only place a published number is written (a test checks): bench, leaderboard, studies and chapters read it here.
METHODS: dict[str, About] = {
    "kd-real": About("KD on real data (the ceiling)", "real data", 1, published=(
        _TEACHER_N19,
        Published("student", 89.66, _N19, "Table 2", _FM, "Student-KD on the real training set"),
        Published("student, cross-entropy", 89.43, _N19, "Table 2", _FM, "the student trained on labels alone"))),
    "zskd": About("ZSKD data impressions", "data-free", 2, published=(
        _TEACHER_N19,
        Published("student", 79.62, _N19, "Table 2", _FM, "48,000 data impressions, with augmentation"),
        Published("without augmentation", 69.37, _N19, "Table 6", _FM, "48,000 data impressions"),
        Published("uniform prior", 56.24, _N19, "Table 7", _FM, "a uniform class prior, without augmentation"),
        Published("impressions", 48_000, _N19, "Section 4", _FM, "data impressions crafted", unit="images"),
        Published("steps per impression", 1_500, _N19, "Section 4", _FM, "optimiser steps", unit="steps"),
        Published("student epochs", 2_000, _N19, "Appendix 2.2", _FM, "at most, on the impressions", unit="epochs"),
        Published("student batch size", 512, _N19, "Appendix 2.2", _FM, "on the impressions", unit="images"))),
    "arbitrary-noise": About("balanced uniform noise", "data-free", 3, published=(
        Published("student", 74.33, _N21, "Table 1", _FM, "balanced uniform noise, with augmentation"),)),
    "arbitrary-best": About("best arbitrary transfer set", "data-free", 3, published=(
        Published("student", 84.75, _N21, "Table 1", _FM, "SVHN + TinyImageNet (balanced), with augmentation"),
        Published("DeGAN", 83.79, _N21, "Table 2", _FM, "DeGAN (Addepalli et al. 2020), a GAN on proxy data"),
        *_table1("noise", 33.49, 38.37, 70.15, 74.33), *_table1("synthetic", 46.63, 72.68, 66.44, 83.38),
        *_table1("natural", 80.93, 83.85, 81.56, 84.75))),
    "adversarial": About("adversarial (ZSKT / DFAD)", "data-free", 4, runs=("zskt", "dfad"), published=(
        Published("dfad student", 98.3, "Fang et al. 2019", "Table 1", "mnist", "DFAD, LeNet-5 → LeNet-5-Half"),)),
    "zskt": About("ZSKT", "data-free", 4, leaderboard=False, published=tuple(
        Published(f"mte, {who}", v, "Micaelli & Storkey 2019", "poster", ds, f"MTE of the {who} student", unit="MTE")
        for ds, who, v in (("svhn", "zero-shot", 0.09), ("svhn", "KD + AT", 0.64), ("cifar10", "zero-shot", 0.22),
                           ("cifar10", "KD + AT", 0.68)))),
    "dfad": About("DFAD", "data-free", 4, leaderboard=False, published=(
        Published("student", 98.3, "Fang et al. 2019", "Table 1", "mnist", "LeNet-5 → LeNet-5-Half"),
        Published("teacher", 98.9, "Fang et al. 2019", "Table 1", "mnist", "LeNet-5 teacher"))),
    "bn-stats": About("BN statistics", "data-free", 5),
    "activation-records": About("activation records", "metadata", 5, published=tuple(
        Published(k, v, "Lopes et al. 2017", "Table 1", "mnist", f"{k} activation statistics")
        for k, v in (("top layer", 77.30), ("all layers", 85.61)))),
    "spectral": About("spectral records", "metadata", 5, published=(
        Published("spectral layer pairs", 92.47, "Lopes et al. 2017", "Table 1", "mnist",
                  "spectral layer-pair records (graph spectra)"),)),
    "deepinversion": About("DeepInversion", "data-free", 5, published=(
        Published("wall time", 25.62, _SSD_T4, "Table 2", "cifar10", "DeepInversion, V100 hours", unit="h"),
        Published("student", 93.26, _SSD_T4, "Table 2", "cifar10", "DeepInversion, ResNet-34 → ResNet-18"))),
    "ssd-kd": About("SSD-KD", "data-free", 6, published=(
        Published("student", 92.92, _SSD_T4, "Table 1", "cifar10", "ResNet-34 → ResNet-18, 10 % of the data"),
        Published("teacher", 95.70, _SSD_T4, "Table 1", "cifar10", "ResNet-34 teacher"),
        Published("wall time", 4.20, _SSD_T4, "Table 2", "cifar10", "SSD-KD, V100 hours, relaxed scale", unit="h"),
        Published("student, relaxed scale", 94.26, _SSD_T4, "Table 2", "cifar10",
                  "ResNet-34 → ResNet-18, as many synthetic samples as Fast5"),
        Published("wall time, 10 % data", 1.11, _SSD_T4, "Table 1", "cifar10", "SSD-KD, V100 hours", unit="h"),
        *(Published(f"table 4: {row}", v, _SSD_T4, "Table 4", "cifar10", f"ablation, {row}") for row, v in (
            ("baseline", 87.35), ("baseline + PS", 90.28), ("baseline + difficulty", 88.57),
            ("baseline + diversity", 89.12), ("baseline + difficulty + diversity", 89.95), ("SSD-KD (all)", 92.92))))),
    "ssd-kd-fast": About("SSD-KD, Fast's meta-generator", "data-free", 6),
    # chapter 7's own recipe, built from the pieces the chapters taught (chosen on the validation split), and the
    # black-box methods of chapter 8
    "book": About("the book's recipe (best arbitrary set, best of 3 restarts)", "data-free", 7),
    "dfme": About("DFME (black box, probabilities)", "data-free", 8),
    "ideal": About("IDEAL (black box, top-1 label)", "data-free", 8),
    # the best published Fashion-MNIST data-free students (hard-label black-box), as ANCHORS.md collects them
    # (Fashion-MNIST is in neither IDEAL's nor DFME's paper: these are the DIP-KD paper's runs and quotations)
    "hard-label": About("hard-label black-box (context)", "data-free", 8, leaderboard=False, published=tuple(
        Published(k, v, "DIP-KD 2025", "Fashion-MNIST table", _FM, f"{k}: LeNet-5, 50,000 synthetic images, "
                  f"100-epoch student, {how}") for k, v, how in
        (("IDEAL", 83.92, "as quoted"), ("IDEAL, re-run", 82.84, "DIP-KD's re-run"),
         ("DFHL-RS", 83.89, "DIP-KD's run"), ("DIP-KD", 83.98, "its own run")))),
    "few-shot-kd": About("few-shot KD (10 images a class)", "real data", 4, leaderboard=False),
    "full-kd": About("KD on real data, 705 steps", "real data", 4, leaderboard=False),
}


def about(name: str) -> About:
    """What the book says of method ``name`` (:data:`METHODS`). Raises ValueError listing the known names."""
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}; known: {', '.join(METHODS)}")
    return METHODS[name]


def leaderboard() -> tuple[str, ...]:
    """The leaderboard's methods, in the table's order."""
    return tuple(m for m, a in METHODS.items() if a.leaderboard)


def benched() -> tuple[str, ...]:
    """What ``bench all`` runs of the method table, in its order: the leaderboard's methods and those ``benched``
    before they are rows."""
    return tuple(m for m, a in METHODS.items() if a.leaderboard or a.benched)


def published(name: str, key: str = "student", dataset: str | None = None) -> Published | None:
    """The number method ``name``'s paper published under ``key`` (on ``dataset`` when given; the first one
    otherwise), or None when it published none. Raises ValueError for an unknown method."""
    for p in about(name).published:
        if p.key == key and (dataset is None or p.dataset == dataset):
            return p
    return None
