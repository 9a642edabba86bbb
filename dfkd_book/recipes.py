"""The one method table: every method's settings, with their quick and full values, as frozen dataclasses, and what
the book says of it (:data:`METHODS`, kept in :mod:`dfkd_book.papers`) — read by the chapters and the lab, shown as
tables (:func:`table`). A :class:`Recipe` names the method (a key of :data:`dfkd_book.methods.REGISTRY`), the
teacher and student architectures, the method's keyword arguments (``settings``), the student's protocol
(:class:`Student`: the budget in **optimiser steps**, batch, optimiser, learning rate, warm-up, τ, augmentation) and
``extras`` that are neither (the layers an owner records, a chapter's ablation budget). ``quick`` keeps a chapter
under two minutes on a 2-core CPU; ``full`` is what the published book shows.

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
from .papers import GROUPS, METHODS, About, Published, about, benched, leaderboard, published  # noqa: F401

AUGMENTATIONS = (None, "flip-shift", "affine", "zskd", "curriculum", "zskd+cutmix")

#: the measured student protocol for a static transfer set, by kind of set (the module's docstring says why):
#: ``(full-profile steps, augmentation, batch size)``; Adam 1e-2, τ = 20 for all
STUDENT_PROTOCOLS = {"inverted": (10_000, "affine", 256), "impressions": (20_000, "zskd", 512),
                     "arbitrary": (20_000, "zskd", 256)}
#: the workshop profile's student steps where they depart from the full profile's (the set is the full one):
#: recipe → steps, each measured on the validation split against the full student on the same set and seeds
#: (``python -m dfkd_book.experiments.levers workshop``, ``results/runs/workshop.jsonl``)
WORKSHOP_STEPS = {"zskd": 10_000, "arbitrary-best": 10_000}


@dataclass(frozen=True)
class Student:
    """The student's protocol: what :func:`dfkd_book.distill` gets besides the method.

    Attributes:
        steps: the budget in optimiser steps. batch_size: the student's batch. lr: peak learning rate.
        optimizer: ``'adam'`` or ``'sgd'``. weight_decay, warmup (steps), clip (gradient norm; 0 none).
        schedule: the learning rate after the warm-up, ``'cosine'`` (to zero at ``steps``; Loshchilov & Hutter
            2017) or ``'constant'`` (:data:`dfkd_book.loop.SCHEDULES`).
        T: temperature τ. augment (every augmented batch is re-labelled by the teacher): ``None``;
            ``'flip-shift'`` (horizontal flips and 2-px shifts); ``'affine'`` (a mild affine map and horizontal
            flips, :class:`~dfkd_book.augment.MildAffine`); ``'zskd'`` (ZSKD's heavy set with p = 0.5); or
            ``'curriculum'`` (clean batches for the first half of the steps, ZSKD's heavy set for the second);
            ``'zskd+cutmix'`` (ZSKD's set, then CutMix between the batch's images, :class:`~dfkd_book.augment.CutMix`).
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
    schedule: str = "cosine"

    def __post_init__(self):
        from .loop import SCHEDULES

        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
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
        if self.augment == "zskd+cutmix":
            return augment.Compose(augment.ZSKDAugmentation(p=0.5), augment.CutMix())
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
    """``p(quick, full[, workshop])``: the recipes' budgets at ``profile`` (as :func:`dfkd_book.config.pick`; a
    workshop budget defaults to the full one)."""
    def p(quick, full, *workshop):
        return config.pick(quick=quick, full=full, at=profile, **({"workshop": workshop[0]} if workshop else {}))
    return p


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
                  Student(steps=p(160, STUDENT_PROTOCOLS["impressions"][0], WORKSHOP_STEPS["zskd"]),
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


def _book(p) -> Recipe:
    r = _arbitrary(p, "book", "all offline", p(240, STUDENT_PROTOCOLS["arbitrary"][0]))
    return replace(r, extras=dict(restarts=3, select="agreement", holdout=0.2),
                   notes=r.notes + " Three students (restarts), each holding out its own fifth of the set; the one "
                         "that agrees best with the teacher on its fifth is kept (DeGAN's data-free selection, "
                         "carried from checkpoints to restarts; chosen on the validation split in Appendix A).")


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


def _dfme(p) -> Recipe:
    return Recipe("dfme", "dfme", "lenet5", "lenet5half", dict(width=32, m=1, eps=1e-3, lr_g=1e-4, loss="l1"),
                  Student(steps=p(50, 3_000), batch_size=256, lr=0.01, optimizer="sgd", weight_decay=5e-4, T=1.0,
                          augment=None),
                  extras=dict(api=dict(access="probs")),
                  notes="DFME's official settings (m = 1 direction, ε = 1e-3, 5 student steps per generator step, "
                        "Adam 1e-4 for the generator, SGD with weight decay 5e-4 for the student) with a generator of "
                        "width 32 (official 128) and the student's learning rate 0.01 (at the official 0.1 the "
                        "seeds spread far wider, one to chance, for no better mean: Appendix B.8); the teacher "
                        "behind an API answering probabilities.")


def _ideal(p) -> Recipe:
    rounds = p(8, 100)
    return Recipe("ideal", "ideal", "lenet5", "lenet5half",
                  dict(rounds=rounds, batch=p(50, 250), g_steps=p(5, 30), width=32),
                  Student(steps=rounds * (rounds + 1) // 2, batch_size=250, lr=0.01, optimizer="sgd",
                          weight_decay=5e-4, T=1.0, augment=None),
                  extras=dict(api=dict(access="label")),
                  notes="IDEAL's official settings (30 Adam steps of a fresh generator per round, batch 250, the "
                        "information weight 5, one query per image) with a generator of width 32 (official 128) "
                        "and R rounds, one pass over the growing pool per round (R(R+1)/2 student steps), the "
                        "student's learning rate on the loop's cosine (the official constant rate measured better: "
                        "Appendix B.8); the teacher behind an API answering its top-1 class.")


_LAYERS = dict(activation_layers=["features.pool2", "classifier.relu3", "classifier.relu4", "classifier.fc3"],
               spectral_layers=["features.relu1", "features.relu2"])

#: recipe name → builder(pick) -> Recipe
RECIPES: dict[str, Callable[[Callable], Recipe]] = {
    "kd-real": _kd_real,
    "zskd": _zskd,
    "arbitrary-noise": lambda p: _arbitrary(p, "arbitrary-noise", "noise",
                                            p(120, STUDENT_PROTOCOLS["arbitrary"][0])),
    "arbitrary-best": lambda p: _arbitrary(p, "arbitrary-best", "all offline",
                                           p(240, STUDENT_PROTOCOLS["arbitrary"][0],
                                             WORKSHOP_STEPS["arbitrary-best"])),
    "book": _book,
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
    "dfme": _dfme,
    "ideal": _ideal,
    "few-shot-kd": _few_shot,
    "full-kd": _full_kd,
}


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


def _rows(r: Recipe) -> dict:
    """A recipe's settings, flat: ``method.*``, ``student.*``, ``extra.*``."""
    return {"method": r.method, "teacher": r.teacher, "student": r.student_arch,
            **{f"method.{k}": v for k, v in r.settings.items()},
            **{f"student.{k}": v for k, v in asdict(r.student).items()},
            **{f"extra.{k}": v for k, v in r.extras.items()}}


def workshop_table():
    """What the workshop profile changes: one row per recipe and setting whose workshop value departs from the
    full one (recipe, setting; columns full and workshop). Every other setting of every recipe is the full one."""
    import pandas as pd

    out = []
    for name in RECIPES:
        full, ws = _rows(get(name, "full")), _rows(get(name, "workshop"))
        out += [{"recipe": name, "setting": k, "full": str(full.get(k)), "workshop": str(ws.get(k))}
                for k in dict.fromkeys([*full, *ws]) if full.get(k) != ws.get(k)]
    return pd.DataFrame(out, columns=["recipe", "setting", "full", "workshop"]).set_index(["recipe", "setting"])


def table(name: str, profiles: tuple[str, ...] = ("quick", "full")):
    """The recipe ``name`` as a DataFrame: one row per setting, its value at each of ``profiles`` (default quick
    and full, what the chapters show; the workshop's departures are listed by :func:`workshop_table`), shown whole
    (pandas' ``display.max_colwidth`` None). Raises ValueError for an unknown recipe (as :func:`get`)."""
    import pandas as pd

    pd.set_option("display.max_colwidth", None)
    cols = {p: _rows(get(name, p)) for p in profiles}
    keys = list(dict.fromkeys(k for c in cols.values() for k in c))
    show = {p: ["–" if c.get(k, "") is None else str(c.get(k, "")) for k in keys] for p, c in cols.items()}
    return pd.DataFrame(show,
                        index=pd.Index(keys, name="setting"))
