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
# 1. **Synthesis interleaved with distillation.** Every epoch of its Algorithm 1, a fresh generator inverts a
#    small batch from the teacher's BN statistics, *against* the current student (eq. 2: it maximises their
#    disagreement), so new samples go where the student is still wrong.
# 2. **A modulating function φ (eq. 3)** weighs the class each sample is made for: less when its predicted
#    class is already common in the buffer (diversity), less when the teacher is sure about it (difficulty).
# 3. **A replay buffer with priority sampling (eqs. 4–6)**, borrowed from reinforcement learning: a fixed number
#    of samples, the oldest dropped; the student trains on mini-batches drawn in proportion to how much it still
#    disagrees with the teacher on each sample, with importance-sampling weights to correct the bias.
#
# The authors have not released code. `dfkd_book.methods.ssd` is, as far as we know, the first public
# implementation: it follows the equations, and lists every choice the paper leaves open (below). `methods.SSDKD`
# runs it as a method of the book's one student loop, `distill`.

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
import time

import matplotlib.pyplot as plt
import pandas as pd
import torch
from dfkd_book import (
    config,
    data,
    distill,
    kd,
    plot,
    recipes,
    records,
    stats,
    zoo,
)
from dfkd_book.experiments import leaderboard
from dfkd_book.methods import ssd
from IPython.display import display

config.describe()
config.seed_everything(0)
chapter_start = time.perf_counter()

# %%
from dfkd_book import chapters

chapters.show("06_ssd_kd")

# %% [markdown]
# ## What the paper leaves open
#
# Eq. 2–6 and Algorithm 1 fix most of the method. These are the places where they do not, and what this book
# chose:

# %%
pd.set_option("display.max_colwidth", None)  # whole sentences in tables
pd.DataFrame.from_dict(
    ssd.OPEN_CHOICES, orient="index", columns=["this book's choice"]
)

# %% [markdown]
# ## The recipe
#
# One recipe, `ssd-kd` of `dfkd_book.recipes`, shared with `python -m dfkd_book.experiments.bench ssd-kd`: the shipped
# LeNet-5-BN teacher (BN statistics are what the generator inverts), a LeNet-5-Half student, and a total
# synthetic budget far below the 60,000 images of the Fashion-MNIST training set. The student's budget
# `student.steps` counts optimiser steps; Algorithm 1 runs one epoch — a new synthetic batch of
# `method.synthesis_batch` samples, `method.g_steps` inversion steps — every `method.kd_steps` of them.
# `extra.ablation` is the smaller budget of the Table 4 runs, in epochs of Algorithm 1. The `deepinversion`
# recipe of chapter 5 is the baseline further down. A second recipe, `ssd-kd-fast`, is the same SSD-KD with
# the generator of Fast (Fang et al., 2022) {cite}`fang2022fast` that SSD-KD builds on — carried over the whole
# run and meta-learned, a few steps per batch — and the warm-up of chapter 5's students: the section "SSD-KD with
# Fast's generator" below says why. This chapter's own runs take half the recipes' epochs — half their samples
# and half their student steps — so that the chapter, DeepInversion beside both, runs in about twenty-five
# minutes on two CPU cores; "Paper vs this book" gives the recipes' full runs from three seeds.

