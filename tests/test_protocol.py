"""The student-protocol search and the real-data yardstick (dfkd_book.protocol), and the augmentations it chose
between (MildAffine, Curriculum)."""

import json
import math
from pathlib import Path

import pytest
import torch

from dfkd_book import augment, protocol, recipes

RESULTS = Path(__file__).resolve().parent.parent / "results"
YARD = {"points": [{"n": 100, "mean": 80.0, "sd": 1.0}, {"n": 1_000, "mean": 86.0, "sd": 1.0},
                   {"n": 10_000, "mean": 88.0, "sd": 0.5}]}


# ------------------------------------------------------------------------------------------- worth_real_images
def test_worth_real_images_interpolates_on_the_log_scale():
    r = protocol.worth_real_images(83.0, YARD)  # halfway from 80 to 86: halfway from log 100 to log 1000
    assert r["n"] == round(math.sqrt(100 * 1_000))
    assert not r["below"] and not r["above"]
    assert protocol.worth_real_images(86.0, YARD)["n"] == 1_000
    assert protocol.worth_real_images(87.0, YARD)["n"] == round(math.sqrt(1_000 * 10_000))


def test_worth_real_images_band_brackets_the_mean():
    r = protocol.worth_real_images(85.0, YARD)
    assert r["low"] < r["n"] < r["high"]


def test_worth_real_images_outside_the_curve():
    below = protocol.worth_real_images(60.0, YARD)
    assert below["below"] and below["n"] is None
    above = protocol.worth_real_images(95.0, YARD)
    assert above["above"] and above["n"] is None


@pytest.mark.parametrize("acc", [-1.0, 101.0, float("nan"), "80"])
def test_worth_real_images_rejects_bad_accuracy(acc):
    with pytest.raises(ValueError, match="acc"):
        protocol.worth_real_images(acc, YARD)


def test_worth_real_images_rejects_bad_yardstick():
    with pytest.raises(ValueError, match="two points"):
        protocol.worth_real_images(80.0, {"points": YARD["points"][:1]})
    with pytest.raises(ValueError, match="increase"):
        protocol.worth_real_images(80.0, {"points": YARD["points"][::-1]})


def test_committed_yardstick_reads_a_number():
    rec = json.loads((RESULTS / "yardstick.json").read_text())
    ns = [p["n"] for p in rec["points"]]
    assert ns == sorted(ns) and len(ns) >= 6
    assert all(len(p["per_seed"]) >= 3 for p in rec["points"])
    mid = (rec["points"][2]["mean"] + rec["points"][3]["mean"]) / 2
    r = protocol.worth_real_images(mid, rec)
    assert rec["points"][2]["n"] <= r["n"] <= rec["points"][3]["n"]


# ------------------------------------------------------------------------------------------------- the records
def _runs():
    return protocol.load_runs("protocol-runs", RESULTS)


def test_committed_records_are_what_the_runs_give():
    runs = _runs()
    assert json.loads((RESULTS / "protocol.json").read_text()) == json.loads(
        json.dumps(protocol.record(runs), ensure_ascii=False))
    assert json.loads((RESULTS / "yardstick.json").read_text()) == json.loads(
        json.dumps(protocol.yardstick_record(runs)))


def test_recipes_use_the_protocol_the_search_chose():
    """Each kind's protocol ran from three seeds, and it is the best of the three-seed candidates at its budget by
    validation accuracy (the selection never reads the test set)."""
    rec = protocol.record(_runs())
    chosen = {"deepinversion": "inverted", "zskd": "impressions", "noise": "arbitrary"}
    for set_name, kind in chosen.items():
        steps, aug, batch = recipes.STUDENT_PROTOCOLS[kind]
        cands = [c for c in rec["three_seeds"][set_name] if c["protocol"]["steps"] == steps]
        best = max(cands, key=lambda c: c["val_acc"])
        assert (best["protocol"]["augment"], best["protocol"]["batch_size"]) == (aug, batch), (set_name, best)
        assert best["seeds"] >= 3
    assert rec["curves"]["deepinversion"]["protocol"]["augment"] == recipes.STUDENT_PROTOCOLS["inverted"][1]


