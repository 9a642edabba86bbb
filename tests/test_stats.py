"""The book's statistics (dfkd_book.stats): mean ± sd, the one significance rule (paired t / Welch t at 5 %),
significance-aware ranks, a study's contrasts, the stage summaries and "worth N real images" — against scipy and
against hand-worked numbers."""

import math

import pytest
from scipy import stats as sps

from dfkd_book import records, stats

YARD = {"points": [{"n": 100, "mean": 80.0, "sd": 1.0}, {"n": 1_000, "mean": 86.0, "sd": 1.0},
                   {"n": 10_000, "mean": 88.0, "sd": 0.5}]}


# ------------------------------------------------------------------------------------------------------ mean ± sd
def test_mean_sd_is_the_sample_sd_by_hand():
    # 2, 4, 4, 4, 5, 5, 7, 9: mean 5, squared deviations sum to 32, sample variance 32 / 7
    m, sd = stats.mean_sd([2, 4, 4, 4, 5, 5, 7, 9])
    assert m == 5.0 and sd == pytest.approx(math.sqrt(32 / 7))
    assert stats.mean_sd([70.0]) == (70.0, 0.0)  # one seed: no spread, not NaN
    assert stats.mean_sd_text([80.0, 82.0]) == "81.00 ± 1.41"
    assert stats.mean_sd_text([80.0, 82.0], digits=1) == "81.0 ± 1.4"


@pytest.mark.parametrize("xs, err", [([], ValueError), ([1.0, float("nan")], ValueError),
                                     ([1.0, float("inf")], ValueError), ([1.0, "x"], TypeError),
                                     (None, TypeError)])
def test_mean_sd_rejects_what_is_not_a_sample(xs, err):
    with pytest.raises(err):
        stats.mean_sd(xs)


# ------------------------------------------------------------------------------------------------- the one rule
A, B = [81.0, 82.0, 81.5, 80.2], [79.0, 80.5, 78.8]


def test_welch_matches_scipy_and_the_welch_satterthwaite_df():
    c = stats.compare(A, B)
    ref = sps.ttest_ind(A, B, equal_var=False)
    assert not c.paired and c.n == (4, 3)
    assert c.t == pytest.approx(ref.statistic) and c.p == pytest.approx(ref.pvalue)
    va, vb = stats.mean_sd(A)[1] ** 2 / 4, stats.mean_sd(B)[1] ** 2 / 3
    assert c.se == pytest.approx(math.sqrt(va + vb))
    assert c.df == pytest.approx((va + vb) ** 2 / (va ** 2 / 3 + vb ** 2 / 2))
    assert c.diff == pytest.approx(sum(A) / 4 - sum(B) / 3)
    assert c.t == pytest.approx(c.diff / c.se)
    back = stats.compare(B, A)  # the other way round: the same test, signs flipped
    assert back.diff == pytest.approx(-c.diff) and back.t == pytest.approx(-c.t) and back.p == pytest.approx(c.p)


def test_paired_matches_scipy_and_a_hand_worked_example():
    # differences 1, 1, 0.5: mean 0.833, sd 0.289, se 0.167, t = 5.0 on 2 df: p = 0.0377 — beyond the noise
    c = stats.compare([1.0, 2.0, 3.0], [0.0, 1.0, 2.5], paired=True)
    assert c.paired and c.n == (3, 3) and c.df == 2
    assert c.diff == pytest.approx(5 / 6) and c.se == pytest.approx(1 / 6) and c.t == pytest.approx(5.0)
    assert c.p == pytest.approx(2 * sps.t.sf(5.0, 2)) and c.p == pytest.approx(0.0377, abs=1e-4)
    assert c.significant
    ref = sps.ttest_rel([1.0, 2.0, 3.0], [0.0, 1.0, 2.5])
    assert c.t == pytest.approx(ref.statistic) and c.p == pytest.approx(ref.pvalue)
    # differences 1, -0.5, 1: the same mean gap in spirit, but the seeds disagree — within the noise
    assert not stats.compare([1.0, 2.0, 3.0], [0.0, 2.5, 2.0], paired=True).significant


def test_pairing_sees_through_the_spread_of_the_seeds():
    """Common random numbers: the per-seed differences are steady (2.0, 2.1, 1.9) though the seeds spread
    widely; the paired test sees it, Welch's unpaired test sees only each side's spread."""
    a, b = [60.0, 72.1, 80.9], [58.0, 70.0, 79.0]
    paired, welch = stats.compare(a, b, paired=True), stats.compare(a, b)
    assert paired.significant and paired.diff == pytest.approx(2.0)
    assert paired.se == pytest.approx(0.1 / math.sqrt(3))
    assert not welch.significant and welch.df == pytest.approx(4.0, abs=0.1)


