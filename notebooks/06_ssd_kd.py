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
# # 6. SSD-KD: small-scale data-free knowledge distillation
#
# Chapter 5 ended on cost: a thousand inverted images take minutes to make, and a student taught by a
# thousand images is weak. The usual answer — synthesise more — makes data-free KD the slowest kind of KD there
# is: the paper's Table 2 lists DeepInversion at 10–26 GPU-hours and ZSKT at up to 300 on CIFAR-10.
# SSD-KD {cite}`liu2024ssdkd` asks how *few* synthetic samples are enough, and answers: about 10 % of the size
# of the original training set, if they are the right ones. Three ideas make them right:
#
# 1. **Synthesis interleaved with distillation.** Every epoch, a fresh generator inverts a small batch from the
#    teacher's BN statistics, *against* the current student (eq. 2: it maximises their disagreement), so new
#    samples go where the student is still wrong.
# 2. **A modulating function φ (eq. 3)** weighs the class each sample is made for: less when its predicted
#    class is already common in the buffer (diversity), less when the teacher is sure about it (difficulty).
# 3. **A replay buffer with priority sampling (eqs. 4–6)**, borrowed from reinforcement learning: a fixed number
#    of samples, the oldest dropped; the student trains on mini-batches drawn in proportion to how much it still
#    disagrees with the teacher on each sample, with importance-sampling weights to correct the bias.
#
# The authors have not released code. `dfkd_book.ssd` is, as far as we know, the first public implementation:
# it follows the equations, and lists every choice the paper leaves open (below).

# %% tags=["remove-cell"]
# On Colab: install this book's package (Colab already has PyTorch; this never reinstalls it).
import sys

if "google.colab" in sys.modules:
    # %pip install -q "dfkd-book[book] @ git+https://github.com/dfkd-book/dfkd-book"
    pass

# %%
import time

import matplotlib.pyplot as plt
import pandas as pd
import torch

from dfkd_book import bench, config, data, inversion, kd, plot, ssd, zoo

config.describe()
config.seed_everything(0)
chapter_start = time.perf_counter()

# %% [markdown]
# ## What the paper leaves open
#
# Eq. 2–6 and Algorithm 1 fix most of the method. These are the places where they do not, and what this book
# chose:

# %%
pd.DataFrame.from_dict(ssd.OPEN_CHOICES, orient="index", columns=["this book's choice"])

# %% [markdown]
# ## The recipe
#
# One recipe, shared with `python -m dfkd_book.bench ssd-kd`: the shipped LeNet-5-BN teacher (BN statistics
# are what the generator inverts), a LeNet-5-Half student, and a total synthetic budget far below the 60,000
# images of the Fashion-MNIST training set.

# %%
recipe = bench.ssd_recipe()
run = recipe["ssd"]
n_synthetic = run["epochs"] * run["synthesis_batch"]
print(f"{run['epochs']} epochs × {run['synthesis_batch']} synthetic samples = {n_synthetic:,} "
      f"({100 * n_synthetic / 60_000:.1f} % of the training set); buffer |B| = {run['capacity']:,}")
pd.Series({k: v for k, v in run.items()}, name="value").to_frame()

# %%
test = data.load("fashion-mnist", "test")
classes = test.classes
teacher = zoo.teacher("lenet5bn", "fashion-mnist")
teacher_acc = kd.evaluate(teacher, test)
print(f"teacher LeNet-5-BN: {100 * teacher_acc:.2f} %")

# %% [markdown]
# ## The modulating function φ
#
# φ(x) = (1 − share of x's predicted class in the buffer) · (1 − p_T(x))^γ. A sample of a class that fills
# half the buffer, which the teacher calls with 95 % confidence, gets 0.5 · 0.05² ≈ 0.001: its cross-entropy
# hardly counts. A sample of a rare class the teacher hesitates about keeps most of its weight:

# %%
p = torch.linspace(0.1, 1.0, 91)  # the teacher's probability of class 0, the rest spread evenly
logits = torch.cat([p[:, None], ((1 - p) / 9)[:, None].expand(-1, 9)], 1).clamp_min(1e-12).log()
fig, ax = plt.subplots(figsize=(6, 3))
for share in (0.0, 0.1, 0.5):
    buffer_classes = torch.tensor([0] * round(100 * share) + [1] * round(100 * (1 - share)))
    ax.plot(p, ssd.modulating_function(logits, buffer_classes, gamma=run["gamma"]),
            label=f"class 0 holds {100 * share:.0f} % of the buffer")
ax.set(xlabel="teacher confidence p_T(x)", ylabel="φ(x)", title=f"eq. 3 with γ = {run['gamma']}")
ax.legend(fontsize=8)
ax.grid(alpha=0.3)
fig.tight_layout()

# %% [markdown]
# ## SSD-KD, end to end
#
# `ssd.ssd_kd` runs Algorithm 1. The student is evaluated after every epoch, so its accuracy can be plotted
# against wall time.

