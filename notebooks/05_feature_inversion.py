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
# Chapters 2–4 used only the teacher's *outputs*. A trained network carries more. Every BatchNorm layer keeps the
# **running mean and variance** of its input over the whole training set: a free, per-channel summary of the data,
# shipped with every BN network. A teacher's owner can also record more on purpose — per-class statistics of a few
# layers' activations, a few megabytes of **metadata** — and ship them with the model {cite:p}`lopes2017datafree`.
#
# This chapter inverts those statistics: it optimises images from noise until the teacher's features on them have
# the recorded statistics, then distils a student on the result. Four methods share one optimisation loop
# (`synthesis.optimize_pixels`); each is a method of the book's student loop `distill`:
#
# | method | what the teacher's owner kept | the images are optimised to match |
# |---|---|---|
# | BN statistics (`methods.BNInversion`) | nothing extra: BN running statistics | every BN layer's batch statistics |
# | DeepInversion {cite:p}`yin2020deepinversion` (`methods.DeepInversion`) | nothing extra | BN statistics, the class, image priors |
# | activation records {cite:p}`lopes2017datafree` (`methods.ActivationInversion`) | per-class mean and covariance of a few layers | sampled activations of the class |
# | spectral records {cite:p}`nasyrov2024dfdistill` (`methods.SpectralInversion`) | per-class mean Fourier spectra of conv activations | those spectra |
#
# ```{admonition} In this chapter you will
# :class: tip
#
# * explain why a BatchNorm teacher's running **BN statistics** summarise its training data, and measure how far a
#   set of images is from them;
# * write DeepInversion's objective — BN statistics, the class's cross-entropy, total-variation and L2 priors — from
#   scratch, check it against the package, and optimise images with it;
# * invert a teacher without BN from **metadata** its owner recorded: per-class activation Gaussians or Fourier
#   spectra of activation maps;
# * distil a student on each inverted set and read it between two frames: uniform noise and as many real images;
# * say what the metadata methods cost and why they are not data-free in the sense of chapters 2–4.
# ```
#
# ```{admonition} Key equations
# :class: note
#
# For a batch $x$ of images asked to be of classes $y$, let $\mu_l(x)$ and $\sigma^2_l(x)$ be the per-channel mean
# and variance of the input of BN layer $l$, and $\hat\mu_l$, $\hat\sigma^2_l$ its running **BN statistics**.
# **DeepInversion** {cite:p}`yin2020deepinversion` optimises the pixels to minimise
#
# $$\begin{aligned}
# \mathcal{L}(x) &= \lambda_{\mathrm{BN}}\sum_{l=1}^{L} w_l\Big(\big\|\mu_l(x)-\hat\mu_l\big\|_2
#   + \big\|\sigma^2_l(x)-\hat\sigma^2_l\big\|_2\Big) \\
#   &\quad + \lambda_{\mathrm{CE}}\,\mathrm{CE}\big(T(x),\, y\big) + \lambda_{\mathrm{TV}}\,\mathrm{TV}(x)
#   + \lambda_{2}\,\|x\|_2 ,
# \end{aligned}$$
#
# with the first BN layer weighted up ($w_1 > w_{l>1} = 1$); **BN-statistics matching** alone is
# $\lambda_{\mathrm{CE}} = 0$. **Activation records** {cite:p}`lopes2017datafree` sample a target
# $\tilde a_l = \mu_{l,c} + L_{l,c}\,z$ for an image of class $c$ from the recorded mean $\mu_{l,c}$ and covariance
# $\Sigma_{l,c} = L_{l,c}L_{l,c}^\top$, with $z\sim\mathcal{N}(0, I)$, and minimise
# $\sum_{l}\frac{1}{d_l}\|a_l(x) - \tilde a_l\|_2^2$ over the teacher's activations $a_l(x)$ of $d_l$ values.
# **Spectral records** {cite:p}`nasyrov2024dfdistill` match the magnitude of the 2-D Fourier transform $\mathcal{F}$
# of every activation map to the class's recorded mean spectrum $S_{l,c}$:
#
# $$\mathcal{L}(x) = \sum_{l}\frac{1}{|S_l|}\big\|\,|\mathcal{F}(a_l(x))| - S_{l,c}\big\|_F^2 .$$
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
import torch.nn.functional as F
from dfkd_book import (
    augment,
    chapters,
    compare,
    config,
    data,
    distill,
    hooks,
    kd,
    methods,
    plot,
    recipes,
    sources,
    synthesis,
    zoo,
)
from dfkd_book.methods import inversion, metadata

