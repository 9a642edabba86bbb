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
# # 7. The benchmark: every method on one teacher
#
# Each chapter so far ran one family of methods and compared it with its own paper. The papers cannot be
# compared with each other: they use different teachers, students, data sets and budgets, and most of them report
# accuracy but not what it cost. This chapter puts every method of the book side by side — one data set, one
# student, the same LeNet-5 teacher (its BatchNorm twin where a method reads BN statistics) — each at its own
# recipe, with what it cost beside what it reached.
#
# ```{admonition} In this chapter you will
# :class: tip
#
# * read the **leaderboard**: every method's final student over three seeds, ranked by one significance rule;
# * compare methods **at equal compute**, counting the teacher's queries rather than a machine's seconds;
# * see what each method **needs** (the teacher alone, BatchNorm statistics, the owner's statistics, real data)
#   and choose a method by what you have;
# * ask how far the best data-free student is from the ceiling, and what could close the gap.
# ```
#
# ```{admonition} Key equations
# :class: note
#
# A student of test accuracy $a_S$ distilled from a teacher of accuracy $a_T$ **retains**
# $r = a_S / a_T$ of it. Its **teacher queries** are every image passed through the teacher,
# $Q = Q_\text{forward} + Q_\text{backward}$, forward to label or score it and backward to optimise an image or a
# generator through it — the cost that does not depend on the machine. Two methods with seed accuracies
# $a_1,\dots,a_n$ and $b_1,\dots,b_m$ differ **beyond the seeds' noise** when Welch's statistic
#
# $$t = \frac{\bar a - \bar b}{\sqrt{s_a^2/n + s_b^2/m}}$$
#
# gives a two-sided $p < 0.05$ (Welch 1947; `dfkd_book.stats.compare`, the book's one rule). A student is **worth
# $N$ real images** when $N$ class-balanced real training images, distilled under the yardstick's protocol, give
# the same accuracy (Appendix A's curve, read backwards).
# ```
#
# The numbers come from one record per method, `results/records/METHOD.json`, written by
#
# ```bash
# python -m dfkd_book.experiments.bench all --seeds 3
# ```
#
# This chapter only **reads** those records (they ship with the package, so it also runs from a `pip install`);
# Appendix {doc}`B7_reproducing_the_benchmark` says which commit and machine made each one.

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
import inspect

import dfkd_book.records
import dfkd_book.stats
import pandas as pd
from dfkd_book import chapters, plot, recipes, restarts
from dfkd_book.chapters import glue
from dfkd_book.experiments import leaderboard

chapter = chapters.setup("07_benchmark")
records = leaderboard.load()  # results/records/METHOD.json of every method
board = leaderboard.rows(records)

# %% [markdown]
# ## The leaderboard
#
# The methods fall into three groups by what they need besides the teacher. **Data-free** methods have the
# teacher alone — its weights, the BatchNorm statistics it carries where it has BN layers, or natural images that
# are not the data owner's. **Metadata** methods read statistics that the data owner recorded on the training set
# and shared (the activation and spectral records of chapter 5): no image of the training set, but something made
# from all of them, so they are ranked apart. **Real data** is knowledge distillation on the training set itself,
# the ceiling.
#
# Within a group, walking down the means, a method keeps the rank of the method that opened it until the one rule
# puts it below that method; a shared rank is written `=k`. *p vs best* is the rule's p-value against the group's
# most accurate method; *worth* reads the mean off the yardstick; the paper column holds a published number only
# where it is on Fashion-MNIST. *Teacher access* is what a method's run reads of the teacher: its gradients,
# activations or BN statistics (white-box), or only its answers — probabilities (black-box soft) or the top-1
# class (black-box hard), the subject of {doc}`08_black_box_teachers`.

# %% tags=["hide-input"]
table = leaderboard.frame(board)
index = pd.MultiIndex.from_arrays(
    [table["group"], table["rank"].replace("", "–")], names=["group", "rank"]
)
pd.DataFrame(
    {
        "method": table["name"],
        "ch.": table["chapter"],
        "teacher access": table["access"],
        "student %": [
            f"{m:.2f} ± {s:.2f}"
            for m, s in zip(table["student_acc"], table["sd"])
        ],
        "p vs best": table["p_vs_best"],
        "worth (real images)": [
            leaderboard.worth_text(w) for w in table["worth"]
        ],
        "paper %": table["paper"],
    }
).set_index(index).style.format(
    {
        "p vs best": lambda v: "–" if pd.isna(v) else f"{v:.3f}",
        "paper %": lambda v: "–" if pd.isna(v) else f"{v:.2f}",
    }
)

