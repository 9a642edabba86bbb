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
# 2. **The recipes' students** from three seeds on the validation split, with the test accuracy beside, and their
#    learning curves against teacher queries.
#
# The page only reads records; it trains nothing. The runs were made with
#
# ```bash
# python -m dfkd_book.experiments.levers blackbox --out OUT.jsonl \
#     --labels dfme ideal --seeds 0 1 2
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
# Two departures are the book's own, both for a laptop: the generators are a quarter as wide (width 32 against
# 128), and DFME's student learns at 0.01, not the official 0.1, at which a drafting run of the recipe collapsed
# to one class (not a record: the study's lever `dfme, student lr 0.1 (the official)` will measure it, with the
# recipes' doublings). IDEAL's official student keeps a constant learning
# rate; the book's loop decays it on a cosine, as for every student.
#
# ## The recipes' students
#
# Each run is a fresh student and a fresh generator from its seed; accuracy in %, the validation split (what
# recipes are chosen on) and the test split (what the chapter reports), mean ± sd over the seeds that ran.

# %%
runs = records.load_runs("blackbox")
rows = []
for label in dict.fromkeys(r["label"] for r in runs):
    rs = [r for r in runs if r["label"] == label]
    rows.append(
        {
            "recipe": label,
            "seeds": len(rs),
            "validation %": stats.mean_sd_text([r["val_acc"] for r in rs]),
            "test %": stats.mean_sd_text([r["test_acc"] for r in rs]),
            "student steps": f"{rs[0]['steps']:,}",
            "teacher queries": f"{rs[0]['teacher_queries']['forward']:,}",
            "seconds per run": round(sum(r["train_s"] for r in rs) / len(rs)),
        }
    )
pd.DataFrame(rows).set_index("recipe")

# %% [markdown]
# The learning curves on the validation split, against the teacher queries spent so far, one line per seed:

# %%
labels = list(dict.fromkeys(r["label"] for r in runs))
fig, ax = plt.subplots(figsize=(8, 4))
for r in runs:
    c = r["curve"]
    ax.plot(
        c["teacher_forward"],
        c["val_acc"],
        color=f"C{labels.index(r['label'])}",
        alpha=0.8,
        label=r["label"] if r["seed"] == 0 else None,
    )
ax.set_xscale("log")
ax.set_xlabel("teacher queries")
ax.set_ylabel("validation accuracy (%)")
ax.legend()
fig.tight_layout()

# %% tags=["remove-cell"]
assert {r["label"] for r in runs} >= {"dfme", "ideal"}
assert all(r["teacher_queries"]["backward"] == 0 for r in runs)
chapter.passed()
