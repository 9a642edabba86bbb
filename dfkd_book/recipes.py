"""The one method table: every method's settings, with their quick and full values, as frozen dataclasses, and
what the book says of it (:data:`METHODS`) — read by the chapters and the lab, shown as tables (:func:`table`).
A :class:`Recipe` names the method (a key of :data:`dfkd_book.methods.REGISTRY`), the teacher and student
architectures, the method's keyword arguments (``settings``), the student's protocol (:class:`Student`: the
budget in **optimiser steps**, batch, optimiser, learning rate, warm-up, τ, augmentation) and ``extras`` that are
neither (the layers an owner records, a chapter's ablation budget). ``quick`` keeps a chapter under two minutes
on a 2-core CPU; ``full`` is what the published book shows.

**How the students of static transfer sets are trained** (:data:`STUDENT_PROTOCOLS`) was chosen by a measured
search (:mod:`dfkd_book.experiments.search`, ``results/runs/protocol.json``; Appendix A tells it), selecting on
5,000 held-out training images, never on test accuracy: Adam 1e-2, τ = 20, cosine; a mild affine map and flips for
images inverted from the teacher, ZSKD's heavy augmentation for impressions, noise and a few real images; 10,000
steps for inverted images, 20,000 (batch 512) for impressions and 20,000 for arbitrary sets.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace

from . import config

AUGMENTATIONS = (None, "flip-shift", "affine", "zskd", "curriculum")

#: the measured student protocol for a static transfer set, by kind of set (the module's docstring says why):
#: ``(full-profile steps, augmentation, batch size)``; Adam 1e-2, τ = 20 for all
STUDENT_PROTOCOLS = {"inverted": (10_000, "affine", 256), "impressions": (20_000, "zskd", 512),
                     "arbitrary": (20_000, "zskd", 256)}


@dataclass(frozen=True)
class Student:
    """The student's protocol: what :func:`dfkd_book.distill` gets besides the method.

    Attributes:
        steps: the budget in optimiser steps. batch_size: the student's batch. lr: peak learning rate.
        optimizer: ``'adam'`` or ``'sgd'``. weight_decay, warmup (steps), clip (gradient norm; 0 none).
        T: temperature τ. augment (every augmented batch is re-labelled by the teacher): ``None``;
            ``'flip-shift'`` (horizontal flips and 2-px shifts); ``'affine'`` (a mild affine map and horizontal
            flips, :class:`~dfkd_book.augment.MildAffine`); ``'zskd'`` (ZSKD's heavy set with p = 0.5); or
            ``'curriculum'`` (clean batches for the first half of the steps, ZSKD's heavy set for the second).
            eval_every: evaluation cadence in steps (None: steps // 10).
    """

    steps: int
    batch_size: int = 256
    lr: float = 1e-2
    optimizer: str = "adam"
    weight_decay: float = 0.0
    warmup: int = 0
    clip: float = 0.0
    T: float = 20.0
    augment: str | None = "zskd"
    eval_every: int | None = None

    def __post_init__(self):
        if self.augment not in AUGMENTATIONS:
            raise ValueError(f"augment must be one of {AUGMENTATIONS}, got {self.augment!r}")
        if not isinstance(self.steps, int) or self.steps < 1:
            raise ValueError(f"steps must be a positive int, got {self.steps!r}")

    def make_augment(self):
        """The augmentation object (``None`` without one)."""
        from . import augment

        if self.augment == "zskd":
            return augment.ZSKDAugmentation(p=0.5)
        if self.augment == "flip-shift":
            return augment.FlipShift(2)
        if self.augment == "affine":
            return augment.MildAffine()
        if self.augment == "curriculum":
            return augment.Curriculum([(0.5, None), (1.0, augment.ZSKDAugmentation(p=0.5))], self.steps)
        return None

    def kwargs(self, **overrides) -> dict:
        """The keyword arguments of :func:`dfkd_book.distill` (augmentation built); ``overrides`` replace them."""
        out = {k: v for k, v in asdict(self).items() if k != "augment"}
        out["augment"] = self.make_augment()
        out.update(overrides)
        return out


@dataclass(frozen=True)
class Recipe:
    """One method's recipe at one profile.

    Attributes:
        name: the recipe's name (:data:`RECIPES`). method: the registry name of the method. teacher,
        student_arch: zoo architectures. settings: the method's keyword arguments. student: :class:`Student`.
        extras: what is neither (record layers, ablation budgets, baselines). profile: ``'quick'`` or ``'full'``.
        notes: why the values are what they are.
    """

    name: str
    method: str
    teacher: str
    student_arch: str
    settings: Mapping
    student: Student
    extras: Mapping = field(default_factory=dict)
    profile: str = "full"
    notes: str = ""

    def build(self, *args, **overrides):
        """The method object: ``methods.get(method, *args, **settings | overrides)`` (``args``: what the method
        needs first, e.g. the real data of ``kd-real`` or the records of ``activation-records``)."""
        from . import methods

        return methods.get(self.method, *args, **{**self.settings, **overrides})

    def args(self, teacher, train=None) -> tuple:
        """What the method needs first, besides its settings: the owner's real data (``kd-real``: ``train``, by
        default the Fashion-MNIST training set), or the records the owner makes on it (``activation-records``,
        ``spectral-records``: of ``extras["layers"]``; activation records jointly over the layers when
        ``extras["joint"]``); ``()`` for the rest. Pass it to :meth:`build`."""
        from . import data
        from .methods import metadata

        def real():
            return train if train is not None else data.load("fashion-mnist", "train")

        if self.method == "kd-real":
            return (real(),)
        if self.method == "activation-records":
            return (metadata.record_activations(teacher, real(), self.extras["layers"],
                                                joint=self.extras.get("joint", False)),)
        if self.method == "spectral-records":
            return (metadata.record_spectra(teacher, real(), self.extras["layers"]),)
        return ()

    def as_dict(self) -> dict:
        """JSON-friendly, for records."""
        return asdict(self)

    @property
    def about(self) -> About:
        """What the book says of this recipe's method (:data:`METHODS`): label, group, chapter, published numbers."""
        return about(self.name)


def _pick(profile: str) -> Callable:
    return lambda quick, full: quick if profile == "quick" else full


def _kd_real(p) -> Recipe:
    return Recipe("kd-real", "kd-real", "lenet5", "lenet5half", {},
                  Student(steps=p(470, 7050), batch_size=256, lr=5e-3, T=4.0, augment=None),
                  notes="Student-KD on the full Fashion-MNIST training set, the pure distillation term at τ = 4, "
                        "Adam 5e-3, cosine; 30 epochs (quick 2) at batch 256 = 7,050 steps (quick 470).")


def _zskd(p) -> Recipe:
    return Recipe("zskd", "zskd", "lenet5", "lenet5half",
                  dict(n=p(2_000, 8_000), steps=p(100, 150), lr=p(0.02, 0.01), T=20.0, betas=(1.0, 0.1),
                       init_range=(0.0, 0.1), jitter=2,
                       view_affine=p(None, dict(degrees=15.0, translate=0.1, scale=(0.9, 1.1)))),
                  Student(steps=p(160, STUDENT_PROTOCOLS["impressions"][0]),
                          batch_size=p(256, STUDENT_PROTOCOLS["impressions"][2]), lr=1e-2, T=20.0,
                          augment=STUDENT_PROTOCOLS["impressions"][1]),
                  notes="Impressions from dark noise with a jittered (and, full, affine) view of the teacher; the "
                        "student by the measured protocol for impressions: 20,000 steps at batch 512 (the ZSKD "
                        "paper's batch), ZSKD augmentation re-labelled by the teacher.")


def _arbitrary(p, name: str, sources, steps) -> Recipe:
    return Recipe(name, "arbitrary", "lenet5", "lenet5half",
                  dict(sources=sources, n=p(1_500, 60_000), max_candidates=p(20_000, 2_000_000)),
                  Student(steps=steps, batch_size=256, lr=1e-2, T=20.0, augment=STUDENT_PROTOCOLS["arbitrary"][1]),
                  notes="Algorithm 1 of Nayak et al. 2021 on the book's offline sources, at the paper's size (60,000 "
                        "images, the teacher's training set; at most 2 million candidates per source); the student "
                        "by the measured protocol for arbitrary sets: 20,000 steps, ZSKD augmentation.")


def _zskt(p) -> Recipe:
    return Recipe("zskt", "zskt", "lenet5", "lenet5half",
                  dict(width=32, init_mean=0.2, attention_layers=[("features.relu1", "features.relu1"),
                                                                  ("features.relu2", "features.relu2")]),
                  Student(steps=p(300, 5_000), batch_size=128, lr=2e-3, optimizer="adam", clip=5.0, T=1.0,
                          augment=None),
                  notes="ZSKT's official step ratio (1 generator + 10 student steps), Adam 1e-3 / 2e-3, clipping at "
                        "5, attention transfer β = 250; a generator of width 32 (official 128) a CPU can afford, "
                        "its first images dark (pixel mean 0.2, like Fashion-MNIST's, not the official mid-grey: "
                        "measured); 500 outer steps (quick 30).")


def _dfad(p) -> Recipe:
    return Recipe("dfad", "dfad", "lenet5", "lenet5half", dict(width=32, balance=5.0, reuse=True),
                  Student(steps=p(50, 5_000), batch_size=128, lr=0.01, optimizer="sgd", weight_decay=5e-4, T=1.0,
                          augment=None),
                  notes="DFAD's official ratio (5 student steps per generator step), student SGD 0.01 with weight "
                        "decay 5e-4; the generator's loss adds DAFL's class-balance term (λ = 5: without it the "
                        "generator collapses onto a few classes, measured), and the 5 student steps share one "
                        "generated batch, as ZSKT's do (officially a fresh z each: as accurate, measured, for a "
                        "third of the teacher's forward passes and about half the time); 1,000 outer steps "
                        "(quick 10).")


_INVERSION_DARK = (0.0, 0.1)


def _inversion(p, name: str, method: str, teacher: str, settings: dict, extras: dict | None = None) -> Recipe:
    return Recipe(name, method, teacher, "lenet5half",
                  dict(n=p(512, 768), steps=p(40, 400), batch_size=256, **settings),
                  Student(steps=p(20, STUDENT_PROTOCOLS["inverted"][0]), batch_size=256, lr=1e-2, T=20.0,
                          augment=STUDENT_PROTOCOLS["inverted"][1], warmup=p(2, 500)),
                  extras=extras or {},
                  notes="768 images, the scale of chapter 5; the student by the measured protocol for inverted "
                        "images: 10,000 steps at batch 256, a mild affine map and flips, re-labelled, with 500 "
                        "warm-up steps (without them, Adam at 1e-2 lost one seed in three to an early divergence, "
                        "measured in chapter 5's levers).")


def _ssd(p, fast: bool = False) -> Recipe:
    epochs = p(4, 100)
    kd_steps = p(40, STUDENT_PROTOCOLS["inverted"][0] // 100)
    generator = (dict(g_steps=p(10, 8), reinit_generator=False, meta=True) if fast
                 else dict(g_steps=p(10, 100), reinit_generator=True))
    return Recipe("ssd-kd-fast" if fast else "ssd-kd", "ssd-kd", "lenet5bn", "lenet5half",
                  dict(kd_steps=kd_steps, synthesis_batch=60, capacity=epochs * 60,
                       lr_g=1e-2, lr_z=1e-2, bn_weight=1.0, first_weight=10.0, adv_weight=1.0, task_weight=1.0,
                       gamma=2.0, alpha=0.6, beta=0.4, eps=1e-6, nz=100, width=32, **generator),
                  Student(steps=epochs * kd_steps, batch_size=p(60, STUDENT_PROTOCOLS["inverted"][2]), lr=1e-2,
                          T=20.0, augment=STUDENT_PROTOCOLS["inverted"][1],
                          # quick: 20 warm-up steps of 160 — with 2, the quick student collapsed to one class on
                          # seeds 0 and 2 of chapter 6's 80-step run (measured; the full profile is unchanged)
                          warmup=p(20, 500) if fast else 0),
                  extras={} if fast else dict(ablation=dict(epochs=p(2, 24), g_steps=p(5, 80), kd_steps=p(40, 100))),
                  notes="100 epochs (quick 4) of 60 samples: 6,000 synthetic samples, 10 % of the training set (the "
                        "paper's scale); the student by the measured protocol for inverted images (10,000 steps "
                        "at batch 256, a mild affine map and flips, re-labelled); γ, α, β as focal loss and "
                        "prioritised experience replay"
                        + ("; the generator as Fast's (Fang et al. 2022): one meta-generator over the run, 8 steps "
                           "of its copy per batch and a Reptile step after them, instead of Algorithm 1's fresh "
                           "generator and 100 steps per batch; the student with 500 warm-up steps (both measured "
                           "in chapter 6's levers)." if fast else "."))


def _few_shot(p) -> Recipe:
    return Recipe("few-shot-kd", "kd-real", "lenet5", "lenet5half", {},
                  Student(steps=p(40, 200), batch_size=100, lr=5e-3, T=4.0, augment="zskd"),
                  extras=dict(per_class=10),
                  notes="The baseline of ZSKT's MTE comparison: 10 real images per class, shown over and over with "
                        "augmentation.")


def _full_kd(p) -> Recipe:
    return Recipe("full-kd", "kd-real", "lenet5", "lenet5half", {},
                  Student(steps=p(40, 705), batch_size=256, lr=5e-3, T=4.0, augment=None),
                  extras=dict(images=p(10_000, 60_000), mte=dict(n=p(20, 200), steps=100, lr=1.0),
                              bench_n=p(100, 1_000)),
                  notes="Chapter 1's recipe with fewer steps (3 epochs; quick 1 epoch of 10,000 images); the MTE "
                        "walk settings of chapter 4.")


_LAYERS = dict(activation_layers=["features.pool2", "classifier.relu3", "classifier.relu4", "classifier.fc3"],
               spectral_layers=["features.relu1", "features.relu2"])

#: recipe name → builder(pick) -> Recipe
RECIPES: dict[str, Callable[[Callable], Recipe]] = {
    "kd-real": _kd_real,
    "zskd": _zskd,
    "arbitrary-noise": lambda p: _arbitrary(p, "arbitrary-noise", "noise",
                                            p(120, STUDENT_PROTOCOLS["arbitrary"][0])),
    "arbitrary-best": lambda p: _arbitrary(p, "arbitrary-best", "all offline",
                                           p(240, STUDENT_PROTOCOLS["arbitrary"][0])),
    "zskt": _zskt,
    "dfad": _dfad,
    "bn-stats": lambda p: _inversion(p, "bn-stats", "bn-statistics", "lenet5bn",
                                     dict(lr=0.02, tv_weight=1e-2, init_range=_INVERSION_DARK, bn_weight=1.0,
                                          first_weight=10.0)),
    "deepinversion": lambda p: _inversion(p, "deepinversion", "deepinversion", "lenet5bn",
                                          dict(lr=0.02, tv_weight=1e-3, init_range=_INVERSION_DARK, bn_weight=1.0,
                                               first_weight=10.0, ce_weight=1.0)),
    "activation-records": lambda p: _inversion(p, "activation-records", "activation-records", "lenet5",
                                               dict(lr=0.01, tv_weight=1e-3, init_range=_INVERSION_DARK),
                                               dict(layers=_LAYERS["activation_layers"])),
    "spectral": lambda p: _inversion(p, "spectral", "spectral-records", "lenet5",
                                     dict(lr=0.1, tv_weight=1e-4, init_range=(0.0, 1.0)),
                                     dict(layers=_LAYERS["spectral_layers"])),
    "ssd-kd": _ssd,
    "ssd-kd-fast": lambda p: _ssd(p, fast=True),
    "few-shot-kd": _few_shot,
    "full-kd": _full_kd,
}


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
    recipes it runs (``runs``: itself, or the recipes a composite method picks from)."""

    label: str
    group: str
    chapter: int
    leaderboard: bool = True
    published: tuple[Published, ...] = ()
    runs: tuple[str, ...] = ()


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
        Published("wall time, 10 % data", 1.11, _SSD_T4, "Table 1", "cifar10", "SSD-KD, V100 hours", unit="h"),
        *(Published(f"table 4: {row}", v, _SSD_T4, "Table 4", "cifar10", f"ablation, {row}") for row, v in (
            ("baseline", 87.35), ("baseline + PS", 90.28), ("baseline + difficulty", 88.57),
            ("baseline + diversity", 89.12), ("baseline + difficulty + diversity", 89.95), ("SSD-KD (all)", 92.92))))),
    "ssd-kd-fast": About("SSD-KD, Fast's meta-generator", "data-free", 6),
    # the best published Fashion-MNIST data-free students (hard-label black-box), as ANCHORS.md collects them
    "hard-label": About("hard-label black-box (context)", "data-free", 4, leaderboard=False, published=tuple(
        Published(k, v, s, "as collected", _FM, f"{k}, not yet checked against the paper") for k, v, s in
        (("IDEAL", 83.92, "Zhang et al. 2023"), ("DFHL-RS", 83.89, "DFHL-RS"), ("DIP-KD", 83.98, "DIP-KD")))),
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


def published(name: str, key: str = "student", dataset: str | None = None) -> Published | None:
    """The number method ``name``'s paper published under ``key`` (on ``dataset`` when given; the first one
    otherwise), or None when it published none. Raises ValueError for an unknown method."""
    for p in about(name).published:
        if p.key == key and (dataset is None or p.dataset == dataset):
            return p
    return None


def get(name: str, profile: str | None = None) -> Recipe:
    """The recipe ``name`` at ``profile`` (default: the active one, :func:`dfkd_book.config.profile`).

    Raises:
        ValueError: an unknown recipe (the message lists them) or profile.
    """
    if name not in RECIPES:
        raise ValueError(f"unknown recipe {name!r}; known: {', '.join(RECIPES)}")
    profile = profile or config.profile()
    if profile not in config.PROFILES:
        raise ValueError(f"profile must be one of {config.PROFILES}, got {profile!r}")
    return replace(RECIPES[name](_pick(profile)), profile=profile)


def table(name: str):
    """The recipe ``name`` as a DataFrame: one row per setting, its quick and full values, shown whole (pandas'
    ``display.max_colwidth`` None). Raises ValueError for an unknown recipe (as :func:`get`)."""
    import pandas as pd

    pd.set_option("display.max_colwidth", None)

    def rows(r: Recipe) -> dict:
        return {"method": r.method, "teacher": r.teacher, "student": r.student_arch,
                **{f"method.{k}": v for k, v in r.settings.items()},
                **{f"student.{k}": v for k, v in asdict(r.student).items()},
                **{f"extra.{k}": v for k, v in r.extras.items()}}

    cols = {p: rows(get(name, p)) for p in ("quick", "full")}
    keys = list(dict.fromkeys([*cols["quick"], *cols["full"]]))
    show = {p: ["–" if c.get(k, "") is None else str(c.get(k, "")) for k in keys] for p, c in cols.items()}
    return pd.DataFrame(show,
                        index=pd.Index(keys, name="setting"))
