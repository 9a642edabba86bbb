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
# # 8. The teacher behind an API: black-box distillation
#
# Every method so far opened the teacher. ZSKD, the games and DeepInversion differentiate through it; SSD-KD and
# DeepInversion read the running statistics of its BN layers. A teacher served as an **API** opens nothing: a
# query is a batch of images, the answer is the class probabilities — or only the top-1 class, perhaps rounded,
# perhaps cut to the k most likely — and every answer is counted, and may be billed or capped. This chapter asks
# what a student can learn from such a teacher, what it costs in **queries**, and what the owner's defences cost
# both a student and an honest user.
#
# | access | what a query returns | methods of this book that can use it |
# |---|---|---|
# | white-box | the module: weights, gradients, BN statistics | all of chapters 2–6 |
# | soft labels (`"probs"`) | $K$ probabilities per image | arbitrary transfer sets, DFME |
# | hard labels (`"label"`) | the top-1 class | arbitrary transfer sets (cross-entropy), IDEAL |
#
# ```{admonition} In this chapter you will
# :class: tip
#
# * put a teacher behind an API that answers probabilities or labels, counts queries and hides its weights, and
#   see which methods of the book refuse it;
# * see in the plane what a hard label reveals and what it hides;
# * measure what the owner's defences — top-1 only, rounding, top-k — cost a student and an honest user;
# * estimate a gradient from queries alone (DFME's forward differences) and check it;
# * train a generator against the student alone and spend one query per image (IDEAL);
# * put white-box and black-box methods on one axis of teacher queries.
# ```
#
# ```{admonition} Key equations
# :class: note
#
# With logits $z$ and $p = \mathrm{softmax}(z)$, the log-probabilities differ from the logits by one constant per
# image, so probabilities lose nothing a distillation loss at temperature τ reads:
#
# $$\log p_k = z_k - \log\textstyle\sum_j e^{z_j}
#   \quad\Rightarrow\quad \mathrm{softmax}(\log p/\tau) = \mathrm{softmax}(z/\tau).$$
#
# A hard label $\hat y = \arg\max_k z_k$ leaves the cross-entropy $-\log p^S_{\hat y}$. **DFME** (Truong et al.,
# 2021) estimates the gradient of a loss $L$ at a point $y \in \mathbb{R}^d$ from queries, along $m$ directions
# $u_j$ uniform on the unit sphere, with a step $\varepsilon$:
#
# $$\hat g(y) = \frac{1}{m}\sum_{j=1}^{m} d\,\frac{L(y + \varepsilon u_j) - L(y)}{\varepsilon}\,u_j ,
#   \qquad \mathbb{E}\,\hat g \to \nabla L(y) \text{ as } \varepsilon \to 0 .$$
#
# **IDEAL** (Zhang et al., 2023) trains a fresh generator $G$ each round against the student $S$ alone, to class-
# balanced targets $y$, with an information term on the student's softmax $p$:
#
# $$\mathcal{L}_G = \mathrm{CE}\big(S(G(z)),\, y\big) + \lambda\,\overline{p \log p},$$
#
# then queries the teacher once for each image it keeps.
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
import inspect

import pandas as pd
import torch
from dfkd_book import (
    blackbox,
    boundary,
    chapters,
    config,
    data,
    distill,
    kd,
    methods,
    models,
    plot,
    recipes,
    records,
    stats,
    zoo,
)
from dfkd_book.experiments import leaderboard
from dfkd_book.methods import blackbox as bb

chapter = chapters.setup("08_black_box_teachers")

# %%
test = data.load("fashion-mnist", "test")
teacher = zoo.teacher("lenet5", "fashion-mnist")
teacher_acc = kd.evaluate(teacher, test)
chapters.glue("teacher_acc", f"{100 * teacher_acc:.2f} %")

# %% [markdown]
# ## The teacher as an API
#
# `blackbox.TeacherAPI(teacher, access)` wraps chapter 1's LeNet-5 ({glue:text}`teacher_acc` on the test set). The
# model lives in a closure, not an attribute; inputs pass under `no_grad`; answers come back detached; every input
# is one query. Here is what three test images get back at each access level, and at the owner's defences:

