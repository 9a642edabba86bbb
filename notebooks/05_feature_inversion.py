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
# # 5. Feature-statistics inversion: BN statistics, activation records, spectra, DeepInversion
#
# The teacher's *outputs* were the only handle of chapters 2–4. But a trained network carries more than its
# outputs. Every BatchNorm layer keeps the **running mean and variance** of its input over the whole training
# set: a free, per-channel summary of the data, shipped with every BN network. A teacher's owner can also record
# a little more on purpose — per-class statistics of a few layers' activations, a few megabytes of
# **metadata** — and ship them with the model (Lopes et al. {cite}`lopes2017datafree`).
#
# This chapter inverts those statistics: it optimises images from noise until the teacher's internal features
# on them have the recorded statistics, and distils on the result. Four methods, one optimisation loop
# (`synthesis.optimize_pixels`), each a method of the book's one student loop `distill` (`methods.BNInversion`,
# `methods.DeepInversion`, `methods.ActivationInversion`, `methods.SpectralInversion`):
#
# | method | what the teacher's owner kept | the images are optimised to match |
# |---|---|---|
# | BN statistics | nothing extra: BN running mean / variance | every BN layer's batch statistics |
# | activation records {cite}`lopes2017datafree` | per-class mean and covariance of a few layers | sampled activations of the class |
# | spectral records {cite}`nasyrov2024dfdistill` | per-class mean Fourier spectra of conv activations | those spectra |
# | DeepInversion {cite}`yin2020deepinversion` | BN running statistics | BN statistics + the class + image priors |

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
import torch.nn.functional as F

from dfkd_book import config, data, distill, kd, methods, plot, recipes, synthesis, zoo
from dfkd_book.methods import arbitrary, inversion

config.describe()
config.seed_everything(0)
chapter_start = time.perf_counter()

# %% [markdown]
# The settings, per profile, are the recipes `bn-stats`, `deepinversion`, `activation-records` and `spectral`
# of `dfkd_book.recipes`, shared with `python -m dfkd_book.bench`: `method.n` images per method, `method.steps`
# Adam steps on the pixels of every batch of `method.batch_size`, each method's own weights, and the student's
# protocol (`student.*`, a budget in student optimiser steps), the same for all four.

# %%
inv_recipes = {name: recipes.get(name) for name in ("bn-stats", "deepinversion", "activation-records", "spectral")}
N, STEPS = inv_recipes["deepinversion"].settings["n"], inv_recipes["deepinversion"].settings["steps"]
print(f"{N:,} images per method, {STEPS} steps per batch of {inv_recipes['deepinversion'].settings['batch_size']}")
pd.concat({name: recipes.table(name) for name in inv_recipes}, axis=1).fillna("")

# %%
train = data.load("fashion-mnist", "train")  # only the teacher's owner uses it: to record metadata
test = data.load("fashion-mnist", "test")
classes = test.classes
shape = (data.channels("fashion-mnist"), 32, 32)
teacher_bn = zoo.teacher("lenet5bn", "fashion-mnist")
teacher = zoo.teacher("lenet5", "fashion-mnist")
acc = {"LeNet-5-BN": kd.evaluate(teacher_bn, test), "LeNet-5": kd.evaluate(teacher, test)}
print({k: f"{100 * v:.2f} %" for k, v in acc.items()})

# %% [markdown]
# ## A free summary of the training data
#
# A BatchNorm layer normalises its input with the batch's mean and variance while training, and keeps running
# averages of both for test time. After training, the running statistics are the per-channel mean and variance of
# that layer's input **over the training set**. Images from the training distribution reproduce them; other
# images do not. `inversion.bn_statistics_loss` measures the gap, summed over the BN layers of LeNet-5-BN
# (the first one ×10, as in DeepInversion):

# %%
print(f"LeNet-5-BN has {len(inversion.batchnorms(teacher_bn))} BN layers: "
      + ", ".join(name for name, _ in inversion.batchnorms(teacher_bn)))
