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
# SSD-KD {cite:p}`liu2024ssdkd` asks how *few* synthetic samples are enough, and answers: about 10 % of the size
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
#
# ```{admonition} In this chapter you will
# :class: tip
#
# * explain why SSD-KD **interleaves synthesis with distillation**, inverting a small batch against the current
#   student every epoch, where DeepInversion synthesises its whole transfer set first;
# * compute the **modulating function** φ, the **priority** sampling probabilities and the **importance-sampling
#   weights** of a replay buffer from scratch, and check them against `dfkd_book.methods.ssd`;
# * run SSD-KD at its recipe with `distill` and race it against DeepInversion at equal synthetic samples and
#   student steps, in wall time, student steps and teacher queries;
# * tell Algorithm 1's fresh generator from Fast's carried, meta-learned one, and say why the second pays off
#   with networks as small as these;
# * read the paper's ablation (its Table 4) against the spread between seeds.
# ```
#
# ```{admonition} Key equations
# :class: note
#
# Every epoch a generator $G$ makes a small batch $x = g(z)$ that matches the teacher's BN statistics, that the
# teacher assigns to the class $y$ each sample is made for, and on which the student $S$ still disagrees with
# the teacher (eq. 2, with the signs of the Fast code it builds on):
#
# $$\begin{aligned}\min_S \max_G \; \mathbb{E}_{z}\Big[\, & \lambda_{adv}\,\mathrm{KL}\big(T(x)\,\|\,S(x)\big) \\
#   & - \lambda_{BN}\,\mathcal{L}_{BN}(x) - \lambda_{task}\,\varphi(x)\,\mathrm{CE}\big(T(x), y\big)\Big].\end{aligned}$$
#
# The **modulating function** (eq. 3) weighs a sample's class term by how rare its class $c_T(x)$ is in the
# replay buffer $\mathcal{B}$ (diversity) and by how unsure the teacher is, $p_T(x)$ being its confidence
# (difficulty):
#
# $$\varphi(x) = \Big(1 - \frac{1}{|\mathcal{B}|}\sum_{x'\in\mathcal{B}} \mathbb{1}\big[c_T(x') = c_T(x)\big]\Big)
#   \cdot \big(1 - p_T(x)\big)^{\gamma} .$$
#
# The student draws entry $i$ of the $N$ in the buffer with the **priority** sampling probability $P(i)$ (eq. 6)
# and multiplies its loss by the **importance-sampling weight** $w_i$ (eq. 5):
#
# $$P(i) = \frac{(|\delta_i| + \epsilon)^{\alpha}}{\sum_{j=1}^{N}(|\delta_j| + \epsilon)^{\alpha}},$$
#
# $$w_i = \frac{\big(N \cdot P(i)\big)^{-\omega}}{\max_{j}\big(N \cdot P(j)\big)^{-\omega}} .$$
#
# A sample's priority is its teacher–student KL divergence, weighted by the importance-sampling weight of its
# previous draw (eq. 4; 1 for a new sample):
#
# $$\delta_i(x) = w_{i-1}(x)\,\mathrm{KL}\big(T(x)\,\|\,S(x)\big).$$
# ```

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
import torch
from dfkd_book import (
    chapters,
    config,
    data,
    distill,
    kd,
    plot,
    recipes,
    zoo,
)
from dfkd_book.experiments import leaderboard
from dfkd_book.methods import ssd