# %%
apis = {
    "probabilities": blackbox.TeacherAPI(teacher, "probs"),
    "rounded to 1 decimal": blackbox.TeacherAPI(teacher, "probs", decimals=1),
    "top-2 probabilities": blackbox.TeacherAPI(teacher, "probs", top_k=2),
    "top-1 label": blackbox.TeacherAPI(teacher, "label"),
}
x3 = test.images[:3]
answers = {name: api(x3) for name, api in apis.items()}
print("labels:", [test.classes[int(k)] for k in answers.pop("top-1 label")])
pd.DataFrame(
    {name: a[1].tolist() for name, a in answers.items()}, index=test.classes
).T.style.format("{:.4f}").set_caption(
    f"the second image, a {test.classes[int(test.labels[1])]}"
)

# %%
api = apis["top-1 label"]
modules = [k for k, v in vars(api).items() if isinstance(v, torch.nn.Module)]
print(api, "| attributes that are modules:", modules)
print("answers need a gradient:", api(x3).requires_grad)
try:
    distill(api, zoo.student("lenet5half"), methods.get("zskd", n=10), steps=1)
except ValueError as e:
    print("ValueError:", e)

# %% [markdown]
# `distill` takes an API wherever it takes a teacher, and each method states the least it needs (`Method.access`):
# ZSKD differentiates through the teacher, so it refuses by name. What a method receives is a view that turns
# answers back into logits as far as they go: $\log p$ for probabilities (the logits up to a constant, by the
# first key equation), the log of a one-hot vector for labels, whose loss becomes the cross-entropy to the label.
#
# ## What a hard label reveals: a toy in the plane
#
# The two half-moons of chapter 4 and a teacher MLP trained on them; the students never see a moon point. Each
# asks the API about the same $n$ points drawn uniformly over the square and distils its answers, probabilities
# or labels. Far from the boundary a label says all a probability would; near it, only a probability says *how*
# near.

# %%
BOX = 2.0
toy_teacher, (pts, lab) = zoo.moons_teacher()  # chapter 4's teacher and moons


def toy_student(n, access, seed):  # a student of n uniform queries
    g = torch.Generator().manual_seed(seed)
    q = (torch.rand(n, 2, generator=g) * 2 - 1) * BOX
    res = distill(
        blackbox.TeacherAPI(toy_teacher, access, device=torch.device("cpu")),
        models.MLP(2, (16, 16), 2),
        methods.TransferSet(q),
        steps=config.pick(quick=200, full=500),
        batch_size=min(128, n),
        T=1.0,
        augment=None,
        seed=seed,
        progress=False,
        device=torch.device("cpu"),
    )
    return res.student, q


ns, toy_seeds = (20, 100, 500, 2_000), range(config.pick(quick=1, full=5))
toy_rows, toy_frames = [], []
for n in ns:
    for access in ("probs", "label"):
        for seed in toy_seeds:
            s, q = toy_student(n, access, seed)
            agree = kd.agreement(toy_teacher, s, pts)
            toy_rows.append(dict(n=n, access=access, seed=seed, agree=agree))
            if seed == 0 and n in (20, 500):
                region = boundary.regions(s, BOX)
                toy_frames.append((f"{access}, {n} queries", region, q))
teacher_regions = boundary.regions(toy_teacher, BOX)
fig = plot.decision_regions(teacher_regions, toy_frames, BOX, data=(pts, lab))

# %%
toy = pd.DataFrame(toy_rows).groupby(["n", "access"])["agree"]
toy_table = toy.agg(["mean", "std"]).mul(100).round(2).unstack("access")
for n, access in ((20, "probs"), (20, "label"), (2_000, "label")):
    chapters.glue(f"toy_{access}_{n}", f"{100 * toy.mean()[n, access]:.1f} %")
toy_table

# %% [markdown]
# Colours are the teacher's regions, the black line each student's boundary, the white dots its queries. The
# table gives the share (%) of moon points on which student and teacher agree, mean and sd over seeds. With 20
# queries the students of probabilities agree on {glue:text}`toy_probs_20` of the moon points, those of labels on
# {glue:text}`toy_label_20`, and the seeds spread widely: a probability of 0.6 says the boundary is close, a label
# only says which side, and with few points that is much of what there is to learn. With 2,000 queries the
# labels' students agree on {glue:text}`toy_label_2000`: many points near the boundary pin it down as well as a
# few probabilities do.
#
# ## What the API's defences cost
#
# An owner worried about extraction can answer less: only the top-1 class, probabilities rounded to one or two
# decimals, or only the two largest. First, the **honest user**: the teacher's top-1 accuracy on the test set, the
# negative log-likelihood of the true class (nats) and the expected calibration error (Guo et al., 2017) of what
# each API answers.