chapter = chapters.setup("05_feature_inversion")

# %% [markdown]
# The four methods' settings are the recipes `bn-stats`, `deepinversion`, `activation-records` and `spectral` of
# `dfkd_book.recipes` (the table below, for this profile): how many images, how many Adam steps on the pixels of
# each batch, each method's weights, and one student protocol for all four. The chapter's own students get half
# the recipes' student budget, to keep the chapter short; "Paper vs this book" gives the recipes' students.

# %% tags=["hide-output"]
inv_recipes = {k: recipes.get(k) for k in compare.inversion.METHODS}
di = inv_recipes["deepinversion"]
N, STEPS = di.settings["n"], di.settings["steps"]
CHAPTER_STEPS = di.student.steps // 2  # half the recipes' student budget
label = compare.inversion.label  # a recipe's name, metadata methods marked
chapters.glue("n_images", f"{N:,}")
chapters.glue("synth_batch", f"{di.settings['batch_size']:,}")
chapters.glue("first_weight", f"{di.settings['first_weight']:g}")
chapters.glue("temperature", f"{di.student.T:g}")
chapters.glue("passes", f"{CHAPTER_STEPS * di.student.batch_size / N:,.0f}")
tables = {k: recipes.table(k)[config.profile()] for k in inv_recipes}
pd.concat(tables, axis=1).fillna("")

# %%
# only the teacher's owner uses it: to record metadata
train = data.load("fashion-mnist", "train")
test = data.load("fashion-mnist", "test")
classes = test.classes
shape = (data.channels("fashion-mnist"), 32, 32)
teacher_bn = zoo.teacher("lenet5bn", "fashion-mnist")
teacher = zoo.teacher("lenet5", "fashion-mnist")
acc = {t: kd.evaluate(t, test) for t in (teacher_bn, teacher)}
chapters.glue("acc_lenet5bn", f"{100 * acc[teacher_bn]:.2f} %")
chapters.glue("acc_lenet5", f"{100 * acc[teacher]:.2f} %")

# %% [markdown]
# ## A free summary of the training data
#
# The two teachers are LeNet-5-BN ({glue:text}`acc_lenet5bn` on the test set) and a LeNet-5 without BatchNorm
# ({glue:text}`acc_lenet5`). A BatchNorm layer normalises its input with the batch's mean and variance while
# training, and keeps running averages of both for test time. After training, these **BN statistics** are the
# per-channel mean and variance of that layer's input **over the training set**. Images from the training
# distribution reproduce them; other images do not. `inversion.bn_statistics_loss` measures the gap, summed over
# the BN layers of LeNet-5-BN, the first one weighted {glue:text}`first_weight` times, as in DeepInversion:

# %%
chapters.glue("n_bn", str(len(inversion.batchnorms(teacher_bn))))
probes = {
    "Fashion-MNIST test images": test.images[:1024],
    "uniform noise": torch.rand(1024, *shape),
    "random shapes (chapter 3)": sources.random_shapes(shape, seed=0)(1024),
    "photo patches (chapter 3)": sources.photo_patches(shape, seed=0)(1024),
}
bn_loss = inversion.bn_statistics_loss
bn_table = {k: bn_loss(teacher_bn, x).item() for k, x in probes.items()}
pd.Series(bn_table, name="BN-statistics loss").round(2)

