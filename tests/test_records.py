"""The one door to results/ (dfkd_book.records): the layout, the schema enforced on save and on load, atomic
writes, and the committed records, runs and summaries read through it."""

import json

import pytest

from dfkd_book import config, recipes, records


def _record(method="fake", **more):
    rec = {"method": method, "dataset": "fashion-mnist", "teacher": "lenet5", "student": "lenet5half",
           "student_acc": 61.0, "student_acc_sd": 1.0, "seeds": 2, "per_seed": [60.0, 62.0], "wall_s": 3.0,
           "threads": 1, "profile": "quick", "date": "2026-01-01T00:00:00+00:00", "torch": "2.x", "commit": "abc",
           "device": "cpu"}
    return {**rec, **more}


def _run(label="row", seed=0, **more):
    return {"study": "s", "label": label, "seed": seed, "commit": "abc", "device": "cpu", **more}


# ---------------------------------------------------------------------------------------------------- the layout
def test_the_layout_under_a_results_directory(tmp_path):
    assert records.record_path("zskd", tmp_path) == tmp_path / "records" / "zskd.json"
    assert records.runs_path("protocol", tmp_path) == tmp_path / "runs" / "protocol.jsonl"
    assert records.summary_path("protocol", tmp_path) == tmp_path / "runs" / "protocol.json"
    assert records.record_path("zskd") == config.RESULTS / "records" / "zskd.json"  # default: the repository's


@pytest.mark.parametrize("name", ["", "../zskd", "a/b", ".hidden", None])
def test_a_name_must_be_a_plain_file_stem(name, tmp_path):
    for path in (records.record_path, records.runs_path, records.summary_path):
        with pytest.raises(ValueError, match="plain file stem"):
            path(name, tmp_path)


# ---------------------------------------------------------------------------------------------- method records
def test_a_record_round_trips_and_is_written_atomically(tmp_path):
    rec = _record(history={"step": [1, 2]})
    path = records.save(rec, tmp_path)
    assert path == tmp_path / "records" / "fake.json"
    assert records.load("fake", tmp_path) == rec
    assert [p.name for p in path.parent.iterdir()] == ["fake.json"]  # no temp file left behind
    records.save(_record(student_acc=70.0), tmp_path)  # overwritten whole
    assert records.load("fake", tmp_path)["student_acc"] == 70.0 and "history" not in records.load("fake", tmp_path)
    records.save(_record("other"), tmp_path)
    assert records.methods(tmp_path) == ["fake", "other"]
    assert records.methods(tmp_path / "nowhere") == []


@pytest.mark.parametrize("key", records.RECORD_KEYS)
def test_save_refuses_a_record_without_a_schema_key_and_writes_nothing(key, tmp_path):
    rec = _record()
    del rec[key]
    with pytest.raises(ValueError, match=rf"lacks \['{key}'\]"):
        records.save(rec, tmp_path)
    assert not (tmp_path / "records").exists()


def test_the_schema_names_every_missing_key_and_wants_a_dict():
    with pytest.raises(ValueError, match=r"lacks \['commit', 'device'\]"):
        records.check_record({k: v for k, v in _record().items() if k not in ("commit", "device")})
    with pytest.raises(ValueError, match="a record is a dict, got list"):
        records.check_record([])
    with pytest.raises(ValueError, match="a run is a dict, got str"):
        records.check_run("x")
    records.check_record(_record())  # a complete one passes
    records.check_run(_run())
    assert set(records.PROVENANCE) <= set(records.RECORD_KEYS) and set(records.PROVENANCE) <= set(records.RUN_KEYS)
    assert "git_commit" not in records.RECORD_KEYS  # renamed: commit


def test_load_names_the_command_and_refuses_a_record_outside_the_schema(tmp_path):
    with pytest.raises(FileNotFoundError, match="python -m dfkd_book.experiments.bench nope --seeds 3"):
        records.load("nope", tmp_path)
    (tmp_path / "records").mkdir()
    rec = _record("old")
    rec["git_commit"] = rec.pop("commit")  # a record of the old layout
    (tmp_path / "records" / "old.json").write_text(json.dumps(rec))
    with pytest.raises(ValueError, match=r"old.json lacks \['commit'\]"):
        records.load("old", tmp_path)


# -------------------------------------------------------------------------------------------------- study runs
def test_runs_append_in_order_and_a_run_outside_the_schema_writes_nothing(tmp_path):
    path = tmp_path / "runs" / "s.jsonl"
    assert records.read_runs(path) == []  # no file yet: no runs
    records.append_runs(path, [_run("a"), _run("b")])
    records.append_runs(path, [_run("c", seed=1, test_acc=50.0)])
    assert [r["label"] for r in records.read_runs(path)] == ["a", "b", "c"]
    assert records.load_runs("s", tmp_path) == records.read_runs(path)
    bad = _run("d")
    del bad["device"]
    with pytest.raises(ValueError, match=r"lacks \['device'\]"):
        records.append_runs(path, [_run("e"), bad])  # checked before anything is written
    assert len(records.read_runs(path)) == 3