# %%
student_ssd, hist_ssd = bench.ssd_run(teacher, test)
print(f"SSD-KD: {100 * hist_ssd.final_acc:.2f} % after {hist_ssd.seconds:.0f} s, "
      f"{hist_ssd.synthetic[-1]:,} synthetic samples")
buf = hist_ssd.buffer
idx = torch.stack([(buf.classes() == c).nonzero()[:2, 0] for c in range(10)
                   if (buf.classes() == c).sum() >= 2], 1).flatten()
fig = plot.show_images(buf.images[idx].cpu(), ncols=len(idx) // 2,
                       titles=[classes[c] for c in buf.classes()[idx]],
                       suptitle="the replay buffer at the end: two samples of each predicted class")

# %% [markdown]
# ## The same scale, the DeepInversion way
#
# Chapter 5's DeepInversion makes the same number of images first — 400 Adam steps on the pixels of each batch,
# no student in the loop — and distils afterwards with chapter 5's recipe. Same teacher, same student, same
# run, same machine.

# %%
t0 = time.perf_counter()
inv_di = inversion.deep_inversion(teacher, recipe["deepinversion_n"], (1, 32, 32),
                                  steps=bench.inversion_recipe()["steps"], batch_size=256, seed=0,
                                  **bench.inversion_recipe()["deepinversion"])
_, hist_di = bench.distill_on(teacher, inv_di.images, test, "DeepInversion")
di_wall = inv_di.seconds + hist_di.seconds
print(f"DeepInversion: {len(inv_di):,} images in {inv_di.seconds:.0f} s, student {100 * hist_di.final_acc:.2f} % "
      f"after {di_wall:.0f} s in all")

# %%
fig, ax = plt.subplots(figsize=(7, 3.5))
ax.plot(hist_ssd.wall_s, [100 * a for a in hist_ssd.test_acc], "o-", ms=3, label="SSD-KD")
ax.plot([inv_di.seconds + w for w in hist_di.wall_s], [100 * a for a in hist_di.test_acc], "-", color="C1",
        label="DeepInversion: distillation after synthesis")
ax.axvspan(0, inv_di.seconds, color="C1", alpha=0.08, label="DeepInversion: synthesis (no student yet)")
ax.axhline(100 * hist_di.final_acc, color="C1", ls=":", lw=1)
ax.set(xlabel="wall time (s)", ylabel="student test accuracy (%)", ylim=(0, 100),
       title=f"{n_synthetic:,} synthetic samples each, LeNet-5-BN → LeNet-5-Half")
ax.legend(fontsize=8, loc="lower right")
ax.grid(alpha=0.3)
fig.tight_layout()
reach = next((w for w, a in zip(hist_ssd.wall_s, hist_ssd.test_acc) if a >= hist_di.final_acc), None)
print("SSD-KD reaches DeepInversion's final accuracy after",
      f"{reach:.0f} s, {di_wall / reach:.1f}× sooner" if reach else "— never, in this run")

# %% [markdown]
# ## Fig. 2: what φ does to the synthetic samples
#
# The paper's Fig. 2 shows the classes the teacher predicts on synthetic samples, and its confidence on them,
# with and without the modulating function. Here: every sample SSD-KD made, against a run with φ ≡ 1 (the
# diversity and difficulty terms off, everything else the same) from the ablation below.

# %%
ablation = bench.ssd_ablation(teacher, test)
no_phi = ablation["baseline + PS"]
fig, axes = plt.subplots(1, 2, figsize=(10, 3))
for h, label, color in ((no_phi, "φ ≡ 1", "C7"), (ablation["SSD-KD (all)"], "with φ", "C0")):
    c = torch.cat(h.classes)
    axes[0].bar(torch.arange(10) + (0.2 if color == "C0" else -0.2), torch.bincount(c, minlength=10) / len(c),
                width=0.4, color=color, label=label)
    axes[1].hist(torch.cat(h.confidence), bins=20, range=(0, 1), alpha=0.6, color=color, label=label, density=True)
axes[0].set(xticks=range(10), xticklabels=classes, ylabel="share of samples", title="predicted class")
axes[0].tick_params(axis="x", rotation=60, labelsize=7)
axes[1].set(xlabel="teacher confidence p_T(x)", ylabel="density", title="difficulty")
for ax in axes:
    ax.legend(fontsize=8)
fig.tight_layout()

# %% [markdown]
# ## Table 4 at a reduced budget
#
# The paper's ablation switches the three modules — priority sampling (PS), the difficulty term, the diversity
# term — on one group at a time. Each row below is a full SSD-KD run with `bench.ssd_recipe()["ablation"]`'s
# smaller budget, the same seed for all.

# %%
paper_t4 = {"baseline": 87.35, "baseline + PS": 90.28, "baseline + difficulty": 88.57,
            "baseline + diversity": 89.12, "baseline + difficulty + diversity": 89.95, "SSD-KD (all)": 92.92}
t4 = pd.DataFrame({name: {"student accuracy (%)": 100 * h.final_acc, "wall s": h.seconds,
                          "paper, CIFAR-10 ResNet-34 → ResNet-18 (%)": paper_t4[name]}
                   for name, h in ablation.items()}).T
