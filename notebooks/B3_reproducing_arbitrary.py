# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     notebook_metadata_filter: kernelspec,jupytext,-jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Appendix B.3. Reproducing the arbitrary transfer sets (chapter 3)
#
# {doc}`03_arbitrary_transfer_sets` teaches Algorithm 1 of Nayak, Mopuri and Chakraborty
# {cite}`nayak2021arbitrary`: keep an arbitrary image only while the teacher's class for it has room, then distil
# on the balanced set. The paper's claims, in its Table 1 (Fashion-MNIST column), are that a target-class balanced
# set gives better students than an unbalanced one from the same sources, and that augmentation helps; its
# Table 2 sets its best set beside ZSKD. The chapter shows Table 1's seed means against the paper and one "Paper
# vs this book" table. This page holds the evidence behind them: every row of Table 1 with every seed, the paired
# tests of the paper's two claims, which device ran which seed, and three more levers tried on the same sets.
#
# It only reads records. The sets were made once, from seed 0, at the recipes' size; the record
# `results/runs/arbitrary-ablations.json` keeps each set's composition and SHA-256 digest, and a set made again is
# checked against the digest before its students count. The students were run by the lab's runner, which appends
# every finished student, with the device that ran it, to a runs file; the lab's commands (`RUNBOOK.md`):
#
# ```bash
# # Table 1: every set, its students from seeds 0, 1, 2 (resumable; hours of computing)
# python -m dfkd_book.experiments.ablation arbitrary --out runs/arb --workers 2
# # the summary results/runs/arbitrary-ablations.json, from the runs
# python -m dfkd_book.experiments.ablation arbitrary --out runs/arb --record
# # the levers, on the study's own sets (reuses runs/arb/made.pt)
# python -m dfkd_book.experiments.ablation arbitrary-levers --out runs/arb \
#     --levers "best set, 40k steps"
# ```
#
# Each run file's lines are then appended to the committed one (`results/runs/arbitrary-ablations.jsonl`,
# `results/runs/arbitrary-levers.jsonl`).

# %% tags=["remove-cell"]
# On Colab: install this book's package and nothing else (never PyTorch:
# Colab's own is kept; none of the tools that build the book), and switch on
# Colab's widget manager so that progress bars and explorers show.
import sys

if "google.colab" in sys.modules:
    # %pip install -q kornia
    # %pip install -q --no-deps "dfkd-book @ git+https://github.com/dfkd-book/dfkd-book"
    from google.colab import output

    output.enable_custom_widget_manager()

# %%
from collections import Counter

import matplotlib.pyplot as plt
import pandas as pd
from dfkd_book import chapters, plot, records, stats

chapter = chapters.setup("B3_reproducing_arbitrary")
pd.set_option("display.max_colwidth", None)  # whole labels in tables
abl = records.load_summary("arbitrary-ablations")
abl_rows = {r["label"]: r for r in abl["rows"]}
study_runs = records.load_runs("arbitrary-ablations")
lever_runs = records.load_runs("arbitrary-levers")
# the record's families, in its order; the paper's are those with rows
# without augmentation
FAMILIES = tuple(
    dict.fromkeys(r["group"] for r in abl["rows"] if r["group"] != "best")
)
PAPER_FAMILIES = tuple(
    f for f in FAMILIES if f"{f}, balanced, without augmentation" in abl_rows
)
print(
    f"{abl['source']}: {len(abl['rows'])} rows, {len(study_runs)} students; "
    f"{len(lever_runs)} students of the levers"
)

# %% [markdown]
# ## The sets
#
# Every student of a row distils the same set; the seed varies only the student. Each set's digest identifies
# its exact images (the chapter's table of the sets shows how each balanced set was composed):

# %%
pd.DataFrame(
    {
        name: {
            "images": s["n"],
            "made from seed": s["seed"],
            "balanced": s["settings"].get("balanced"),
            "max. candidates per source": s["settings"].get("max_candidates"),
            "SHA-256 (first 16)": s["sha256"][:16],
        }
        for name, s in abl["sets"].items()
    }
).T

