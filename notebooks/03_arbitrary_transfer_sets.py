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
# # 3. Arbitrary transfer sets, made target-class balanced
#
# Chapter 2 spent minutes of optimisation per thousand images to make inputs the teacher answers like clothes.
# Nayak, Mopuri and Chakraborty {cite}`nayak2021arbitrary` asked a blunt question: what if we skip all that and
# distil on **arbitrary** images — noise, synthetic scenes, photos of anything but clothes? The student only ever
# needs the teacher's *answers*; the images are just places to ask.
#
# Their finding fits in one word: **balance**. The teacher sorts arbitrary images into very unequal classes (for
# Fashion-MNIST's LeNet-5, most noise is a *Bag*), so a random transfer set teaches the student almost nothing
# about the rare classes. **Algorithm 1** fixes the set, not the images: go through the sources in order, ask the
# teacher for each candidate's class, and keep the candidate only while that class has room (N / K per class);
# stop when every class is full or the sources run dry. One forward pass per candidate, no back-propagation.
# Then distil on the set with the pure distillation term (eq. 2 of the paper) — no hard labels, because the
# labels of a photo of a temple as "Sandal" mean nothing.
#
# The paper's sources (SVHN, TinyImageNet, Clevr, Mid-Air, CelebA) need downloads. This chapter runs offline on
# stand-ins that ship with the libraries it already uses or are generated, and accepts any `torchvision` dataset
# when you are online (`arbitrary.torchvision_source("SVHN", split="train")`).

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

from dfkd_book import arbitrary, augment, bench, config, data, kd, plot, widgets, zoo

config.describe()
config.seed_everything(0)
chapter_start = time.perf_counter()

# %% [markdown]
# The budgets, per profile, shared with `python -m dfkd_book.bench arbitrary-noise` and `arbitrary-best`:
# `n` images per transfer set, `cap` candidates examined at most per unlimited source, and the student recipe of
# chapter 2 (τ = 20, Adam, ZSKD augmentation with the teacher re-labelling every augmented batch).

# %%
recipe = bench.arbitrary_recipe()
N, CAP = recipe["n"], recipe["cap"]
HIST_N = config.pick(quick=3_000, full=20_000)  # candidates per source for the histograms
POOL_N = config.pick(quick=1_000, full=2_000)  # candidates per source for the galleries and the explorer
print(recipe)

test = data.load("fashion-mnist", "test")
classes = test.classes
shape = (data.channels("fashion-mnist"), 32, 32)
teacher = zoo.teacher("lenet5", "fashion-mnist")
teacher_acc = kd.evaluate(teacher, test)
untrained_acc = kd.evaluate(zoo.student("lenet5half"), test)
print(f"teacher LeNet-5 {100 * teacher_acc:.2f} %; untrained LeNet-5-Half {100 * untrained_acc:.2f} %")

# %% [markdown]
# ## The sources
#
# Every source is a callable that returns the next `n` candidates in the teacher's input space (1 × 32 × 32,
# values in [0, 1]); images of another size or colour are adapted on the way (`arbitrary.adapt`).
#
# | family | paper | this book, offline |
# |---|---|---|
# | noise | uniform noise in [0, 1]; Gaussian (μ = 0.5, σ = 0.1) | the same |
# | synthetic | Clevr (rendered shapes), Mid-Air (drone flights) | **random shapes** (flat ellipses, rectangles and triangles on black); **dead leaves** (occluding discs); **1/f² spectral noise** |
# | natural | SVHN (house numbers), TinyImageNet, CelebA | **photo patches** cut at random scales from the 21 photographs bundled in scikit-image and scikit-learn; scikit-learn's 1,797 **digits**; scikit-image's 100 **LFW faces** |

# %%
makers = {
    "uniform noise": lambda s: arbitrary.uniform_noise(shape, s),
    "Gaussian noise": lambda s: arbitrary.gaussian_noise(shape, seed=s),
    "1/f² spectral": lambda s: arbitrary.spectral_noise(shape, seed=s),
    "dead leaves": lambda s: arbitrary.dead_leaves(shape, seed=s),
    "random shapes": lambda s: arbitrary.random_shapes(shape, seed=s),
    "photo patches": lambda s: arbitrary.photo_patches(shape, seed=s),
    "sklearn digits": lambda s: arbitrary.digits(shape, s),
    "LFW faces": lambda s: arbitrary.faces(shape, s),
}
pools = {name: make(100)(POOL_N) for name, make in makers.items()}  # a pool of candidates per source
fig = plot.show_images(torch.cat([x[:10] for x in pools.values()]), ncols=10, scale=1.0,
                       suptitle="ten candidates of each source; rows: " + ", ".join(pools))

