"""The leaderboard (dfkd_book.experiments.leaderboard): rows from the method records, labels and groups from the
method table, ranks by the one significance rule, the README's generated block."""

import json

import pytest

from dfkd_book import recipes, records, stats
from dfkd_book.experiments import leaderboard


def test_readme_leaderboard_matches_results():
    """The README's table is generated from results/ (`python -m dfkd_book.experiments.leaderboard --write`); this
    fails when a benchmark record changed and the README was not regenerated, or the README was edited by hand."""
    assert leaderboard.readme_table() == leaderboard.readme_block(), \
        "README leaderboard is stale: run `python -m dfkd_book.experiments.leaderboard --write`"


def test_the_readme_marker_names_the_command_that_writes_it():
    assert "python -m dfkd_book.experiments.leaderboard --write" in leaderboard.START
    assert leaderboard.README.read_text().count(leaderboard.START) == 1


def test_committed_records_are_full_profile_and_their_provenance_is_stated():
    """Every record is a full-profile run; a record of the committed `bench all` run (same commit) has the numbers
    of its summary; records run since (a chapter's multi-seed record, a method added later) are named by commit in
    the provenance."""
    recs = leaderboard.load()
    assert list(recs) == list(recipes.leaderboard())
    assert {r["profile"] for r in recs.values()} == {"full"}
    summary = records.load_summary("bench-all")
    assert summary["failed"] == [] and summary["profile"] == "full"
    # a method added after the committed run (SSD-KD with Fast's generator) has a record of its own, run since
    added = set(recipes.leaderboard()) - set(summary["methods"])
    assert all(recs[m]["commit"] != summary["commit"] for m in added), added
    from_run = {m for m, r in recs.items() if r["commit"] == summary["commit"]}
    for m in from_run:
        assert summary["methods"][m]["student_acc"] == recs[m]["student_acc"]
    text = leaderboard.provenance(recs)
    if from_run == set(recs):
        assert "One `python -m dfkd_book.experiments.bench all` run, full profile" in text
    else:
        assert all(r["commit"][:7] in text for r in recs.values()), text


ACCS = {"kd-real": 90.0, "zskd": 60.0, "arbitrary-noise": 30.0, "arbitrary-best": 70.0, "adversarial": 65.0,
        "bn-stats": 50.0, "activation-records": 40.0, "spectral": 66.0, "deepinversion": 55.0, "ssd-kd": 72.0,
        "ssd-kd-fast": 45.0, "book": 20.0, "ideal": 15.0, "dfme": 10.0}


def _record(method, acc, kind="synthetic", teacher_acc=90.0, **more):
    """A schema-valid record of three seeds, acc ± 0.5."""
    return {"method": method, "dataset": "fashion-mnist", "teacher": "lenet5", "student": "lenet5half",
            "teacher_acc": teacher_acc, "student_acc": acc, "student_acc_sd": 0.5, "seeds": 3,
            "per_seed": [acc - 0.5, acc, acc + 0.5], "wall_s": 12.0, "device": "cpu", "threads": 2, "cpu_count": 2,
            "profile": "full", "torch": "2.x", "transfer_samples": 1000, "transfer_kind": kind, "commit": "abc1234",
            "date": "2026-11-22T00:00:00+00:00", **more}


@pytest.fixture
def results(tmp_path):
    d = tmp_path / "results"
    for m, a in ACCS.items():
        records.save(_record(m, a, "real" if m == "kd-real" else "synthetic"), d)
    records.save_summary("yardstick", {"points": [{"n": 10, "mean": 50.0, "sd": 1.0}, {"n": 100, "mean": 70.0,
                                                                                       "sd": 1.0},
                                                  {"n": 1000, "mean": 80.0, "sd": 1.0}]}, d)
    return d


def _edit(results, method, **change):
    rec = records.load(method, results)
    rec.update(change)
    records.save(rec, results)


