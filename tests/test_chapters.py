"""What a chapter costs: measured from the committed notebooks (dfkd_book.experiments.costs), recorded in
results/runs/chapters.json, printed first by every chapter (dfkd_book.chapters); and the build step that strips
stored widget state."""

from __future__ import annotations

import json

import pytest

from dfkd_book import chapters, config, records
from dfkd_book.experiments import costs


def _notebook(path, stamps, text="profile: full  device: cpu  threads: 2  torch: x"):
    cells = [{"cell_type": "markdown", "id": "md", "metadata": {}, "source": "# t"}]
    for i, (a, b) in enumerate(stamps):
        outputs = [{"output_type": "stream", "name": "stdout", "text": text}] if i == 0 else []
        cells.append({"cell_type": "code", "id": f"c{i}", "metadata": {"execution": {"iopub.execute_input": a,
                                                                      "shell.execute_reply": b}},
                      "source": f"x = {i}", "outputs": outputs, "execution_count": i + 1})
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    return path


# ----------------------------------------------------------------------------------------- measuring the cost
def test_committed_run_is_the_span_of_the_cells(tmp_path):
    nb = _notebook(tmp_path / "a.ipynb", [("2026-01-01T10:00:00.000Z", "2026-01-01T10:00:05.000Z"),
                                          ("2026-01-01T10:00:05.500Z", "2026-01-01T10:02:00.000Z")])
    run = costs.committed_run(nb)
    assert run == {"seconds": 120.0, "profile": "full", "device": "cpu (2 threads)",
                   "finished": "2026-01-01T10:02:00+00:00"}
    one = _notebook(tmp_path / "b.ipynb", [("2026-01-01T10:00:00Z", "2026-01-01T10:00:09Z")],
                    text="profile: quick  device: NVIDIA H100 80GB HBM3  threads: 1  torch: x")
    assert costs.committed_run(one)["device"] == "NVIDIA H100 80GB HBM3 (1 thread)"


def test_committed_run_needs_timestamps_and_the_describe_line(tmp_path):
    nb = _notebook(tmp_path / "a.ipynb", [])
    with pytest.raises(ValueError, match="no execution timestamps"):
        costs.committed_run(nb)
    nb = _notebook(tmp_path / "b.ipynb", [("2026-01-01T10:00:00Z", "2026-01-01T10:00:01Z")], text="hello")
    with pytest.raises(ValueError, match="config.describe"):
        costs.committed_run(nb)


def _two_chapters(tmp_path):
    """A notebooks folder with two executed chapters, 01_a (60 s) and 02_b (30 s)."""
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    _notebook(nbs / "01_a.ipynb", [("2026-01-01T10:00:00Z", "2026-01-01T10:01:00Z")])
    _notebook(nbs / "02_b.ipynb", [("2026-01-01T11:00:00Z", "2026-01-01T11:00:30Z")])
    return nbs


def test_record_without_quick_reads_every_notebook_and_keeps_the_recorded_quick_cost(tmp_path):
    nbs = _two_chapters(tmp_path)
    quick = {"seconds": 70.0, "device": "cpu (2 threads)", "machine": "x86_64"}
    records.save_summary(costs.RECORD, {"01_a": {"full": {}, "quick": quick}}, tmp_path)
    rec = costs.record(quick=False, notebooks=nbs, results_dir=tmp_path)
    assert list(rec) == ["01_a", "02_b"]
    assert rec["01_a"] == {"full": costs.committed_run(nbs / "01_a.ipynb"), "quick": quick}
    assert rec["02_b"] == {"full": costs.committed_run(nbs / "02_b.ipynb")}
    assert records.load_summary("chapters", tmp_path) == rec
    assert (tmp_path / "runs" / "chapters.json").is_file()


def test_record_measures_the_workshop_profile_of_the_chapters_named(tmp_path, monkeypatch):
    nbs = _two_chapters(tmp_path)
    gpu = {"seconds": 90.0, "device": "cuda (NVIDIA H100)", "profile": "full"}
    records.save_summary(costs.RECORD, {"02_b": {"full": {}, "gpu": gpu}}, tmp_path)
    ran = []
    monkeypatch.setattr(costs, "measure", lambda nb, profile="quick": ran.append((nb.stem, profile)) or 42.0)
    rec = costs.record(quick=False, notebooks=nbs, results_dir=tmp_path, workshop=["01_a"])
    assert ran == [("01_a", "workshop")]
    assert rec["01_a"]["workshop"]["seconds"] == 42.0 and "workshop" not in rec["02_b"]
    assert rec["02_b"]["gpu"] == gpu  # what was recorded otherwise is kept
    again = costs.record(quick=False, notebooks=nbs, results_dir=tmp_path)  # measures nothing, keeps the workshop
    assert ran == [("01_a", "workshop")] and again["01_a"]["workshop"] == rec["01_a"]["workshop"]


