"""The student-protocol search and the real-data yardstick (dfkd_book.experiments.search), what every study shares
(dfkd_book.experiments.students), and the augmentations the search chose between (MildAffine, Curriculum)."""

import json
from dataclasses import asdict, replace

import pytest
import torch

from dfkd_book import augment, config, recipes, records
from dfkd_book.experiments import runner, search, students


def _runs():
    return records.load_runs("protocol")


# ------------------------------------------------------------------------------------------------- the records
def test_committed_summaries_are_what_the_runs_give():
    runs = _runs()
    assert records.load_summary("protocol") == json.loads(json.dumps(search.record(runs), ensure_ascii=False))
    assert records.yardstick() == json.loads(json.dumps(search.yardstick_record(runs)))
    assert {r["study"] for r in runs} == {"protocol"}


def test_recipes_use_the_protocol_the_search_chose():
    """Each kind's protocol ran from three seeds, and it is the best of the three-seed candidates at its budget by
    validation accuracy (the selection never reads the test set)."""
    rec = search.record(_runs())
    chosen = {"deepinversion": "inverted", "zskd": "impressions", "noise": "arbitrary"}
    for set_name, kind in chosen.items():
        steps, aug, batch = recipes.STUDENT_PROTOCOLS[kind]
        cands = [c for c in rec["three_seeds"][set_name] if c["protocol"]["steps"] == steps]
        best = max(cands, key=lambda c: c["val_acc"])
        assert (best["protocol"]["augment"], best["protocol"]["batch_size"]) == (aug, batch), (set_name, best)
        assert best["seeds"] >= 3
    assert rec["curves"]["deepinversion"]["protocol"]["augment"] == recipes.STUDENT_PROTOCOLS["inverted"][1]


def _fake(stage, s, seed, val, test, proto, label=""):
    return {"study": "protocol", "stage": stage, "set": s, "seed": seed, "label": label, "val_acc": val,
            "test_acc": test, "wall_s": 1, "protocol": asdict(proto), "commit": "c", "device": "cpu"}


def test_curves_merge_the_seeds_of_every_stage():
    runs = [_fake("augment", s, 0, 50.0 + i, 50.0, students.Protocol(steps=10, augment=a))
            for s in search.SETS for i, a in enumerate((None, "zskd"))]
    runs += [_fake("budget", "zskd", seed, 60.0, 60.0 + seed, students.Protocol(steps=10, augment="zskd"))
             for seed in (1, 2)]
    curve = search.record(runs)["curves"]["zskd"]
    assert curve["protocol"]["augment"] == "zskd"
    assert curve["seeds"] == [3] and curve["per_seed_test"] == [[50.0, 61.0, 62.0]]
    assert curve["test_acc"] == [57.67] and curve["steps"] == [10]


def test_yardstick_record_needs_yardstick_runs():
    with pytest.raises(ValueError, match="no yardstick runs"):
        search.yardstick_record([_fake("augment", "zskd", 0, 1.0, 1.0, students.Protocol())])


def test_yardstick_record_names_the_command_that_makes_its_runs():
    with pytest.raises(ValueError, match="python -m dfkd_book.experiments.search yardstick"):
        search.yardstick_record([])


# ---------------------------------------------------------------------------------------------- the job helpers
def _same_run(r: dict) -> tuple:
    """What makes two search runs the same student, whatever stage asked for it: set, protocol, seed (and the
    yardstick's N)."""
    return r["set"], students.Protocol(**r["protocol"]).key(), r["seed"], r.get("n")


def test_the_commands_reproduce_the_committed_runs():
    """Every stage's job list, built from the committed runs, is already done: the summaries hold what the
    commands make, and a run asked for by two stages (same set, protocol, seed) is one run."""
    runs = _runs()
    have = {_same_run(r) for r in runs}
    jobs = (search.jobs_augment() + search.jobs_optimise(runs) + search.jobs_budget(runs)
            + search.jobs_confirm(runs) + search.jobs_yardstick()
            + search.jobs_screen(runs, "zskd", ["warm-up 5 %", "batch 512"]))
    missing = [j for j in jobs if _same_run(j) not in have]
    assert not missing, missing[:3]
    once = [r for r in runs if r["stage"] != "optimise" or r["label"] != "base (adam 1e-2)"]
    assert len({_same_run(r) for r in once}) == len(once)
    assert len(search.done_runs(records.runs_path("protocol"))) == len({_same_run(r) for r in runs})