# %% tags=["hide-cell"]
ceiling = next(r for r in board if r.group == "real data")
best = leaderboard.best_data_free(board)
floor = next(r for r in board if r.method == "arbitrary-noise")
top = [r for r in board if r.group == "data-free" and r.rank == best.rank]
below = [r for r in board if r.group == "data-free" and r.rank != best.rank]
paper_best = max(
    (r for r in board if r.group == "data-free" and r.paper),
    key=lambda r: r.paper,
)
glue("best_name", best.name)
glue("best_acc", f"{best.student_acc:.2f} ± {best.sd:.2f} %")
glue("best_worth", leaderboard.worth_text(best.worth))
glue("n_top", len(top))
glue("top_names", ", ".join(r.name for r in top if r is not best))
glue("below_names", " and ".join(r.name for r in below))
glue("ceiling_acc", f"{ceiling.student_acc:.2f} ± {ceiling.sd:.2f} %")
glue("gap_ceiling", f"{ceiling.student_acc - best.student_acc:.1f}")
glue("paper_best_name", paper_best.name)
glue("paper_best_acc", f"{paper_best.paper:.2f} %")
glue("paper_best_gap", f"{paper_best.paper - paper_best.student_acc:.1f}")
glue("paper_best_book", f"{paper_best.student_acc:.2f} %")
glue("paper_best_chapter", str(paper_best.chapter))
glue("floor_acc", f"{floor.student_acc:.2f} ± {floor.sd:.2f} %")
glue("floor_p", f"{floor.p_vs_best:.2f}")

# %% [markdown]
# The most accurate data-free student is **{glue:text}`best_name`** at {glue:text}`best_acc` over three seeds,
# {glue:text}`gap_ceiling` points below KD on the real training set ({glue:text}`ceiling_acc`); under the
# yardstick's protocol it is worth {glue:text}`best_worth` real images. With three seeds, the one rule cannot
# separate it from {glue:text}`top_names`: {glue:text}`n_top` methods share the first rank, and only
# {glue:text}`below_names` fall below it. Balanced noise ({glue:text}`floor_acc`) spreads so far between its seeds
# that even against the best alone its p is {glue:text}`floor_p`; it shares the lower rank of the method that
# opened it. The spread between seeds is itself a finding: on one transfer set, where a student lands depends on
# where it starts. The highest published data-free number on
# Fashion-MNIST that this book reproduces is {glue:text}`paper_best_name`'s, {glue:text}`paper_best_acc`; the
# book's student of the same method is {glue:text}`paper_best_book`, {glue:text}`paper_best_gap` points lower
# (chapter {glue:text}`paper_best_chapter` discusses why).

# %% [markdown]
# What each student cost, per seed: its optimiser steps, its transfer set, the teacher queries and the wall time
# of the whole method (making the transfer set and distilling).

# %% tags=["hide-input"]
pd.DataFrame(
    {
        "method": table["name"],
        "student steps": table["steps"],
        "transfer set": [
            f"{n:,} {k}" for n, k in zip(table["samples"], table["kind"])
        ],
        "teacher queries": [
            leaderboard.queries_text(q) for q in table["queries"]
        ],
        "wall s": table["wall_s"],
    }
).set_index("method").style.format(
    {
        "student steps": lambda v: "–" if pd.isna(v) else f"{v:,.0f}",
        "wall s": "{:,.0f}",
    }
)

# %% [markdown]
# Most of these papers publish no Fashion-MNIST number. What they publish for other data sets, teachers and
# students is not comparable with the leaderboard; it is listed here so that a reader who knows a paper finds it.

# %% tags=["hide-input"]
pd.DataFrame(leaderboard.context(records)).set_index("method").style.format(
    {"published": "{:g}"}
)

# %% [markdown]
# ## The equal-compute frontier: accuracy against teacher queries
#
# Every record keeps its first seed's learning curve with the teacher queries spent by each evaluation — making
# the transfer set included — so the methods can be laid side by side on one axis. The dot at the end of a line is
# the final student over all seeds (mean ± sd).

