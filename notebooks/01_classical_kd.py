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
# # 1. Classical knowledge distillation: the ceiling
#
# A company has trained a classifier — the **teacher** — and wants a smaller **student** that runs on a phone.
# Classical knowledge distillation {cite}`hinton2015distilling` trains the student to reproduce the teacher's
# **soft targets**, its class probabilities softened by a **temperature** τ, on a **transfer set** of inputs.
# Normally the transfer set is the teacher's own training data.
#
# **The data-free problem.** Now suppose that data is gone: it was private, proprietary or simply not shipped
# with the model. All we hold is the frozen teacher. Every later chapter of this book builds a transfer set
# without the original data — data impressions, arbitrary images, generators, feature-statistics inversion,
# replay buffers. This chapter runs classical KD *with* the real data, so that we know the number every
# data-free method is chasing: the **ceiling**.
#
# ```{admonition} In this chapter you will
# :class: tip
#
# * explain what the teacher's **soft targets** at temperature τ are, and which **dark knowledge** a high τ
#   exposes;
# * write the distillation loss and the student loop from scratch, and check them against the package's
#   `kd.kd_loss` and `distill`;
# * measure the **ceiling**: distil LeNet-5 into LeNet-5-Half on the real training set, against a student trained
#   on the labels, and compare it with ZSKD as **retention** of the teacher's accuracy;
# * read any student against the **yardstick**: how many real images its transfer set is worth.
# ```
#
# ```{admonition} Key equations
# :class: note
#
# The teacher's logits $z = T(x)$ become **soft targets** at temperature τ,
#
# $$p_k(\tau) = \frac{\exp(z_k/\tau)}{\sum_j \exp(z_j/\tau)}.$$
#
# The student $S$ learns them by the **distillation loss**, averaged over the batch; λ weighs a hard-label term
# that needs the true label $y$, so every data-free method sets $\lambda = 0$:
#
# $$\mathcal{L} = \tau^2\,\mathrm{KL}\big(p^{T}(\tau)\,\|\,p^{S}(\tau)\big) + \lambda\,\mathrm{CE}\big(y, p^{S}(1)\big).$$
#
# The **student loop** takes one Adam step per batch $B_t$ of the transfer set $\{x_i\}$,
#
# $$\theta_{t+1} = \theta_t - \eta_t\,\mathrm{Adam}\Big(\nabla_\theta \frac{1}{|B_t|}\sum_{i \in B_t}
# \tau^2\,\mathrm{KL}\big(p^{T}_i(\tau)\,\|\,p^{S}_i(\tau)\big)\Big),$$
#
# at a learning rate $\eta_t = \frac{\eta}{2}\big(1 + \cos\frac{\pi t}{T}\big)$ that follows a cosine from $\eta$
# to zero over the $T$ steps of the budget.
# ```
#
# The running benchmark is the one of ZSKD {cite}`nayak2019zskd`: Fashion-MNIST {cite}`xiao2017fashion`,
# 28×28 images zero-padded to 32×32 with values in $[0, 1]$; teacher LeNet-5, student LeNet-5-Half.
#
# Every method of the book, this one included, runs through one student loop, `distill(teacher, student,
# method, steps=...)`: a **method** from `dfkd_book.methods` supplies the transfer set (here `methods.RealData`,
# the real training images), and the student's budget is counted in optimiser **steps**.

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
import dfkd_book
import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from dfkd_book import (
    chapters,
    config,
    data,
    distill,
    hooks,
    kd,
    methods,
    models,
    plot,
    recipes,
    records,
    stats,
    widgets,
    zoo,
)
from dfkd_book.experiments import leaderboard

# %%
chapter = chapters.setup("01_classical_kd")

# %% [markdown]
# The settings come from the recipe `kd-real` in `dfkd_book.recipes` (the collapsed table below), with a `quick`
# value for continuous integration and a `full` value, the one this page shows;
# `python -m dfkd_book.experiments.bench kd-real` runs the same recipe and writes `results/records/kd-real.json`.
# The temperature sweep further down is this chapter's own, with a shorter budget.

