"""Chapter 2's "Paper vs this book" table (see :mod:`dfkd_book.compare`).

ZSKD (Nayak et al. 2019), Fashion-MNIST, LeNet-5 → LeNet-5-Half: the paper's Tables 2, 6 and 7 and its Fig. 3
beside the book's leaderboard record ``zskd`` (the headline) and the book's ablation study ``zskd-ablations``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import recipes, records

METHOD = "zskd"
STUDY = "zskd-ablations"
#: the ablation study's rows the table shows → (what the row says, the paper's key in recipes.METHODS or None)
ABLATION_ROWS = {
    "data impressions, with augmentation": ("ZSKD, with augmentation (Table 2)", "student"),
    "data impressions, without augmentation": ("ZSKD, without augmentation (Table 6)", "without augmentation"),
    "uniform prior, without augmentation": ("uniform prior, without augmentation (Table 7)", "uniform prior"),
    "class impressions, without augmentation": ("class impressions, without augmentation (Fig. 3)", None),
    "paper's crafting (noise in [0, 1], no jitter), with augmentation":
        ("the paper's crafting, with augmentation", None),
}
COLUMNS = ("paper", "this book", "± sd", "difference")
DASH = "–"


@dataclass(frozen=True)
class Comparison:
    """What :func:`table` returns: ``table``, the DataFrame (rows as described there, columns :data:`COLUMNS`,
    every cell a number as text with two decimals, "–" where a side has none, never NaN), and ``glue``, the
    values the chapter's prose cites, as text (name → string, for ``chapters.glue``)."""

    table: object
    glue: dict[str, str] = field(default_factory=dict)


