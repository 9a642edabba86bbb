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
# # Appendix B.7. Reproducing the benchmark (chapter 7)
#
# Chapter 7 reads one record per method. This page says where each record came from — the command, the commit,
# the date, the machine and how many threads the run had — and what that means for the seconds the chapter
# compares. Every record is made by
#
# ```bash
# python -m dfkd_book.experiments.bench METHOD --seeds 3   # or: bench all --seeds 3
# ```
#
# which runs the method's recipe from seeds 0, 1 and 2 (the student and every random choice of the method) and
# writes `results/records/METHOD.json` with the final student of every seed, the student's steps and the teacher
# queries, the recipe it ran and the environment (`dfkd_book.records` documents the schema).

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
from dfkd_book import chapters, recipes
from dfkd_book.experiments import leaderboard

chapter = chapters.setup("B7_reproducing_the_benchmark")
records = leaderboard.load()
print(leaderboard.provenance(records))

# %% [markdown]
# ## Where each record was made

# %% tags=["hide-input"]
pd.DataFrame(
    [
        {
            "method": recipes.about(m).label,
            "command": f"bench {m} --seeds {rec['seeds']}",
            "per seed %": ", ".join(f"{a:.2f}" for a in rec["per_seed"]),
            "commit": rec["commit"][:7],
            "date": rec["date"][:10],
            "device": leaderboard.where(rec),
            "torch": rec.get("torch"),
        }
        for m, rec in records.items()
    ]
).set_index("method")

# %% [markdown]
# ## Seconds depend on the machine
#
# The wall time of a record is the mean over its seeds of making the transfer set and distilling. Some records
# ran with one thread (two runs side by side on a two-core machine), others with two, so a factor of up to two in
# seconds belongs to the machine, not to the method; chapter 7's frontier counts teacher queries for that reason.

# %%
rows = pd.DataFrame(
    [
        {
            "method": recipes.about(m).label,
            "wall s per seed": rec["wall_s"],
            "threads": rec.get("threads"),
        }
        for m, rec in records.items()
    ]
).sort_values("wall s per seed")
fig, ax = plt.subplots(figsize=(8, 4.2))
colors = {1: "tab:blue", 2: "tab:orange"}
ax.barh(
    rows["method"],
    rows["wall s per seed"],
    color=[colors.get(t, "grey") for t in rows["threads"]],
)
for t, c in colors.items():
    ax.barh([], [], color=c, label=f"{t} thread{'s' if t > 1 else ''}")
ax.set_xscale("log")
ax.set_xlabel("wall seconds per seed (log scale)")
ax.set_title("Each record's wall time, by the threads its run had")
ax.legend(frameon=False)
fig.tight_layout()

# %% [markdown]
# ## What this page found
#
# Every number of chapter 7 comes from a record whose commit, date and machine are printed above; the records were
# made by separate runs, so their seconds are comparable only within a thread count. One `bench all --seeds 3` run
# on one machine would make every record at one commit and one thread setting.