probes = {
    "Fashion-MNIST test images": test.images[:1024],
    "uniform noise": torch.rand(1024, *shape),
    "random shapes (chapter 3)": arbitrary.random_shapes(shape, seed=0)(1024),
    "photo patches (chapter 3)": arbitrary.photo_patches(shape, seed=0)(1024),
}
bn_table = pd.Series({name: inversion.bn_statistics_loss(teacher_bn, x).item()
                      for name, x in probes.items()}, name="BN-statistics loss")
bn_table.round(2)

# %% [markdown]
# Real test images sit closest to the running statistics; noise and chapter 3's arbitrary images are far away.
# The statistics say a lot about the training data. They do not pin it down, though: many image sets share
# these means and variances. Which ones the optimisation finds depends on where it starts and what else it is
# asked for. The rest of this chapter looks at four ways of asking.
#
# ## The objective, from scratch
#
# For a batch x of images made for classes y, let μ_l(x) and σ²_l(x) be the per-channel mean and (biased)
# variance of the **input** of the l-th BN layer, over the batch and the spatial positions, and μ̂_l, σ̂²_l
# its running statistics. DeepInversion {cite}`yin2020deepinversion` minimises
#
# $$\mathcal{L}(x) = \lambda_{\mathrm{BN}}\sum_{l=1}^{L} w_l\Big(\big\|\mu_l(x)-\hat\mu_l\big\|_2
#   + \big\|\sigma^2_l(x)-\hat\sigma^2_l\big\|_2\Big)
#   + \lambda_{\mathrm{CE}}\,\mathrm{CE}\big(T(x),\, y\big) + \lambda_{\mathrm{TV}}\,\mathrm{TV}(x)
#   + \lambda_{2}\,\|x\|_2 ,
# \qquad w_1 = 10,\; w_{l>1} = 1,$$
#
# with the norms not squared, and the total variation summed over the whole batch in four directions (down,
# right and both diagonals),
#
# $$\mathrm{TV}(x) = \sum_{d\,\in\,\{\downarrow,\,\rightarrow,\,\searrow,\,\nearrow\}}
#   \big\|x - \operatorname{shift}_d(x)\big\|_2 .$$
#
# BN-statistics matching alone is the same loss with λ_CE = 0. Written from scratch with forward hooks on every
# BN layer, on four random images, next to what the package computes (`inversion.BNStatistics(...).loss()` after
# a forward pass, `synthesis.total_variation`), with the `deepinversion` recipe's weights:

# %%
w = dict(inv_recipes["deepinversion"].settings)
w.setdefault("l2_weight", 1e-5)  # the inversions' default L2 weight (inversion.invert)
x = torch.rand(4, *shape, generator=torch.Generator().manual_seed(0))
y = torch.tensor([0, 1, 2, 3])

stats = []  # (BN layer, batch mean, batch variance of its input), in forward order


def measure(bn, inputs, output):
    a = inputs[0]
    dims = [0, *range(2, a.ndim)]  # every axis but the channels
    stats.append((bn, a.mean(dims), a.var(dims, unbiased=False)))


bns = [m for m in teacher_bn.modules() if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d))]
handles = [bn.register_forward_hook(measure) for bn in bns]
logits = teacher_bn(x)
for h in handles:
    h.remove()
loss_bn = sum((w["first_weight"] if i == 0 else 1.0)
              * ((mu - bn.running_mean).norm() + (var - bn.running_var).norm())
              for i, (bn, mu, var) in enumerate(stats))
diffs = (x[..., :-1, :] - x[..., 1:, :], x[..., :, :-1] - x[..., :, 1:],
         x[..., 1:, :-1] - x[..., :-1, 1:], x[..., :-1, :-1] - x[..., 1:, 1:])