chapter = chapters.setup("06_ssd_kd")

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
# the generator of Fast {cite:p}`fang2022fast` that SSD-KD builds on — carried over the whole
# run and meta-learned, a few steps per batch — and the warm-up of chapter 5's students: the section "SSD-KD with
# Fast's generator" below says why. This chapter's own runs take half the recipes' epochs — half their samples
# and half their student steps — so that DeepInversion can run beside both; "Paper vs this book" gives the
# recipes' full runs.

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
# Write $p_T(x)$ for the teacher's softmax probability of its own predicted class $c_T(x)$ on a synthetic sample $x$.
# The **modulating function** (eq. 3) weighs the sample's task loss by how rare its class is in the replay buffer
# $\mathcal{B}$ and by how unsure the teacher is about it:
#
# $$\varphi(x) = \Big(1 - \frac{1}{|\mathcal{B}|}\sum_{x'\in\mathcal{B}} \mathbb{1}\big[c_T(x') = c_T(x)\big]\Big)
#   \cdot \big(1 - p_T(x)\big)^{\gamma} .$$
#
# The student's mini-batches are drawn from the $N$ samples of the buffer with the **priority sampling**
# probabilities of eq. 6, where $\delta_i$ is sample $i$'s priority, its importance-weighted KL divergence
# $\delta_i = w_i\,\mathrm{KL}\big(T(x_i)\,\|\,S(x_i)\big)$ the last time it was drawn (eq. 4):
#
# $$P(i) = \frac{(|\delta_i| + \epsilon)^{\alpha}}{\sum_{j=1}^{N}(|\delta_j| + \epsilon)^{\alpha}},$$
#
# and each drawn sample's loss is multiplied by its **importance-sampling weight** (eq. 5), normalised by the
# largest weight in the buffer:
#
# $$w_i = \frac{\big(N \cdot P(i)\big)^{-\omega}}{\max_{j}\big(N \cdot P(j)\big)^{-\omega}} .$$
#
# ({cite:t}`schaul2016per` and the paper write the exponent ω as β; the book keeps β for ZSKD's Dirichlet scale.
# In the code it is `beta`.)
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
# maximisation of the paper's objective (eq. 2), a min–max game over the student $S$ and the generator $G$, with
# $x = g(z)$ a synthetic sample:
#
# $$\begin{aligned}\min_S \max_G \; \mathbb{E}_{z}\Big[\, & \lambda_{adv}\,\mathrm{KL}\big(T(x)\,\|\,S(x)\big) \\
#   & - \lambda_{BN}\,\mathcal{L}_{BN}(x) - \lambda_{task}\,\varphi(x)\,\mathrm{CE}\big(T(x), y\big)\Big],\end{aligned}$$
#
# so the generator makes samples that match the teacher's BN statistics, that the teacher assigns to the class $y$
# each is made for (weighted by φ), and on which the student still disagrees with the teacher (the $\lambda$ are the
# recipe's `bn_weight`, `adv_weight` and `task_weight`). The paper writes eq. 2 as
# $\min_S \max_G \mathbb{E}_{x=\delta\circ g(z)}[\mathcal{L}_{BN} + \mathcal{L}_{KD} + \varphi\,\mathcal{L}_{Task}]$,
# all three with a plus sign under the one min–max; read literally, the generator would also *raise* the BN and
# task losses. The signs above are those of the Fast and CMI code it builds on (the open-choices table). Each new
# sample enters the buffer with the priority of eq. 4, its KL divergence weighted by the importance weight of its
# previous draw (1 for a new sample):
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
# timed in the same run.

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
# the student, which, with networks as small as these, costs more wall time than a step on a batch of pixels. The
# line printed under the figure says whether each SSD-KD student reached DeepInversion's final accuracy in this
# run, and how much sooner: the paper's Algorithm 1, with a fresh generator and a hundred steps per batch, pays for
# its generator in wall time; Fast's meta-generator needs a twelfth of those steps. Over three seeds, SSD-KD with
# Fast's generator reached DeepInversion's final accuracy every time, several times sooner in wall time — see
# {doc}`B6_reproducing_ssd_kd`.

