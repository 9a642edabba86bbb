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
# The running benchmark is the one of ZSKD {cite}`nayak2019zskd`: Fashion-MNIST {cite}`xiao2017fashion`,
# 28×28 images zero-padded to 32×32 with values in [0, 1]; teacher LeNet-5, student LeNet-5-Half (their sizes
# are printed below).
#
# Every method of the book, this one included, runs through one student loop, `distill(teacher, student,
# method, steps=...)`: a **method** from `dfkd_book.methods` supplies the transfer set (here `methods.RealData`,
# the real training images), and the student's budget is counted in optimiser **steps**.

# %% tags=["remove-cell"]
# On Colab: install this book's package (Colab already has PyTorch; this never reinstalls it).
import sys

if "google.colab" in sys.modules:
    # %pip install -q "dfkd-book[book] @ git+https://github.com/dfkd-book/dfkd-book"
    pass

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F

import dfkd_book
from dfkd_book import config, data, distill, kd, leaderboard, methods, models, plot, protocol, recipes, widgets, zoo

# %%
config.describe()
config.seed_everything(0)
chapter_start = time.perf_counter()

# %% [markdown]
# The settings come from the recipe `kd-real` in `dfkd_book.recipes`, with a `quick` value (CI, previews) and a
# `full` value (what this page shows) for each; `python -m dfkd_book.bench kd-real` runs the same recipe and
# writes `results/kd-real.json`. The temperature sweep further down is this chapter's own, with a shorter budget.

# %%
r = recipes.get("kd-real")  # Student-CE and Student-KD: budget, batch, optimiser, τ
SWEEP_STEPS = config.pick(quick=80, full=940)  # each point of the temperature sweep (≈ 1 and 4 passes over SWEEP_N)
SWEEP_TS = config.pick(quick=[1.0, 20.0], full=[1.0, 2.0, 4.0, 8.0, 20.0])
SWEEP_N = config.pick(quick=20_000, full=60_000)  # transfer-set size in the sweep
recipes.table("kd-real")

# %%
train = data.load("fashion-mnist", "train")
test = data.load("fashion-mnist", "test")
classes = train.classes
print(f"train {tuple(train.images.shape)}, test {tuple(test.images.shape)}, "
      f"values in [{train.images.min():.0f}, {train.images.max():.0f}]")
fig = plot.show_images(test.images[:20], [classes[y] for y in test.labels[:20]], ncols=10,
                       suptitle="Fashion-MNIST test images (32×32, zero-padded)")

# %% [markdown]
# ## The teacher
#
# The book ships a LeNet-5 teacher trained by the zoo's recipe (`python -m dfkd_book.zoo train lenet5
# fashion-mnist` reproduces it); its weights are checked against a recorded sha256 and loaded frozen, in eval
# mode. The student is LeNet-5-Half: the same layers with half the convolution filters.

# %%
teacher = zoo.teacher("lenet5", "fashion-mnist")
record = zoo.manifest()["lenet5-fashion-mnist"]
teacher_acc = kd.evaluate(teacher, test)
print(f"teacher LeNet-5: {models.count_parameters(teacher):,} parameters (frozen), "
      f"test accuracy {100 * teacher_acc:.2f} %  [trained in {record['train_seconds']:.0f} s, "
      f"recipe {record['recipe']}]")
print(f"student LeNet-5-Half: {models.count_parameters(zoo.student('lenet5half')):,} parameters")

# %% [markdown]
# ## Student-CE: the student trained on the labels
#
# The first baseline trains LeNet-5-Half directly on the labelled training set with cross-entropy
# (`dfkd_book.train`, the same loop as `distill`), with the same initial weights, optimiser, learning rate,
# schedule and number of steps as the distilled student below, so the only difference is what the student
# learns from: one-hot labels here, the teacher's soft targets there.

# %%
untrained_acc = kd.evaluate(zoo.student("lenet5half"), test)
config.seed_everything(0)  # the same initial weights as Student-KD below (and `bench kd-real`)
student_ce = zoo.student("lenet5half")
hist_ce = dfkd_book.train(student_ce, train, steps=r.student.steps, batch_size=r.student.batch_size,
                          lr=r.student.lr, eval_set=test, seed=0, name="Student-CE (labels)")
print(f"untrained student {100 * untrained_acc:.2f} %  ->  Student-CE {100 * hist_ce.final_acc:.2f} % "
      f"after {hist_ce.step[-1]:,} steps ({hist_ce.seconds:.0f} s)")

# %% [markdown]
# ## Soft targets and the temperature
#
# The teacher's logits $z$ become soft targets
#
# $$p_k(\tau) = \frac{\exp(z_k/\tau)}{\sum_j \exp(z_j/\tau)}.$$
#
# At τ = 1 the teacher is nearly certain and the soft target is almost the label. Raising τ flattens the
# distribution and exposes the small probabilities — *which wrong classes the teacher finds plausible* — that
# Hinton et al. called dark knowledge.