scratch = {"BN statistics": loss_bn, "cross-entropy": F.cross_entropy(logits, y),
           "total variation": sum(d.norm() for d in diffs), "L2": x.flatten().norm()}
scratch["DeepInversion loss"] = (w["bn_weight"] * scratch["BN statistics"] + w["ce_weight"] * scratch["cross-entropy"]
                                 + w["tv_weight"] * scratch["total variation"] + w["l2_weight"] * scratch["L2"])

with inversion.BNStatistics(teacher_bn, first_weight=w["first_weight"]) as bn_hooks:
    logits_package = teacher_bn(x)
    package = {"BN statistics": bn_hooks.loss(), "cross-entropy": F.cross_entropy(logits_package, y),
               "total variation": synthesis.total_variation(x), "L2": torch.linalg.vector_norm(x)}
package["DeepInversion loss"] = (w["bn_weight"] * package["BN statistics"] + w["ce_weight"] * package["cross-entropy"]
                                 + w["tv_weight"] * package["total variation"] + w["l2_weight"] * package["L2"])
for term in scratch:
    assert torch.allclose(scratch[term], package[term], rtol=1e-5), term
pd.DataFrame({"from scratch": {k: v.item() for k, v in scratch.items()},
              "package": {k: v.item() for k, v in package.items()}})

# %% [markdown]
# The pixel loop `synthesis.optimize_pixels` minimises this objective (with the method's weights) by Adam on the
# pixels. The teacher sees a jittered, randomly flipped copy of the batch at every step; the priors apply to that
# copy; the pixels are clipped to [0, 1] after every step, and the lowest-loss batch is kept.
#
# ## 1. BN-statistics matching alone
#
# Start from dark uniform noise and optimise the pixels of a batch of 256 until the batch statistics of every BN
# input match the running ones, with small TV and L2 priors to keep the pixels smooth. No class is asked for: the
# teacher labels the result. `methods.BNInversion` makes the images inside `distill`, once, before the student's
# first step; the loop then distils a fresh LeNet-5-Half on them (the student's protocol of the recipe, below),
# and the images stay readable on `result.method.inversion`.

# %%
r = inv_recipes["bn-stats"]
config.seed_everything(0)
res_bn = distill(teacher_bn, zoo.student(r.student_arch), r.build(), eval_set=test, seed=0, name="BN statistics",
                 **r.student.kwargs())
inv_bn = res_bn.method.inversion
fig = plot.show_images(inv_bn.images[:20], ncols=10,
                       titles=[classes[c] for c in kd.logits(teacher_bn, inv_bn.images[:20]).argmax(1)],
                       suptitle=f"BN statistics alone: {len(inv_bn):,} images, {inv_bn.seconds:.0f} s")


# %% [markdown]
# ## 2. DeepInversion
#
# DeepInversion {cite}`yin2020deepinversion` adds what BN matching lacks: a class. Each image is assigned one
# (the batch cycles through all ten) and the loss adds the teacher's cross-entropy to it, next to the BN term,
# the TV and L2 priors, the jittered view and the clipping to [0, 1]. Adaptive DeepInversion's competition
# term — push the images to where a student disagrees with the teacher — is `methods.DeepInversion(n,
# competition_weight=...)` (or `inversion.deep_inversion(student=..., competition_weight=...)`); exercise 3.

# %%
r = inv_recipes["deepinversion"]
config.seed_everything(0)
res_di = distill(teacher_bn, zoo.student(r.student_arch), r.build(), eval_set=test, seed=0, name="DeepInversion",
                 **r.student.kwargs())
inv_di = res_di.method.inversion


def gallery(inv, title, per_class=3):
    """``per_class`` images of every class, one class per column, titled with the class asked for."""
    idx = torch.stack([(inv.labels == c).nonzero()[:per_class, 0] for c in range(10)], 1).flatten()
    return plot.show_images(inv.images[idx], ncols=10, titles=[classes[c] for c in inv.labels[idx]],
                            suptitle=f"{title}: {per_class} images of every class ({inv.seconds:.0f} s for "
                                     f"{len(inv):,})")