# %% tags=["hide-output"]
# Student-CE and Student-KD: budget, batch, optimiser, τ
r = recipes.get("kd-real")
# each point of the temperature sweep (≈ 1 and 4 passes over SWEEP_N)
SWEEP_STEPS = config.pick(quick=80, full=940)
SWEEP_TS = config.pick(quick=[1.0, 20.0], full=[1.0, 2.0, 4.0, 8.0, 20.0])
# transfer-set size in the sweep
SWEEP_N = config.pick(quick=20_000, full=60_000)
recipes.table("kd-real")

# %%
train = data.load("fashion-mnist", "train")
test = data.load("fashion-mnist", "test")
classes = train.classes
chapters.glue("n_train", f"{len(train):,}")
chapters.glue("n_test", f"{len(test):,}")
fig = plot.show_images(
    test.images[:20],
    [classes[y] for y in test.labels[:20]],
    ncols=10,
    suptitle="Fashion-MNIST test images (32×32, zero-padded)",
)

# %% [markdown]
# ## The teacher
#
# The book ships a LeNet-5 teacher trained by the zoo's recipe (`python -m dfkd_book.zoo train lenet5
# fashion-mnist` reproduces it); its weights are checked against a recorded sha256 and loaded frozen, in eval
# mode. The student is LeNet-5-Half: the same layers with half the convolution filters.

# %%
teacher = zoo.teacher("lenet5", "fashion-mnist")
teacher_acc = kd.evaluate(teacher, test)
n_teacher = models.count_parameters(teacher)
n_student = models.count_parameters(zoo.student("lenet5half"))
chapters.glue("teacher_acc", f"{100 * teacher_acc:.2f} %")
chapters.glue("teacher_params", f"{n_teacher:,}")
chapters.glue("student_params", f"{n_student:,}")
chapters.glue("size_ratio", f"{100 * n_student / n_teacher:.0f} %")

# %% [markdown]
# The teacher has {glue:text}`teacher_params` parameters and classifies {glue:text}`teacher_acc` of the
# {glue:text}`n_test` test images correctly. The student has {glue:text}`student_params`,
# {glue:text}`size_ratio` of the teacher's.
#
# ## Student-CE: the student trained on the labels
#
# The first baseline trains LeNet-5-Half directly on the labelled training set with cross-entropy
# (`dfkd_book.train`, the same loop as `distill`), with the same initial weights, optimiser, learning rate,
# schedule and number of steps as the distilled student below, so the only difference is what the student
# learns from: one-hot labels here, the teacher's soft targets there.

# %%
untrained_acc = kd.evaluate(zoo.student("lenet5half"), test)
# the same initial weights as Student-KD below (and `bench kd-real`)
config.seed_everything(0)
student_ce = zoo.student("lenet5half")
hist_ce = dfkd_book.train(
    student_ce,
    train,
    steps=r.student.steps,
    batch_size=r.student.batch_size,
    lr=r.student.lr,
    eval_set=test,
    seed=0,
    name="Student-CE (labels)",
)
chapters.glue("untrained_acc", f"{100 * untrained_acc:.2f} %")
chapters.glue("ce_acc", f"{100 * hist_ce.final_acc:.2f} %")
chapters.glue("n_steps", f"{r.student.steps:,}")

# %% [markdown]
# Untrained, the student is near chance ({glue:text}`untrained_acc`); after {glue:text}`n_steps` steps on the
# labels it reaches {glue:text}`ce_acc`. That is the number to beat: the distilled student gets the same
# budget and learns from the teacher instead.
#
# ## Soft targets and the temperature
#
# The teacher's logits $z$ become soft targets
#
# $$p_k(\tau) = \frac{\exp(z_k/\tau)}{\sum_j \exp(z_j/\tau)}.$$
#
# At τ = 1 the teacher is nearly certain and the soft target is almost the label. Raising τ flattens the
# distribution and exposes the small probabilities — *which wrong classes the teacher finds plausible* — that
# {cite:t}`hinton2015distilling` called dark knowledge.

