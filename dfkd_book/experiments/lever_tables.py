"""The lever studies' tables (:mod:`dfkd_book.experiments.levers` runs them): each lever's label and what it
changes of a recipe — chapter 5's inversions (:data:`INVERSION`), issue 46's levers for students that generalise
off the transfer set (:data:`GENERALISE`, :data:`GENERALISE_ONE`) and selection on fresh samples (:data:`FRESH`),
chapter 8's black-box recipes (:data:`BLACKBOX`) and the teacher's API settings (:data:`API_LEVERS`)."""

from __future__ import annotations

from .. import augment

#: lever label → (recipe, its settings changed, its extras changed[, its student protocol changed])
INVERSION = {
    "activation records, as the recipe": ("activation-records", {}, {}),
    "activation records, joint draws": ("activation-records", {}, {"joint": True}),
    "activation records, top layer only": ("activation-records", {}, {"layers": ["classifier.fc3"]}),
    "activation records, student lr 3e-3": ("activation-records", {}, {}, {"lr": 3e-3}),
    "activation records, student warm-up 500 steps": ("activation-records", {}, {}, {"warmup": 500}),
    "deepinversion, as the recipe": ("deepinversion", {}, {}),
    "deepinversion, 2,000 steps per batch": ("deepinversion", {"steps": 2000}, {}),
    "deepinversion, lr 0.1": ("deepinversion", {"lr": 0.1}, {}),
    "deepinversion, 6,144 images": ("deepinversion", {"n": 6144}, {}),
    "deepinversion, BN weight 10": ("deepinversion", {"bn_weight": 10.0}, {}),
    "deepinversion, first BN weight 1": ("deepinversion", {"first_weight": 1.0}, {}),
    "deepinversion, uniform init": ("deepinversion", {"init_range": (0.0, 1.0)}, {}),
    "deepinversion, synthesis batch 64": ("deepinversion", {"batch_size": 64}, {}),
    "deepinversion, student lr 3e-3": ("deepinversion", {}, {}, {"lr": 3e-3}),
    "deepinversion, student lr 1e-3": ("deepinversion", {}, {}, {"lr": 1e-3}),
    "deepinversion, student warm-up 500 steps": ("deepinversion", {}, {}, {"warmup": 500}),
    "deepinversion, TV weight 1e-2": ("deepinversion", {"tv_weight": 1e-2}, {}),
    "deepinversion, L2 weight 1e-3": ("deepinversion", {"l2_weight": 1e-3}, {}),
    "deepinversion, CE weight 0.1": ("deepinversion", {"ce_weight": 0.1}, {}),
    "deepinversion, CE weight 10": ("deepinversion", {"ce_weight": 10.0}, {}),
    "deepinversion, competition in 4 rounds": ("deepinversion", {"competition_weight": 1.0, "rounds": 4}, {}),
    "bn-stats, as the recipe": ("bn-stats", {}, {}),
    "bn-stats, student lr 3e-3": ("bn-stats", {}, {}, {"lr": 3e-3}),
    "bn-stats, student warm-up 500 steps": ("bn-stats", {}, {}, {"warmup": 500}),
    "spectral, as the recipe": ("spectral", {}, {}),
    "spectral, student lr 3e-3": ("spectral", {}, {}, {"lr": 3e-3}),
    "spectral, student warm-up 500 steps": ("spectral", {}, {}, {"warmup": 500}),
}