fig = gallery(inv_di, "DeepInversion")

# %% [markdown]
# ## 3. Activation records: metadata for a teacher without BN
#
# The plain LeNet-5 has no BatchNorm, so there are no running statistics to invert (asking for them fails
# loudly, pointing here). Lopes et al. {cite}`lopes2017datafree` let the teacher's owner record them on purpose:
# for every class, the mean and covariance of the activations at a few layers, computed once on the training
# data and shipped with the model. The reader reconstructs an image of class c by sampling target activations
# from that Gaussian — mean + L z, with L the Cholesky factor of the covariance (the public code multiplied by
# the covariance itself) — ReLU-ing them where the layer is ReLU-ed, and optimising the image until the
# teacher's activations match, each layer weighted by 1 / its size:
#
# $$\mathcal{L}(x) = \sum_{l}\frac{1}{d_l}\big\|a_l(x) - \tilde a_l\big\|_2^2,
# \qquad \tilde a_l = \mu_{l,c} + L_{l,c}\,z,\quad L_{l,c}L_{l,c}^\top = \Sigma_{l,c},\quad z\sim\mathcal{N}(0, I).$$
#
# The records go to `methods.ActivationInversion(records, n, ...)` (here through the recipe's `build(records)`).

# %%
try:
    inversion.BNStatistics(teacher)
except ValueError as e:
    print("BN matching on LeNet-5:", e)

r = inv_recipes["activation-records"]
t0 = time.perf_counter()
records = inversion.record_activations(teacher, train, r.extras["layers"])
path = records.save(config.cache_dir("metadata") / "lenet5-fashion-mnist-activations.pt")
records = inversion.ActivationRecords.load(path)  # what the reader receives
print(f"recorded {', '.join(records.layers)} on {int(records.counts.sum()):,} training images in "
      f"{time.perf_counter() - t0:.1f} s: {records.nbytes() / 1e6:.1f} MB of metadata ({path.stat().st_size / 1e6:.1f} MB "
      "on disk)")

# %%
config.seed_everything(0)
res_act = distill(teacher, zoo.student(r.student_arch), r.build(records), eval_set=test, seed=0,
                  name="activation records", **r.student.kwargs())
inv_act = res_act.method.inversion
fig = gallery(inv_act, "activation records")

# %% [markdown]
# ## 4. Spectral records
#
# The second method of Nasyrov et al. {cite}`nasyrov2024dfdistill` records, instead of raw activations, their
# **spatial Fourier spectra**: for every class and every channel of a conv layer, the mean magnitude of the 2-D
# Fourier transform of its activation map. A magnitude spectrum forgets *where* a pattern is and keeps *which*
# patterns, at which scales and orientations. Reconstruction matches the spectra of an image's activations to its
# class's record,
#
# $$\mathcal{L}(x) = \sum_{l}\frac{1}{|S_l|}\big\|\,|\mathcal{F}(a_l(x))| - S_{l,c}\big\|_F^2 ,$$
#
# with 𝓕 the orthonormal 2-D Fourier transform of every channel and S_{l,c} the recorded mean spectrum of class c
# (`methods.SpectralInversion(records, n, ...)`). (The library's own spectral loss compared a sample with itself,
# so it was always zero.)

# %%
r = inv_recipes["spectral"]
spec_records = inversion.record_spectra(teacher, train, r.extras["layers"])
print(f"spectral records: {spec_records.nbytes() / 1e3:.0f} kB")
fig, axes = plt.subplots(1, 5, figsize=(10, 2.2))
for ax, c in zip(axes, (0, 1, 5, 7, 8)):
    ax.imshow(torch.fft.fftshift(spec_records.mean["features.relu1"][c, 0].log1p(), dim=0), cmap="magma")
    ax.set(title=classes[c], xticks=[], yticks=[])