def test_rows_group_the_methods_by_the_method_table_and_rank_by_accuracy(results):
    board = leaderboard.rows(leaderboard.load(results), results)
    assert [r.group for r in board] == ["data-free"] * 11 + ["metadata"] * 2 + ["real data"]
    assert all(r.group == recipes.about(r.method).group and r.name == recipes.about(r.method).label
               and r.chapter == recipes.about(r.method).chapter for r in board)
    assert [r.method for r in board][:2] == ["ssd-kd", "arbitrary-best"]
    assert [r.method for r in board][8:] == ["book", "ideal", "dfme", "spectral", "activation-records", "kd-real"]
    free = [r.student_acc for r in board[:11]]
    assert free == sorted(free, reverse=True)
    # every gap is far beyond the seeds' noise (sd 0.5): one method a rank, the ceiling unranked
    assert [r.rank for r in board] == [*map(str, range(1, 12)), "1", "2", ""]
    assert board[0].retention == pytest.approx(0.8) and board[0].seeds == 3 and board[0].sd == 0.5
    assert board[0].p_vs_best is None and 0 < board[1].p_vs_best < 0.05
    assert board[1].p_vs_best == pytest.approx(stats.compare([71.5, 72.0, 72.5], [69.5, 70.0, 70.5]).p)
    assert leaderboard.best_data_free(board).method == "ssd-kd"  # not a metadata method, not the ceiling
    table = leaderboard.markdown(board)
    kd_paper = recipes.published("kd-real", "student", "fashion-mnist").value
    noise_paper = recipes.published("arbitrary-noise", "student", "fashion-mnist").value
    assert ("| real data | – | KD on real data (the ceiling) | 1 | black-box soft | **90.00** ± 0.50 | 3 | > 1,000 "
            f"| – | 1,000 real | – | 12 | cpu, 2 threads of 2 cores | {kd_paper:.2f} |") in table
    assert "| data-free | 8 | balanced uniform noise | 3 | black-box soft | **30.00** ± 0.50 | 3 | < 10 |" in table
    assert {r.method: r.access for r in board}["zskd"] == "white-box"
    assert f"| {noise_paper:.2f} |" in table.splitlines()[9]
    # SSD-KD's paper measured CIFAR-10: no number in the Fashion-MNIST column
    assert ("| data-free | 1 | SSD-KD | 6 | white-box | **72.00** ± 0.50 | 3 | ≈ 158 | – | 1,000 synthetic | – | 12 | "
            "cpu, 2 threads of 2 cores | – |") in table
    assert all(r.worth is None for r in leaderboard.rows(leaderboard.load(results), results / "none"))


def test_only_fashion_mnist_numbers_are_in_the_paper_column(results):
    recs = leaderboard.load(results)
    board = {r.method: r for r in leaderboard.rows(recs)}
    for m, row in board.items():
        head = recipes.published(m, "student", "fashion-mnist")
        assert row.paper == (None if head is None else head.value), m
        assert row.paper_setting == ("" if head is None else head.setting)
    assert board["adversarial"].paper is None  # DFAD published on MNIST
    ctx = leaderboard.context(recs)
    others = [(m, p) for m in recs for p in recipes.about(m).published if p.dataset != "fashion-mnist"]
    assert len(ctx) == len(others) > 0 and {c["dataset"] for c in ctx} <= {"mnist", "cifar10", "svhn"}
    dfad = next(p for p in recipes.about("adversarial").published if p.dataset == "mnist")
    assert {"method": "adversarial (ZSKT / DFAD)", "paper": f"{dfad.source}, {dfad.table}", "setting": dfad.setting,
            "dataset": "mnist", "published": dfad.value, "unit": "%"} in ctx
    # the record's own paper field is not read: the method table is the one place of a published number
    _edit(results, "adversarial", paper={"published": 12.34, "setting": "MNIST (DFAD)"})
    assert next(r for r in leaderboard.rows(leaderboard.load(results)) if r.method == "adversarial").paper is None


