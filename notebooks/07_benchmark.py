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
# Each chapter so far ran one family of methods, and compared it with its own paper. The papers cannot be
# compared with each other: they use different teachers, students, datasets, budgets and hardware, and most of
# them report accuracy but not what it cost. This chapter puts every method of the book on **one protocol**:
#
# * the same data set (Fashion-MNIST, 32 × 32, inputs in [0, 1]) and the same 10,000 test images;
# * the same teacher — the shipped LeNet-5, or its BatchNorm twin LeNet-5-BN for the methods that read BN
#   statistics (both about 91.5 %) — and the same student, a fresh LeNet-5-Half, seed 0;
# * each method's recipe from `dfkd_book.bench`, sized for a 2-core CPU (the recipes are printed in every record);
# * the same measure of cost: the wall time of the whole method, synthesis *and* distillation, on one machine.
#
# The numbers are made by one command,
#
# ```bash
# python -m dfkd_book.bench all      # --only / --skip to choose; a failing method does not stop the others
# ```
#
# which writes one record per method to `results/` and a summary of the run to `results/bench-all.json`. This
# notebook only **reads** those records: it runs in seconds, and what it shows is what that run measured.
# Run the command yourself (a GPU makes it minutes) and re-run this notebook to see your own leaderboard.

# %% tags=["remove-cell"]
# On Colab: install this book's package (Colab already has PyTorch; this never reinstalls it).
import sys

if "google.colab" in sys.modules:
    # %pip install -q "dfkd-book[book] @ git+https://github.com/dfkd-book/dfkd-book"
    pass

# %%
import json

import pandas as pd
from IPython.display import Markdown, display

from dfkd_book import config, leaderboard, plot

config.describe()
records = leaderboard.load()  # results/METHOD.json for every method of the leaderboard
board = leaderboard.rows(records)
run = json.loads((leaderboard.RESULTS / "bench-all.json").read_text())
print(leaderboard.provenance(records))

# %% [markdown]
# ## The leaderboard
#
# *Retention* is the student's accuracy divided by its teacher's — the fair comparison across papers whose
# teachers differ. *Transfer set* is how many images the student learnt from, and of what kind: real, synthetic
# (optimised from noise or made by a generator and kept), arbitrary (natural or random images the teacher
# labels), or generated on the fly (the adversarial games never keep an image). The paper column is the
# published student accuracy in the setting named beside it; most papers give no Fashion-MNIST number.

# %% tags=["hide-input"]
table = leaderboard.frame(board)
shown = pd.DataFrame({
    "method": table["name"], "ch.": table["chapter"],
    "teacher": [f"{t} {a:.2f}" for t, a in zip(table["teacher"], table["teacher_acc"])],
    "student %": table["student_acc"], "retention %": 100 * table["retention"],
    "transfer set": [f"{n:,} {k}" for n, k in zip(table["samples"], table["kind"])], "wall s": table["wall_s"],
    "paper %": table["paper"],
})
shown.index = ["ceiling" if not d else str(i) for i, d in enumerate(table["data_free"])]
shown.style.format({"student %": "{:.2f}", "retention %": "{:.1f}", "wall s": "{:,.0f}",
                    "paper %": lambda v: "–" if pd.isna(v) else f"{v:.2f}"}).background_gradient(
    subset=["student %"], cmap="Greens")

# %% [markdown]
# **Paper against this book.** The published numbers and the settings they were measured in. Only ZSKD, the
# arbitrary transfer sets and KD on real data have a published Fashion-MNIST LeNet-5 → LeNet-5-Half number; the
# others are given for the nearest published setting, or not at all.

# %% tags=["hide-input"]
pd.DataFrame({"method": table["name"], "paper %": table["paper"], "the paper's setting": table["paper_setting"],
              "this book %": table["student_acc"]}).set_index("method").style.format(
    {"paper %": lambda v: "–" if pd.isna(v) else f"{v:.2f}", "this book %": "{:.2f}"})

# %%
ceiling = next(r for r in board if not r.data_free)
best = leaderboard.best_data_free(board)
floor = records["arbitrary-noise"]["student_acc"]
# sanity: the records are complete, from one run, and tell a coherent story
assert len(board) == len(leaderboard.METHODS) and run["failed"] == []
assert all(r.student_acc < ceiling.student_acc for r in board if r.data_free), "a data-free student beat real data"
assert all(records[m]["history"]["test_acc"][-1] == r.student_acc for m, r in zip(table["method"], board)
           if "history" in records[m])
assert best.student_acc > floor, "the best data-free method does not beat balanced noise"
display(Markdown(
    f"The best data-free student is **{best.name}** (chapter {best.chapter}) at **{best.student_acc:.2f} %**, "
    f"{ceiling.student_acc - best.student_acc:.1f} points below KD on the real training set "
    f"({ceiling.student_acc:.2f} %) and {best.student_acc - floor:.1f} points above balanced uniform noise "
    f"({floor:.2f} %)."))

# %% [markdown]
# ## Accuracy against compute
#
# A method that wins by spending ten times the compute has not won. The scatter puts each method at its wall time
# (log scale) and its student's accuracy; the star is the real-data ceiling. Up and to the left is better.

# %%
fig = plot.accuracy_vs_compute(board, title=f"Fashion-MNIST, LeNet-5 → LeNet-5-Half "
                               f"({run['device']}, {run['profile']} profile)")

# %% [markdown]
# The training curves say *when* each student learnt what it knows. Each record keeps the test accuracy after
# every evaluation of its distillation (every few hundred student steps); a method that makes its transfer set first starts its curve
# when that is done (the seconds it spent are in the cost table below), while the adversarial games and SSD-KD
# make their samples as they train, so their curves start early and climb slowly.

