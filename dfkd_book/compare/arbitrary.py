"""Chapter 3's "Paper vs this book" table (see :mod:`dfkd_book.compare`), and its Table 1 study.

Nayak, Mopuri and Chakraborty 2021 ("arbitrary transfer sets"), Fashion-MNIST, LeNet-5 → LeNet-5-Half: the
paper's Tables 1 and 2 beside the book's leaderboard records ``arbitrary-best`` (the headline), ``arbitrary-noise``
and ``zskd``, and beside the book's ablation study ``arbitrary-ablations`` (Table 1's layout).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .. import recipes, records

BEST, NOISE = "arbitrary-best", "arbitrary-noise"
STUDY = "arbitrary-ablations"
#: Table 1's rows: (the book's family, unbalanced or balanced) → the paper's set
PAPER_SETS = {
    ("noise", "unbalanced"): "random noise",
    ("noise", "balanced"): "random noise, balanced",
    ("synthetic", "unbalanced"): "Clevr",
    ("synthetic", "balanced"): "Clevr + Mid-Air",
    ("natural", "unbalanced"): "SVHN",
    ("natural", "balanced"): "SVHN + TinyImageNet",
}
AUGMENTATION = ("without", "with")
COLUMNS = ("paper", "this book", "± sd", "difference")
DASH = "–"


@dataclass(frozen=True)
class Comparison:
    """What :func:`table` and :func:`table1` return: ``table``, a DataFrame whose every cell is text (two decimals;
    "–" where a side has no number, never NaN), and ``glue``, name → text that the chapter's prose cites."""

    table: object
    glue: dict


def _text(x: float | None) -> str:
    return DASH if x is None else f"{x:.2f}"


def _accuracy(value, what: str) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 100
    if not ok:
        raise ValueError(f"{what} must be an accuracy in % (0 to 100), got {value!r}")
    return float(value)


def _source(rec: dict) -> str:
    return f"leaderboard record, {rec['seeds']} seeds, {rec['steps']:,} steps × {rec['batch_size']}"


def table(teacher_acc: float | None = None, run: tuple[float, int, int] | None = None,
          classes: Sequence[str] | None = None, results_dir=None) -> Comparison:
    """The paper's Table 2 (its best arbitrary set, ZSKD, DeGAN) and its balanced noise beside this book's
    leaderboard records, one row each (accuracies in % on the Fashion-MNIST test set).

    Rows: the teacher; **the headline**, the record ``records.load("arbitrary-best")`` (every offline source,
    balanced; ``student_acc`` ± ``student_acc_sd`` over its seeds) against the paper's SVHN + TinyImageNet; its
    retention (% of the teacher's accuracy, each side against its own teacher); when the record has it, the
    paper's selection rule on the same runs (each seed's best test evaluation: beside the final student, never
    as the book's result); this chapter's run (seed 0) when ``run`` is given; balanced uniform noise (record
    ``arbitrary-noise``); ZSKD (record ``zskd``, chapter 2); DeGAN, which this book does not run ("–"). Paper
    numbers come from :data:`dfkd_book.recipes.METHODS` (Nayak et al. 2021, Tables 1 and 2; Nayak et al. 2019, Table
    2 for the teacher and ZSKD).

    Args:
        teacher_acc: the teacher's test accuracy in % as the chapter measured it (default: the record's).
        run: this chapter's own run as ``(accuracy in %, student steps, batch size)``, or None.
        classes: the class names, to name the class the balanced noise set is shortest of (default "class k").
        results_dir: another ``results/`` folder (tests).

    Returns:
        a :class:`Comparison`: ``table`` (columns ``paper``, ``this book``, ``± sd``,
        ``difference`` = book − paper in points; "–" where a side has no number) and ``glue``: ``best_rec`` and
        ``noise_rec`` (mean ± sd, %), and from the balanced noise record's Algorithm 1, ``noise_rarest`` (its
        shortest class), ``noise_found`` (images of it met), ``noise_examined`` (candidates), ``noise_quota``
        and ``noise_need`` (candidates its quota would take, at the rate met).

    Raises:
        ValueError: an accuracy outside [0, 100], a malformed ``run`` or ``classes`` of the wrong length.
        FileNotFoundError: a record is missing.
    """
    import pandas as pd

    best, noise, zskd = (records.load(m, results_dir) for m in (BEST, NOISE, "zskd"))
    teacher = _accuracy(best["teacher_acc"] if teacher_acc is None else teacher_acc, "teacher_acc")
    paper_teacher, paper_best = recipes.published("zskd", "teacher").value, recipes.published(BEST).value
    what = "best arbitrary set, with augmentation (Table 1)"
    rows = [("the teacher", "LeNet-5", paper_teacher, teacher, None),
            (_source(best), what, paper_best, best["student_acc"], best["student_acc_sd"]),
            (_source(best), "retention, % of the teacher", 100 * paper_best / paper_teacher,
             100 * best["student_acc"] / best["teacher_acc"], None)]
    if "best_test_epoch_acc" in best:  # the paper's number is the best test epoch's: shown beside, never instead
        rows.append((_source(best), "the paper's selection (best test epoch)", paper_best,
                     best["best_test_epoch_acc"], best["best_test_epoch_acc_sd"]))
    if run is not None:
        if not (isinstance(run, tuple) and len(run) == 3):
            raise ValueError(f"run must be (accuracy %, steps, batch size), got {run!r}")
        rows.append((f"this chapter's run, seed 0, {run[1]:,} steps × {run[2]}", what, paper_best,
                     _accuracy(run[0], "the run's accuracy"), None))
    rows += [(_source(noise), "balanced uniform noise, with augmentation (Table 1)",
              recipes.published(NOISE).value, noise["student_acc"], noise["student_acc_sd"]),
             (_source(zskd), "ZSKD, chapter 2 (Table 2)", recipes.published("zskd").value, zskd["student_acc"],
              zskd["student_acc_sd"]),
             ("not run by this book", "DeGAN, a GAN on proxy data (Table 2)",
              recipes.published(BEST, "DeGAN").value, None, None)]
    df = pd.DataFrame([[_text(p), _text(b), _text(sd), _text(None if b is None else b - p)]
                       for *_, p, b, sd in rows], columns=list(COLUMNS),
                      index=pd.MultiIndex.from_tuples([r[:2] for r in rows], names=["this book's number from", ""]))

    (composition,) = noise["composition"].values()
    counts = composition["counts"]
    if classes is not None and len(classes) != len(counts):
        raise ValueError(f"classes must name the record's {len(counts)} classes, got {len(classes)}")
    rarest = min(range(len(counts)), key=counts.__getitem__)
    found, examined = counts[rarest], sum(composition["examined_per_source"].values())
    quota = noise["recipe"]["settings"]["n"] // len(counts)
    glue = {f"{k}_rec": f"{r['student_acc']:.2f} ± {r['student_acc_sd']:.2f} %"
            for k, r in (("best", best), ("noise", noise))}
    glue |= {"noise_rarest": classes[rarest] if classes is not None else f"class {rarest}",
             "noise_found": f"{found:,}", "noise_examined": f"{examined:,}", "noise_quota": f"{quota:,}",
             "noise_need": f"about {quota * examined / found / 1e6:.0f} million" if found else "far more"}
    return Comparison(df, glue)


