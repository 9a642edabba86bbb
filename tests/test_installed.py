"""The package as a Colab reader gets it: built into a wheel and installed outside the repository, so the
repository's ``results/`` is out of reach. Chapter 7 and the appendix only read records; their code must run
from the installed package's own copy of the records (package data). The wheel ships what the notebooks read —
every method record, and the study files a chapter reads through :mod:`dfkd_book.records` — and nothing else.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: the notebooks that only read records: chapter 7 and the appendices
READERS = ["notebooks/07_benchmark.py", "notebooks/A1_student_protocol.py",
           *sorted(f"notebooks/{p.name}" for p in (ROOT / "notebooks").glob("B[0-9]_*.py"))]


def read_by_the_notebooks() -> set[str]:
    """The files of ``results/`` the notebooks read: every method record (the leaderboard reads them all), each
    study file named in a ``records.load_runs`` / ``records.load_summary`` call, the yardstick, every chapter's
    cost (``chapters.show``) and what the leaderboard's provenance reads (``bench-all``)."""
    text = "\n".join(p.read_text() for p in sorted((ROOT / "notebooks").glob("*.py")))
    out = {f"records/{p.name}" for p in (ROOT / "results" / "records").glob("*.json")}
    out |= {f"runs/{n}.jsonl" for n in re.findall(r"records\.load_runs\(\s*\"([\w-]+)\"", text)}
    out |= {f"runs/{n}.json" for n in re.findall(r"records\.load_summary\(\s*\"([\w-]+)\"", text)}
    out |= {"runs/yardstick.json", "runs/chapters.json", "runs/bench-all.json"}
    missing = [n for n in out if not (ROOT / "results" / n).is_file()]
    assert not missing, f"the notebooks read {missing}, which results/ lacks"
    return out


def test_the_package_data_is_what_the_notebooks_read():
    """pyproject's package data names exactly the files of results/ that the notebooks read."""
    tomllib = pytest.importorskip("tomllib")
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["dfkd_book"]
    listed = {f.relative_to(ROOT / "dfkd_book" / "results").as_posix() for pat in patterns
              if pat.startswith("results/") for f in (ROOT / "dfkd_book").glob(pat)}
    assert listed == read_by_the_notebooks()


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The package built into a wheel and installed into a fresh folder (no dependencies: the venv has them)."""
    tmp = tmp_path_factory.mktemp("installed")
    src = tmp / "src"  # a copy, so the build leaves nothing in the checkout
    shutil.copytree(ROOT / "dfkd_book", src / "dfkd_book", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    wheels = tmp / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", str(src),
                    "-w", str(wheels)], check=True, cwd=tmp)
    (wheel,) = wheels.glob("dfkd_book-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    shipped = {n.removeprefix("dfkd_book/results/") for n in names if n.startswith("dfkd_book/results/")}
    expected = read_by_the_notebooks()
    assert shipped == expected, (f"the wheel ships {sorted(shipped - expected)} that no notebook reads and lacks "
                                 f"{sorted(expected - shipped)} that one reads")
    site = tmp / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(wheel)],
                   check=True, cwd=tmp)
    return site


@pytest.mark.parametrize("chapter", READERS)
def test_a_reading_chapter_runs_from_the_installed_package(installed, tmp_path, chapter):
    env = {**os.environ, "PYTHONPATH": str(installed), "MPLBACKEND": "Agg", "DFKD_BOOK_PROFILE": "quick"}
    where = subprocess.run([sys.executable, "-c", "import dfkd_book, sys; print(dfkd_book.__file__)"], env=env,
                           cwd=tmp_path, capture_output=True, text=True, check=True).stdout.strip()
    assert Path(where).is_relative_to(installed), f"imported {where}, not the installed copy"
    proc = subprocess.run([sys.executable, str(ROOT / chapter)], env=env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, f"{chapter} failed from the installed package:\n{proc.stderr[-3000:]}"