# %%
by_queries = leaderboard.curves(records, "queries")
finals = {
    r.name: (r.queries, r.student_acc, r.sd)
    for r in board
    if r.name in by_queries
}
fig = plot.accuracy_vs_queries(
    by_queries,
    finals,
    title="Fashion-MNIST, LeNet-5 → LeNet-5-Half: the equal-compute frontier",
)

# %% [markdown]
# Read at a budget, each curve gives the accuracy of its last evaluation within it (the winner among the
# data-free methods is shaded; KD on real data labels each training image once, so it needs few queries — what it
# needs is the data). A curve cut short, its schedule unfinished, is a lower bound on a run planned for that
# budget; "–": no student evaluated yet.

# %% tags=["hide-input"]
budgets = {"10⁵ queries": 1e5, "10⁶ queries": 1e6, "10⁷ queries": 1e7}
frontier = pd.DataFrame(
    {
        label: leaderboard.at_budget(by_queries, b)
        for label, b in budgets.items()
    }
)
free = frontier.loc[[r.name for r in board if r.group == "data-free"]]
winners = {col: free[col].idxmax() for col in free if free[col].notna().any()}


def shade_winner(column):
    return [
        "background-color: #cdeccd" if name == winners.get(column.name) else ""
        for name in column.index
    ]


frontier.style.format(lambda v: "–" if pd.isna(v) else f"{v:.2f}").apply(
    shade_winner
)

# %% tags=["hide-cell"]
cheapest = min((r for r in board if r.data_free), key=lambda r: r.queries)
for i, (col, name) in enumerate(winners.items()):
    glue(f"winner_{i}", f"{name} ({frontier.loc[name, col]:.2f} %)")
glue("cheapest_name", cheapest.name)
glue("cheapest_queries", leaderboard.queries_text(cheapest.queries))
glue("cheapest_acc", f"{cheapest.student_acc:.2f} ± {cheapest.sd:.2f} %")
glue("best_queries", leaderboard.queries_text(best.queries))

# %% [markdown]
# At 10⁵ queries the best data-free student is {glue:text}`winner_0`, at 10⁶ {glue:text}`winner_1` and at 10⁷
# {glue:text}`winner_2`. The cheapest method, {glue:text}`cheapest_name`, finishes with
# {glue:text}`cheapest_queries` queries at {glue:text}`cheapest_acc`; the most accurate data-free method spends
# {glue:text}`best_queries`.

# %% [markdown]
# ## Accuracy against wall time
#
# The same comparison in seconds, each method at its wall time per seed (log scale) and its mean accuracy (the bar
# is ± one sd over seeds; the star is the real-data ceiling, squares the metadata methods). Up and to the left is
# better. Seconds depend on the machine and on how many threads a run had, which is why the frontier above counts
# queries; the runs' machines are in Appendix {doc}`B7_reproducing_the_benchmark`.

# %%
fig = plot.accuracy_vs_compute(
    board, title="Fashion-MNIST, LeNet-5 → LeNet-5-Half (full profile)"
)

# %% [markdown]
# The training curves say *when* each student learnt what it knows (the first seed of each record). A method that
# makes its transfer set first starts its curve when that is done, while the adversarial games and SSD-KD make
# their samples as they train, so their curves start early and climb slowly.

# %%
fig = plot.accuracy_over_time(leaderboard.curves(records, "wall_s"))

# %% [markdown]
# ## What each method needs, and what it spends
#
# The methods that optimise images spend most of their queries in the teacher's backward pass — one per image per
# step — so their cost grows with images × steps; the arbitrary sets cost only forward passes, to label and
# balance; the adversarial games and SSD-KD interleave the two.

# %% tags=["hide-input"]
needs = {
    "kd-real": "the training set",
    "zskd": "the teacher",
    "arbitrary-noise": "the teacher",
    "arbitrary-best": "the teacher + any natural images",
    "adversarial": "the teacher",
    "bn-stats": "a teacher with BN",
    "activation-records": "per-class activation statistics (metadata)",
    "spectral": "spectral statistics (metadata)",
    "deepinversion": "a teacher with BN",
    "ssd-kd": "a teacher with BN",
    "ssd-kd-fast": "a teacher with BN",
    "book": "the teacher + any natural images",
    "dfme": "the teacher's probabilities (an API)",
    "ideal": "the teacher's top-1 class (an API)",
}
rows = []
for m, rec in records.items():
    q = rec.get("teacher_queries") or {}
    rows.append(
        {
            "method": recipes.about(m).label,
            "needs": needs[m],
            "samples": rec["transfer_samples"],
            "forward": leaderboard.queries_text(q.get("forward")),
            "backward": leaderboard.queries_text(q.get("backward") or None),
        }
    )