# %% [markdown]
# Real test images sit closest to the running statistics of the {glue:text}`n_bn` BN layers; noise and chapter 3's
# arbitrary images sit far away. The statistics say much about the training data but do not pin it down: many
# image sets share these means and variances. Which one the optimisation finds depends on where it starts and what
# else it is asked for.
#
# ## The objective, from scratch
#
# For a batch $x$ of images made for classes $y$, $\mu_l(x)$ and $\sigma^2_l(x)$ are the per-channel mean and
# (biased) variance of the **input** of the $l$-th BN layer, over the batch and the spatial positions, and
# $\hat\mu_l$, $\hat\sigma^2_l$ its running statistics. DeepInversion {cite:p}`yin2020deepinversion` minimises
#
# $$\begin{aligned}
# \mathcal{L}(x) &= \lambda_{\mathrm{BN}}\sum_{l=1}^{L} w_l\Big(\big\|\mu_l(x)-\hat\mu_l\big\|_2
#   + \big\|\sigma^2_l(x)-\hat\sigma^2_l\big\|_2\Big) \\
#   &\quad + \lambda_{\mathrm{CE}}\,\mathrm{CE}\big(T(x),\, y\big) + \lambda_{\mathrm{TV}}\,\mathrm{TV}(x)
#   + \lambda_{2}\,\|x\|_2 ,
# \end{aligned}$$
#
# with the norms not squared, $w_1$ the recipe's `first_weight` and $w_{l>1} = 1$, and the total variation summed
# over the batch in four directions (down, right and both diagonals):
#
# $$\mathrm{TV}(x) = \sum_{d\,\in\,\{\downarrow,\,\rightarrow,\,\searrow,\,\nearrow\}}
#   \big\|x - \operatorname{shift}_d(x)\big\|_2 .$$
#
# BN-statistics matching alone is the same loss with $\lambda_{\mathrm{CE}} = 0$. Here it is from scratch, with
# forward hooks on every BN layer, on four random images, next to the package (`inversion.BNStatistics`,
# `synthesis.total_variation`), with the `deepinversion` recipe's weights:

# %%
w = dict(di.settings)
w.setdefault("l2_weight", 1e-5)  # the inversions' default (inversion.invert)
x = torch.rand(4, *shape, generator=torch.Generator().manual_seed(0))
y = torch.tensor([0, 1, 2, 3])
# each term of the objective and the recipe's weight λ on it
WEIGHTS = {
    "BN statistics": "bn_weight",
    "cross-entropy": "ce_weight",
    "total variation": "tv_weight",
    "L2": "l2_weight",
}


def objective_from_scratch(teacher, x, y, w):
    """DeepInversion's loss on a batch x made for classes y, term by term:
    forward hooks on every BN layer measure the batch statistics of its
    input."""
    measured = []  # (BN layer, batch mean, batch variance), forward order

    def measure(bn, inputs, output):
        a = inputs[0]
        dims = [0, *range(2, a.ndim)]  # every axis but the channels
        measured.append((bn, a.mean(dims), a.var(dims, unbiased=False)))

    bns = inversion.batchnorms(teacher)  # (name, BN layer), forward order
    handles = [bn.register_forward_hook(measure) for _, bn in bns]
    logits = teacher(x)
    for h in handles:
        h.remove()
    diffs = (
        x[..., :-1, :] - x[..., 1:, :],
        x[..., :, :-1] - x[..., :, 1:],
        x[..., 1:, :-1] - x[..., :-1, 1:],
        x[..., :-1, :-1] - x[..., 1:, 1:],
    )
    terms = {
        "BN statistics": sum(
            (w["first_weight"] if i == 0 else 1.0)
            * ((mu - bn.running_mean).norm() + (var - bn.running_var).norm())
            for i, (bn, mu, var) in enumerate(measured)
        ),
        "cross-entropy": F.cross_entropy(logits, y),
        "total variation": sum(d.norm() for d in diffs),
        "L2": x.flatten().norm(),
    }
    loss = sum(w[k] * terms[term] for term, k in WEIGHTS.items())
    return terms | {"DeepInversion loss": loss}


scratch = objective_from_scratch(teacher_bn, x, y, w)
with inversion.BNStatistics(teacher_bn, first_weight=w["first_weight"]) as bn:
    package = {
        "cross-entropy": F.cross_entropy(teacher_bn(x), y),
        "BN statistics": bn.loss(),
        "total variation": synthesis.total_variation(x),
        "L2": torch.linalg.vector_norm(x),
    }
package["DeepInversion loss"] = sum(
    w[k] * package[term] for term, k in WEIGHTS.items()
)
for term in scratch:
    assert torch.allclose(scratch[term], package[term], rtol=1e-5), term
pd.DataFrame({"from scratch": scratch, "package": package}).map(float)

