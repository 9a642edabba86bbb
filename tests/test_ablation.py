"""A paper's ablations over seeds (dfkd_book.experiments.ablation) and the lever studies
(dfkd_book.experiments.levers): their tables, their jobs, a tiny study run end to end on the lab's runner."""

import json
from dataclasses import asdict, replace

import pytest
import torch

from dfkd_book import plot, recipes, records, stats
from dfkd_book.experiments import ablation, levers, runner

STEPS = {"steps": 6, "batch_size": 16}
TINY = ablation.Study(
    name="tiny", recipe="zskd", source="a test", paper="zskd", paper_label="paper (a tiny label)",
    sets={"data impressions": ("zskd", {"n": 40, "steps": 2, "view_affine": None}),
          "class impressions": ("class-impressions", {"n": 20, "steps": 2, "view_affine": None})},
    rows=(ablation.Row("with", "data impressions", change=STEPS, paper="student"),
          ablation.Row("without", "data impressions", change={**STEPS, "augment": None},
                       paper="without augmentation"),
          ablation.Row("half", "data impressions", n=20, change=STEPS),
          ablation.Row("class", "class impressions", change={**STEPS, "augment": None})))


def _published(key, method="zskd"):
    return recipes.published(method, key, "fashion-mnist").value


def test_a_tiny_study_runs_resumes_and_records(tmp_path, monkeypatch):
    runs = ablation.run(TINY, tmp_path, seeds=2, workers=0)
    assert len(runs) == 8 and {r["seed"] for r in runs} == {0, 1}
    assert {r["study"] for r in runs} == {"tiny-ablations"} and {r["teacher"] for r in runs} == {"lenet5"}
    assert all(r["device"] == runner.device_name() and "commit" in r for r in runs)
    assert (tmp_path / "tiny-ablations.jsonl").is_file()
    assert ablation.run(TINY, tmp_path, seeds=2, workers=0) == runs  # nothing run again
    made = torch.load(tmp_path / "made.pt")
    sets = torch.load(tmp_path / "sets.pt")
    assert sets["data impressions"].shape == (40, 1, 32, 32) and sets["data impressions[:20]"].shape[0] == 20
    rec = ablation.record(TINY, runs, made, yardstick=records.yardstick())
    rows = {r["label"]: r for r in rec["rows"]}
    assert rows["with"]["seeds"] == 2 and len(rows["with"]["per_seed_test"]) == 2 and rows["with"]["seed_ids"] == [0, 1]
    assert len(rows["with"]["curves"]) == 2 and rows["with"]["curves"][0]["step"][-1] == 6
    # a row's paper number is read from the method table under the row's key
    assert rows["with"]["paper"] == _published("student") and rows["without"]["paper"] == _published(
        "without augmentation")
    assert rows["half"]["paper"] is None and rows["half"]["n"] == 20 and rows["class"]["n"] == 20
    assert rows["with"]["worth_real_images"] is None  # not the yardstick's protocol: no conversion
    assert rec["paper_label"] == "paper (a tiny label)" and rec["study"] == "tiny"
    assert rec["sets"]["data impressions"]["impression_steps"] == 80
    assert rec["sets"]["data impressions"]["sha256"] == ablation.set_digest(made["data impressions"]["images"])
    assert ablation.set_digest(made["data impressions"]["images"][:-1]) != rec["sets"]["data impressions"]["sha256"]
    df = records.study_table(rec)
    assert list(df.index) == ["with", "without", "half", "class"]
    assert df.loc["with", "paper"] == f"{_published('student'):.2f}" and df.loc["half", "paper"] == "–"
    fig = plot.ablation(rec, groups=("",))
    assert len(fig.axes[0].patches) == 4
    assert "paper (a tiny label)" in [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    with pytest.raises(ValueError, match="no rows"):
        plot.ablation(rec, groups=("nothing",))
    with pytest.raises(ValueError, match="no runs for the row 'class'.*experiments.ablation tiny"):
        ablation.record(TINY, [r for r in runs if r["label"] != "class"], made)
    assert rec["complete"] is False and rec["pending"] == []  # two seeds of the three planned
    assert ablation.record(TINY, runs, made, seeds=2)["complete"] is True
    assert df.loc["with", "seeds"] == "2 of 3"
    # a study recorded while it runs: the rows run so far, the others named
    part = ablation.record(TINY, [r for r in runs if r["label"] != "class" and r["seed"] == 0], made, seeds=2,
                           partial=True)
    assert part["pending"] == ["class"] and not part["complete"]
    assert [r["label"] for r in part["rows"]] == ["with", "without", "half"]
    assert part["rows"][0]["seed_ids"] == [0] and records.study_table(part).loc["with", "seeds"] == "1 of 2"

    # the command line records the summary into a results directory, from the runs by run id
    res = tmp_path / "results"
    records.save_summary("yardstick", records.yardstick(), res)
    monkeypatch.setitem(ablation.STUDIES, "tiny", TINY)
    assert ablation.main(["tiny", "--out", str(tmp_path), "--record", "--seeds", "2", "--results", str(res)]) == 0
    assert records.load_summary("tiny-ablations", res) == json.loads(json.dumps(
        ablation.record(TINY, runs, made, records.yardstick(), seeds=2), ensure_ascii=False))

    # a study that grew: only the new set is made, only the new row runs, the old sets are kept as they were
    grown = ablation.Study(
        name="tiny", recipe="zskd", source="a test", paper="zskd",
        sets={**TINY.sets, "uniform": ("zskd", {"n": 20, "steps": 2, "view_affine": None, "prior": "uniform"})},
        rows=TINY.rows + (ablation.Row("uniform", "uniform", change=STEPS),))
    runs2 = ablation.run(grown, tmp_path, seeds=1, workers=0)
    assert len(runs2) == 9 and sum(r["label"] == "uniform" for r in runs2) == 1
    made2 = torch.load(tmp_path / "made.pt")
    assert torch.equal(made2["data impressions"]["images"], made["data impressions"]["images"])
    assert made2["uniform"]["settings"]["prior"] == "uniform"


def test_the_zskd_study_rows_follow_the_paper():
    labels = [r.label for r in ablation.ZSKD.rows]
    assert labels[0].endswith("with augmentation") and labels[1].endswith("without augmentation")
    published = {ablation.ZSKD.published(r) for r in ablation.ZSKD.rows}
    assert published >= {_published("student"), _published("without augmentation"), _published("uniform prior")}
    assert all(ablation.ZSKD.published(r) is not None for r in ablation.ZSKD.rows if r.paper is not None), \
        "a row names a key the method table does not have"
    assert all(r.set in ablation.ZSKD.sets for r in ablation.ZSKD.rows)
    assert ablation.ZSKD.paper == "zskd" and ablation.ZSKD.published(ablation.Row("x", "y")) is None


def test_the_arbitrary_study_follows_table_1():
    study = ablation.ARBITRARY
    rows = {r.label: r for r in study.rows}
    # every cell of Table 1 (3 families, unbalanced / balanced, without / with augmentation) is a row with its number
    cells = [f"{fam}, {b}, {a} augmentation" for fam in ("noise", "synthetic", "natural")
             for b in ("unbalanced", "balanced") for a in ("without", "with")]
    assert all(study.published(rows[c]) is not None for c in cells)
    # the rows beyond Table 1 (multi-scale noise) have no published number
    assert all(study.published(r) is None for r in study.rows if r.group == "multi-scale noise")
    # the table's numbers agree with the headline numbers of the two recipes
    assert study.published(rows["noise, balanced, with augmentation"]) == _published("student", "arbitrary-noise")
    assert study.published(rows["the book's best set (all offline), with augmentation"]) == \
        study.published(rows["natural, balanced, with augmentation"]) == _published("student", "arbitrary-best")
    assert all(r.set in study.sets for r in study.rows)
    assert all(r.seeds == 1 for r in study.rows if "without" in r.label)
    assert study.paper == "arbitrary-best" and study.paper_label.startswith("paper")


def test_the_committed_summaries_carry_the_method_tables_numbers():
    for name, study in (("zskd-ablations", ablation.ZSKD), ("arbitrary-ablations", ablation.ARBITRARY)):
        summary = records.load_summary(name)
        rows = {r.label: r for r in study.rows}
        assert summary["paper_label"] == study.paper_label
        assert {r["label"] for r in summary["rows"]} <= set(rows), name
        for r in summary["rows"]:
            assert r["paper"] == study.published(rows[r["label"]]), (name, r["label"])
        assert records.study_table(summary).shape[0] == len(summary["rows"])


def test_jobs_carry_the_study_and_the_teacher():
    jobs = ablation.jobs(ablation.ZSKD, seeds=1)
    assert len(jobs) == len(ablation.ZSKD.rows)
    assert {j["study"] for j in jobs} == {"zskd-ablations"} and {j["teacher"] for j in jobs} == {"lenet5"}
    assert all(runner.run_id(j) for j in jobs) and len({runner.run_id(j) for j in jobs}) == len(jobs)
    assert {j["set"] for j in jobs} >= {"data impressions[:2000]", "data impressions[:4000]"}
    assert all(j["protocol"] == asdict(r.protocol()) for j, r in zip(jobs, ablation.ZSKD.rows))


def test_an_arbitrary_study_records_composition_and_caps_seeds(tmp_path):
    small = {"n": 40, "max_candidates": 400}
    study = ablation.Study(
        name="tiny-arbitrary", recipe="arbitrary-noise", source="a test",
        sets={"noise, unbalanced": ("arbitrary", {**small, "balanced": False}),
              "noise, balanced": ("arbitrary", small)},
        rows=(ablation.Row("unbalanced", "noise, unbalanced", change={"steps": 4, "batch_size": 16}, seeds=1),
              ablation.Row("balanced", "noise, balanced", change={"steps": 4, "batch_size": 16})))
    jobs = ablation.jobs(study, seeds=2)
    # seed by seed; within a seed the rows of every seed before the row capped to one
    assert [(j["label"], j["seed"]) for j in jobs] == [("balanced", 0), ("unbalanced", 0), ("balanced", 1)]
    runs = ablation.run(study, tmp_path, seeds=2, workers=0)
    made = torch.load(tmp_path / "made.pt")
    rec = ablation.record(study, runs, made)
    comp = rec["sets"]["noise, balanced"]["composition"]["noise"]
    assert sum(comp["counts"]) == rec["sets"]["noise, balanced"]["n"] <= 40 and max(comp["counts"]) <= 4
    assert comp["examined_per_source"]["uniform noise"] <= 400
    assert rec["sets"]["noise, unbalanced"]["composition"]["unbalanced"]["n"] == 40
    assert [r["seeds"] for r in rec["rows"]] == [1, 2] and rec["teacher"] == "lenet5"
    c = stats.contrast(rec, "balanced", "unbalanced", "balanced > unbalanced")
    rows = {r["label"]: r for r in rec["rows"]}
    assert c.diff == pytest.approx(rows["balanced"]["test_acc"] - rows["unbalanced"]["test_acc"], abs=0.01)
    assert c.n == (2, 1) and not c.paired and c.p is None and not c.significant  # one seed: untested
    with pytest.raises(KeyError, match="rows:"):
        stats.contrast(rec, "balanced", "nope")
    # a set whose settings changed since it was made: its runs would not be the study's
    changed = ablation.Study(name="tiny-arbitrary", recipe="arbitrary-noise", source="a test",
                             sets={**study.sets, "noise, balanced": ("arbitrary", {**small, "n": 30})},
                             rows=study.rows)
    with pytest.raises(ValueError, match="now asks for"):
        ablation.run(changed, tmp_path, seeds=1, workers=0)


def test_set_settings_are_the_recipes_changed_by_the_study():
    s = ablation.set_settings(ablation.ZSKD, "uniform prior")
    assert s["prior"] == "uniform" and tuple(s["betas"]) == (1.0, 0.1)
    assert s["n"] == recipes.get("zskd", "full").settings["n"]
    assert "betas" not in ablation.set_settings(ablation.ZSKD, "class impressions")
    with pytest.raises(KeyError):
        ablation.set_settings(ablation.ZSKD, "no such set")


# ------------------------------------------------------------------------------ the arbitrary sets' levers
def test_lever_study_keeps_the_rows_it_changes():
    study = ablation.lever_study(["noise, balanced, 40k steps", "noise, balanced, filled to quota"])
    assert study.name == "arbitrary-levers" and [r.label for r in study.rows] == [
        "noise, balanced, 40k steps", "noise, balanced, filled to quota"]
    base = {r.label: r for r in ablation.ARBITRARY.rows}["noise, balanced, with augmentation"]
    forty, filled = study.rows
    assert forty.protocol() == replace(base.protocol(), steps=40_000)
    assert forty.set == base.set and forty.paper is None and forty.seeds is None
    assert filled.set == "noise, balanced, filled" and filled.protocol() == base.protocol()
    assert study.sets["noise, balanced, filled"][1]["max_candidates"] == 30_000_000
    assert set(study.sets) == {"noise, balanced", "noise, balanced, filled"}
    jobs = ablation.jobs(study, seeds=2)
    assert {j["study"] for j in jobs} == {"arbitrary-levers"} and len(jobs) == 4
    ablation.lever_study(list(ablation.ARBITRARY_LEVERS))  # every lever changes a row the study has


def test_lever_study_names_the_known_levers():
    with pytest.raises(KeyError, match="no lever 'nope'; known: .*noise, balanced, 40k steps"):
        ablation.lever_study(["nope"])


def test_the_committed_lever_runs_are_the_lever_table():
    for r in records.load_runs("arbitrary-levers"):
        row = ablation.lever_study([r["label"]]).rows[0]
        assert (row.set_key(), asdict(row.protocol())) == (r["set"], r["protocol"]), r["label"]


def test_the_levers_record_reads_the_runs_the_levers_wrote(tmp_path):
    label = "best set, as the study"
    study = ablation.lever_study([label])
    (name,) = study.sets
    images = torch.rand(8, 1, 32, 32)
    torch.save({name: {"images": images, "classes": torch.arange(8) % 10, "settings": ablation.set_settings(
        study, name), "seconds": 1.0, "impression_steps": None}}, tmp_path / "made.pt")
    job = ablation.jobs(study, seeds=1)[0]
    records.append_runs(tmp_path / f"{job['study']}.jsonl", [{**job, "test_acc": 50.0, "val_acc": 51.0,
                                                              "wall_s": 1.0, "device": "cpu", "commit": "c"}])
    res = tmp_path / "results"
    records.save_summary("yardstick", records.yardstick(), res)
    assert ablation.main(["arbitrary-levers", "--levers", label, "--out", str(tmp_path), "--record", "--seeds", "1",
                          "--results", str(res)]) == 0
    (summary,) = [p for p in (res / "runs").glob("arbitrary-levers*.json")]
    assert [r["label"] for r in json.loads(summary.read_text())["rows"]] == [label]


# ------------------------------------------------------------------------------------------ the lever studies
def test_levers_jobs_name_the_unknown_study_or_lever():
    with pytest.raises(ValueError, match="unknown study 'nope'; known: inversion-levers, ssd-table4"):
        levers.jobs("nope")
    with pytest.raises(ValueError, match=r"unknown labels \['nope'\] for inversion-levers; known: "):
        levers.jobs("inversion-levers", ["deepinversion, lr 0.1", "nope"])
    with pytest.raises(SystemExit):
        levers.main(["ssd-race", "--out", "x.jsonl", "--labels", "nope"])
    with pytest.raises(ValueError, match=r"unknown options \['colour'\]"):
        levers.jobs("games-probe", ["zskt:32:0:100:colour=red"])


def test_levers_jobs_are_seed_by_seed_and_carry_what_the_run_needs():
    jobs = levers.jobs("inversion-levers", ["deepinversion, lr 0.1", "bn-stats, as the recipe"], [0, 1])
    assert [(j["label"], j["seed"]) for j in jobs] == [("deepinversion, lr 0.1", 0), ("bn-stats, as the recipe", 0),
                                                       ("deepinversion, lr 0.1", 1), ("bn-stats, as the recipe", 1)]
    assert all(j["study"] == "inversion-levers" for j in jobs)
    for study, (_, labels, seeds) in levers.STUDIES.items():
        if study == "games-probe":
            continue
        every = levers.jobs(study)
        assert len(every) == len(labels) * len(seeds) and {j["seed"] for j in every} == set(seeds)
    table4 = levers.jobs("ssd-table4")
    assert all(j["budget"] == levers.ssd_budget() == dict(recipes.get("ssd-kd").extras["ablation"]) for j in table4)
    assert [j["label"] for j in table4[:len(levers.ABLATION)]] == list(levers.ABLATION)
    probe = levers.jobs("games-probe", ["zskt:32:3:2000", "dfad:64:1:500:balance=0:reuse=0"])
    assert [(j["label"], j["seed"]) for j in probe] == [("zskt:32:3:2000", 3), ("dfad:64:1:500:balance=0:reuse=0", 1)]
    assert levers.game_spec("dfad:64:1:500:balance=0") == ("dfad", 64, 1, 500, {"balance": "0"})


def test_a_lever_recipe_changes_only_what_it_names():
    base = recipes.get("deepinversion")
    r = levers.changed("deepinversion", {"lr": 0.1}, {"joint": True}, {"warmup": 7})
    assert r.settings == {**base.settings, "lr": 0.1} and r.extras == {**base.extras, "joint": True}
    assert r.student.warmup == 7 and r.student.steps == base.student.steps and r.name == base.name
    assert levers.changed("deepinversion") == base
    for label, (name, settings, extras, *student) in levers.INVERSION.items():
        assert name in recipes.RECIPES, label
        if "as the recipe" in label:
            assert not settings and not extras and not student, label
    assert all(of in levers.ABLATION for of, *_ in levers.SSD.values())
    steps, n, every = levers.race_scale()
    assert steps % every == 0 and n % recipes.get("ssd-kd").settings["synthesis_batch"] == 0


def test_the_committed_lever_runs_name_known_levers():
    """Every committed run of a lever study is a lever of its table (games-probe's labels are free-form specs)."""
    for study, (_, labels, _) in levers.STUDIES.items():
        if study == "games-probe" or not records.runs_path(study).exists():  # a study not yet run has no runs
            continue
        runs = records.load_runs(study)
        assert {r["label"] for r in runs} <= set(labels), study


def test_the_generalise_levers_name_known_recipes_teachers_and_sets(monkeypatch):
    """Every lever of issue 46's study resolves: its recipe, its teacher, the set it adds; a hybrid set is this
    recipe's set and the other repeated to the same size; the batch-statistics teacher reaches distill."""
    from dfkd_book import zoo
    from dfkd_book.experiments import students

    for label in levers.GENERALISE_LABELS:
        name, lever = label.split(": ", 1)
        assert name in levers.GENERALISE_RECIPES and (lever in levers.GENERALISE or label in levers.GENERALISE_ONE)
    for label, (_, options, changes) in levers.GENERALISE_ONE.items():
        assert set(changes) <= {"teacher", "batch_statistics", "hybrid", "api", "set", "beside"} and (
            changes or options), label
        assert changes.get("hybrid", "zskd") in recipes.RECIPES and changes.get("teacher", "lenet5") in zoo.RECIPES
    sets = {"arbitrary-best": torch.rand(10, 1, 32, 32), "deepinversion": torch.rand(3, 1, 32, 32),
            "arbitrary-noise": torch.rand(10, 1, 32, 32)}
    made = []

    def recipe_set(name, device=None, settings=None, seed=0):
        made.append((name, settings, seed))
        return sets[name] if seed == 0 else torch.rand(4, 1, 32, 32)  # a second draw, beside the set

    monkeypatch.setattr(levers, "recipe_set", recipe_set)
    val = (torch.rand(20, 1, 32, 32), torch.randint(0, 10, (20,)))
    monkeypatch.setattr(students, "eval_sets", lambda: (val, val))
    hybrid = levers.generalise({"label": "arbitrary-best: hybrid, equal shares with DeepInversion images",
                                "seed": 0, "budget": 2})
    assert hybrid["n"] == 20 and hybrid["changes"]["hybrid"] == "deepinversion" and hybrid["teacher"] == "lenet5bn"
    bs = levers.generalise({"label": "arbitrary-noise: LeNet-5-BN teacher, BN on batch statistics", "seed": 0,
                            "budget": 2})
    assert bs["teacher"] == "lenet5bn" and bs["n"] == 10 and bs["teacher_queries"]["forward"] > 0
    hard = levers.generalise({"label": "arbitrary-best: API, top-1 label", "seed": 0, "budget": 2})
    # the yardstick's augmentation re-labels every batch: each student step asks the API about its inputs (here the
    # whole 10-image set)
    assert hard["changes"] == {"api": {"access": "label"}} and hard["teacher_queries"] == {"forward": 2 * 10,
                                                                                          "backward": 0}
    # selection beside the set: a second draw (seed 1, a fifth of the set's size); the student trains on all 10
    beside = levers.generalise({"label": "arbitrary-best: agreement selection, beside the set", "seed": 0,
                                "budget": 4})
    n = recipes.get("arbitrary-best").settings["n"]
    assert ("arbitrary-best", {"n": n // 5}, 1) in made and beside["n"] == 10
    assert beside["options"] == {"select": "agreement"} and len(beside["holdout_agreement"]) == len(
        beside["curve"]["step"])
    assert beside["selected_step"] in beside["curve"]["step"]
    with pytest.raises(ValueError, match="needs an arbitrary set"):
        levers.beside_set("deepinversion", 0.2)
    assert [j["budget"] for j in levers.jobs("generalise", ["zskd: cutmix"], [0, 1], "recipe")] == ["recipe"] * 2
    assert levers.jobs("generalise", ["zskd: cutmix"], [0])[0]["budget"] == 5_000
    with pytest.raises(ValueError, match="budget must be"):
        levers.jobs("generalise", ["zskd: cutmix"], [0], 0)
    with pytest.raises(ValueError, match="only generalise"):
        levers.jobs("mte-sweep", None, [0], "recipe")


@pytest.mark.parametrize("label", ["dfad", "dfme"])
def test_the_fresh_study_gives_the_final_and_the_selected_student_of_one_run(label, monkeypatch):
    """levers fresh: one run of the recipe with selection on fresh samples holds both students — the curve's last
    point (the recipe's final student: the run is unchanged) and the selected evaluation's."""
    get = recipes.get

    def tiny(name, profile=None):
        r = get(name, "quick")
        return replace(r, settings={**r.settings, "width": 8}, student=replace(r.student, steps=10, eval_every=5))

    monkeypatch.setattr(recipes, "get", tiny)
    out = levers.fresh({"label": label, "seed": 0})
    steps, val = out["curve"]["step"], out["curve"]["val_acc"]
    assert out["val_acc"] == val[-1] and steps[-1] == 10 and len(out["fresh_agreement"]) == len(steps)
    at = steps.index(out["selected_step"])
    assert out["selected_val_acc"] == val[at]
    assert out["fresh_agreement"][at] == max(out["fresh_agreement"])
    assert out["recipe"]["extras"]["select"] == "agreement" and 0 <= out["test_acc"] <= 100


def test_the_fresh_study_changes_only_settings_its_recipes_have():
    for label, (name, settings) in levers.FRESH.items():
        r = recipes.get(name)
        assert set(settings) <= set(r.settings), label
        assert label.split(",")[0] == name and (settings or label == name)


def test_a_recipe_that_makes_samples_while_its_student_trains_gives_its_runs_samples(monkeypatch, tmp_path):
    """recipe_set of SSD-KD with Fast's generator (a hybrid's part): the replay buffer its seed-0 run ends with,
    cached like a static set."""
    from types import SimpleNamespace

    from dfkd_book import config
    from dfkd_book.experiments import recipe_runs

    made = torch.rand(6, 1, 32, 32)
    calls = []
    monkeypatch.setattr(config, "cache_dir", lambda what: tmp_path)
    monkeypatch.setattr(recipe_runs, "run_recipe",
                        lambda name, seed, **kw: calls.append((name, seed)) or (SimpleNamespace(pool=made), None, None))
    assert torch.equal(levers.recipe_set("ssd-kd-fast"), made) and calls == [("ssd-kd-fast", 0)]
    assert torch.equal(levers.recipe_set("ssd-kd-fast"), made) and len(calls) == 1  # the cached set


def test_a_set_lever_makes_the_changed_recipes_set_and_caches_it_apart(monkeypatch, tmp_path):
    """``set`` changes: recipe_set makes the set of the recipe with its method's settings changed, cached under
    that recipe (not the unchanged one's)."""
    from dfkd_book import config

    made = []
    monkeypatch.setattr(config, "cache_dir", lambda what: tmp_path)
    monkeypatch.setattr(levers, "transfer_set", lambda t, m, **kw: made.append(m.n) or (torch.rand(4, 1, 32, 32), None))
    label = "arbitrary-best: 4 times the set (240,000 images)"
    change = levers.GENERALISE_ONE[label][2]["set"]
    levers.recipe_set("arbitrary-best", settings=change)
    levers.recipe_set("arbitrary-best")
    levers.recipe_set("arbitrary-best", settings=change)
    assert made == [240_000, recipes.get("arbitrary-best").settings["n"]] and len(list(tmp_path.iterdir())) == 2


@pytest.mark.parametrize("label, schedule", [("ideal", "cosine"),
                                             ("ideal, a constant learning rate (the official)", "constant"),
                                             ("ideal, a constant learning rate, 200 rounds", "constant")])
def test_a_black_box_lever_reaches_distill_with_its_schedule(label, schedule, monkeypatch):
    """levers blackbox: a lever's student schedule is the one distill runs (the recipe's cosine unless it says
    otherwise), and the recipe's API stays the one the lever is run behind."""
    from dfkd_book.experiments import recipe_runs

    seen = {}

    def caught(teacher, student, method, **kw):
        seen.update(kw, teacher=teacher)
        raise RuntimeError("caught")

    monkeypatch.setattr(recipe_runs, "distill", caught)
    name, settings, student, *extras = levers.BLACKBOX[label]
    r = recipe_runs.changed(name, settings, extras[0] if extras else None, student)
    with pytest.raises(RuntimeError, match="caught"):
        recipe_runs.run_recipe(name, 0, None, progress=False, recipe=r)
    assert seen["schedule"] == schedule and seen["teacher"].access == "label"


def test_the_black_box_study_changes_only_what_its_recipes_have():
    for label, (name, settings, student, *extras) in levers.BLACKBOX.items():
        r = recipes.get(name)
        assert label.split(",")[0] == name and set(settings) <= set(r.settings), label
        assert set(student) <= set(r.student.__dataclass_fields__), label
        assert set(extras[0] if extras else {}) <= {"api"}, label