# %%
r = recipes.get("ssd-kd")
epochs = -(-r.student.steps // r.settings["kd_steps"])
n_synthetic = epochs * r.settings["synthesis_batch"]
print(
    f"{epochs} epochs of Algorithm 1 × {r.settings['kd_steps']} student steps "
    f"= {r.student.steps:,} student steps; "
    f"{epochs} × {r.settings['synthesis_batch']} synthetic samples "
    f"= {n_synthetic:,} "
    f"({100 * n_synthetic / 60_000:.1f} % of the training set); "
    f"buffer |B| = {r.settings['capacity']:,}"
)
# the chapter's own runs: half the recipe's epochs
CHAPTER_EPOCHS = max(epochs // 2, 1)
chapter_steps = CHAPTER_EPOCHS * r.settings["kd_steps"]
chapter_n = CHAPTER_EPOCHS * r.settings["synthesis_batch"]
print(
    f"the chapter's runs: {CHAPTER_EPOCHS} epochs, {chapter_steps:,} student "
    f"steps, {chapter_n:,} synthetic samples"
)
pd.concat(
    {
        name: recipes.table(name)
        for name in ("ssd-kd", "ssd-kd-fast", "deepinversion")
    },
    axis=1,
).fillna("")

# %%
test = data.load("fashion-mnist", "test")
classes = test.classes
shape = (data.channels("fashion-mnist"), 32, 32)
teacher = zoo.teacher(r.teacher, "fashion-mnist")
teacher_acc = kd.evaluate(teacher, test)
print(f"teacher LeNet-5-BN: {100 * teacher_acc:.2f} %")

# %% [markdown]
# ## One round's weights, from scratch
#
# Write p_T(x) for the teacher's softmax probability of its own predicted class c_T(x) on a synthetic sample x.
# The **modulating function** (eq. 3) weighs the sample's task loss by how rare its class is in the replay buffer
# 𝓑 and by how unsure the teacher is about it:
#
# $$\varphi(x) = \Big(1 - \frac{1}{|\mathcal{B}|}\sum_{x'\in\mathcal{B}} \mathbb{1}\big[c_T(x') = c_T(x)\big]\Big)
#   \cdot \big(1 - p_T(x)\big)^{\gamma} .$$
#
# The student's mini-batches are drawn from the N samples of the buffer with the **priority sampling**
# probabilities of eq. 6, where δ_i is sample i's priority, its importance-weighted KL divergence
# δ_i = w_i · KL(T(x_i) ‖ S(x_i)) the last time it was drawn (eq. 4):
#
# $$P(i) = \frac{(|\delta_i| + \epsilon)^{\alpha}}{\sum_{j=1}^{N}(|\delta_j| + \epsilon)^{\alpha}},$$
#
# and each drawn sample's loss is multiplied by its **importance-sampling weight** (eq. 5), normalised by the
# largest weight in the buffer:
#
# $$w_i = \frac{\big(N \cdot P(i)\big)^{-\omega}}{\max_{j}\big(N \cdot P(j)\big)^{-\omega}} .$$
#
# (Schaul et al. 2016 and the paper write the exponent ω as β; the book keeps β for ZSKD's Dirichlet scale. In the
# code it is `beta`.)
#
# The three, from scratch, on the teacher's logits for six samples, a buffer of eight teacher-predicted classes
# and six priorities, next to `ssd.modulating_function` and `ssd.ReplayBuffer`'s `probabilities` and
# `importance_weights`, with the recipe's γ, α, ω and ε:

# %%
gamma, alpha, beta, eps = (
    r.settings[k] for k in ("gamma", "alpha", "beta", "eps")
)
# the teacher, 6 samples, K = 4
tiny_logits = 3 * torch.randn(6, 4, generator=torch.Generator().manual_seed(0))
# c_T of the samples in the buffer
tiny_buffer = torch.tensor([0, 0, 0, 1, 2, 0, 1, 3])
# the priorities of a buffer of N = 6
delta = torch.tensor([0.5, 2.0, 0.01, 1.2, 0.3, 0.0])

prob = tiny_logits.softmax(1)
c_T, p_T = prob.argmax(1), prob.max(1).values
# the share of x's class in the buffer
share = (tiny_buffer[None, :] == c_T[:, None]).float().mean(1)
phi = (1 - share) * (1 - p_T) ** gamma  # eq. 3
P = (delta.abs() + eps) ** alpha / ((delta.abs() + eps) ** alpha).sum()  # eq. 6
w_is = (len(P) * P) ** -beta / ((len(P) * P) ** -beta).max()  # eq. 5

buffer = ssd.ReplayBuffer(capacity=6, alpha=alpha, beta=beta, eps=eps)
buffer.add(torch.zeros(6, *shape), tiny_logits, delta)
assert torch.allclose(
    phi, ssd.modulating_function(tiny_logits, tiny_buffer, gamma)
)
assert torch.allclose(P, buffer.probabilities())
assert torch.allclose(w_is, buffer.importance_weights(torch.arange(6)))
half, sure = 0.5, 0.95
print(
    f"a sample whose class fills {100 * half:.0f} % of the buffer, "
    f"teacher confidence {100 * sure:.0f} %: "
    f"φ = {(1 - half) * (1 - sure) ** gamma:.5f}"
)
pd.DataFrame(
    {
        "c_T": c_T,
        "p_T": p_T,
        "φ (eq. 3)": phi,
        "priority δ": delta,
        "P (eq. 6)": P,
        "w (eq. 5)": w_is,
    }
).round(4)

# %% [markdown]
# A sample of a class that already fills half the buffer, which the teacher calls with high confidence, gets
# almost no weight (printed above): its cross-entropy hardly counts. A sample of a rare class the teacher
# hesitates about keeps most of it. The sample with the largest priority is drawn most often and has the smallest
# importance weight; the one the student already matches is drawn least and counts fully when it is:

# %%
# the teacher's probability of class 0, the rest spread evenly
p = torch.linspace(0.1, 1.0, 91)
logits = (
    torch.cat([p[:, None], ((1 - p) / 9)[:, None].expand(-1, 9)], 1)
    .clamp_min(1e-12)
    .log()
)
fig, ax = plt.subplots(figsize=(6, 3))
for share in (0.0, 0.1, 0.5):
    buffer_classes = torch.tensor(
        [0] * round(100 * share) + [1] * round(100 * (1 - share))
    )
    ax.plot(
        p,
        ssd.modulating_function(logits, buffer_classes, gamma=gamma),
        label=f"class 0 holds {100 * share:.0f} % of the buffer",
    )
ax.set(
    xlabel="teacher confidence p_T(x)",
    ylabel="φ(x)",
    title=f"eq. 3 with γ = {gamma}",
)
ax.legend(fontsize=8)
ax.grid(alpha=0.3)
fig.tight_layout()

# %% [markdown]
# ## SSD-KD, end to end
#
# `distill(teacher, student, methods.SSDKD(...), steps=...)` runs Algorithm 1 (here `r.build()`, the method of
# the recipe): before every `kd_steps`-th student step the method inverts a new batch into the buffer, and the
# loop's mini-batches come from the buffer with their importance weights. The inversion is the inner
# maximisation of the paper's objective (eq. 2), a min–max game over the student S and the generator G, with
# x = g(z) a synthetic sample:
#
# $$\begin{aligned}\min_S \max_G \; \mathbb{E}_{z}\Big[\, & \lambda_{adv}\,\mathrm{KL}\big(T(x)\,\|\,S(x)\big) \\
#   & - \lambda_{BN}\,\mathcal{L}_{BN}(x) - \lambda_{task}\,\varphi(x)\,\mathrm{CE}\big(T(x), y\big)\Big],\end{aligned}$$
#
# so the generator makes samples that match the teacher's BN statistics, that the teacher assigns to the class y
# each is made for (weighted by φ), and on which the student still disagrees with the teacher (the λ are the
# recipe's `bn_weight`, `adv_weight` and `task_weight`). The paper writes eq. 2 as
# $\min_S \max_G \mathbb{E}_{x=\delta\circ g(z)}[\mathcal{L}_{BN} + \mathcal{L}_{KD} + \varphi\,\mathcal{L}_{Task}]$,
# all three with a plus sign under the one min–max; read literally, the generator would also *raise* the BN and
# task losses. The signs above are those of the Fast and CMI code it builds on (the open-choices table). Each new sample enters the buffer with the priority of
# eq. 4, its KL divergence weighted by the importance weight of its previous draw (1 for a new sample):
#
# $$\delta_i(x) = w_{i-1}(x)\,\mathrm{KL}\big(T(x)\,\|\,S(x)\big).$$
#
# The student is evaluated after every epoch, so its accuracy can be plotted against wall time.

# %%
config.seed_everything(0)
res_ssd = distill(
    teacher,
    zoo.student(r.student_arch),
    r.build(),
    eval_set=test,
    seed=0,
    name="SSD-KD",
    **r.student.kwargs(steps=chapter_steps, eval_every=r.settings["kd_steps"]),
)
buf = res_ssd.method.buffer
print(
    f"SSD-KD: {100 * res_ssd.final_acc:.2f} % "
    f"after {res_ssd.history.seconds:.0f} s, "
    f"{res_ssd.steps:,} student steps, "
    f"{res_ssd.method.synthetic:,} synthetic samples"
)
idx = torch.stack(
    [
        (buf.classes() == c).nonzero()[:2, 0]
        for c in range(10)
        if (buf.classes() == c).sum() >= 2
    ],
    1,
).flatten()
fig = plot.show_images(
    buf.images[idx].cpu(),
    ncols=len(idx) // 2,
    titles=[classes[c] for c in buf.classes()[idx]],
    suptitle=(
        "the replay buffer at the end: two samples of each predicted class"
    ),
)

# %% [markdown]
# ## The same scale, the DeepInversion way
#
# Chapter 5's DeepInversion (`methods.DeepInversion`, the `deepinversion` recipe) makes the same number of images
# first — `method.steps` Adam steps on the pixels of each batch, no student in the loop — and then distils on them
# with the same student protocol: the same number of student steps at the same batch. Same teacher, same student,
# same run, same machine.

# %%
r_di = recipes.get("deepinversion")
di_steps = chapter_steps
config.seed_everything(0)
res_di = distill(
    teacher,
    zoo.student(r_di.student_arch),
    r_di.build(n=chapter_n),
    eval_set=test,
    seed=0,
    name="DeepInversion",
    **r_di.student.kwargs(steps=di_steps, eval_every=r.settings["kd_steps"]),
)
inv_di = res_di.method.inversion
di_wall = res_di.history.seconds  # synthesis and distillation
print(
    f"DeepInversion: {len(inv_di):,} images × {inv_di.steps} steps "
    f"in {inv_di.seconds:.0f} s, "
    f"student {100 * res_di.final_acc:.2f} % after {di_steps} student steps, "
    f"{di_wall:.0f} s in all"
)

# %% [markdown]
# And the third student of the race: SSD-KD as the `ssd-kd-fast` recipe makes it, Fast's meta-generator with a
# twelfth of the generator steps per batch, its student warming up as DeepInversion's does — same samples, same
# student steps.

# %%
r_fast = recipes.get("ssd-kd-fast")
config.seed_everything(0)
res_fast = distill(
    teacher,
    zoo.student(r_fast.student_arch),
    r_fast.build(),
    eval_set=test,
    seed=0,
    name="SSD-KD, Fast's generator",
    **r_fast.student.kwargs(
        steps=chapter_steps, eval_every=r.settings["kd_steps"]
    ),
)
print(
    f"SSD-KD, Fast's generator: {100 * res_fast.final_acc:.2f} % "
    f"after {res_fast.history.seconds:.0f} s, "
    f"{res_fast.steps:,} student steps, "
    f"{res_fast.method.synthetic:,} synthetic samples"
)

# %%
fig, axes = plt.subplots(1, 3, figsize=(12, 3.5), sharey=True)
for ax, key, xlabel in (
    (axes[0], "wall_s", "wall time (s)"),
    (axes[1], "step", "student steps"),
    (axes[2], "teacher_backward", "teacher backward passes (samples)"),
):
    for res, label, color in (
        (res_ssd, "SSD-KD", "C0"),
        (res_fast, "SSD-KD, Fast's generator", "C2"),
        (res_di, "DeepInversion", "C1"),
    ):
        ax.plot(
            getattr(res.history, key),
            [100 * a for a in res.history.test_acc],
            "-" if color == "C1" else "o-",
            ms=3,
            color=color,
            label=label,
        )
    ax.axhline(100 * res_di.final_acc, color="C1", ls=":", lw=1)
    ax.set(xlabel=xlabel, ylim=(0, 100))
    ax.grid(alpha=0.3)
axes[0].axvspan(
    0,
    inv_di.seconds,
    color="C1",
    alpha=0.08,
    label="DeepInversion: synthesis (no student yet)",
)
axes[0].set_ylabel("student test accuracy (%)")
axes[0].legend(fontsize=7, loc="lower right")
fig.suptitle(
    f"{chapter_n:,} synthetic samples each, LeNet-5-BN → LeNet-5-Half",
    fontsize=10,
)
fig.tight_layout()


def reaches(res):
    """The wall time (s) at which ``res``'s student first reaches the
    DeepInversion student's final accuracy, or None."""
    return next(
        (
            w
            for w, a in zip(res.history.wall_s, res.history.test_acc)
            if a >= res_di.final_acc
        ),
        None,
    )


reach, reach_fast = reaches(res_ssd), reaches(res_fast)
for label, when in (
    ("SSD-KD", reach),
    ("SSD-KD, Fast's generator", reach_fast),
):
    print(
        f"{label} reaches DeepInversion's final accuracy",
        f"after {when:.0f} s, {di_wall / when:.1f}× sooner"
        if when
        else "— never, in this run",
    )

# %% [markdown]
# **Reading the race.** The paper's claim is that SSD-KD reaches DeepInversion's accuracy in a fraction of its
# time. Here both students take the same number of steps over the same number of samples, so the three panels
# separate the costs: per sample, SSD-KD's generator queries the teacher `g_steps` times where DeepInversion's
# pixels do `method.steps` times (the right panel), but each of those generator steps also runs the generator and
# the student, and on a CPU that costs more wall time than a batch of pixels. The line printed under the figure
# says whether each SSD-KD student reached DeepInversion's final accuracy in this run, and how much sooner:
# the paper's Algorithm 1, with a fresh generator and a hundred steps per batch, pays for its generator in wall
# time; Fast's meta-generator needs a twelfth of those steps. One seed of each here; the race from three seeds
# follows.

# %% [markdown]
# ### The race from three seeds
#
# The same race, DeepInversion against SSD-KD with Fast's generator at this chapter's scale, ran from seeds 0, 1
# and 2 one after another on the same machine, nothing beside it (`python -m
# dfkd_book.experiments.levers ssd-race`, kept in `results/runs/ssd-race.jsonl`). For each seed: when did the SSD-KD student first reach *that seed's*
# DeepInversion student's final accuracy — in wall time, in student steps, in teacher queries — and how much
# sooner is that than DeepInversion's whole run? The three seeds ran in another session than the chapter's own
# race above, on a machine about half as fast: compare the ratios, not the seconds.

# %%
race_runs = pd.DataFrame(records.load_runs("ssd-race"))
race_rows = []
for seed, runs in race_runs.groupby("seed"):
    di_run = runs[runs["method"] == "deepinversion"].iloc[-1]
    fast_run = runs[runs["method"] == "ssd-kd-fast"].iloc[-1]
    h_di, h = di_run["history"], fast_run["history"]
    queries = [
        f + b for f, b in zip(h["teacher_forward"], h["teacher_backward"])
    ]
    first = next(
        (i for i, a in enumerate(h["test_acc"]) if a >= di_run["test_acc"]),
        None,
    )
    di_queries = h_di["teacher_forward"][-1] + h_di["teacher_backward"][-1]
    race_rows.append(
        {
            "seed": seed,
            "DeepInversion %": di_run["test_acc"],
            "DeepInversion s": di_run["wall_s"],
            "SSD-KD (Fast) %": fast_run["test_acc"],
            "SSD-KD (Fast) s": fast_run["wall_s"],
            "reaches DI after s": None if first is None else h["wall_s"][first],
            "× sooner (wall)": None
            if first is None
            else di_run["wall_s"] / h["wall_s"][first],
            "× fewer student steps": None
            if first is None
            else h_di["step"][-1] / h["step"][first],
            "× fewer teacher queries": None
            if first is None
            else di_queries / queries[first],
        }
    )
race_table = pd.DataFrame(race_rows).set_index("seed")
race_summary = race_table.agg(["mean", "std"])
display(
    pd.concat([race_table, race_summary])
    .style.format("{:.2f}", na_rep="never")
    .format("{:.0f}", subset=[c for c in race_table if c.endswith(" s")])
)
print(
    f"{race_table['reaches DI after s'].notna().sum()} of {len(race_table)} "
    "seeds reach DeepInversion's final accuracy; "
    f"{race_summary.loc['mean', '× sooner (wall)']:.1f} ± "
    f"{race_summary.loc['std', '× sooner (wall)']:.1f}× sooner in wall time "
    f"({race_runs['device'].iloc[0]}, {race_runs['profile'].iloc[0]} profile)"
)

# %% [markdown]
# ## Table 4 from several seeds
#
# The paper's ablation switches the three modules — priority sampling (PS), the difficulty term, the diversity
# term — on one group at a time (`ssd.ABLATION`: the switches `priority`, `difficulty`, `diversity` of
# `methods.SSDKD`). Each row is a full SSD-KD run with the recipe's `extra.ablation` budget — fewer epochs of
# Algorithm 1 than the recipe, and fewer inversion steps per epoch — from several seeds, each seed a fresh
# student and fresh samples. Eighteen rows were too many for this chapter's half hour: `python -m
# dfkd_book.experiments.levers ssd-table4` ran them, most on a GPU fifteen at a time, and
# `results/runs/ssd-table4.jsonl` keeps every run. Beside each
# row's mean: its lift over the baseline *of the same seed* (paired: the seed fixes the student's initialisation
# and the order of the draws, so pairing removes part of the spread), with the standard deviation of those lifts.

# %%
ab = r.extras["ablation"]  # this profile's (the chapter's runs below)
ab_t4 = recipes.get("ssd-kd", "full").extras["ablation"]  # the records'
print(
    f"{ab_t4['epochs']} epochs × ({ab_t4['g_steps']} inversion "
    f"+ {ab_t4['kd_steps']} student steps): "
    f"{ab_t4['epochs'] * ab_t4['kd_steps']:,} student steps, "
    f"{ab_t4['epochs'] * r.settings['synthesis_batch']:,} synthetic "
    "samples per row"
)
t4_runs = pd.DataFrame(records.load_runs("ssd-table4"))
# the runs of the recipe's Table 4 budget only
t4_runs = t4_runs[t4_runs["budget"].map(lambda b: b == ab_t4)].copy()
t4_runs["device"] = t4_runs["device"].str.split(",").str[0]
per_seed = t4_runs.pivot_table(
    index=["device", "seed"], columns="row", values="test_acc"
)[list(ssd.ABLATION)]
lift = per_seed.sub(per_seed["baseline"], axis=0)
# the paper's Table 4, from the method table of dfkd_book.recipes
paper_t4 = {
    row: recipes.published("ssd-kd", f"table 4: {row}").value
    for row in ssd.ABLATION
}
t4 = pd.DataFrame(
    {
        "student accuracy (%)": per_seed.mean(),
        "sd": per_seed.std(),
        "seeds": per_seed.count(),
        "lift over the same seed's baseline": lift.mean(),
        "sd of the lift": lift.std(),
        "paper, CIFAR-10 ResNet-34 → ResNet-18 (%)": pd.Series(paper_t4),
        "paper's lift": pd.Series(paper_t4) - paper_t4["baseline"],
    }
)
t4.round(2)

# %%
per_seed.round(2)

# %%
fig, ax = plt.subplots(figsize=(7, 3))
for i, row in enumerate(ssd.ABLATION):
    v = per_seed[row].dropna()
    ax.scatter(v, [i] * len(v), color="C0", alpha=0.6, s=18)
    ax.errorbar(v.mean(), i, xerr=v.std(), fmt="D", color="k", capsize=3, ms=5)
ax.set(
    yticks=range(len(ssd.ABLATION)),
    yticklabels=list(ssd.ABLATION),
    xlabel="student test accuracy (%): seeds (dots), mean ± sd",
    title="Table 4 on Fashion-MNIST, seed by seed",
)
ax.invert_yaxis()
ax.grid(axis="x", alpha=0.3)
fig.tight_layout()

# %% [markdown]
# **Reading Table 4.** The paper's order — every module above the baseline, all three together best — is the
# claim to test. Read the lifts against their own spread: the printed check below applies the book's one rule,
# a paired t-test at the 5 % level over the seeds each row shares with the baseline, and says which rows clear it
# here.

# %%
for row in list(ssd.ABLATION)[1:]:
    both = per_seed[[row, "baseline"]].dropna()
    c = stats.compare(both[row], both["baseline"], paired=True)
    verdict = (
        "not separable from the baseline"
        if not c.significant
        else "above the baseline"
        if c.diff > 0
        else "below the baseline"
    )
    paper_lift = paper_t4[row] - paper_t4["baseline"]
    print(f"{row:36s} {verdict}; paper {paper_lift:+.2f}\n    lift {c}")

# %% [markdown]
# ## Two earlier readings, and Fast's generator
#
# Two places where this book first read Algorithm 1 otherwise, now kept behind switches (`ssd.READINGS`) so that
# their effect can be measured: the priority of eq. 4 multiplied by *this* draw's importance-sampling weight wᵢ
# (the one that weights the loss) rather than the previous draw's wᵢ₋₁ as eq. 4 writes it
# (`priority_weight="current"`), and the batch that joins the replay buffer generated again with the generator
# in eval mode — its running BN statistics — rather than the batch its inversion steps optimised
# (`buffer_batch="eval"`). Then the generator: SSD-KD builds on Fast (Fang et al., 2022), whose generator is not
# re-initialised every epoch but carried over and meta-learned — every epoch's steps run on a copy, and the
# generator takes a Reptile step towards it (`meta=True`) — so that a few steps make a new batch. Each row changes
# one Table 4 row at the same budget, ran on the CPU from the seeds of that row's CPU runs
# (`python -m dfkd_book.experiments.levers ssd-table4 --labels`, kept in `results/runs/ssd-levers.jsonl`), and is
# compared with it seed by seed by a paired t-test at the 5 % level.

# %%
lev = pd.DataFrame(records.load_runs("ssd-levers"))
lev = lev[lev["budget"].map(lambda b: b == ab_t4)].copy()
lev["device"] = lev["device"].str.split(",").str[0]
lev["of"] = lev["changes"].map(lambda c: c["of"])
lev["synthesis steps per epoch"] = lev["settings"].map(lambda st: st["g_steps"])
lever_rows = []
for row, d in lev.groupby("row", sort=False):
    base = d["of"].iloc[0]  # the Table 4 row it changes, paired seed by seed
    pair = pd.concat(
        {
            "lever": d.set_index(["device", "seed"])["test_acc"],
            "of": per_seed[base],
        },
        axis=1,
    ).dropna()
    c = stats.compare(pair["lever"], pair["of"], paired=True)
    wall = t4_runs.set_index(["row", "device", "seed"])["wall_s"]
    base_wall = wall.reindex([(base, *i) for i in pair.index]).mean()
    lever_rows.append(
        {
            "change": row,
            "generator steps / epoch": d["synthesis steps per epoch"].iloc[0],
            "student (%)": pair["lever"].mean(),
            "the row it changes (%)": pair["of"].mean(),
            "paired difference": c.diff,
            "standard error": c.se,
            "seeds": c.n[0],
            "p": c.p,
            "beyond the noise": "yes" if c.significant else "no",
            "wall s (the row's)": f"{d['wall_s'].mean():.0f} ({base_wall:.0f})",
        }
    )
pd.DataFrame(lever_rows).set_index("change").round(2)

# %% [markdown]
# **Reading the rows.** The book's two earlier readings of Algorithm 1, together, moved the students by less than
# the seeds scatter them, one way on some seeds and the other way on others: getting eq. 4 and the buffer's batch
# right was a matter of following the paper, not of accuracy at this budget. Fast's meta-generator did better
# than Algorithm 1's fresh generator on every seed, with a tenth of the generator steps and in a fraction of the
# wall time; three seeds are too few for a t-test to call that beyond the noise, but no seed went the other way.
# A generator initialised afresh every epoch (Algorithm 1, line 4) needs many steps to make each batch, and those
# steps are most of SSD-KD's time here; a meta-learned one, carried over, made better batches with a tenth of
# them. (This row changes three things at once — carried over, meta-learned, fewer steps — and does not separate
# them.)

# %% [markdown]
# ## SSD-KD with Fast's generator, at the recipe's budget
#
# So the meta-generator went to the recipe's full budget — 100 epochs, 6,000 synthetic samples, 10,000 student
# steps — on a GPU, fifteen to twenty runs at a time (`python -m dfkd_book.experiments.levers ssd-table4`, kept in
# `results/runs/ssd-levers.jsonl`),
# with two more changes measured there: the student's warm-up of chapter 5, and the generator's steps per
# batch. The first table pairs each change with the row it changes, seed by seed. Then every Table 4 row again,
# with Fast's generator and the warm-up, at the recipe's budget: the printed line under it compares the seeds'
# spread there with the spread at Table 4's smaller budget above.

# %%
r_full = recipes.get(
    "ssd-kd", "full"
)  # the records' budget, whatever this profile
full_budget = {
    "epochs": r_full.student.steps // r_full.settings["kd_steps"],
    "g_steps": r_full.settings["g_steps"],
    "kd_steps": r_full.settings["kd_steps"],
}
lev_all = pd.DataFrame(records.load_runs("ssd-levers"))
lev_full = lev_all[lev_all["budget"].map(lambda b: b == full_budget)].copy()
# a run is paired with runs of the same seed on the same device only
full_seed = lev_full.pivot_table(
    index=["device", "seed"], columns="row", values="test_acc"
)
FAST = ", Fast meta-generator, 8 g-steps"
WARM = ", student warm-up 500"
steps_of = [
    (
        "the student's warm-up, SSD-KD (all)",
        f"SSD-KD (all){FAST}",
        f"SSD-KD (all){FAST}{WARM}",
    ),
    (
        "20 generator steps per batch, not 8",
        f"SSD-KD (all){FAST}{WARM}",
        f"SSD-KD (all), Fast meta-generator, 20 g-steps{WARM}",
    ),
    (
        "the student's warm-up, Table 4's baseline",
        f"baseline{FAST}",
        f"baseline{FAST}{WARM}",
    ),
]
full_rows = []


def paired(a, b):
    """The book's one rule, a paired t-test (stats.compare), of ``a`` against
    ``b`` (two per-seed Series) on the seeds both have, and those seeds' pairs
    (columns a, b)."""
    both = pd.concat([a, b], axis=1).dropna()
    return stats.compare(both.iloc[:, 0], both.iloc[:, 1], paired=True), both


for change, of, to in steps_of:
    c, both = paired(full_seed[to], full_seed[of])
    full_rows.append(
        {
            "change": change,
            "from (%)": both[of].mean(),
            "to (%)": both[to].mean(),
            "paired difference": c.diff,
            "standard error": c.se,
            "seeds": c.n[0],
            "p": c.p,
            "beyond the noise": "yes" if c.significant else "no",
        }
    )
pd.DataFrame(full_rows).set_index("change").round(2)

# %% [markdown]
# Is the recipe's budget enough? A budget is enough when doubling it adds less than a point. The same recipe
# with twice the student steps — 200 per epoch instead of 100, the same 6,000 samples — ran on the CPU from the
# seeds of `bench ssd-kd-fast`, whose record gives the students at the recipe's budget on the same CPU:

# %%
doubled = lev_all[
    lev_all["budget"].map(
        lambda b: b == {**full_budget, "kd_steps": 2 * full_budget["kd_steps"]}
    )
    & (lev_all["row"] == f"SSD-KD (all){FAST}{WARM}")
].set_index("seed")["test_acc"]
at_recipe = pd.Series(
    leaderboard.load(methods=["ssd-kd-fast"])["ssd-kd-fast"]["per_seed"]
)
c, both = paired(doubled, at_recipe)
print(
    f"{2 * r_full.student.steps:,} student steps: {doubled.mean():.2f} % "
    f"({', '.join(f'{a:.2f}' for a in doubled)}); "
    f"{r_full.student.steps:,}: {both.iloc[:, 1].mean():.2f} % "
    f"on the same seeds; doubling adds {c}"
)

# %%
# Table 4 at the recipe's budget: every row, Fast's generator and the warm-up
t4_full = full_seed[[f"{row}{FAST}{WARM}" for row in ssd.ABLATION]]
t4_full.columns = list(ssd.ABLATION)
lift_full = t4_full.sub(t4_full["baseline"], axis=0)
pd.DataFrame(
    {
        "student accuracy (%)": t4_full.mean(),
        "sd": t4_full.std(),
        "seeds": t4_full.count(),
        "lift over the same seed's baseline": lift_full.mean(),
        "sd of the lift": lift_full.std(),
        "paper's lift": pd.Series(paper_t4) - paper_t4["baseline"],
    }
).round(2)

# %%
for row in list(ssd.ABLATION)[1:]:
    c, _ = paired(t4_full[row], t4_full["baseline"])
    print(
        f"{row:36s} "
        + ("beyond the noise" if c.significant else "not separable")
        + f"\n    lift {c}"
    )
print(
    "seeds' sd at this budget:",
    ", ".join(f"{v:.2f}" for v in t4_full.std().round(2)),
    "| at Table 4's budget:",
    ", ".join(f"{v:.2f}" for v in per_seed.std().round(2)),
)

# %% [markdown]
# **Reading the recipe's budget.** Three things changed at once, and the tables separate two of them. The
# warm-up raised the students of both rows on average, most on the seeds that had started worst, so that the
# seeds now lie within a point or two of each other; three seeds are too few for the paired test to call its
# mean beyond the noise, and the five seeds of SSD-KD (all) with it are the steadiest SSD-KD students in this
# book. More generator steps per batch bought nothing: eight steps of the meta-generator's copy make batches as
# good as twenty. That is the recipe `ssd-kd-fast`.
#
# With the spread this small, Table 4 can be read: the paper's lifts, one to five points, would stand out of it.
# They do not: at the recipe's budget, with Fast's generator, no module and not all three together lift the
# baseline by more than the seeds' noise, and the mean lifts are all within about a point of zero (the printed
# lines). On Fashion-MNIST with a LeNet teacher, what makes SSD-KD's students good is the generator and the
# student's protocol, not φ or priority sampling. (At Table 4's small budget, with Algorithm 1's fresh generator,
# one row did clear the one rule's bar above — the diversity term; difficulty with diversity fell just short of
# it — while all three modules together did not.) Every row has five seeds, each paired with the baseline of the same seed on the same device
# (seeds 0–2 on a GPU, 3–4 on the CPU; SSD-KD (all) also has GPU seeds 3–4, counted in its mean but not in its
# lift). The paper measured on CIFAR with ResNets: this says the paper's order does not reproduce here, not that
# it cannot elsewhere.

# %% [markdown]
# ## Fig. 2: what φ does to the synthetic samples
#
# The paper's Fig. 2 shows the classes the teacher predicts on synthetic samples, and its confidence on them,
# with and without the modulating function. Here: every sample of an SSD-KD run at the Table 4 budget, against
# the same run with φ ≡ 1 (the diversity and difficulty terms off, everything else the same), both run here.

# %%
ablation = {}
for row in ("baseline + PS", "SSD-KD (all)"):
    config.seed_everything(0)
    ablation[row] = distill(
        teacher,
        zoo.student(r.student_arch),
        r.build(
            g_steps=ab["g_steps"], kd_steps=ab["kd_steps"], **ssd.ABLATION[row]
        ),
        eval_set=test,
        seed=0,
        name=row,
        progress=False,
        **r.student.kwargs(
            steps=ab["epochs"] * ab["kd_steps"], eval_every=ab["kd_steps"]
        ),
    )
    print(f"{row}: student {100 * ablation[row].final_acc:.2f} %")

# %%
no_phi = ablation["baseline + PS"].method
fig, axes = plt.subplots(1, 2, figsize=(10, 3))
for m, label, color in (
    (no_phi, "φ ≡ 1", "C7"),
    (ablation["SSD-KD (all)"].method, "with φ", "C0"),
):
    c = torch.cat(m.classes)
    axes[0].bar(
        torch.arange(10) + (0.2 if color == "C0" else -0.2),
        torch.bincount(c, minlength=10) / len(c),
        width=0.4,
        color=color,
        label=label,
    )
    axes[1].hist(
        torch.cat(m.confidence),
        bins=20,
        range=(0, 1),
        alpha=0.6,
        color=color,
        label=label,
        density=True,
    )
axes[0].set(
    xticks=range(10),
    xticklabels=classes,
    ylabel="share of samples",
    title="predicted class",
)
axes[0].tick_params(axis="x", rotation=60, labelsize=7)
axes[1].set(
    xlabel="teacher confidence p_T(x)", ylabel="density", title="difficulty"
)
for ax in axes:
    ax.legend(fontsize=8)
fig.tight_layout()

# %% [markdown]
# ## Paper vs this book

# %% [markdown]
# The first table gives the recipes' own students — the full SSD-KD recipe, SSD-KD with Fast's generator
# (`ssd-kd-fast`) and chapter 5's DeepInversion recipe — from three seeds each, as `python -m dfkd_book.experiments.bench
# ssd-kd / ssd-kd-fast / deepinversion --seeds 3` recorded them on the same CPU (mean; the seeds are printed above
# the table). The paper reports CIFAR-10 only, so its column is context for the
# direction and the retention, not a number to match.

# %%
# written by `python -m dfkd_book.experiments.bench NAME --seeds 3`
benched = leaderboard.load(methods=("ssd-kd", "ssd-kd-fast", "deepinversion"))
for m in leaderboard.stale(benched):
    print(f"note: the record of {m} was made with another recipe")
ssd_rec, fast_rec, di_rec = (
    benched["ssd-kd"],
    benched["ssd-kd-fast"],
    benched["deepinversion"],
)
for m, rec in benched.items():
    seeds = ", ".join(f"{a:.2f}" for a in rec.get("per_seed", []))
    print(
        f"{m}: {rec['student_acc']:.2f} "
        f"± {rec.get('student_acc_sd', float('nan')):.2f} % (seeds: {seeds}), "
        f"{rec['transfer_samples']:,} synthetic samples, "
        f"{rec['steps']:,} student steps, "
        f"{rec['wall_s']:.0f} s per seed"
    )
# the paper's numbers, from the method table of dfkd_book.recipes
paper = {
    key: recipes.published("ssd-kd", key).value
    for key in ("student", "teacher")
}
plot.paper_vs_book(
    [
        (
            "SSD-KD student (paper: CIFAR-10, ResNet-34 → ResNet-18, Table 1)",
            paper["student"],
            ssd_rec["student_acc"],
        ),
        (
            "SSD-KD with Fast's generator (paper: SSD-KD, Table 1)",
            paper["student"],
            fast_rec["student_acc"],
        ),
        (
            "DeepInversion student (paper: same pair, Table 2)",
            recipes.published("deepinversion").value,
            di_rec["student_acc"],
        ),
        (
            "SSD-KD retention, % of the teacher (paper: student / teacher)",
            100 * paper["student"] / paper["teacher"],
            100 * ssd_rec["student_acc"] / ssd_rec["teacher_acc"],
        ),
    ]
)

# %% [markdown]
# The paper's wall times are GPU-hours on CIFAR; the ratio is what carries over. Its Table 2 gives
# DeepInversion's and SSD-KD's (the table below) at a relaxed synthetic scale (ResNet-34 → ResNet-18), and its
# Table 1 SSD-KD's at 10 % scale (the book's method table keeps both).

# %%
# the paper's wall times, from the method table of dfkd_book.recipes
paper_h = {
    m: recipes.published(m, "wall time").value
    for m in ("deepinversion", "ssd-kd")
}
pd.DataFrame(
    {
        "paper (CIFAR-10, V100)": {
            "DeepInversion wall time": f"{paper_h['deepinversion']:.2f} h",
            "SSD-KD wall time": f"{paper_h['ssd-kd']:.2f} h (Table 2)",
            "DeepInversion / SSD-KD": (
                f"{paper_h['deepinversion'] / paper_h['ssd-kd']:.1f}×"
            ),
        },
        "this book (Fashion-MNIST, this machine, the chapter's runs)": {
            "DeepInversion wall time": f"{di_wall:.0f} s",
            "SSD-KD wall time": f"{res_ssd.history.seconds:.0f} s",
            "DeepInversion / SSD-KD": (
                f"{di_wall / res_ssd.history.seconds:.1f}× "
                "(to DeepInversion's accuracy: "
                + (f"{di_wall / reach:.1f}×)" if reach else "never)")
            ),
        },
        "this book, SSD-KD with Fast's generator": {
            "DeepInversion wall time": f"{di_wall:.0f} s",
            "SSD-KD wall time": f"{res_fast.history.seconds:.0f} s",
            "DeepInversion / SSD-KD": (
                f"{di_wall / res_fast.history.seconds:.1f}× "
                "(to DeepInversion's accuracy: "
                + (f"{di_wall / reach_fast:.1f}×)" if reach_fast else "never)")
            ),
        },
    }
)

# %%
# Sanity checks: a broken method fails here (and CI runs this notebook on
# the quick profile).
assert res_ssd.method.synthetic == chapter_n and n_synthetic <= 6_000
assert (
    len(buf) <= r.settings["capacity"]
    and 0 <= buf.images.min()
    and buf.images.max() <= 1
)
assert res_ssd.final_acc > config.pick(quick=0.15, full=0.5), res_ssd.final_acc
assert res_fast.method.synthetic == chapter_n and res_fast.method.meta
assert res_fast.final_acc > config.pick(quick=0.15, full=0.5), (
    res_fast.final_acc
)
assert all(res.final_acc > 0.1 for res in ablation.values())
# Table 4's record: every row from at least five seeds, each paired, at
# both budgets; the race from three seeds
assert (lift.count() >= 5).all(), lift.count()
assert (lift_full.count() >= 5).all(), lift_full.count()
assert len(race_table) >= 3, race_table
print(
    f"chapter 6 ran in {time.perf_counter() - chapter_start:.0f} s "
    f"(profile {config.profile()}, {config.device()})"
)

# %% [markdown]
# ## Where this chapter falls short
#
# * **Scale.** The paper's claim is about synthetic sets of about 10 % of the training set, and the recipe makes
#   exactly that many samples; the chapter's own runs make half as many, to afford DeepInversion beside SSD-KD on
#   two CPU cores. At both scales the student stays well below its teacher, and below what far fewer *real*
#   training images teach with the same student protocol (chapter 5's row of 768 real images; chapter 7's
#   {ref}`ex-ch7-real-curve` draws the whole curve). The gap is the samples' quality: chapter 5 measured how
#   little more inversion steps or more images buy there.
# * **Table 4's direction.** In the paper every module lifts the baseline. Here the lifts are read against their
#   own spread over paired seeds. At Table 4's small budget the seeds spread as far as the paper's lifts; at the
#   recipe's budget, with Fast's generator and the warm-up, they spread far less, and still no module lifts the
#   baseline beyond the noise, over five paired seeds per row. Lifts of a fraction of a point, if they exist,
#   would need many more seeds to see.
# * **The speed claim.** At equal samples and equal student steps, the committed run's SSD-KD student by
#   Algorithm 1 did not reach DeepInversion's; with Fast's generator it did, and sooner by the factor printed
#   under the race, and the race from three seeds gives how often and how much sooner. Why Algorithm 1 loses
#   it here, not separated: the paper measures on CIFAR with a ResNet teacher, where a teacher pass dominates the
#   cost and SSD-KD's fewer passes per sample pay off; with a LeNet teacher on a CPU, a fresh generator's hundred
#   steps per batch, each running the generator and the student too, cost about as much wall time as the teacher
#   passes they save. Fast's generator makes a batch in a twelfth of those steps.
# * **The generator.** The paper builds on Fast's meta-learned generator, but its Algorithm 1 initialises a
#   generator afresh every epoch; the `ssd-kd` recipe follows Algorithm 1 with the small DFAD generator of
#   chapter 4. Carried over and meta-learned as Fast does it, the same generator made the best SSD-KD students
#   of this book with a twelfth of the steps (the `ssd-kd-fast` recipe), but the change of generator, its fewer
#   steps and the student's warm-up were measured together on SSD-KD (all) only; the warm-up on Algorithm 1's
#   fresh generator at the recipe's budget is not measured (a GPU's work: about ten minutes per student there).

# %% [markdown]
# ## Exercises
#
# Every exercise has a worked solution, hidden until you open it. The hands-on exercises reuse this chapter's
# objects (`teacher`, `test`, `classes`, `r`, `ab`, `res_ssd`, ...): run the chapter first. An SSD-KD run at the
# ablation's budget takes one to two minutes on a CPU, the full recipe several.

# %% [markdown]
# ```{exercise} How small is small?
# :label: ex-ch6-scale
#
# Make `synthesis_batch` smaller and larger (`r.build(synthesis_batch=...)`, with a `capacity` to match), from a
# sixth of the recipe's samples to twice as many. Plot accuracy and wall time against the scale, like the paper's
# Fig. 4.
# ```
#
# ````{solution} ex-ch6-scale
# :class: dropdown
#
# The number of epochs is fixed by the student's budget (`student.steps / kd_steps`), so the synthetic scale is
# epochs × `synthesis_batch`; a buffer as large as everything ever made keeps every sample, as the recipe does:
#
# ```python
# epochs = -(-r.student.steps // r.settings["kd_steps"])
# rows = []
# for sb in (10, 20, 30, 60, 120):
#     config.seed_everything(0)
#     res = distill(
#         teacher,
#         zoo.student(r.student_arch),
#         r.build(synthesis_batch=sb, capacity=epochs * sb),
#         eval_set=test,
#         seed=0,
#         progress=False,
#         name=f"synthesis_batch {sb}",
#         **r.student.kwargs(eval_every=r.settings["kd_steps"]),
#     )
#     rows.append(
#         {
#             "synthetic samples": res.method.synthetic,
#             "student %": 100 * res.final_acc,
#             "wall s": res.history.seconds,
#         }
#     )
# scale = pd.DataFrame(rows).set_index("synthetic samples")
# fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3))
# scale["student %"].plot(
#     ax=ax1, marker="o", logx=True, ylabel="student test accuracy (%)"
# )
# scale["wall s"].plot(ax=ax2, marker="o", logx=True, ylabel="wall time (s)")
# scale
# ```
#
# The recipe's epochs (printed with the recipe) times these batches run from a sixth of the recipe's 6,000 samples
# to twice as many: the recipe's own scale, 10 % of Fashion-MNIST's 60,000, is the fourth point. The wall
# time grows with the scale because each epoch's inversion costs `g_steps` teacher forward and backward passes for
# every sample of the batch; the student's steps cost the same at every scale. The paper's claim is that about 10 %
# of the training set's size is enough. Whether your curve flattens by then — or is still rising, because the
# samples at this budget are the bottleneck (see "Where this chapter falls short") — is what the plot shows. A
# single seed per point: differences of a point or two are within the spread.
# ````

# %% [markdown]
# ```{exercise} A generator that remembers
# :label: ex-ch6-memory
#
# Run with `r.build(reinit_generator=False)`. Does a generator carried from epoch to epoch need fewer inversion
# steps `g_steps`?
# ```
#
# ````{solution} ex-ch6-memory
# :class: dropdown
#
# Compare the two at a few values of `g_steps`, with the ablation's budget so that it stays short:
#
# ```python
# rows = []
# for reinit in (True, False):
#     for g in (ab["g_steps"] // 4, ab["g_steps"] // 2, ab["g_steps"]):
#         config.seed_everything(0)
#         res = distill(
#             teacher,
#             zoo.student(r.student_arch),
#             r.build(
#                 g_steps=g, kd_steps=ab["kd_steps"], reinit_generator=reinit
#             ),
#             eval_set=test,
#             seed=0,
#             progress=False,
#             name=f"reinit {reinit}, g_steps {g}",
#             **r.student.kwargs(
#                 steps=ab["epochs"] * ab["kd_steps"], eval_every=ab["kd_steps"]
#             ),
#         )
#         rows.append(
#             {
#                 "fresh generator every epoch": reinit,
#                 "g_steps": g,
#                 "student %": 100 * res.final_acc,
#                 "wall s": res.history.seconds,
#             }
#         )
# pd.DataFrame(rows).pivot(
#     index="g_steps", columns="fresh generator every epoch", values="student %"
# )
# ```
#
# The reasoning to test: a fresh generator starts every epoch from random weights and must learn the BN statistics
# all over again in `g_steps` steps; a carried one starts from last epoch's solution, which already matches them,
# so its steps can go to the adversarial and class terms. If that is what happens, the carried generator's
# accuracy falls off more slowly as `g_steps` shrinks. The price is diversity: a carried generator makes samples
# like last epoch's, and the buffer then holds fewer kinds of images — which the diversity term of φ is there to
# counter. Algorithm 1 of the paper re-initialises every epoch; the table says what that costs or buys here.
# ````

# %% [markdown]
# ```{exercise} γ
# :label: ex-ch6-gamma
#
# Set γ = 0 (no difficulty term) and γ = 5. What happens to the confidence histogram of Fig. 2?
# ```
#
# ````{solution} ex-ch6-gamma
# :class: dropdown
#
# ```python
# runs_gamma = {}
# for g in (0.0, r.settings["gamma"], 5.0):
#     config.seed_everything(0)
#     runs_gamma[g] = distill(
#         teacher,
#         zoo.student(r.student_arch),
#         r.build(g_steps=ab["g_steps"], kd_steps=ab["kd_steps"], gamma=g),
#         eval_set=test,
#         seed=0,
#         progress=False,
#         name=f"γ = {g:g}",
#         **r.student.kwargs(
#             steps=ab["epochs"] * ab["kd_steps"], eval_every=ab["kd_steps"]
#         ),
#     )
# fig, ax = plt.subplots(figsize=(6, 3))
# for g, res in runs_gamma.items():
#     ax.hist(
#         torch.cat(res.method.confidence),
#         bins=20,
#         range=(0, 1),
#         alpha=0.5,
#         density=True,
#         label=f"γ = {g:g}: student {100 * res.final_acc:.1f} %",
#     )
# ax.set(xlabel="teacher confidence p_T(x)", ylabel="density")
# ax.legend(fontsize=8)
# ```
#
# The difficulty factor $(1 - p_T)^\gamma$ multiplies each sample's class (task) term in the generator's loss:
#
# | $p_T$ | γ = 0 | γ = 2 | γ = 5 |
# |---|---|---|---|
# | 0.5 | 1 | 0.25 | 0.031 |
# | 0.9 | 1 | 0.01 | 10⁻⁵ |
# | 0.99 | 1 | 10⁻⁴ | 10⁻¹⁰ |
#
# With γ = 0 the class term counts fully however sure the teacher already is, so the generator keeps pushing
# samples towards confident, easy examples of their class: expect the histogram's mass to move towards
# $p_T$ = 1. With γ = 5 the class term all but vanishes once the teacher is more than about half sure, and only the
# BN and adversarial terms act on those samples: expect more mass at low and middle confidence, the "hard" samples
# the paper's Fig. 2 credits φ with. Which histogram makes the better student is the separate question the legend
# answers, for one seed.
# ````

# %% [markdown]
# ```{exercise} Priority without correction
# :label: ex-ch6-no-correction
#
# Set ω = 0 (no importance-sampling correction). Is the student better or worse, and why might a biased sampler
# still help a small student?
# ```
#
# ````{solution} ex-ch6-no-correction
# :class: dropdown
#
# ```python
# runs_beta = {}
# for b in (0.0, r.settings["beta"], 1.0):
#     config.seed_everything(0)
#     runs_beta[b] = distill(
#         teacher,
#         zoo.student(r.student_arch),
#         r.build(g_steps=ab["g_steps"], kd_steps=ab["kd_steps"], beta=b),
#         eval_set=test,
#         seed=0,
#         progress=False,
#         name=f"ω = {b:g}",
#         **r.student.kwargs(
#             steps=ab["epochs"] * ab["kd_steps"], eval_every=ab["kd_steps"]
#         ),
#     )
#     print(f"ω = {b:g}: {100 * runs_beta[b].final_acc:.2f} %")
# ```
#
# With ω = 0 every importance-sampling weight is 1 ({ref}`ex-ch6-is-weight`), so each step's expected loss
# is $\sum_i P(i)\,\ell_i$: the average over the buffer *re-weighted* towards the samples with high priority, those
# on which the student still disagrees most with the teacher. ω = 1 would remove that bias exactly; the recipe's
# ω = 0.4 removes part of it, as prioritised experience replay does early in training.
#
# Why a biased sampler can still help: unbiasedness here is with respect to the *buffer*, a few hundred synthetic
# samples, not to the real data the student will be tested on — there is no "true" objective on the buffer to be
# faithful to. Spending more steps on the samples the student gets wrong is hard-example mining, and a small student
# with a short budget gains most from not wasting steps on samples it already matches. The risk is the other side:
# a few outliers with huge priority (samples the student can never match) can take over the batches. Read the three
# runs against the seed spread discussed under Table 4.
# ````

# %% [markdown]
# ```{exercise} Table 4, properly
# :label: ex-ch6-table4
#
# Run every row of `ssd.ABLATION` with the full budget and three seeds —
# `distill(teacher, zoo.student("lenet5half"), r.build(**ssd.ABLATION[row]), eval_set=test, seed=s,
# **r.student.kwargs())`. Which modules lift the baseline by more than the spread between seeds?
# ```
#
# ````{solution} ex-ch6-table4
# :class: dropdown
#
# ```python
# seeds = (0, 1, 2)
# acc = {row: [] for row in ssd.ABLATION}
# for row, switches in ssd.ABLATION.items():
#     for s in seeds:
#         config.seed_everything(s)
#         res = distill(
#             teacher,
#             zoo.student("lenet5half"),
#             r.build(**switches),
#             eval_set=test,
#             seed=s,
#             progress=False,
#             name=f"{row}, seed {s}",
#             **r.student.kwargs(),
#         )
#         acc[row].append(100 * res.final_acc)
# a = {row: torch.tensor(v) for row, v in acc.items()}
# t4_seeds = pd.DataFrame(
#     {
#         row: {
#             "mean %": v.mean().item(),
#             "sd": v.std().item(),
#             "lift over baseline": (v.mean() - a["baseline"].mean()).item(),
#         }
#         for row, v in a.items()
#     }
# ).T
# t4_seeds.round(2)
# ```
#
# That is 18 full SSD-KD runs, each twice the chapter's own SSD-KD run (its wall time is printed above): GPU
# work, or a long afternoon. How to read it: with three seeds per row and a spread (standard deviation) $\sigma$ per run, a
# row's mean has standard error $\sigma/\sqrt 3$, and the difference of two rows' means
# $\sigma\sqrt{2/3} \approx 0.82\,\sigma$. A lift is worth believing when it is well above that — twice, say, about
# $1.6\,\sigma$. The chapter's Table 4, at the smaller ablation budget, pairs the rows by seed for the same
# reason; the full budget is where its verdicts can change.
# ````

# %% [markdown]
# ```{exercise} The importance-sampling weight (pen and paper)
# :label: ex-ch6-is-weight
#
# With the sampling probabilities of eq. 6 and the weights of eq. 5:
#
# 1. Show that $w_i = \big((|\delta_{\min}| + \epsilon)/(|\delta_i| + \epsilon)\big)^{\alpha\omega}$, where $\delta_{\min}$
#    is the smallest priority in the buffer. Check it against the table printed above for the sample with δ = 2.
# 2. Show that with ω = 1, sampling by $P$ and weighting by $w$ gives, in expectation, the uniform average of the
#    per-sample losses over the buffer, up to a constant factor. What happens with α = 0?
# ```
#
# ````{solution} ex-ch6-is-weight
# :class: dropdown
#
# 1. Write $u_i = (|\delta_i| + \epsilon)^\alpha$, so $P(i) = u_i/\sum_j u_j$. Then
#    $(N P(i))^{-\omega} = (N/\sum_j u_j)^{-\omega}\,u_i^{-\omega}$, and the largest of these belongs to the smallest
#    $u$, i.e. the smallest priority. The common factor cancels in the ratio:
#
#    $$w_i = \frac{u_i^{-\omega}}{u_{\min}^{-\omega}} = \Big(\frac{|\delta_{\min}| + \epsilon}{|\delta_i| + \epsilon}\Big)^{\alpha\omega}.$$
#
#    The weight depends only on the ratio of two priorities, not on the buffer's size. With the recipe's α = 0.6,
#    ω = 0.4 ($\alpha\omega = 0.24$), ε = 10⁻⁶ and the table's $\delta_{\min} = 0$, the sample with δ = 2 gets
#    $(10^{-6}/2)^{0.24} = e^{-0.24 \ln(2\times10^{6})} = e^{-3.48} \approx 0.0307$, the printed value; the one with
#    δ = 0.5 gets $(2\times10^{-6})^{0.24} \approx 0.0429$.
#
# 2. With ω = 1, $w_i = (N P(i))^{-1}/(N P_{\min})^{-1} = P_{\min}/P(i)$, and
#
#    $$\mathbb{E}_{i\sim P}\big[w_i\,\ell_i\big] = \sum_i P(i)\,\frac{P_{\min}}{P(i)}\,\ell_i
#    = N P_{\min}\cdot\frac{1}{N}\sum_i \ell_i,$$
#
#    the uniform average times the constant $N P_{\min} \le 1$: priority sampling then changes *which* samples are
#    drawn — and so the variance of the estimate — but not what is optimised. For ω < 1 the correction is partial
#    and the objective leans towards high-priority samples ({ref}`ex-ch6-no-correction`). With α = 0 every
#    $P(i) = 1/N$: sampling is uniform, every $w_i = 1$, and the buffer is an ordinary replay buffer — the
#    "baseline" rows of Table 4 without PS.
# ````
