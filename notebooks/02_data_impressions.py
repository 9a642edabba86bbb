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

# %%

# %% [markdown]
# # 2. Zero-shot KD with data impressions
#
# Chapter 1 distilled with the teacher's own training data. Now that data is gone: we hold only the frozen
# LeNet-5 teacher. **Zero-Shot Knowledge Distillation** (ZSKD) {cite}`nayak2019zskd` builds a transfer set from
# the teacher alone, in three steps:
#
# 1. **Class similarity.** The rows $w_k$ of the teacher's final-layer weights are class templates; their cosine
#    similarities, each row min-max normalised to [0, 1], say which classes the teacher finds alike (eq. 2).
# 2. **A Dirichlet model of the softmax space.** For class $k$, softmax vectors are sampled from
#    $\mathrm{Dir}(\beta \cdot C_k)$: the **concentration** $\beta\,C_k$ puts mass on $k$ *and* on the classes
#    similar to it. Two scales, β = 1 and β = 0.1, give half the samples each.
# 3. **Data impressions.** Starting from noise, an input $x$ is optimised until the teacher's softmax at
#    temperature τ = 20 matches a sampled vector $y$ (eq. 3):
#    $$\bar x = \arg\min_x \; \mathrm{CE}\big(y,\; \mathrm{softmax}(T(x)/\tau)\big).$$
#
# The **data impressions** (DIs) are the transfer set: the student is distilled on them with the pure
# distillation term (ZSKD eq. 4), with the teacher re-labelling augmented copies. The paper reports 79.62 % on
# Fashion-MNIST with 48,000 DIs × 1,500 steps (72 M impression-steps). This chapter works on a laptop budget — a
# tenth or less of that compute — and measures everything it claims in this run.

# %% tags=["remove-cell"]
# On Colab: install this book's package (Colab already has PyTorch; this never reinstalls it).
import sys

if "google.colab" in sys.modules:
    # %pip install -q "dfkd-book[book] @ git+https://github.com/dfkd-book/dfkd-book"
    pass

# %%
import time

import matplotlib.pyplot as plt
import torch

from dfkd_book import augment, bench, config, data, impressions, kd, plot, widgets, zoo

config.describe()
config.seed_everything(0)
chapter_start = time.perf_counter()

# %% [markdown]
# The budgets, per profile. `recipe` is shared with `python -m dfkd_book.bench zskd`, which writes
# `results/zskd.json`; the ablations use smaller pools of impressions and fixed, equal numbers of student steps.

