"""The leaderboard (chapter 7 and the README): one row per method, read from the records ``python -m
dfkd_book.bench`` writes in ``results/``.

``python -m dfkd_book.leaderboard --write`` regenerates the README's table between its two markers;
``--check`` exits 1 when the README and ``results/`` disagree (``make test`` runs the same check as a test).
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from .config import REPO_ROOT, RESULTS, atomic_write
from .models import display_name

README = REPO_ROOT / "README.md"

#: method → (what the leaderboard calls it, the chapter that teaches it, its group of :data:`GROUPS`). ``mte`` is a
#: diagnostic, not a student recipe: chapter 7 shows it apart.
METHODS: dict[str, tuple[str, int, str]] = {
    "kd-real": ("KD on real data (the ceiling)", 1, "real data"),
    "zskd": ("ZSKD data impressions", 2, "data-free"),
    "arbitrary-noise": ("balanced uniform noise", 3, "data-free"),
    "arbitrary-best": ("best arbitrary transfer set", 3, "data-free"),
    "adversarial": ("adversarial (ZSKT / DFAD)", 4, "data-free"),
    "bn-stats": ("BN statistics", 5, "data-free"),
    "activation-records": ("activation records", 5, "metadata"),
    "spectral": ("spectral records", 5, "metadata"),
    "deepinversion": ("DeepInversion", 5, "data-free"),
    "ssd-kd": ("SSD-KD", 6, "data-free"),
    "ssd-kd-fast": ("SSD-KD, Fast's meta-generator", 6, "data-free"),
}

#: the leaderboard's groups, in the order it shows them. *data-free*: the teacher alone (with the BN statistics it
#: carries, or natural images that are not the owner's); *metadata*: statistics the data owner recorded on the
#: training data and shared (Lopes et al. 2017's activation records, the spectral records); *real data*: the
#: training set itself, the ceiling.
GROUPS = ("data-free", "metadata", "real data")

#: the fields a record must have to be on the leaderboard
REQUIRED = ("method", "teacher", "teacher_acc", "student_acc", "wall_s", "device", "cpu_count", "profile",
            "transfer_samples", "transfer_kind", "paper", "git_commit", "date")

START = "<!-- leaderboard:start — generated from results/ by `python -m dfkd_book.leaderboard --write`; do not edit -->"
END = "<!-- leaderboard:end -->"


@dataclass(frozen=True)
class Row:
    """One leaderboard line.

    Accuracies in %: ``student_acc`` the mean over ``seeds`` seeds (``per_seed`` each, ``sd`` their sample standard
    deviation, 0 for one seed); ``retention`` = student / teacher accuracy (a fraction). ``group``: one of
    :data:`GROUPS`. ``rank``: the rank within the group, ``"=k"`` when shared (:func:`ranks`; ``""`` for the
    ceiling). ``p_vs_best``: Welch's two-sided t-test of this method's seeds against those of its group's most
    accurate method (``None`` for that method, or with fewer than two seeds on a side). ``worth``: what the student
    is worth in real images on the yardstick (:func:`dfkd_book.protocol.worth_real_images`, with the yardstick's
    smallest and largest N as ``n_min``, ``n_max``; ``None`` without ``yardstick.json``). ``steps``: the student's
    optimiser steps; ``samples``: the transfer-set size (``kind``: real, synthetic, arbitrary, or generated on the
    fly); ``queries``: teacher queries per seed, images passed forward through the teacher plus images whose
    gradient was taken back through it (``None`` where the record does not count them); ``wall_s``: the whole
    method's wall time per seed (making the transfer set + distillation, seconds) on ``device``; ``paper``: the
    published student accuracy *on Fashion-MNIST* (``None`` where the paper has none; :func:`context` lists the
    numbers published on other data)."""

    method: str
    name: str
    chapter: int
    group: str
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


def load(results_dir: str | os.PathLike = RESULTS, methods=tuple(METHODS)) -> dict[str, dict]:
    """The records of ``methods`` in ``results_dir`` (``METHOD.json`` each), in that order.

    Raises:
        FileNotFoundError: a method has no record (names the missing files and how to make them).
        ValueError: a record lacks a field of :data:`REQUIRED`, or names another method.
    """
    results_dir = Path(results_dir)
    missing = [m for m in methods if not (results_dir / f"{m}.json").is_file()]
    if missing:
        raise FileNotFoundError(f"no record for {', '.join(missing)} in {results_dir}; run "
                                f"`python -m dfkd_book.bench all --only {' '.join(missing)}`")
    records = {}
    for m in methods:
        path = results_dir / f"{m}.json"
        rec = json.loads(path.read_text())
        lacking = [k for k in REQUIRED if k not in rec]
        if lacking:
            raise ValueError(f"{path} lacks {', '.join(lacking)}; re-run `python -m dfkd_book.bench {m}`")
        if rec["method"] != m:
            raise ValueError(f"{path} holds a record of {rec['method']!r}, expected {m!r}")
        records[m] = rec
    return records


def stale(records: dict[str, dict]) -> list[str]:
    """The methods of ``records`` (as :func:`load` returns them) whose record was made with another recipe than
    today's full-profile one (:func:`dfkd_book.recipes.get`): their numbers no longer describe what the recipe
    runs. Records without a recipe, or of a method without one, are not judged."""
    from . import recipes

    out = []
    for m, rec in records.items():
        if "recipe" not in rec or m not in recipes.RECIPES:
            continue
        if rec["recipe"] != json.loads(json.dumps(recipes.get(m, "full").as_dict())):
            out.append(m)
    return out


def queries_of(record: dict) -> int | None:
    """A record's teacher queries per seed (forward + backward images, see :class:`Row`), or None where it has no
    ``teacher_queries``."""
    q = record.get("teacher_queries")
    return None if not q else int(q.get("forward", 0)) + int(q.get("backward", 0))


def welch_p(a, b) -> float | None:
    """Welch's two-sided t-test p-value of two samples of accuracies (unequal variances), or None with fewer than
    two values on a side or no spread at all."""
    if len(a) < 2 or len(b) < 2 or (len(set(a)) == 1 and len(set(b)) == 1):
        return None
    from scipy import stats

    p = float(stats.ttest_ind(a, b, equal_var=False).pvalue)
    return None if p != p else p  # NaN: both samples constant


def ranks(means: dict[str, tuple[float, float]]) -> dict[str, str]:
    """Significance-aware ranks of methods of one group from their ``(mean, sd)`` (in %): walking down the means,
    a method shares the rank of the method that opened the current rank while its band, mean ± sd, overlaps that
    method's band; the first method below the band opens the next rank (competition ranking: 1, =2, =2, 4).
    Shared ranks are written ``"=k"``. One seed's sd is 0: its band is its mean."""
    out: dict[str, int] = {}
    top = None
    for i, (m, (mean, sd)) in enumerate(sorted(means.items(), key=lambda kv: -kv[1][0])):
        if top is None or mean + sd < top[0] - top[1]:
            top, pos = (mean, sd), i + 1
        out[m] = pos
    counts = {k: list(out.values()).count(k) for k in set(out.values())}
    return {m: f"={k}" if counts[k] > 1 else str(k) for m, k in out.items()}


