"""The one door to ``results/``: load and save a method's record, a study's runs and a study's summary.

Layout (``RESULTS`` is the repository's ``results/``, shipped inside the wheel as ``dfkd_book/results``):

``results/records/METHOD.json``
    **A method's record**, one per leaderboard method (and its parts: each adversarial game), written by
    ``python -m dfkd_book.experiments.bench METHOD --seeds N``. What the chapters and the leaderboard read.
``results/runs/STUDY.jsonl``
    **A study's runs**, one JSON object per line, appended as each run finishes (lever studies, the student
    protocol search, the ablations, the races). What the reproduction appendix reads.
``results/runs/STUDY.json``
    **A study's summary** computed from its runs (``protocol``, ``yardstick``, ``zskd-ablations``,
    ``arbitrary-ablations``), or a measurement that is not a student (``chapters``: the chapters' costs,
    ``speed``, ``bench-all``).

The schema (one for every file; :func:`check_record` and :func:`check_run` enforce it on save and on load):

* every record and run names where it was made — ``commit`` (a git commit, ``+dirty`` when the tree had
  uncommitted changes, ``"unknown"`` where a run predates the field), ``device`` (``"cpu"`` or the GPU's name,
  ``"unknown"`` where not recorded). Records add ``threads``, ``profile``, ``date`` (UTC, ISO 8601), ``torch``.
  A summary is computed from runs that carry theirs.
* a **record** (:data:`RECORD_KEYS`): ``method``, ``dataset``, ``teacher``, ``student``, ``student_acc`` (%, the
  mean over seeds), ``student_acc_sd``, ``seeds``, ``per_seed`` (%, seed 0 first), ``wall_s`` (seconds per seed),
  and the provenance above; usually also ``teacher_acc``, ``steps``, ``teacher_queries`` (``{"forward",
  "backward"}`` images per seed), ``recipe``, ``history``.
* a **run** (:data:`RUN_KEYS`): ``study`` (the file it belongs to), ``label`` (what was run: a row, a lever, a
  method), ``seed``, ``commit``, ``device``; usually ``test_acc`` (%), ``val_acc`` (%), ``wall_s``.

Accuracies are in percent, times in seconds. Writes are atomic (temp file + rename): an interrupted run never
leaves half a record.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from . import config

RESULTS = config.RESULTS
RECORDS = "records"
RUNS = "runs"
PROVENANCE = ("commit", "device")
RECORD_KEYS = ("method", "dataset", "teacher", "student", "student_acc", "student_acc_sd", "seeds", "per_seed",
               "wall_s", "threads", "profile", "date", "torch") + PROVENANCE
RUN_KEYS = ("study", "label", "seed") + PROVENANCE


def _root(results_dir) -> Path:
    return Path(RESULTS if results_dir is None else results_dir)


def _check_name(name: str, what: str) -> None:
    if not isinstance(name, str) or not name or "/" in name or name.startswith("."):
        raise ValueError(f"{what} must be a plain file stem such as 'zskd', got {name!r}")


def _check(obj, keys: tuple[str, ...], kind: str, where: str) -> None:
    if not isinstance(obj, Mapping):
        raise ValueError(f"{where}: a {kind} is a dict, got {type(obj).__name__}")
    missing = [k for k in keys if k not in obj]
    if missing:
        raise ValueError(f"{where} lacks {missing} (a {kind} needs {list(keys)})")


def check_record(rec: Mapping, where: str = "record") -> None:
    """Raise ValueError naming the missing keys when ``rec`` is not a method record of the schema."""
    _check(rec, RECORD_KEYS, "record", where)


def check_run(run: Mapping, where: str = "run") -> None:
    """Raise ValueError naming the missing keys when ``run`` is not a study run of the schema."""
    _check(run, RUN_KEYS, "run", where)


def _write_json(path: Path, obj) -> Path:
    text = json.dumps(obj, indent=1, ensure_ascii=False) + "\n"
    return config.atomic_write(path, lambda f: f.write(text.encode()))


# --- method records --------------------------------------------------------------------------------------------

def record_path(method: str, results_dir: str | os.PathLike | None = None) -> Path:
    _check_name(method, "method")
    return _root(results_dir) / RECORDS / f"{method}.json"


def methods(results_dir: str | os.PathLike | None = None) -> list[str]:
    """The methods that have a record, sorted."""
    return sorted(p.stem for p in (_root(results_dir) / RECORDS).glob("*.json"))


def load(method: str, results_dir: str | os.PathLike | None = None) -> dict:
    """The record of ``method`` (``results/records/METHOD.json``).

    Raises:
        FileNotFoundError: no record, naming the command that writes it.
        ValueError: a record that does not follow the schema.
    """
    path = record_path(method, results_dir)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: `python -m dfkd_book.experiments.bench {method} --seeds 3` "
                                "writes it")
    rec = json.loads(path.read_text())
    check_record(rec, str(path))
    return rec


def save(rec: Mapping, results_dir: str | os.PathLike | None = None) -> Path:
    """Write a method record atomically to ``results/records/<rec["method"]>.json``; returns the path.

    Raises:
        ValueError: a record that does not follow the schema (nothing is written).
    """
    check_record(rec)
    return _write_json(record_path(rec["method"], results_dir), dict(rec))


# --- study runs and summaries ----------------------------------------------------------------------------------

def runs_path(study: str, results_dir: str | os.PathLike | None = None) -> Path:
    _check_name(study, "study")
    return _root(results_dir) / RUNS / f"{study}.jsonl"


def read_runs(path: str | os.PathLike) -> list[dict]:
    """The runs of a JSON-lines file in file order ([] when it does not exist). Raises ValueError on a line that is
    not a run of the schema."""
    path = Path(path)
    if not path.exists():
        return []
    runs = []
    for i, line in enumerate(path.read_text().splitlines(), 1):
        if line.strip():
            runs.append(json.loads(line))
            check_run(runs[-1], f"{path}:{i}")
    return runs


def load_runs(study: str, results_dir: str | os.PathLike | None = None) -> list[dict]:
    """The committed runs of ``study`` (``results/runs/STUDY.jsonl``), in file order.

    Raises:
        FileNotFoundError: no such study (the message lists the studies there are).
        ValueError: a line that is not a run of the schema.
    """
    path = runs_path(study, results_dir)
    if not path.exists():
        have = sorted(p.stem for p in path.parent.glob("*.jsonl"))
        raise FileNotFoundError(f"{path} does not exist; the studies with runs: {have}")
    return read_runs(path)


def append_runs(path: str | os.PathLike, runs: Iterable[Mapping]) -> None:
    """Append ``runs`` to the JSON-lines file ``path``, one line each, flushed at once (a study killed mid-way
    keeps every finished run). Raises ValueError, before writing anything, on a run outside the schema."""
    runs = list(runs)
    for r in runs:
        check_run(r)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        for r in runs:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
            f.flush()


def summary_path(name: str, results_dir: str | os.PathLike | None = None) -> Path:
    _check_name(name, "summary")
    return _root(results_dir) / RUNS / f"{name}.json"


def load_summary(name: str, results_dir: str | os.PathLike | None = None) -> dict:
    """A study's summary ``results/runs/NAME.json`` (``"protocol"``, ``"yardstick"``, ``"zskd-ablations"``,
    ``"arbitrary-ablations"``, ``"chapters"``, ``"speed"``).

    Raises:
        FileNotFoundError: naming the summaries there are.
    """
    path = summary_path(name, results_dir)
    if not path.exists():
        have = sorted(p.stem for p in path.parent.glob("*.json"))
        raise FileNotFoundError(f"{path} does not exist; the summaries: {have}")
    return json.loads(path.read_text())


def save_summary(name: str, summary: Mapping, results_dir: str | os.PathLike | None = None) -> Path:
    """Write a study's summary atomically to ``results/runs/NAME.json``; returns the path."""
    if not isinstance(summary, Mapping):
        raise ValueError(f"a summary is a dict, got {type(summary).__name__}")
    return _write_json(summary_path(name, results_dir), dict(summary))