# %%
# a shirt, a coat, an ankle boot
examples = [int(torch.nonzero(test.labels == c)[0]) for c in (6, 4, 9)]
z = kd.logits(teacher, test.images[examples])
fig, axes = plt.subplots(
    len(examples),
    2,
    figsize=(11, 2.4 * len(examples)),
    gridspec_kw={"width_ratios": [1, 6]},
)
for row, (i, zi) in enumerate(zip(examples, z)):
    axes[row, 0].imshow(test.images[i, 0], cmap="gray")
    axes[row, 0].set_title(f"true: {classes[test.labels[i]]}", fontsize=9)
    axes[row, 0].axis("off")
    probs = torch.stack([kd.soft_targets(zi, T) for T in (1.0, 4.0, 20.0)])
    plot.soft_targets(
        probs, classes, labels=["τ = 1", "τ = 4", "τ = 20"], ax=axes[row, 1]
    )
fig.suptitle("The teacher's soft targets at three temperatures")
fig.tight_layout()

# %% [markdown]
# ## The distillation loss, from scratch
#
# The student $S$ is trained to match the teacher $T$'s soft targets with the loss of
# {cite:t}`hinton2015distilling`, which is eq. 1 of ZSKD:
#
# $$\mathcal{L} = \tau^2\,\mathrm{KL}\big(p^{T}(\tau)\,\|\,p^{S}(\tau)\big) + \lambda\,\mathrm{CE}\big(y, p^{S}(1)\big),
# \qquad \mathrm{KL}(p\,\|\,q) = \sum_k p_k \log\frac{p_k}{q_k},$$
#
# averaged over the batch, with the τ² factor keeping gradient magnitudes comparable across temperatures.
# Data-free methods drop the second term: there are no labels (ZSKD eq. 4, $\lambda = 0$). Written with torch
# operations, per sample, and asserted equal to the package's `kd.kd_loss` (the batch mean) and
# `kd.per_sample_kl` (the per-sample loss the student loop uses) on a few random logits:

# %%
def kd_loss_from_scratch(s, t, tau, y=None, lam=0.0):
    """τ² · KL(softmax(t/τ) ‖ softmax(s/τ)) per sample, and the batch mean
    of it + λ · CE(y, softmax(s))."""
    log_p_t = torch.log_softmax(t / tau, dim=1)
    log_p_s = torch.log_softmax(s / tau, dim=1)
    per_sample = tau**2 * (log_p_t.exp() * (log_p_t - log_p_s)).sum(dim=1)
    loss = per_sample.mean()
    if lam:  # the hard-label term, which needs the true labels y
        ce = -torch.log_softmax(s, dim=1).gather(1, y[:, None]).mean()
        loss = loss + lam * ce
    return loss, per_sample


gen = torch.Generator().manual_seed(0)
s_logits = 3 * torch.randn(6, 10, generator=gen)
t_logits = 3 * torch.randn(6, 10, generator=gen)
y = torch.randint(10, (6,), generator=gen)
for tau in (1.0, 4.0, 20.0):
    ours, ours_per = kd_loss_from_scratch(s_logits, t_logits, tau)
    assert torch.allclose(ours, kd.kd_loss(s_logits, t_logits, T=tau))
    assert torch.allclose(ours_per, kd.per_sample_kl(s_logits, t_logits, tau))
    ours_lam, _ = kd_loss_from_scratch(s_logits, t_logits, tau, y, lam=0.3)
    pkg_lam = kd.kd_loss(s_logits, t_logits, T=tau, labels=y, lam=0.3)
    assert torch.allclose(ours_lam, pkg_lam)
    assert torch.allclose(ours_lam - ours, 0.3 * F.cross_entropy(s_logits, y))