def test_a_run_another_stage_asked_for_is_not_run_again(tmp_path):
    """jobs_confirm: "a seed stage 3 already ran is the same run, and is not run again"."""
    torch.save({"zskd": torch.rand(24, 1, 32, 32)}, tmp_path / "sets.pt")  # the sets, made before
    proto = asdict(students.Protocol(steps=2, batch_size=8))
    budget = {"stage": "budget", "set": "zskd", "seed": 0, "label": "2 steps", "protocol": proto}
    assert len(search.run_jobs([budget], tmp_path, workers=0)) == 1
    confirm = {**budget, "stage": "confirm", "label": "augment zskd"}
    assert len(search.run_jobs([confirm], tmp_path, workers=0)) == 1


def test_job_lists_follow_the_stages():
    runs = [_fake("augment", s, 0, 50.0 + i, 50.0, students.Protocol(augment=a))
            for s in search.SETS for i, a in enumerate(search.AUGMENTATIONS)]
    aug = search.jobs_augment(steps=100)
    assert len(aug) == len(search.SETS) * len(search.AUGMENTATIONS)
    assert {j["protocol"]["steps"] for j in aug} == {100} and {j["seed"] for j in aug} == {0}
    best = search.AUGMENTATIONS[-1]  # the highest validation accuracy of each set above
    opt = search.jobs_optimise(runs)
    assert {j["protocol"]["augment"] for j in opt} == {best} and {j["label"] for j in opt} == set(search.SCREEN)
    budget = search.jobs_budget(runs, seeds=3, budgets=(1_000, 10_000), seeded=(10_000,))
    seeds = {(j["set"], j["protocol"]["steps"]): 0 for j in budget}
    for j in budget:
        seeds[(j["set"], j["protocol"]["steps"])] += 1
    assert seeds[("zskd", 10_000)] == 3 and seeds[("zskd", 1_000)] == 1 and seeds[("real-55k", 10_000)] == 1
    yard = search.jobs_yardstick(students.Protocol(steps=7), seeds=2, sizes=(10, 100))
    assert [(j["n"], j["seed"]) for j in yard] == [(10, 0), (10, 1), (100, 0), (100, 1)]
    assert all(j["stage"] == "yardstick" and j["set"] == f"real-{j['n']}" for j in yard)
    screen = search.jobs_screen(runs, "zskd", ["batch 512"], seeds=2)
    assert [(j["stage"], j["seed"], j["protocol"]["batch_size"]) for j in screen] == [("optimise", 0, 512),
                                                                                        ("confirm", 1, 512)]
    with pytest.raises(ValueError, match="no augment runs for zskd yet"):
        search.jobs_optimise([r for r in runs if r["set"] != "zskd"])


def test_done_runs_counts_a_run_recorded_twice_once(tmp_path):
    run = {"study": "protocol", "stage": "x", "set": "s", "seed": 0, "label": "l", "protocol": {"steps": 5},
           "test_acc": 1.0, "commit": "c", "device": "cpu"}
    again = {**run, "stage": "y", "test_acc": 2.0}
    other = {**run, "seed": 1}
    (tmp_path / "protocol.jsonl").write_text("\n".join(json.dumps(r) for r in (run, again, other)) + "\n")
    assert search.done_runs(tmp_path) == [run, other]
    assert search.done_runs(tmp_path / "protocol.jsonl") == [run, other]  # the file itself, or its directory
    twice = {**run, "test_acc": 3.0}  # the same stage's run written by two runners
    (tmp_path / "protocol.jsonl").write_text("\n".join(json.dumps(r) for r in (run, again, twice, other)) + "\n")
    assert search.done_runs(tmp_path, per_stage=True) == [run, again, other]


