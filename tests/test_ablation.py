import json

import pytest

from dfkd_book import ablation, protocol

TINY = ablation.Study(
    name="tiny", recipe="zskd", source="a test",
    sets={"data impressions": ("zskd", {"n": 40, "steps": 2, "view_affine": None}),
          "class impressions": ("class-impressions", {"n": 20, "steps": 2, "view_affine": None})},
    rows=(ablation.Row("with", "data impressions", change={"steps": 6, "batch_size": 16}, paper=79.62),
          ablation.Row("without", "data impressions", change={"steps": 6, "batch_size": 16, "augment": None}),
          ablation.Row("half", "data impressions", n=20, change={"steps": 6, "batch_size": 16}),
          ablation.Row("class", "class impressions", change={"steps": 6, "batch_size": 16, "augment": None})))


def test_a_tiny_study_runs_resumes_and_records(tmp_path):
    runs = ablation.run(TINY, tmp_path, seeds=2)
    assert len(runs) == 8 and {r["seed"] for r in runs} == {0, 1}
    assert ablation.run(TINY, tmp_path, seeds=2) == runs  # nothing run again
    import torch

    made = torch.load(tmp_path / "made.pt")
    sets = torch.load(tmp_path / "sets.pt")
    assert sets["data impressions"].shape == (40, 1, 32, 32) and sets["data impressions[:20]"].shape[0] == 20
    rec = ablation.record(TINY, runs, made, yardstick=json.loads((protocol.RESULTS / "yardstick.json").read_text()))
    rows = {r["label"]: r for r in rec["rows"]}
    assert rows["with"]["seeds"] == 2 and len(rows["with"]["per_seed_test"]) == 2
    assert len(rows["with"]["curves"]) == 2 and rows["with"]["curves"][0]["step"][-1] == 6
    assert rows["with"]["paper"] == 79.62 and rows["half"]["n"] == 20 and rows["class"]["n"] == 20
    assert rows["with"]["worth_real_images"] is None  # not the yardstick's protocol: no conversion
    assert rec["sets"]["data impressions"]["impression_steps"] == 80
    assert rec["sets"]["data impressions"]["sha256"] == ablation.set_digest(made["data impressions"]["images"])
    assert ablation.set_digest(made["data impressions"]["images"][:-1]) != rec["sets"]["data impressions"]["sha256"]
    df = ablation.table(rec)
    assert list(df.index) == ["with", "without", "half", "class"] and df.loc["with", "paper"] == "79.62"
    from dfkd_book import plot

    fig = plot.ablation(rec, groups=("",))
    assert len(fig.axes[0].patches) == 4
    with pytest.raises(ValueError, match="no rows"):
        plot.ablation(rec, groups=("nothing",))
    with pytest.raises(ValueError, match="no runs for the row"):
        ablation.record(TINY, [r for r in runs if r["label"] != "class"], made)
    assert rec["complete"] is False and rec["pending"] == []  # two seeds of the three planned
    assert ablation.record(TINY, runs, made, seeds=2)["complete"] is True
    assert df.loc["with", "seeds"] == "2 of 3"
    # a study recorded while it runs: the rows run so far, the others named
    part = ablation.record(TINY, [r for r in runs if r["label"] != "class" and r["seed"] == 0], made, seeds=2,
                           partial=True)
    assert part["pending"] == ["class"] and not part["complete"]
    assert [r["label"] for r in part["rows"]] == ["with", "without", "half"]
    assert part["rows"][0]["seed_ids"] == [0] and ablation.table(part).loc["with", "seeds"] == "1 of 2"

    # a study that grew: only the new set is made, only the new row runs, the old sets are kept as they were
    grown = ablation.Study(
        name="tiny", recipe="zskd", source="a test",
        sets={**TINY.sets, "uniform": ("zskd", {"n": 20, "steps": 2, "view_affine": None, "prior": "uniform"})},
        rows=TINY.rows + (ablation.Row("uniform", "uniform", change={"steps": 6, "batch_size": 16}),))
    runs2 = ablation.run(grown, tmp_path, seeds=1)
    assert len(runs2) == 9 and sum(r["label"] == "uniform" for r in runs2) == 1
    made2 = torch.load(tmp_path / "made.pt")
    assert torch.equal(made2["data impressions"]["images"], made["data impressions"]["images"])
    assert made2["uniform"]["settings"]["prior"] == "uniform"


def test_the_zskd_study_rows_follow_the_paper():
    labels = [r.label for r in ablation.ZSKD.rows]
    assert labels[0].endswith("with augmentation") and labels[1].endswith("without augmentation")
    assert {r.paper for r in ablation.ZSKD.rows} >= {79.62, 69.37, 56.24}
    assert all(r.set in ablation.ZSKD.sets for r in ablation.ZSKD.rows)
    with pytest.raises(FileNotFoundError, match="python -m dfkd_book.ablation"):
        ablation.load("nothing-here")