def test_multi_seed_rows_share_a_rank_within_the_seeds_noise(results):
    _edit(results, "ssd-kd", per_seed=[71.0, 72.0, 73.0], student_acc=72.0, student_acc_sd=1.0, steps=10_000,
          teacher_queries={"forward": 2_000_000, "backward": 500_000})
    _edit(results, "arbitrary-best", per_seed=[60.0, 70.0, 80.0], student_acc=70.0, student_acc_sd=10.0)
    board = leaderboard.rows(leaderboard.load(results))
    top, second, third = board[:3]
    assert (top.method, top.seeds, top.sd, top.rank, top.p_vs_best) == ("ssd-kd", 3, 1.0, "=1", None)
    assert second.method == "arbitrary-best" and second.rank == "=1"  # wide spread: no evidence of a difference
    assert second.p_vs_best == pytest.approx(stats.compare([71.0, 72.0, 73.0], [60.0, 70.0, 80.0]).p)
    assert 0.5 < second.p_vs_best <= 1.0
    assert third.method == "adversarial" and third.rank == "3"  # below the opener: opens the next rank
    assert top.queries == 2_500_000 and top.steps == 10_000
    assert "| **72.00** ± 1.00 | 3 |" in leaderboard.markdown(board) and "| 2.50 M |" in leaderboard.markdown(board)
    # a method of one seed carries no noise estimate: it shares its opener's rank, untested
    _edit(results, "zskd", per_seed=[30.5], student_acc=30.5, student_acc_sd=0.0, seeds=1)
    board = {r.method: r for r in leaderboard.rows(leaderboard.load(results))}
    assert board["zskd"].p_vs_best is None and board["zskd"].rank.startswith("=")


def test_curves_read_the_histories_against_queries_or_time(results):
    _edit(results, "zskd", synthesis_s=100.0, history={"step": [1, 2, 3], "test_acc": [50.0, 60.0, 65.0],
                                                       "wall_s": [1.0, 2.0, 3.0],
                                                       "teacher_forward": [1_000, 10_000, 100_000],
                                                       "teacher_backward": [500, 500, 500]})
    recs = leaderboard.load(results)
    label = recipes.about("zskd").label
    by_queries = leaderboard.curves(recs)
    assert by_queries == {label: ([1_500, 10_500, 100_500], [50.0, 60.0, 65.0])}
    assert leaderboard.curves(recs, "wall_s") == {label: ([101.0, 102.0, 103.0], [50.0, 60.0, 65.0])}
    # the last evaluation within the budget, not the best one; None before the first
    assert leaderboard.at_budget(by_queries, 1e4) == {label: 50.0}
    assert leaderboard.at_budget(by_queries, 1e6) == {label: 65.0}
    assert leaderboard.at_budget(by_queries, 1e3) == {label: None}
    with pytest.raises(ValueError, match="x must be 'queries' or 'wall_s'"):
        leaderboard.curves(recs, "steps")


def test_made_first_and_where_a_record_ran():
    assert leaderboard.made_first({"crafting_s": 5.0, "synthesis_s": 1.0}) == 5.0
    assert leaderboard.made_first({"balancing_s": 3.0}) == 3.0 and leaderboard.made_first({}) == 0.0
    cpu = {"device": "cpu", "cpu_count": 2, "threads": 1}
    assert leaderboard.device_of(cpu) == "cpu, 2 cores" and leaderboard.where(cpu) == "cpu, 1 thread of 2 cores"
    gpu = {"device": "NVIDIA H100 80GB HBM3", "cpu_count": 16, "threads": 16}
    assert leaderboard.device_of(gpu) == leaderboard.where(gpu) == "NVIDIA H100 80GB HBM3"
    assert leaderboard.queries_of({"teacher_queries": {"forward": 3, "backward": 4}}) == 7
    assert leaderboard.queries_of({}) is None and leaderboard.queries_text(None) == "–"
    assert leaderboard.worth_text(None) == "–"


def test_missing_and_malformed_records_are_named(results):
    records.record_path("spectral", results).unlink()
    with pytest.raises(FileNotFoundError,
                       match="no record for spectral; run `python -m dfkd_book.experiments.bench all --only spectral`"):
        leaderboard.load(results)
    rec = _record("spectral", 1.0)
    del rec["transfer_samples"]
    records.save(rec, results)
    with pytest.raises(ValueError, match="the record of spectral lacks transfer_samples"):
        leaderboard.load(results)
    rec = _record("spectral", 1.0)
    del rec["commit"]  # outside the schema: records refuses it
    records.record_path("spectral", results).write_text(json.dumps(rec))
    with pytest.raises(ValueError, match=r"spectral.json lacks \['commit'\]"):
        leaderboard.load(results)
    records.record_path("spectral", results).write_text(json.dumps(_record("zskd", 1.0)))
    with pytest.raises(ValueError, match="the record of spectral holds a record of 'zskd'"):
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
    assert leaderboard.write_readme(readme, results) is False  # nothing to change
    assert ("Separate `python -m dfkd_book.experiments.bench` runs: cpu, 2 cores; profile full; commits abc1234."
            in text)
    _edit(results, "zskd", student_acc=61.0)
    assert leaderboard.main(["--check", *args]) == 1
    assert "disagrees" in capsys.readouterr().out