# %%
def made_first(rec):
    """Seconds spent making the transfer set before distillation started (0 when made during training)."""
    return rec.get("crafting_s") or rec.get("synthesis_s") or rec.get("balancing_s") or 0.0


curves = {leaderboard.METHODS[m][0]: ([made_first(rec) + w for w in rec["history"]["wall_s"]],
                                      rec["history"]["test_acc"])
          for m, rec in records.items() if len(rec["history"]["wall_s"]) > 1}
fig = plot.accuracy_over_time(curves)

# %% [markdown]
# ## What each method costs
#
# Wall time splits into making the transfer set and distilling on it. The methods that optimise images spend
# most of it in the teacher's backward pass — one per image per step — so their cost grows with images × steps;
# the arbitrary transfer sets cost only forward passes to label and balance; the adversarial games and SSD-KD
# interleave the two.

# %%
needs = {"kd-real": "the training set", "zskd": "the teacher", "arbitrary-noise": "the teacher",
         "arbitrary-best": "the teacher + any natural images", "adversarial": "the teacher",
         "bn-stats": "a teacher with BN", "activation-records": "per-class activation statistics (metadata)",
         "spectral": "spectral statistics (metadata)", "deepinversion": "a teacher with BN",
         "ssd-kd": "a teacher with BN"}
rows = []
for m, rec in records.items():
    make = made_first(rec) or None  # None: the samples are made during training (or are real)
    rows.append({"method": leaderboard.METHODS[m][0], "needs": needs[m], "samples": rec["transfer_samples"],
                 "make s": make, "distil s": rec.get("distillation_s"), "wall s": rec["wall_s"],
                 "s per 1,000 samples made": None if make is None else 1000 * make / rec["transfer_samples"]})
pd.DataFrame(rows).set_index("method").style.format({"make s": "{:.0f}", "distil s": "{:.0f}", "wall s": "{:.0f}", "samples": "{:,}",
                                 "s per 1,000 samples made": "{:.1f}"}, na_rep="–")

# %% [markdown]
# **When to choose which.** What you have decides more than the leaderboard does:
#
# * **Only the teacher's weights, nothing else.** Balanced arbitrary images (chapter 3) are the cheapest strong
#   baseline: a teacher's forward passes sort a pile of natural images — any you may use — into a class-balanced
#   transfer set. Try them first; keep balanced *noise* as the floor every other method must beat.
# * **A teacher with BatchNorm.** Its running statistics are a free description of the training data. SSD-KD
#   (chapter 6) uses them with the fewest samples: it spends synthesis where the student is still wrong.
#   DeepInversion and BN matching (chapter 5) make a reusable image set, slowly.
# * **The data owner will share statistics, not data.** Activation or spectral records (chapter 5) — a few kB
#   to MB of metadata; spectral records were the better of the two here.
# * **No BN, no metadata, no natural images.** ZSKD's data impressions (chapter 2) or an adversarial game
#   (chapter 4). The game needs no stored images at all, but it is the least predictable to train.
#
# ## The mean transition error: how close is the boundary?
#
# Accuracy is not the whole story of a student. Chapter 4's mean transition error asks how closely a student
# follows the teacher's decision boundary when an image is pushed towards another class (lower is closer).

# %%
mte = json.loads((leaderboard.RESULTS / "mte.json").read_text())
pd.DataFrame(mte["students"]).T[["student_acc", "mte", "images"]]

# %% [markdown]
# ## Why no data-free student reaches the ceiling here, and what would close the gap
#
# Every data-free recipe above was sized to run on a 2-core CPU inside a chapter's 15 minutes, and the
# chapters measured where the accuracy goes:
#
# * **Transfer-set size × distillation length.** Chapter 5's inversion methods make under a thousand images;
#   the ZSKD paper used 48,000 data impressions of 1,500 steps each, fifty times chapter 2's compute; chapter 3's
#   arbitrary transfer sets are cheap to make and so can be ten times larger.
# * **Steps per image.** An inverted image costs one teacher backward pass per step; on a CPU that is the
#   budget. A GPU does the same work one to two orders of magnitude faster — run the benchmark there with larger
#   recipes (every recipe in `dfkd_book.recipes` is a frozen dataclass: `r.build(n=...)` and
#   `r.student.kwargs(steps=...)` override its method's settings and the student's budget).
# * **The student recipe.** Even real images are not enough at this scale: distilled from a thousand real
#   training images with the same recipe, the student stays well short of the ceiling (exercise 1).
#
# ## Exercises
#
# 1. **The real-data curve.** Distil with `distill(teacher, student, methods.RealData(train, n=N), ...)` and
#    chapter 5's student protocol (`recipes.get("deepinversion").student`) on N = 1,000, 6,000 and 60,000 real
#    training images. Plot the accuracy against the size and place every data-free method on it:
#    how many real images is each method's transfer set worth?
# 2. **Your own machine.** Run the benchmark command (`python -m dfkd_book.bench all --skip mte`) on a GPU and re-run this notebook.
#    Which methods gain most from the accelerator, and does the ranking change?
# 3. **Equal compute.** Give every method the same wall time (say the 4 minutes of the fastest strong one) by
#    shrinking or growing its recipe. Which method is best *per second*?
# 4. **Retention across papers.** Add a column with the paper's retention (published student / published
#    teacher) for the rows with a Fashion-MNIST number. Which methods reproduce their paper's retention?
# 5. **A second teacher.** Train an AlexNet teacher (`zoo.teacher("alexnet", "fashion-mnist")`) and run the
#    leaderboard again. Do the conclusions depend on the teacher?