# %% [markdown]
# ## SSD-KD with Fast's generator
#
# Algorithm 1 (line 4) initialises the generator afresh every epoch: every batch starts from random weights and
# needs many steps — the `ssd-kd` recipe's `g_steps` — to match the teacher's BN statistics again, and those steps
# are most of SSD-KD's wall time in the race above. Fast {cite:p}`fang2022fast`, on which SSD-KD builds, keeps
# one *meta-generator* with weights $\theta$ for the whole run. Every epoch copies it, $\theta' \leftarrow \theta$,
# takes the epoch's few steps of eq. 2 on the copy to make the batch, and then moves the meta-generator towards
# where the copy ended — a Reptile step, the difference $\theta - \theta'$ handed to the meta-generator's own Adam
# optimiser as if it were a gradient:
#
# $$\theta \leftarrow \theta - \eta_{meta}\,\mathrm{Adam}\big(\theta - \theta'\big).$$
#
# A meta-generator that has followed every epoch's batch starts each epoch near a generator that already matches
# the teacher's statistics, so a few steps make a new batch, and their gradient goes to the adversarial and class
# terms. `methods.SSDKD(reinit_generator=False, meta=True)` runs it so; the `ssd-kd-fast` recipe adds the student's
# warm-up of chapter 5 and takes a twelfth of Algorithm 1's generator steps per batch (the recipe table above).
# The two recipes' records, from their full runs (`python -m dfkd_book.experiments.bench NAME`):

# %%
for name, generator in (
    ("ssd-kd", "Algorithm 1's fresh generator"),
    ("ssd-kd-fast", "Fast's meta-generator"),
):
    rec = leaderboard.load(methods=[name])[name]
    print(
        f"{name} ({generator}, {rec['recipe']['settings']['g_steps']} "
        f"steps per batch): student {rec['student_acc']:.2f} %, "
        f"{rec['transfer_samples']:,} synthetic samples, "
        f"{rec['steps']:,} student steps"
    )

# %% [markdown]
# What each of these changes is worth on its own — the carried meta-generator, its fewer steps, the warm-up — and
# whether the recipe's budget is enough, is measured in {doc}`B6_reproducing_ssd_kd`.
#
# ## The paper's Table 4
#
# The paper's ablation (its Table 4; the rows of `ssd.ABLATION`, switches `priority`, `difficulty` and `diversity`
# of `methods.SSDKD`) turns priority sampling (PS), the difficulty term and the diversity term on one group at a
# time, and finds that every module lifts the baseline and all three together most. That order does not reproduce
# on Fashion-MNIST: at the recipe's budget, with Fast's generator, no module and not all three together lift the
# baseline beyond the spread between seeds — see {doc}`B6_reproducing_ssd_kd`.

# %% [markdown]
# ## Fig. 2: what φ does to the synthetic samples
#
# The paper's Fig. 2 shows the classes the teacher predicts on synthetic samples, and its confidence on them,
# with and without the modulating function. Here: every sample of an SSD-KD run at the smaller budget of the
# Table 4 runs (the recipe's `extra.ablation`, printed below), against the same run with $\varphi \equiv 1$ (the
# diversity and difficulty terms off, everything else the same), both run here.

# %%
ab = r.extras["ablation"]  # the budget of the Table 4 runs
print(
    f"{ab['epochs']} epochs × ({ab['g_steps']} inversion "
    f"+ {ab['kd_steps']} student steps): "
    f"{ab['epochs'] * ab['kd_steps']:,} student steps, "
    f"{ab['epochs'] * r.settings['synthesis_batch']:,} synthetic samples "
    "per run"
)

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
# (`ssd-kd-fast`) and chapter 5's DeepInversion recipe — as `python -m dfkd_book.experiments.bench
# ssd-kd / ssd-kd-fast / deepinversion --seeds 3` recorded them (each record's mean; its runs are printed above
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
chapter.passed()

