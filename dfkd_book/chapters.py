"""The chapters' first cells: what a chapter costs to run (read from ``results/runs/chapters.json``, which
:mod:`dfkd_book.experiments.costs` measures) and how to switch the profile; and the one build step ``make book``
runs after executing the notebooks.

    python -m dfkd_book.chapters --strip-widgets notebooks/*.ipynb   # what `make book` does after executing
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from . import records
from .config import REPO_ROOT, atomic_write

NOTEBOOKS = REPO_ROOT / "notebooks"


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


def minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


def cost(chapter: str, results_dir: str | os.PathLike | None = None) -> str:
    """One line: what the chapter (a notebook name such as ``'02_data_impressions'``) cost, from the record.

    Raises KeyError naming the known chapters when ``chapter`` has no entry."""
    path = records.summary_path("chapters", results_dir)
    rec = json.loads(path.read_text()) if path.exists() else {}
    if chapter not in rec:
        raise KeyError(f"no cost recorded for {chapter!r} in {path}; known: {sorted(rec)}; "
                       "run `python -m dfkd_book.experiments.costs`")
    e = rec[chapter]
    full = e["full"]
    line = f"The book shows this chapter's outputs from a {full['profile']}-profile run: " \
           f"{minutes(full['seconds'])} on {full['device']}."
    for other in ("workshop", "quick"):
        if other in e:
            line += f" The {other} profile takes about {minutes(e[other]['seconds'])} on {e[other]['device']}."
    return line


def show(chapter: str, results_dir: str | os.PathLike | None = None) -> None:
    """Print what the chapter costs (:func:`cost`) and how to switch the profile — the chapters' second cell. A
    chapter whose cost is not recorded yet (a new page, before ``python -m dfkd_book.experiments.costs``) says so;
    ``tests/test_chapters.py`` fails until every committed notebook has its cost."""
    from .config import ENV_PROFILE, PROFILES, profile

    try:
        print(cost(chapter, results_dir))
    except KeyError:
        print(f"The cost of {chapter} is not recorded yet: `python -m dfkd_book.experiments.costs` measures it.")
    other = " or ".join(f"`chapters.use({p!r})`" for p in PROFILES if p != profile())
    print(f"This is the {profile()} profile. To switch, run {other} in a cell (it sets {ENV_PROFILE}), then run "
          "the chapter from the top.")


def use(profile: str) -> str:
    """Switch the book's profile for this kernel: the one line a reader runs on Colab or in JupyterLab instead of a
    hand-typed ``%env`` — it sets ``$DFKD_BOOK_PROFILE``, which every budget reads (:func:`dfkd_book.config.pick`).
    Run the chapter from the top afterwards. Returns the profile.

    Raises:
        ValueError: not one of :data:`dfkd_book.config.PROFILES` (the message lists them).
    """
    from .config import ENV_PROFILE, PROFILES

    value = profile.strip().lower() if isinstance(profile, str) else profile
    if value not in PROFILES:
        raise ValueError(f"profile must be one of {PROFILES}, got {profile!r}")
    os.environ[ENV_PROFILE] = value
    print(f"The {value} profile is on for this kernel: run the chapter from the top.")
    return value


class Chapter:
    """What :func:`setup` returns: the chapter's name and its start, for the checks at its end."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.start = time.perf_counter()

    def elapsed(self) -> float:
        """Seconds since :func:`setup`."""
        return time.perf_counter() - self.start

    def passed(self) -> None:
        """Print that the chapter's checks passed, with its running time and profile — the last line of its
        (hidden) check cell; call it after the asserts."""
        from .config import profile

        print(f"{self.name}: every check passed; the chapter ran in {self.elapsed():.0f} s "
              f"on the {profile()} profile")


def setup(chapter: str, seed: int = 0) -> Chapter:
    """The one preamble of every chapter: print the profile, device and library versions
    (:func:`dfkd_book.config.describe`), seed every generator (:func:`dfkd_book.config.seed_everything`) and
    print what the chapter costs and how to switch the profile (:func:`show`).

    Args:
        chapter: the notebook's name without suffix, such as ``"02_data_impressions"``.
        seed: the seed of Python's, NumPy's and PyTorch's generators.

    Returns:
        a :class:`Chapter`, whose :meth:`Chapter.passed` ends the chapter's checks.

    Raises:
        ValueError: ``chapter`` is not a notebook's name (a string such as ``"01_classical_kd"``).
    """
    from .config import describe, seed_everything

    if not isinstance(chapter, str) or not chapter.replace("_", "").isalnum():
        raise ValueError(f"expected a chapter's notebook name such as '01_classical_kd', got {chapter!r}")
    describe()
    seed_everything(seed)
    show(chapter)
    return Chapter(chapter)


def glue(name: str, value) -> None:
    """Make ``value`` citable in the chapter's prose as ``{glue:text}`name``` (MyST-NB's glue, which the site
    renders). A string is glued as its ``repr`` — MyST-NB reads the stored text back with ``ast.literal_eval``,
    so the quotes come off and ``"61,706"`` stays the text 61,706 (glued bare it would read back as the tuple
    ``(61, 706)``); a number as itself, so the prose may format it (``{glue:text}`name:.2f```). Outside the
    book's build (Colab without ``myst_nb``) it does nothing.

    Raises:
        ValueError: ``name`` is not an identifier (MyST-NB could not cite it).
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"a glue name must be an identifier, got {name!r}")
    try:
        from myst_nb import glue as _glue
    except ImportError:
        return
    _glue(name, value, display=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dfkd_book.chapters", description=__doc__.splitlines()[0])
    parser.add_argument("--strip-widgets", nargs="+", metavar="NOTEBOOK", required=True,
                        help="remove stored widget state from these notebooks")
    args = parser.parse_args(argv)
    for nb in args.strip_widgets:
        if strip_widget_state(nb):
            print(f"{nb}: widget state removed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
