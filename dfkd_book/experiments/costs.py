"""What each chapter costs to run, measured (``results/runs/chapters.json``, read by every chapter's first cell
through :func:`dfkd_book.chapters.show`), and the tool that re-executes a chapter's record-reading cells.

    python -m dfkd_book.experiments.costs            # read the committed runs, execute each chapter (quick)
    python -m dfkd_book.experiments.costs --no-quick # only read the committed full-profile runs
    python -m dfkd_book.experiments.costs --only 03_arbitrary_transfer_sets   # one chapter's quick profile
    python -m dfkd_book.experiments.costs --no-quick --workshop 02_data_impressions  # its workshop profile
    python -m dfkd_book.experiments.costs splice NOTEBOOK.ipynb --setup 'MARKER|...' --target 'MARKER|...'

The first three write ``results/runs/chapters.json`` and the table of chapter costs in ``intro.md``. The **full**
cost is read from the committed notebook itself: the span of its cells' execution timestamps (the run whose
outputs the book shows) and the device and profile its first output printed. The **quick** cost (and, for the
chapters named by ``--workshop``, the **workshop** cost) is measured by executing the notebook in memory with
``DFKD_BOOK_PROFILE`` set to that profile on this machine; a chapter that fails its checks fails the measurement.

``splice`` is for cells whose outputs are functions of committed records alone (a table read from ``results/``):
the cells whose source contains a ``--setup`` marker run first (imports, loading the record), then the
``--target`` cells, in notebook order, in one fresh kernel; only the target cells' outputs are replaced, every
other cell keeps the outputs of the chapter's last full run. It fails, writing nothing, when a marker matches no
cell or a cell raises.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import sys
import time
from pathlib import Path

from .. import records
from ..chapters import NOTEBOOKS, minutes
from ..config import REPO_ROOT, atomic_write
from .runner import device_name

RECORD = "chapters"
_DESCRIBE = re.compile(r"profile: (\w+)\s+device: (.+?)\s+threads: (\d+)")


def _stamp(s: str) -> dt.datetime:
    return dt.datetime.fromisoformat(s.replace("Z", "+00:00"))


def committed_run(path: str | os.PathLike) -> dict:
    """The run behind a committed notebook's outputs: ``{"seconds", "profile", "device", "finished"}``.

    Raises ValueError when the notebook has no execution timestamps or no :func:`dfkd_book.config.describe` line
    (it was not executed by ``make book``)."""
    nb = json.loads(Path(path).read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    times = [c["metadata"].get("execution", {}) for c in code]
    start = [_stamp(t["iopub.execute_input"]) for t in times if "iopub.execute_input" in t]
    end = [_stamp(t["shell.execute_reply"]) for t in times if "shell.execute_reply" in t]
    if not start or not end:
        raise ValueError(f"{path}: no execution timestamps; execute it with `make book`")
    for cell in code:
        for out in cell.get("outputs", []):
            m = _DESCRIBE.search("".join(out.get("text", "")))
            if m:
                device = f"{m.group(2)} ({m.group(3)} thread{'s' if m.group(3) != '1' else ''})"
                return {"seconds": round((max(end) - min(start)).total_seconds(), 1), "profile": m.group(1),
                        "device": device, "finished": max(end).isoformat(timespec="seconds")}
    raise ValueError(f"{path}: no `profile: ... device: ...` line from config.describe() in its outputs")


def measure(path: str | os.PathLike, profile: str = "quick", timeout: int = 3600) -> float:
    """Seconds to execute the notebook (in memory; the file is not touched) with ``profile`` (nbclient, this
    machine). Raises nbclient's ``CellExecutionError`` when a cell fails (a chapter's checks included)."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    old = os.environ.get("DFKD_BOOK_PROFILE")
    os.environ["DFKD_BOOK_PROFILE"] = profile
    try:
        t0 = time.perf_counter()  # executed in memory: the file is not touched
        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(Path(path).parent)}}).execute()
        return round(time.perf_counter() - t0, 1)
    finally:
        if old is None:
            os.environ.pop("DFKD_BOOK_PROFILE", None)
        else:
            os.environ["DFKD_BOOK_PROFILE"] = old


