"""Chapter 5's "Paper vs this book" table (see :mod:`dfkd_book.compare`).

The four feature-statistics inversions of chapter 5 — BN statistics, DeepInversion, activation records, spectral
records — each by its leaderboard record (``results/records/METHOD.json``, written by
``python -m dfkd_book.experiments.bench METHOD --seeds 3``), with the statistics each inverts and their size,
the uniform-noise floor the ``spectral`` bench measured beside its record, and, as context, the MNIST numbers of
Lopes et al. 2017 (Table 1) from :data:`dfkd_book.recipes.METHODS`. No paper reports these methods on
Fashion-MNIST.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from .. import data, models, recipes, records
from ..synthesis import batchnorms

#: the chapter's methods, in the table's order
METHODS = ("bn-stats", "deepinversion", "activation-records", "spectral")
#: the context column: Lopes et al. 2017, Table 1, on MNIST
PAPER = "Lopes et al. 2017 on MNIST (%), context"
COLUMNS = ("this book (%)", "seeds", "statistics inverted (size)", PAPER)
#: method → the published keys of :data:`dfkd_book.recipes.METHODS` shown as context, and how the cell names each
CONTEXT = {"activation-records": {"top layer": "top layer", "all layers": "all layers"},
           "spectral": {"spectral layer pairs": "graph spectra of layer pairs"}}
#: what every row is: the teachers' data set → the student
INDEX = "Fashion-MNIST → LeNet-5-Half"
#: the row of the uniform-noise floor (the ``spectral`` record's ``uniform_noise_student_acc``, seed 0)
FLOOR = "uniform noise (floor), seed 0"


@dataclass(frozen=True)
class Comparison:
    """What chapter 5 shows and glues: ``table`` (a DataFrame, one row per method and the floor, columns
    :data:`COLUMNS`, strings, "–" where there is nothing) and ``di_over_bn``, the points (% accuracy) by which
    DeepInversion's mean student is above BN-statistics matching's."""

    table: object
    di_over_bn: float


def label(method: str) -> str:
    """How chapter 5's tables name ``method``: its label in :data:`dfkd_book.recipes.METHODS`, the metadata methods
    marked "(metadata)". Raises ValueError for an unknown method."""
    about = recipes.about(method)
    return about.label + " (metadata)" * (about.group == "metadata")


def bn_statistics_bytes(arch: str, dataset: str) -> int:
    """The bytes of the BN statistics (every BatchNorm's running mean and variance) that a teacher of
    architecture ``arch`` for ``dataset`` carries among its weights: what BN inversion reads. 0 without BN.
    Raises ValueError for an unknown architecture or dataset."""
    model = models.build(arch, data.channels(dataset), len(data.classes(dataset)))
    return sum(b.running_mean.nbytes + b.running_var.nbytes for _, b in batchnorms(model))


def _size(nbytes: float) -> str:
    return f"{nbytes / 1e6:.2f} MB" if nbytes >= 1e6 else f"{nbytes / 1e3:.1f} kB"


def _needs(rec: dict) -> str:
    """The statistics the method inverts and their size: its metadata, or the BN statistics in the teacher."""
    if recipes.about(rec["method"]).group == "metadata":
        if "metadata_bytes" not in rec:
            raise ValueError(f"the record of {rec['method']} lacks metadata_bytes; re-run its bench")
        return f"metadata: {_size(rec['metadata_bytes'])}"
    bn = bn_statistics_bytes(rec["teacher"], rec["dataset"])
    return f"BN statistics, in the teacher ({_size(bn)})"


def _context(method: str) -> str:
    cells = [f"{name} {recipes.published(method, key).value:.2f}" for key, name in CONTEXT.get(method, {}).items()]
    return ", ".join(cells) or "–"


def table(results_dir: str | os.PathLike | None = None) -> Comparison:
    """Chapter 5's "Paper vs this book" table, from the records of :data:`METHODS` (in ``results_dir``, default the
    package's ``results/``).

    Rows (indexed by :func:`label`): every method's leaderboard record — ``student_acc`` ± ``student_acc_sd`` (%
    test accuracy of LeNet-5-Half on Fashion-MNIST, mean ± sd over ``seeds`` seeds), which statistics it inverts
    and their size (its metadata, or the BN statistics the teacher already carries: never "0 MB"), and the MNIST
    numbers of Lopes et al. 2017 (Table 1) as context ("–" where none); then the uniform-noise floor, one seed.
    Source: the records; the paper's numbers from :func:`dfkd_book.recipes.published`.

    Raises:
        FileNotFoundError: a method has no record (naming the command that writes it).
        ValueError: a record outside the schema, of another method, or lacking ``metadata_bytes`` (a metadata
            method) or ``uniform_noise_student_acc`` (``spectral``).
    """
    import pandas as pd

    recs = {m: records.load(m, results_dir) for m in METHODS}
    for m, rec in recs.items():
        if rec["method"] != m:
            raise ValueError(f"the record of {m} holds a record of {rec['method']!r}")
    rows = {label(m): (f"{r['student_acc']:.2f} ± {r['student_acc_sd']:.2f}", r["seeds"], _needs(r), _context(m))
            for m, r in recs.items()}
    if "uniform_noise_student_acc" not in recs["spectral"]:
        raise ValueError("the record of spectral lacks uniform_noise_student_acc; re-run its bench")
    rows[FLOOR] = (f"{recs['spectral']['uniform_noise_student_acc']:.2f}", 1, "–", "–")
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=list(COLUMNS)).rename_axis(INDEX)
    gain = recs["deepinversion"]["student_acc"] - recs["bn-stats"]["student_acc"]
    return Comparison(frame, round(gain, 2))
