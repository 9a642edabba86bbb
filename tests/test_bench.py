import json

import pytest

from dfkd_book import bench

REQUIRED = ("method", "dataset", "teacher", "student", "teacher_acc", "student_acc", "wall_s", "device",
            "profile", "torch", "git_commit", "date")


def test_unknown_method():
    with pytest.raises(ValueError, match="kd-real"):
        bench.run("no-such-method")


def test_run_writes_a_complete_record(monkeypatch, tmp_path):
    fake = dict(dataset="fashion-mnist", teacher="lenet5", student="lenet5half", teacher_acc=1.0,
                student_acc=0.5, wall_s=0.1)
    monkeypatch.setitem(bench.METHODS, "fake", lambda: dict(fake))
    rec = bench.run("fake", tmp_path)
    on_disk = json.loads((tmp_path / "fake.json").read_text())
    assert on_disk == rec
    for k in REQUIRED:
        assert k in on_disk, k
    assert not list(tmp_path.glob(".fake.json.tmp-*"))


def test_committed_kd_real_result_is_full_profile_and_meets_the_paper():
    """results/kd-real.json comes from a real full-profile run (written by `python -m dfkd_book.bench kd-real`)."""
    rec = json.loads((bench.REPO_ROOT / "results" / "kd-real.json").read_text())
    for k in REQUIRED:
        assert k in rec, k
    assert rec["profile"] == "full"
    assert rec["student_acc"] >= 89.66 and rec["teacher_acc"] >= 90.84
    assert rec["history"]["test_acc"][-1] == pytest.approx(rec["student_acc"], abs=0.01)


def test_zskd_recipe_is_within_the_compute_budget(monkeypatch):
    """Issue 3: at most a tenth of the paper's 48,000 × 1,500 = 72 M impression-steps, in every profile."""
    for profile in ("quick", "full"):
        monkeypatch.setenv("DFKD_BOOK_PROFILE", profile)
        c = bench.zskd_recipe()["craft"]
        assert c["n"] * c["steps"] <= 7_200_000
        assert c["T"] == 20.0 and tuple(c["betas"]) == (1.0, 0.1)


def test_committed_zskd_result_is_full_profile_and_complete():
    """results/zskd.json comes from a real full-profile run of `python -m dfkd_book.bench zskd`."""
    rec = json.loads((bench.REPO_ROOT / "results" / "zskd.json").read_text())
    for k in REQUIRED + ("impressions", "steps_per_impression", "impression_steps", "crafting_s",
                         "distillation_s"):
        assert k in rec, k
    assert rec["profile"] == "full"
    assert rec["impression_steps"] == rec["impressions"] * rec["steps_per_impression"] <= 7_200_000
    assert rec["history"]["test_acc"][-1] == pytest.approx(rec["student_acc"], abs=0.01)


def test_arbitrary_recipe_respects_the_paper_size_limit(monkeypatch):
    """Issue 4: a transfer set no larger than the teacher's training set (60,000), in every profile."""
    from dfkd_book import arbitrary

    for profile in ("quick", "full"):
        monkeypatch.setenv("DFKD_BOOK_PROFILE", profile)
        r = bench.arbitrary_recipe()
        assert r["n"] * len(r["best"]) <= 60_000
        assert set(r["best"]) <= set(arbitrary.FAMILIES)
        assert r["distill"]["T"] == 20.0
    assert {"arbitrary-noise", "arbitrary-best"} <= set(bench.METHODS)


@pytest.mark.parametrize("method", ["arbitrary-noise", "arbitrary-best"])
def test_committed_arbitrary_results_are_full_profile_and_complete(method):
    """results/arbitrary-*.json come from real full-profile runs of `python -m dfkd_book.bench METHOD`."""
    rec = json.loads((bench.REPO_ROOT / "results" / f"{method}.json").read_text())
    for k in REQUIRED + ("transfer_size", "composition", "examined", "balancing_s", "distillation_s"):
        assert k in rec, k
    assert rec["profile"] == "full" and rec["method"] == method
    assert rec["transfer_size"] <= 60_000  # no larger than the teacher's training set, as in the paper
    kept = sum(sum(c["kept_per_source"].values()) for c in rec["composition"].values())
    assert kept == rec["transfer_size"]
    assert rec["history"]["test_acc"][-1] == pytest.approx(rec["student_acc"], abs=0.01)