# %% [markdown]
# ## The pixel loop, from scratch
#
# The pixels themselves are what is optimised. A batch starts as uniform noise in the recipe's `init_range`; at
# every step $s$ of the budget the teacher sees a jittered, randomly flipped copy $\tilde x$ of the batch (the
# priors apply to that copy too), Adam takes one step on the pixels at a cosine learning rate, and the pixels are
# clipped back to $[0, 1]$:
#
# $$x_{s+1} = \operatorname{clip}_{[0,1]}\Big(x_s - \eta_s\,\mathrm{Adam}\big(\nabla_x\,\mathcal{L}(\tilde x_s)\big)\Big),
# \qquad \eta_s = \frac{\eta}{2}\Big(1 + \cos\frac{\pi s}{S}\Big).$$
#
# The batch returned is the lowest-loss one the loop went through. Written out with the objective above, and
# checked against `inversion.deep_inversion` (the package's `synthesis.optimize_pixels`) on eight images, with the
# same seed and the same frozen copy of the teacher:


# %%
def deepinversion_from_scratch(teacher, y, w, *, steps, jitter=2, seed=0):
    """DeepInversion's pixel loop for one batch made for classes y."""
    torch.manual_seed(seed)
    low, high = w["init_range"]
    x = low + (high - low) * torch.rand(len(y), *shape)
    x.requires_grad_(True)
    opt = torch.optim.Adam([x], lr=w["lr"], betas=(0.5, 0.9))
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    best, best_x = float("inf"), x.detach().clone()
    for _ in range(steps):
        view = augment.jittered_view(x, jitter, True)  # shift and flip
        loss = objective_from_scratch(teacher, view, y, w)["DeepInversion loss"]
        opt.zero_grad()
        loss.backward()
        if loss.item() < best:  # the pixels this loss was measured on
            best, best_x = loss.item(), x.detach().clone()
        opt.step()
        sched.step()
        with torch.no_grad():
            x.clamp_(0, 1)
    return best_x


cpu = torch.device("cpu")
frozen_bn = hooks.frozen_copy(teacher_bn, cpu)
y8 = torch.arange(8) % 10
ours = deepinversion_from_scratch(frozen_bn, y8, w, steps=20)
# the package, with the same classes, budget, views, seed and weights
same = dict(labels=y8, steps=20, batch_size=8, jitter=2, flip=True, seed=0)
for k in [*WEIGHTS.values(), "lr", "first_weight", "init_range"]:
    same[k] = w[k]
package_images = inversion.deep_inversion(
    teacher_bn, 8, shape, progress=False, device=cpu, **same
).images
gap = (ours - package_images).abs().max().item()
assert gap < 1e-6, gap
chapters.glue("pixel_gap", f"{gap:.1e}" if gap else "zero")

# %% [markdown]
# The largest difference between the two loops' pixels is {glue:text}`pixel_gap`: they are the same loop.
#
# ## 1. BN-statistics matching alone
#
# Start from dark noise and optimise the pixels of every batch of {glue:text}`synth_batch` until every BN layer's
# batch statistics match its running ones, with small TV and L2 priors to keep the pixels smooth. No class is asked
# for: the teacher labels the result. `methods.BNInversion` makes the images inside `distill`, once, before the
# student's first step; the loop then distils a fresh LeNet-5-Half on them, and the images stay readable on
# `result.method.inversion`. Every student of this chapter comes from the same `distill` call, written once as
# `student(teacher, method, name)`.

# %%
protocol = di.student.kwargs(steps=CHAPTER_STEPS)  # one for all four recipes


def student(t, method, name):
    """A fresh LeNet-5-Half distilled by teacher t on method's images."""
    config.seed_everything(0)
    s = zoo.student("lenet5half")
    return distill(t, s, method, eval_set=test, seed=0, name=name, **protocol)


res_bn = student(teacher_bn, inv_recipes["bn-stats"].build(), "BN statistics")
inv_bn = res_bn.method.inversion
fig = plot.show_images(
    inv_bn.images[:20],
    titles=[
        classes[c] for c in kd.logits(teacher_bn, inv_bn.images[:20]).argmax(1)
    ],
    suptitle="BN statistics alone, titled with the teacher's labels",
)

# %% [markdown]
# ## 2. DeepInversion
#
# DeepInversion {cite:p}`yin2020deepinversion` adds what BN matching lacks: a class. Each image is assigned one (the
# batch cycles through all ten) and the loss adds the teacher's cross-entropy to it. Adaptive DeepInversion's
# competition term, which pushes the images to where a student disagrees with the teacher, is
# `methods.DeepInversion(n, competition_weight=...)`; see {ref}`ex-ch5-competition`.