pd.DataFrame(rows).set_index("method").style.format({"samples": "{:,}"})

# %% tags=["hide-cell"]
by = {r.method: r for r in board}


def cite(m):
    r = by[m]
    return (
        f"{r.student_acc:.1f} ± {r.sd:.1f} % "
        f"({leaderboard.queries_text(r.queries)} queries)"
    )


for m in by:
    glue(f"cite_{m.replace('-', '_')}", cite(m))
glue("di_images", f"{by['deepinversion'].samples:,}")
t1, t2 = (
    by["zskd"].teacher_acc,
    by["deepinversion"].teacher_acc,
)  # LeNet-5, LeNet-5-BN
glue("t_lenet5", f"{t1:.2f}")
glue("t_lenet5bn", f"{t2:.2f}")

# %% [markdown]
# ## When to choose which
#
# What you have decides more than the leaderboard does; within what you have, the numbers decide.
#
# * **Only the teacher's weights, and natural images you may use.** A class-balanced arbitrary transfer set
#   (chapter 3) is the strong cheap baseline: {glue:text}`cite_arbitrary_best`, against
#   {glue:text}`cite_arbitrary_noise` for balanced noise, the floor every method must beat. It costs forward passes
#   only, most of them sorting candidates into classes. The book's own recipe (the last section) trains three
#   students on that set and keeps the one the teacher agrees with most: {glue:text}`cite_book`.
# * **A teacher with BatchNorm.** Its running statistics describe the training data for free. SSD-KD with Fast's
#   meta-generator (chapter 6): {glue:text}`cite_ssd_kd_fast`; DeepInversion (chapter 5), a reusable set of
#   {glue:text}`di_images` images: {glue:text}`cite_deepinversion`; SSD-KD as its Algorithm 1 prints it:
#   {glue:text}`cite_ssd_kd`; plain BN statistics: {glue:text}`cite_bn_stats`.
# * **The data owner will share statistics, not data.** Activation records: {glue:text}`cite_activation_records`;
#   spectral records: {glue:text}`cite_spectral`. A few kB to MB of metadata, ranked apart because they are made
#   from the training set.
# * **No BN, no metadata, no natural images.** ZSKD's data impressions (chapter 2): {glue:text}`cite_zskd`; an
#   adversarial game (chapter 4): {glue:text}`cite_adversarial`, by far the fewest queries and no stored image at
#   all, but below every method that reads the teacher's BN statistics or natural images.
# * **Only an API: the teacher's answers, no weights.** DFME, from its probabilities: {glue:text}`cite_dfme`;
#   IDEAL, from its top-1 class alone: {glue:text}`cite_ideal` (chapter 8, which also counts what the owner's
#   defences cost).

# %% [markdown]
# ## The mean transition error: how close is the boundary?
#
# Accuracy is not the whole story of a student. Chapter 4's mean transition error asks how closely a student
# follows the teacher's decision boundary when an image is pushed towards another class (lower is closer).

# %%
from dfkd_book.compare.adversarial import mte_label

mte = dfkd_book.records.load_summary("mte")
pd.DataFrame(mte["students"]).T[["student_acc", "mte", "images"]].rename(
    index=lambda s: mte_label(s, mte["profile"])
)

# %% [markdown]
# ## How far from the ceiling
#
# Every chapter sized its student's budget by doubling it until the doubling added less than a point. The
# frontier asks the same of each whole method: how many points did its first seed gain over the last doubling
# of its teacher queries, from half of them to all of them? For a method that makes its samples while the student
# trains (SSD-KD, the adversarial games) the last doubling buys new samples; for a method that makes or sorts its
# set first (the arbitrary sets, ZSKD) it is mostly its student's training, which the chapters' own doubling
# checks judge.


# %%
def last_doubling(xs, accs):
    """Points gained from half the queries to all of them (None when the
    curve has no evaluation by half its queries)."""
    half = leaderboard.at_budget({"c": (xs, accs)}, xs[-1] / 2)["c"]
    return None if half is None else accs[-1] - half


