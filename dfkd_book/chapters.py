"""What each chapter costs to run, measured: ``results/chapters.json``, printed by every chapter's first cell.

    python -m dfkd_book.chapters            # measure: read the committed runs, execute each chapter (quick)
    python -m dfkd_book.chapters --no-quick # only read the committed full-profile runs
    python -m dfkd_book.chapters --only 03_arbitrary_transfer_sets   # measure one chapter's quick profile
    python -m dfkd_book.chapters --strip-widgets notebooks/*.ipynb   # what `make book` does after executing

Both write ``results/chapters.json`` and the table of chapter costs in ``intro.md``.

The **full** cost is read from the committed notebook itself: the span of its cells' execution timestamps (the
run whose outputs the book shows) and the device and profile its first output printed. The **quick** cost is
measured by executing the notebook in memory with ``DFKD_BOOK_PROFILE=quick`` on this machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import time
from pathlib import Path

from .config import REPO_ROOT, RESULTS, atomic_write

NOTEBOOKS = REPO_ROOT / "notebooks"
RECORD = "chapters.json"
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


def measure_quick(path: str | os.PathLike, timeout: int = 900) -> float:
    """Seconds to execute the notebook (in memory; the file is not touched) with the quick profile (nbclient, this
    machine)."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    old = os.environ.get("DFKD_BOOK_PROFILE")
    os.environ["DFKD_BOOK_PROFILE"] = "quick"
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


def strip_widget_state(path: str | os.PathLike) -> bool:
    """Remove stored ipywidgets state from a notebook (``metadata.widgets``), in place and atomically; True when
    there was some. With it the site would load require.js and the widget manager from a CDN and break offline.
    (``nbconvert``'s ``store_widget_state=False`` crashes on Output widgets, so ``make book`` strips afterwards.)"""
    text = Path(path).read_text()
    nb = json.loads(text)
    if "widgets" not in nb.get("metadata", {}):
        return False
    del nb["metadata"]["widgets"]
    out = json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
    atomic_write(Path(path), lambda f: f.write(out.encode()))
    return True


def record(quick: bool = True, notebooks: Path = NOTEBOOKS, results_dir: Path = RESULTS,
           only: list[str] | None = None) -> dict:
    """Write ``results/chapters.json``: every chapter's committed run and (``quick``) its measured quick cost;
    ``only`` (notebook names without ``.ipynb``) measures the quick cost of those alone, keeping the others'.
    Raises ValueError for a name in ``only`` that is no chapter."""
    out = {}
    old = json.loads((Path(results_dir) / RECORD).read_text()) if (Path(results_dir) / RECORD).exists() else {}
    import torch

    here = f"cpu ({torch.get_num_threads()} threads)" if not torch.cuda.is_available() else \
        torch.cuda.get_device_name(0)
    names = sorted(Path(notebooks).glob("*.ipynb"))
    unknown = sorted(set(only or ()) - {nb.stem for nb in names})
    if unknown:
        raise ValueError(f"no chapter {unknown} in {notebooks}; chapters: {[nb.stem for nb in names]}")
    for nb in names:
        entry = {"full": committed_run(nb)}
        if quick and (only is None or nb.stem in only):
            print(f"{nb.name}: executing (quick)", flush=True)
            entry["quick"] = {"seconds": measure_quick(nb), "device": here, "machine": platform.machine()}
        elif "quick" in old.get(nb.stem, {}):
            entry["quick"] = old[nb.stem]["quick"]
        out[nb.stem] = entry
    atomic_write(Path(results_dir) / RECORD, lambda f: f.write(json.dumps(out, indent=1).encode()))
    return out


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


def cost(chapter: str, results_dir: Path = RESULTS) -> str:
    """One line: what the chapter (a notebook name such as ``'02_data_impressions'``) cost, from the record.

    Raises KeyError naming the known chapters when ``chapter`` has no entry."""
    path = Path(results_dir) / RECORD
    rec = json.loads(path.read_text()) if path.exists() else {}
    if chapter not in rec:
        raise KeyError(f"no cost recorded for {chapter!r} in {path}; known: {sorted(rec)}; "
                       "run `python -m dfkd_book.chapters`")
    e = rec[chapter]
    full = e["full"]
    line = f"The book shows this chapter's outputs from a {full['profile']}-profile run: " \
           f"{_minutes(full['seconds'])} on {full['device']}, {full['finished'][:10]}."
    if "quick" in e:
        line += f" The quick profile takes about {_minutes(e['quick']['seconds'])} on {e['quick']['device']}."
    return line


def show(chapter: str, results_dir: Path = RESULTS) -> None:
    """Print what the chapter costs (:func:`cost`) and how to switch the profile — the chapters' second cell."""
    from .config import ENV_PROFILE, profile

    print(cost(chapter, results_dir))
    print(f"This is the {profile()} profile. To switch, set {ENV_PROFILE} (full or quick) with %env in a cell, "
          "then run the chapter from the top.")


INTRO = REPO_ROOT / "intro.md"
START = "<!-- chapter costs: generated from results/chapters.json by `python -m dfkd_book.chapters`; do not edit -->"
END = "<!-- end of chapter costs -->"


def markdown(rec: dict) -> str:
    """The record as a Markdown table: chapter, the committed full-profile run, the quick profile."""
    lines = ["| chapter | the run shown (full profile) | quick profile |", "|---|---|---|"]
    for name, e in rec.items():
        full, quick = e["full"], e.get("quick")
        q = f"{_minutes(quick['seconds'])}, {quick['device']}" if quick else "–"
        lines.append(f"| {{doc}}`notebooks/{name}` | {_minutes(full['seconds'])}, {full['device']} | {q} |")
    return "\n".join(lines)


def intro_block(intro: Path = INTRO) -> str:
    """The generated table as it stands in ``intro.md`` (between the markers). Raises ValueError without them."""
    text = Path(intro).read_text()
    if START not in text or END not in text:
        raise ValueError(f"{intro} lacks the chapter-cost markers {START!r} ... {END!r}")
    return text.split(START, 1)[1].split(END, 1)[0].strip()


def write_intro(rec: dict, intro: Path = INTRO) -> None:
    """Put :func:`markdown` of ``rec`` between the markers of ``intro.md`` (atomic write)."""
    text = Path(intro).read_text()
    intro_block(intro)  # checks the markers
    head, rest = text.split(START, 1)
    tail = rest.split(END, 1)[1]
    new = f"{head}{START}\n{markdown(rec)}\n{END}{tail}"
    atomic_write(Path(intro), lambda f: f.write(new.encode()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dfkd_book.chapters", description=__doc__.splitlines()[0])
    parser.add_argument("--no-quick", action="store_true", help="do not execute the chapters (keep recorded quick)")
    parser.add_argument("--only", nargs="+", metavar="CHAPTER",
                        help="measure the quick profile of these chapters alone (e.g. 03_arbitrary_transfer_sets)")
    parser.add_argument("--strip-widgets", nargs="+", metavar="NOTEBOOK",
                        help="only remove stored widget state from these notebooks")
    args = parser.parse_args(argv)
    if args.strip_widgets:
        for nb in args.strip_widgets:
            if strip_widget_state(nb):
                print(f"{nb}: widget state removed")
        return 0
    rec = record(quick=not args.no_quick, only=args.only)
    write_intro(rec)
    for name, e in rec.items():
        print(f"{name:28s} full {e['full']['seconds']:7.0f} s ({e['full']['device']})"
              + (f"   quick {e['quick']['seconds']:5.0f} s" if "quick" in e else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
