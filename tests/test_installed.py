"""The package as a Colab reader gets it: built into a wheel and installed outside the repository, so the
repository's ``results/`` is out of reach. Chapter 7 and the appendix only read records; their code must run
from the installed package's own copy of the records (package data).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
READERS = ["notebooks/07_benchmark.py", "notebooks/A1_student_protocol.py"]  # chapters that only read records


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
    shipped = {Path(n).name for n in names if n.startswith("dfkd_book/results/")}
    expected = {p.name for p in (ROOT / "results").iterdir() if p.suffix in (".json", ".jsonl")}
    assert shipped == expected, f"the wheel ships {sorted(shipped)}, results/ holds {sorted(expected)}"
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