def test_without_a_noise_estimate_the_comparison_is_untested():
    for c in (stats.compare([70.0], [60.0, 61.0]), stats.compare([70.0, 71.0], [60.0]),
              stats.compare([1.0, 1.0], [1.0, 1.0]), stats.compare([2.0, 3.0], [1.0, 2.0], paired=True),
              stats.compare([5.0], [1.0], paired=True)):
        assert c.p is None and c.t is None and c.se is None and not c.significant
        assert "untested" in str(c) and c.verdict.startswith("untested")
    assert stats.compare([70.0], [60.0, 61.0]).diff == pytest.approx(9.5)


def test_compare_rejects_bad_samples():
    with pytest.raises(ValueError, match="non-empty"):
        stats.compare([], [1.0, 2.0])
    with pytest.raises(ValueError, match="same seeds on both sides, got 3 and 2"):
        stats.compare([1.0, 2.0, 3.0], [1.0, 2.0], paired=True)
    with pytest.raises(ValueError, match="finite"):
        stats.compare([1.0, float("nan")], [1.0, 2.0])
    with pytest.raises(TypeError):
        stats.compare(["a", "b"], [1.0, 2.0])


def test_from_stats_is_welch_from_a_records_mean_sd_and_n():
    c = stats.from_stats(80.0, 1.5, 3, 76.0, 2.0, 5)
    ref = sps.ttest_ind_from_stats(80.0, 1.5, 3, 76.0, 2.0, 5, equal_var=False)
    assert c.diff == 4.0 and c.n == (3, 5) and not c.paired
    assert c.t == pytest.approx(ref.statistic) and c.p == pytest.approx(ref.pvalue)
    assert c.se == pytest.approx(math.sqrt(1.5 ** 2 / 3 + 2.0 ** 2 / 5))
    # the same numbers as samples give the same test
    m, sd = stats.mean_sd(A)
    m2, sd2 = stats.mean_sd(B)
    assert stats.from_stats(m, sd, 4, m2, sd2, 3).p == pytest.approx(stats.compare(A, B).p)
    assert stats.from_stats(80.0, 1.0, 1, 70.0, 1.0, 3).p is None  # one seed
    assert stats.from_stats(80.0, 0.0, 3, 70.0, 0.0, 3).p is None  # no spread at all
    for bad in ((80.0, 1.0, 0, 70.0, 1.0, 3), (80.0, -1.0, 3, 70.0, 1.0, 3)):
        with pytest.raises(ValueError, match="n >= 1 and sd >= 0"):
            stats.from_stats(*bad)


def test_significant_is_p_below_alpha_and_the_text_says_n_and_p():
    def at(p):
        return stats.Comparison(1.0, 0.5, 2.0, 4.0, p, (3, 3), False)

    assert stats.ALPHA == 0.05
    assert at(0.0499).significant and not at(0.05).significant and not at(None).significant
    text = str(at(0.0123))
    assert "+1.00 points" in text and "n = 3 vs 3" in text and "p = 0.012" in text and "beyond" in text
    assert "within" in str(at(0.2))
    assert "paired t over 3 seeds" in str(stats.Comparison(1.0, 0.5, 2.0, 2.0, 0.2, (3, 3), True))
    d = at(0.01234).as_dict()
    assert d == {"diff": 1.0, "se": 0.5, "t": 2.0, "df": 4.0, "p": 0.0123, "n": [3, 3], "paired": False,
                 "significant": True}
    assert at(None).as_dict()["p"] is None and at(None).as_dict()["significant"] is False


# --------------------------------------------------------------------------------------------------------- ranks
def test_ranks_share_a_rank_until_a_method_is_significantly_below_the_opener():
    samples = {"a": [80.0, 81.0, 79.0], "b": [79.5, 78.5, 80.5],  # b within a's noise: shares rank 1
               "c": [70.0, 70.5, 69.5],  # far below a: opens rank 3 ...
               "d": [69.8, 70.3, 69.0],  # ... which d shares
               "e": [50.0],  # one seed: untested against the opener c, so it shares c's rank
               "f": [40.0, 40.2, 39.9]}  # significantly below c: opens rank 6
    assert stats.ranks(samples) == {"a": "=1", "b": "=1", "c": "=3", "d": "=3", "e": "=3", "f": "6"}
    assert stats.compare(samples["a"], samples["c"]).significant
    assert not stats.compare(samples["c"], samples["d"]).significant
    # distinct methods with no shared rank: plain numbers
    assert stats.ranks({"x": [90.0, 90.5, 89.5], "y": [50.0, 50.5, 49.5]}) == {"x": "1", "y": "2"}
    assert stats.ranks({"x": [70.0], "y": [70.0]}) == {"x": "=1", "y": "=1"}
    assert stats.ranks({}) == {}