gains = pd.Series(
    {name: last_doubling(*c) for name, c in by_queries.items()},
    name="points gained over the last doubling of queries (first seed)",
)
gains.to_frame().style.format(lambda v: "–" if pd.isna(v) else f"{v:+.2f}")

# %% tags=["hide-cell"]
climbing = [n for n, g in gains.items() if g is not None and g >= 1.0]
glue("climbing", ", ".join(climbing) if climbing else "none")
zskd_paper = recipes.published("zskd", "impressions").value
zskd_steps = recipes.published("zskd", "steps per impression").value
zskd_book = recipes.get("zskd", "full").settings
times = zskd_paper * zskd_steps / (zskd_book["n"] * zskd_book["steps"])
glue(
    "zskd_compute",
    f"{zskd_paper:,.0f} data impressions of {zskd_steps:,.0f} steps each, "
    f"about {times:.0f} times the crafting of chapter 2's recipe",
)
# Appendix A's lever study: CutMix against no lever, each set and seed one
# pair (validation split)
cut = dfkd_book.stats.pooled_lever(
    dfkd_book.records.load_runs("generalise"), "cutmix"
)
glue(
    "cutmix_gain",
    f"{cut.diff:+.2f} points on the validation split "
    f"(p = {cut.p:.3f}, {cut.n[0]} pairs)",
)

# %% [markdown]
# Still gaining a point or more over the last doubling: {glue:text}`climbing`. One seed's curve is a hint, not a
# measurement: a climbing curve of a game is worth a longer run, but chapter 4 measured that doubling the games'
# student budget adds under a point over three seeds. What more queries of the same kind cannot buy, the chapters
# point at:
#
# * **Samples, not steps.** A method that makes a fixed set first spends its later queries re-labelling the same
#   images; a method that keeps making samples can turn each query into a new one. The ZSKD paper crafted
#   {glue:text}`zskd_compute`; chapter 3's arbitrary sets are cheap to make and so can be far larger.
# * **Better samples.** Appendix B.5 lists what was tried for DeepInversion's images and what each lever bought;
#   Appendix B.6 shows that SSD-KD's gain here came from the generator and the student's start, not from its sample
#   selection.
# * **Students that generalise off the transfer set.** The seeds of one method spread far on the same set: where
#   a student lands off the set depends on its start. The next section measures what the book can do about it.

# %% [markdown]
# ## The book's own recipe, built from the pieces
#
# What would this book run, given only the teacher? Three pieces, each measured in its own place:
#
# 1. **The transfer set of chapter 3**: natural images that are not the owner's, sorted by the teacher into equal
#    classes (Algorithm 1 of Nayak et al. 2021) — the best data-free set on this teacher, and cheap to make.
# 2. **The student protocol of Appendix A**: Adam 10⁻², τ = 20, a cosine schedule, ZSKD's heavy augmentation
#    re-labelled by the teacher, 20,000 steps, chosen on a validation split.
# 3. **A data-free choice between restarts.** Students taught from different seeds on one set end points apart;
#    the teacher can rank them without a label. Train $K$ students
#    $S_1,\dots,S_K$, each holding out its own fifth $H_k$ of the set, and keep
#
#    $$k^\star = \arg\max_k \; \max_t \; \frac{1}{|H_k|} \sum_{x \in H_k}
#      \mathbb{1}\!\left[\arg\max_c S_k^{(t)}(x)_c = \arg\max_c T(x)_c\right],$$
#
#    the student, and within it the evaluation $t$, that agrees best with the teacher on images it never trained
#    on. This is the rule of the DeGAN code (Addepalli et al. 2020), which picks a checkpoint so; here it picks a
#    restart as well. Appendix A chose it on the validation split.
#
# In the package the third piece is `restarts.best_of`; its loop is a few lines:

# %%
src = inspect.getsource(restarts.best_of)
print(src[src.index("    transfer_set(") :])  # the body, after the docstring

# %% [markdown]
# and the recipe is chapter 3's method with three restarts:

# %%
book = recipes.get("book")
print(book.extras, book.student, sep="\n")
# best_of(teacher, make_student, book.build(), 3, select="agreement",
#         holdout=0.2, **book.student.kwargs()) is what
# `python -m dfkd_book.experiments.bench book --seeds 3` runs from three seeds