# %%
defences = {
    "exact probabilities": dict(access="probs"),
    "rounded to 2 decimals": dict(access="probs", decimals=2),
    "rounded to 1 decimal": dict(access="probs", decimals=1),
    "top-2 probabilities": dict(access="probs", top_k=2),
    "top-1 label": dict(access="label"),
}
honest = pd.DataFrame(
    {
        name: blackbox.answer_quality(
            blackbox.TeacherAPI(teacher, **kw), test.images, test.labels
        )
        for name, kw in defences.items()
    }
).T
honest.columns = ["top-1 accuracy (%)", "NLL (nats)", "ECE (%)"]
moved = honest["top-1 accuracy (%)"].sub(100 * teacher_acc).abs().max()
chapters.glue("honest_moved", f"{moved:.2f}")
honest

# %% [markdown]
# The honest user's top-1 accuracy moves by at most {glue:text}`honest_moved` points (rounding makes ties, broken
# by class order); what every defence costs is calibration — the label most, as it claims certainty every time. Now
# the **student**: the best arbitrary transfer set
# of chapter 3 (its images chosen by the teacher's top-1 class only, so it works through any of these APIs) and
# the yardstick's student protocol, three seeds, the teacher behind each API. The runs are those of the
# generalisation study of {doc}`A1_student_protocol`; the accuracies are on the validation split, and each
# difference is paired against the white-box teacher on the same seed.

# %%
study = records.load_runs("generalise")
api_runs = [
    r
    for r in study
    if r["recipe"] == "arbitrary-best"
    and r["budget"] == 5_000
    and (r["lever"].startswith("API") or r["lever"] == "as the yardstick")
]
defence_table = stats.lever_table(api_runs).droplevel([0, 1])
defence_table = defence_table.rename(index={"as the yardstick": "white-box"})
queries = {r["lever"]: r["teacher_queries"]["forward"] for r in api_runs}
chapters.glue("defence_queries", f"{queries['API, top-1 label']:,}")
label_row = defence_table.loc["API, top-1 label"]
chapters.glue("label_cost", label_row["paired difference"])
defence_table

# %% [markdown]
# Each student asked {glue:text}`defence_queries` queries. Probabilities cost nothing against the white-box
# teacher, as the first key equation says. Each defence lowered the student, the top-1 label most
# ({glue:text}`label_cost` points); with three seeds as spread as these, the book's test (the p column) does not
# separate any one of them from the white-box teacher on its own. The students distil at τ = 20, which reads the tail
# of the teacher's
# distribution — exactly what rounding and top-k erase. A query cap is the one defence that costs an honest user
# nothing until they reach it; what it stops depends on how a method spends its queries, the subject of the next
# two sections.
#
# ## DFME: a gradient from queries
#
# Truong et al. (2021) keep DFAD's game of chapter 4 — the generator maximises the L1 disagreement of teacher and
# student, the student minimises it — and replace the gradient through the teacher, which an API does not give,
# by the forward differences of the second key equation, taken at the generator's output before its tanh. Logits
# come back from probabilities as $\log p$ minus its mean over the classes. The estimate in the package:

# %%
print(inspect.getsource(bb.forward_differences))

# %% [markdown]
# For a linear $L(y) = w^\top y$ the estimate is exact in expectation, whatever ε, since
# $d\,\mathbb{E}[u u^\top] = I$. Its noise shrinks as $1/\sqrt m$ and grows with the dimension $d$ (here a 32×32
# image, $d$ = 1,024): the cosine between the estimate and the true gradient, one point and many directions:

# %%
d = 1_024
w, y0 = torch.randn(d), torch.randn(1, d)
cosines = {}
for m in (1, 10, 100, 1_000, 10_000):
    g, _ = bb.forward_differences(lambda v: v @ w, y0, m=m, eps=1e-3)
    cosines[m] = round(float(torch.cosine_similarity(g[0], w, 0)), 3)
pd.Series(cosines, name="cosine(ĝ, ∇L)").rename_axis("directions m")

# %% [markdown]
# DFME's official code takes $m$ = 1: one noisy direction per image, many cheap generator steps. Each generator
# step costs $(m+1)B$ queries, each student step $B$. The recipe:

# %%
dfme_recipe = recipes.get("dfme")
recipes.table("dfme")


# %%
def run(name):  # a black-box recipe, the teacher behind the recipe's API
    r = recipes.get(name)
    config.seed_everything(0)
    return distill(
        blackbox.TeacherAPI(teacher, **r.extras["api"]),
        zoo.student(r.student_arch),
        r.build(),
        eval_set=test,
        seed=0,
        name=name,
        **r.student.kwargs(),
    )


dfme = run("dfme")
z = torch.randn(20, dfme.method.nz, device=config.device())
with torch.no_grad():
    dfme_images = dfme.method.generator.eval()(z).cpu()
fig = plot.show_images(dfme_images, suptitle="DFME's generator")
chapters.glue("dfme_acc", f"{100 * dfme.final_acc:.2f} %")
chapters.glue("dfme_queries", f"{dfme.teacher_queries['forward']:,}")

# %% [markdown]
# This run's student reaches {glue:text}`dfme_acc` after {glue:text}`dfme_queries` queries. The images are not clothes;
# they are wherever the two networks disagree, as in chapter 4 — but found by noise, not by gradient.
#
# ## IDEAL: a generator that never asks the teacher
#
# Zhang et al. (2023) spend no query on synthesis. Each round a fresh generator learns, against the student alone,
# to make images the student assigns to class-balanced targets (the third key equation, λ = 5). Since
# $\overline{p\log p}$ is minus the mean entropy of the student's softmax, minimising it keeps the student
# *unsure*: the images sit where the student leans towards the target but near its boundaries. The teacher then
# labels the round's images, once each, and the student trains on everything labelled so far with cross-entropy.
# One round in the package:

# %%
print(inspect.getsource(bb.IDEAL.generation_round))

# %% [markdown]
# The student's images are the student's own guesses at each class; the teacher's label corrects them where the
# student is wrong, and the next round's generator starts from the corrected student. Queries grow by one batch
# a round, whatever the student's budget. The recipe:

# %%
recipes.table("ideal")

# %%
ideal = run("ideal")
idx = torch.linspace(0, len(ideal.method.pool) - 1, 20).long()
fig = plot.show_images(
    ideal.method.pool[idx].cpu(),
    titles=[
        test.classes[int(k)][:8]
        for k in ideal.method.teacher_logits[idx].argmax(1)
    ],
    suptitle="IDEAL's pool, with the teacher's labels",
)
chapters.glue("ideal_acc", f"{100 * ideal.final_acc:.2f} %")
chapters.glue("ideal_queries", f"{ideal.teacher_queries['forward']:,}")

# %% [markdown]
# This run's student reaches {glue:text}`ideal_acc` after {glue:text}`ideal_queries` queries — each a top-1 label.
#
# ## White-box and black-box on one axis
#
# Chapter 7 drew every method's student against the teacher queries it spent (forward passes and input gradients
# alike, making the transfer set included). The two black-box students of this chapter join that frontier:

# %%
board_records = leaderboard.load()
by_queries = leaderboard.curves(board_records, "queries")
for name, res in (
    ("DFME (this chapter)", dfme),
    ("IDEAL (this chapter)", ideal),
):
    h = res.history
    by_queries[name] = (h.teacher_forward, [100 * a for a in h.test_acc])
fig = plot.accuracy_vs_queries(
    by_queries,
    title="Fashion-MNIST, LeNet-5 → LeNet-5-Half: accuracy per query",
)

# %%
budgets = {"10⁵": 1e5, "10⁶": 1e6, "10⁷": 1e7}
frontier = pd.DataFrame(
    {
        f"{b} queries": leaderboard.at_budget(by_queries, v)
        for b, v in budgets.items()
    }
)
frontier.style.format(lambda v: "–" if pd.isna(v) else f"{v:.2f}")

# %% [markdown]
# Read at a budget, a curve gives the accuracy of its last evaluation within it ("–": no student yet). IDEAL
# spends few queries for what it learns: it asks once about each image its generator made for the student. DFME
# asks about every image of every student step, and twice about every image of every generator step.
#
# ## Compared with the papers
#
# Neither DFME's nor IDEAL's paper reports Fashion-MNIST. The Fashion-MNIST numbers for hard-label methods come
# from a later paper's runs on LeNet-5 (DIP-KD, 2025), which also quotes IDEAL's. The book's numbers are the two
# methods' leaderboard records, final students over three seeds (chapter 7); the table sets them beside those.

