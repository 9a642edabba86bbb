"""Chapter 6's "Paper vs this book" table (see :mod:`dfkd_book.compare`)."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping

from .. import recipes, records

#: the table's methods, in its order → how its rows name them
METHODS = {"ssd-kd": "SSD-KD", "ssd-kd-fast": "SSD-KD, Fast's generator", "deepinversion": "DeepInversion"}
#: the table's columns
PAPER = "paper (CIFAR-10, ResNet-34 → ResNet-18)"
TABLE = "paper's table"
RECORD = "this book (Fashion-MNIST, LeNet-5-BN → LeNet-5-Half): leaderboard record"
RACE = "this chapter's run (seed 0)"
DASH = "–"


def _check_race(race) -> dict[str, tuple[float, float]]:
    if not isinstance(race, Mapping):
        raise TypeError(f"race must map a method to (student accuracy %, wall seconds), got {type(race).__name__}")
    if set(race) != set(METHODS):
        raise ValueError(f"race must hold exactly {sorted(METHODS)}, got {sorted(race)}")
    out = {}
    for m, pair in race.items():
        try:
            acc, wall = (float(v) for v in pair)
        except (TypeError, ValueError):
            raise ValueError(f"race[{m!r}] must be (student accuracy %, wall seconds), got {pair!r}") from None
        if not (0 <= acc <= 100 and math.isfinite(wall) and wall > 0):
            raise ValueError(f"race[{m!r}]: accuracy must be in [0, 100] % and wall time > 0 s, got {pair!r}")
        out[m] = (acc, wall)
    return out


def table(race: Mapping[str, tuple[float, float]] | None = None,
          results_dir: str | os.PathLike | None = None):
    """Chapter 6's "Paper vs this book" table: SSD-KD's paper beside the book's records and the chapter's run.

    Args:
        race: the chapter's own race (seed 0), for each method of :data:`METHODS` ``(student test accuracy in %,
            wall seconds of the whole run, synthesis included)``; None leaves its column out.
        results_dir: where the records are (default: the committed ``results/``).

    Returns:
        A DataFrame of strings (numbers to two decimals, ``"–"`` where there is none). Rows: ``"teacher (%)"``,
        ``"<label> student (%)"`` for each method (before DeepInversion's, which the paper reports in Table 2 only,
        ``"SSD-KD student, Table 2's scale (%)"``: the paper's like with like for it; the book runs one scale),
        ``"SSD-KD student / teacher (%)"``, and ``"wall time,
        DeepInversion / <label>"`` for the two SSD-KD runs. Columns: :data:`PAPER` (Liu et al. 2024, SSD-KD:
        Table 1's teacher and student at 10 % of the data, Table 2's DeepInversion student and wall times, through
        :func:`dfkd_book.recipes.published`), :data:`TABLE` (where in the paper), :data:`RECORD` (each method's
        leaderboard record, :func:`dfkd_book.records.load`: mean ± sd over its seeds; the wall-time ratio only
        where the two records made as many synthetic samples) and, given ``race``, :data:`RACE`.

    Raises:
        FileNotFoundError: a method has no record.
        TypeError: ``race`` is not a mapping.
        ValueError: ``race`` lacks a method or holds one more, or a pair is not (accuracy in [0, 100], wall > 0).
    """
    import pandas as pd

    race = None if race is None else _check_race(race)
    rec = {m: records.load(m, results_dir) for m in METHODS}
    pub = {(m, k): recipes.published(m, k) for m in METHODS
           for k in ("student", "teacher", "wall time", "student, relaxed scale")}

    def num(v, sd=None):
        return DASH if v is None else f"{v:.2f}" if sd is None else f"{v:.2f} ± {sd:.2f}"

    def paper(m, k):
        p = pub[m, k]
        return (num(p.value), p.table) if p else (DASH, DASH)

    def ratio(a, b):
        return None if a is None or b is None else a / b

    ssd = rec["ssd-kd"]
    rows = {"teacher (%)": (*paper("ssd-kd", "teacher"), num(ssd.get("teacher_acc")), DASH)}
    for m, label in METHODS.items():
        if m == "deepinversion":  # the paper's DeepInversion is Table 2's: SSD-KD at Table 2's scale above it
            rows["SSD-KD student, Table 2's scale (%)"] = (*paper("ssd-kd", "student, relaxed scale"), DASH, DASH)
        live = race and race[m][0]
        rows[f"{label} student (%)"] = (*paper(m, "student"), num(rec[m]["student_acc"], rec[m]["student_acc_sd"]),
                                        num(live))
    s, t = pub["ssd-kd", "student"], pub["ssd-kd", "teacher"]
    rows["SSD-KD student / teacher (%)"] = (num(100 * s.value / t.value), s.table,
                                           num(ratio(100 * ssd["student_acc"], ssd.get("teacher_acc"))), DASH)
    di = rec["deepinversion"]
    for m in ("ssd-kd", "ssd-kd-fast"):
        same = di.get("transfer_samples") is not None and di.get("transfer_samples") == rec[m].get("transfer_samples")
        p_di, p_m = pub["deepinversion", "wall time"], pub[m, "wall time"]
        rows[f"wall time, DeepInversion / {METHODS[m]}"] = (
            num(p_di and p_m and p_di.value / p_m.value), p_m.table if p_di and p_m else DASH,
            num(ratio(di["wall_s"], rec[m]["wall_s"]) if same else None),
            num(race and race["deepinversion"][1] / race[m][1]))
    seeds = {r["seeds"] for r in rec.values()}
    record_col = RECORD + f", mean ± sd over {seeds.pop()} seeds" if len(seeds) == 1 else RECORD
    df = pd.DataFrame.from_dict(rows, orient="index", columns=[PAPER, TABLE, record_col, RACE])
    return df if race else df.drop(columns=RACE)