# %% [markdown]
# ## The student loop, from scratch
#
# With the loss in hand, the student loop is short. The transfer set $\{x_i\}$ is walked in shuffled passes of
# batches $B_t$; the teacher's logits on the set are computed once (its weights are frozen); and the student's
# weights $\theta$ take one Adam step per batch on the distillation loss, at a learning rate that follows a cosine
# from $\eta$ to zero over the $T$ steps of the budget:
#
# $$\begin{aligned}
# \theta_{t+1} &= \theta_t - \eta_t\,\mathrm{Adam}\big(\nabla_\theta \mathcal{L}_{B_t}\big),
# \qquad \eta_t = \frac{\eta}{2}\Big(1 + \cos\frac{\pi t}{T}\Big),\\
# \mathcal{L}_{B_t} &= \frac{1}{|B_t|}\sum_{i \in B_t} \tau^2\,\mathrm{KL}\big(p^{T}_i(\tau)\,\|\,p^{S}_i(\tau)\big).
# \end{aligned}$$
#
# Written out, and asserted equal to the package's `distill` on 256 test images for a few steps: from the same
# start, with the same seed, the same frozen copy of the teacher (`hooks.frozen_copy`, which `distill` makes too)
# and the student in the memory layout `distill` trains it in (`hooks.to_device`), the two students must end with
# the same weights.

# %%
def distill_from_scratch(
    teacher, student, x, *, steps, batch_size, lr, tau, seed=0
):
    """The student loop of `distill` for a static transfer set x, without
    augmentation, warm-up or evaluation: shuffled passes, one Adam step per
    batch on τ²·KL, a cosine learning rate."""
    g = torch.Generator().manual_seed(seed)  # the batches' shuffling
    with torch.no_grad():
        t_logits = teacher(x)  # the teacher is frozen: its logits once
    opt = torch.optim.Adam(student.parameters(), lr=lr)
    order, pos = None, len(x)
    student.train()
    for step in range(steps):
        if pos >= len(x):  # a new shuffled pass over the set
            order, pos = torch.randperm(len(x), generator=g), 0
        idx = order[pos : pos + batch_size]
        pos += len(idx)
        for group in opt.param_groups:  # the cosine schedule
            group["lr"] = lr * 0.5 * (1 + np.cos(np.pi * step / steps))
        loss, _ = kd_loss_from_scratch(student(x[idx]), t_logits[idx], tau)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return student.eval()


tiny, dev = test.images[:256], config.device()
budget = dict(steps=6, batch_size=64, lr=5e-3)
config.seed_everything(0)
ours = distill_from_scratch(
    hooks.frozen_copy(teacher, dev),
    hooks.to_device(zoo.student("lenet5half"), dev),
    tiny.to(dev),
    tau=4.0,
    **budget,
)
config.seed_everything(0)
package = distill(
    teacher,
    zoo.student("lenet5half"),
    methods.TransferSet(tiny),
    T=4.0,
    seed=0,
    progress=False,
    **budget,
).student
for a, b in zip(ours.state_dict().values(), package.state_dict().values()):
    assert torch.allclose(a, b, rtol=0, atol=1e-6)

# %% [markdown]
# ## Student-KD: distillation on the real training data
#
# `distill` is the one student loop of the book. Here the method is `methods.RealData(train)` — built by the
# recipe, `r.build(train)` — and the loss is the distillation term alone (ZSKD eq. 4, $\lambda = 0$) at the
# recipe's τ, with Adam and a cosine schedule. The transfer set is the real training set of {glue:text}`n_train`
# images, so the frozen teacher's soft targets are computed once and reused at every step. (With augmentation,
# `distill(..., augment=...)` lets the teacher re-label every augmented batch instead — the trick ZSKD relies on
# for data impressions in {doc}`02_data_impressions`.)