# %% [markdown]
# ## Table 1: every row, every seed
#
# The paper's Table 1 (Fashion-MNIST column) has twelve cells; this book adds multi-scale noise and its best set
# (every offline source), each row a student of the recipe's budget: the rows that carry the paper's claim (with
# augmentation) and the best set from three seeds, the others from one (the table says how many). The seed varies
# the student's initial weights, its batch order and its augmentation draws; the sets stay the same.

# %%
print(
    f"{len(abl['rows'])} rows recorded, each student "
    f"{abl['rows'][0]['protocol']['steps']:,} steps"
    + (
        ""
        if abl["complete"]
        else "; the study is still running: "
        f"rows not yet run: {abl['pending'] or 'none'}; "
        "rows short of their planned seeds say so ('1 of 3')"
    )
)
assert len({r["protocol"]["steps"] for r in abl["rows"]}) == 1
records.study_table(abl)

# %%
fig = plot.ablation(
    abl, title="Table 1 (Fashion-MNIST): students on arbitrary sets"
)

# %% [markdown]
# ## The paper's two claims, tested
#
# Does the balanced set beat the unbalanced one (with augmentation), family by family, and does augmentation
# help? Two rows run from the same seed share the student's initial weights, its batch order and its augmentation
# draws, so `stats.contrast` compares them seed by seed (a *paired* test: the mean of the per-seed differences and
# its standard error), and calls a difference beyond the seeds' noise only when a t-test at the 5 % level says so
# (the book's one rule, printed with n and p). With three seeds that takes a difference of more than four standard
# errors; one seed alone gives no noise estimate at all.

# %%
def compare(a, b, what):
    """stats.contrast when both rows are in the record."""
    if a in abl_rows and b in abl_rows:
        return stats.contrast(abl, a, b, what)
    print(f"{what}: not run yet")
    return None


verdicts = {}
for fam in FAMILIES:
    verdicts[fam] = compare(
        f"{fam}, balanced, with augmentation",
        f"{fam}, unbalanced, with augmentation",
        f"{fam:>17}: balanced > unbalanced",
    )
for fam in PAPER_FAMILIES:
    for kind in ("unbalanced", "balanced"):
        compare(
            f"{fam}, {kind}, with augmentation",
            f"{fam}, {kind}, without augmentation",
            f"{fam:>17}, {kind}: augmentation helps",
        )

# %%
held = [f for f, v in verdicts.items() if v is not None and v.diff > 0]
beyond = [f for f, v in verdicts.items() if v is not None and v.significant]
print(
    f"balanced > unbalanced on the seed means: {', '.join(held) or 'none'}; "
    f"beyond the seeds' noise: {', '.join(beyond) or 'none'}"
)

# %% [markdown]
# So the record bears the paper's claim out only in direction, and not for uniform noise, whose balanced set gave
# students no better than the unbalanced one although it holds far more of every rare class (the record's counts
# in the chapter's table of the sets; it still falls short of its quota for the footwear classes). Augmentation is
# the larger lever: it lifts the noise and natural-patch students by many times the spread of their seeds
# (untested by the one rule: the rows without augmentation ran one seed); the balanced shapes are the exception,
# their one student without it above the mean of the three with it.
#
# Each row's spread over seeds is several points, as wide as the gaps the paper's claim is about. The paired
# comparisons are sharper than those spreads suggest, because much of a seed's luck is shared by every set it
# distils: the table below lays each row's students out by seed (the last line is the mean of each seed over these
# rows; each column header names the device that ran it).

