"""The leaderboard (chapter 7 and the README): one row per method of :func:`dfkd_book.recipes.leaderboard`, read
from the method records (:func:`dfkd_book.records.load`), named, grouped and compared with its paper by the method
table (:data:`dfkd_book.recipes.METHODS`), ranked by the book's one significance rule (:func:`dfkd_book.stats.ranks`).

``python -m dfkd_book.experiments.leaderboard --write`` regenerates the README's table between its two markers;
``--check`` exits 1 when the README and the records disagree (``make test`` runs the same check as a test).
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import MISSING, asdict, dataclass, fields
from pathlib import Path

from .. import recipes, stats
from .. import records as _records
from ..config import REPO_ROOT, atomic_write
from ..models import display_name

README = REPO_ROOT / "README.md"
GROUPS = recipes.GROUPS
#: the fields a record must have to be on the leaderboard (besides :data:`dfkd_book.records.RECORD_KEYS`)
REQUIRED = ("teacher_acc", "transfer_samples", "transfer_kind", "cpu_count")

START = ("<!-- leaderboard:start — generated from results/ by `python -m dfkd_book.experiments.leaderboard --write`; "
         "do not edit -->")
END = "<!-- leaderboard:end -->"


@dataclass(frozen=True)
class Row:
    """One leaderboard line.

    Accuracies in %: ``student_acc`` the mean over ``seeds`` seeds (``per_seed`` each, ``sd`` their sample standard
    deviation, 0 for one seed); ``retention`` = student / teacher accuracy (a fraction). ``group``: one of
    :data:`GROUPS`. ``rank``: the rank within the group, ``"=k"`` when shared (:func:`dfkd_book.stats.ranks`;
    ``""`` for the ceiling). ``p_vs_best``: the one rule's p (Welch) of this method's seeds against those of its
    group's most accurate method (``None`` for that method, or untested). ``worth``: what the student
    is worth in real images on the yardstick (:func:`dfkd_book.stats.worth_real_images`, with the yardstick's
    smallest and largest N as ``n_min``, ``n_max``; ``None`` without ``yardstick.json``). ``steps``: the student's
    optimiser steps; ``samples``: the transfer-set size (``kind``: real, synthetic, arbitrary, or generated on the
    fly); ``queries``: teacher queries per seed, images passed forward through the teacher plus images whose
    gradient was taken back through it (``None`` where the record does not count them); ``wall_s``: the whole
    method's wall time per seed (making the transfer set + distillation, seconds) on ``device``; ``paper``: the
    published student accuracy *on Fashion-MNIST* (``None`` where the paper has none; :func:`context` lists the
    numbers published on other data); ``access``: what its run read of the teacher (:func:`access_of`)."""

    method: str
    name: str
    chapter: int
    group: str
    access: str
    teacher: str
    teacher_acc: float
    student_acc: float
    sd: float
    seeds: int
    per_seed: tuple
    retention: float
    rank: str
    p_vs_best: float | None
    worth: dict | None
    steps: int | None
    samples: int
    kind: str
    queries: int | None
    wall_s: float
    device: str
    commit: str
    profile: str
    paper: float | None
    paper_setting: str

    @property
    def data_free(self) -> bool:
        """True for every method that does not train on the owner's data itself (the data-free and metadata
        groups)."""
        return self.group != "real data"


def load(results_dir: str | os.PathLike | None = None, methods=None) -> dict[str, dict]:
    """The records of ``methods`` (default: the leaderboard's, :func:`dfkd_book.recipes.leaderboard`), in that
    order, through :func:`dfkd_book.records.load`.

    Raises:
        FileNotFoundError: a method has no record (names the missing ones and the command that makes them).
        ValueError: a record outside the schema or lacking a field of :data:`REQUIRED`, or naming another method.
    """
    methods = recipes.leaderboard() if methods is None else tuple(methods)
    missing = [m for m in methods if not _records.record_path(m, results_dir).is_file()]
    if missing:
        raise FileNotFoundError(f"no record for {', '.join(missing)}; run "
                                f"`python -m dfkd_book.experiments.bench all --only {' '.join(missing)}`")
    out = {}
    for m in methods:
        rec = _records.load(m, results_dir)
        lacking = [k for k in REQUIRED if k not in rec]
        if lacking:
            raise ValueError(f"the record of {m} lacks {', '.join(lacking)}; re-run its bench")
        if rec["method"] != m:
            raise ValueError(f"the record of {m} holds a record of {rec['method']!r}")
        out[m] = rec
    return out


def stale(records: dict[str, dict]) -> list[str]:
    """The methods of ``records`` (as :func:`load` returns them) whose record was made with another recipe than
    today's full-profile one (:func:`dfkd_book.recipes.get`): their numbers no longer describe what the recipe
    runs. Records without a recipe, or of a method without one, are not judged; a student setting added to
    :class:`dfkd_book.recipes.Student` since a record was made counts as its default there (the record ran it)."""
    out = []
    for m, rec in records.items():
        if "recipe" not in rec or m not in recipes.RECIPES:
            continue
        now = json.loads(json.dumps(recipes.get(m, "full").as_dict()))
        if _comparable(rec["recipe"]) != _comparable(now):
            out.append(m)
    return out


def _comparable(recipe: dict) -> dict:
    """A recipe's dict (:meth:`dfkd_book.recipes.Recipe.as_dict`, as a record keeps it) without its notes, the
    student's settings it lacks at their defaults."""
    defaults = {f.name: f.default for f in fields(recipes.Student) if f.default is not MISSING}
    out = {k: v for k, v in recipe.items() if k != "notes"}
    if isinstance(out.get("student"), dict):
        out["student"] = {**defaults, **out["student"]}
    return out


def queries_of(record: dict) -> int | None:
    """A record's teacher queries per seed (forward + backward images, see :class:`Row`), or None where it has no
    ``teacher_queries``."""
    q = record.get("teacher_queries")
    return None if not q else int(q.get("forward", 0)) + int(q.get("backward", 0))


#: what a run reads of the teacher, as the leaderboard names it (:func:`access_of`)
ACCESS_NAMES = {"white-box": "white-box", "probs": "black-box soft", "label": "black-box hard"}


def access_of(method: str) -> str:
    """What a leaderboard method's recipe reads of the teacher (:attr:`dfkd_book.methods.base.Method.access`,
    chapter 8): ``"white-box"`` (its gradients, activations or BN statistics), ``"black-box soft"`` (its
    probabilities: a static set distilled from the teacher's answers) or ``"black-box hard"`` (its top-1 class
    only); ``"metadata"`` is not an access but a group (the owner's records), shown beside. A composite method
    (``about(method).runs``) reads what its first run does. Raises ValueError for an unknown method."""
    from ..methods import REGISTRY

    r = recipes.get((recipes.about(method).runs or (method,))[0], "full")
    need = REGISTRY[r.method].access
    if need != "white-box":  # a set distilled from the teacher's answers: probabilities unless the API says less
        need = r.extras.get("api", {}).get("access", "probs")
    return ACCESS_NAMES[need]


def rows(records: dict[str, dict], results_dir: str | os.PathLike | None = None) -> list[Row]:
    """Leaderboard rows, grouped in the order of :data:`GROUPS` (data-free, metadata, the real-data ceiling), by
    mean student accuracy within a group, best first; the worth in real images read off the yardstick when there
    is one."""
    try:
        yard = _records.yardstick(results_dir)
    except FileNotFoundError:
        yard = None
    info = {}
    for m, r in records.items():
        a = recipes.about(m)
        info[m] = (a.label, a.chapter, a.group, tuple(r["per_seed"]), float(r["student_acc_sd"]))
    rank, p_best = {}, {}
    for g in GROUPS[:2]:
        members = {m: i[3] for m, i in info.items() if i[2] == g}
        rank.update(stats.ranks(members))
        if members:
            best = max(members, key=lambda m: records[m]["student_acc"])
            p_best.update({m: None if m == best else stats.compare(members[best], members[m]).p for m in members})
    out = []
    for m, r in records.items():
        name, chapter, group, per_seed, sd = info[m]
        worth = None
        if yard is not None:
            worth = {**stats.worth_real_images(r["student_acc"], yard), "n_min": yard["points"][0]["n"],
                     "n_max": yard["points"][-1]["n"]}
        paper = recipes.published(m, "student", "fashion-mnist")
        out.append(Row(method=m, name=name, chapter=chapter, group=group, access=access_of(m),
                       teacher=display_name(r["teacher"]), teacher_acc=r["teacher_acc"],
                       student_acc=r["student_acc"], sd=sd, seeds=len(per_seed),
                       per_seed=per_seed, retention=round(r["student_acc"] / r["teacher_acc"], 4),
                       rank=rank.get(m, ""), p_vs_best=p_best.get(m), worth=worth, steps=r.get("steps"),
                       samples=int(r["transfer_samples"]), kind=r["transfer_kind"], queries=queries_of(r),
                       wall_s=r["wall_s"], device=where(r), commit=r["commit"][:7], profile=r["profile"],
                       paper=None if paper is None else paper.value,
                       paper_setting="" if paper is None else paper.setting))
    return sorted(out, key=lambda row: (GROUPS.index(row.group), -row.student_acc))


def context(records: dict[str, dict]) -> list[dict]:
    """The papers' numbers that are *not* on Fashion-MNIST (MNIST, CIFAR-10, SVHN), from the method table: per
    method its name, the paper, what was measured, the dataset, the value and its unit. They describe other
    teachers and data and are not comparable with the leaderboard's accuracies."""
    return [{"method": recipes.about(m).label, "paper": f"{p.source}, {p.table}", "setting": p.setting,
             "dataset": p.dataset, "published": p.value, "unit": p.unit}
            for m in records for p in recipes.about(m).published if p.dataset != "fashion-mnist"]


def made_first(record: dict) -> float:
    """Seconds a record spent making its transfer set before distillation started (0 when the samples are made
    during training, or are real)."""
    return record.get("crafting_s") or record.get("synthesis_s") or record.get("balancing_s") or 0.0


def curves(records: dict[str, dict], x: str = "queries") -> dict[str, tuple[list, list]]:
    """Each record's learning curve (its first seed's evaluations): method name → ``(xs, test accuracies in
    %)``, with ``x`` = ``"queries"`` (cumulative teacher queries, forward + backward, making the transfer set
    included) or ``"wall_s"`` (seconds since the method started: the time spent making the transfer set first is
    added). Records without such a history are left out.

    Raises:
        ValueError: ``x`` is neither.
    """
    if x not in ("queries", "wall_s"):
        raise ValueError(f"x must be 'queries' or 'wall_s', got {x!r}")
    out = {}
    for m, rec in records.items():
        h = rec.get("history") or {}
        if x == "queries" and "teacher_forward" in h:
            xs = [f + b for f, b in zip(h["teacher_forward"], h["teacher_backward"])]
        elif x == "wall_s" and len(h.get("wall_s", [])) > 1:
            xs = [made_first(rec) + w for w in h["wall_s"]]
        else:
            continue
        out[recipes.about(m).label] = (xs, h["test_acc"])
    return out


def at_budget(curves: dict[str, tuple[list, list]], budget: float) -> dict[str, float | None]:
    """Where each curve of :func:`curves` stands at ``budget`` (same unit as its x): the accuracy of its last
    evaluation at or under the budget, ``None`` before its first. A run planned for a longer budget is cut here,
    its schedule unfinished: a lower bound on what a run planned for the budget would reach."""
    return {name: next((a for q, a in zip(reversed(xs), reversed(accs)) if q <= budget), None)
            for name, (xs, accs) in curves.items()}


def device_of(record: dict) -> str:
    """Where a record was measured, e.g. ``"cpu, 2 cores"`` or ``"NVIDIA H100 80GB HBM3"``."""
    dev = record["device"]
    return f"{dev}, {record['cpu_count']} cores" if dev.startswith("cpu") else dev


def where(record: dict) -> str:
    """:func:`device_of` with the threads a CPU run used, e.g. ``"cpu, 1 thread of 2 cores"``: wall times of runs
    on one thread and on two are not the same measure."""
    dev, threads = record["device"], record.get("threads")
    if not dev.startswith("cpu") or threads is None:
        return device_of(record)
    return f"{dev}, {threads} thread{'s' if threads != 1 else ''} of {record['cpu_count']} cores"


def best_data_free(board: list[Row]) -> Row:
    """The row of the data-free group (not metadata) with the highest mean student accuracy."""
    return max((r for r in board if r.group == "data-free"), key=lambda r: r.student_acc)


def frame(board: list[Row]):
    """The rows as a pandas DataFrame (one column per :class:`Row` field)."""
    import pandas as pd

    return pd.DataFrame([asdict(r) for r in board])


def provenance(records: dict[str, dict], results_dir: str | os.PathLike | None = None) -> str:
    """One sentence on where the numbers come from: the ``bench all`` run when ``bench-all.json`` covers every
    record (same commit); that run and, by name, device and commit, each record run since (a chapter's
    multi-seed record, a method added after it); each record's own run when every one was re-made since;
    otherwise (no summary, or a method that failed in it) the distinct devices, profiles and commits."""
    summary_path = _records.summary_path("bench-all", results_dir)
    if summary_path.is_file():
        s = json.loads(summary_path.read_text())
        ok = {m for m, r in s["methods"].items() if r["status"] == "ok"}
        run = (f"One `python -m dfkd_book.experiments.bench all` run, {s['profile']} profile, on {device_of(s)} "
               f"(torch {s['torch']}), commit {s['commit'][:7]}, {s['date'][:10]}: "
               f"{s['total_wall_s'] / 60:.0f} minutes for {len(s['methods'])} methods")
        later = {m: r for m, r in records.items() if r["commit"] != s["commit"]}
        each = "; ".join(f"{recipes.about(m).label} (`bench {m} --seeds {r.get('seeds', 1)}`, {device_of(r)}, commit "
                         f"{r['commit'][:7]}, {r['date'][:10]})" for m, r in later.items())
        if set(records) <= ok and not later:
            return run + "."
        if later and len(later) == len(records):
            return f"Each method from its own `python -m dfkd_book.experiments.bench METHOD --seeds N` run: {each}."
        if set(records) - set(later) <= ok and later:
            return run + "; run since: " + each + "."
    devices = sorted({device_of(r) for r in records.values()})
    profiles = sorted({r["profile"] for r in records.values()})
    commits = sorted({r["commit"][:7] for r in records.values()})
    return (f"Separate `python -m dfkd_book.experiments.bench` runs: {'; '.join(devices)}; profile "
            f"{', '.join(profiles)}; commits {', '.join(commits)}.")


def worth_text(worth: dict | None) -> str:
    """A :attr:`Row.worth` as text: ``"≈ 98"``, ``"< 10"`` (under the yardstick's smallest N), ``"> 60,000"``
    (over its largest), or ``"–"`` without a yardstick."""
    if worth is None:
        return "–"
    if worth["below"]:
        return f"< {worth['n_min']:,}"
    if worth["above"]:
        return f"> {worth['n_max']:,}"
    return f"≈ {worth['n']:,}"


def queries_text(queries: int | None) -> str:
    """Teacher queries in millions, e.g. ``"2.87 M"``, or ``"–"``."""
    return "–" if queries is None else f"{queries / 1e6:.2f} M"


def markdown(board: list[Row]) -> str:
    """The leaderboard as a Markdown table (what the README shows), one block of rows per group."""
    lines = ["| group | rank | method | ch. | teacher access | student % (mean ± sd) | seeds | worth real images | "
             "student steps | transfer set | teacher queries | wall s / seed | device | paper % (Fashion-MNIST) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in board:
        steps = "–" if r.steps is None else f"{r.steps:,}"
        paper = "–" if r.paper is None else f"{r.paper:.2f}"
        lines.append(f"| {r.group} | {r.rank or '–'} | {r.name} | {r.chapter} | {r.access} | "
                     f"**{r.student_acc:.2f}** ± {r.sd:.2f} "
                     f"| {r.seeds} | {worth_text(r.worth)} | {steps} | {r.samples:,} {r.kind} | "
                     f"{queries_text(r.queries)} | {r.wall_s:,.0f} | {r.device} | {paper} |")
    return "\n".join(lines)


def readme_block(results_dir: str | os.PathLike | None = None) -> str:
    """What goes between the README's markers: the table and its provenance."""
    records = load(results_dir)
    return f"{markdown(rows(records, results_dir))}\n\n{provenance(records, results_dir)}"


def _split(text: str, path) -> tuple[str, str, str]:
    if text.count(START) != 1 or text.count(END) != 1 or text.index(START) > text.index(END):
        raise ValueError(f"{path} needs the markers {START!r} and {END!r} once each, in that order")
    head, rest = text.split(START)
    body, tail = rest.split(END)
    return head, body, tail


def readme_table(readme: str | os.PathLike = README) -> str:
    """The block currently between the README's markers (stripped). Raises ValueError without the markers."""
    return _split(Path(readme).read_text(), readme)[1].strip()


def write_readme(readme: str | os.PathLike = README, results_dir: str | os.PathLike | None = None) -> bool:
    """Regenerate the README's block from ``results_dir`` (atomic write); True when it changed."""
    text = Path(readme).read_text()
    head, body, tail = _split(text, readme)
    new = f"{head}{START}\n{readme_block(results_dir)}\n{END}{tail}"
    if new == text:
        return False
    atomic_write(Path(readme), lambda f: f.write(new.encode()))
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dfkd_book.experiments.leaderboard",
                                     description=__doc__.split("\n\n")[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", action="store_true", help="regenerate the README's table from results/")
    group.add_argument("--check", action="store_true", help="exit 1 if the README's table disagrees with results/")
    parser.add_argument("--readme", default=str(README))
    parser.add_argument("--results", default=None, help="the results directory (default: the repository's)")
    args = parser.parse_args(argv)
    if args.write:
        changed = write_readme(args.readme, args.results)
        print(f"{args.readme}: {'updated' if changed else 'already up to date'}")
        return 0
    if readme_table(args.readme) != readme_block(args.results):
        print(f"{args.readme}: the leaderboard disagrees with the records; run "
              "`python -m dfkd_book.experiments.leaderboard --write`")
        return 1
    print(f"{args.readme}: the leaderboard matches the records")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