# %% tags=["hide-input"]
own = dfkd_book.records.load("book")
one = dfkd_book.records.load("arbitrary-best")
kept = pd.DataFrame(
    [
        {
            "seed": i,
            "restart seeds": ", ".join(map(str, r["seeds"])),
            "held-out agreement %": ", ".join(
                f"{100 * s:.1f}" for s in r["scores"]
            ),
            "kept": r["seeds"][r["kept"]],
            "test % of each (not used)": ", ".join(
                f"{a:.2f}" for a in r["final_acc"]
            ),
        }
        for i, r in enumerate(own["per_seed_restarts"])
    ]
).set_index("seed")
gen = dfkd_book.records.load_runs("generalise")  # Appendix A: CutMix at budget
at_budget = {
    (r["lever"], r["seed"]): r["val_acc"]
    for r in gen
    if r["recipe"] == "arbitrary-best" and r["budget"] == "recipe"
}
cut_seeds = sorted(
    s
    for lv, s in at_budget
    if lv == "cutmix" and ("as the yardstick", s) in at_budget
)
late = dfkd_book.stats.compare(
    [at_budget["cutmix", s] for s in cut_seeds],
    [at_budget["as the yardstick", s] for s in cut_seeds],
    paired=True,
)
glue(
    "cutmix_at_budget",
    f"{late.diff:+.2f} points ({late.verdict}, "
    f"p = {late.p:.3f}, {late.n[0]} seeds)",
)
c = dfkd_book.stats.compare(own["per_seed"], one["per_seed"])
glue("book_acc", f"{own['student_acc']:.2f} ± {own['student_acc_sd']:.2f} %")
glue(
    "book_vs_one",
    f"{c.diff:+.2f} points against one student on the same set "
    f"({c.verdict}, p = {c.p:.3f})",
)
glue(
    "book_queries",
    f"{sum(own['teacher_queries'].values()) / 1e6:.1f} million",
)
glue(
    "one_queries",
    f"{sum(one['teacher_queries'].values()) / 1e6:.1f} million",
)
runs = own["per_seed_restarts"]
each = [a for r in runs for a in r["final_acc"]]  # every restart's student
best_kept = sum(r["final_acc"][r["kept"]] == max(r["final_acc"]) for r in runs)
glue("picks_best", f"{best_kept} of {len(runs)}")
glue("restart_mean", f"{sum(each) / len(each):.2f} %")
glue("n_restarts", len(each))
for tag, budget in (("", 5_000), ("_recipe", "recipe")):  # Appendix A
    beside = restarts.kept_final_students(
        restarts.runs_of(
            gen, "arbitrary-best", "agreement selection, beside the set", budget
        )
    )
    b = dfkd_book.stats.compare(
        *([g[k] for g in beside] for k in ("kept", "at_random")), paired=True
    )
    glue(f"beside_gain{tag}", f"{b.diff:+.2f} points (p = {b.p:.3f})")
held = restarts.kept_selected(  # the held-out rule at the recipe's budget
    restarts.runs_of(
        gen, "arbitrary-best", "agreement selection, 20 % held out", "recipe"
    )
)
bh = dfkd_book.stats.compare(*([g["kept"] for g in x] for x in (beside, held)))
glue("beside_vs_held", f"{bh.diff:+.2f} points, p = {bh.p:.3f}")
glue("held_cost", f"{one['student_acc'] - sum(each) / len(each):.1f}")
paper_best = recipes.published("arbitrary-best")
glue(
    "book_paper",
    f"{paper_best.value:.2f} % ({paper_best.source}, {paper_best.setting})",
)
kept

# %% [markdown]
# The book's recipe reaches {glue:text}`book_acc` over three seeds, {glue:text}`book_vs_one`, for
# {glue:text}`book_queries` teacher queries against {glue:text}`one_queries`. The choice did what it was asked:
# reading the teacher's answers alone, it kept the restart that the test set also ranks first in
# {glue:text}`picks_best` seeds (the test column is shown, never used). What it could not return is the fifth
# each restart held out: the {glue:text}`n_restarts` restarts average {glue:text}`restart_mean`,
# {glue:text}`held_cost` points below students taught on the whole set. Ranking final students on a second draw
# keeps the set whole: {glue:text}`beside_gain` against a random restart at the yardstick's budget,
# {glue:text}`beside_gain_recipe` at the recipe's, where the held-out rule does as well
# ({glue:text}`beside_vs_held`, Appendix A). The best published data-free student on Fashion-MNIST is
# {glue:text}`book_paper`.
#
# Appendix A tried more levers on the validation split (mixup, weight averaging, hybrid sets, BN on each batch's
# statistics). CutMix lifted the short students of every set ({glue:text}`cutmix_gain`), but at the recipe's 20,000
# steps it gave {glue:text}`cutmix_at_budget`: it helps a student that has not finished learning.