# %%
multi = [r for r in abl["rows"] if r["seeds"] > 1]
per_seed = pd.DataFrame(
    {r["label"]: dict(zip(r["seed_ids"], r["per_seed_test"])) for r in multi}
).T
per_seed.loc["mean of each seed over these rows"] = per_seed.mean()
devices = {
    s: sorted(
        {
            d
            for r in multi
            for i, d in zip(r["seed_ids"], r.get("per_seed_device", []))
            if i == s
        }
    )
    for s in per_seed.columns
}
per_seed.columns = [
    f"seed {s} ({', '.join(devices[s]) or '?'})" for s in per_seed.columns
]
per_seed.round(2)

# %% [markdown]
# ## Which device ran which seed
#
# The study was run in two places: seed 0 of the rows on CPU threads, seeds 1 and 2 on a GPU. The runs file keeps
# the device of every student; the count of students by seed and device, and the rows whose seed 0 did not run
# where the others' did:

# %%
by_device = Counter((r["seed"], r["device"]) for r in study_runs)
print(
    pd.Series(by_device, name="students")
    .rename_axis(["seed", "device"])
    .sort_index()
    .to_frame()
    .to_string()
)
seed0 = Counter(r["device"] for r in study_runs if r["seed"] == 0)
usual = seed0.most_common(1)[0][0]
print(
    f"seed 0 ran on {usual} except for: "
    + (
        ", ".join(
            f"{r['label']} ({r['device']})"
            for r in study_runs
            if r["seed"] == 0 and r["device"] != usual
        )
        or "no row"
    )
)

# %% [markdown]
# Device and seed go together here, so a difference between seeds could also be a difference between devices
# (the seed means above: seed 0 is the highest). One lever below runs seed 1 again on the other device to see how
# far the same seed lands when only the device, and with it the augmentation draws, changes.

# %% [markdown]
# ## What else was tried
#
# Three levers were measured on the Table 1 record's own sets, each changing one thing of a Table 1 row and run
# from that row's seeds, so that each lever's student is paired with the row's student of the same seed: twice
# the student's budget, a balanced noise set run on until every class holds its quota (the record's stops at its
# `max_candidates`), and the same seed run again on the other device (seed 1's students in the record ran on a
# GPU). The runs are in `results/runs/arbitrary-levers.jsonl`; each row below is a lever, with the Table 1 row it
# changes on the same seeds beside it.

# %%
noise_bal = "noise, balanced, with augmentation"
best_row = next(r["label"] for r in abl["rows"] if r["group"] == "best")
# the Table 1 row each lever changes: the row whose set it starts from
CHANGES = {
    "noise, balanced": noise_bal,
    "noise, balanced, filled": noise_bal,
    "best": best_row,
}
unknown = {r["set"] for r in lever_runs} - set(CHANGES)
assert not unknown, f"levers on sets this cell does not know: {unknown}"


def lever_groups(runs):
    """Lever label → (its Table 1 row, its runs sorted by seed)."""
    groups = {}
    for r in runs:
        groups.setdefault(r["label"], []).append(r)
    return {
        label: (
            abl_rows[CHANGES[rs[0]["set"]]],
            sorted(rs, key=lambda r: r["seed"]),
        )
        for label, rs in groups.items()
    }


def shown(label):
    """A lever's label as the tables show it."""
    return label.replace(", as the study", ": the same seed again")


def lever_table(runs):
    out = []
    for label, (base, rs) in lever_groups(runs).items():
        at = dict(zip(base["seed_ids"], base["per_seed_test"]))
        on = dict(zip(base["seed_ids"], base["per_seed_device"]))
        diffs = [r["test_acc"] - at[r["seed"]] for r in rs]
        # the one rule: a paired t-test over the seeds both sides ran
        c = stats.compare(
            [r["test_acc"] for r in rs],
            [at[r["seed"]] for r in rs],
            paired=True,
        )
        m, sd = stats.mean_sd(diffs)
        out.append(
            {
                "lever": shown(label),
                "Table 1 row": base["label"],
                "seeds": ", ".join(str(r["seed"]) for r in rs),
                "student steps": f"{rs[0]['protocol']['steps']:,}",
                "Table 1 row, per seed (device)": ", ".join(
                    f"{at[r['seed']]:.2f} ({on[r['seed']]})" for r in rs
                ),
                "with the lever, per seed (device)": ", ".join(
                    f"{r['test_acc']:.2f} ({r['device']})" for r in rs
                ),
                "difference, mean ± sd": f"{m:+.2f}"
                + (f" ± {sd:.2f}" if len(diffs) > 1 else " (one seed)"),
                "lever vs row (stats.compare)": str(c),
            }
        )
    return (
        pd.DataFrame(out)
        .sort_values(["Table 1 row", "lever"])
        .set_index("lever")
    )