# %%
examples = [int(torch.nonzero(test.labels == c)[0]) for c in (6, 4, 9)]  # a shirt, a coat, an ankle boot
z = kd.logits(teacher, test.images[examples])
fig, axes = plt.subplots(len(examples), 2, figsize=(11, 2.4 * len(examples)),
                         gridspec_kw={"width_ratios": [1, 6]})
for row, (i, zi) in enumerate(zip(examples, z)):
    axes[row, 0].imshow(test.images[i, 0], cmap="gray")
    axes[row, 0].set_title(f"true: {classes[test.labels[i]]}", fontsize=9)
    axes[row, 0].axis("off")
    probs = torch.stack([kd.soft_targets(zi, T) for T in (1.0, 4.0, 20.0)])
    plot.soft_targets(probs, classes, labels=["τ = 1", "τ = 4", "τ = 20"], ax=axes[row, 1])
fig.suptitle("The teacher's soft targets at three temperatures")
fig.tight_layout()

# %% [markdown]
# ## The distillation loss, from scratch
#
# The student $S$ is trained to match the teacher $T$'s soft targets (Hinton et al. 2015; ZSKD eq. 1):
#
# $$\mathcal{L} = \tau^2\,\mathrm{KL}\big(p^{T}(\tau)\,\|\,p^{S}(\tau)\big) + \lambda\,\mathrm{CE}\big(y, p^{S}(1)\big),
# \qquad \mathrm{KL}(p\,\|\,q) = \sum_k p_k \log\frac{p_k}{q_k},$$
#
# averaged over the batch, with the τ² factor keeping gradient magnitudes comparable across temperatures.
# Data-free methods drop the second term: there are no labels (ZSKD eq. 4, λ = 0). Written with torch
# operations, per sample, and checked against the package's `kd.kd_loss` (the batch mean) and `kd.per_sample_kl`
# (the per-sample loss the student loop uses) on a few random logits:

# %%
def kd_loss_from_scratch(s, t, tau, y=None, lam=0.0):
    """τ² · KL(softmax(t/τ) ‖ softmax(s/τ)) per sample, and the batch mean + λ · CE(y, softmax(s))."""
    log_p_t, log_p_s = torch.log_softmax(t / tau, dim=1), torch.log_softmax(s / tau, dim=1)
    per_sample = tau**2 * (log_p_t.exp() * (log_p_t - log_p_s)).sum(dim=1)
    loss = per_sample.mean()
    if lam:
        loss = loss - lam * torch.log_softmax(s, dim=1).gather(1, y[:, None]).mean()
    return loss, per_sample


gen = torch.Generator().manual_seed(0)
s_logits, t_logits = 3 * torch.randn(6, 10, generator=gen), 3 * torch.randn(6, 10, generator=gen)
y = torch.randint(10, (6,), generator=gen)
for tau in (1.0, 4.0, 20.0):
    ours, ours_per = kd_loss_from_scratch(s_logits, t_logits, tau)
    assert torch.allclose(ours, kd.kd_loss(s_logits, t_logits, T=tau))
    assert torch.allclose(ours_per, kd.per_sample_kl(s_logits, t_logits, tau))
    with_labels, _ = kd_loss_from_scratch(s_logits, t_logits, tau, y, lam=0.3)
    assert torch.allclose(with_labels, kd.kd_loss(s_logits, t_logits, T=tau, labels=y, lam=0.3))
    assert torch.allclose(with_labels - ours, 0.3 * F.cross_entropy(s_logits, y))
    print(f"τ = {tau:>4g}: from scratch {ours:.5f} = kd.kd_loss {kd.kd_loss(s_logits, t_logits, T=tau):.5f}")

# %% [markdown]
# ## Student-KD: distillation on the real training data
#
# `distill` is the one student loop of the book. Here the method is `methods.RealData(train)` — built by the
# recipe, `r.build(train)` — and the loss is the distillation term alone (ZSKD eq. 4, λ = 0) at the recipe's τ,
# with Adam and a cosine schedule. The transfer set is the real training set, so the frozen teacher's soft targets
# are computed once and reused at every step. (With augmentation, `distill(..., augment=...)` lets the teacher
# re-label every augmented batch instead — the trick ZSKD relies on for data impressions in chapter 2.)

# %%
config.seed_everything(0)
student_kd = zoo.student("lenet5half")
result_kd = distill(teacher, student_kd, r.build(train), eval_set=test, seed=0, name="Student-KD (real data)",
                    **r.student.kwargs())
