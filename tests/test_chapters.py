"""What a chapter costs: read from the committed notebooks, recorded in results/chapters.json, printed first."""

from __future__ import annotations

import json

import pytest

from dfkd_book import chapters, config


def _notebook(path, stamps, text="profile: full  device: cpu  threads: 2  torch: x"):
    cells = [{"cell_type": "markdown", "metadata": {}, "source": "# t"}]
    for i, (a, b) in enumerate(stamps):
        outputs = [{"output_type": "stream", "name": "stdout", "text": text}] if i == 0 else []
        cells.append({"cell_type": "code", "metadata": {"execution": {"iopub.execute_input": a,
                                                                      "shell.execute_reply": b}},
                      "source": "", "outputs": outputs, "execution_count": i + 1})
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    return path


def test_committed_run_is_the_span_of_the_cells(tmp_path):
    nb = _notebook(tmp_path / "a.ipynb", [("2026-01-01T10:00:00.000Z", "2026-01-01T10:00:05.000Z"),
                                          ("2026-01-01T10:00:05.500Z", "2026-01-01T10:02:00.000Z")])
    run = chapters.committed_run(nb)
    assert run == {"seconds": 120.0, "profile": "full", "device": "cpu (2 threads)",
                   "finished": "2026-01-01T10:02:00+00:00"}


def test_committed_run_needs_timestamps_and_the_describe_line(tmp_path):
    nb = _notebook(tmp_path / "a.ipynb", [])
    with pytest.raises(ValueError, match="no execution timestamps"):
        chapters.committed_run(nb)
    nb = _notebook(tmp_path / "b.ipynb", [("2026-01-01T10:00:00Z", "2026-01-01T10:00:01Z")], text="hello")
    with pytest.raises(ValueError, match="config.describe"):
        chapters.committed_run(nb)


def test_cost_reads_the_record_and_names_what_is_known(tmp_path):
    rec = {"02_x": {"full": {"seconds": 600.0, "profile": "full", "device": "cpu (2 threads)", "finished": "t"},
                    "quick": {"seconds": 70.0, "device": "cpu (2 threads)", "machine": "x86_64"}}}
    (tmp_path / chapters.RECORD).write_text(json.dumps(rec))
    line = chapters.cost("02_x", tmp_path)
    assert "10 min on cpu (2 threads), t." in line and "about 70 s" in line
    with pytest.raises(KeyError, match="02_x"):
        chapters.cost("03_y", tmp_path)


def test_the_record_describes_every_committed_notebook():
    """results/chapters.json is refreshed whenever a chapter is re-executed (`python -m dfkd_book.chapters`)."""
    rec = json.loads((config.RESULTS / chapters.RECORD).read_text())
    notebooks = sorted(chapters.NOTEBOOKS.glob("*.ipynb"))
    assert sorted(rec) == [nb.stem for nb in notebooks]
    for nb in notebooks:
        assert rec[nb.stem]["full"] == chapters.committed_run(nb), \
            f"{nb.name} was re-executed since results/chapters.json: run `python -m dfkd_book.chapters`"
        assert rec[nb.stem]["full"]["profile"] == "full", f"{nb.name}: the committed outputs are not a full run"
        assert "quick" in rec[nb.stem]


def test_show_prints_the_cost_and_how_to_switch(capsys, monkeypatch):
    monkeypatch.setenv(config.ENV_PROFILE, "quick")
    chapters.show("01_classical_kd")
    out = capsys.readouterr().out
    assert "full-profile run" in out and "This is the quick profile" in out
    assert "DFKD_BOOK_PROFILE (full or quick)" in out


def test_the_intro_shows_the_record():
    rec = json.loads((config.RESULTS / chapters.RECORD).read_text())
    assert chapters.intro_block() == chapters.markdown(rec), "intro.md's cost table is stale: " \
        "run `python -m dfkd_book.chapters --no-quick`"


def test_write_intro_needs_the_markers(tmp_path):
    (tmp_path / "intro.md").write_text("no markers")
    with pytest.raises(ValueError, match="markers"):
        chapters.write_intro({}, tmp_path / "intro.md")


def test_record_only_names_chapters(tmp_path):
    with pytest.raises(ValueError, match="no chapter"):
        chapters.record(only=["99_nothing"], results_dir=tmp_path)