# %% tags=["hide-input"]
def gallery(inv, title, per_class=3):
    """``per_class`` images of every class, one class per column, titled
    with the class asked for."""
    idx = torch.stack(
        [(inv.labels == c).nonzero()[:per_class, 0] for c in range(10)], 1
    ).flatten()
    return plot.show_images(
        inv.images[idx],
        ncols=10,
        titles=[classes[c] for c in inv.labels[idx]],
        suptitle=f"{title}: {per_class} images of every class",
    )


# %%
res_di = student(
    teacher_bn, inv_recipes["deepinversion"].build(), "DeepInversion"
)
inv_di = res_di.method.inversion
fig = gallery(inv_di, "DeepInversion")

# %% [markdown]
# ## 3. Activation records: metadata for a teacher without BN
#
# The plain LeNet-5 has no BatchNorm, so there are no running statistics to invert (asking for them fails
# loudly). {cite:t}`lopes2017datafree` let the teacher's owner record statistics on purpose: for every class, the
# mean and covariance of the activations at a few layers, computed once on the training data and shipped with the
# model. To make an image of class $c$, sample target activations from that Gaussian, with $L_{l,c}$ the Cholesky
# factor of the covariance $\Sigma_{l,c}$ ({ref}`ex-ch5-cholesky`), apply the ReLU where the layer does, and
# optimise the image until the teacher's activations match, each layer weighted by one over its size $d_l$:
#
# $$\begin{aligned}
# \mathcal{L}(x) &= \sum_{l}\frac{1}{d_l}\big\|a_l(x) - \tilde a_l\big\|_2^2, \\
# \tilde a_l &= \mu_{l,c} + L_{l,c}\,z,\quad L_{l,c}L_{l,c}^\top = \Sigma_{l,c},\quad z\sim\mathcal{N}(0, I).
# \end{aligned}$$
#
# The records go to `methods.ActivationInversion(records, n, ...)`, here through the recipe's `build(records)`.

# %%
try:
    inversion.BNStatistics(teacher)
except ValueError as e:
    print("BN matching on LeNet-5:", e)

r = inv_recipes["activation-records"]
act_records = metadata.record_activations(teacher, train, r.extras["layers"])
path = config.cache_dir("metadata") / "lenet5-fashion-mnist-activations.pt"
# what the reader receives: the records saved by the owner
act_records = metadata.ActivationRecords.load(act_records.save(path))
chapters.glue("act_layers", ", ".join(act_records.layers))
chapters.glue("act_mb", f"{act_records.nbytes() / 1e6:.1f} MB")

# %%
res_act = student(teacher, r.build(act_records), "activation records")
inv_act = res_act.method.inversion
fig = gallery(inv_act, "activation records")

# %% [markdown]
# ## 4. Spectral records
#
# The second method of {cite:t}`nasyrov2024dfdistill` records, instead of raw activations, their **spatial Fourier
# spectra**: for every class and every channel of a conv layer, the mean magnitude of the 2-D Fourier transform
# of its activation map. A magnitude spectrum forgets *where* a pattern is and keeps *which* patterns occur, at
# which scales and orientations. Reconstruction matches the spectra of an image's activations to its class's
# record,
#
# $$\mathcal{L}(x) = \sum_{l}\frac{1}{|S_l|}\big\|\,|\mathcal{F}(a_l(x))| - S_{l,c}\big\|_F^2 ,$$
#
# with $\mathcal{F}$ the orthonormal 2-D Fourier transform of every channel and $S_{l,c}$ the recorded mean spectrum
# of class $c$ (`methods.SpectralInversion(records, n, ...)`).

# %%
r = inv_recipes["spectral"]
spec_records = metadata.record_spectra(teacher, train, r.extras["layers"])
chapters.glue("spec_kb", f"{spec_records.nbytes() / 1e3:.0f} kB")

# %% tags=["hide-input"]
fig, axes = plt.subplots(1, 5, figsize=(10, 2.2))
for ax, c in zip(axes, (0, 1, 5, 7, 8)):
    s = spec_records.mean["features.relu1"][c, 0].log1p()
    ax.imshow(torch.fft.fftshift(s, dim=0), cmap="magma")
    ax.set(title=classes[c], xticks=[], yticks=[])