def record(quick: bool = True, notebooks: Path = NOTEBOOKS, results_dir: Path | None = None,
           only: list[str] | None = None, workshop: list[str] = ()) -> dict:
    """Write ``results/runs/chapters.json``: every chapter's committed run and (``quick``) its measured quick cost;
    ``only`` (notebook names without ``.ipynb``) measures the quick cost of those alone, keeping the others';
    ``workshop`` measures the workshop profile of the chapters it names, keeping the others' recorded one.
    Raises ValueError for a name in ``only`` or ``workshop`` that is no chapter."""
    out = {}
    old = records.load_summary(RECORD, results_dir) if records.summary_path(RECORD, results_dir).exists() else {}
    import torch

    here = device_name()
    n = torch.get_num_threads()
    here += f" ({n} thread{'s' if n != 1 else ''})" if here == "cpu" else ""
    names = sorted(Path(notebooks).glob("*.ipynb"))
    unknown = sorted((set(only or ()) | set(workshop)) - {nb.stem for nb in names})
    if unknown:
        raise ValueError(f"no chapter {unknown} in {notebooks}; chapters: {[nb.stem for nb in names]}")
    for nb in names:
        entry = {"full": committed_run(nb)}
        if quick and (only is None or nb.stem in only):
            print(f"{nb.name}: executing (quick)", flush=True)
            entry["quick"] = {"seconds": measure(nb), "device": here, "machine": platform.machine()}
        if nb.stem in workshop:
            print(f"{nb.name}: executing (workshop)", flush=True)
            entry["workshop"] = {"seconds": measure(nb, "workshop"), "device": here, "machine": platform.machine()}
        # what was not measured now keeps its record, in the record's order (a GPU run is recorded elsewhere)
        entry = {k: entry.get(k, v) for k, v in old.get(nb.stem, {}).items()} | entry
        out[nb.stem] = entry
    records.save_summary(RECORD, out, results_dir)
    return out


INTRO = REPO_ROOT / "intro.md"
START = ("<!-- chapter costs: generated from results/runs/chapters.json by `python -m dfkd_book.experiments.costs`; "
         "do not edit -->")
END = "<!-- end of chapter costs -->"


def markdown(rec: dict) -> str:
    """The record as a Markdown table: chapter, the committed full-profile run, the quick profile."""
    lines = ["| chapter | the run shown (full profile) | quick profile |", "|---|---|---|"]
    for name, e in rec.items():
        full, quick = e["full"], e.get("quick")
        q = f"{minutes(quick['seconds'])}, {quick['device']}" if quick else "–"
        lines.append(f"| {{doc}}`notebooks/{name}` | {minutes(full['seconds'])}, {full['device']} | {q} |")
    return "\n".join(lines)


WORKSHOP = REPO_ROOT / "workshop.md"
#: the chapters a workshop runs, in order (the appendices read records: seconds)
WORKSHOP_CHAPTERS = ("01_classical_kd", "02_data_impressions", "03_arbitrary_transfer_sets",
                     "04_adversarial_distillation", "05_feature_inversion", "06_ssd_kd", "07_benchmark",
                     "08_black_box_teachers")


def workshop_departs(name: str) -> bool:
    """Whether chapter ``name`` (``NN_...``) trains a recipe whose workshop budget departs from its full one
    (:data:`dfkd_book.recipes.WORKSHOP_STEPS`); a chapter that does not runs the same budgets on both profiles."""
    from .. import recipes

    return int(name[:2]) in {recipes.about(r).chapter for r in recipes.WORKSHOP_STEPS}


#: the workshop profile's rule: a budget may depart from the full one when its student's mean validation accuracy
#: stays within this many points of the full student's, on the same set and seeds
WORKSHOP_POINTS = 3.0