# %%
pd.set_option("display.max_colwidth", None)
ours = {}
for name in ("dfme", "ideal"):
    rec = records.load(name)  # the method's leaderboard record (chapter 7)
    acc = f"{rec['student_acc']:.2f} ± {rec['student_acc_sd']:.2f}"
    q = rec["teacher_queries"]["forward"]
    row = f"{recipes.about(name).label}, the book ({rec['seeds']} seeds)"
    ours[row] = f"{acc} ({q:,} queries)"
published = {
    f"{p.key}, {p.source}": f"{p.value:.2f} ({p.setting.split(': ', 1)[1]})"
    for p in recipes.about("hard-label").published
}
pd.Series({**ours, **published}, name="student test accuracy (%)").to_frame()

# %% [markdown]
# The book's black-box students stand far below the published hard-label numbers, and it says so: the papers'
# students see 50,000 images over 100 epochs; the book's IDEAL labels a fraction of that, and its generator is a
# quarter as wide as the official one, so that a chapter runs on a laptop. {doc}`B8_reproducing_black_box` shows
# each recipe's learning curves over its seeds, runs the official settings where the recipes depart from them
# (IDEAL's constant learning rate and its generator at the official width among them), and runs IDEAL on the
# papers' 50,000 images, with the loop's cosine and with the official constant rate; each closes part of the gap.
#
# ## Summary
#
# * A teacher behind an API answers probabilities, or only labels; `TeacherAPI` keeps its module out of reach and
#   counts queries, and every method states the access it needs.
# * Probabilities lose nothing a distillation loss reads; a label hides how close the boundary is, which matters
#   most when queries are few.
# * The owner's defences — rounding, top-k, labels only — cost a student several points each and cost an honest
#   user calibration, not accuracy.
# * DFME estimates the generator's gradient from queries: cheap in code, expensive in queries. IDEAL spends none on
#   synthesis and one per image it keeps.
#
# ## Exercises
#
# Solutions are in {doc}`C_solutions`.

# %% [markdown]
# ```{exercise} The estimate is unbiased for a linear loss (pen and paper)
# :label: ex-ch8-unbiased
#
# For $L(y) = w^\top y$ and $u$ uniform on the unit sphere of $\mathbb{R}^d$, show that
# $\mathbb{E}[\hat g] = w$ for every ε and $m$. Hint: $\mathbb{E}[u u^\top] = I/d$.
# ```
#
# {ref}`Solution <ex-ch8-unbiased-solution>`.

# %% [markdown]
# ```{exercise} One decimal
# :label: ex-ch8-decimal
#
# With probabilities rounded to one decimal, how many distinct answers can a 10-class API give for an image whose
# teacher is 97 % sure? What does the student's $\log p$ look like for it?
# ```
#
# {ref}`Solution <ex-ch8-decimal-solution>`.

# %% [markdown]
# ```{exercise} Counting queries
# :label: ex-ch8-queries
#
# From the recipes, write the queries of one DFME run and of one IDEAL run in terms of their settings, and check
# them against `dfme.teacher_queries` and `ideal.teacher_queries`.
# ```
#
# {ref}`Solution <ex-ch8-queries-solution>`.

# %% [markdown]
# ```{exercise} A query cap
# :label: ex-ch8-cap
#
# Give both recipes an API with `max_queries` = 100,000. Which run stops, where, and with what error? What would
# you change in the stopped method to finish within the cap?
# ```
#
# {ref}`Solution <ex-ch8-cap-solution>`.

# %% tags=["remove-cell"]
assert modules == [] and not api(x3).requires_grad
assert toy.mean()[2_000, "probs"] > 0.9 and toy.mean()[2_000, "label"] > 0.9
if config.profile() == "full":  # as the prose says (quick: one seed)
    assert toy.mean()[20, "probs"] >= toy.mean()[20, "label"]
assert (
    dfme.teacher_queries["backward"] == ideal.teacher_queries["backward"] == 0
)
r_ideal = recipes.get("ideal")
assert ideal.teacher_queries["forward"] == (
    r_ideal.settings["rounds"] * r_ideal.settings["batch"]
)
assert cosines[10_000] > cosines[1]
assert honest["top-1 accuracy (%)"]["exact probabilities"] == round(
    100 * teacher_acc, 2
)
chapter.passed()
