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
# # Appendix B.2. Reproducing zero-shot KD with data impressions (chapter 2)
#
# Chapter 2 ({doc}`02_data_impressions`) crafts data impressions from the LeNet-5 teacher alone
# {cite}`nayak2019zskd` and distils LeNet-5-Half on them with the recipe `zskd`. Its paper-vs-book table sets one
# run of the recipe and the book's three-seed record of it beside the paper's Tables 2, 6 and 7. The chapter
# claims that the recipe ends a few points below the paper at a small fraction of the paper's compute; that a
# longer student, more impressions or any other lever tried does not close that gap; and that two of the paper's
# orders do not reproduce. This page holds the evidence, read from records — it trains nothing:
#
# * `results/records/zskd.json`: the recipe from three seeds, chapter 2's headline number;
# * `results/runs/protocol.jsonl`: the student-budget runs of Appendix A's search;
# * `results/runs/zskd-ablations.json`: the paper's ablations (Tables 6 and 7, Figs. 2 and 3), three seeds a row;
# * `results/runs/zskd-levers.jsonl`: the other levers, three seeds each;
# * `results/runs/yardstick.json`: the real-data yardstick.
#
# The lab's commands that make them (`RUNBOOK.md`):
#
# ```bash
# # results/records/zskd.json
# python -m dfkd_book.experiments.bench zskd --seeds 3
# # Appendix A's runs
# python -m dfkd_book.experiments.search final --out runs/search --workers 2
# # results/runs/protocol.json
# python -m dfkd_book.experiments.search record --out runs/search
# # the ablations' students
# python -m dfkd_book.experiments.ablation zskd --out runs/zskd --workers 2
# # results/runs/zskd-ablations.json
# python -m dfkd_book.experiments.ablation zskd --out runs/zskd --record
# ```
#
# The runs of the budget, ablation and lever studies predate the runner's commit stamp (their commit reads
# `unknown`), and the lever runs have no command in `RUNBOOK.md`: every run names the device that made it, and
# the runs made outside the runner say how their transfer set was made (the last section prints both). Every
# "does A beat B?" on this page is the book's one rule, `dfkd_book.stats.compare`: a two-sided t-test at 5 %,
# paired when both sides ran the same seeds of a common-random-numbers design, Welch's otherwise.

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
from dfkd_book import chapters, plot, recipes, records, stats
from dfkd_book.experiments import leaderboard

chapter = chapters.setup("B2_reproducing_zskd")
pd.set_option("display.max_colwidth", None)  # whole labels in tables

# %% [markdown]
# ## The recipe's record
#
# Chapter 2's headline number is the record of `python -m dfkd_book.experiments.bench zskd --seeds 3`: the recipe
# from three seeds, each crafting its own impressions and distilling its own student. Where and when it ran:

# %%
bench_rec = records.load("zskd")
print(
    f"bench record: {bench_rec['seeds']} seeds of the recipe, "
    f"{bench_rec['student_acc']:.2f} ± {bench_rec['student_acc_sd']:.2f} % "
    f"(per seed {bench_rec['per_seed']}), "
    f"{bench_rec['steps']:,} student steps each"
)
print(
    f"made on {leaderboard.where(bench_rec)}, commit "
    f"{bench_rec['commit'][:7]}, {bench_rec['date'][:10]}; "
    f"{bench_rec['wall_s_per_seed']} s per seed, of which crafting "
    f"{bench_rec['synthesis_s_per_seed']} s"
)
print(
    "the paper:",
    recipes.published("zskd", "student").value,
    "% (one number, no seeds)",
)

# %% [markdown]
# ## The student's budget
#
# Under a cosine schedule every curve flattens at its end, whatever the budget, so the curve's shape cannot say
# whether the budget is enough; only a longer run can. The student budget matters more for impressions than for
# any other transfer set in the book. The search behind the recipe (Appendix A) ran this student from three
# seeds at 10,000, 20,000 and 40,000 steps, all at batch 512; its record is printed below. The 10,000-step
# students ran on a CPU, on the search's impressions; the 20,000- and 40,000-step students ran on a GPU, each
# budget on impressions crafted there with the same settings (the last section prints which). The sets differ
# between budgets, so the budgets are compared by Welch's test, not paired over seeds.