print(f"Student-KD {100 * result_kd.final_acc:.2f} % after {result_kd.steps:,} steps "
      f"({result_kd.history.seconds:.0f} s, {result_kd.teacher_queries['forward']:,} teacher forward queries); "
      f"agreement with the teacher on the test set {100 * kd.agreement(student_kd, teacher, test.images):.2f} %")
fig = plot.curves(hist_ce, result_kd, title="LeNet-5-Half on Fashion-MNIST: labels vs the teacher's soft targets")

# %% [markdown]
# ## Student accuracy against the temperature
#
# Each point below is a fresh student (the same initial weights each time) distilled at one temperature with a
# shorter budget (`SWEEP_STEPS` steps instead of the recipe's, otherwise the same recipe). Read the curve with its
# budget in mind: at high τ the soft targets are close to uniform, so a few steps carry less signal about the top
# class, while the τ² factor keeps the total gradient comparable. Which temperature wins with the recipe's full
# budget is exercise 2.

# %%
sweep = train.subset(SWEEP_N, seed=0)
sweep_acc = {}
for T in SWEEP_TS:
    config.seed_everything(0)
    res = distill(teacher, zoo.student("lenet5half"), methods.RealData(sweep), eval_set=test, seed=0,
                  name=f"τ = {T:g}", progress=False,
                  **r.student.kwargs(steps=SWEEP_STEPS, T=T, eval_every=SWEEP_STEPS))
    sweep_acc[T] = res.final_acc
    print(f"τ = {T:>4g}: {100 * res.final_acc:.2f} %  ({res.history.seconds:.0f} s)")
fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(list(sweep_acc), [100 * a for a in sweep_acc.values()], marker="o")
ax.set(xscale="log", xlabel="temperature τ", ylabel="student test accuracy (%)",
       title=f"{SWEEP_STEPS:,} steps of KD on {len(sweep):,} images")
ax.set_xticks(list(sweep_acc), [f"{t:g}" for t in sweep_acc])
ax.grid(alpha=0.3)

# %% [markdown]
# ## Dark knowledge: which classes the teacher confuses
#
# Averaging the teacher's soft targets over the test images of each true class gives a class-to-class map of
# what the teacher believes. The big off-diagonal entries are the confusions a student learns from soft targets
# but never from one-hot labels: shirts, T-shirts, pullovers and coats resemble each other; sandals, sneakers and
# ankle boots form a second family. ZSKD (chapter 2) turns this structure — read from the teacher's weights
# instead of from data — into its Dirichlet prior.

# %%
z_test = kd.logits(teacher, test.images)
mean_soft = torch.stack([kd.soft_targets(z_test[test.labels == c], 4.0).mean(0) for c in range(len(classes))])
confusion = torch.zeros(len(classes), len(classes))
confusion.index_put_((test.labels, z_test.argmax(1)), torch.ones(len(test)), accumulate=True)
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(15, 6))
plot.heatmap(confusion / confusion.sum(1, keepdim=True), classes, ax=ax1, title="confusion matrix (rows: true)",
             xlabel="predicted", ylabel="true")
plot.heatmap(mean_soft, classes, ax=ax2, log=True, title="mean soft targets at τ = 4 (colour: log10)",
             xlabel="soft target for class", ylabel="true class")
off = mean_soft.clone().fill_diagonal_(0)
top = torch.topk(off.flatten(), 5).indices
print("largest dark-knowledge entries:",
      "; ".join(f"{classes[i // len(classes)]} → {classes[i % len(classes)]} {off.flatten()[i]:.3f}" for i in top))

# %% [markdown]
# ## Explore the temperature yourself
#
# Run the notebook to move the sliders (τ and the test image). The static figure beside it, for the published
# page, follows one image's soft targets as τ grows from 0.5 to 30: at low τ one class takes everything, at high
# τ all classes tend to 1/K, and in between the ranking of the wrong classes becomes visible.

# %% tags=["remove-output"]
widgets.temperature_explorer(teacher, test.images[examples + list(range(20))], classes)