def test_adversarial_recipe_keeps_each_games_official_settings(monkeypatch):
    """Issue 5: the bench plays both games with the papers' optimisers; only budgets and width are the book's."""
    from dfkd_book import adversarial

    for profile in ("quick", "full"):
        monkeypatch.setenv("DFKD_BOOK_PROFILE", profile)
        r = bench.adversarial_recipe()
        for game in adversarial.GAMES:
            assert r[game]["game"] == game
            assert not set(r[game]) & set(adversarial.DEFAULTS[game])  # no official setting overridden
        assert r["mte"]["steps"] == 100 and r["mte"]["lr"] == 1.0  # the paper's walk
    assert r["bench_n"] == 1_000  # full profile: 1,000 images × 9 classes × 100 steps
    assert {"adversarial", "mte"} <= set(bench.METHODS)


def test_committed_adversarial_and_mte_results_are_full_profile_and_complete():
    """results/adversarial.json and results/mte.json come from real full-profile runs of the bench."""
    adv = json.loads((bench.REPO_ROOT / "results" / "adversarial.json").read_text())
    for k in REQUIRED + ("game", "games"):
        assert k in adv, k
    assert adv["profile"] == "full" and adv["game"] in ("zskt", "dfad")
    assert adv["student_acc"] == pytest.approx(max(g["student_acc"] for g in adv["games"].values()), abs=0.01)
    mte = json.loads((bench.REPO_ROOT / "results" / "mte.json").read_text())
    for k in REQUIRED + ("students", "mte"):
        assert k in mte, k
    assert mte["profile"] == "full"
    for row in mte["students"].values():
        assert row["images"] == 1_000 and row["walks"] == 9_000 and 0 <= row["mte"] <= 1
    # the same seeded ZSKT game as bench adversarial: the same student
    assert mte["students"]["zero-shot (ZSKT)"]["student_acc"] == pytest.approx(adv["games"]["zskt"]["student_acc"],
                                                                              abs=0.01)


def test_inversion_recipe_fits_the_chapter_budget(monkeypatch):
    """Issue 6: chapter 5 runs four methods in ≤ 15 min on 2 cores; a teacher forward + backward pass costs about
    0.37 ms per image and step on 2 cores, so the full profile is capped at 4 × 1,024 images × 400 steps."""
    monkeypatch.setenv("DFKD_BOOK_PROFILE", "full")
    r = bench.inversion_recipe()
    assert 4 * r["n"] * r["steps"] <= 4 * 1_024 * 400
    assert {"bn-stats", "activation-records", "spectral", "deepinversion"} <= set(bench.METHODS)


@pytest.mark.parametrize("method", ["bn-stats", "activation-records", "spectral", "deepinversion"])
def test_committed_inversion_results_are_full_profile_and_complete(method):
    """results/<method>.json come from real full-profile runs of chapter 5's recipe."""
    rec = json.loads((bench.REPO_ROOT / "results" / f"{method}.json").read_text())
    for k in REQUIRED + ("synthetic_images", "synthesis_s", "seconds_per_1000_images"):
        assert k in rec, k
    assert rec["profile"] == "full" and rec["synthetic_images"] == rec["recipe"]["n"]
    assert 10 < rec["student_acc"] < rec["teacher_acc"]
    if method == "spectral":  # the comparison, from the same run
        assert "uniform_noise_student_acc" in rec