def test_ranks_follow_the_means_not_the_insertion_order():
    r = stats.ranks({"low": [10.0, 10.1, 9.9], "high": [90.0, 90.1, 89.9], "mid": [50.0, 50.1, 49.9]})
    assert r == {"high": "1", "mid": "2", "low": "3"}


# ------------------------------------------------------------------------------------------------------ contrast
def _row(label, per_seed, seed_ids=None):
    m, sd = stats.mean_sd(per_seed)
    return {"label": label, "per_seed_test": per_seed, "test_acc": round(m, 2), "test_acc_sd": round(sd, 2),
            "seeds": len(per_seed), **({} if seed_ids is None else {"seed_ids": seed_ids})}


def test_contrast_is_paired_over_shared_seeds_and_welch_otherwise(capsys):
    rec = {"rows": [_row("a", [60.0, 72.1, 80.9], [0, 1, 2]), _row("b", [58.0, 70.0, 79.0], [0, 1, 2])]}
    c = stats.contrast(rec, "a", "b", "a beats b")
    assert c.paired and c.significant and c.diff == pytest.approx(2.0)
    assert c == stats.compare([60.0, 72.1, 80.9], [58.0, 70.0, 79.0], paired=True)
    out = capsys.readouterr().out
    assert out.startswith("a beats b: holds, +2.00 points (paired t over 3 seeds") and "p = " in out
    stats.contrast(rec, "b", "a", "b beats a")
    assert "b beats a: does not hold" in capsys.readouterr().out
    # without seed ids (or other seeds) the rows are independent samples: Welch from mean, sd and n
    for other in (None, [3, 4, 5]):
        rec["rows"][1] = _row("b", [58.0, 70.0, 79.0], other)
        w = stats.contrast(rec, "a", "b")
        assert not w.paired and not w.significant
        assert w.p == pytest.approx(stats.from_stats(rec["rows"][0]["test_acc"], rec["rows"][0]["test_acc_sd"], 3,
                                                     rec["rows"][1]["test_acc"], rec["rows"][1]["test_acc_sd"], 3).p)
    assert capsys.readouterr().out == ""  # no claim named, nothing printed
    # one shared seed: no pairs to test, untested
    one = {"rows": [_row("a", [70.0], [0]), _row("b", [60.0], [0])]}
    c = stats.contrast(one, "a", "b")
    assert c.diff == 10.0 and c.p is None and not c.significant and c.n == (1, 1)


def test_contrast_names_the_rows_it_has():
    rec = {"rows": [_row("a", [1.0, 2.0]), _row("b", [1.0, 2.0])]}
    with pytest.raises(KeyError, match=r"no row 'c' in the summary; rows: \['a', 'b'\]"):
        stats.contrast(rec, "a", "c")


# ------------------------------------------------------------------------------------------------------ summarize
def test_summarize_groups_one_stage_by_set_label_and_budget():
    def run(stage, s, label, steps, seed, test, val=50.0, wall=10.0):
        return {"stage": stage, "set": s, "label": label, "protocol": {"steps": steps}, "seed": seed,
                "test_acc": test, "val_acc": val, "wall_s": wall}

    runs = [run("budget", "zskd", "x", 2000, 1, 62.0, wall=30.0), run("budget", "zskd", "x", 2000, 0, 60.0),
            run("budget", "noise", "x", 1000, 0, 40.0), run("budget", "zskd", "x", 1000, 0, 55.0),
            run("augment", "zskd", "x", 2000, 0, 99.0)]
    rows = stats.summarize(runs, "budget")
    assert [(r["set"], r["steps"]) for r in rows] == [("noise", 1000), ("zskd", 1000), ("zskd", 2000)]
    two = rows[-1]
    assert two["seeds"] == 2 and two["per_seed_test"] == [60.0, 62.0]  # seed order, not file order
    assert two["test_acc"] == 61.0 and two["test_acc_sd"] == pytest.approx(1.41, abs=0.01)
    assert two["wall_s"] == 20.0 and two["protocol"] == {"steps": 2000}
    assert stats.summarize(runs, "optimise") == []