fig.suptitle("log spectrum of conv1's first channel, per class (low frequencies at the left middle)")
fig.tight_layout()

# %%
config.seed_everything(0)
res_spec = distill(teacher, zoo.student(r.student_arch), r.build(spec_records), eval_set=test, seed=0,
                   name="spectral records", **r.student.kwargs())
inv_spec = res_spec.method.inversion
fig = gallery(inv_spec, "spectral records")

# %% [markdown]
# ## Distillation from each
#
# Every set was distilled, inside its `distill` call, into a fresh LeNet-5-Half with chapter 3's student protocol
# (τ = 20, ZSKD augmentation, the teacher re-labelling every augmented batch) — by the teacher that made it. The
# sets are small, so the student makes many passes over each in its `student.steps` optimiser steps (printed
# below). Two more students, with the same protocol and budget, frame them: one distilled from the LeNet-5 on a
# set of plain uniform noise of the same size (`methods.TransferSet(noise)`), the floor; and one distilled from
# the LeNet-5-BN on the first N *real* training images (`methods.RealData(train, n=N)`), what a set of this size
# can teach at best.

# %%
student_protocol = inv_recipes["deepinversion"].student
print(f"{student_protocol.steps} student steps at batch {student_protocol.batch_size}: "
      f"{student_protocol.steps * student_protocol.batch_size / N:.0f} passes over {N:,} images")
noise = torch.rand(N, *shape, generator=torch.Generator().manual_seed(0))
config.seed_everything(0)
res_noise = distill(teacher, zoo.student("lenet5half"), methods.TransferSet(noise, name="uniform noise"),
                    eval_set=test, seed=0, name="uniform noise", **student_protocol.kwargs())
config.seed_everything(0)
res_real = distill(teacher_bn, zoo.student("lenet5half"), methods.RealData(train, n=N), eval_set=test, seed=0,
                   name=f"{N:,} real images", **student_protocol.kwargs())
results = {"BN statistics": (teacher_bn, res_bn), "DeepInversion": (teacher_bn, res_di),
           "activation records": (teacher, res_act), "spectral records": (teacher, res_spec)}
fig = plot.curves(*(res for _, res in results.values()), res_noise, res_real,
                  title="students distilled on inverted images")

# %%
frame = {"uniform noise (floor)": (teacher, res_noise), f"{N:,} real training images": (teacher_bn, res_real)}
table = pd.DataFrame({
    name: {"teacher": "LeNet-5-BN" if t is teacher_bn else "LeNet-5", "student accuracy (%)": 100 * res.final_acc,
           "retention (% of teacher)": 100 * res.final_acc / acc["LeNet-5-BN" if t is teacher_bn else "LeNet-5"],
           "synthesis s per 1,000 images": (1000 * res.method.inversion.seconds / N
                                            if hasattr(res.method, "inversion") else 0.0),
           "teacher backward passes per image": res.teacher_queries["backward"] / N,
           "distillation s": res.history.seconds - res.method.seconds}
    for name, (t, res) in (results | frame).items()}).T
table

# %%
fig, ax = plt.subplots(figsize=(7, 3))
ax.barh(table.index, table["student accuracy (%)"].astype(float), color=["C0", "C0", "C1", "C1", "C7", "C2"])
ax.axvline(100 * acc["LeNet-5"], color="k", ls="--", lw=1, label="teacher LeNet-5")
ax.invert_yaxis()
ax.set(xlabel="student test accuracy (%)", xlim=(0, 100))
ax.legend(fontsize=8, loc="lower right")
ax.grid(axis="x", alpha=0.3)
fig.tight_layout()

# %% [markdown]
# ## Paper vs this book
#
# None of these methods has a published Fashion-MNIST LeNet-5 number. Lopes et al. report 92.47 % on MNIST
# with activation records. The library of Nasyrov et al. {cite}`nasyrov2024dfdistill` reports chance-level
# students for its own statistics methods. The rows below set this book's students beside those figures, for
# context.