def test_record_only_names_chapters(tmp_path):
    with pytest.raises(ValueError, match="no chapter"):
        costs.record(only=["99_nothing"], results_dir=tmp_path)
    with pytest.raises(ValueError, match="no chapter"):
        costs.record(quick=False, workshop=["99_nothing"], results_dir=tmp_path)
    assert not (tmp_path / "runs").exists()


# --------------------------------------------------------------------------------------- what the chapters show
def test_cost_reads_the_record_and_names_what_is_known(tmp_path):
    rec = {"02_x": {"full": {"seconds": 600.0, "profile": "full", "device": "cpu (2 threads)", "finished": "t"},
                    "quick": {"seconds": 70.0, "device": "cpu (2 threads)", "machine": "x86_64"}}}
    records.save_summary(costs.RECORD, rec, tmp_path)
    line = chapters.cost("02_x", tmp_path)
    assert line.startswith("The book shows this chapter's outputs from a full-profile run: ")
    assert "10 min on cpu (2 threads)." in line and "about 70 s" in line and "workshop" not in line
    rec["02_x"]["workshop"] = {"seconds": 300.0, "device": "cpu (1 thread)", "machine": "x86_64"}
    records.save_summary(costs.RECORD, rec, tmp_path)
    assert "The workshop profile takes about 5 min on cpu (1 thread)." in chapters.cost("02_x", tmp_path)
    with pytest.raises(KeyError, match="02_x"):
        chapters.cost("03_y", tmp_path)
    with pytest.raises(KeyError, match=r"known: \[\]"):
        chapters.cost("02_x", tmp_path / "nowhere")


def test_minutes_reads_as_seconds_then_minutes():
    assert chapters.minutes(70) == "70 s" and chapters.minutes(89.4) == "89 s"
    assert chapters.minutes(600) == "10 min" and chapters.minutes(3600) == "60 min"


def test_the_record_describes_every_committed_notebook():
    """results/runs/chapters.json is refreshed whenever a chapter is re-executed
    (`python -m dfkd_book.experiments.costs`)."""
    rec = records.load_summary(costs.RECORD)
    assert costs.RECORD == "chapters"
    notebooks = sorted(chapters.NOTEBOOKS.glob("*.ipynb"))
    assert sorted(rec) == [nb.stem for nb in notebooks]
    for nb in notebooks:
        assert rec[nb.stem]["full"] == costs.committed_run(nb), \
            f"{nb.name} was re-executed since results/runs/chapters.json: run `python -m dfkd_book.experiments.costs`"
        assert rec[nb.stem]["full"]["profile"] == "full", f"{nb.name}: the committed outputs are not a full run"
        assert "quick" in rec[nb.stem]


def test_show_prints_the_cost_and_how_to_switch(capsys, monkeypatch):
    monkeypatch.setenv(config.ENV_PROFILE, "quick")
    chapters.show("01_classical_kd")
    out = capsys.readouterr().out
    assert "full-profile run" in out and "This is the quick profile" in out
    assert "run `chapters.use('workshop')` or `chapters.use('full')` in a cell" in out


def test_use_switches_the_profile_in_one_line(capsys, monkeypatch):
    monkeypatch.setenv(config.ENV_PROFILE, "full")
    assert chapters.use(" Quick ") == "quick" and config.profile() == "quick"
    assert "quick profile is on" in capsys.readouterr().out
    with pytest.raises(ValueError, match=r"profile must be one of \('quick', 'workshop', 'full'\), got 'fast'"):
        chapters.use("fast")
    assert config.profile() == "quick"
    assert chapters.use("workshop") == "workshop" and config.profile() == "workshop"