# %%
full_student = recipes.get("zskd", "full").student
budget_rows = [
    c
    for c in records.load_summary("protocol")["three_seeds"]["zskd"]
    if c["protocol"]["batch_size"] == full_student.batch_size
    and c["protocol"]["lr"] == full_student.lr
]
for c in sorted(budget_rows, key=lambda c: c["protocol"]["steps"]):
    print(
        f"{c['protocol']['steps']:,} steps at batch "
        f"{c['protocol']['batch_size']}: "
        f"test {c['test_acc']:.2f} ± {c['test_acc_sd']:.2f} % "
        f"(per seed {c['per_seed_test']})"
    )
ref = {c["protocol"]["steps"]: c for c in budget_rows}
for a, b in ((20_000, 10_000), (40_000, 20_000)):
    print(
        f"{a:,} steps against {b:,}:",
        stats.compare(ref[a]["per_seed_test"], ref[b]["per_seed_test"]),
    )

# the validation curves of every seed, one colour per budget
budget_runs = [
    run
    for run in records.load_runs("protocol")
    if run["set"] == "zskd"
    and run["protocol"]["batch_size"] == full_student.batch_size
    and run["protocol"]["lr"] == full_student.lr
]
fig, ax = plt.subplots(figsize=(8.5, 4))
colours = {10_000: "tab:blue", 20_000: "tab:green", 40_000: "tab:red"}
for run in sorted(
    budget_runs, key=lambda r: (r["protocol"]["steps"], r["seed"])
):
    steps = run["protocol"]["steps"]
    ax.plot(
        run["curve"]["step"],
        run["curve"]["val_acc"],
        "o-",
        ms=3,
        color=colours[steps],
        label=f"{steps:,} steps" if run["seed"] == 0 else None,
    )
ax.set(
    xlabel="student step",
    ylabel="validation accuracy (%)",
    title="The recipe's student at three budgets, one line per seed",
)
ax.grid(alpha=0.3)
ax.legend(fontsize=8)
fig.tight_layout()

# %% [markdown]
# The first doubling raised the mean and narrowed the seeds' spread; the second did not raise the mean and
# widened the spread again: the validation curves of the 40,000-step students are flat after about a fifth of
# their steps. Neither difference is beyond three seeds' noise. So the recipe takes 20,000 steps, and the paper's
# far longer schedule is not what this book's impressions lack.
#
# The record of the recipe crafts a fresh set of impressions for every seed, so its spread holds the crafting's
# randomness as well as the student's; the three 20,000-step students of the budget runs shared one set:

# %%
print(
    "the recipe's record against the 20,000-step budget runs:",
    stats.compare(bench_rec["per_seed"], ref[20_000]["per_seed_test"]),
)

# %% [markdown]
# ## Ablations, in the paper's order, over three seeds
#
# One student says little here: the same impressions, distilled into students that differ only in their initial
# weights, batch order and augmentation draws, can end many points apart (the spread is printed below). So the
# paper's ablations were run once outside chapter 2, each from three student seeds, and this page reads their
# record, `results/runs/zskd-ablations.json`. `python -m dfkd_book.experiments.ablation zskd` made every transfer
# set once (seed 0, the recipe's crafting with the row's change) and distilled it with the student protocol of
# the real-data yardstick (Appendix A: 5,000 steps at batch 256, Adam, τ = 20, ZSKD's augmentation unless the row
# says "without"), so that each row can also be read as a number of real images.
#
# * **Augmentation** (Table 6): the same impressions with and without the teacher re-labelling augmented copies.
# * **Uniform prior** (Table 7, without augmentation): concentration all ones, ignoring the class similarity
#   (`methods.DataImpressions(..., prior="uniform")`).
# * **Class impressions** (Fig. 3, without augmentation; {cite:t}`mopuri2018classimpressions`): one-hot targets
#   (`methods.ClassImpressions`).
# * **The paper's crafting** (this book's question): uniform noise in [0, 1] and the teacher seeing the impression
#   itself (no jitter, no affine view), the other settings the recipe's.
# * **β = 1 only**: the targets the official code really drew. Its β bug (chapter 2, Step 2) made every target a
#   β = 1 sample: if the paper's numbers came from that code, they came from the soft half of the mixture alone.

# %%
abl = records.load_summary("zskd-ablations")
abl_rows = {r["label"]: r for r in abl["rows"]}
records.study_table(abl)