# %% [markdown]
# ## Where this chapter falls short
#
# * **Scale.** The paper's claim is about synthetic sets of about 10 % of the training set, and the recipe makes
#   exactly that many samples; the chapter's own runs make half as many, to afford DeepInversion beside SSD-KD in
#   one chapter. At both scales the student stays well below its teacher, and below what far fewer *real*
#   training images teach with the same student protocol (chapter 5's row of 768 real images; chapter 7's
#   {ref}`ex-ch7-real-curve` draws the whole curve). The gap is the samples' quality: chapter 5 measured how
#   little more inversion steps or more images buy there.
# * **Table 4's direction.** In the paper every module lifts the baseline; here none does by more than the
#   spread between seeds ({doc}`B6_reproducing_ssd_kd`). Lifts of a fraction of a point, if they exist, would
#   need many more runs to see.
# * **The speed claim.** At equal samples and equal student steps, this chapter's SSD-KD student by Algorithm 1
#   did not reach DeepInversion's; with Fast's generator it did, and sooner by the factor printed under the race.
#   Why Algorithm 1 loses it here, not separated: the paper measures on CIFAR with a ResNet teacher, where a
#   teacher pass dominates the cost and SSD-KD's fewer passes per sample pay off; with a LeNet teacher, a fresh
#   generator's hundred steps per batch, each running the generator and the student too, cost about as much wall
#   time as the teacher passes they save. Fast's generator makes a batch in a twelfth of those steps.
# * **The generator.** The paper builds on Fast's meta-learned generator, but its Algorithm 1 initialises a
#   generator afresh every epoch; the `ssd-kd` recipe follows Algorithm 1 with the small DFAD generator of
#   chapter 4. Carried over and meta-learned as Fast does it, the same generator made the best SSD-KD students
#   of this book with a twelfth of the steps (the `ssd-kd-fast` recipe); carrying it over, meta-learning it and
#   its fewer steps were measured as one change, and the student's warm-up only with Fast's generator
#   ({doc}`B6_reproducing_ssd_kd`).

# %% [markdown]
# ## Summary
#
# * SSD-KD asks how few synthetic samples are enough, and makes them by **interleaving synthesis with
#   distillation**: every epoch of Algorithm 1 inverts a small new batch from the teacher's BN statistics,
#   against the current student, so new samples go where the student is still wrong.
# * The **modulating function** φ weighs each sample's class term down when its class is already common in the
#   replay buffer (diversity) and when the teacher is already sure of it (difficulty).
# * The **replay buffer** draws its samples by **priority**, the student's remaining disagreement with the
#   teacher, and **importance-sampling weights** correct part of that bias; each of the three weights is a
#   line of code beside its equation.
# * At equal samples and student steps, Algorithm 1's fresh generator pays for its many steps per batch in wall
#   time and its student stayed below DeepInversion's; Fast's carried, meta-learned generator makes a batch in
#   a few steps and gave the best SSD-KD student of the book.
# * The paper's ablation does not reproduce here: no module, nor all three together, lifts the baseline beyond
#   the spread between seeds.

# %% [markdown]
# ## Exercises
#
# Every exercise has a worked solution, hidden until you open it. The hands-on exercises reuse this chapter's
# objects (`teacher`, `test`, `classes`, `r`, `ab`, `res_ssd`, ...): run the chapter first. An SSD-KD run at the
# ablation's budget takes under half the wall time of the chapter's own SSD-KD run (printed above), the full
# recipe about twice it.

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
# $p_T = 1$. With γ = 5 the class term all but vanishes once the teacher is more than about half sure, and only the
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
# runs against the spread between seeds that {doc}`B6_reproducing_ssd_kd` measures for Table 4's rows.
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
# That is 18 full SSD-KD runs, each twice the chapter's own SSD-KD run (its wall time is printed above): a long
# afternoon. How to read it: with three seeds per row and a spread (standard deviation) $\sigma$ per run, a row's
# mean scatters by $\sigma/\sqrt 3$, and the difference of two rows' means by $\sigma\sqrt{2/3} \approx
# 0.82\,\sigma$. A lift is worth believing when it is well above that — twice, say, about $1.6\,\sigma$.
# {doc}`B6_reproducing_ssd_kd` reads the lab's runs of this table, at the smaller ablation budget and at the full
# one with Fast's generator.
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