#: the recipes whose static transfer set ``generalise`` distils (made once from seed 0 by the recipe, active profile)
GENERALISE_RECIPES = ("zskd", "arbitrary-noise", "arbitrary-best", "deepinversion")
#: lever → (a mix augmentation composed after the protocol's ZSKD augmentation, or None; distill's options)
GENERALISE = {
    "as the yardstick": (None, {}),
    "mixup": (augment.MixUp, {}),
    "mixup on half the batch": (lambda: augment.MixUp(p=0.5), {}),
    "cutmix": (augment.CutMix, {}),
    "EMA 0.999": (None, {"average": "ema", "ema_decay": 0.999}),
    "SWA over the last 25 %": (None, {"average": "swa", "swa_start": 0.75}),
    "agreement selection, 20 % held out": (None, {"select": "agreement", "holdout": 0.2}),
    "KL selection, 20 % held out": (None, {"select": "kl", "holdout": 0.2}),
}
#: the teacher behind an API (:class:`dfkd_book.blackbox.TeacherAPI`): lever → its settings
API_LEVERS = {
    "API, probabilities": {"access": "probs"},
    "API, top-1 label": {"access": "label"},
    "API, probabilities rounded to 2 decimals": {"access": "probs", "decimals": 2},
    "API, probabilities rounded to 1 decimal": {"access": "probs", "decimals": 1},
    "API, top-2 probabilities": {"access": "probs", "top_k": 2},
}
#: levers of one recipe each, "RECIPE: LEVER" → (mix, distill's options, which replace the protocol's, changes):
#: ``teacher`` another zoo teacher;
#: ``batch_statistics`` its BN layers on each batch's statistics (Raikwar & Mishra 2022,
#: :func:`dfkd_book.methods.arbitrary.batch_statistics_teacher`); ``hybrid`` another recipe's set, repeated to the
#: size of this one's (equal shares of every batch on average); ``set`` the set's method settings changed
GENERALISE_ONE = {
    "arbitrary-noise: LeNet-5-BN teacher": (None, {}, {"teacher": "lenet5bn"}),
    "arbitrary-noise: LeNet-5-BN teacher, BN on batch statistics":
        (None, {}, {"teacher": "lenet5bn", "batch_statistics": True}),
    # DeepInversion inverts LeNet-5-BN: its hybrids distil from that teacher (one teacher makes and labels all)
    "arbitrary-best: hybrid, equal shares with DeepInversion images":
        (None, {}, {"hybrid": "deepinversion", "teacher": "lenet5bn"}),
    "arbitrary-best: hybrid, equal shares with ZSKD impressions": (None, {}, {"hybrid": "zskd"}),
    # the book's own recipe need not keep the paper's limit of the teacher's training-set size (60,000)
    "arbitrary-best: 4 times the set (240,000 images)":
        (None, {}, {"set": {"n": 240_000, "max_candidates": 8_000_000}}),
    # SSD-KD with Fast's generator inverts LeNet-5-BN too; its samples are its seed-0 run's replay buffer
    "arbitrary-best: hybrid, equal shares with SSD-KD-fast samples":
        (None, {}, {"hybrid": "ssd-kd-fast", "teacher": "lenet5bn"}),
    "zskd: hybrid, equal shares with DeepInversion images":
        (None, {}, {"hybrid": "deepinversion", "teacher": "lenet5bn"}),
    "arbitrary-best: hybrid with DeepInversion images, CutMix":
        (augment.CutMix, {}, {"hybrid": "deepinversion", "teacher": "lenet5bn"}),
    "arbitrary-best: hybrid with ZSKD impressions, CutMix": (augment.CutMix, {}, {"hybrid": "zskd"}),
    "zskd: hybrid with DeepInversion images, CutMix":
        (augment.CutMix, {}, {"hybrid": "deepinversion", "teacher": "lenet5bn"}),
    # data-free selection on a second draw of the recipe's set (seed 1, a fifth of its size) beside the set: the
    # student trains on the whole set, every checkpoint and every restart is scored on the same inputs
    **{f"{name}: agreement selection, beside the set": (None, {"select": "agreement"}, {"beside": 0.2})
       for name in ("arbitrary-best", "arbitrary-noise")},
    # the 500 warm-up steps of the inverted images' students were chosen on test accuracy: re-checked here
    "deepinversion: no warm-up": (None, {"warmup": 0}, {}),
    # issue 49: the same set and student with the teacher behind an API (dfkd_book.blackbox), and its defences
    **{f"arbitrary-best: {label}": (None, {}, {"api": api}) for label, api in API_LEVERS.items()},
    # a rounded or truncated answer read at τ = 1 instead of 20 (τ = 20 flattens the floored zeros into weight)
    **{f"arbitrary-best: {label}, τ = 1": (None, {"T": 1.0}, {"api": API_LEVERS[label]})
       for label in ("API, probabilities rounded to 1 decimal", "API, top-2 probabilities")},
}
GENERALISE_LABELS = tuple(f"{r}: {lever}" for r in GENERALISE_RECIPES for lever in GENERALISE) + tuple(GENERALISE_ONE)


#: label → (recipe, its settings changed, its student protocol changed[, its extras changed]): the recipes of chapter
#: 8, their doublings and the official settings the recipes left
BLACKBOX = {"dfme": ("dfme", {}, {}), "dfme, 6,000 steps": ("dfme", {}, {"steps": 6_000}),
            "dfme, student lr 0.1 (the official)": ("dfme", {}, {"lr": 0.1}), "ideal": ("ideal", {}, {}),
            "ideal, 120 rounds": ("ideal", {"rounds": 120}, {"steps": 120 * 121 // 2}),
            # twice the rounds: the paper's 50,000 synthetic images, 20,100 student steps (≈ its 100 epochs of 200
            # batches)
            "ideal, 200 rounds (the official 50,000 queries)": ("ideal", {"rounds": 200}, {"steps": 200 * 201 // 2}),
            # the official generator width (the recipes use 32, what this CPU affords)
            "dfme, generator width 128 (the official)": ("dfme", {"width": 128}, {}),
            "ideal, generator width 128 (the official)": ("ideal", {"width": 128}, {}),
            # IDEAL's official student keeps its learning rate (the book's loop decays every student's on a cosine)
            "ideal, a constant learning rate (the official)": ("ideal", {}, {"schedule": "constant"}),
            # both: the official rate at the official 50,000 queries
            "ideal, a constant learning rate, 200 rounds": ("ideal", {"rounds": 200},
                                                            {"steps": 200 * 201 // 2, "schedule": "constant"}),
            # an API that answers logits: DFME's own setting (log-probabilities floored at 1e-8 otherwise)
            "dfme, a logits API": ("dfme", {}, {}, {"api": {"access": "logits"}})}


#: label → (recipe, its settings changed): the generator recipes run with data-free selection on fresh samples of
#: their generator (:class:`dfkd_book.selection.Fresh`; the run is the recipe's own, step for step, so one run gives
#: its final and its selected student), evaluated on the validation split — and chapter 4's settings that were
#: chosen on test-set screens, re-checked there against the recipe
FRESH = {"zskt": ("zskt", {}), "dfad": ("dfad", {}), "dfme": ("dfme", {}),
         "zskt, the official mid-grey start": ("zskt", {"init_mean": None}),
         "dfad, without the class-balance term": ("dfad", {"balance": 0.0}),
         "dfad, a fresh z every student step (the official)": ("dfad", {"reuse": False})}