# %%
config.seed_everything(0)
student_kd = zoo.student("lenet5half")
result_kd = distill(
    teacher,
    student_kd,
    r.build(train),
    eval_set=test,
    seed=0,
    name="Student-KD (real data)",
    **r.student.kwargs(),
)
agreement = kd.agreement(student_kd, teacher, test.images)
chapters.glue("kd_acc", f"{100 * result_kd.final_acc:.2f} %")
chapters.glue(
    "kd_gain", f"{100 * (result_kd.final_acc - hist_ce.final_acc):+.2f}"
)
chapters.glue("kd_agreement", f"{100 * agreement:.2f} %")
chapters.glue("kd_queries", f"{result_kd.teacher_queries['forward']:,}")
fig = plot.curves(
    hist_ce,
    result_kd,
    title="LeNet-5-Half on Fashion-MNIST: labels vs the teacher's soft targets",
)

# %% [markdown]
# Student-KD ends at {glue:text}`kd_acc`, a difference of {glue:text}`kd_gain` points from Student-CE, and predicts the
# teacher's class on {glue:text}`kd_agreement` of the test images. It queried the teacher
# {glue:text}`kd_queries` times, once per training image: with a static transfer set the soft targets are a
# table computed up front. This is the **ceiling** of the book's benchmark.
#
# ## Student accuracy against the temperature
#
# Each point below is a fresh student (the same initial weights each time) distilled at one temperature with a
# shorter budget (`SWEEP_STEPS` steps instead of the recipe's, otherwise the same recipe). Read the curve with its
# budget in mind: at high τ the soft targets are close to uniform, so a few steps carry less signal about the top
# class, while the τ² factor keeps the total gradient comparable. Which temperature wins with the recipe's full
# budget is {ref}`ex-ch1-temperature`.

# %%
sweep = train.subset(SWEEP_N, seed=0)
sweep_acc = {}
for T in SWEEP_TS:
    config.seed_everything(0)
    res = distill(
        teacher,
        zoo.student("lenet5half"),
        methods.RealData(sweep),
        eval_set=test,
        seed=0,
        name=f"τ = {T:g}",
        progress=False,
        **r.student.kwargs(steps=SWEEP_STEPS, T=T, eval_every=SWEEP_STEPS),
    )
    sweep_acc[T] = res.final_acc
ranked = sorted(sweep_acc, key=sweep_acc.get)
for name, T in (("sweep_best", ranked[-1]), ("sweep_worst", ranked[0])):
    chapters.glue(name, f"τ = {T:g} ({100 * sweep_acc[T]:.2f} %)")
fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(list(sweep_acc), [100 * a for a in sweep_acc.values()], marker="o")
ax.set(
    xscale="log",
    xlabel="temperature τ",
    ylabel="student test accuracy (%)",
    title=f"{SWEEP_STEPS:,} steps of KD on {len(sweep):,} images",
)
ax.set_xticks(list(sweep_acc), [f"{t:g}" for t in sweep_acc])
ax.grid(alpha=0.3)

# %% [markdown]
# With this short budget the best student is the one at {glue:text}`sweep_best` and the worst the one at
# {glue:text}`sweep_worst`: the sweep measures how *fast* each temperature teaches, not where it ends.
#
# ## Dark knowledge: which classes the teacher confuses
#
# Averaging the teacher's soft targets over the test images of each true class gives a class-to-class map of
# what the teacher believes. The big off-diagonal entries are the confusions a student learns from soft targets
# but never from one-hot labels. ZSKD ({doc}`02_data_impressions`) turns this structure — read from the
# teacher's weights instead of from data — into its Dirichlet prior.

# %%
z_test = kd.logits(teacher, test.images)
mean_soft = torch.stack(
    [
        kd.soft_targets(z_test[test.labels == c], 4.0).mean(0)
        for c in range(len(classes))
    ]
)
confusion = torch.zeros(len(classes), len(classes))
confusion.index_put_(
    (test.labels, z_test.argmax(1)), torch.ones(len(test)), accumulate=True
)
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(15, 6))
plot.heatmap(
    confusion / confusion.sum(1, keepdim=True),
    classes,
    ax=ax1,
    title="confusion matrix (rows: true)",
    xlabel="predicted",
    ylabel="true",
)
plot.heatmap(
    mean_soft,
    classes,
    ax=ax2,
    log=True,
    title="mean soft targets at τ = 4 (colour: log10)",
    xlabel="soft target for class",
    ylabel="true class",
)
off = mean_soft.clone().fill_diagonal_(0).flatten()
chapters.glue(
    "dark_top",
    "; ".join(
        f"{classes[i // len(classes)]} → {classes[i % len(classes)]} "
        f"({off[i]:.3f})"
        for i in torch.topk(off, 3).indices
    ),
)