def yardstick(results_dir: str | os.PathLike | None = None) -> dict:
    """The real-data yardstick (``results/runs/yardstick.json``), for :func:`dfkd_book.stats.worth_real_images`."""
    return load_summary("yardstick", results_dir)


def study_table(summary: Mapping):
    """A study's summary (an ablation) as a pandas DataFrame: per row the paper's number, the mean ± sd (%) over
    seeds, how many seeds ("1 of 3" while a study still runs), every seed's number, and what the mean is worth in
    real images (the yardstick)."""
    import pandas as pd

    def worth(w):
        if w is None:
            return "–"
        if w["below"]:
            return "fewer than the smallest N"
        if w["above"]:
            return "more than all the real data"
        return f"{w['n']:,}"

    def seeds(r):
        planned = r.get("planned_seeds", r["seeds"])
        return f"{r['seeds']}" if r["seeds"] >= planned else f"{r['seeds']} of {planned}"

    return pd.DataFrame([{"": r["label"], "paper": "–" if r["paper"] is None else f"{r['paper']:.2f}",
                          "this book": f"{r['test_acc']:.2f} ± {r['test_acc_sd']:.2f}",
                          "seeds": seeds(r), "per seed": ", ".join(f"{a:.2f}" for a in r["per_seed_test"]),
                          "worth real images": worth(r["worth_real_images"])} for r in summary["rows"]]).set_index("")