t4

# %% [markdown]
# ## Paper vs this book

# %%
plot.paper_vs_book([
    ("SSD-KD student (paper: CIFAR-10, ResNet-34 → ResNet-18, Table 1)", 92.92, 100 * hist_ssd.final_acc),
    ("DeepInversion student (paper: same pair, Table 2)", 93.26, 100 * hist_di.final_acc),
    ("SSD-KD retention, % of the teacher (paper: 92.92 / 95.70)", 100 * 92.92 / 95.70,
     100 * hist_ssd.final_acc / teacher_acc),
])

# %% [markdown]
# The paper's wall times are GPU-hours on CIFAR; the ratio is what carries over. Its Table 2 gives
# DeepInversion 25.62 h against SSD-KD's 4.20 h at a relaxed synthetic scale (ResNet-34 → ResNet-18), and its
# Table 1 SSD-KD 1.11 h at 10 % scale.

# %%
pd.DataFrame({
    "paper (CIFAR-10, V100)": {"DeepInversion wall time": "25.62 h", "SSD-KD wall time": "4.20 h (Table 2)",
                               "DeepInversion / SSD-KD": f"{25.62 / 4.20:.1f}×"},
    "this book (Fashion-MNIST, this machine)": {
        "DeepInversion wall time": f"{di_wall:.0f} s", "SSD-KD wall time": f"{hist_ssd.seconds:.0f} s",
        "DeepInversion / SSD-KD": f"{di_wall / hist_ssd.seconds:.1f}× (to DeepInversion's accuracy: "
                                  + (f"{di_wall / reach:.1f}×)" if reach else "never)")},
})

# %%
# Sanity checks: a broken method fails here (and CI runs this notebook on the quick profile).
assert hist_ssd.synthetic[-1] == n_synthetic <= 6_000
assert len(buf) <= run["capacity"] and 0 <= buf.images.min() and buf.images.max() <= 1
assert hist_ssd.final_acc > config.pick(quick=0.15, full=0.5), hist_ssd.final_acc
assert all(h.final_acc > 0.1 for h in ablation.values())
print(f"chapter 6 ran in {time.perf_counter() - chapter_start:.0f} s (profile {config.profile()}, {config.device()})")

# %% [markdown]
# ## Where this chapter falls short
#
# * **86 %.** This book set SSD-KD the target of 86 % with at most 6,000 synthetic samples (10 % of the
#   training set). The chapter's run uses 1,024 — the scale at which it can afford the DeepInversion baseline
#   beside it on two CPU cores — and its student is well below that. Measured outside this chapter (same teacher
#   and student, seed 0, 2 CPU cores): SSD-KD at 48 epochs × 96 = 4,608 samples (100 inversion and 150
#   distillation steps per epoch, about 18 minutes) reached 77.3 %, levelling off from epoch 15; the *real*
#   training images, 4,608 or 6,000 of them distilled by chapter 5's student recipe, gave 85.9 % and 86.2 %.
#   So the target asks synthetic samples as informative as real ones at this scale; the remaining gap is
#   sample quality, which on this hardware means more inversion steps than a chapter can afford (chapter 7,
#   exercise 1, draws the real-data curve).
# * **Table 4's direction.** In the paper every module lifts the baseline. At the ablation's budget — 8 epochs
#   of 50 + 50 steps, 512 synthetic samples — one seed decides little: the run above (seed 0) put the baseline
#   mid-table. Over seeds 0, 1, 2 (exercise 5's code, measured outside this chapter) the means were baseline
#   44.3, + PS 51.2, + difficulty 47.6, + diversity 45.9, + difficulty + diversity 56.8, all three 49.5 % —
#   every module above the baseline, as in the paper, but the baseline alone ranged from 27.4 to 62.5 % across
#   the three seeds (standard deviations 8–18 points per row), so at this budget the direction is a hint, not a
#   measurement. A larger budget is the honest test; it is GPU work.
# * **The generator.** The paper builds on Fast's meta-learned generator; this chapter uses the small DFAD
#   generator of chapter 4, freshly initialised every epoch as Algorithm 1 says.
#
# ## Exercises
#
# 1. **How small is small?** Halve and double `synthesis_batch` (the synthetic scale), up to 6,000 samples in
#    all. Plot accuracy and wall time against the scale, like the paper's Fig. 4.
# 2. **A generator that remembers.** Run with `reinit_generator=False`. Does a generator carried from epoch to
#    epoch need fewer inversion steps `g_steps`?
# 3. **γ.** Set γ = 0 (no difficulty term) and γ = 5. What happens to the confidence histogram of Fig. 2?
# 4. **Priority without correction.** Set β = 0 (no importance-sampling correction). Is the student better or
#    worse, and why might a biased sampler still help a small student?
# 5. **Table 4, properly.** Run every row of `bench.SSD_ABLATION` with the full budget and three seeds —
#    `bench.ssd_run(teacher, test, seed=s, **bench.SSD_ABLATION[row])`. Which modules lift the baseline by more
#    than the spread between seeds?