def test_ssd_recipe_is_small_scale_and_matches_deepinversion(monkeypatch):
    """Issue 7: SSD-KD uses at most 10 % of the training set's size (≤ 6,000 synthetic samples), the buffer holds
    at least one mini-batch, and chapter 6's DeepInversion baseline makes the same number of images."""
    for profile in ("quick", "full"):
        monkeypatch.setenv("DFKD_BOOK_PROFILE", profile)
        r = bench.ssd_recipe()
        n = r["ssd"]["epochs"] * r["ssd"]["synthesis_batch"]
        assert n <= 6_000 and r["deepinversion_n"] == n
        assert r["ssd"]["capacity"] >= r["ssd"]["kd_batch"]
    assert list(bench.SSD_ABLATION)[0] == "baseline" and not any(bench.SSD_ABLATION["baseline"].values())
    assert all(bench.SSD_ABLATION["SSD-KD (all)"].values())
    assert "ssd-kd" in bench.METHODS


def test_committed_ssd_kd_result_is_full_profile_and_small_scale():
    """results/ssd-kd.json comes from a real full-profile run of chapter 6's recipe."""
    rec = json.loads((bench.REPO_ROOT / "results" / "ssd-kd.json").read_text())
    for k in REQUIRED + ("synthetic_samples", "buffer_capacity", "history"):
        assert k in rec, k
    assert rec["profile"] == "full" and rec["teacher"] == "lenet5bn"
    r = rec["recipe"]["ssd"]
    assert rec["synthetic_samples"] == r["epochs"] * r["synthesis_batch"] <= 6_000
    assert rec["history"]["test_acc"][-1] == pytest.approx(rec["student_acc"], abs=0.01)


def _fake_methods(monkeypatch):
    def bad():
        raise RuntimeError("synthesis diverged")

    fake = dict(dataset="fashion-mnist", teacher="lenet5", student="lenet5half", teacher_acc=90.0,
                student_acc=60.0, wall_s=0.1)
    monkeypatch.setattr(bench, "METHODS", {"good": lambda: dict(fake), "bad": bad, "other": lambda: dict(fake)})


def test_all_isolates_a_failing_method_and_reports_it(monkeypatch, tmp_path, capsys):
    _fake_methods(monkeypatch)
    assert bench.main(["all", "--out", str(tmp_path)]) == 1
    assert (tmp_path / "good.json").is_file() and (tmp_path / "other.json").is_file()
    assert not (tmp_path / "bad.json").exists()
    summary = json.loads((tmp_path / "bench-all.json").read_text())
    assert summary["failed"] == ["bad"]
    assert summary["methods"]["bad"]["error"] == "RuntimeError: synthesis diverged"
    assert summary["methods"]["good"] == {"status": "ok", "student_acc": 60.0,
                                          "wall_s": summary["methods"]["good"]["wall_s"]}
    out = capsys.readouterr()
    assert "FAILED: bad" in out.out and "synthesis diverged" in out.err
    # one run, one commit: the records written along the way do not turn later records into "+dirty" ones
    commits = {json.loads((tmp_path / f"{m}.json").read_text())["git_commit"] for m in ("good", "other")}
    assert commits == {summary["git_commit"]}


def test_all_only_and_skip_select_in_order_and_write_no_summary(monkeypatch, tmp_path):
    _fake_methods(monkeypatch)
    assert bench.select(None, ["bad"]) == ["good", "other"]
    assert bench.select(["other", "good"], None) == ["good", "other"]
    assert bench.main(["all", "--skip", "bad", "--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.json", "other.json"]


def test_all_rejects_unknown_or_empty_selections(monkeypatch):
    _fake_methods(monkeypatch)
    with pytest.raises(ValueError, match="unknown method 'nope'; known: good, bad, other"):
        bench.select(["nope"])
    with pytest.raises(ValueError, match="nothing to run"):
        bench.select(["good"], ["good"])
    with pytest.raises(SystemExit):
        bench.main(["good", "--only", "good"])  # --only belongs to 'all'


def test_all_runs_every_method_of_the_leaderboard():
    from dfkd_book import leaderboard

    assert set(leaderboard.METHODS) <= set(bench.select())