def workshop_evidence(results_dir: str | os.PathLike | None = None) -> list[dict]:
    """The measurement behind each workshop departure (:data:`dfkd_book.recipes.WORKSHOP_STEPS`): the recipe's
    workshop student (``results/runs/workshop.jsonl``) against its full one (``generalise.jsonl``, ``"RECIPE: as
    the yardstick"`` at the recipe's budget), paired on the seeds both ran on the same set (``set_sha256``). One
    dict per recipe: ``recipe``, ``steps`` (full, workshop), ``seeds``, ``val`` and ``test`` ({"full", "workshop"}:
    accuracies in %, seed order), ``compare`` (:func:`dfkd_book.stats.compare`, paired, workshop − full on
    validation) and ``keeps`` (the mean within :data:`WORKSHOP_POINTS`). A recipe with no paired run has ``seeds``
    empty and ``compare`` None."""
    from .. import recipes, stats

    ws = records.load_runs("workshop", results_dir) if records.runs_path("workshop", results_dir).exists() else []
    full = records.load_runs("generalise", results_dir)
    out = []
    for name, steps in recipes.WORKSHOP_STEPS.items():
        base = {(r["seed"], r["set_sha256"]): r for r in full
                if r["label"] == f"{name}: as the yardstick" and r.get("budget") == "recipe"}
        pairs = sorted(((r["seed"], base[r["seed"], r["set_sha256"]], r) for r in ws
                        if r["label"] == name and (r["seed"], r["set_sha256"]) in base), key=lambda t: t[0])
        val = {"full": [f["val_acc"] for _, f, _ in pairs], "workshop": [w["val_acc"] for _, _, w in pairs]}
        test = {"full": [f["test_acc"] for _, f, _ in pairs], "workshop": [w["test_acc"] for _, _, w in pairs]}
        cmp = stats.compare(val["workshop"], val["full"], paired=True) if pairs else None
        out.append({"recipe": name, "steps": (recipes.get(name, "full").student.steps, steps),
                    "seeds": [s for s, _, _ in pairs], "val": val, "test": test, "compare": cmp,
                    "keeps": cmp is not None and cmp.diff >= -WORKSHOP_POINTS})
    return out


def evidence_markdown(evidence: list[dict]) -> str:
    """:func:`workshop_evidence` as the workshop page's table: a row per recipe and split."""
    from ..stats import mean_sd_text

    lines = ["| recipe | student steps | seeds | split | full, % | workshop, % | difference |",
             "|---|---|---|---|---|---|---|"]
    for e in evidence:
        steps = f"{e['steps'][0]:,} → {e['steps'][1]:,}"
        if not e["seeds"]:
            lines.append(f"| {e['recipe']} | {steps} | not measured yet | – | – | – | – |")
            continue
        c = e["compare"]
        diff = f"{c.diff:+.2f}" + ("" if c.p is None else f" (p = {c.p:.2f})")
        lines.append(f"| {e['recipe']} | {steps} | {len(e['seeds'])} | validation | {mean_sd_text(e['val']['full'])} | "
                     f"{mean_sd_text(e['val']['workshop'])} | {diff} |")
        lines.append(f"| | | | test | {mean_sd_text(e['test']['full'])} | {mean_sd_text(e['test']['workshop'])} | |")
    return "\n".join(lines)


def workshop_markdown(rec: dict) -> str:
    """The workshop page's table: the chapters in order, what each costs on each profile measured, and the running
    totals. The workshop profile's cost is the measured one (``rec[chapter]["workshop"]``, its device named where it
    is not the full run's) where the chapter's budgets depart from the full profile's (:func:`workshop_departs`),
    the full run's ("as full") where they do not; a GPU column once a GPU run is recorded as
    ``rec[chapter]["gpu"]``."""
    lines = ["| order | chapter | full profile | total | workshop | total | quick | on a GPU |",
             "|---|---|---|---|---|---|---|---|"]
    totals = {"full": 0.0, "workshop": 0.0, "quick": 0.0}
    for i, name in enumerate(WORKSHOP_CHAPTERS, 1):
        e = rec[name]
        runs = {"full": e["full"], "quick": e.get("quick"),
                "workshop": e.get("workshop") if workshop_departs(name) else e["full"]}
        cells = []
        for profile in ("full", "workshop", "quick"):
            run = runs[profile]
            if run is None:
                what = "not measured yet"
            elif profile == "workshop" and not workshop_departs(name):
                what = "as full"
            elif profile == "full" or profile == "workshop" and run["device"] != e["full"]["device"]:
                what = f"{minutes(run['seconds'])}, {run['device']}"
            else:
                what = minutes(run["seconds"])
            # a running total stops at the first chapter not measured
            totals[profile] = None if run is None or totals[profile] is None else totals[profile] + run["seconds"]
            total = "–" if totals[profile] is None else minutes(totals[profile])
            cells += [what] if profile == "quick" else [what, total]
        gpu = e.get("gpu")
        on_gpu = f"{minutes(gpu['seconds'])}, {gpu['device']}" if gpu else "not measured yet"
        lines.append(f"| {i} | {{doc}}`notebooks/{name}` | {' | '.join(cells)} | {on_gpu} |")
    return "\n".join(lines)