def table1(results_dir=None) -> Comparison:
    """The paper's Table 1 (Fashion-MNIST) beside the book's ablation study ``arbitrary-ablations`` (its own runs,
    labelled as the study's: not the leaderboard's records).

    Returns:
        a :class:`Comparison`: ``table``, indexed by (family, ``unbalanced`` or
        ``balanced``), columns: the paper's set, then for ``without`` and ``with`` augmentation the paper's number
        (Nayak et al. 2021, Table 1, via :func:`dfkd_book.recipes.published`) and the study's mean ± sd over its
        seeds in % (the column names the seeds and student steps; "–" for a row not run); ``glue``: ``gain_F``
        (balanced − unbalanced with augmentation, points, for every family F) and ``noise_K_wo`` / ``noise_K_w``
        (the noise rows without / with augmentation, %, K ``unbalanced`` or ``balanced``).

    Raises:
        FileNotFoundError: the study's summary is missing.
    """
    import pandas as pd

    rows = {r["label"]: r for r in records.load_summary(STUDY, results_dir)["rows"]}
    label = lambda fam, kind, aug: f"{fam}, {kind}, {aug} augmentation"
    span = lambda v: "–".join(f"{x:,}" for x in dict.fromkeys((min(v), max(v))))  # "3" or "1–3"
    data = {k: {"paper's set": v} for k, v in PAPER_SETS.items()}
    for aug in AUGMENTATION:
        ran = [rows[label(*k, aug)] for k in PAPER_SETS if label(*k, aug) in rows] or [{"seeds": 0, "protocol": {}}]
        seeds, steps = {r["seeds"] for r in ran}, {r["protocol"].get("steps", 0) for r in ran}
        study = f"ablation study, {span(seeds)} seed{'s' * (max(seeds) != 1)}, {span(steps)} steps"
        for k in PAPER_SETS:
            r = rows.get(label(*k, aug))
            data[k][(aug, "paper")] = f"{recipes.published(BEST, label(*k, aug)).value:.2f}"
            data[k][(aug, study)] = DASH if r is None else (
                f"{r['test_acc']:.2f}" + (f" ± {r['test_acc_sd']:.2f}" if r["seeds"] > 1 else ""))
    df = pd.DataFrame.from_dict(data, orient="index")
    df.index.names = ["family", "set"]
    df.columns = pd.MultiIndex.from_tuples(
        [("", c) if isinstance(c, str) else (f"{c[0]} augmentation", c[1]) for c in df.columns])

    acc = lambda fam, kind, aug: rows[label(fam, kind, aug)]["test_acc"]
    has = lambda *cell: label(*cell) in rows
    glue = {f"gain_{fam}": f"{acc(fam, 'balanced', 'with') - acc(fam, 'unbalanced', 'with'):+.2f}"
            for fam in dict.fromkeys(f for f, _ in PAPER_SETS)
            if has(fam, "balanced", "with") and has(fam, "unbalanced", "with")}
    glue |= {f"noise_{kind}_{'w' if aug == 'with' else 'wo'}": f"{acc('noise', kind, aug):.2f} %"
             for kind in ("unbalanced", "balanced") for aug in AUGMENTATION if has("noise", kind, aug)}
    return Comparison(df, glue)