# %% [markdown]
# ## What the teacher sees in each source (paper Fig. 2)
#
# The teacher's predicted class on `HIST_N` candidates of each source. The dashed line is the balanced share
# 1/K; the axis is logarithmic, because the imbalance spans orders of magnitude.

# %%
hists = {name: arbitrary.class_histogram(teacher, make(0), HIST_N) for name, make in makers.items()
         if name not in ("sklearn digits", "LFW faces")}
hists["sklearn digits"] = arbitrary.class_histogram(teacher, arbitrary.digits(shape), 1_797)
hists["LFW faces"] = arbitrary.class_histogram(teacher, arbitrary.faces(shape), 100)
fig = plot.class_histograms(hists, classes, title="the teacher's predicted class on each source")
spread = pd.DataFrame({name: {"largest class": classes[int(h.argmax())],
                              "largest share (%)": round(100 * h.max().item() / h.sum().item(), 1),
                              "rarest class": classes[int(h.argmin())],
                              "rarest share (%)": round(100 * h.min().item() / h.sum().item(), 3)}
                       for name, h in hists.items()}).T
spread

# %% [markdown]
# Noise is almost all *Bag* and *Shirt*; *Sandal* turns up in fewer than one noise image in a thousand.
# Photo patches are mostly *Bag* as well. The random shapes on black are the most even — they share the one
# property every Fashion-MNIST image has, a dark background with an object in the middle.
#
# What does the teacher "think" each source is? For each source (rows) and class (columns), the candidate of the
# pool that the teacher finds most like that class, with its probability:

# %%
probs = {name: kd.soft_targets(kd.logits(teacher, x), 1.0) for name, x in pools.items()}
fig = plot.teacher_views(probs, pools, classes, title="the most class-like candidate of each source (teacher's p)")

# %% [markdown]
# Explore it yourself (run the notebook; the page shows the static figure above):

# %% tags=["remove-output"]
widgets.source_explorer(teacher, pools, classes)

# %% [markdown]
# ## Algorithm 1: a target-class balanced transfer set
#
# `arbitrary.balance(teacher, sources, n)` is the paper's Algorithm 1. It asks the teacher about candidates in
# batches, but never more candidates than there are open slots, so it examines exactly the candidates that the
# one-at-a-time algorithm would. The quota is `n // K` per class: when `n` does not divide evenly, the set has
# `K · (n // K)` images at most, never more than `n`. Unlimited generators are cut off after `cap` candidates each;
# a class still short then is reported in `shortfall`, not hidden.
#
# The three families of the paper's Table 1, each as an **unbalanced** set (`N` random candidates of one source)
# and a **balanced** one (Algorithm 1 over that family's sources, in order — `arbitrary.family`):

# %%
sets, balanced = {}, {}
for fam in arbitrary.FAMILIES:
    unbalanced_source, balanced_sources = arbitrary.family(fam, shape, seed=0)
    t0 = time.perf_counter()
    b = arbitrary.balance(teacher, balanced_sources, N, max_candidates=CAP)
    balanced[fam] = b
    sets[(fam, "unbalanced")] = unbalanced_source(N)
    sets[(fam, "balanced")] = b.images
    print(f"{fam:>9}: {len(b.images):,} kept of {b.examined:,} candidates examined in {time.perf_counter() - t0:.0f} s; "
          f"kept per source {b.kept_per_source}; shortfall {int(b.shortfall.sum())}")
counts = pd.DataFrame({f"{fam} (balanced)": b.counts.tolist() for fam, b in balanced.items()}, index=classes)
for fam in arbitrary.FAMILIES:
    counts[f"{fam} (unbalanced)"] = kd.logits(teacher, sets[(fam, "unbalanced")]).argmax(1).bincount(
        minlength=len(classes)).tolist()
counts.T

# %% [markdown]
# ## Table 1: unbalanced vs balanced, with and without augmentation
#
# Twelve students, one per cell of the paper's Table 1 (Fashion-MNIST column): each distilled on its set for
# the same number of epochs, without augmentation (the teacher's logits computed once) or with ZSKD's
# augmentation and the teacher re-labelling every augmented batch.

# %%
aug = augment.ZSKDAugmentation(**recipe["augment"])
table1 = {}
for (fam, kind), x in sets.items():
    for with_aug in (False, True):
        config.seed_everything(0)
        s = zoo.student("lenet5half")
        h = kd.distill(s, teacher, x, augment=aug if with_aug else None, seed=0, progress=False,
                       name=f"{fam} {kind}", **recipe["distill"])
        table1[(fam, kind, with_aug)] = kd.evaluate(s, test)
        print(f"{fam:>9} {kind:>10} {'with' if with_aug else 'w/o':>4} aug.: {100 * table1[(fam, kind, with_aug)]:6.2f} %"
              f"  ({h.seconds:.0f} s)")

