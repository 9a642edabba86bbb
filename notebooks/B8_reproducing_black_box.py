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
# # Appendix B.8. Reproducing the black-box methods (chapter 8)
#
# Chapter 8 ({doc}`08_black_box_teachers`) runs DFME (Truong et al., 2021) and IDEAL (Zhang et al., 2023) with the
# teacher behind an API, and measures what the API's defences cost. This page holds the evidence:
#
# 1. **What the book read into each paper**: every setting comes from the official code; where the book departs
#    from it, the table below says how and why.
# 2. **The recipes' students** from three seeds or more on the validation split, with the test accuracy beside,
#    and their learning curves against teacher queries.
# 3. **The official settings, measured**: settings where a recipe departs from the official code, and larger
#    budgets — each recipe's doubled, IDEAL's at the papers' own 50,000 images — each run on the same seeds as the
#    recipe.
#
# The page only reads records; it trains nothing. The runs were made with
#
# ```bash
# python -m dfkd_book.experiments.levers blackbox --out OUT.jsonl --seeds 0 1 2 \
#     --labels dfme ideal "dfme, student lr 0.1 (the official)" \
#     "dfme, a logits API" "ideal, 120 rounds"
# python -m dfkd_book.experiments.levers blackbox --out OUT.jsonl --seeds 3 4 \
#     --labels dfme "dfme, student lr 0.1 (the official)" "dfme, 6,000 steps"
# python -m dfkd_book.experiments.levers blackbox --out OUT.jsonl --seeds 0 1 2 \
#     --labels "ideal, 200 rounds (the official 50,000 queries)" "dfme, 6,000 steps" \
#     "ideal, a constant learning rate (the official)"
# python -m dfkd_book.experiments.levers blackbox --out OUT.jsonl --seeds 0 1 2 \
#     --labels "ideal, a constant learning rate, 200 rounds" \
#     "dfme, generator width 128 (the official)" \
#     "ideal, generator width 128 (the official)"
# ```
#
# and the defences of chapter 8 by the generalisation study of {doc}`A1_student_protocol`
# (`levers generalise --labels "arbitrary-best: API, ..."`).

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
import matplotlib.pyplot as plt
import pandas as pd
from dfkd_book import chapters, records, stats
from dfkd_book.methods import blackbox as bb

chapter = chapters.setup("B8_reproducing_black_box")

# %% [markdown]
# ## What the book read into the papers
#
# Neither official code has a Fashion-MNIST path, and the papers' bodies give fewer settings than the code; the
# book takes the code's, with these readings:

# %%
pd.set_option("display.max_colwidth", None)
reading = pd.Series(bb.READING, name="the book's reading")
reading.rename_axis("setting").to_frame()

# %% [markdown]
# Two departures are the book's own: the generators are a quarter as wide (width 32 against 128), so that a
# chapter runs on a laptop, and DFME's student learns at 0.01, not the official 0.1, for its stability (measured
# below). At the official width one DFME run takes {glue:text}`b8_width_min` of one CPU core (measured below).
# IDEAL's official student keeps a constant learning rate; the book's loop decays it on a cosine, as for every
# student (measured below).
#
# ## The recipes' students
#
# Each run is a fresh student and a fresh generator from its seed; accuracy in %, the validation split (what
# recipes are chosen on) and the test split (what the chapter reports), mean ± sd over the seeds that ran.

# %%
runs = records.load_runs("blackbox")


def recipe_and_lever(label):
    """'dfme, 6,000 steps' -> ('dfme', '6,000 steps');
    a recipe's own label -> (it, 'as the recipe')."""
    recipe, _, lever = label.partition(", ")
    return recipe, lever or "as the recipe"


def minutes_range(rs):
    """The runs' training times, fastest to slowest, in minutes of one
    CPU core (they shared the machine with other runs, so they vary)."""
    lo, hi = (f(r["train_s"] for r in rs) / 60 for f in (min, max))
    return f"{lo:.0f}–{hi:.0f}"


by_label = {}
for r in runs:
    by_label.setdefault(r["label"], []).append(r)
