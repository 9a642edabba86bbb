import json

import pytest

from dfkd_book import leaderboard


def test_readme_leaderboard_matches_results():
    """The README's table is generated from results/ (`python -m dfkd_book.leaderboard --write`); this fails when
    a benchmark record changed and the README was not regenerated, or the README was edited by hand."""
    assert leaderboard.readme_table() == leaderboard.readme_block(), \
        "README leaderboard is stale: run `python -m dfkd_book.leaderboard --write`"


def test_committed_records_are_full_profile_and_their_provenance_is_stated():
    """Every record is a full-profile run; a record of the committed `bench all` run (same commit) has the numbers
    of its summary; records run since (a chapter's multi-seed record, a method added later) are named by commit in
    the provenance."""
    records = leaderboard.load()
    assert {r["profile"] for r in records.values()} == {"full"}
    summary = json.loads((leaderboard.RESULTS / "bench-all.json").read_text())
    assert summary["failed"] == [] and summary["profile"] == "full"
    # a method added after the committed run (SSD-KD with Fast's generator) has a record of its own, run since
    added = set(leaderboard.METHODS) - set(summary["methods"])
    assert all(records[m]["git_commit"] != summary["git_commit"] for m in added), added
    from_run = {m for m, r in records.items() if r["git_commit"] == summary["git_commit"]}
    assert from_run, "no record is left from the committed `bench all` run"
    for m in from_run:
        assert summary["methods"][m]["student_acc"] == records[m]["student_acc"]
    text = leaderboard.provenance(records)
    if from_run == set(records):
        assert "One `python -m dfkd_book.bench all` run, full profile" in text
    else:
        assert all(r["git_commit"][:7] in text for r in records.values()), text


def _record(method, acc, kind="synthetic", teacher_acc=90.0, **paper):
    return {"method": method, "teacher": "lenet5", "teacher_acc": teacher_acc, "student_acc": acc, "wall_s": 12.0,
            "device": "cpu", "cpu_count": 2, "profile": "full", "transfer_samples": 1000, "transfer_kind": kind,
            "paper": paper or {"published": None, "setting": "no published number"}, "git_commit": "abc1234",
            "date": "2026-11-22T00:00:00+00:00"}


@pytest.fixture
def results(tmp_path):
    d = tmp_path / "results"
    d.mkdir()
    accs = {"kd-real": 90.0, "zskd": 60.0, "arbitrary-noise": 30.0, "arbitrary-best": 70.0, "adversarial": 65.0,
            "bn-stats": 50.0, "activation-records": 40.0, "spectral": 66.0, "deepinversion": 55.0, "ssd-kd": 72.0,
            "ssd-kd-fast": 45.0}
    for m, a in accs.items():
        rec = _record(m, a, "real" if m == "kd-real" else "synthetic", published=79.62, setting="FMNIST")
        (d / f"{m}.json").write_text(json.dumps(rec))
    return d


def test_rows_put_the_ceiling_first_then_rank_by_accuracy(results):
    board = leaderboard.rows(leaderboard.load(results))
    assert [r.method for r in board][:3] == ["kd-real", "ssd-kd", "arbitrary-best"]
    assert not board[0].data_free and all(r.data_free for r in board[1:])
    assert [r.student_acc for r in board[1:]] == sorted((r.student_acc for r in board[1:]), reverse=True)
    assert board[1].retention == pytest.approx(0.8)
    assert leaderboard.best_data_free(board).method == "ssd-kd"
    table = leaderboard.markdown(board)
    assert "| – | KD on real data (the ceiling) | 1 |" in table
    assert "| 1 | SSD-KD | 6 | LeNet-5 90.00 | **72.00** | 80.0 % | 1,000 synthetic | 12 | 79.62 | FMNIST |" in table


def test_missing_and_malformed_records_are_named(results):
    (results / "spectral.json").unlink()
    with pytest.raises(FileNotFoundError, match="no record for spectral .*bench all --only spectral"):
        leaderboard.load(results)
    rec = _record("spectral", 1.0)
    del rec["transfer_samples"]
    (results / "spectral.json").write_text(json.dumps(rec))
    with pytest.raises(ValueError, match="spectral.json lacks transfer_samples"):
        leaderboard.load(results)
    (results / "spectral.json").write_text(json.dumps(_record("zskd", 1.0)))
    with pytest.raises(ValueError, match="holds a record of 'zskd', expected 'spectral'"):
        leaderboard.load(results)


def test_write_then_check_and_a_changed_record_fails_the_check(results, tmp_path, capsys):
    readme = tmp_path / "README.md"
    readme.write_text(f"# title\n\n{leaderboard.START}\nold table\n{leaderboard.END}\n\nmore text\n")
    args = ["--readme", str(readme), "--results", str(results)]
    assert leaderboard.main(["--check", *args]) == 1
    assert leaderboard.main(["--write", *args]) == 0
    text = readme.read_text()
    assert text.startswith("# title\n\n") and text.endswith("\n\nmore text\n") and "old table" not in text
    assert leaderboard.main(["--check", *args]) == 0
    assert "Separate `python -m dfkd_book.bench` runs: cpu, 2 cores; profile full; commits abc1234." in text
    rec = json.loads((results / "zskd.json").read_text())
    rec["student_acc"] = 61.0
    (results / "zskd.json").write_text(json.dumps(rec))
    assert leaderboard.main(["--check", *args]) == 1
    assert "disagrees" in capsys.readouterr().out


def test_readme_without_markers_is_an_error(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# no markers here\n")
    with pytest.raises(ValueError, match="needs the markers"):
        leaderboard.readme_table(readme)


def test_provenance_names_the_bench_all_run(results):
    records = leaderboard.load(results)
    summary = {"methods": {m: {"status": "ok"} for m in records}, "git_commit": "abc1234", "profile": "full",
               "device": "cpu", "cpu_count": 2, "torch": "2.15.0", "date": "2026-11-22T00:00:00", "total_wall_s": 2400}
    (results / "bench-all.json").write_text(json.dumps(summary))
    assert leaderboard.provenance(records, results) == (
        "One `python -m dfkd_book.bench all` run, full profile, on cpu, 2 cores (torch 2.15.0), commit abc1234, "
        "2026-11-22: 40 minutes for 11 methods.")
    # a record re-run since (a chapter's multi-seed record) is named after the run
    rerun = {**records, "zskd": {**records["zskd"], "git_commit": "def5678", "seeds": 3,
                                 "date": "2026-11-26T00:00:00+00:00"}}
    text = leaderboard.provenance(rerun, results)
    assert "commit abc1234" in text
    assert "run since: ZSKD data impressions (`bench zskd --seeds 3`, cpu, 2 cores, commit def5678" in text
    summary["methods"]["zskd"]["status"] = "failed"
    (results / "bench-all.json").write_text(json.dumps(summary))
    assert leaderboard.provenance(records, results).startswith("Separate")



def test_stale_names_the_records_of_another_recipe(results):
    from dfkd_book import recipes

    today = recipes.get("ssd-kd", "full").as_dict()
    for m, recipe in (("ssd-kd", today), ("deepinversion", {**recipes.get("deepinversion", "full").as_dict(),
                                                             "settings": {"n": 1}})):
        rec = json.loads((results / f"{m}.json").read_text())
        (results / f"{m}.json").write_text(json.dumps({**rec, "recipe": json.loads(json.dumps(recipe))}))
    records = leaderboard.load(results, methods=("ssd-kd", "deepinversion", "zskd"))
    assert leaderboard.stale(records) == ["deepinversion"]  # zskd's record has no recipe: not judged