def _yardstick(results_dir) -> dict | None:
    path = Path(results_dir) / "yardstick.json"
    return json.loads(path.read_text()) if path.is_file() else None


def rows(records: dict[str, dict], results_dir: str | os.PathLike = RESULTS) -> list[Row]:
    """Leaderboard rows, grouped in the order of :data:`GROUPS` (data-free, metadata, the real-data ceiling), by
    mean student accuracy within a group, best first; the worth in real images read off ``results_dir``'s
    yardstick when it has one."""
    from . import protocol

    yard = _yardstick(results_dir)
    info = {}
    for m, r in records.items():
        name, chapter, group = METHODS.get(m, (m, 0, "data-free"))
        per_seed = tuple(r.get("per_seed") or [r["student_acc"]])
        info[m] = (name, chapter, group, per_seed, float(r.get("student_acc_sd") or 0.0))
    rank, p_best = {}, {}
    for g in GROUPS[:2]:
        members = {m: (records[m]["student_acc"], i[4]) for m, i in info.items() if i[2] == g}
        rank.update(ranks(members))
        if members:
            best = max(members, key=lambda m: members[m][0])
            p_best.update({m: None if m == best else welch_p(info[m][3], info[best][3]) for m in members})
    out = []
    for m, r in records.items():
        name, chapter, group, per_seed, sd = info[m]
        worth = None
        if yard is not None:
            worth = {**protocol.worth_real_images(r["student_acc"], yard), "n_min": yard["points"][0]["n"],
                     "n_max": yard["points"][-1]["n"]}
        paper = r["paper"]
        on_fmnist = paper.get("setting", "").startswith("Fashion-MNIST")
        out.append(Row(method=m, name=name, chapter=chapter, group=group, teacher=display_name(r["teacher"]),
                       teacher_acc=r["teacher_acc"], student_acc=r["student_acc"], sd=sd, seeds=len(per_seed),
                       per_seed=per_seed, retention=round(r["student_acc"] / r["teacher_acc"], 4),
                       rank=rank.get(m, ""), p_vs_best=p_best.get(m), worth=worth, steps=r.get("steps"),
                       samples=int(r["transfer_samples"]), kind=r["transfer_kind"], queries=queries_of(r),
                       wall_s=r["wall_s"], device=where(r), commit=r["git_commit"][:7], profile=r["profile"],
                       paper=paper.get("published") if on_fmnist else None,
                       paper_setting=paper.get("setting", "") if on_fmnist else ""))
    return sorted(out, key=lambda row: (GROUPS.index(row.group), -row.student_acc))


def context(records: dict[str, dict]) -> list[dict]:
    """The papers' numbers that are *not* on Fashion-MNIST (MNIST, CIFAR-10, or none): per method its name, the
    paper, the setting it reports, and the published student accuracy there (None where it gives none). They
    describe other teachers and data and are not comparable with the leaderboard's accuracies."""
    out = []
    for m, r in records.items():
        paper = r["paper"]
        if not paper.get("setting", "").startswith("Fashion-MNIST"):
            out.append({"method": METHODS.get(m, (m,))[0], "paper": paper.get("source", ""),
                        "setting": paper.get("setting", ""), "published %": paper.get("published")})
    return out


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
        out[METHODS.get(m, (m,))[0]] = (xs, h["test_acc"])
    return out