recipes_alone = ("dfme", "ideal")
rows = []
for label in recipes_alone:
    rs = by_label[label]
    rows.append(
        {
            "recipe": label,
            "seeds": len(rs),
            "validation %": stats.mean_sd_text([r["val_acc"] for r in rs]),
            "test %": stats.mean_sd_text([r["test_acc"] for r in rs]),
            "student steps": f"{rs[0]['steps']:,}",
            "teacher queries": f"{rs[0]['teacher_queries']['forward']:,}",
            "minutes per run": minutes_range(rs),
        }
    )
pd.DataFrame(rows).set_index("recipe")

# %% [markdown]
# The learning curves on the validation split, against the teacher queries spent so far, one line per seed; dashed,
# each recipe with its budget doubled; dotted, IDEAL at the official constant learning rate; dash-dotted, IDEAL with
# both, the official rate and the official 50,000 queries (all measured in the last section):

# %%
doubled = {
    "dfme": "dfme, 6,000 steps",
    "ideal": "ideal, 200 rounds (the official 50,000 queries)",
}
dotted = {"ideal": "ideal, a constant learning rate (the official)"}
both = {"ideal": "ideal, a constant learning rate, 200 rounds"}
fig, ax = plt.subplots(figsize=(10, 4))
for r in runs:
    for recipe in recipes_alone:
        ls = {
            recipe: "-",
            doubled[recipe]: "--",
            dotted.get(recipe): ":",
            both.get(recipe): "-.",
        }
        if r["label"] not in ls:
            continue
        c = r["curve"]
        ax.plot(
            c["teacher_forward"],
            c["val_acc"],
            color=f"C{recipes_alone.index(recipe)}",
            ls=ls[r["label"]],
            alpha=0.8,
            label=r["label"] if r["seed"] == 0 else None,
        )
ax.set_xscale("log")
ax.set_xlabel("teacher queries")
ax.set_ylabel("validation accuracy (%)")
ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
fig.tight_layout()

# %% [markdown]
# ## The official settings, measured
#
# Each row below changes one setting of a recipe to the official code's, or raises its budget, and runs the same
# seeds; the paired difference is against the recipe on those seeds (validation split, points; p from the paired
# t-test of {doc}`A1_student_protocol`).

# %%
SEEDS = 3  # a setting joins the table once this many seeds have run
measured = {lab: rs for lab, rs in by_label.items() if len(rs) >= SEEDS}
as_levers = [
    {
        **r,
        "recipe": recipe_and_lever(r["label"])[0],
        "lever": recipe_and_lever(r["label"])[1],
        "budget": "recipe",
    }
    for r in runs
    if r["label"] in measured
]
official = stats.lever_table(as_levers, baseline="as the recipe").droplevel(
    "student steps"
)
official["test %"] = stats.lever_table(
    as_levers, baseline="as the recipe", metric="test_acc"
)["mean ± sd"].droplevel("student steps")
label_of = {recipe_and_lever(label): label for label in measured}
for key, label in label_of.items():
    rs = by_label[label]
    official.loc[key, "student steps"] = f"{rs[0]['steps']:,}"
    official.loc[key, "teacher queries"] = (
        f"{rs[0]['teacher_queries']['forward']:,}"
    )
official = official.rename(columns={"mean ± sd": "validation %"})
official

# %%
pending = [
    f"{lab} ({len(rs)} so far)"
    for lab, rs in by_label.items()
    if lab not in measured
]
print(
    f"settings with fewer than {SEEDS} seeds, not in the table:",
    "; ".join(pending) or "none",
)

# %% [markdown]
# Every seed's final student, one dot each, the recipe's mean as a dashed line across its rows:

# %%
fig, ax = plt.subplots(figsize=(8, 0.45 * len(official) + 1))
names = [f"{recipe}: {lever}" for recipe, lever in official.index]
for i, (recipe, lever) in enumerate(official.index):
    rs = by_label[label_of[(recipe, lever)]]
    ax.plot(
        [r["val_acc"] for r in rs],
        [i] * len(rs),
        "o",
        color=f"C{recipes_alone.index(recipe)}",
        alpha=0.8,
    )
    if lever == "as the recipe":
        rows_of = [
            j for j, (rc, _) in enumerate(official.index) if rc == recipe
        ]
        ax.vlines(
            sum(r["val_acc"] for r in rs) / len(rs),
            min(rows_of) - 0.4,
            max(rows_of) + 0.4,
            color=f"C{recipes_alone.index(recipe)}",
            lw=0.8,
            ls="--",
        )