filled = next((r["set_record"] for r in lever_runs if "set_record" in r), None)
if filled is not None:
    c = filled["composition"]["noise"]
    print(
        f"the filled balanced noise set: "
        f"{sum(c['kept_per_source'].values()):,} images, per class "
        f"{c['counts']}, shortfall {c['shortfall']}; "
        f"{c['classified']:,} candidates examined at "
        f"{c['candidates_per_s']:,}/s ({c['seconds']:,.0f} s, one CPU thread)"
    )
levers = lever_table(lever_runs)
levers

# %% [markdown]
# Each lever's students against its Table 1 row's, seed by seed (a line joins the two students of one seed):

# %%
groups = lever_groups(lever_runs)
order = sorted(groups, reverse=True)
fig, ax = plt.subplots(figsize=(8, 0.6 * len(groups) + 1.2))
for y, label in enumerate(order):
    base, rs = groups[label]
    at = dict(zip(base["seed_ids"], base["per_seed_test"]))
    for r in rs:
        color = f"C{r['seed']}"
        ax.plot([at[r["seed"]], r["test_acc"]], [y, y], color=color, alpha=0.4)
        ax.scatter(at[r["seed"]], y, marker="o", facecolor="none", color=color)
        ax.scatter(r["test_acc"], y, marker="o", color=color)
ax.set_yticks(range(len(order)), [shown(g) for g in order], fontsize=8)
for s in sorted({r["seed"] for r in lever_runs}):
    ax.scatter([], [], color=f"C{s}", label=f"seed {s}")
ax.scatter([], [], marker="o", facecolor="none", color="k", label="Table 1 row")
ax.scatter([], [], marker="o", color="k", label="with the lever")
ax.set(
    xlabel="student test accuracy (%)",
    title="levers on Table 1's sets, paired by seed",
)
ax.grid(axis="x", alpha=0.3)
ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
fig.tight_layout()

# %% [markdown]
# Twice the budget moves neither row by as much as a point on the mean: the best set's students had converged,
# and balanced noise's small gains on two seeds are undone by the third. Filling the noise set to its quota, the
# lever the paper's balanced row points to, gives a *worse* student on every one of the three seeds: on uniform
# noise, the more balanced the set, the lower the student, the direction of the Table 1 contrast above (three
# seeds are still too few for a paired test to call the drop beyond their noise). Why, this book has not
# measured. The two rows of one seed are a reminder of the size of that noise: the same seed run again on the
# other device, with other augmentation draws, lands several points away, in either direction.

# %% [markdown]
# ## What this page found
#
# * **Balancing helps only in direction.** With augmentation, the balanced set's seed mean is above the unbalanced
#   one's for the synthetic and natural families and for multi-scale noise, but no paired test finds the gain
#   beyond the seeds' noise, and for uniform noise the balanced set is no better at all.
# * **Augmentation is the larger lever** for noise and natural patches, by many times the seeds' spread; the rows
#   without it ran one seed, so the one rule leaves that untested.
# * **Seeds land far apart**, and a seed's luck is shared by every set it distils, which is why the tests pair
#   the seeds. Seed and device go together in this study; the same seed run again on the other device lands
#   several points away.
# * **More budget and a filled noise set do not help**: twice the steps leaves both rows where they were, and
#   balanced noise filled to its quota gave a worse student on every seed (within the seeds' noise).