def test_setup_describes_seeds_and_shows_the_cost(capsys, monkeypatch):
    import torch

    monkeypatch.setenv(config.ENV_PROFILE, "quick")
    ch = chapters.setup("01_classical_kd", seed=3)
    a = torch.rand(3)
    out = capsys.readouterr().out
    assert "profile: quick" in out and "full-profile run" in out and "This is the quick profile" in out
    config.seed_everything(3)
    assert torch.equal(a, torch.rand(3)), "setup seeds PyTorch's generator"
    assert ch.name == "01_classical_kd" and ch.elapsed() >= 0
    ch.passed()
    assert "01_classical_kd: every check passed" in capsys.readouterr().out
    with pytest.raises(ValueError, match="chapter's notebook name"):
        chapters.setup(1)


# ---------------------------------------------------------------------------------------------- the intro's table
def test_the_intro_shows_the_record():
    rec = records.load_summary(costs.RECORD)
    assert costs.intro_block() == costs.markdown(rec), "intro.md's cost table is stale: " \
        "run `python -m dfkd_book.experiments.costs --no-quick`"


def test_the_workshop_page_shows_the_record_in_order_with_running_totals():
    rec = records.load_summary(costs.RECORD)
    assert costs.intro_block(costs.WORKSHOP) == costs.workshop_markdown(rec), "workshop.md's cost table is " \
        "stale: run `python -m dfkd_book.experiments.costs --no-quick`"
    fake = {name: {"full": {"seconds": 60.0 * i, "device": "cpu"}, "quick": {"seconds": 10.0, "device": "cpu"}}
            for i, name in enumerate(costs.WORKSHOP_CHAPTERS, 1)}
    fake[costs.WORKSHOP_CHAPTERS[0]]["gpu"] = {"seconds": 30.0, "device": "NVIDIA H100"}
    rows = costs.workshop_markdown(fake).splitlines()[2:]
    assert [r.split(" | ")[3] for r in rows] == ["60 s", "3 min", "6 min", "10 min", "15 min", "21 min", "28 min",
                                                "36 min"]
    assert "30 s, NVIDIA H100" in rows[0] and rows[1].endswith("not measured yet |")
    # the workshop profile: the full run where a chapter's budgets do not depart, measured where they do
    workshop = [r.split(" | ")[4] for r in rows]
    assert workshop[0] == "as full" and not costs.workshop_departs(costs.WORKSHOP_CHAPTERS[0])
    departs = [i for i, name in enumerate(costs.WORKSHOP_CHAPTERS) if costs.workshop_departs(name)]
    assert departs and all(workshop[i] == "not measured yet" for i in departs)
    fake[costs.WORKSHOP_CHAPTERS[departs[0]]]["workshop"] = {"seconds": 30.0, "device": "cpu (1 thread)"}
    rows = costs.workshop_markdown(fake).splitlines()[2:]
    assert rows[departs[0]].split(" | ")[4] == "30 s, cpu (1 thread)"  # not the full run's device: named
    fake[costs.WORKSHOP_CHAPTERS[departs[0]]]["workshop"]["device"] = "cpu"
    assert costs.workshop_markdown(fake).splitlines()[2:][departs[0]].split(" | ")[4] == "30 s"


def test_write_intro_replaces_only_the_block_between_the_markers(tmp_path):
    intro = tmp_path / "intro.md"
    intro.write_text(f"# head\n\n{costs.START}\nold\n{costs.END}\n\ntail\n")
    rec = {"01_a": {"full": {"seconds": 30.0, "device": "cpu (2 threads)"}},
           "02_b": {"full": {"seconds": 600.0, "device": "cpu (1 thread)"},
                    "quick": {"seconds": 95.0, "device": "cpu (2 threads)"}}}
    costs.write_intro(rec, intro)
    text = intro.read_text()
    assert text.startswith("# head\n\n") and text.endswith("\n\ntail\n") and "old" not in text
    assert costs.intro_block(intro) == costs.markdown(rec)
    assert "| {doc}`notebooks/01_a` | 30 s, cpu (2 threads) | – |" in text
    assert "| {doc}`notebooks/02_b` | 10 min, cpu (1 thread) | 2 min, cpu (2 threads) |" in text
    assert "python -m dfkd_book.experiments.costs" in costs.START


def test_write_intro_needs_the_markers(tmp_path):
    (tmp_path / "intro.md").write_text("no markers")
    with pytest.raises(ValueError, match="markers"):
        costs.write_intro({}, tmp_path / "intro.md")
    assert (tmp_path / "intro.md").read_text() == "no markers"