# %%
fig = plot.ablation(
    abl,
    groups=("augmentation", "prior", "impressions", "crafting", "targets"),
    title="ZSKD's ablations, 3 student seeds each (yardstick protocol)",
)


# each order: the difference of the seed means and the book's one rule, a
# two-sided t-test at 5 % (paired when the record names the seeds both rows
# ran, Welch's otherwise: this record does not), printed with n and p
orders = {
    "Table 6": stats.contrast(
        abl,
        "data impressions, with augmentation",
        "data impressions, without augmentation",
        "Table 6, augmentation helps",
    ),
    "Table 7": stats.contrast(
        abl,
        "data impressions, without augmentation",
        "uniform prior, without augmentation",
        "Table 7, class-similarity prior > uniform prior",
    ),
    "Fig. 3": stats.contrast(
        abl,
        "data impressions, without augmentation",
        "class impressions, without augmentation",
        "Fig. 3, data impressions > class impressions",
    ),
    "crafting": stats.contrast(
        abl,
        "data impressions, with augmentation",
        next(k for k in abl_rows if k.startswith("paper's crafting")),
        "this book's crafting > the paper's crafting",
    ),
    "β": stats.contrast(
        abl,
        next(k for k in abl_rows if k.startswith("β = 1 only")),
        "data impressions, with augmentation",
        "the official code's β = 1 targets > the paper's β mixture",
    ),
}
spread = max(
    abl["rows"], key=lambda r: max(r["per_seed_test"]) - min(r["per_seed_test"])
)
print(
    f"widest seed spread: {spread['label']}: "
    f"per seed {spread['per_seed_test']} %"
)

# %% [markdown]
# Read the verdicts with their standard errors. With three seeds a row's mean is uncertain by several points,
# and a t-test at the 5 % level asks for a difference of about three standard errors: by that test, none of the
# orders is beyond the seeds' noise. Two hold on the means by a wide margin — data impressions beat class
# impressions (Fig. 3), and the recipe's crafting beats the paper's crafting taken literally — but their seeds
# spread as widely, and more seeds would be needed to confirm them. Two of the paper's orders do not reproduce
# here: the class-similarity prior and the uniform prior give students of the same accuracy (Table 7); and under
# this protocol augmentation does not raise the mean, while it widens the spread over seeds (Table 6, at the
# yardstick's short budget; the recipe's student trains with augmentation for many more steps, and its
# no-augmentation twin at that budget is not in the record).
# The official code's β = 1 targets are neither better nor worse than the paper's mixture within the noise. Why
# the prior barely matters is measured at the end of chapter 2: a student copies the teacher on nearly every
# impression, whatever targets they were crafted for, and is then judged on inputs the impressions do not cover.
# Chapter 2 shows the sets themselves, one impression per class of each, with their pixel statistics.
#
# ## How many impressions? (Fig. 2)
#
# The paper's Fig. 2 sets students distilled on *N* impressions beside students distilled on *N* real images.
# The record holds the first 2,000 and 4,000 of the recipe's impressions (equal shares per class) and all
# of them, each from three seeds under the yardstick's protocol; the real-image curve is the yardstick itself,
# the same protocol on *N* class-balanced real images.

# %%
yard = records.yardstick()
size_rows = sorted(
    [r for r in abl["rows"] if r["group"] == "size"]
    + [abl_rows["data impressions, with augmentation"]],
    key=lambda r: r["n"],
)
fig = plot.yardstick(
    yard,
    series={
        "data impressions": (
            [r["n"] for r in size_rows],
            [r["test_acc"] for r in size_rows],
            [r["test_acc_sd"] for r in size_rows],
        )
    },
    title="Students on N data impressions and on N real images (Fig. 2)",
)
smallest = yard["points"][0]
for row in size_rows:
    w = row["worth_real_images"]
    worth = (
        f"about {w['n']:,}"
        if w["n"]
        else f"fewer than {smallest['n']} ({smallest['mean']:.2f} %)"
    )
    print(
        f"{row['n']:>6,} data impressions: {row['test_acc']:.2f} ± "
        f"{row['test_acc_sd']:.2f} % — worth {worth} real images"
    )
for row in size_rows[:-1]:
    stats.contrast(
        abl,
        "data impressions, with augmentation",
        row["label"],
        f"all {size_rows[-1]['n']:,} impressions > the first {row['n']:,}",
    )

