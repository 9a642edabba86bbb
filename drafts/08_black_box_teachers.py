# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# <!-- DRAFT of chapter 8 (issue 49): not in the table of contents yet. The sections marked TODO wait for the
# recipes of DFME and IDEAL (measured on the validation split) and their bench records; the defences table waits
# for `levers generalise --labels "arbitrary-best: API, ..."`. Move to notebooks/ when every cell runs. -->
#
# # The teacher behind an API
#
# Every method so far opened the teacher: ZSKD and DeepInversion differentiate through it, the games push a
# generator's gradient through it, SSD-KD and DeepInversion read the running statistics of its BN layers. A
# teacher served as an API opens nothing. A query is a batch of images; the answer is the class probabilities, or
# only the top-1 class, perhaps rounded or cut to the k most likely; each answer is counted and may be billed or
# capped. This chapter asks what a student can learn from such a teacher, at what cost in queries, and what the
# owner's defences cost both a student and an honest user.
#
# Three levels of access, each a strict subset of the one before:
#
# | access | what a query returns | methods of this book that can use it |
# |---|---|---|
# | white-box | the module: weights, gradients, BN statistics | all of chapters 2–6 |
# | soft labels (`"probs"`) | K probabilities per image | arbitrary transfer sets, DFME |
# | hard labels (`"label"`) | the top-1 class | arbitrary transfer sets (cross-entropy), IDEAL |

# %%
# TODO(setup): chapters.setup("08_black_box_teachers"); the teacher, the data, the recipes.

# %% [markdown]
# ## An API as the student sees it
#
# `dfkd_book.blackbox.TeacherAPI` wraps a teacher: the model lives in a closure, not an attribute; inputs pass
# under `no_grad`; answers come back detached; every input is one query. `distill` takes an API wherever it takes
# a teacher, and a method states the least it needs (`Method.access`): given less, it refuses by name.

# %%
# api = TeacherAPI(teacher, "probs"); api(x[:3]); TeacherAPI(teacher, "label")(x[:3])
# TeacherAPI(teacher, "probs", decimals=1)(x[:3]); TeacherAPI(teacher, "probs", top_k=2)(x[:3])
# try: distill(TeacherAPI(teacher, "label"), student, methods.get("zskd"), steps=1)
# except ValueError as e: print(e)

# %% [markdown]
# Soft labels lose nothing a distillation loss needs: $\log p = z - \log\sum_k e^{z_k}$ differs from the logits
# $z$ by one constant per image, so $\mathrm{softmax}(\log p/\tau) = \mathrm{softmax}(z/\tau)$ at every
# temperature τ. Hard labels lose the rest: the loss becomes the cross-entropy to the teacher's class.

# %% [markdown]
# ## What a hard label reveals: a toy in the plane
#
# The two half-moons of chapter 4, a teacher MLP trained on them, and students that never see a moon point: each
# asks the API about the same n points drawn uniformly over the plane and distils its answers — probabilities or
# labels. Far from the boundary a label says all a probability would; near it, only the probability says how near,
# and with few queries that is most of what the student can learn. (Measured while drafting: at 20 queries the
# students of probabilities matched the teacher on more moon points than those of labels, three seeds each; at
# 2,000 both were within a few tenths of a point of the teacher. TODO: the figure — probability contours beside
# label regions, and both students' boundaries.)

# %%
# pts, lab = make_moons(3_000, noise=0.12, random_state=0); toy_teacher = models.MLP(2, (64, 64), 2)
# train(toy_teacher, (pts, lab), steps=700, batch_size=128, lr=1e-2)
# for n in (20, 100, 500, 2_000): q = uniform points in the box
#     for access in ("probs", "label"): distill(TeacherAPI(toy_teacher, access), models.MLP(2, (16, 16), 2),
#         methods.TransferSet(q), steps=1_000, batch_size=min(128, n), lr=1e-2, T=1.0, augment=None, seed=seed)

# %% [markdown]
# ## Arbitrary sets need only labels
#
# Chapter 3's best student was made without opening the teacher: Algorithm 1 of Nayak et al. (2021) keeps a
# natural image only if the teacher's top-1 class still needs images, and the student distils the teacher's
# answers on the kept set. It is a black-box method with soft labels, and with hard labels it still runs.
# TODO(table): `levers generalise` rows "arbitrary-best: API, probabilities" and "API, top-1 label" against the
# white-box teacher (validation split, 3 seeds), with the queries each student cost.

# %% [markdown]
# ## DFME: a gradient from queries
#
# Truong et al. (2021) keep DFAD's game (chapter 4) — the generator maximises the L1 disagreement of teacher and
# student, the student minimises it — and replace the gradient through the teacher, which an API does not give,
# by forward differences along $m$ random directions $u_j$, uniform on the unit sphere of $\mathbb{R}^d$:
#
# $$\hat g(y) = \frac{1}{m}\sum_{j=1}^{m} d\,\frac{L(y + \varepsilon u_j) - L(y)}{\varepsilon}\,u_j .$$
#
# Each generator step costs $(m+1)B$ queries, each student step $B$.
# TODO(run): inspect.getsource(forward_differences) beside the equation; the recipe; the student's validation
# accuracy against queries.

# %% [markdown]
# ## IDEAL: a generator that never asks the teacher
#
# Zhang et al. (2023) spend no query on synthesis. Each round a fresh generator is trained against the student
# alone, to make images the student assigns to fixed, class-balanced targets while its predictions stay spread:
#
# $$L_G = \mathrm{CE}\big(S(G(z)), y\big) + \lambda\,\overline{p \log p}, \qquad p = \mathrm{softmax}(S(G(z))),$$
#
# and only then does the teacher label the round's images, once each; the student trains on everything labelled
# so far with cross-entropy.
# TODO(run): the round's loop beside the equation; the recipe; accuracy against queries.

# %% [markdown]
# ## White-box and black-box on one axis
#
# TODO(frontier): every method of chapters 2–6 and this chapter, the student's test accuracy against its teacher
# queries (forward and input-gradient, from the records), at 10⁵, 10⁶ and 10⁷ queries.

# %% [markdown]
# ## What the API's defences cost
#
# TODO(defences): top-1 only, probabilities rounded to 2 and 1 decimals, the top 2 probabilities, a query cap:
# what each costs the black-box student (3 seeds, the best arbitrary set's student), and what each costs an honest
# user (the teacher's own test accuracy is unchanged by all but the cap; its calibration and the information in
# an answer are not).

# %% [markdown]
# ## Exercises
#
# TODO: (1) the expectation of the forward-difference estimate for a linear L (d · E[u uᵀ] = I); (2) why rounding
# to one decimal leaves a hard label and at most a few soft values; (3) the queries of one DFME iteration and of an
# IDEAL run; (4) a query cap that stops DFME but not IDEAL.