def intro_block(intro: Path = INTRO, start: str = START, end: str = END) -> str:
    """The generated table as it stands in ``intro.md`` (between the markers ``start`` and ``end``). Raises
    ValueError without them."""
    text = Path(intro).read_text()
    if start not in text or end not in text:
        raise ValueError(f"{intro} lacks the markers {start!r} ... {end!r}")
    return text.split(start, 1)[1].split(end, 1)[0].strip()


def write_intro(rec, intro: Path = INTRO, render=markdown, start: str = START, end: str = END) -> None:
    """Put ``render(rec)`` (:func:`markdown`; :func:`workshop_markdown` for the workshop page) between the
    markers ``start`` and ``end`` of ``intro`` (``intro.md``; atomic write)."""
    text = Path(intro).read_text()
    intro_block(intro, start, end)  # checks the markers
    head, rest = text.split(start, 1)
    tail = rest.split(end, 1)[1]
    new = f"{head}{start}\n{render(rec)}\n{end}{tail}"
    atomic_write(Path(intro), lambda f: f.write(new.encode()))


#: the workshop page's second generated block: the measurement behind each workshop budget
EVIDENCE_START = ("<!-- workshop budgets: generated from results/runs/workshop.jsonl and generalise.jsonl by "
                  "`python -m dfkd_book.experiments.costs`; do not edit -->")
EVIDENCE_END = "<!-- end of workshop budgets -->"


def splice(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m dfkd_book.experiments.costs splice")
    ap.add_argument("notebook")
    ap.add_argument("--setup", required=True)
    ap.add_argument("--target", required=True)
    ap.add_argument("--profile", default="full")
    a = ap.parse_args(argv)
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(a.notebook, as_version=4)
    setup, target = a.setup.split("|"), a.target.split("|")
    code = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    for m in setup + target:
        if not any(m in c.source for _, c in code):
            sys.exit(f"no code cell contains {m!r}")
    picked = [(i, c, any(m in c.source for m in target)) for i, c in code
              if any(m in c.source for m in setup + target)]
    run = nbformat.v4.new_notebook(metadata=nb.metadata)
    run.cells = [nbformat.v4.new_code_cell(c.source) for _, c, _ in picked]
    os.environ["DFKD_BOOK_PROFILE"] = a.profile
    NotebookClient(run, timeout=-1, kernel_name="python3",
                   resources={"metadata": {"path": os.path.dirname(os.path.abspath(a.notebook))}}).execute()
    for (i, _, is_target), done in zip(picked, run.cells):
        if is_target:
            nb.cells[i].outputs = done.outputs
    # number the code cells as one run in order would (a new cell has none, and nbval rejects a cell with
    # outputs but no execution count)
    for n, (_, c) in enumerate(code, 1):
        c.execution_count = n
        for o in c.outputs:
            if "execution_count" in o:
                o["execution_count"] = n
    tmp = a.notebook + ".tmp"
    nbformat.write(nb, tmp)
    os.replace(tmp, a.notebook)
    print(f"spliced {sum(t for _, _, t in picked)} cell(s) of {a.notebook}")
    return 0



def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["splice"]:
        return splice(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m dfkd_book.experiments.costs", description=__doc__.splitlines()[0])
    parser.add_argument("--no-quick", action="store_true", help="do not execute the chapters (keep recorded quick)")
    parser.add_argument("--only", nargs="+", metavar="CHAPTER",
                        help="measure the quick profile of these chapters alone (e.g. 03_arbitrary_transfer_sets)")
    parser.add_argument("--workshop", nargs="+", metavar="CHAPTER", default=(),
                        help="measure the workshop profile of these chapters (minutes each; keeps the others')")
    args = parser.parse_args(argv)
    rec = record(quick=not args.no_quick, only=args.only, workshop=args.workshop)
    write_intro(rec)
    write_intro(rec, WORKSHOP, workshop_markdown)
    write_intro(workshop_evidence(), WORKSHOP, evidence_markdown, EVIDENCE_START, EVIDENCE_END)
    for name, e in rec.items():
        print(f"{name:28s} full {e['full']['seconds']:7.0f} s ({e['full']['device']})"
              + (f"   quick {e['quick']['seconds']:5.0f} s" if "quick" in e else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
