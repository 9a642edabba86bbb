"""Chapter 4's "Paper vs this book" table (see :mod:`dfkd_book.compare`).

Neither game's paper reports Fashion-MNIST, so the games' records (ZSKT, DFAD: ``bench adversarial --seeds 3``)
stand beside the best published data-free Fashion-MNIST students (hard-label black-box methods, method
``"hard-label"`` of :data:`dfkd_book.recipes.METHODS`); the mean transition error of the paper's walk (η = 1,
100 steps; study ``mte-sweep``) beside the ZSKT poster's SVHN and CIFAR-10 MTEs (Micaelli & Storkey 2019); DFAD's
MNIST numbers (Fang et al. 2019, Table 1) close the table as context from another dataset.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from .. import recipes, records, stats

GAMES = ("zskt", "dfad")
#: the MTE walk the table cites: the paper's step size and number of steps
MTE_WALK = dict(lr=1.0, steps=100)
INDEX = "LeNet-5 → LeNet-5-Half"
PAPER, BOOK = "paper", "this book, Fashion-MNIST"
NONE = "–"


def mte_label(student: str, profile: str = "full") -> str:
    """How the book names a student of the mean-transition-error records: their ``"full-data KD"`` is a short
    real-data run (recipe ``full-kd``), not the real-data ceiling, so it is named by its steps; others as they are."""
    if student != "full-data KD":
        return student
    return f"real-data KD, {recipes.get('full-kd', profile).student.steps:,} steps"


def _mte(runs: list[dict], student: str) -> str:
    """The MTE of ``student`` over the seeds of the paper's walk, ``"mean ± sd (n seeds)"``, or "–"."""
    mte = [r["mte"] for r in runs if r["student"] == student and r["lr"] == MTE_WALK["lr"]
           and r["steps"] == MTE_WALK["steps"]]
    return f"{stats.mean_sd_text(mte, 3)} ({len(mte)} seeds)" if mte else NONE


def _poster_mte(who: str) -> str:
    return ", ".join(f"{name} {recipes.published('zskt', f'mte, {who}', d).value:.2f}"
                     for name, d in (("SVHN", "svhn"), ("CIFAR-10", "cifar10")))


def _check_live(live: Mapping[str, float] | None) -> dict[str, float]:
    if live is None:
        return {}
    if not isinstance(live, Mapping):
        raise TypeError(f"live must be a mapping game → accuracy (%), got {type(live).__name__}")
    for game, acc in live.items():
        if game not in GAMES:
            raise ValueError(f"live: unknown game {game!r}; expected one of {GAMES}")
        if not isinstance(acc, (int, float)) or not math.isfinite(acc) or not 0 <= acc <= 100:
            raise ValueError(f"live[{game!r}] must be an accuracy in % (0 to 100), got {acc!r}")
    return dict(live)


def table(live: Mapping[str, float] | None = None, results_dir=None):
    """Chapter 4's "Paper vs this book" table, a pandas DataFrame indexed by row (index name :data:`INDEX`),
    columns ``["paper", "this book, Fashion-MNIST"]``, every cell text ("–" where a side has no number).

    Rows: the teacher's accuracy (%); each game's student, its record ``records.load(game)``: ``student_acc ±
    student_acc_sd`` (% accuracy, mean ± sd over ``seeds`` seeds), with the chapter's own seed-0 run below it when
    ``live`` gives one (``{"zskt": %, "dfad": %}``); the hard-label black-box students (``recipes.about
    ("hard-label")``); the MTE (in [0, 1]) of the zero-shot, KD + attention transfer, few-shot KD and real-data KD
    students (book: study ``mte-sweep`` at :data:`MTE_WALK`, mean ± sd over seeds; paper: the ZSKT poster's SVHN
    and CIFAR-10 values); DFAD's MNIST teacher and student (Fang et al. 2019, Table 1).

    Raises:
        ValueError: ``live`` names an unknown game or gives a value that is not an accuracy in %.
        TypeError: ``live`` is not a mapping.
        FileNotFoundError: a game's record or the ``mte-sweep`` runs are missing from ``results_dir``.
    """
    import pandas as pd

    live = _check_live(live)
    recs = {g: records.load(g, results_dir) for g in GAMES}
    sweep = records.load_runs("mte-sweep", results_dir)
    per_class = recipes.get("few-shot-kd", "full").extras["per_class"]
    kd = recipes.get("full-kd", "full")
    epochs = round(kd.student.steps * kd.student.batch_size / kd.extras["images"])
    rows = [("teacher LeNet-5: accuracy (%)", NONE, f"{recs['zskt']['teacher_acc']:.2f}")]
    for g, rec in recs.items():
        note = rec.get("paper", {}).get("note")
        rows.append((f"{g.upper()} student: accuracy (%)", f"{NONE} ({note})" if note else NONE,
                     f"{rec['student_acc']:.2f} ± {rec['student_acc_sd']:.2f} ({rec['seeds']} seeds)"))
        if g in live:
            rows.append((f"{g.upper()} student: this chapter's run (seed 0)", NONE, f"{live[g]:.2f}"))
    rows += [(f"{p.key}, hard-label black-box: accuracy (%)", f"{p.value:.2f}", NONE)
             for p in recipes.about("hard-label").published]
    rows += [("MTE, the zero-shot (ZSKT) student", _poster_mte("zero-shot"), _mte(sweep, "zero-shot (ZSKT)")),
             ("MTE, a KD + attention transfer student", _poster_mte("KD + AT"), NONE),
             (f"MTE, few-shot KD ({per_class} images per class)", NONE, _mte(sweep, "few-shot KD")),
             (f"MTE, real-data KD ({epochs} epochs)", NONE, _mte(sweep, "full-data KD"))]
    rows += [(f"MNIST (context): {who}, accuracy (%)", f"{recipes.published('dfad', key).value}", NONE)
             for key, who in (("teacher", "teacher LeNet-5"), ("student", "DFAD student"))]
    return pd.DataFrame(rows, columns=[INDEX, PAPER, BOOK]).set_index(INDEX)