def at_budget(curves: dict[str, tuple[list, list]], budget: float) -> dict[str, float | None]:
    """Where each curve of :func:`curves` stands at ``budget`` (same unit as its x): the accuracy of its last
    evaluation at or under the budget, ``None`` before its first. A run planned for a longer budget is cut here,
    its schedule unfinished: a lower bound on what a run planned for the budget would reach."""
    return {name: next((a for q, a in zip(reversed(xs), reversed(accs)) if q <= budget), None)
            for name, (xs, accs) in curves.items()}


def device_of(record: dict) -> str:
    """Where a record was measured, e.g. ``"cpu, 2 cores"`` or ``"cuda:0 (NVIDIA H100 ...)"``."""
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


def provenance(records: dict[str, dict], results_dir: str | os.PathLike = RESULTS) -> str:
    """One sentence on where the numbers come from: the ``bench all`` run when ``bench-all.json`` covers every
    record (same commit); that run and, by name, device and commit, each record run since (a chapter's
    multi-seed record, a method added after it); each record's own run when every one was re-made since;
    otherwise (no summary, or a method that failed in it) the distinct devices, profiles and commits."""
    summary_path = Path(results_dir) / "bench-all.json"
    if summary_path.is_file():
        s = json.loads(summary_path.read_text())
        ok = {m for m, r in s["methods"].items() if r["status"] == "ok"}
        run = (f"One `python -m dfkd_book.bench all` run, {s['profile']} profile, on {device_of(s)} "
               f"(torch {s['torch']}), commit {s['git_commit'][:7]}, {s['date'][:10]}: "
               f"{s['total_wall_s'] / 60:.0f} minutes for {len(s['methods'])} methods")
        later = {m: r for m, r in records.items() if r["git_commit"] != s["git_commit"]}
        each = "; ".join(f"{METHODS[m][0]} (`bench {m} --seeds {r.get('seeds', 1)}`, {device_of(r)}, commit "
                         f"{r['git_commit'][:7]}, {r['date'][:10]})" for m, r in later.items())
        if set(records) <= ok and not later:
            return run + "."
        if later and len(later) == len(records):
            return f"Each method from its own `python -m dfkd_book.bench METHOD --seeds N` run: {each}."
        if set(records) - set(later) <= ok and later:
            return run + "; run since: " + each + "."
    devices = sorted({device_of(r) for r in records.values()})
    profiles = sorted({r["profile"] for r in records.values()})
    commits = sorted({r["git_commit"][:7] for r in records.values()})
    return (f"Separate `python -m dfkd_book.bench` runs: {'; '.join(devices)}; profile {', '.join(profiles)}; "
            f"commits {', '.join(commits)}.")


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
    lines = ["| group | rank | method | ch. | student % (mean ± sd) | seeds | worth real images | student steps | "
             "transfer set | teacher queries | wall s / seed | device | paper % (Fashion-MNIST) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in board:
        steps = "–" if r.steps is None else f"{r.steps:,}"
        paper = "–" if r.paper is None else f"{r.paper:.2f}"
        lines.append(f"| {r.group} | {r.rank or '–'} | {r.name} | {r.chapter} | **{r.student_acc:.2f}** ± {r.sd:.2f} "
                     f"| {r.seeds} | {worth_text(r.worth)} | {steps} | {r.samples:,} {r.kind} | "
                     f"{queries_text(r.queries)} | {r.wall_s:,.0f} | {r.device} | {paper} |")
    return "\n".join(lines)


def readme_block(results_dir: str | os.PathLike = RESULTS) -> str:
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


def write_readme(readme: str | os.PathLike = README, results_dir: str | os.PathLike = RESULTS) -> bool:
    """Regenerate the README's block from ``results_dir`` (atomic write); True when it changed."""
    text = Path(readme).read_text()
    head, body, tail = _split(text, readme)
    new = f"{head}{START}\n{readme_block(results_dir)}\n{END}{tail}"
    if new == text:
        return False
    atomic_write(Path(readme), lambda f: f.write(new.encode()))
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dfkd_book.leaderboard", description=__doc__.split("\n\n")[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", action="store_true", help="regenerate the README's table from results/")
    group.add_argument("--check", action="store_true", help="exit 1 if the README's table disagrees with results/")
    parser.add_argument("--readme", default=str(README))
    parser.add_argument("--results", default=str(RESULTS))
    args = parser.parse_args(argv)
    if args.write:
        changed = write_readme(args.readme, args.results)
        print(f"{args.readme}: {'updated' if changed else 'already up to date'}")
        return 0
    if readme_table(args.readme) != readme_block(args.results):
        print(f"{args.readme}: the leaderboard disagrees with {args.results}; run "
              "`python -m dfkd_book.leaderboard --write`")
        return 1
    print(f"{args.readme}: the leaderboard matches {args.results}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