ax.set_yticks(range(len(names)), names)
ax.invert_yaxis()
ax.set_xlabel("validation accuracy of the final student (%)")
fig.tight_layout()


# %% tags=["hide-input"]
def lever_text(recipe, lever):
    row = official.loc[(recipe, lever)]
    return (
        f"{row['validation %']} % ({row['paired difference']} points, "
        f"p = {row['p']}, {row['seeds']} seed{'s' if row['seeds'] > 1 else ''})"
    )


lr = by_label["dfme, student lr 0.1 (the official)"]
chance = [r for r in lr if r["val_acc"] < 12]  # 10 classes: one class for all
chapters.glue(
    "b8_dfme", f"{official.loc[('dfme', 'as the recipe'), 'validation %']} %"
)
chapters.glue("b8_dfme_lr", lever_text("dfme", "student lr 0.1 (the official)"))
chapters.glue("b8_dfme_lr_chance", f"{len(chance)} of its {len(lr)} seeds")
chapters.glue("b8_dfme_lr_best", f"{max(r['val_acc'] for r in lr):.2f} %")
chapters.glue("b8_dfme_logits", lever_text("dfme", "a logits API"))
chapters.glue("b8_ideal_rounds", lever_text("ideal", "120 rounds"))
OFFICIAL_IDEAL = recipe_and_lever(doubled["ideal"])[1]
chapters.glue("b8_ideal_official", lever_text("ideal", OFFICIAL_IDEAL))
chapters.glue(
    "b8_ideal_official_test",
    f"{official.loc[('ideal', OFFICIAL_IDEAL), 'test %']} %",
)


def minutes(rs):
    return f"{sum(r['train_s'] for r in rs) / len(rs) / 60:.0f} minutes"


chapters.glue("b8_ideal_official_min", minutes(by_label[doubled["ideal"]]))
chapters.glue("b8_dfme_steps", lever_text("dfme", "6,000 steps"))
CONSTANT = "a constant learning rate (the official)"
chapters.glue("b8_ideal_constant", lever_text("ideal", CONSTANT))
chapters.glue(
    "b8_ideal_constant_test", f"{official.loc[('ideal', CONSTANT), 'test %']} %"
)
chapters.glue(
    "b8_ideal", f"{official.loc[('ideal', 'as the recipe'), 'validation %']} %"
)


def gains(label, recipe):
    """The lever's validation accuracy minus the recipe's, seed by seed."""
    at = {r["seed"]: r["val_acc"] for r in by_label[recipe]}
    return [r["val_acc"] - at[r["seed"]] for r in by_label[label]]


BOTH = recipe_and_lever(both["ideal"])[1]
chapters.glue("b8_ideal_both", lever_text("ideal", BOTH))
chapters.glue(
    "b8_ideal_both_test", f"{official.loc[('ideal', BOTH), 'test %']} %"
)


both_vs_cosine = stats.pooled_lever(
    as_levers, BOTH, baseline=OFFICIAL_IDEAL, budget="recipe"
)
both_gain = gains(both["ideal"], doubled["ideal"])
chapters.glue(
    "b8_ideal_both_up",
    f"{sum(g > 0 for g in both_gain)} of its {len(both_gain)} seeds",
)
chapters.glue(
    "b8_ideal_both_vs",
    f"{both_vs_cosine.diff:+.2f} points (p = {both_vs_cosine.p:.3f}, "
    f"{both_vs_cosine.n[0]} seeds), {both_vs_cosine.verdict}",
)

WIDE = "dfme, generator width 128 (the official)"
wide = by_label[WIDE]
chapters.glue("b8_width_min", minutes(wide))
chapters.glue("b8_dfme_min", minutes(by_label["dfme"]))
chapters.glue("b8_dfme_width", lever_text(*recipe_and_lever(WIDE)))
width_gain = gains(WIDE, "dfme")
chapters.glue(
    "b8_dfme_width_up",
    f"{sum(g > 0 for g in width_gain)} of its {len(width_gain)} seeds",
)