# %% [markdown]
# The paper's curve rises with the number of impressions; this one is flat within its noise, and it lies below
# the real-image curve's first point: under the same protocol the whole transfer set teaches less than one real
# image per class. More impressions of the same kind do not close that gap. What the impressions lack is not
# quantity but coverage of the inputs a test set shows, which is the question chapters 3 and 5 take up.
#
# ## What else was tried
#
# Before settling on the recipe, every lever chapter 2 could pull on the crafting side and on the student's side
# was measured from three seeds: the split of a fixed crafting budget between more impressions and more steps
# each, the crafting temperature, softer targets (capping a target's top entry, or stopping an impression once it
# is close enough to its target), pixel priors of the kind chapter 5 uses, the paper's two-stage student, and the
# paper's 48,000 impressions. The short runs used the real-data yardstick's student (5,000 steps at batch 256, on
# a CPU), the long ones the recipe's (batch 512, on a GPU). Each lever is to be read against the recipe's own row
# at the same protocol, printed first; the last column is the book's one rule against that row (Welch's test:
# every lever crafted its own set).

# %% tags=["hide-input"]
abl_base = abl_rows["data impressions, with augmentation"]
lever_rows = [("the recipe", 5_000, 256, abl_base)]
lever_rows += [("the recipe", st, 512, ref[st]) for st in (20_000, 40_000)]
lever_rows += [
    (row["label"], row["steps"], row["protocol"]["batch_size"], row)
    for row in stats.summarize(records.load_runs("zskd-levers"), "lever")
]
lever_rows = sorted(
    lever_rows, key=lambda r: (r[1], r[0] != "the recipe", r[0])
)
recipe_at = {
    steps: c for label, steps, _, c in lever_rows if label == "the recipe"
}


def short(c):
    """A comparison in a table cell: the difference and its p (the full
    line, with n, is printed under the table)."""
    return f"{c.diff:+.2f}" + ("" if c.p is None else f" (p = {c.p:.2f})")


against = {
    (label, steps): stats.compare(
        c["per_seed_test"], recipe_at[steps]["per_seed_test"]
    )
    for label, steps, _, c in lever_rows
    if label != "the recipe"
}
pd.DataFrame(
    [
        {
            "lever": label,
            "student steps": f"{steps:,}",
            "batch": batch,
            "test % (mean ± sd)": (
                f"{c['test_acc']:.2f} ± {c['test_acc_sd']:.2f}"
            ),
            "per seed": ", ".join(f"{a:.2f}" for a in c["per_seed_test"]),
            "against the recipe": (
                "–" if label == "the recipe" else short(against[label, steps])
            ),
        }
        for label, steps, batch, c in lever_rows
    ]
).set_index(["student steps", "lever"])

# %%
for (label, steps), comparison in against.items():
    print(f"{label} ({steps:,} steps): {comparison}")

# every seed of every lever, beside the recipe's seeds at the same protocol
fig, ax = plt.subplots(figsize=(9, 0.42 * len(lever_rows) + 1.2))
ys = range(len(lever_rows))[::-1]
for y, (label, _, _, c) in zip(ys, lever_rows):
    colour = "tab:green" if label == "the recipe" else "tab:blue"
    ax.scatter(
        c["per_seed_test"], [y] * len(c["per_seed_test"]), s=14, color=colour
    )
    ax.plot([c["test_acc"]] * 2, [y - 0.3, y + 0.3], color=colour, lw=2)
ax.set_yticks(
    list(ys),
    [f"{label} ({steps:,} steps)" for label, steps, _, _ in lever_rows],
)
ax.tick_params(axis="y", labelsize=8)
ax.set(
    xlabel="student test accuracy (%): a dot per seed, a bar at the mean",
    title="What else was tried (green: the recipe at the same protocol)",
)
ax.grid(axis="x", alpha=0.3)
fig.tight_layout()

# %% [markdown]
# **Read on the validation split.** The recipe kept its settings by the table above, which reads the test split.
# Every one of these runs also recorded its student on the validation split (5,000 held-out training images, the
# split Appendix A chooses on), so the same choice can be re-checked where it should have been made: each lever
# against the recipe's own runs at the same protocol — at 5,000 steps the recipe's impressions under the
# yardstick's student (Appendix A's generalisation study), at 20,000 and 40,000 steps the search's confirmation
# runs (Welch's test: different sets).