# %%
PAPER_T1 = {  # paper 001, Table 1, Fashion-MNIST: (w/o aug., w/ aug.)
    ("noise", "unbalanced"): (33.49, 38.37), ("noise", "balanced"): (70.15, 74.33),
    ("synthetic", "unbalanced"): (46.63, 72.68), ("synthetic", "balanced"): (66.44, 83.38),
    ("natural", "unbalanced"): (80.93, 83.85), ("natural", "balanced"): (81.56, 84.75),
}
PAPER_NAMES = {("noise", "unbalanced"): "random noise", ("noise", "balanced"): "random noise, balanced",
               ("synthetic", "unbalanced"): "Clevr", ("synthetic", "balanced"): "Clevr + Mid-Air",
               ("natural", "unbalanced"): "SVHN", ("natural", "balanced"): "SVHN + TinyImageNet"}
t1 = pd.DataFrame([{"family": fam, "set": kind, "paper's set": PAPER_NAMES[(fam, kind)],
                    "paper w/o aug.": PAPER_T1[(fam, kind)][0], "book w/o aug.": round(100 * table1[(fam, kind, False)], 2),
                    "paper w/ aug.": PAPER_T1[(fam, kind)][1], "book w/ aug.": round(100 * table1[(fam, kind, True)], 2)}
                   for fam, kind in sets]).set_index(["family", "set"])
fig, ax = plt.subplots(figsize=(8, 3.2))
labels = [f"{fam}\n{kind}" for fam, kind in sets]
xs = torch.arange(len(labels)).float()
ax.bar(xs - 0.2, [100 * table1[(f, k, False)] for f, k in sets], 0.4, label="without augmentation")
ax.bar(xs + 0.2, [100 * table1[(f, k, True)] for f, k in sets], 0.4, label="with augmentation")
ax.set_xticks(xs, labels, fontsize=8)
ax.set(ylabel="student test accuracy (%)", title=f"Table 1 (Fashion-MNIST), this run: {N:,} images per set")
ax.grid(axis="y", alpha=0.3)
ax.legend(fontsize=8)
fig.tight_layout()
t1

# %% [markdown]
# How to read it (numbers of this run, one seed each):
#
# * **Synthetic and natural: balancing helps, as the paper says.** Balanced random shapes + dead leaves beat
#   random shapes alone with and without augmentation (66.2 vs 55.3 %, 62.0 vs 57.5 %). The bigger gain is for the
#   natural family, whose unbalanced set is 85 % *Bag* (54.5 vs 18.5 %, 58.0 vs 46.1 %). Balanced synthetic
#   images did as well as the paper's Clevr + Mid-Air *without* augmentation (66.2 vs 66.4 %).
# * **Noise: no.** Without augmentation, both noise students predict one class for every test image (10 %). With
#   augmentation, the *unbalanced* noise student matches the paper (34.8 vs 38.4 %). The balanced one does worse
#   (27.1 %), and it is not even balanced: after 200,000 candidates it is still 1,872 images short, because the
#   teacher calls fewer than 2 noise images in 10,000 a *Sandal*. The paper's 74.33 % is out of reach here (see
#   the end of the chapter).
# * **Augmentation helps most where the set is poorest.** It helps the noise and unbalanced natural students
#   most: scaling and shifting put black borders around the candidates, and that looks a little more like
#   Fashion-MNIST.

# %% [markdown]
# ## The best offline combination
#
# Each balanced set is balanced, so their union is too. The best offline combination found for this book
# (`recipe["best"]`) joins the balanced synthetic and natural sets — twice the images, every class equally
# represented — and distils with augmentation. `python -m dfkd_book.bench arbitrary-best` runs the same.

# %%
best = torch.cat([balanced[fam].images for fam in recipe["best"]])
config.seed_everything(0)
student_best = zoo.student("lenet5half")
hist_best = kd.distill(student_best, teacher, best, augment=aug, eval_set=test, seed=0,
                       name=f"{len(best):,} images: balanced " + " + ".join(recipe["best"]), **recipe["distill"])
print(f"best offline combination: {100 * hist_best.final_acc:.2f} % ({len(best):,} images, {hist_best.seconds:.0f} s)")
fig = plot.curves(hist_best, title="LeNet-5-Half distilled on arbitrary images only")

# %% [markdown]
# Which classes does the student get right? Per-class test accuracy of the best student next to the teacher's:

# %%
def per_class(model):
    pred = kd.logits(model, test.images).argmax(1)
    return [100 * (pred[test.labels == c] == c).float().mean().item() for c in range(len(classes))]