def test_record_cli_rebuilds_the_committed_summaries(tmp_path, monkeypatch):
    """`python -m dfkd_book.experiments.search record` on the committed runs writes the committed summaries (a run
    two stages share stays in both stages' tables)."""
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "protocol.jsonl").write_text(records.runs_path("protocol").read_text())
    monkeypatch.setattr(records, "RESULTS", tmp_path / "results")
    assert search.main(["record", "--out", str(tmp_path / "out")]) == 0
    for name in ("protocol", "yardstick"):
        assert (tmp_path / "results" / "runs" / f"{name}.json").is_file()
        assert records.load_summary(name) == json.loads((config.RESULTS / "runs" / f"{name}.json").read_text())


def test_run_jobs_runs_a_yardstick_run_once_with_its_provenance(tmp_path):
    """A yardstick job needs no transfer set: one student of 2 steps on 10 real images, in this process, to
    out/protocol.jsonl; run again, nothing runs."""
    jobs = search.jobs_yardstick(students.Protocol(steps=2, batch_size=16), seeds=1, sizes=(10,))
    runs = search.run_jobs(jobs, tmp_path, workers=0)
    assert len(runs) == 1 and not (tmp_path / "sets.pt").exists()
    r = runs[0]
    assert r["study"] == "protocol" and r["stage"] == "yardstick" and r["n"] == 10 and r["label"] == "10 real images"
    assert 0 <= r["test_acc"] <= 100 and 0 <= r["val_acc"] <= 100 and r["curve"]["step"][-1] == 2
    assert r["device"] == runner.device_name() and "commit" in r and "job_keys" in r
    assert records.read_runs(tmp_path / "protocol.jsonl") == runs
    assert search.run_jobs(jobs, tmp_path, workers=0) == runs
    point = search.yardstick_record(runs)["points"]
    assert [(p["n"], p["per_seed"]) for p in point] == [(10, [r["test_acc"]])]


def test_make_sets_uses_given_sets_and_makes_the_rest_with_the_recipe(monkeypatch):
    """The real sets from the training images outside the validation split; a synthetic set by its recipe's
    method through loop.transfer_set (here DeepInversion, made small); a given set as it is."""
    get = recipes.get

    def small(name, profile=None):  # DeepInversion's recipe, 64 images of 5 steps
        r = get(name, profile)
        return replace(r, settings={**r.settings, "n": 64, "steps": 5, "batch_size": 32})

    monkeypatch.setattr(recipes, "get", small)
    monkeypatch.setattr(search, "_RECIPE_OF", {"deepinversion": "deepinversion", "zskd": "zskd"})
    given = {"zskd": torch.rand(6, 1, 32, 32, dtype=torch.float16)}
    sets = search.make_sets(profile="quick", given=given)
    assert list(sets) == ["real-55k", "real-1k", "deepinversion", "zskd"]
    assert sets["real-55k"].shape == (55_000, 1, 32, 32) and sets["real-1k"].shape == (1_000, 1, 32, 32)
    assert torch.equal(sets["zskd"], given["zskd"].float())
    x = sets["deepinversion"]
    assert x.shape == (64, 1, 32, 32)
    assert x.dtype == torch.float32 and x.device.type == "cpu" and torch.isfinite(x).all()
    from dfkd_book import data

    train = data.load("fashion-mnist", "train")
    _, rest = students.validation_split()
    assert torch.equal(sets["real-55k"], train.images[rest])  # the validation images are in no transfer set
    sums = set(sets["real-55k"].flatten(1).sum(1).tolist())
    assert all(s in sums for s in sets["real-1k"].flatten(1).sum(1).tolist())  # the 1,000 are drawn from them