def test_curves_merge_the_seeds_of_every_stage():
    runs = [{"stage": "augment", "set": s, "seed": 0, "label": "", "val_acc": 50.0 + i, "test_acc": 50.0, "wall_s": 1,
             "protocol": {**vars(protocol.Protocol(steps=10, augment=a))}}
            for s in protocol.SETS for i, a in enumerate((None, "zskd"))]
    runs += [{"stage": "budget", "set": "zskd", "seed": seed, "label": "", "val_acc": 60.0, "test_acc": 60.0 + seed,
              "wall_s": 1,
              "protocol": {**vars(protocol.Protocol(steps=10, augment="zskd"))}} for seed in (1, 2)]
    curve = protocol.record(runs)["curves"]["zskd"]
    assert curve["protocol"]["augment"] == "zskd"
    assert curve["seeds"] == [3] and curve["per_seed_test"] == [[50.0, 61.0, 62.0]]


# ---------------------------------------------------------------------------------------------- the job helpers
def test_balanced_subset_counts():
    labels = torch.arange(10).repeat(20)
    idx = protocol.balanced_subset(torch.zeros(200, 1, 4, 4), labels, 25, seed=3)
    counts = torch.bincount(labels[idx], minlength=10)
    assert len(idx) == 25 and len(set(idx.tolist())) == 25
    assert counts.max() - counts.min() <= 1
    assert torch.equal(idx, protocol.balanced_subset(torch.zeros(200, 1, 4, 4), labels, 25, seed=3))
    with pytest.raises(ValueError, match="n must be"):
        protocol.balanced_subset(torch.zeros(200, 1, 4, 4), labels, 201)


def test_validation_split_is_fixed_and_disjoint():
    val, rest = protocol.validation_split()
    assert len(val) == protocol.VALIDATION and len(val) + len(rest) == 60_000
    assert not set(val.tolist()) & set(rest.tolist())
    assert torch.equal(val, protocol.validation_split()[0])


def test_protocol_student_warmup_is_a_fraction():
    s = protocol.Protocol(steps=1_000, warmup=0.05, augment="affine").student()
    assert s.warmup == 50 and s.steps == 1_000 and isinstance(s.make_augment(), augment.MildAffine)


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


def test_the_commands_reproduce_the_committed_runs():
    """Every stage's job list, built from the committed runs, is already done: the records hold what the commands
    make, and a run asked for by two stages (same set, protocol, seed) is one run."""
    runs = _runs()
    have = {protocol._job_id(r) for r in runs}
    jobs = (protocol.jobs_augment() + protocol.jobs_optimise(runs) + protocol.jobs_budget(runs)
            + protocol.jobs_confirm(runs) + protocol.jobs_yardstick()
            + protocol.jobs_screen(runs, "zskd", ["warm-up 5 %", "batch 512"]))
    missing = [j for j in jobs if protocol._job_id(j) not in have]
    assert not missing, missing[:3]
    assert len({protocol._job_id(r) for r in runs if r["stage"] != "optimise" or r["label"] != "base (adam 1e-2)"}) \
        == len([r for r in runs if r["stage"] != "optimise" or r["label"] != "base (adam 1e-2)"])


def test_done_runs_counts_a_run_recorded_twice_once(tmp_path):
    run = {"stage": "x", "set": "s", "seed": 0, "label": "l", "protocol": {"steps": 5}, "test_acc": 1.0}
    again = {**run, "stage": "y", "test_acc": 2.0}
    other = {**run, "seed": 1}
    (tmp_path / "runs.jsonl").write_text("\n".join(json.dumps(r) for r in (run, again, other)) + "\n")
    assert protocol.done_runs(tmp_path) == [run, other]
    twice = {**run, "test_acc": 3.0}  # the same stage's run written by two runners
    (tmp_path / "runs.jsonl").write_text("\n".join(json.dumps(r) for r in (run, again, twice, other)) + "\n")
    assert protocol.done_runs(tmp_path, per_stage=True) == [run, again, other]


def test_record_cli_rebuilds_the_committed_records(tmp_path, monkeypatch):
    """`python -m dfkd_book.protocol record` on the committed runs writes the committed records (a run two stages
    share stays in both stages' tables)."""
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "runs.jsonl").write_text((RESULTS / "protocol-runs.jsonl").read_text())
    monkeypatch.setattr(protocol, "RESULTS", tmp_path)
    assert protocol.main(["record", "--out", str(tmp_path / "runs")]) == 0
    for name in ("protocol", "yardstick"):
        assert json.loads((tmp_path / f"{name}.json").read_text()) == json.loads((RESULTS / f"{name}.json").read_text())