fig.suptitle(
    "log spectrum of conv1's first channel, per class "
    "(low frequencies at the left middle)"
)
fig.tight_layout()

# %% [markdown]
# Every class leaves its own spectrum. The loss from scratch, on the recorded layers' activations (read by forward
# hooks, `hooks.LayerOutputs`) of four random images asked to be of classes 0–3, next to `inversion.spectral_loss`:

# %%
with hooks.LayerOutputs(teacher, spec_records.layers) as taps:
    teacher(x)
maps = taps.out  # layer → its activation maps (N, C, H, W)
target = {k: spec_records.mean[k][y] for k in maps}  # each image's class
spectra = {k: torch.fft.rfft2(a, norm="ortho").abs() for k, a in maps.items()}
# the mean: 1 / |S_l| over each image's spectra, then over the batch
loss_spec = sum((spectra[k] - target[k]).pow(2).mean() for k in maps)
package_spec = inversion.spectral_loss(maps, target)
assert torch.allclose(loss_spec, package_spec, rtol=1e-5)
pd.Series(
    {"from scratch": loss_spec.item(), "package": package_spec.item()},
    name="spectral loss",
)

# %%
res_spec = student(teacher, r.build(spec_records), "spectral records")
inv_spec = res_spec.method.inversion
fig = gallery(inv_spec, "spectral records")

# %% [markdown]
# ## Distillation from each
#
# Each set was distilled, inside its `distill` call, into a fresh LeNet-5-Half by the teacher that made it, with
# the recipes' student protocol for inverted images: temperature $\tau =$ {glue:text}`temperature`, a mild random
# affine map and flips, the teacher re-labelling every augmented batch, and a short warm-up. The sets are small,
# so the student makes about {glue:text}`passes` passes over each. Two more students, with the same protocol and
# budget, frame them: one distilled from LeNet-5 on as many images of uniform noise (`methods.TransferSet`), the
# floor; and one from LeNet-5-BN on the first $N$ real training images (`methods.RealData(train, n=N)`), what a
# set of this size can teach at best.

# %%
noise = torch.rand(N, *shape, generator=torch.Generator().manual_seed(0))
noise_set = methods.TransferSet(noise, name="uniform noise")
res_noise = student(teacher, noise_set, "uniform noise")
res_real = student(
    teacher_bn, methods.RealData(train, n=N), f"{N:,} real images"
)
results = {  # name → (teacher, its student)
    label("bn-stats"): (teacher_bn, res_bn),
    label("deepinversion"): (teacher_bn, res_di),
    label("activation-records"): (teacher, res_act),
    label("spectral"): (teacher, res_spec),
}
frame = {
    "uniform noise (floor)": (teacher, res_noise),
    f"{N:,} real training images": (teacher_bn, res_real),
}
runs = [res for _, res in (results | frame).values()]
fig = plot.curves(*runs, title="students distilled on inverted images")


# %%
def row(t, res):
    """One student: its accuracy, and what its images cost."""
    inv = getattr(res.method, "inversion", None)
    synthesis_s = inv.seconds if inv else 0
    backward = res.teacher_queries["backward"]
    return {
        "teacher": "LeNet-5-BN" if t is teacher_bn else "LeNet-5",
        "student accuracy (%)": round(100 * res.final_acc, 2),
        "retention (% of teacher)": round(100 * res.final_acc / acc[t], 1),
        "synthesis s per 1,000 images": round(1000 * synthesis_s / N),
        "teacher backward passes per image": backward // N,
        "distillation s": round(res.history.seconds - res.method.seconds),
    }


rows = {k: row(t, res) for k, (t, res) in (results | frame).items()}
table = pd.DataFrame.from_dict(rows, orient="index")
for name, res in (("di", res_di), ("noise", res_noise), ("real", res_real)):
    chapters.glue(f"ch_acc_{name}", f"{100 * res.final_acc:.2f} %")
table

