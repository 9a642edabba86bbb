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
        rec = _record(m, a, "real" if m == "kd-real" else "synthetic", published=79.62, setting="Fashion-MNIST, test")
        (d / f"{m}.json").write_text(json.dumps(rec))
    yardstick = {"points": [{"n": 10, "mean": 50.0, "sd": 1.0}, {"n": 100, "mean": 70.0, "sd": 1.0},
                            {"n": 1000, "mean": 80.0, "sd": 1.0}]}
    (d / "yardstick.json").write_text(json.dumps(yardstick))
    return d


def test_rows_group_the_methods_and_rank_by_accuracy(results):
    board = leaderboard.rows(leaderboard.load(results), results)
    assert [r.group for r in board] == ["data-free"] * 8 + ["metadata"] * 2 + ["real data"]
    assert [r.method for r in board][:2] == ["ssd-kd", "arbitrary-best"]
    assert [r.method for r in board][8:] == ["spectral", "activation-records", "kd-real"]
    free = [r.student_acc for r in board[:8]]
    assert free == sorted(free, reverse=True)
    assert board[0].retention == pytest.approx(0.8) and board[0].rank == "1" and board[-1].rank == ""
    assert leaderboard.best_data_free(board).method == "ssd-kd"  # not a metadata method, not the ceiling
    table = leaderboard.markdown(board)
    assert "| real data | – | KD on real data (the ceiling) | 1 | **90.00** ± 0.00 | 1 | > 1,000 |" in table
    assert "| data-free | 8 | balanced uniform noise | 3 | **30.00** ± 0.00 | 1 | < 10 |" in table
    assert all(r.worth is None for r in leaderboard.rows(leaderboard.load(results), results / "none"))
    assert ("| data-free | 1 | SSD-KD | 6 | **72.00** ± 0.00 | 1 | ≈ 158 | – | 1,000 synthetic | – | 12 | cpu, 2 cores "
            "| 79.62 |") in table


def test_only_fashion_mnist_numbers_are_in_the_paper_column(results):
    adv = json.loads((results / "adversarial.json").read_text())
    adv["paper"] = {"source": "Fang et al. 2019", "published": 98.3, "setting": "MNIST (DFAD)"}
    (results / "adversarial.json").write_text(json.dumps(adv))
    records = leaderboard.load(results)
    row = next(r for r in leaderboard.rows(records) if r.method == "adversarial")
    assert row.paper is None and row.paper_setting == ""
    assert leaderboard.context(records) == [{"method": "adversarial (ZSKT / DFAD)", "paper": "Fang et al. 2019",
                                             "setting": "MNIST (DFAD)", "published %": 98.3}]


def test_ranks_share_a_rank_while_the_seed_bands_overlap():
    means = {"a": (80.0, 1.0), "b": (78.5, 1.0), "c": (76.0, 0.5), "d": (75.0, 1.0), "e": (60.0, 0.0)}
    # b's band [77.5, 79.5] meets a's [79, 81]; c's [75.5, 76.5] is below a's: it opens rank 3, and d joins it
    assert leaderboard.ranks(means) == {"a": "=1", "b": "=1", "c": "=3", "d": "=3", "e": "5"}
    assert leaderboard.ranks({"x": (70.0, 0.0), "y": (70.0, 0.0)}) == {"x": "=1", "y": "=1"}
    assert leaderboard.ranks({}) == {}


def test_welch_p_separates_distinct_seed_samples_and_needs_two_seeds():
    assert leaderboard.welch_p([81.0, 82.0, 81.5], [70.0, 71.0, 70.5]) < 0.001
    assert leaderboard.welch_p([81.0, 82.0, 81.5], [81.2, 81.8, 81.4]) > 0.5
    assert leaderboard.welch_p([81.0], [70.0, 71.0]) is None
    assert leaderboard.welch_p([1.0, 1.0], [1.0, 1.0]) is None


def test_multi_seed_rows_carry_their_spread_and_p_value(results):
    for m, seeds in (("ssd-kd", [71.0, 72.0, 73.0]), ("arbitrary-best", [60.0, 70.0, 80.0])):
        rec = json.loads((results / f"{m}.json").read_text())
        rec.update(per_seed=seeds, student_acc=sum(seeds) / 3, student_acc_sd=1.0 if m == "ssd-kd" else 10.0,
                   seeds=3, steps=10_000, teacher_queries={"forward": 2_000_000, "backward": 500_000})
        (results / f"{m}.json").write_text(json.dumps(rec))
    board = leaderboard.rows(leaderboard.load(results))
    top, second = board[0], board[1]
    assert (top.method, top.seeds, top.sd, top.rank, top.p_vs_best) == ("ssd-kd", 3, 1.0, "=1", None)
    assert second.rank == "=1" and 0.5 < second.p_vs_best <= 1.0  # wide band: no evidence of a difference
    assert top.queries == 2_500_000 and top.steps == 10_000
    assert "| **72.00** ± 1.00 | 3 |" in leaderboard.markdown(board) and "| 2.50 M |" in leaderboard.markdown(board)


def test_curves_read_the_histories_against_queries_or_time(results):
    rec = json.loads((results / "zskd.json").read_text())
    rec.update(synthesis_s=100.0, history={"step": [1, 2, 3], "test_acc": [50.0, 60.0, 65.0],
                                           "wall_s": [1.0, 2.0, 3.0], "teacher_forward": [1_000, 10_000, 100_000],
                                           "teacher_backward": [500, 500, 500]})
    (results / "zskd.json").write_text(json.dumps(rec))
    records = leaderboard.load(results)
    by_queries = leaderboard.curves(records)
    assert by_queries == {"ZSKD data impressions": ([1_500, 10_500, 100_500], [50.0, 60.0, 65.0])}
    assert leaderboard.curves(records, "wall_s") == {"ZSKD data impressions": ([101.0, 102.0, 103.0],
                                                                               [50.0, 60.0, 65.0])}
    # the last evaluation within the budget, not the best one; None before the first
    assert leaderboard.at_budget(by_queries, 1e4) == {"ZSKD data impressions": 50.0}
    assert leaderboard.at_budget(by_queries, 1e6) == {"ZSKD data impressions": 65.0}
    assert leaderboard.at_budget(by_queries, 1e3) == {"ZSKD data impressions": None}
    with pytest.raises(ValueError, match="x must be 'queries' or 'wall_s'"):
        leaderboard.curves(records, "steps")


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
    # every record re-made since: each is named with its own run
    every = {m: {**r, "git_commit": "fed9876", "seeds": 3} for m, r in records.items()}
    text = leaderboard.provenance(every, results)
    assert text.startswith("Each method from its own `python -m dfkd_book.bench METHOD --seeds N` run: ")
    assert text.count("commit fed9876") == len(records) and "bench all` run" not in text
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