WIDE_IDEAL = "ideal, generator width 128 (the official)"
chapters.glue("b8_ideal_width", lever_text(*recipe_and_lever(WIDE_IDEAL)))
chapters.glue(
    "b8_ideal_width_test",
    f"{official.loc[recipe_and_lever(WIDE_IDEAL), 'test %']} %",
)
ideal_width_gain = gains(WIDE_IDEAL, "ideal")
chapters.glue(
    "b8_ideal_width_up",
    f"{sum(g > 0 for g in ideal_width_gain)} of its "
    f"{len(ideal_width_gain)} seeds",
)
chapters.glue("b8_ideal_width_min", minutes(by_label[WIDE_IDEAL]))
chapters.glue("b8_ideal_min", minutes(by_label["ideal"]))


rounds_gain = gains("ideal, 120 rounds", "ideal")
constant_gain = gains(f"ideal, {CONSTANT}", "ideal")
official_gain = gains(doubled["ideal"], "ideal")
steps_gain = gains(doubled["dfme"], "dfme")
chapters.glue(
    "b8_ideal_constant_up",
    f"{sum(g > 0 for g in constant_gain)} of its {len(constant_gain)} seeds",
)
chapters.glue(
    "b8_dfme_steps_up",
    f"{sum(g > 0 for g in steps_gain)} of its {len(steps_gain)} seeds",
)

# %% [markdown]
# At the official learning rate DFME's students spread far wider — {glue:text}`b8_dfme_lr` against the
# recipe's {glue:text}`b8_dfme` — from {glue:text}`b8_dfme_lr_best`, above every other DFME run on this page,
# down to chance: {glue:text}`b8_dfme_lr_chance` ended there, telling the ten classes apart no better than a
# guess. The mean is no better within the seeds' noise, so the recipe keeps 0.01. An API answering logits, DFME's
# own setting, changes nothing that three seeds can see ({glue:text}`b8_dfme_logits`): the book's DFME distils
# log p minus its mean over the classes, which *is* the logits minus theirs; only the floor at 10⁻⁸ under the
# probabilities, where the teacher is surest, tells the two apart.
#
# IDEAL's official constant learning rate gives {glue:text}`b8_ideal_constant` against the recipe's cosine at
# {glue:text}`b8_ideal`, better on {glue:text}`b8_ideal_constant_up`, and {glue:text}`b8_ideal_constant_test` on
# the test split. A likely reason, not measured apart: the cosine brings the rate near zero in the last rounds,
# just as the pool is largest and its newest images arrive. The leaderboard's records are one run of every
# recipe, made with the cosine, so the recipe keeps it until that run is repeated; a reader training IDEAL should
# pass `schedule="constant"`.
#
# More rounds help IDEAL on every seed. 120 rounds instead of 100 — 1.2 × the queries, 1.44 × the student's
# steps — give {glue:text}`b8_ideal_rounds`, within the seeds' noise. Twice the rounds, the papers' own 50,000
# images and 20,100 student steps (about their 100 epochs of 200 batches), give {glue:text}`b8_ideal_official`,
# and {glue:text}`b8_ideal_official_test` on the test split. By the book's rule — a budget is enough when
# doubling it adds less than a point — IDEAL's recipe stops well short of enough: its students are still learning
# at 25,000 queries, and part of the distance to the papers' numbers is budget. The recipe keeps 100 rounds so
# that chapter 8 runs on a laptop (a run at 200 rounds takes {glue:text}`b8_ideal_official_min` of one CPU core);
# whether 200 rounds are enough would take 400, not measured here.
#
# The two official settings together — the constant rate and the 50,000 images — give {glue:text}`b8_ideal_both`
# against the recipe, and {glue:text}`b8_ideal_both_test` on the test split: the best hard-label students on this
# page on average. But against the cosine at the same 200 rounds the constant rate adds only
# {glue:text}`b8_ideal_both_vs`, better on {glue:text}`b8_ideal_both_up`: at twice the rounds, the clear gain it
# gave at 100 is not one that three seeds can see, and the two settings' gains do not simply add up. Both leave
# IDEAL far below the papers' numbers (chapter 8 sets them side by side).
#
# IDEAL's generator at the official width, four times as wide, gives {glue:text}`b8_ideal_width`, better on
# {glue:text}`b8_ideal_width_up`, and {glue:text}`b8_ideal_width_test` on the test split — at the recipe's 25,000
# queries, since the generator is trained against the student alone and costs no query. Every seed gained, but by
# amounts that differ too much for three seeds to call the gain beyond their noise. The width costs time instead:
# {glue:text}`b8_ideal_width_min` of one CPU core a run against the recipe's {glue:text}`b8_ideal_min`, because
# every round trains the wider generator afresh. Its three students stay below those of the two settings above
# at twice the queries. The official width, the official rate and the 50,000 images together, the papers' whole
# setting, were not run: twice the rounds of the wide generator, so about twice its time a run.
#
# DFME's budget doubled — 6,000 student steps, twice the queries — gives {glue:text}`b8_dfme_steps`, better on
# {glue:text}`b8_dfme_steps_up`. That is more than a point on average, so by the rule the recipe's 3,000 steps are
# not shown to be enough; but the gain is within the seeds' noise, and one seed lost.
#
# DFME's generator at the official width, four times as wide, gives {glue:text}`b8_dfme_width`, better on
# {glue:text}`b8_dfme_width_up`, and its three students lie closer together than the recipe's five; the gain is
# within the seeds' noise, at {glue:text}`b8_width_min` a run against the recipe's {glue:text}`b8_dfme_min`.
#
# Both recipes keep their budgets so that chapter 8 runs in half an hour on a laptop; the doubled students are
# what this page offers a reader with more time.