# %% tags=["hide-input"]
fig, ax = plt.subplots(figsize=(7, 3))
colors = ["C0", "C0", "C1", "C1", "C7", "C2"]
ax.barh(table.index, table["student accuracy (%)"], color=colors)
ax.axvline(100 * acc[teacher], c="k", ls="--", lw=1, label="teacher LeNet-5")
ax.invert_yaxis()
ax.set(xlabel="student test accuracy (%)", xlim=(0, 100))
ax.legend(fontsize=8, loc="lower left", bbox_to_anchor=(0, 1))  # above
ax.grid(axis="x", alpha=0.3)
fig.tight_layout()

# %% [markdown]
# Every inverted set teaches far more than noise, and less than as many real images: DeepInversion's student
# reaches {glue:text}`ch_acc_di`, between the floor's {glue:text}`ch_acc_noise` and the real images'
# {glue:text}`ch_acc_real`.
#
# ## Paper vs this book
#
# No paper reports these methods on Fashion-MNIST. The table gives the four recipes' students at their full
# budget, as `python -m dfkd_book.experiments.bench` recorded them (mean ± sd over the seeds), with the
# statistics each method inverts and their size: the BN methods need nothing beyond the teacher, whose weights
# carry the BN statistics. The uniform-noise student of the same budget is the floor.
#
# The paper's column is context, not a comparison: {cite:t}`lopes2017datafree` report MNIST only. Their best —
# the figure {cite:t}`nayak2019zskd` cite for them — comes from *spectral layer-pair* records, built on the
# spectrum of a graph over the activations of two adjacent layers: a different method from this chapter's Fourier
# spectra, which follow the library of {cite:t}`nasyrov2024dfdistill`. That library publishes no accuracy.

# %%
paper = compare.inversion.table()  # the records of the four recipes' benches
chapters.glue("di_over_bn", f"{paper.di_over_bn:.1f} points")
teacher_mb = 4 * sum(p.numel() for p in teacher.parameters()) / 1e6
chapters.glue("teacher_mb", f"{teacher_mb:.2f} MB")
paper.table

# %% [markdown]
# **Reading the table.** With all four students warming up, the two metadata methods give the best means, the
# spectral records with the widest spread over the seeds, and DeepInversion's class term lifts BN matching by
# {glue:text}`di_over_bn`. All are far above the uniform-noise floor. Which of these gaps are beyond the seeds'
# noise, and how the ranking looked before the students warmed up, is in {doc}`B5_reproducing_inversion`. The
# families also differ in ways this chapter does not measure apart: the records are *per class*, while the BN
# statistics are pooled over all classes; and the two families invert different teachers, LeNet-5 and LeNet-5-BN.
#
# **What the metadata costs.** The activation records of {glue:text}`act_layers` take {glue:text}`act_mb`, many
# times the teacher's own weights ({glue:text}`teacher_mb`); the spectra take {glue:text}`spec_kb`. Both are
# computed on the owner's training data: a class's mean activation or spectrum summarises that class's images,
# and shipping it is a decision about that data. That is why the table marks them as **metadata methods**: they
# are not data-free in the sense of chapters 2–4, whose teachers carry nothing but their weights.

# %% tags=["hide-input"]
# Sanity checks: a broken method fails here (CI runs this on the quick profile)
assert all(r.student == di.student for r in inv_recipes.values())
assert bn_table["Fashion-MNIST test images"] < bn_table["uniform noise"]
# accuracy the quick run's students may lose to the noise floor's
slack = config.pick(quick=1.0, full=0.0)
for name, (_, res) in results.items():
    images, curve = res.method.inversion.images, res.method.inversion.curve
    assert images.shape == (N, *shape), name
    assert images.min() >= 0 and images.max() <= 1, name
    assert curve[-1][1] < curve[0][1], (name, curve)  # the objective fell
    # one backward pass per image per step
    assert res.teacher_queries["backward"] == N * STEPS, name
    assert res.final_acc > res_noise.final_acc - slack, name
# DeepInversion makes the classes it was asked for
di_pred = kd.logits(teacher_bn, inv_di.images).argmax(1)
assert (di_pred == inv_di.labels).float().mean() > 0.9
chapter.passed()