# %% tags=["hide-input"]
gen_runs = records.load_runs("generalise")
val_base = {
    5_000: [
        r["val_acc"]
        for r in sorted(gen_runs, key=lambda r: r["seed"])
        if r["recipe"] == "zskd"
        and r["lever"] == "as the yardstick"
        and r["budget"] == 5_000
    ]
}
for r in sorted(records.load_runs("protocol"), key=lambda r: r["seed"]):
    p = r["protocol"]
    if (
        r.get("set") == "zskd"
        and r["stage"] == "confirm"
        and (p["batch_size"], p["lr"]) == (512, full_student.lr)
    ):
        val_base.setdefault(p["steps"], []).append(r["val_acc"])
val_levers = {}
for r in sorted(records.load_runs("zskd-levers"), key=lambda r: r["seed"]):
    val_levers.setdefault((r["label"], r["protocol"]["steps"]), []).append(
        r["val_acc"]
    )
val_rows, above = [], []
for (label, steps), v in sorted(val_levers.items(), key=lambda kv: kv[0][::-1]):
    c = stats.compare(v, val_base[steps])
    if c.significant and c.diff > 0:
        above.append(label)
    val_rows.append(
        {
            "student steps": f"{steps:,}",
            "lever": label,
            "validation %": stats.mean_sd_text(v),
            "the recipe, validation %": stats.mean_sd_text(val_base[steps]),
            "against the recipe": short(c),
            "verdict": c.verdict,
        }
    )
chapters.glue(
    "zskd_val_recheck",
    "no lever is above the recipe beyond the seeds' noise on the validation "
    "split either, so the recipe's settings stand"
    if not above
    else "above the recipe beyond the seeds' noise on the validation split: "
    + ", ".join(above),
)
pd.DataFrame(val_rows).set_index(["student steps", "lever"])

# %% [markdown]
# Read on the validation split, {glue:text}`zskd_val_recheck`.

# %% [markdown]
# None of them lifts the recipe's mean beyond its seeds' spread; several cost points on the mean. The impressions
# chapter 2 crafts are taught well (the student copies the teacher on nearly all of them); what they cannot teach
# is the part of the input space they never visit.
#
# ## Which device made what
#
# The devices behind every study on this page, and how the sets of the runs made outside the lab's runner were
# made (the `set_made` note each of those runs carries):

# %%
lever_runs = records.load_runs("zskd-levers")
# (study, student steps, device, students)
made = [
    (
        "recipe record",
        bench_rec["steps"],
        leaderboard.where(bench_rec),
        bench_rec["seeds"],
    )
]
made += [
    ("budget", r["protocol"]["steps"], r["device"], 1) for r in budget_runs
]
made += [
    ("ablations", r["protocol"]["steps"], ", ".join(r["device"]), r["seeds"])
    for r in abl["rows"]
]
made += [("levers", r["protocol"]["steps"], r["device"], 1) for r in lever_runs]
for note in sorted(
    {r["set_made"] for r in budget_runs + lever_runs if "set_made" in r}
):
    print("-", note)
pd.DataFrame(
    made, columns=["study", "student steps", "device", "students"]
).groupby(["study", "student steps", "device"], sort=False).sum()

# %% [markdown]
# Devices differ in their floating-point arithmetic, so a set crafted on a GPU is not bit-identical to the same
# set crafted on a CPU, and a student's seed does not reproduce the same student across devices. The comparisons
# above therefore pair nothing across devices: rows made on different devices, or on different sets, are compared
# by Welch's test.
#
# ## What this page found
#
# * **The recipe's record** (three seeds, each with its own impressions) is below the paper's single number, and
#   its seeds spread more widely than the three budget runs that shared one set.
# * **The student's budget**: doubling the budget to the recipe's raised the mean and narrowed the spread,
#   doubling it again did not raise the mean; neither step is beyond three seeds' noise.
# * **The paper's ablations**: none of the paper's orders is beyond three seeds' noise under the book's rule. Data
#   impressions beat class impressions and the recipe's crafting beats the paper's crafting on the means by wide
#   margins; the class-similarity prior does no better than the uniform prior (Table 7 does not reproduce), and at
#   the yardstick's short budget augmentation does not raise the mean (Table 6 does not either).
# * **How many impressions**: a quarter, a half and all of the recipe's impressions give students of the same
#   accuracy within the noise, all worth fewer real images than the yardstick's smallest set.
# * **Other levers**: none lifts the recipe beyond its seeds' spread.