# ------------------------------------------------------------------------------------------- worth_real_images
def test_worth_real_images_interpolates_on_the_log_scale():
    r = stats.worth_real_images(83.0, YARD)  # halfway from 80 to 86: halfway from log 100 to log 1000
    assert r["n"] == round(math.sqrt(100 * 1_000))
    assert not r["below"] and not r["above"]
    assert stats.worth_real_images(86.0, YARD)["n"] == 1_000
    assert stats.worth_real_images(87.0, YARD)["n"] == round(math.sqrt(1_000 * 10_000))


def test_worth_real_images_band_brackets_the_mean():
    r = stats.worth_real_images(85.0, YARD)
    assert r["low"] < r["n"] < r["high"]


def test_worth_real_images_outside_the_curve():
    below = stats.worth_real_images(60.0, YARD)
    assert below["below"] and below["n"] is None
    above = stats.worth_real_images(95.0, YARD)
    assert above["above"] and above["n"] is None


@pytest.mark.parametrize("acc", [-1.0, 101.0, float("nan"), "80"])
def test_worth_real_images_rejects_bad_accuracy(acc):
    with pytest.raises(ValueError, match="acc"):
        stats.worth_real_images(acc, YARD)


def test_worth_real_images_rejects_bad_yardstick():
    with pytest.raises(ValueError, match="two points"):
        stats.worth_real_images(80.0, {"points": YARD["points"][:1]})
    with pytest.raises(ValueError, match="increase"):
        stats.worth_real_images(80.0, {"points": YARD["points"][::-1]})


def test_the_committed_yardstick_reads_a_number():
    rec = records.yardstick()
    ns = [p["n"] for p in rec["points"]]
    assert ns == sorted(ns) and len(ns) >= 6
    assert all(len(p["per_seed"]) >= 3 for p in rec["points"])
    mid = (rec["points"][2]["mean"] + rec["points"][3]["mean"]) / 2
    r = stats.worth_real_images(mid, rec)
    assert rec["points"][2]["n"] <= r["n"] <= rec["points"][3]["n"]


def test_the_lever_table_pairs_each_lever_with_its_recipe_on_the_same_seeds():
    run = lambda lever, seed, acc, budget=5_000: {"recipe": "zskd", "budget": budget, "lever": lever, "seed": seed,
                                                  "val_acc": acc}
    runs = [run("as the yardstick", s, a) for s, a in ((0, 70.0), (1, 72.0), (2, 71.0))]
    runs += [run("cutmix", s, a) for s, a in ((0, 74.0), (1, 75.0))]  # seed 2 not run: paired on 0 and 1
    runs += [run("as the yardstick", 0, 80.0, "recipe")]
    t = stats.lever_table(runs)
    row = t.loc[("zskd", "5,000", "cutmix")]
    assert row["seeds"] == 2 and row["mean ± sd"] == "74.50 ± 0.71" and row["paired difference"] == "+3.50"
    assert float(row["p"]) == pytest.approx(sps.ttest_rel([74, 75], [70, 72]).pvalue, abs=1e-3)
    assert t.loc[("zskd", "5,000", "as the yardstick")]["paired difference"] == "–"
    assert t.loc[("zskd", "recipe", "as the recipe")]["mean ± sd"] == "80.00"
    with pytest.raises(ValueError, match="got none"):
        stats.lever_table([])


def test_a_pooled_lever_pairs_every_recipe_and_seed_with_its_baseline():
    runs = [{"recipe": rc, "budget": 5_000, "lever": lv, "seed": s, "val_acc": a}
            for rc, lv, s, a in (("a", "as the yardstick", 0, 70.0), ("a", "cutmix", 0, 73.0),
                                 ("b", "as the yardstick", 0, 60.0), ("b", "cutmix", 0, 62.0),
                                 ("b", "as the yardstick", 1, 61.0), ("b", "cutmix", 1, 65.0))]
    c = stats.pooled_lever(runs, "cutmix")
    assert c.n == (3, 3) and c.paired and c.diff == pytest.approx(3.0)
    assert c.p == pytest.approx(sps.ttest_rel([73, 62, 65], [70, 60, 61]).pvalue)
    with pytest.raises(ValueError, match="no run of 'mixup'"):
        stats.pooled_lever(runs, "mixup")
