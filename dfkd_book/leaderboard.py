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

#: method → (what the leaderboard calls it, the chapter that teaches it). ``mte`` is a diagnostic, not a student
#: recipe: chapter 7 shows it apart.
METHODS: dict[str, tuple[str, int]] = {
    "kd-real": ("KD on real data (the ceiling)", 1),
    "zskd": ("ZSKD data impressions", 2),
    "arbitrary-noise": ("balanced uniform noise", 3),
    "arbitrary-best": ("best arbitrary transfer set", 3),
    "adversarial": ("adversarial (ZSKT / DFAD)", 4),
    "bn-stats": ("BN statistics", 5),
    "activation-records": ("activation records", 5),
    "spectral": ("spectral records", 5),
    "deepinversion": ("DeepInversion", 5),
    "ssd-kd": ("SSD-KD", 6),
    "ssd-kd-fast": ("SSD-KD, Fast's meta-generator", 6),
}

#: the fields a record must have to be on the leaderboard
REQUIRED = ("method", "teacher", "teacher_acc", "student_acc", "wall_s", "device", "cpu_count", "profile",
            "transfer_samples", "transfer_kind", "paper", "git_commit", "date")

START = "<!-- leaderboard:start — generated from results/ by `python -m dfkd_book.leaderboard --write`; do not edit -->"
END = "<!-- leaderboard:end -->"


@dataclass(frozen=True)
class Row:
    """One leaderboard line. Accuracies in %, ``retention`` = student / teacher accuracy (a fraction), ``wall_s``
    the method's whole wall time (synthesis + distillation) in seconds, ``samples`` the transfer-set size
    (``kind``: real, synthetic, arbitrary, or generated on the fly), ``paper`` the published student accuracy
    (``None`` where the paper gives none) for ``paper_setting``."""

    method: str
    name: str
    chapter: int
    data_free: bool
    teacher: str
    teacher_acc: float
    student_acc: float
    retention: float
    samples: int
    kind: str
    wall_s: float
    device: str
    profile: str
    paper: float | None
    paper_setting: str


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


def rows(records: dict[str, dict]) -> list[Row]:
    """Leaderboard rows: the real-data ceiling first, then the data-free methods by student accuracy, best first."""
    out = []
    for m, r in records.items():
        name, chapter = METHODS.get(m, (m, 0))
        out.append(Row(method=m, name=name, chapter=chapter, data_free=r["transfer_kind"] != "real",
                       teacher=display_name(r["teacher"]), teacher_acc=r["teacher_acc"], student_acc=r["student_acc"],
                       retention=round(r["student_acc"] / r["teacher_acc"], 4), samples=int(r["transfer_samples"]),
                       kind=r["transfer_kind"], wall_s=r["wall_s"], device=device_of(r), profile=r["profile"],
                       paper=r["paper"].get("published"), paper_setting=r["paper"].get("setting", "")))
    return sorted(out, key=lambda row: (row.data_free, -row.student_acc))


def device_of(record: dict) -> str:
    """Where a record was measured, e.g. ``"cpu, 2 cores"`` or ``"cuda:0 (NVIDIA H100 ...)"``."""
    dev = record["device"]
    return f"{dev}, {record['cpu_count']} cores" if dev.startswith("cpu") else dev


def best_data_free(board: list[Row]) -> Row:
    """The data-free row with the highest student accuracy."""
    return max((r for r in board if r.data_free), key=lambda r: r.student_acc)


def frame(board: list[Row]):
    """The rows as a pandas DataFrame (one column per :class:`Row` field)."""
    import pandas as pd

    return pd.DataFrame([asdict(r) for r in board])


def provenance(records: dict[str, dict], results_dir: str | os.PathLike = RESULTS) -> str:
    """One sentence on where the numbers come from: the ``bench all`` run when ``bench-all.json`` covers every
    record (same commit); that run and, by name, device and commit, each record run since (a chapter's
    multi-seed record, a method added after it); otherwise the distinct devices, profiles and commits of the
    records."""
    summary_path = Path(results_dir) / "bench-all.json"
    if summary_path.is_file():
        s = json.loads(summary_path.read_text())
        ok = {m for m, r in s["methods"].items() if r["status"] == "ok"}
        run = (f"One `python -m dfkd_book.bench all` run, {s['profile']} profile, on {device_of(s)} "
               f"(torch {s['torch']}), commit {s['git_commit'][:7]}, {s['date'][:10]}: "
               f"{s['total_wall_s'] / 60:.0f} minutes for {len(s['methods'])} methods")
        later = {m: r for m, r in records.items() if r["git_commit"] != s["git_commit"]}
        if set(records) <= ok and not later:
            return run + "."
        if set(records) - set(later) <= ok and len(later) < len(records):
            return run + "; run since: " + "; ".join(
                f"{METHODS[m][0]} (`bench {m} --seeds {r.get('seeds', 1)}`, {device_of(r)}, commit "
                f"{r['git_commit'][:7]}, {r['date'][:10]})" for m, r in later.items()) + "."
    devices = sorted({device_of(r) for r in records.values()})
    profiles = sorted({r["profile"] for r in records.values()})
    commits = sorted({r["git_commit"][:7] for r in records.values()})
    return (f"Separate `python -m dfkd_book.bench` runs: {'; '.join(devices)}; profile {', '.join(profiles)}; "
            f"commits {', '.join(commits)}.")


def markdown(board: list[Row]) -> str:
    """The leaderboard as a Markdown table (what the README shows)."""
    lines = ["| # | method | ch. | teacher | student % | retention | transfer set | wall s | paper % | setting |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    rank = 0
    for r in board:
        rank_s = "–" if not r.data_free else str(rank := rank + 1)
        paper = f"{r.paper:.2f} | {r.paper_setting}" if r.paper is not None else f"– | {r.paper_setting}"
        lines.append(f"| {rank_s} | {r.name} | {r.chapter} | {r.teacher} {r.teacher_acc:.2f} | "
                     f"**{r.student_acc:.2f}** | {100 * r.retention:.1f} % | {r.samples:,} {r.kind} | "
                     f"{r.wall_s:,.0f} | {paper} |")
    return "\n".join(lines)


def readme_block(results_dir: str | os.PathLike = RESULTS) -> str:
    """What goes between the README's markers: the table and its provenance."""
    records = load(results_dir)
    return f"{markdown(rows(records))}\n\n{provenance(records, results_dir)}"


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