def _percent(value, what: str) -> float:
    """``value`` as a float when it is an accuracy in % (0 to 100); ValueError naming ``what`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 100:
        raise ValueError(f"{what} must be an accuracy in % (0 to 100), got {value!r}")
    return float(value)


def _cells(paper: float | None, book: float | None, sd: float | None = None) -> list[str]:
    """A table row as text with two decimals: paper, book, sd, book − paper ("–" where a number is None)."""
    text = lambda x: DASH if x is None else f"{x:.2f}"
    return [text(paper), text(book), text(sd), text(None if paper is None or book is None else book - paper)]


def _run_row(run) -> tuple[str, float]:
    """This chapter's run ``(accuracy in %, student steps, batch size)`` as (its label, its accuracy).
    Raises ValueError on anything else."""
    if not (isinstance(run, tuple) and len(run) == 3):
        raise ValueError(f"run must be (accuracy %, steps, batch size), got {run!r}")
    acc, steps, batch = run
    return f"this chapter's run, seed 0, {steps:,} steps × {batch}", _percent(acc, "the run's accuracy")


def _record_label(rec: dict) -> str:
    """Where a leaderboard record's number comes from: its seeds and its student's steps × batch."""
    return f"leaderboard record, {rec['seeds']} seeds, {rec['steps']:,} steps × {rec['batch_size']}"


def _frame(rows: dict):
    """The DataFrame of ``{(where the book's number comes from, what): _cells(...)}``, columns :data:`COLUMNS`."""
    import pandas as pd

    index = pd.MultiIndex.from_tuples(list(rows), names=["this book's number from", ""])
    return pd.DataFrame(list(rows.values()), columns=list(COLUMNS), index=index)


def table(teacher_acc: float | None = None, run: tuple[float, int, int] | None = None,
          impression_steps: int | None = None, results_dir=None) -> Comparison:
    """ZSKD's paper numbers beside this book's, one row each (accuracies in % on the Fashion-MNIST test set).

    Rows: the teacher; **the headline**, the leaderboard record ``records.load("zskd")`` (``student_acc`` ±
    ``student_acc_sd`` over its ``seeds`` seeds) against the paper's Table 2; its retention (% of the teacher's
    accuracy, each side against its own teacher); when the record has it, the paper's selection rule on the same
    runs (the best test evaluation of each seed, ZSKD's ``global_accuracy``: beside the final student, never as
    the book's result); this chapter's run (seed 0) when ``run`` is given; then the ablation study's rows
    (``records.load_summary("zskd-ablations")``, labelled with its seeds and its shorter student protocol) against
    Tables 6 and 7 and Fig. 3. Paper numbers come from :data:`dfkd_book.recipes.METHODS` (Nayak et al. 2019, Tables
    2, 6, 7; Section 4 for the crafting budget).

    Args:
        teacher_acc: the teacher's test accuracy in % as the chapter measured it (default: the record's).
        run: this chapter's own run as ``(accuracy in %, student steps, batch size)``, or None.
        impression_steps: the chapter's crafting budget (impressions × steps each), to set beside the paper's.
        results_dir: another ``results/`` folder (tests).

    Returns:
        a :class:`Comparison`: ``table`` (columns ``paper``, ``this book``, ``± sd``, ``difference`` = book −
        paper in points) and ``glue`` (``rec_acc``, ``abl_steps``, ``abl_batch``, ``paper_dis``,
        ``paper_dis_steps``, ``paper_msteps``, ``paper_student_steps``; with ``impression_steps`` also
        ``dis_msteps`` and ``craft_share``).

    Raises:
        ValueError: an accuracy outside [0, 100], a malformed ``run`` or a non-positive ``impression_steps``.
        FileNotFoundError: the record or the study's summary is missing.
    """
    rec = records.load(METHOD, results_dir)
    abl = records.load_summary(STUDY, results_dir)
    rows_by_label = {r["label"]: r for r in abl["rows"]}

    def paper(key: str) -> float:
        return recipes.published(METHOD, key).value

    teacher = _percent(rec["teacher_acc"] if teacher_acc is None else teacher_acc, "teacher_acc")
    record = _record_label(rec)
    rows = {("the teacher", "LeNet-5"): _cells(paper("teacher"), teacher),
            (record, "ZSKD, with augmentation (Table 2)"): _cells(paper("student"), rec["student_acc"],
                                                                 rec["student_acc_sd"]),
            (record, "retention, % of the teacher"): _cells(100 * paper("student") / paper("teacher"),
                                                          100 * rec["student_acc"] / rec["teacher_acc"])}
    if "best_test_epoch_acc" in rec:  # ZSKD's code reports the best test epoch: shown beside, never instead
        rows[(record, "the paper's selection (best test epoch)")] = _cells(
            paper("student"), rec["best_test_epoch_acc"], rec["best_test_epoch_acc_sd"])
    if run is not None:
        where, acc = _run_row(run)
        rows[(where, "ZSKD, with augmentation (Table 2)")] = _cells(paper("student"), acc)
    proto = abl["yardstick_protocol"]
    for label, (what, key) in ABLATION_ROWS.items():
        r = rows_by_label[label]
        study = f"ablation study, {r['seeds']} seeds, {proto['steps']:,} steps × {proto['batch_size']}"
        # the study's shorter student: its rows are read against one another, so no difference to the paper
        rows[(study, what)] = _cells(None if key is None else paper(key), r["test_acc"], r["test_acc_sd"])[:3] + [DASH]

    dis, per = int(paper("impressions")), paper("steps per impression")
    glue = {"rec_acc": f"{rec['student_acc']:.2f} ± {rec['student_acc_sd']:.2f} %",
            "abl_steps": f"{proto['steps']:,}", "abl_batch": f"{proto['batch_size']:,}",
            "paper_dis": f"{dis:,}", "paper_dis_steps": f"{per:,.0f}", "paper_msteps": f"{dis * per / 1e6:.0f} M",
            # the paper trained its student for up to this many epochs of its impressions
            "paper_student_steps": f"{int(paper('student epochs')) * dis // int(paper('student batch size')):,}"}
    if impression_steps is not None:
        if not isinstance(impression_steps, int) or impression_steps < 1:
            raise ValueError(f"impression_steps must be a positive int, got {impression_steps!r}")
        glue["dis_msteps"] = f"{impression_steps / 1e6:.2f} M"
        glue["craft_share"] = f"{100 * impression_steps / (dis * per):.1f} %"
    return Comparison(_frame(rows), glue)