def test_an_arbitrary_study_records_composition_and_caps_seeds(tmp_path):
    import torch

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
    runs = ablation.run(study, tmp_path, seeds=2)
    made = torch.load(tmp_path / "made.pt")
    rec = ablation.record(study, runs, made)
    comp = rec["sets"]["noise, balanced"]["composition"]["noise"]
    assert sum(comp["counts"]) == rec["sets"]["noise, balanced"]["n"] <= 40 and max(comp["counts"]) <= 4
    assert comp["examined_per_source"]["uniform noise"] <= 400
    assert rec["sets"]["noise, unbalanced"]["composition"]["unbalanced"]["n"] == 40
    assert [r["seeds"] for r in rec["rows"]] == [1, 2]
    c = ablation.contrast(rec, "balanced", "unbalanced", "balanced > unbalanced")
    rows = {r["label"]: r for r in rec["rows"]}
    assert c["diff"] == pytest.approx(rows["balanced"]["test_acc"] - rows["unbalanced"]["test_acc"], abs=0.01)
    assert c["se"] == pytest.approx(rows["balanced"]["test_acc_sd"] / 2 ** 0.5, abs=0.01) and c["seeds"] == (2, 1)
    with pytest.raises(KeyError, match="rows:"):
        ablation.contrast(rec, "balanced", "nope")
    # a set whose settings changed since it was made: its runs would not be the study's
    changed = ablation.Study(name="tiny-arbitrary", recipe="arbitrary-noise", source="a test",
                             sets={**study.sets, "noise, balanced": ("arbitrary", {**small, "n": 30})},
                             rows=study.rows)
    with pytest.raises(ValueError, match="now asks for"):
        ablation.run(changed, tmp_path, seeds=1)


def test_the_arbitrary_study_follows_table_1():
    rows = {r.label: r for r in ablation.ARBITRARY.rows}
    assert rows["noise, balanced, with augmentation"].paper == 74.33
    assert rows["natural, balanced, with augmentation"].paper == 84.75
    assert rows["synthetic, unbalanced, without augmentation"].paper == 46.63
    assert all(r.set in ablation.ARBITRARY.sets for r in ablation.ARBITRARY.rows)
    assert all(r.seeds == 1 for r in ablation.ARBITRARY.rows if "without" in r.label)


def _row(label, per_seed, seed_ids=None):
    stats = protocol.seed_stats([{"test_acc": a, "val_acc": a} for a in per_seed])
    return {"label": label, **stats, **({} if seed_ids is None else {"seed_ids": seed_ids})}


def test_contrast_is_paired_over_shared_seeds_and_a_t_test():
    # common random numbers: the per-seed differences are steady (2.0, 2.1, 1.9) though the seeds spread widely
    rec = {"rows": [_row("a", [60.0, 72.1, 80.9], [0, 1, 2]), _row("b", [58.0, 70.0, 79.0], [0, 1, 2])]}
    c = ablation.contrast(rec, "a", "b")
    assert c["paired"] and c["df"] == 2 and c["t_crit"] == pytest.approx(4.30, abs=0.01)
    assert c["diff"] == pytest.approx(2.0) and c["se"] == pytest.approx(0.1 / 3 ** 0.5, abs=0.01)
    assert c["holds"] and c["beyond"]
    # the same numbers without seed ids: Welch's unpaired test sees only the spread of each row
    for r in rec["rows"]:
        del r["seed_ids"]
    w = ablation.contrast(rec, "a", "b")
    assert not w["paired"] and w["holds"] and not w["beyond"]
    assert w["df"] == pytest.approx(4.0, abs=0.1)  # about equal sds, n = 3: Welch's df is near 2 (n − 1)
    # one seed: no noise estimate, never "beyond"
    one = {"rows": [_row("a", [70.0], [0]), _row("b", [60.0], [0])]}
    assert ablation.contrast(one, "a", "b") == {"diff": 10.0, "se": 0.0, "df": 0.0, "t_crit": float("inf"),
                                                 "holds": True, "beyond": False, "paired": False, "seeds": (1, 1)}


def test_paired_test_on_hand_worked_seeds():
    # differences 1, 1, 0.5: mean 0.833, sd 0.289, se 0.167; t(0.975, 2) = 4.30 → 0.72 < 0.833: beyond
    t = ablation.paired_test([1.0, 2.0, 3.0], [0.0, 1.0, 2.5])
    assert t["diff"] == pytest.approx(0.83) and t["se"] == pytest.approx(0.17) and t["df"] == 2
    assert t["t_crit"] == pytest.approx(4.30) and t["beyond"] and t["seeds"] == 3
    assert not ablation.paired_test([1.0, 2.0, 3.0], [0.0, 2.5, 2.0])["beyond"]  # differences 1, −0.5, 1
    with pytest.raises(ValueError, match="same >= 2 seeds, got 3 and 2"):
        ablation.paired_test([1.0, 2.0, 3.0], [1.0, 2.0])