def test_a_bad_line_is_named_by_file_and_line(tmp_path):
    path = tmp_path / "runs.jsonl"
    path.write_text(json.dumps(_run()) + "\n" + json.dumps({"study": "s", "label": "x"}) + "\n")
    with pytest.raises(ValueError, match=r"runs.jsonl:2 lacks \['seed', 'commit', 'device'\]"):
        records.read_runs(path)


def test_load_runs_lists_the_studies_there_are(tmp_path):
    records.append_runs(tmp_path / "runs" / "alpha.jsonl", [_run()])
    with pytest.raises(FileNotFoundError, match=r"the studies with runs: \['alpha'\]"):
        records.load_runs("beta", tmp_path)


# ------------------------------------------------------------------------------------------------ summaries
def test_summaries_round_trip_and_a_missing_one_lists_those_there_are(tmp_path):
    path = records.save_summary("study", {"rows": [1, 2], "label": "β"}, tmp_path)
    assert path == tmp_path / "runs" / "study.json"
    assert records.load_summary("study", tmp_path) == {"rows": [1, 2], "label": "β"}
    assert "β" in path.read_text()  # written as UTF-8, not escaped
    with pytest.raises(FileNotFoundError, match=r"the summaries: \['study'\]"):
        records.load_summary("nothing-here", tmp_path)
    with pytest.raises(ValueError, match="a summary is a dict"):
        records.save_summary("study", [1, 2], tmp_path)
    records.save_summary("yardstick", {"points": []}, tmp_path)
    assert records.yardstick(tmp_path) == {"points": []}


def test_study_table_shows_paper_seeds_and_worth():
    def row(label, paper, seeds, planned, worth):
        return {"label": label, "paper": paper, "test_acc": 70.0, "test_acc_sd": 1.234, "seeds": seeds,
                "planned_seeds": planned, "per_seed_test": [69.0, 71.0][:seeds], "worth_real_images": worth}

    df = records.study_table({"rows": [
        row("a", 12.345, 2, 2, {"n": 1234, "below": False, "above": False}),
        row("b", None, 1, 3, None),
        row("c", None, 2, 2, {"n": None, "below": True, "above": False}),
        row("d", None, 2, 2, {"n": None, "below": False, "above": True})]})
    assert list(df.index) == ["a", "b", "c", "d"]
    assert df.loc["a", "paper"] == "12.35" and df.loc["b", "paper"] == "–"
    assert df.loc["a", "this book"] == "70.00 ± 1.23" and df.loc["a", "per seed"] == "69.00, 71.00"
    assert df.loc["a", "seeds"] == "2" and df.loc["b", "seeds"] == "1 of 3"
    assert df.loc["a", "worth real images"] == "1,234" and df.loc["b", "worth real images"] == "–"
    assert df.loc["c", "worth real images"] == "fewer than the smallest N"
    assert df.loc["d", "worth real images"] == "more than all the real data"


# ------------------------------------------------------------------------------------------ what is committed
def test_every_committed_record_follows_the_schema_and_names_its_method():
    methods = records.methods()
    assert set(recipes.leaderboard()) <= set(methods), "a leaderboard method has no record"
    assert {"zskt", "dfad"} <= set(methods)  # the games' records, written beside adversarial's
    for m in methods:
        rec = records.load(m)  # raises on a record outside the schema
        assert rec["method"] == m and m in recipes.METHODS
        assert len(rec["per_seed"]) == rec["seeds"] >= 1
        assert rec["student_acc"] == pytest.approx(sum(rec["per_seed"]) / rec["seeds"], abs=0.01)
        head = recipes.published(m, "student", "fashion-mnist")
        if head is not None:  # the record's paper number is the method table's
            assert rec["paper"]["published"] == head.value, m


def test_every_committed_study_file_follows_the_schema_and_names_its_study():
    runs_dir = config.RESULTS / "runs"
    studies = sorted(p.stem for p in runs_dir.glob("*.jsonl"))
    for old in ("protocol-runs", "arbitrary-ablation-runs", "adversarial-probe-runs", "mte-sweep-runs",
                "ssd-race-runs", "ssd-table4-runs"):
        assert old not in studies, f"{old}.jsonl has a new name"
    assert {"protocol", "arbitrary-ablations", "games-probe", "mte-sweep", "ssd-race", "ssd-table4"} <= set(studies)
    for study in studies:
        runs = records.load_runs(study)  # raises on a line outside the schema
        assert runs, study
        assert {r["study"] for r in runs} == {study}, f"{study}.jsonl holds runs of another study"


def test_the_committed_summaries_are_where_the_book_reads_them():
    for name in ("protocol", "yardstick", "zskd-ablations", "arbitrary-ablations", "chapters", "speed", "mte",
                 "bench-all"):
        assert isinstance(records.load_summary(name), dict), name
    assert not list(config.RESULTS.glob("*.json")) and not list(config.RESULTS.glob("*.jsonl")), \
        "results/ holds only records/ and runs/"