def test_readme_without_markers_is_an_error(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# no markers here\n")
    with pytest.raises(ValueError, match="needs the markers"):
        leaderboard.readme_table(readme)
    readme.write_text(f"{leaderboard.END}\n{leaderboard.START}\n")  # in the wrong order
    with pytest.raises(ValueError, match="needs the markers"):
        leaderboard.readme_table(readme)


def test_provenance_names_the_bench_all_run(results):
    recs = leaderboard.load(results)
    summary = {"methods": {m: {"status": "ok"} for m in recs}, "commit": "abc1234", "profile": "full",
               "device": "cpu", "cpu_count": 2, "torch": "2.15.0", "date": "2026-11-22T00:00:00", "total_wall_s": 2400}
    records.save_summary("bench-all", summary, results)
    assert leaderboard.provenance(recs, results) == (
        "One `python -m dfkd_book.experiments.bench all` run, full profile, on cpu, 2 cores (torch 2.15.0), commit "
        "abc1234, 2026-11-22: 40 minutes for 14 methods.")
    # a record re-run since (a chapter's multi-seed record) is named after the run
    rerun = {**recs, "zskd": {**recs["zskd"], "commit": "def5678", "seeds": 3, "date": "2026-11-26T00:00:00+00:00"}}
    text = leaderboard.provenance(rerun, results)
    assert "commit abc1234" in text
    assert "run since: ZSKD data impressions (`bench zskd --seeds 3`, cpu, 2 cores, commit def5678" in text
    # every record re-made since: each is named with its own run
    every = {m: {**r, "commit": "fed9876", "seeds": 3} for m, r in recs.items()}
    text = leaderboard.provenance(every, results)
    assert text.startswith("Each method from its own `python -m dfkd_book.experiments.bench METHOD --seeds N` run: ")
    assert text.count("commit fed9876") == len(recs) and "bench all` run" not in text
    summary["methods"]["zskd"]["status"] = "failed"
    records.save_summary("bench-all", summary, results)
    assert leaderboard.provenance(recs, results).startswith("Separate")


def test_stale_names_the_records_of_another_recipe(results):
    today = recipes.get("ssd-kd", "full").as_dict()
    for m, recipe in (("ssd-kd", today), ("deepinversion", {**recipes.get("deepinversion", "full").as_dict(),
                                                             "settings": {"n": 1}})):
        _edit(results, m, recipe=json.loads(json.dumps(recipe)))
    recs = leaderboard.load(results, methods=("ssd-kd", "deepinversion", "zskd"))
    assert list(recs) == ["ssd-kd", "deepinversion", "zskd"]
    assert leaderboard.stale(recs) == ["deepinversion"]  # zskd's record has no recipe: not judged


def test_stale_reads_a_student_setting_a_record_lacks_as_its_default(results):
    """A record made before a student setting existed ran its default: not stale; another value is."""
    for m in ("ssd-kd", "dfme"):
        recipe = json.loads(json.dumps(recipes.get(m, "full").as_dict()))
        del recipe["student"]["schedule"]
        _edit(results, m, recipe=recipe)
    recs = leaderboard.load(results, methods=("ssd-kd", "dfme"))
    assert leaderboard.stale(recs) == []
    recs["dfme"]["recipe"]["student"]["schedule"] = "constant"
    assert leaderboard.stale(recs) == ["dfme"]


def test_frame_has_a_column_per_row_field(results):
    board = leaderboard.rows(leaderboard.load(results), results)
    df = leaderboard.frame(board)
    assert len(df) == len(ACCS) and "p_vs_best" in df.columns and "commit" in df.columns
    assert list(df["method"]) == [r.method for r in board]