# %%
Ts = np.geomspace(0.5, 30, 60)
zi = z[0]
curve = torch.stack([kd.soft_targets(zi, float(T)) for T in Ts]).numpy()
fig, (ax_img, ax) = plt.subplots(1, 2, figsize=(11, 3.4), gridspec_kw={"width_ratios": [1, 4]})
ax_img.imshow(test.images[examples[0], 0], cmap="gray")
ax_img.set_title(classes[test.labels[examples[0]]], fontsize=9)
ax_img.axis("off")
for k in np.argsort(-curve[len(Ts) // 2])[:6]:
    ax.plot(Ts, curve[:, k], label=classes[k])
ax.axhline(1 / len(classes), color="gray", ls=":", label="1/K")
ax.set(xscale="log", xlabel="temperature τ", ylabel="soft target", title="soft targets of one image against τ")
ax.legend(fontsize=8, ncol=2)
ax.grid(alpha=0.3)
fig.tight_layout()

# %% [markdown]
# ## The yardstick: how many real images is a transfer set worth?
#
# The ceiling above used all 60,000 training images. How fast does the student fall with fewer? The record
# below distils the same teacher into the same student, with one protocol (ZSKD's augmentation re-labelled by the
# teacher, Adam 10⁻², τ = 20, 5,000 steps), on N class-balanced real images, three seeds each (`python -m
# dfkd_book.protocol yardstick`, Appendix A). Every later chapter reads its data-free student against this curve:
# `protocol.worth_real_images(acc, yardstick)` turns a student accuracy into the number of real images that give
# the same student.

# %%
yardstick = protocol.load_record("yardstick")
fig = plot.yardstick(yardstick, title="KD on N real Fashion-MNIST images (LeNet-5 → LeNet-5-Half)")
for acc in (70.0, 80.0, 86.0):
    w = protocol.worth_real_images(acc, yardstick)
    print(f"a student at {acc:.0f} % is worth about {w['n']:,} real images (band {w['low']:,}–{w['high']:,})")

# %% [markdown]
# The curve rises steeply to about a thousand images and is flat after three thousand: with heavy augmentation
# and the teacher re-labelling every augmented image, a few thousand real images teach this student nearly all
# that sixty thousand do under the same protocol (the recipe above, without augmentation, does better on the full
# set). So the yardstick resolves best below a few thousand images — which is where, as the next chapters show,
# the data-free transfer sets land.

# %% [markdown]
# ## Paper vs this book
#
# ZSKD {cite}`nayak2019zskd`, Table 2 (Fashion-MNIST), against this run. The paper trained for 200 epochs in
# TensorFlow; this book trains for the recipe's number of steps on a 2-core CPU budget. Retention is the
# student's accuracy as a fraction of its teacher's — the fair way to compare across papers whose teachers
# differ. Below the table, the multi-seed record of `python -m dfkd_book.bench kd-real` from `results/`.

# %%
table = plot.paper_vs_book([
    ("Teacher-CE (LeNet-5)", 90.84, 100 * teacher_acc),
    ("Student-CE (LeNet-5-Half, labels)", 89.43, 100 * hist_ce.final_acc),
    ("Student-KD (60k original data)", 89.66, 100 * result_kd.final_acc),
    ("Student-KD retention (% of teacher)", 100 * 89.66 / 90.84, 100 * result_kd.final_acc / teacher_acc),
])
bench_record = leaderboard.load(methods=("kd-real",))["kd-real"]
print(f"results/kd-real.json ({bench_record['profile']} profile, {leaderboard.device_of(bench_record)}): "
      f"Student-KD {bench_record['student_acc']:.2f} % over {bench_record.get('seeds', 1)} seed(s) "
      f"{bench_record.get('per_seed', [bench_record['student_acc']])}")
table

# %%
# Sanity checks: a broken teacher, loss or training loop fails here (and CI runs this notebook).
assert teacher_acc >= 0.9084, teacher_acc
assert result_kd.final_acc > untrained_acc + 0.5, (result_kd.final_acc, untrained_acc)
assert result_kd.final_acc > config.pick(quick=0.75, full=0.8966), result_kd.final_acc
assert hist_ce.final_acc > config.pick(quick=0.75, full=0.88), hist_ce.final_acc
assert max(sweep_acc.values()) > config.pick(quick=0.65, full=0.85), sweep_acc
print(f"chapter 1 ran in {time.perf_counter() - chapter_start:.0f} s (profile {config.profile()}, {config.device()})")

# %% [markdown]
# ## Exercises
#
# 1. **λ and hard labels.** Add the hard-label term (`lam=0.3`, as the ZSKD appendix did on real data) to the
#    `distill` call of Student-KD (`methods.RealData` passes the labels on). Does it help when the transfer set is
#    the real training data? Why can no data-free chapter use it?
# 2. **The temperature, properly.** Repeat the temperature sweep with the full recipe (`r.student.steps` steps on
#    all 60,000 images). Does the ranking of the short sweep survive? Then remove the τ² factor: subclass
#    `methods.RealData` and override its `loss(batch, student_logits, teacher_logits, T)` with a copy of
#    `kd_loss_from_scratch`'s per-sample loss without τ², and explain the curve you get with the gradient of the
#    KL term.
# 3. **Less data.** Distil on 200 real images per class (`methods.RealData(train.subset(200, per_class=True))`).
#    How far below the ceiling do you fall? Compare with Kimura et al.'s 72.50 % with 200 images quoted in ZSKD's
#    Table 2.
# 4. **Dark knowledge without data.** The heatmap above needed test images. Compute the cosine similarity of the
#    rows of the teacher's last-layer weights (`models.last_linear(teacher).weight`) and compare it with the
#    mean-soft-target map. This is where chapter 2 starts.