# %% [markdown]
# The largest off-diagonal entries are {glue:text}`dark_top`. Shirts, T-shirts, pullovers and coats resemble
# each other; sandals, sneakers and ankle boots form a second family.
#
# ## Explore the temperature yourself
#
# Run the notebook to move the sliders (τ and the test image). The static figure beside it, for the published
# page, follows one image's soft targets as τ grows from 0.5 to 30: at low τ one class takes everything, at high
# τ all classes tend to $1/K$, and in between the ranking of the wrong classes becomes visible.

# %% tags=["remove-output"]
widgets.temperature_explorer(
    teacher, test.images[examples + list(range(20))], classes
)

# %%
Ts = np.geomspace(0.5, 30, 60)
curve = torch.stack([kd.soft_targets(z[0], float(T)) for T in Ts]).numpy()
fig, (ax_img, ax) = plt.subplots(
    1, 2, figsize=(11, 3.4), gridspec_kw={"width_ratios": [1, 4]}
)
ax_img.imshow(test.images[examples[0], 0], cmap="gray")
ax_img.set_title(classes[test.labels[examples[0]]], fontsize=9)
ax_img.axis("off")
for k in np.argsort(-curve[len(Ts) // 2])[:6]:
    ax.plot(Ts, curve[:, k], label=classes[k])
ax.axhline(1 / len(classes), color="gray", ls=":", label="1/K")
ax.set(
    xscale="log",
    xlabel="temperature τ",
    ylabel="soft target",
    title="soft targets of one image against τ",
)
ax.legend(fontsize=8, ncol=2)
ax.grid(alpha=0.3)
fig.tight_layout()

# %% [markdown]
# ## The yardstick: how many real images is a transfer set worth?
#
# The ceiling above used the whole training set. How fast does the student fall with fewer images? The record
# below (`python -m dfkd_book.experiments.search yardstick`, {doc}`A1_student_protocol`) distils the same
# teacher into the same student on $N$ class-balanced real images, with one protocol for every $N$: ZSKD's
# augmentation, re-labelled by the teacher at every step. Every later chapter reads its data-free student
# against this curve: `stats.worth_real_images(acc, yardstick)` turns a student accuracy into the number of real
# images that give the same student.

# %%
yardstick = records.yardstick()
fig = plot.yardstick(
    yardstick,
    title="KD on N real Fashion-MNIST images (LeNet-5 → LeNet-5-Half)",
)
protocol, points = yardstick["protocol"], yardstick["points"]
ys_lr, ys_T, ys_steps = (protocol[k] for k in ("lr", "T", "steps"))
chapters.glue(
    "ys_protocol", f"Adam at {ys_lr:g}, τ = {ys_T:g}, {ys_steps:,} steps"
)
chapters.glue("ys_seeds", len(points[-1]["per_seed"]))
for acc in (70, 80, 86):
    chapters.glue(
        f"worth_{acc}", f"{stats.worth_real_images(acc, yardstick)['n']:,}"
    )
plateau = next(p for p in points if p["mean"] >= points[-1]["mean"] - 1)
chapters.glue("ys_plateau_n", f"{plateau['n']:,}")
chapters.glue("ys_all", f"{points[-1]['mean']:.2f} %")

# %% [markdown]
# Each point is the mean over {glue:text}`ys_seeds` seeds ({glue:text}`ys_protocol`). The curve rises steeply
# and is within one point of its value on all the images ({glue:text}`ys_all`) from {glue:text}`ys_plateau_n`
# images on: with heavy augmentation and the teacher re-labelling every augmented image, a few thousand real
# images teach this student nearly all that the whole set does under the same protocol. (The recipe of this
# chapter, without augmentation and at its own τ, reached {glue:text}`kd_acc` on the whole set.) Read against
# it, a student at 70 % is worth about {glue:text}`worth_70` real images, one at 80 % about
# {glue:text}`worth_80`, one at 86 % about {glue:text}`worth_86`. The yardstick resolves best below a few
# thousand images — which is where, as the next chapters show, the data-free transfer sets land.
#
# ## Paper vs this book
#
# ZSKD {cite}`nayak2019zskd`, Table 2 (Fashion-MNIST), against this run. The paper trained for 200 epochs in
# TensorFlow; this book trains for the recipe's number of steps in PyTorch (the recipe table above). Retention is
# the student's accuracy as a fraction of its teacher's — the fair way to compare across papers whose teachers
# differ.

# %%
# the paper's numbers, from the method table of dfkd_book.recipes
paper = {
    key: recipes.published("kd-real", key).value
    for key in ("teacher", "student", "student, cross-entropy")
}
retention_paper = 100 * paper["student"] / paper["teacher"]
retention_book = 100 * result_kd.final_acc / teacher_acc
table = plot.paper_vs_book(
    [
        ("Teacher-CE (LeNet-5)", paper["teacher"], 100 * teacher_acc),
        (
            "Student-CE (LeNet-5-Half, labels)",
            paper["student, cross-entropy"],
            100 * hist_ce.final_acc,
        ),
        (
            "Student-KD (60k original data)",
            paper["student"],
            100 * result_kd.final_acc,
        ),
        (
            "Student-KD retention (% of teacher)",
            retention_paper,
            retention_book,
        ),
    ]
)
chapters.glue("retention_paper", f"{retention_paper:.1f} %")
chapters.glue("retention_book", f"{retention_book:.1f} %")
table

# %% tags=["hide-input"]
# the multi-seed record of `python -m dfkd_book.experiments.bench kd-real`
bench_record = leaderboard.load(methods=("kd-real",))["kd-real"]
chapters.glue("bench_acc", f"{bench_record['student_acc']:.2f} %")
chapters.glue("bench_sd", f"{bench_record.get('student_acc_sd', 0.0):.2f}")
chapters.glue("bench_seeds", bench_record.get("seeds", 1))

# %% [markdown]
# The distilled student keeps {glue:text}`retention_book` of its teacher's accuracy, against
# {glue:text}`retention_paper` in the paper: classical KD on the real data loses almost nothing, and this is the
# ceiling. The recorded run of the same recipe over {glue:text}`bench_seeds` seeds
# (`results/records/kd-real.json`) gives {glue:text}`bench_acc` ± {glue:text}`bench_sd`; the later chapters'
# tables use that record.

# %% tags=["hide-input"]
# Sanity checks: a broken teacher, loss or training loop fails here (and CI
# runs this notebook).
assert 100 * teacher_acc >= paper["teacher"], teacher_acc
assert result_kd.final_acc > untrained_acc + 0.5, (
    result_kd.final_acc,
    untrained_acc,
)
assert result_kd.final_acc > config.pick(
    quick=0.75, full=paper["student"] / 100
), result_kd.final_acc
assert hist_ce.final_acc > config.pick(quick=0.75, full=0.88), hist_ce.final_acc
assert max(sweep_acc.values()) > config.pick(quick=0.65, full=0.85), sweep_acc
chapter.passed()

# %% [markdown]
# ## Summary
#
# * Classical KD trains a student on the teacher's soft targets at a temperature τ over a transfer set. With the
#   real training data as the transfer set it gives the **ceiling** that every data-free method of the book chases.
# * The distillation loss is $\tau^2\,\mathrm{KL}\big(p^{T}(\tau)\,\|\,p^{S}(\tau)\big)$, plus a hard-label
#   term $\lambda\,\mathrm{CE}$ that only real, labelled data allows; the τ² factor keeps the gradient's scale
#   roughly independent of τ.
# * The student loop is short — shuffled passes over the transfer set, the frozen teacher's logits computed once,
#   one Adam step per batch on a cosine schedule — and the version written from scratch ends with the same weights
#   as the package's `distill`.
# * From the same initial weights and budget as the student trained on labels, the distilled student retains
#   {glue:text}`retention_book` of its teacher's accuracy, against {glue:text}`retention_paper` for ZSKD's.
# * A high τ exposes dark knowledge: the teacher's mean soft targets group the classes into families (the tops, the
#   shoes), the structure that {doc}`02_data_impressions` reads from the teacher's weights instead of from data.
# * The yardstick turns any student's accuracy into the number of real images that give the same student
#   (`stats.worth_real_images`); the later chapters read their data-free students against it.

# %% [markdown]
# ## Exercises
#
# The worked solutions are in {doc}`C_solutions`. The hands-on exercises reuse this chapter's
# objects (`teacher`, `train`, `test`, `r`, `result_kd`, ...): run the chapter first. Each of them trains one to a
# few students of the chapter's size, a few minutes each (less with `DFKD_BOOK_PROFILE=quick`).

# %% [markdown]
# ```{exercise} λ and hard labels
# :label: ex-ch1-lambda
#
# Add the hard-label term (`lam=0.3`, as the ZSKD appendix did on real data) to the `distill` call of Student-KD
# (`methods.RealData` passes the labels on). Does it help when the transfer set is the real training data? Why can
# no data-free chapter use it?
# ```
#
# {ref}`Solution <ex-ch1-lambda-solution>`.

# %% [markdown]
# ```{exercise} The temperature, properly
# :label: ex-ch1-temperature
#
# Repeat the temperature sweep with the full recipe (`r.student.steps` steps on all 60,000 images). Does the
# ranking of the short sweep survive? Then remove the τ² factor: subclass `methods.RealData` and override its
# `loss(batch, student_logits, teacher_logits, T)` with the per-sample loss without τ², and explain the curve you
# get with the gradient of the KL term ({ref}`ex-ch1-tau2` derives it).
# ```
#
# {ref}`Solution <ex-ch1-temperature-solution>`.

# %% [markdown]
# ```{exercise} Less data
# :label: ex-ch1-less-data
#
# Distil on 200 real images per class (`methods.RealData(train.subset(200, per_class=True))`). How far below the
# ceiling do you fall? Compare with the few-shot result of {cite:t}`kimura2018fewshot` with 200 images, quoted in ZSKD's
# Table 2, and with the yardstick above.
# ```
#
# {ref}`Solution <ex-ch1-less-data-solution>`.

# %% [markdown]
# ```{exercise} Dark knowledge without data
# :label: ex-ch1-weights
#
# The heatmap above needed test images. Compute the cosine similarity of the rows of the teacher's last-layer
# weights (`models.last_linear(teacher).weight`) and compare it with the mean-soft-target map. This is where
# chapter 2 starts.
# ```
#
# {ref}`Solution <ex-ch1-weights-solution>`.

# %% [markdown]
# ```{exercise} Why τ²? (pen and paper)
# :label: ex-ch1-tau2
#
# Let $p = \mathrm{softmax}(t/\tau)$ and $q = \mathrm{softmax}(s/\tau)$ for the teacher's and student's logits $t, s
# \in \mathbb{R}^K$, and $\mathcal{L} = \tau^2\,\mathrm{KL}(p\,\|\,q)$.
#
# 1. Show that $\partial\mathcal{L}/\partial s_i = \tau\,(q_i - p_i)$.
# 2. Assume the logits of each network have zero mean over the classes and $|s_i|, |t_i| \ll \tau$. Show that
#    $\partial\mathcal{L}/\partial s_i \approx (s_i - t_i)/K$, independent of τ. What loss has this gradient?
# 3. What would the gradient be without the τ² factor, and why does that matter when the hard-label term
#    $\lambda\,\mathrm{CE}$ is added?
# ```
#
# {ref}`Solution <ex-ch1-tau2-solution>`.