fig, ax = plt.subplots(figsize=(8, 2.8))
xs = torch.arange(len(classes)).float()
ax.bar(xs - 0.2, per_class(teacher), 0.4, label="teacher")
ax.bar(xs + 0.2, per_class(student_best), 0.4, label="student, best arbitrary set")
ax.set_xticks(xs, classes, rotation=30, fontsize=8)
ax.set(ylabel="test accuracy (%)", title="per-class accuracy")
ax.grid(axis="y", alpha=0.3)
ax.legend(fontsize=8)
fig.tight_layout()

# %% [markdown]
# ## Paper vs this book
#
# The paper's Table 2 compares its best arbitrary set (SVHN + TinyImageNet, 84.75 %) with ZSKD (79.62 %) and
# DeGAN (83.79 %). Retention is accuracy as a fraction of the teacher's.

# %%
noise_best = table1[("noise", "balanced", True)]
table = plot.paper_vs_book([
    ("Teacher (LeNet-5)", 90.84, 100 * teacher_acc),
    ("balanced random noise + aug. (Table 1)", 74.33, 100 * noise_best),
    ("unbalanced random noise + aug. (Table 1)", 38.37, 100 * table1[("noise", "unbalanced", True)]),
    ("best arbitrary set + aug. (Table 2; paper: SVHN + TinyImageNet)", 84.75, 100 * hist_best.final_acc),
    ("best arbitrary set, retention (% of teacher)", 100 * 84.75 / 90.84, 100 * hist_best.final_acc / teacher_acc),
    ("ZSKD (Table 2; this book: chapter 2)", 79.62, None),
])
print(f"this run: {N:,} images per family set, best set {len(best):,} images; candidates examined: "
      + ", ".join(f"{fam} {b.examined:,}" for fam, b in balanced.items()))
table

# %%
# Sanity checks: a broken method fails here (and CI runs this notebook on the quick profile).
for fam, b in balanced.items():
    assert (b.counts <= b.quota).all() and len(b.images) == int(b.counts.sum()) <= N, fam
    assert b.images.min() >= 0 and b.images.max() <= 1, fam
assert (balanced["synthetic"].counts == balanced["synthetic"].quota).all()  # shapes + dead leaves fill every class
assert hist_best.final_acc > untrained_acc + config.pick(quick=0.1, full=0.4), (hist_best.final_acc, untrained_acc)
# the paper's claim, on the full profile (the quick profile's students have had too few steps to tell)
wins = sum(table1[(f, "balanced", True)] > table1[(f, "unbalanced", True)] for f in arbitrary.FAMILIES)
assert wins >= config.pick(quick=0, full=2), wins
print(f"chapter 3 ran in {time.perf_counter() - chapter_start:.0f} s (profile {config.profile()}, {config.device()})")

# %% [markdown]
# ## Where this chapter falls short
#
# * **Balanced noise is far below the paper** (27.1 % here, 74.33 % in the paper). Filling every class does not
#   close the gap. In this book's trials, a *completely* balanced set of 10,000 noise images (it took 2.7 M
#   candidates to find 1,000 sandals) gave 13.4 % without augmentation and 41.6 % with it. The paper does not
#   give enough detail about its teacher, its noise and its training length to tell which of them differs.
#   The *unbalanced* noise numbers do agree with the paper's.
# * **Offline photos are not SVHN + TinyImageNet.** Twenty-one bundled photographs cut into patches vary far
#   less than 100,000 TinyImageNet images. The best offline set (72.9 %) stays below the paper's 84.75 %, and
#   below 80 %. Neither larger sets (40,000 images: 72.3 %), longer training (40 epochs: 71.6 %), other
#   augmentation strengths, τ = 4 nor textured shapes beat it in this book's trials.
# * **Seed variance is large.** The same set, distilled into students with different initial weights, can
#   land up to ten points apart (73.5 vs 63.1 % for seeds 0 and 1 on one balanced natural set in this book's
#   trials). Each number above comes from one seed, so a few points' difference between cells of Table 1 is
#   inside that spread.

# ## Exercises
#
# 1. **Online sources.** With internet access, rebuild the natural family with the paper's sources:
#    `arbitrary.torchvision_source("SVHN", split="train")` first, then a second dataset to fill the classes SVHN
#    leaves short. Does the best set beat the offline one?
# 2. **Order matters.** Algorithm 1 uses the sources in order. Balance `[dead leaves, random shapes]` instead of
#    `[random shapes, dead leaves]`: how does the composition change, and does the student notice?
# 3. **Gaussian noise.** The paper balanced CIFAR-100 with Gaussian noise (μ = 0.5, σ = 0.1) because it fills
#    classes faster. Look at its histogram above: would it help for Fashion-MNIST?
# 4. **How balanced is balanced enough?** Give Algorithm 1 a smaller `cap` so that classes stay short, and plot
#    the student's accuracy against the total shortfall.