# ------------------------------------------------------------------------------------ what the studies share
def test_balanced_subset_counts():
    labels = torch.arange(10).repeat(20)
    idx = students.balanced_subset(torch.zeros(200, 1, 4, 4), labels, 25, seed=3)
    counts = torch.bincount(labels[idx], minlength=10)
    assert len(idx) == 25 and len(set(idx.tolist())) == 25
    assert counts.max() - counts.min() <= 1
    assert torch.equal(idx, students.balanced_subset(torch.zeros(200, 1, 4, 4), labels, 25, seed=3))
    assert not torch.equal(idx, students.balanced_subset(torch.zeros(200, 1, 4, 4), labels, 25, seed=4))
    with pytest.raises(ValueError, match="n must be"):
        students.balanced_subset(torch.zeros(200, 1, 4, 4), labels, 201)
    with pytest.raises(ValueError, match="class 1 has 1 images, 3 asked"):
        students.balanced_subset(torch.zeros(12, 1, 4, 4), torch.tensor([0] * 10 + [1, 2]), 9)


def test_validation_split_is_fixed_and_disjoint():
    val, rest = students.validation_split()
    assert len(val) == students.VALIDATION and len(val) + len(rest) == 60_000
    assert not set(val.tolist()) & set(rest.tolist())
    assert torch.equal(val, students.validation_split()[0])


def test_protocol_student_warmup_is_a_fraction():
    s = students.Protocol(steps=1_000, warmup=0.05, augment="affine").student()
    assert s.warmup == 50 and s.steps == 1_000 and isinstance(s.make_augment(), augment.MildAffine)
    assert students.Protocol().key() != students.Protocol(lr=3e-3).key()
    assert json.loads(students.YARDSTICK_PROTOCOL.key())["steps"] == 5_000


def test_seed_stats_summarises_the_seeds():
    s = students.seed_stats([{"test_acc": 60.0, "val_acc": 61.0}, {"test_acc": 62.0, "val_acc": 63.0}])
    assert s == {"seeds": 2, "per_seed_test": [60.0, 62.0], "test_acc": 61.0, "test_acc_sd": 1.41, "val_acc": 62.0}


# --------------------------------------------------------------------------------------------- the augmentations
def test_mild_affine_without_motion_only_flips_horizontally():
    torch.manual_seed(0)
    x = torch.rand(64, 1, 8, 8)
    aug = augment.MildAffine(degrees=0.0, translate=0.0, scale=(1.0, 1.0))
    y = aug(x)
    same = (y - x).abs().flatten(1).amax(1) < 1e-5
    flipped = (y - x.flip(-1)).abs().flatten(1).amax(1) < 1e-5
    assert bool((same | flipped).all()) and 10 < int(flipped.sum()) < 54


def test_mild_affine_moves_every_sample_and_stays_in_range():
    torch.manual_seed(1)
    x = torch.rand(32, 1, 16, 16)
    y = augment.MildAffine()(x)
    assert y.shape == x.shape and float(y.min()) >= 0 and float(y.max()) <= 1
    assert bool(((y - x).abs().flatten(1).amax(1) > 1e-3).all())


def test_curriculum_switches_at_the_fraction():
    seen = []
    stages = [(0.5, None), (1.0, lambda x: seen.append(1) or x + 1)]
    cur = augment.Curriculum(stages, steps=4)
    x = torch.zeros(2, 1, 3, 3)
    outs = [float(cur(x).mean()) for _ in range(5)]
    assert outs == [0.0, 0.0, 1.0, 1.0, 1.0] and len(seen) == 3


@pytest.mark.parametrize("stages", [[], [(0.5, None)], [(0.7, None), (0.3, None), (1.0, None)], [(0.0, None)]])
def test_curriculum_rejects_bad_stages(stages):
    with pytest.raises(ValueError, match="stages"):
        augment.Curriculum(stages, steps=10)


def test_student_curriculum_is_fresh_per_call():
    s = recipes.Student(steps=10, augment="curriculum")
    a, b = s.make_augment(), s.make_augment()
    a(torch.zeros(1, 1, 4, 4))
    assert a.calls == 1 and b.calls == 0