# %% [markdown]
# ## Summary
#
# * One protocol puts every method side by side: one data set, one student, the same teacher, each method at its
#   recipe, three seeds, the final student, and what it cost in steps, queries and seconds.
# * With three seeds, most data-free methods cannot be told apart by the one rule: the leaderboard's first rank is
#   shared. The spread between seeds is itself a finding.
# * Teacher queries compare methods across machines; the frontier shows which method is best at each budget.
# * What you have — BN in the teacher, the owner's statistics, natural images — narrows the choice before the
#   numbers do.

# %% [markdown]
# ## Exercises
#
# The worked solutions are in {doc}`C_solutions`. {ref}`ex-ch7-pareto`,
# {ref}`ex-ch7-retention` and {ref}`ex-ch7-retention-rank` only read the records and run in seconds; the others
# train students, and {ref}`ex-ch7-gpu` and {ref}`ex-ch7-teacher` are hours of CPU work.

# %% [markdown]
# ```{exercise} The real-data curve
# :label: ex-ch7-real-curve
#
# Distil with `distill(teacher, student, methods.RealData(train, n=N), ...)` and chapter 5's student protocol
# (`recipes.get("deepinversion").student`) on N = 1,000, 6,000 and 60,000 real training images. Plot the accuracy
# against the size and place every data-free method on it: how many real images is each method's transfer set
# worth?
# ```
#
# {ref}`Solution <ex-ch7-real-curve-solution>`.

# %% [markdown]
# ```{exercise} Your own machine
# :label: ex-ch7-gpu
#
# Run the benchmark command (`python -m dfkd_book.experiments.bench all --skip mte`) on a GPU and re-run this notebook. Which
# methods gain most from the accelerator, and does the ranking change?
# ```
#
# {ref}`Solution <ex-ch7-gpu-solution>`.

# %% [markdown]
# ```{exercise} Equal compute
# :label: ex-ch7-equal-compute
#
# Give every method the same wall time (say the 4 minutes of the fastest strong one) by shrinking or growing its
# recipe. Which method is best *per second*?
# ```
#
# {ref}`Solution <ex-ch7-equal-compute-solution>`.

# %% [markdown]
# ```{exercise} Retention across papers
# :label: ex-ch7-retention
#
# Add a column with the paper's retention (published student / published teacher) for the rows with a
# Fashion-MNIST number. Which methods reproduce their paper's retention?
# ```
#
# {ref}`Solution <ex-ch7-retention-solution>`.

# %% [markdown]
# ```{exercise} A second teacher
# :label: ex-ch7-teacher
#
# Train an AlexNet teacher (`zoo.teacher("alexnet", "fashion-mnist", train_if_missing=True)`) and run the leaderboard again. Do the
# conclusions depend on the teacher?
# ```
#
# {ref}`Solution <ex-ch7-teacher-solution>`.

# %% [markdown]
# ```{exercise} The front of the leaderboard
# :label: ex-ch7-pareto
#
# A method is *dominated* when another one is both faster and more accurate. Which data-free methods are not
# dominated? Write the few lines that find them from `board`.
# ```
#
# {ref}`Solution <ex-ch7-pareto-solution>`.

# %% [markdown]
# ```{exercise} Does retention change the ranking? (pen and paper)
# :label: ex-ch7-retention-rank
#
# Most methods here distil the LeNet-5 (its accuracy $t_1$ = {glue:text}`t_lenet5` %), the BatchNorm ones its
# twin LeNet-5-BN ($t_2$ = {glue:text}`t_lenet5bn` %). When can ranking by retention disagree with ranking by
# student accuracy?
# ```
#
# {ref}`Solution <ex-ch7-retention-rank-solution>`.