# %% [markdown]
# ## Where this chapter falls short
#
# The students stay far below their teachers, for two reasons. The first is **compute**: synthesis costs one
# forward and backward pass of the teacher per image per optimisation step (the table's cost columns), so a
# chapter that must finish in minutes affords {glue:text}`n_images` images per method, and that many images teach
# little even when they are real. The second is **quality**: the gap between the real images' row and
# DeepInversion's, at the same count and budget, is what the inverted images lack.
#
# The lever studies of {doc}`B5_reproducing_inversion` separate the two: more images and more steps per batch
# each bought about a point, within the seeds' noise, and no change to DeepInversion's objective closed the gap to
# real images. What did better was
# another way to make the images, a meta-learned generator with a pool {cite:p}`fang2022fast`. Chapter 6 attacks
# the cost itself: SSD-KD keeps a small replay buffer of synthetic images, steers new ones towards rare classes
# and hard cases, and replays most often the images on which the student still disagrees with the teacher.

# %% [markdown]
# ## Summary
#
# * Every BatchNorm teacher ships **BN statistics**, a per-channel summary of its training data: real images
#   reproduce them, noise and arbitrary images do not.
# * Inversion optimises pixels from noise until the teacher's internal features have recorded statistics; the four
#   methods share one loop and differ only in the statistics they match and the priors they add.
# * DeepInversion adds a class to BN matching and makes images the teacher labels as asked; its students beat BN
#   matching alone.
# * A teacher without BN can be inverted from **metadata** — per-class activation Gaussians or Fourier spectra —
#   but that metadata is computed on the owner's training data, and the methods that read it are not data-free in
#   the sense of chapters 2–4.
# * Every inverted set lifts its student far above uniform noise, yet below as many real images: the images'
#   quality, more than their number, is what holds these students back.

# %% [markdown]
# ## Exercises
#
# The worked solutions are in {doc}`C_solutions`. The hands-on exercises reuse this chapter's
# objects (`teacher`, `teacher_bn`, `train`, `test`, `shape`, `N`, `inv_recipes`, `act_records`, `res_di`, `inv_di`,
# `gallery`, ...): run the chapter first. An inversion of the recipe's size and its student take several minutes;
# {ref}`ex-ch5-scale` is work for a GPU.

# %% [markdown]
# ```{exercise} Which BN layer matters?
# :label: ex-ch5-first-bn
#
# Set `first_weight=1.0` in BN matching (`inv_recipes["bn-stats"].build(first_weight=1.0)`), then drop the first BN
# layer from the loss altogether. What happens to the images and to the student?
# ```
#
# {ref}`Solution <ex-ch5-first-bn-solution>`.

# %% [markdown]
# ```{exercise} Smaller metadata
# :label: ex-ch5-metadata
#
# Record activations at `classifier.fc3` only (the logits: 10 × 10 numbers per class). How much accuracy do the
# larger layers buy, per megabyte?
# ```
#
# {ref}`Solution <ex-ch5-metadata-solution>`.

# %% [markdown]
# ```{exercise} Competition
# :label: ex-ch5-competition
#
# Give `inversion.deep_inversion` a half-trained student and `competition_weight=1.0`. Do the images change? Does a
# student distilled on them (`methods.TransferSet(inv.images)`) do better at the same budget?
# ```
#
# {ref}`Solution <ex-ch5-competition-solution>`.

# %% [markdown]
# ```{exercise} Shift invariance
# :label: ex-ch5-shift
#
# A magnitude spectrum does not change when the activation map is shifted. Show why, and look at the spectral images
# again: where in the frame are the garments?
# ```
#
# {ref}`Solution <ex-ch5-shift-solution>`.

# %% [markdown]
# ```{exercise} Scale
# :label: ex-ch5-scale
#
# On a GPU, build DeepInversion with `n=10_240` and give its student more steps (`r.student.kwargs(steps=...)`).
# How close does it get to chapter 1's student distilled on the full real training set?
# ```
#
# {ref}`Solution <ex-ch5-scale-solution>`.

# %% [markdown]
# ```{exercise} Sampling activations: Cholesky, not covariance (pen and paper)
# :label: ex-ch5-cholesky
#
# Activation records reconstruct a target activation of class $c$ as $\tilde a = \mu_c + L_c z$ with
# $z \sim \mathcal{N}(0, I)$ and $L_cL_c^\top = \Sigma_c$. The public code of Lopes et al. used $\mu_c + \Sigma_c z$.
# Compute the covariance of both, and say what the second one does to a direction of variance 4 and to one of
# variance 0.01.
# ```
#
# {ref}`Solution <ex-ch5-cholesky-solution>`.