# %% tags=["remove-cell"]
assert {r["label"] for r in runs} >= {"dfme", "ideal"}
assert all(r["teacher_queries"]["backward"] == 0 for r in runs)
# the prose: the official lr, a logits API and 120 rounds are within the
# seeds' noise; 120 rounds gain on every seed
assert official.loc[("dfme", "student lr 0.1 (the official)"), "p"] != "–"
assert (
    float(official.loc[("dfme", "student lr 0.1 (the official)"), "p"]) >= 0.05
)
assert float(official.loc[("dfme", "a logits API"), "p"]) >= 0.05
assert max(r["val_acc"] for r in lr) == max(
    r["val_acc"] for r in runs if r["label"].startswith("dfme")
)
assert float(official.loc[("ideal", "120 rounds"), "p"]) >= 0.05
# the official constant rate: better on every seed, beyond the noise
assert len(constant_gain) >= 3 and min(constant_gain) > 0
assert float(official.loc[("ideal", CONSTANT), "p"]) < 0.05
assert len(rounds_gain) >= 3 and min(rounds_gain) > 0
# the official 50,000 queries: a gain on every seed, of more than a point
assert len(official_gain) >= 3 and min(official_gain) > 0
assert sum(official_gain) / len(official_gain) >= 1
# both official settings: the best hard-label students on the page on
# average; the constant rate's gain over the cosine at 200 rounds is within
# the noise and not on every seed
ideal_means = {
    lab: sum(r["val_acc"] for r in rs) / len(rs)
    for lab, rs in measured.items()
    if lab.startswith("ideal")
}
assert max(ideal_means, key=ideal_means.get) == both["ideal"]
assert both_vs_cosine.diff > 0 and not both_vs_cosine.significant
assert min(both_gain) < 0 < max(both_gain)
# DFME's official width: better on every seed, within the noise, and a
# smaller spread than the recipe's
assert len(width_gain) >= 3 and min(width_gain) > 0
assert float(official.loc[recipe_and_lever(WIDE), "p"]) >= 0.05
assert (
    stats.mean_sd([r["val_acc"] for r in wide])[1]
    < stats.mean_sd([r["val_acc"] for r in by_label["dfme"]])[1]
)
# IDEAL's official width: better on every seed, within the noise; below the
# two settings at 200 rounds
assert len(ideal_width_gain) >= 3 and min(ideal_width_gain) > 0
assert float(official.loc[recipe_and_lever(WIDE_IDEAL), "p"]) >= 0.05
assert ideal_means[WIDE_IDEAL] < min(
    ideal_means[doubled["ideal"]], ideal_means[both["ideal"]]
)
# DFME's doubled budget: more than a point on average, within the noise,
# not on every seed
assert sum(steps_gain) / len(steps_gain) >= 1
assert float(official.loc[("dfme", "6,000 steps"), "p"]) >= 0.05
assert min(steps_gain) < 0 < max(steps_gain)
chapter.passed()