# %%
plot.paper_vs_book([
    ("activation records (Lopes et al., MNIST; here Fashion-MNIST)", 92.47, 100 * res_act.final_acc),
    ("statistics methods of the Nasyrov et al. library (chance level)", 10.0, 100 * res_bn.final_acc),
    ("spectral matching (Nasyrov et al. library: chance level)", 10.0, 100 * res_spec.final_acc),
    ("DeepInversion (no published LeNet-5 number)", None, 100 * res_di.final_acc),
])

# %%
# Sanity checks: a broken method fails here (and CI runs this notebook on the quick profile).
for name, (_, res) in results.items():
    inv = res.method.inversion
    assert inv.images.shape == (N, *shape) and inv.images.min() >= 0 and inv.images.max() <= 1, name
    assert inv.curve[-1][1] < inv.curve[0][1], (name, inv.curve)  # the objective went down
    assert res.teacher_queries["backward"] == N * STEPS, (name, res.teacher_queries)  # one per image per step
assert bn_table["Fashion-MNIST test images"] < bn_table["uniform noise"]
di_pred = kd.logits(teacher_bn, inv_di.images).argmax(1)
assert (di_pred == inv_di.labels).float().mean() > 0.9  # DeepInversion makes the classes it was asked for
for name, (_, res) in results.items():
    assert res.final_acc > res_noise.final_acc - config.pick(quick=1.0, full=0.0), (name, res.final_acc)
print(f"chapter 5 ran in {time.perf_counter() - chapter_start:.0f} s (profile {config.profile()}, {config.device()})")

# %% [markdown]
# ## Where this chapter falls short
#
# The students above are far below their teachers, for two reasons. The first is **compute**. Synthesis costs
# the same for every method: one forward and backward pass of the teacher per image per optimisation step (the
# table's "teacher backward passes per image" and "s per 1,000 images" columns). A chapter that must finish in
# minutes on two CPU cores can afford well under a thousand images per method, and that many images teach little
# even when they are real: the row of the first N real training images is the same student protocol on real
# data. The second is **quality**: the gap between that row and DeepInversion's, at the same count and budget,
# is what the inverted images lack.
#
# Runs made while building this chapter pointed the same way: more Adam steps per batch, more student steps over
# the set, and more images each helped, and at a fixed synthesis cost, fewer images with more steps each did
# about as well as more images with fewer steps. All three are what a GPU buys, where a teacher pass over a batch
# costs far less (exercise 5). Chapter 6 attacks the cost itself: SSD-KD keeps a *small* replay buffer of
# synthetic images, steers new ones towards rare classes and hard cases, and replays most often the images on
# which the student still disagrees with the teacher.
#
# ## Exercises
#
# 1. **Which BN layer matters?** Set `first_weight=1.0` in BN matching (`inv_recipes["bn-stats"].build(
#    first_weight=1.0)`), then drop the first BN layer from the loss altogether. What happens to the images and to
#    the student?
# 2. **Smaller metadata.** Record activations at `classifier.fc3` only (the logits: 10 × 10 numbers per
#    class). How much accuracy do the larger layers buy, per megabyte?
# 3. **Competition.** Give `inversion.deep_inversion` a half-trained student and `competition_weight=1.0`. Do the
#    images change? Does a student distilled on them (`methods.TransferSet(inv.images)`) do better at the same
#    budget?
# 4. **Shift invariance.** A magnitude spectrum does not change when the activation map is shifted. Look at the
#    spectral images again: where in the frame are the garments?
# 5. **Scale.** On a GPU, build DeepInversion with `n=10_240` and give its student more steps
#    (`r.student.kwargs(steps=...)`). How close does it get to chapter 1's student distilled on the full real
#    training set?