# %%
recipe = bench.zskd_recipe()
CRAFT = {k: v for k, v in recipe["craft"].items() if k != "n"}
N = recipe["craft"]["n"]  # data impressions in the main transfer set
ABL_N = config.pick(quick=200, full=1_000)  # impressions per ablation pool
SIZES = config.pick(quick=[100, 200, 2_000], full=[500, 1_000, 2_000, 8_000])  # transfer-set sizes (Fig. 2)
ABL_EPOCHS = config.pick(quick=10, full=20)  # ablation students: ABL_EPOCHS × STEPS batches each
STEPS = -(-N // recipe["distill"]["batch_size"])  # batches per epoch of the main transfer set
print(recipe)

test = data.load("fashion-mnist", "test")
classes = test.classes
teacher = zoo.teacher("lenet5", "fashion-mnist")
teacher_acc = kd.evaluate(teacher, test)
untrained_acc = kd.evaluate(zoo.student("lenet5half"), test)
print(f"teacher LeNet-5 {100 * teacher_acc:.2f} %; untrained LeNet-5-Half {100 * untrained_acc:.2f} %")

# %% [markdown]
# ## Step 1: class similarity from the teacher's weights (Fig. 1)
#
# Nothing but the teacher's last `nn.Linear` layer (84 → 10) is used. The structure it reveals is the one
# chapter 1 found from data in the mean soft targets: tops (T-shirt, pullover, shirt, coat) resemble each
# other, and so do the shoes (sandal, sneaker, ankle boot).

# %%
similarity = impressions.class_similarity(teacher)
fig = plot.heatmap(similarity, classes, title="class similarity (eq. 2): cosine of final-layer weights, "
                   "rows min-max normalised", xlabel="class j", ylabel="class k")
off = similarity.clone().fill_diagonal_(0)
print("most similar class of each class:",
      "; ".join(f"{classes[k]} → {classes[int(off[k].argmax())]}" for k in range(len(classes))))

# %% [markdown]
# ## Step 2: sampling softmax vectors from a Dirichlet
#
# Each row below is one sampled softmax vector for the class *Shirt*. With β = 1 the samples spread mass over
# the shirt-like classes; with β = 0.1 most samples are nearly one-hot, but on a *random* class drawn in
# proportion to the similarity row. β matters: the official code re-normalised the scaled row, so its β = 0.1
# was secretly β = 1 (see the tests of `impressions.sample_targets`).

# %%
shirt = classes.index("Shirt")
torch.manual_seed(0)
draws = {f"β = {b}": torch.distributions.Dirichlet(impressions.concentration(similarity, b)[shirt]
                                                   .expand(16, -1)).sample() for b in (1.0, 0.1)}
fig = plot.dirichlet_samples(draws, classes, title="16 Dirichlet samples for the class Shirt")

# %% [markdown]
# Move β yourself (run the notebook; the published page shows the static figure above):

# %% tags=["remove-output"]
widgets.dirichlet_explorer(similarity, classes)

# %% [markdown]
# ## Step 3: crafting data impressions, thousands at once
#
# All impressions are optimised **in parallel**: a batch of 4,096 inputs, one Adam optimiser over all their
# pixels, each impression's loss its own (the batch loss is a sum), pixels clipped to [0, 1] after every step.
# On a CPU this runs at several thousand impression-steps per second (the teacher runs in channels-last
# memory format, about twice as fast for the input gradients of its convolutions).
#
# Two choices of this book differ from the paper, and the ablation below measures them against the paper's
# way. The noise starts dark, uniform in [0, 0.1] — Fashion-MNIST images are mostly black background. And at
# every step the teacher sees a *copy* of the batch, shifted by up to 2 px and flipped at random (DeepInversion's
# jitter {cite}`yin2020deepinversion`), and on the full profile every impression's copy is also turned by its own
# small random affine map (±15°, ±10 % shift, 90–110 % scale); the optimised pixels themselves never move. An
# impression then has to make the teacher answer under small shifts and turns instead of being a pixel-exact
# adversarial pattern. In this book's trials, *more* crafting steps (300 instead of 150) made students worse,
# not better: past a point the impressions drift into adversarial territory.

# %%
dis = impressions.data_impressions(teacher, N, seed=0, **CRAFT)
print(f"{len(dis):,} data impressions × {dis.steps} steps = {dis.impression_steps / 1e6:.2f} M impression-steps "
      f"in {dis.seconds:.0f} s ({dis.impression_steps / dis.seconds:,.0f} impression-steps/s)")
print("mean cross-entropy to the targets during crafting:", ", ".join(f"step {s}: {v:.3f}" for s, v in dis.curve))
with torch.no_grad():
    p_dis = kd.soft_targets(kd.logits(teacher, dis.images), 1.0)
agree = (p_dis.argmax(1) == dis.targets.argmax(1)).float().mean().item()
print(f"the teacher's top class on an impression = its target's top class for {100 * agree:.1f} % of them")

# %% [markdown]
# A gallery, two impressions per class, captioned like the paper's Fig. 4 with the top-2 entries of the
# sampled target. The first of each pair was drawn with β = 1, the second with β = 0.1.

# %%
idx = torch.cat([torch.nonzero(dis.classes == c).squeeze(1)[[0, -1]] for c in range(len(classes))])
top2 = dis.targets[idx].topk(2, dim=1)
captions = [f"{classes[int(i[0])]} {v[0]:.2f}\n{classes[int(i[1])]} {v[1]:.2f}"
            for v, i in zip(top2.values, top2.indices)]
fig = plot.show_images(dis.images[idx], captions, ncols=10, scale=1.45,
                       suptitle="Data impressions of the LeNet-5 teacher (top-2 target confidences)")

# %% [markdown]
# Nothing in eq. 3 asks them to look like clothes: they only need to make the teacher *answer* as it answers on
# clothes. Still, the dark start and the jittered views let outlines of garments and a dark background come
# through. Whether that is enough is what the student tells us.
#
# ## Distillation on data impressions, with and without augmentation
#
# The student is trained on the impressions with the distillation term at τ = 20. With augmentation —
# ZSKD's appendix: scaling to 60–100 %, translation by up to 20 %, rotation within ±90°, flips and transposes,
# drawn per sample by `kornia` — the **teacher re-labels every augmented batch**, so augmented copies are new
# transfer data, not old labels on moved pixels.

# %%
aug = augment.ZSKDAugmentation(**recipe["augment"])
fig = plot.show_images(torch.cat([dis.images[idx[:8]], aug(dis.images[idx[:8]])]), ncols=8,
                       suptitle=f"eight impressions (top) and one augmented draw of each (bottom): {aug}")

# %%
config.seed_everything(0)  # the same initial student as `python -m dfkd_book.bench zskd`
student_aug = zoo.student("lenet5half")
hist_aug = kd.distill(student_aug, teacher, dis.images, augment=aug, eval_set=test, seed=0,
                      name=f"{N:,} DIs + augmentation", **recipe["distill"])
config.seed_everything(0)
student_plain = zoo.student("lenet5half")
hist_plain = kd.distill(student_plain, teacher, dis.images, eval_set=test, seed=0,
                        name=f"{N:,} DIs, no augmentation", **recipe["distill"])
print(f"with augmentation {100 * hist_aug.final_acc:.2f} % ({hist_aug.seconds:.0f} s); "
      f"without {100 * hist_plain.final_acc:.2f} % ({hist_plain.seconds:.0f} s)")
fig = plot.curves(hist_aug, hist_plain, title="LeNet-5-Half distilled on data impressions only")

# %% [markdown]
# ## Ablations, in the paper's order
#
# Each ablation crafts a fresh pool of `ABL_N` impressions with the same steps and learning rate, and trains a
# student without augmentation for the same number of batches (`ABL_EPOCHS × STEPS`), so only the transfer set
# differs. The reference is the first `ABL_N` data impressions of the main set (equal shares per class).
#
# * **Uniform prior** (Table 7): concentration all ones, ignoring the class similarity.
# * **Class impressions** (Fig. 3, Mopuri et al.): one-hot targets.
# * **The paper's crafting**: uniform noise in [0, 1], the teacher sees the impression itself (no jitter); the
#   other settings unchanged.
# * **Jitter only**: the recipe without the per-impression affine view (on the quick profile, the recipe itself).

# %%
def student_on(x, name):
    """A fresh student distilled on x without augmentation for ABL_EPOCHS × STEPS batches; its test accuracy."""
    s = zoo.student("lenet5half")
    h = kd.distill(s, teacher, x, epochs=ABL_EPOCHS, steps_per_epoch=STEPS, seed=0, name=name, progress=False,
                   **{k: v for k, v in recipe["distill"].items() if k != "epochs"})
    acc = kd.evaluate(s, test)
    print(f"{name:<46} {100 * acc:6.2f} %  ({h.seconds:.0f} s)")
    return acc


pools = {
    "data impressions (class-similarity prior)": dis.subset(ABL_N),
    "uniform prior": impressions.data_impressions(teacher, ABL_N, prior="uniform", seed=1, progress=False,
                                                  **CRAFT),
    "class impressions": impressions.class_impressions(teacher, ABL_N, seed=2, progress=False,
                                                       **{k: v for k, v in CRAFT.items() if k != "betas"}),
    "paper's crafting (noise in [0, 1], no jitter)": impressions.data_impressions(
        teacher, ABL_N, seed=3, progress=False, **{**CRAFT, "init_range": (0.0, 1.0), "jitter": 0, "view_affine": None}),
    "jitter only (no affine view)": impressions.data_impressions(
        teacher, ABL_N, seed=4, progress=False, **{**CRAFT, "view_affine": None}),
}
ablation = {name: student_on(pool.images, name) for name, pool in pools.items()}
fig, ax = plt.subplots(figsize=(7, 2.8))
ax.barh(list(ablation)[::-1], [100 * a for a in list(ablation.values())[::-1]], color="tab:blue")
ax.set(xlabel="student test accuracy (%)", title=f"{ABL_N:,} impressions each, no augmentation")
ax.grid(axis="x", alpha=0.3)
fig.tight_layout()
first_of_class = lambda p: torch.stack([torch.nonzero(p.classes == c)[0, 0] for c in range(len(classes))])
fig = plot.show_images(torch.cat([p.images[first_of_class(p)] for p in pools.values()]), ncols=10, scale=1.0,
                       suptitle="one per class; rows: data impressions, uniform prior, class impressions, the paper's crafting, "
                       "jitter only")

# %% [markdown]
# ## How many impressions? (Fig. 2)
#
# Students distilled, without augmentation and for the same number of batches, on nested subsets of the data
# impressions — and, for comparison as in the paper's figure, on the same number of real training images.

# %%
train = data.load("fashion-mnist", "train")
size_di = {n: (ablation["data impressions (class-similarity prior)"] if n == ABL_N else
               student_on(dis.subset(n).images, f"{n:,} data impressions")) for n in SIZES}
size_real = {n: student_on(train.subset(n, seed=0, per_class=False).images, f"{n:,} real images") for n in SIZES}
fig, ax = plt.subplots(figsize=(5.5, 3.2))
ax.plot(SIZES, [100 * size_di[n] for n in SIZES], marker="o", label="data impressions")
ax.plot(SIZES, [100 * size_real[n] for n in SIZES], marker="s", label="real training images")
ax.set(xscale="log", xlabel="transfer-set size", ylabel="student test accuracy (%)",
       title="transfer-set size, no augmentation")
ax.set_xticks(SIZES, [f"{n:,}" for n in SIZES])
ax.minorticks_off()
ax.grid(alpha=0.3)
ax.legend()
fig.tight_layout()

# %% [markdown]
# ## Paper vs this book
#
# ZSKD {cite}`nayak2019zskd` Tables 2, 6 and 7, Fashion-MNIST column, against this run. The paper's compute was
# 48,000 impressions × 1,500 steps and students trained for up to 2,000 epochs; this run's compute is printed
# under the table. Retention is accuracy as a fraction of the teacher's, fairer across papers whose teachers
# differ.

# %%
table = plot.paper_vs_book([
    ("Teacher (LeNet-5)", 90.84, 100 * teacher_acc),
    ("ZSKD with augmentation (Table 2, 6)", 79.62, 100 * hist_aug.final_acc),
    ("ZSKD retention (% of teacher)", 100 * 79.62 / 90.84, 100 * hist_aug.final_acc / teacher_acc),
    ("ZSKD without augmentation (Table 6)", 69.37, 100 * hist_plain.final_acc),
    (f"class-similarity prior, no aug. (Table 7; ours: {ABL_N:,} DIs)", 69.37,
     100 * ablation["data impressions (class-similarity prior)"]),
    (f"uniform prior, no aug. (Table 7; ours: {ABL_N:,} DIs)", 56.24, 100 * ablation["uniform prior"]),
    (f"class impressions, no aug. (Fig. 3; ours: {ABL_N:,})", None, 100 * ablation["class impressions"]),
])
compute = dis.impression_steps + sum(p.impression_steps for nm, p in pools.items() if "data impressions" not in nm)
print(f"this run: main transfer set {len(dis):,} DIs × {dis.steps} steps = {dis.impression_steps / 1e6:.2f} M "
      f"impression-steps (paper: 72 M); with the ablation pools {compute / 1e6:.2f} M in all.")
table

# %%
# Sanity checks: a broken method fails here (and CI runs this notebook on the quick profile).
assert agree > config.pick(quick=0.6, full=0.8), agree  # most impressions reach their target class
assert hist_aug.final_acc > untrained_acc + config.pick(quick=0.15, full=0.3), (hist_aug.final_acc, untrained_acc)
assert all(0 <= a <= 1 for a in ablation.values())
assert dis.images.min() >= 0 and dis.images.max() <= 1
print(f"chapter 2 ran in {time.perf_counter() - chapter_start:.0f} s (profile {config.profile()}, {config.device()})")

# %% [markdown]
# ## Where this chapter falls short
#
# Read the table honestly: at a sixtieth of the paper's crafting compute (1.2 M impression-steps instead of 72 M)
# and a laptop's ten minutes, these students stay well below the paper's 79.62 %. Three more things to keep in
# mind:
#
# * **Seed variance is large.** Distilling the same impressions into students with different initial weights
#   moves the accuracy by several points: with the benchmark's impressions, student seeds 0, 1, 2 and 3 gave
#   64.58, 61.29, 49.55 and 57.47 % in this book's trials. The two main students above start from seed 0, the
#   seed `python -m dfkd_book.bench zskd` uses, fixed before any of those trials. The ablation margins above
#   are single runs, and several of them are smaller than that spread.
# * **Augmentation does not pay at this budget.** In this run the students with and without augmentation finish
#   0.2 points apart (64.58 vs 64.75 %); the paper's +10 points came from 48,000 impressions and far longer
#   training. That ablation is *not* in the paper's order here.
# * **The impressions are the bottleneck, not the distillation.** The curves above flatten after a dozen epochs,
#   and the augmented student peaks (66.5 % at epoch 26) and then settles two points lower as it overfits a few
#   thousand impressions.
# * **The paper's crafting, taken literally, fails at this budget.** Without the dark start and the jittered
#   views its impressions are saturated noise, and the students trained on them are barely above chance (the
#   ablation row). Chapter 5 adds image priors and feature statistics, and that is where data-free students
#   close most of the gap.

# %% [markdown]
# ## Exercises
#
# 1. **The paper's budget.** Craft 1,500 steps per impression (`steps=1500`) for a small pool and compare the
#    student with the 150-step pool of the same size. Where does the extra compute go — lower cross-entropy to
#    the targets, or better students?
# 2. **One β.** The paper notes that β = 1 or β = 0.1 alone already works "fairly decent". Craft pools with
#    `betas=(1.0,)` and `betas=(0.1,)` and compare with the mixture.
# 3. **Temperature.** Craft at τ = 1 instead of τ = 20 (`T=1.0` in `CRAFT`). How large do the teacher's logits
#    get on the impressions at each temperature, and why does that matter for the student?
# 4. **What the student learns.** Compute the confusion matrix of the ZSKD student on the test set and compare it
#    with the class-similarity matrix above. Which confusions did the Dirichlet prior teach?
