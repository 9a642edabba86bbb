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
    here += f" ({torch.get_num_threads()} threads)" if here == "cpu" else ""
    names = sorted(Path(notebooks).glob("*.ipynb"))
    unknown = sorted((set(only or ()) | set(workshop)) - {nb.stem for nb in names})
    if unknown:
        raise ValueError(f"no chapter {unknown} in {notebooks}; chapters: {[nb.stem for nb in names]}")
    for nb in names:
        entry = {"full": committed_run(nb)}
        if quick and (only is None or nb.stem in only):
            print(f"{nb.name}: executing (quick)", flush=True)
            entry["quick"] = {"seconds": measure(nb), "device": here, "machine": platform.machine()}
        elif "quick" in old.get(nb.stem, {}):
            entry["quick"] = old[nb.stem]["quick"]
        if nb.stem in workshop:
            print(f"{nb.name}: executing (workshop)", flush=True)
            entry["workshop"] = {"seconds": measure(nb, "workshop"), "device": here, "machine": platform.machine()}
        elif "workshop" in old.get(nb.stem, {}):
            entry["workshop"] = old[nb.stem]["workshop"]
        for kept in set(old.get(nb.stem, {})) - set(entry):  # recorded by other means (a GPU run)
            entry[kept] = old[nb.stem][kept]
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


def workshop_markdown(rec: dict) -> str:
    """The workshop page's table: the chapters in order, what each costs on each profile and device measured, and
    the running totals (a GPU column once a GPU run is recorded as ``rec[chapter]["gpu"]``)."""
    lines = ["| order | chapter | full profile | running total | quick profile | running total | on a GPU |",
             "|---|---|---|---|---|---|---|"]
    full_total = quick_total = 0.0
    for i, name in enumerate(WORKSHOP_CHAPTERS, 1):
        e = rec[name]
        full_total += e["full"]["seconds"]
        quick = e.get("quick")
        quick_total += quick["seconds"] if quick else 0.0
        gpu = e.get("gpu")
        on_gpu = f"{minutes(gpu['seconds'])}, {gpu['device']}" if gpu else "not measured yet"
        lines.append(f"| {i} | {{doc}}`notebooks/{name}` | {minutes(e['full']['seconds'])}, {e['full']['device']} | "
                     f"{minutes(full_total)} | {minutes(quick['seconds']) if quick else '–'} | "
                     f"{minutes(quick_total) if quick else '–'} | {on_gpu} |")
    return "\n".join(lines)


def intro_block(intro: Path = INTRO) -> str:
    """The generated table as it stands in ``intro.md`` (between the markers). Raises ValueError without them."""
    text = Path(intro).read_text()
    if START not in text or END not in text:
        raise ValueError(f"{intro} lacks the chapter-cost markers {START!r} ... {END!r}")
    return text.split(START, 1)[1].split(END, 1)[0].strip()


def write_intro(rec: dict, intro: Path = INTRO, render=markdown) -> None:
    """Put ``render(rec)`` (:func:`markdown`; :func:`workshop_markdown` for the workshop page) between the
    markers of ``intro`` (``intro.md``; atomic write)."""
    text = Path(intro).read_text()
    intro_block(intro)  # checks the markers
    head, rest = text.split(START, 1)
    tail = rest.split(END, 1)[1]
    new = f"{head}{START}\n{render(rec)}\n{END}{tail}"
    atomic_write(Path(intro), lambda f: f.write(new.encode()))


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
    for name, e in rec.items():
        print(f"{name:28s} full {e['full']['seconds']:7.0f} s ({e['full']['device']})"
              + (f"   quick {e['quick']['seconds']:5.0f} s" if "quick" in e else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