def test_splice_fails_writing_nothing_when_a_marker_matches_no_cell(tmp_path):
    nb = _notebook(tmp_path / "a.ipynb", [("2026-01-01T10:00:00Z", "2026-01-01T10:00:01Z")])
    before = nb.read_text()
    with pytest.raises(SystemExit, match="no code cell contains 'nothing like this'"):
        costs.main(["splice", str(nb), "--setup", "x = 0", "--target", "nothing like this"])
    assert nb.read_text() == before


# ------------------------------------------------------------------------------------------- the build step
def test_strip_widget_state_removes_it_once_and_keeps_the_rest(tmp_path, capsys):
    nb = _notebook(tmp_path / "a.ipynb", [("2026-01-01T10:00:00Z", "2026-01-01T10:00:01Z")])
    d = json.loads(nb.read_text())
    d["metadata"] = {"widgets": {"application/vnd.jupyter.widget-state+json": {}}, "kernelspec": {"name": "py"}}
    nb.write_text(json.dumps(d))
    assert chapters.main(["--strip-widgets", str(nb)]) == 0
    assert "widget state removed" in capsys.readouterr().out
    after = json.loads(nb.read_text())
    assert after["metadata"] == {"kernelspec": {"name": "py"}} and after["cells"] == d["cells"]
    assert chapters.strip_widget_state(nb) is False  # nothing left to strip
    with pytest.raises(SystemExit):
        chapters.main([])  # --strip-widgets is the one command



@pytest.mark.parametrize("text", ["61,706", "+1.94", "7e-08", "0 → 1, 1 → 0", "84.33 ± 3.57 %", "3", "(a, b)"])
def test_glued_text_reads_back_as_glued(text, monkeypatch):
    """What the site shows for {glue:text}`name` is what the chapter glued, to the character: MyST-NB stores the
    value's text/plain and reads it back through ast.literal_eval (a bare "61,706" would become "(61, 706)")."""
    from IPython.core.formatters import format_display_data
    from myst_nb.core.variables import format_plain_text

    stored = {}
    monkeypatch.setattr("myst_nb.glue", lambda name, value, display: stored.update(
        {name: format_display_data(value)[0]["text/plain"]}))  # what myst_nb.glue stores
    chapters.glue("x", text)
    assert format_plain_text(stored["x"], "s") == text


def test_workshop_evidence_pairs_each_departure_with_its_full_student_on_seed_and_set(tmp_path, monkeypatch):
    from dfkd_book import recipes

    monkeypatch.setattr(recipes, "WORKSHOP_STEPS", {"zskd": 10_000})
    prov = {k: "x" for k in records.PROVENANCE}

    def run(study, label, seed, sha, val, **extra):
        return {"study": study, "label": label, "seed": seed, **prov, "set_sha256": sha, "val_acc": val,
                "test_acc": val - 1, **extra}

    full = [run("generalise", "zskd: as the yardstick", s, "A", 80.0 + s, budget="recipe") for s in range(3)]
    full += [run("generalise", "zskd: as the yardstick", 3, "B", 70.0, budget="recipe"),  # another set
             run("generalise", "zskd: as the yardstick", 0, "A", 10.0, budget=5_000)]  # another budget
    records.append_runs(records.runs_path("generalise", tmp_path), full)
    assert costs.workshop_evidence(tmp_path)[0]["seeds"] == []  # nothing measured: no pairs, no verdict
    ws = [run("workshop", "zskd", s, "A", 79.0 + s) for s in (2, 0, 1)] + [run("workshop", "zskd", 3, "C", 50.0)]
    records.append_runs(records.runs_path("workshop", tmp_path), ws)
    (e,) = costs.workshop_evidence(tmp_path)
    assert e["seeds"] == [0, 1, 2] and e["steps"] == (20_000, 10_000)
    assert e["val"] == {"full": [80.0, 81.0, 82.0], "workshop": [79.0, 80.0, 81.0]}
    assert e["compare"].paired and e["compare"].diff == pytest.approx(-1.0) and e["keeps"]
    assert "| zskd | 20,000 → 10,000 | 3 | validation | 81.00 ± 1.00 | 80.00 ± 1.00 | -1.00" in \
        costs.evidence_markdown([e])


def test_the_workshop_page_shows_the_measurement_behind_each_workshop_budget():
    assert costs.intro_block(costs.WORKSHOP, costs.EVIDENCE_START, costs.EVIDENCE_END) == \
        costs.evidence_markdown(costs.workshop_evidence()), "workshop.md's budgets table is stale: run " \
        "`python -m dfkd_book.experiments.costs --no-quick`"
