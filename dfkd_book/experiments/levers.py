"""Lever studies: a recipe of :mod:`dfkd_book.recipes` run from several seeds with one thing changed, each run a
fresh synthesis and a fresh student (the final student on the Fashion-MNIST test set), on the lab's runner.

    python -m dfkd_book.experiments.levers inversion-levers --out OUT.jsonl --labels LEVER ... [--seeds 0 1 2]
    python -m dfkd_book.experiments.levers ssd-table4 --out OUT.jsonl [--labels ROW ...] [--seeds 0 1 2 3 4]
    python -m dfkd_book.experiments.levers ssd-race --out OUT.jsonl --seeds 0 1 2 --workers 0
    python -m dfkd_book.experiments.levers games-probe --out OUT.jsonl --labels zskt:32:0:20000 dfad:32:0:10000
    python -m dfkd_book.experiments.levers mte-sweep --out OUT.jsonl --seeds 0 1 2
    python -m dfkd_book.experiments.levers generalise --out OUT.jsonl --seeds 0 1 2 --workers 2
    python -m dfkd_book.experiments.levers blackbox --out OUT.jsonl --labels dfme ideal --seeds 0 1 2
    python -m dfkd_book.experiments.levers fresh --out OUT.jsonl --seeds 0 1 2 --workers 2
    python -m dfkd_book.experiments.levers workshop --out OUT.jsonl --seeds 0 1 2

``--workers N`` runs N at once (one thread each; ``0``: in this process with all its threads — a race is timed,
nothing may run beside it); ``--minutes M`` stops handing out runs after M minutes; a run already in ``OUT`` is
not run again. Append ``OUT``'s lines to ``results/runs/<study>.jsonl``; the reproduction appendix reads them.

:data:`STUDIES` names each study's levers: ``inversion-levers`` (chapter 5: a recipe's settings, extras or
student changed), ``ssd-table4`` (chapter 6: the rows of SSD-KD's Table 4 and the levers that change a row),
``ssd-race`` (chapter 6: DeepInversion against SSD-KD with Fast's generator at chapter 6's scale),
``games-probe`` (chapter 4: the games run long, ``GAME:WIDTH:SEED:STEPS[:KEY=VALUE ...]``), ``mte-sweep``
(chapter 4: the mean transition error of three students over walk step sizes), ``generalise`` (issue 46: mixup,
CutMix, weight averaging and data-free selection on the yardstick protocol, :data:`GENERALISE`), ``blackbox``
(chapter 8: the black-box recipes and their doublings, :data:`BLACKBOX`), ``fresh`` (issue 46: data-free
selection on fresh samples of the generator methods, :data:`FRESH`), ``workshop`` (issue 48: each recipe's
workshop student on its full set, :data:`dfkd_book.recipes.WORKSHOP_STEPS`); the tables in
:mod:`.lever_tables`. The arbitrary sets' levers run with their study (:mod:`dfkd_book.experiments.ablation`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from dataclasses import asdict, replace
from pathlib import Path

import torch

from .. import augment, boundary, config, data, kd, recipes, zoo
from ..blackbox import TeacherAPI
from ..loop import distill, transfer_set
from ..methods.arbitrary import batch_statistics_teacher
from ..methods.base import TransferSet
from ..methods.hybrid import Hybrid
from ..methods.ssd import ABLATION, READINGS
from . import recipe_runs, runner, students
from .lever_tables import (  # noqa: F401
    API_LEVERS,
    BLACKBOX,
    FRESH,
    GENERALISE,
    GENERALISE_LABELS,
    GENERALISE_ONE,
    GENERALISE_RECIPES,
    INVERSION,
)
from .recipe_runs import changed

DATASET = "fashion-mnist"

# --- chapter 5: the inversions ----------------------------------------------------------------------------------



def inversion(job: dict) -> dict:
    """One run of a chapter-5 lever (:data:`INVERSION`)."""
    name, settings, extras, *student = INVERSION[job["label"]]
    r = changed(name, settings, extras, student[0] if student else None)
    args = r.args(zoo.teacher(r.teacher, DATASET))  # the extras change what the owner records
    res, _, _ = recipe_runs.run_recipe(name, job["seed"], progress=False, args=args, recipe=r)
    rec = getattr(res.method, "records", None)
    return {"recipe": r.as_dict(), "test_acc": round(100 * kd.evaluate(res.student, data.load(DATASET, "test")), 2),
            "synthetic_images": len(res.method.inversion), "synthesis_s": round(res.method.seconds, 1),
            "distillation_s": round(res.history.seconds, 1), "steps": res.steps,
            "metadata_bytes": None if rec is None else rec.nbytes()}


# --- chapter 6: SSD-KD's Table 4, its levers, the race ------------------------------------------------------

#: Fast's generator (Fang et al. 2022), as the ssd-kd-fast recipe has it: one meta-learned generator over the run
FAST = dict(reinit_generator=False, meta=True, g_steps=8)
#: lever row → (the Table 4 row it changes, the SSDKD settings it changes[, the student protocol's fields changed])
SSD = {
    **{f"SSD-KD (all), {name}": ("SSD-KD (all)", switches) for name, switches in list(READINGS.items())[1:]},
    "baseline, generator carried over": ("baseline", dict(reinit_generator=False)),
    "baseline, Fast meta-generator, 8 g-steps": ("baseline", FAST),
    "SSD-KD (all), Fast meta-generator, 8 g-steps": ("SSD-KD (all)", FAST),
    **{f"{row}, Fast meta-generator, 8 g-steps, student warm-up 500": (row, FAST, dict(warmup=500))
       for row in ABLATION},
    "SSD-KD (all), Fast meta-generator, 20 g-steps, student warm-up 500": (
        "SSD-KD (all)", {**FAST, "g_steps": 20}, dict(warmup=500)),
    "SSD-KD (all), student warm-up 500": ("SSD-KD (all)", {}, dict(warmup=500)),
}


def ssd_budget() -> dict:
    """Table 4's budget as the recipe has it (``extras["ablation"]``: epochs, generator and student steps)."""
    return dict(recipes.get("ssd-kd").extras["ablation"])


def ssd_row(job: dict) -> dict:
    """One run of a Table 4 row or an SSD-KD lever (:data:`SSD`) at ``job["budget"]``."""
    row, b = job["label"], job["budget"]
    base, more, *student = SSD.get(row, (row, {}))
    student = student[0] if student else {}
    r = recipes.get("ssd-kd")
    r = replace(r, student=replace(r.student, steps=b["epochs"] * b["kd_steps"], **student))
    settings = dict(g_steps=b["g_steps"], kd_steps=b["kd_steps"], capacity=b["epochs"] * r.settings["synthesis_batch"])
    res, _, _ = recipe_runs.run_recipe("ssd-kd", job["seed"], progress=False, recipe=r,
                                 **{**settings, **ABLATION[base], **more})
    return {"recipe": r.as_dict(), "test_acc": round(100 * kd.evaluate(res.student, data.load(DATASET, "test")), 2),
            "settings": res.method.settings(), "synthetic_samples": res.method.synthetic,
            "changes": {"of": base, **more, **student} if row in SSD else None, "steps": res.steps,
            "distill_s": round(res.history.seconds, 1)}


RACERS = ("deepinversion", "ssd-kd-fast")


def race_scale() -> tuple[int, int, int]:
    """Chapter 6's scale, half the SSD-KD recipe's epochs: (student steps, synthetic samples, evaluation cadence)."""
    r = recipes.get("ssd-kd")
    epochs = max(-(-r.student.steps // r.settings["kd_steps"]) // 2, 1)
    return epochs * r.settings["kd_steps"], epochs * r.settings["synthesis_batch"], r.settings["kd_steps"]


def race(job: dict) -> dict:
    """One racer of chapter 6's race: its learning curve against wall time, student steps and teacher queries."""
    steps, n, every = race_scale()
    name = job["label"]
    r = recipes.get(name)
    teacher = zoo.teacher(r.teacher, DATASET)
    config.seed_everything(job["seed"])
    method = r.build(n=n) if name == "deepinversion" else r.build()
    res = distill(teacher, zoo.student(r.student_arch), method, eval_set=data.load(DATASET, "test"), seed=job["seed"],
                  progress=False, name=name, **r.student.kwargs(steps=steps, eval_every=every))
    return {"method": name, "test_acc": round(100 * res.final_acc, 2), "wall_s": round(res.history.seconds, 1),
            "synthetic_samples": n, "steps": res.steps, "synthesis_s": round(res.method.seconds, 1),
            "history": recipe_runs.history(res.history)}


# --- chapter 4: the games run long, and the MTE sweep -------------------------------------------------------------

_GAME_OPTS = {"mean": ("init_mean", float), "batch": (None, int), "lr_s": (None, float), "lr_g": ("lr_g", float),
              "s_steps": ("s_steps", int), "g_steps": ("g_steps", int), "balance": ("balance", float),
              "depth": ("depth", int), "reuse": ("reuse", lambda v: v not in ("0", "false", "False")),
              "stats": ("pixel_stats", lambda v: tuple(float(x) for x in v.split("/")))}


def game_spec(spec: str) -> tuple[str, int, int, int, dict]:
    """``GAME:WIDTH:SEED:STEPS[:KEY=VALUE ...]`` → (game, width, seed, steps, options). Raises ValueError on an
    unknown option (the message lists the known ones)."""
    game, width, seed, steps, *more = spec.split(":")
    opts = dict(kv.split("=", 1) for kv in more)
    unknown = set(opts) - set(_GAME_OPTS)
    if unknown:
        raise ValueError(f"unknown options {sorted(unknown)} in {spec!r}; known: {sorted(_GAME_OPTS)}")
    return game, int(width), int(seed), int(steps), opts


def games(job: dict) -> list[dict]:
    """A game of chapter 4 run long (the recipe with the spec's width, budget and options): its snapshots — every
    ``STEPS / 20`` student steps the student on the test set — and the final student, one line each."""
    game, width, seed, steps, opts = game_spec(job["label"])
    kw = {key: conv(opts[o]) for o, (key, conv) in _GAME_OPTS.items() if key and o in opts}
    r = recipes.get(game, "full")
    teacher, test = zoo.teacher(r.teacher, DATASET), data.load(DATASET, "test")
    skw = r.student.kwargs(steps=steps, eval_every=steps, **({"batch_size": int(opts["batch"])} if "batch" in opts
                                                            else {}), **({"lr": float(opts["lr_s"])} if "lr_s" in opts
                                                                         else {}))
    s_steps = r.build(**kw).s_steps
    lines, t0 = [], time.perf_counter()

    def on_snapshot(step, student, _generator):
        lines.append({"game": game, "width": width, "steps": steps, "step": step, "s_steps": s_steps,
                      "batch_size": skw["batch_size"], "test_acc": round(100 * kd.evaluate(student, test), 2),
                      "wall_s": round(time.perf_counter() - t0, 1)})

    config.seed_everything(seed)
    m = r.build(width=width, snapshot_every=max(steps // s_steps // 20, 1), on_snapshot=on_snapshot, **kw)
    res = distill(teacher, zoo.student(r.student_arch, DATASET), m, seed=seed, progress=False, **skw)
    return lines + [{"game": game, "width": width, "steps": steps, "final": True, "settings": m.settings(),
                     "batch_size": skw["batch_size"], "teacher_queries": res.teacher_queries,
                     "test_acc": round(100 * kd.evaluate(res.student, test), 2)}]


MTE_STUDENTS = {"zero-shot (ZSKT)": "zskt", "few-shot KD": "few-shot-kd", "full-data KD": "full-kd"}
MTE_SWEEP = ((0.01, 1000), (0.1, 300), (1.0, 100))


def _crossing(p: torch.Tensor) -> tuple[float, float | None]:
    """(share of walks whose probability reached 0.5, median first step it did among those; 1-based)."""
    hit = p >= 0.5
    reached = hit.any(-1)
    first = hit.float().argmax(-1) + 1
    return round(reached.float().mean().item(), 4), (float(first[reached].float().median()) if reached.any() else None)


def mte(job: dict) -> list[dict]:
    """One student of chapter 4's MTE (``job["label"]``, a key of :data:`MTE_STUDENTS`) trained from the seed,
    then its walks at every step size of :data:`MTE_SWEEP`: the MTE, and how far the walks got."""
    train, test = data.load(DATASET, "train"), data.load(DATASET, "test")
    recipe, seed = MTE_STUDENTS[job["label"]], job["seed"]
    full, few = recipes.get("full-kd"), recipes.get("few-shot-kd")
    args = {"few-shot-kd": (train.subset(few.extras["per_class"], seed=seed, per_class=True),),
            "full-kd": (train if full.extras["images"] >= len(train) else train.subset(full.extras["images"],
                                                                                         seed=seed),)}.get(recipe)
    t0 = time.perf_counter()
    res, teacher, _ = recipe_runs.run_recipe(recipe, seed, None, progress=False, args=args)
    trained_s = round(time.perf_counter() - t0, 1)
    acc = round(100 * kd.evaluate(res.student, test), 2)
    x, y = boundary.agreeing(teacher, res.student, test.images, job.get("n", 1_000))
    lines = []
    for lr, steps in MTE_SWEEP:
        t1 = time.perf_counter()
        tr = boundary.transition_curves(teacher, res.student, x, y, steps=steps, lr=lr, batch_size=9_000)
        s_share, s_median = _crossing(tr.p_student)
        lines.append({"student": job["label"], "recipe": recipe, "student_acc": acc, "lr": lr, "steps": steps,
                      "mte": round(tr.mte, 4), "images": len(x), "walks": int(tr.targets.numel()),
                      "mte_first": {str(s): round((tr.p_teacher[..., :s] - tr.p_student[..., :s]).abs().mean().item(),
                                                  4) for s in (1, 3, 10, 30, 100, 300) if s < steps},
                      "student_crossed": s_share, "student_median_crossing_step": s_median,
                      "teacher_crossed": _crossing(tr.p_teacher)[0], "walk_s": round(time.perf_counter() - t1, 1),
                      "train_s": trained_s})
    return lines


# --- issue 46: students that generalise off the transfer set ------------------------------------------------------



def recipe_set(name: str, device=None, settings: dict | None = None, seed: int = 0) -> torch.Tensor:
    """Recipe ``name``'s static transfer set (its method's ``settings`` changed, when given) made from ``seed``
    (:func:`dfkd_book.loop.transfer_set`, the active profile), (N, *input shape) float32 on the CPU; cached (atomic
    write) under the recipe, seed, profile, torch and device type, so every run and worker of a study distils the
    same set. A recipe whose method makes its samples while its student trains (SSD-KD) gives the samples its
    seed-0 run made (its replay buffer at the end)."""
    r = changed(name, settings) if settings else recipes.get(name)
    key = json.dumps({"recipe": r.as_dict(), "profile": config.profile(), "torch": torch.__version__,
                      "device": config.device().type, **({"seed": seed} if seed else {})}, sort_keys=True,
                     default=str)
    path = config.cache_dir("sets") / f"{name}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.pt"
    if path.exists():
        return torch.load(path)
    teacher = zoo.teacher(r.teacher, DATASET)
    method = r.build(*r.args(teacher))
    if getattr(method, "made_at_once", False):
        x, _ = transfer_set(teacher, method, seed=seed, device=device, progress=False)
    else:
        x = recipe_runs.run_recipe(name, seed, progress=False, recipe=r)[0].pool
    x = x.detach().float().cpu()
    config.atomic_write(path, lambda f: torch.save(x, f))
    return x


def generalise(job: dict) -> dict:
    """One run of ``generalise``: the LeNet-5-Half student on recipe ``RECIPE``'s set (label ``"RECIPE: LEVER"``)
    with the yardstick's protocol (:data:`dfkd_book.experiments.students.YARDSTICK_PROTOCOL`, its steps
    ``job["budget"]``; ``"recipe"``: the recipe's own student protocol; ``"workshop"``: its workshop profile's,
    on the same set — a ValueError if that profile changes the set) and the lever on, evaluated on the
    validation split; the test accuracy of the student it returns beside. ``best_val_acc`` is the best
    evaluation's (the best-epoch rule applied to validation)."""
    name, lever = job["label"].split(": ", 1)
    mix, options, changes = GENERALISE_ONE.get(job["label"]) or (*GENERALISE[lever], {})
    r, x = recipes.get(name), recipe_set(name, settings=changes.get("set"))
    method = TransferSet(x)
    if "hybrid" in changes:  # the two sets in equal shares (the smaller repeated to the larger's size)
        method = Hybrid([method, TransferSet(recipe_set(changes["hybrid"]))])
    if job["budget"] in ("recipe", "workshop"):  # the recipe's own protocol (steps, batch, augmentation, warm-up)
        at = recipes.get(name, "workshop") if job["budget"] == "workshop" else r
        if at.settings != r.settings:
            raise ValueError(f"{name}'s workshop profile changes its set ({at.settings} against {r.settings}); "
                             "the workshop study distils the full set")
        proto = at.student
        kw = proto.kwargs(eval_every=max(proto.steps // 10, 1))
    else:
        proto = replace(students.YARDSTICK_PROTOCOL, steps=job["budget"])
        kw = proto.student().kwargs(eval_every=max(proto.steps // 10, 1))
    if mix is not None:
        kw["augment"] = augment.Compose(kw["augment"], mix())
    val, test = students.eval_sets()
    teacher = zoo.teacher(changes.get("teacher", r.teacher), DATASET)
    if changes.get("batch_statistics"):
        teacher = batch_statistics_teacher(teacher)
    if "api" in changes:
        teacher = TeacherAPI(teacher, **changes["api"])
    run_options = dict(options)
    if "beside" in changes:  # a second draw of the recipe, a fraction of the set's size, to select on
        run_options["holdout"] = beside_set(name, changes["beside"])
    config.seed_everything(job["seed"])
    res = distill(teacher, zoo.student(r.student_arch, DATASET), method, eval_set=val, seed=job["seed"],
                  progress=False, name=job["label"], **{**kw, **run_options})
    h, made = res.history, (res.method.pool if "hybrid" in changes else x)  # the whole set distilled on
    return {"recipe": name, "lever": lever, "teacher": changes.get("teacher", r.teacher), "changes": changes,
            "protocol": asdict(proto), "options": options,
            "augment": repr(kw["augment"]), "n": len(made),
            "set_sha256": hashlib.sha256(made.cpu().numpy().tobytes()).hexdigest(),
            "val_acc": round(100 * h.final_acc, 2), "best_val_acc": round(100 * h.best_test_acc, 2),
            "test_acc": round(100 * kd.evaluate(res.student, test), 2), "selected_step": h.selected_step,
            "holdout_agreement": [round(100 * a, 2) for a in h.holdout_agreement],
            "holdout_kl": [round(k, 5) for k in h.holdout_kl],
            "curve": {"step": h.step, "val_acc": [round(100 * a, 2) for a in h.test_acc]},
            "teacher_queries": res.teacher_queries, "train_s": round(h.seconds, 1)}


def beside_set(name: str, fraction: float) -> torch.Tensor:
    """A second draw of recipe ``name``'s arbitrary set, from seed 1, ``fraction`` of the set's size: inputs
    beside the set for data-free selection (:class:`dfkd_book.selection.Beside`). Raises ValueError for a recipe
    that is not an arbitrary set (drawn by size ``n`` from its sources) or a fraction outside (0, 1]."""
    r = recipes.get(name)
    if r.method != "arbitrary" or not 0 < fraction <= 1:
        raise ValueError(f"a set beside {name}'s needs an arbitrary set, drawn by size from its sources, and a "
                         f"fraction in (0, 1]; got method {r.method!r} and {fraction!r}")
    return recipe_set(name, settings={"n": round(fraction * r.settings["n"])}, seed=1)


# --- issue 49: the black-box methods; issue 46: selection on fresh samples of a generator -------------------

def blackbox(job: dict) -> dict:
    """One run of a black-box recipe (:data:`BLACKBOX`), the teacher behind the recipe's API, evaluated on the
    validation split (its curve against teacher queries), the final student's test accuracy beside."""
    name, settings, student, *extras = BLACKBOX[job["label"]]
    r = changed(name, settings, extras[0] if extras else None, student)
    val, test = students.eval_sets()
    res, _, _ = recipe_runs.run_recipe(name, job["seed"], val, progress=False, recipe=r)
    h = res.history
    return {"recipe": r.as_dict(), "val_acc": round(100 * h.final_acc, 2), "steps": res.steps,
            "test_acc": round(100 * kd.evaluate(res.student, test), 2), "teacher_queries": res.teacher_queries,
            "curve": {"step": h.step, "val_acc": [round(100 * a, 2) for a in h.test_acc],
                      "teacher_forward": h.teacher_forward}, "train_s": round(h.seconds, 1)}


def fresh(job: dict) -> dict:
    """One run of :data:`FRESH`'s recipe (its settings changed) with ``select="agreement"`` on fresh samples:
    drawing them leaves the run as it was, so the curve's last point is the final student (``val_acc``) and the
    student it returns the selected one (``selected_val_acc``, ``test_acc``); the fresh samples' queries count."""
    name, settings = FRESH[job["label"]]
    r = changed(name, settings, {"select": "agreement"})
    val, test = students.eval_sets()
    res, _, _ = recipe_runs.run_recipe(name, job["seed"], val, progress=False, recipe=r)
    h = res.history
    at = h.step.index(h.selected_step)
    return {"recipe": r.as_dict(), "val_acc": round(100 * h.test_acc[-1], 2), "steps": res.steps,
            "selected_step": h.selected_step, "selected_val_acc": round(100 * h.test_acc[at], 2),
            "test_acc": round(100 * kd.evaluate(res.student, test), 2),
            "fresh_agreement": [round(100 * a, 2) for a in h.holdout_agreement],
            "teacher_queries": res.teacher_queries,
            "curve": {"step": h.step, "val_acc": [round(100 * a, 2) for a in h.test_acc]},
            "train_s": round(h.seconds, 1)}


#: what makes two runs of a lever study the same run (the committed runs carry these keys too)
def workshop(job: dict) -> dict:
    """One run of ``workshop``: recipe ``job["label"]``'s workshop student (:data:`dfkd_book.recipes.WORKSHOP_STEPS`)
    on the set its full profile makes, as :func:`generalise` runs it (validation and test accuracy); the full
    student it is paired with is generalise's ``"RECIPE: as the yardstick"`` at the recipe's budget, same seed and
    set (``set_sha256``)."""
    return generalise({**job, "label": f"{job['label']}: as the yardstick", "budget": "workshop"})


IDENTITY = ("study", "label", "seed", "budget")
#: study → (its work, its labels, the seeds it runs by default)
STUDIES = {
    "inversion-levers": (inversion, tuple(INVERSION), (0, 1, 2)),
    "ssd-table4": (ssd_row, tuple(ABLATION), (0, 1, 2, 3, 4)),
    "ssd-levers": (ssd_row, tuple(SSD), (0, 1, 2)),
    "ssd-race": (race, RACERS, (0, 1, 2)),
    "games-probe": (games, (), (0,)),
    "mte-sweep": (mte, tuple(MTE_STUDENTS), (0, 1, 2)),
    "generalise": (generalise, GENERALISE_LABELS, (0, 1, 2)),
    "blackbox": (blackbox, tuple(BLACKBOX), (0, 1, 2)),
    "fresh": (fresh, tuple(FRESH), (0, 1, 2)),
    "workshop": (workshop, tuple(recipes.WORKSHOP_STEPS), (0, 1, 2)),
}


def jobs(study: str, labels=None, seeds=None, budget=None) -> list[dict]:
    """The jobs of ``study`` for ``labels`` (default: all its levers) and ``seeds`` (a games-probe spec carries
    its own seed); ``budget``: generalise's student steps (default the yardstick's) or ``"recipe"`` (each recipe's
    own student protocol). Raises ValueError for an unknown study or label (the message lists the known ones), or a
    budget for another study."""
    if study not in STUDIES:
        raise ValueError(f"unknown study {study!r}; known: {', '.join(STUDIES)}")
    _, known, default = STUDIES[study]
    labels = list(labels or known)
    if study == "games-probe":
        return [{"study": study, "label": spec, "seed": game_spec(spec)[2]} for spec in labels]
    bad = [lab for lab in labels if lab not in known]
    if bad:
        raise ValueError(f"unknown labels {bad} for {study}; known: {list(known)}")
    extra = {"budget": ssd_budget()} if study in ("ssd-table4", "ssd-levers") else {}
    if budget is not None and study != "generalise":
        raise ValueError(f"only generalise takes a budget, not {study}")
    if study == "generalise":
        if not (budget is None or budget == "recipe" or isinstance(budget, int) and budget > 0):
            raise ValueError(f"budget must be a positive number of steps or 'recipe', got {budget!r}")
        extra = {"budget": students.YARDSTICK_PROTOCOL.steps if budget is None else budget}
    return [{"study": study, "label": lab, "seed": s, **extra} for s in (seeds or default) for lab in labels]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m dfkd_book.experiments.levers", description=__doc__.split("\n\n")[0])
    ap.add_argument("study", choices=sorted(STUDIES))
    ap.add_argument("--out", required=True, help="the JSON-lines file the runs go to (resumed)")
    ap.add_argument("--labels", nargs="+", default=None, help="the levers (default: all of the study's)")
    ap.add_argument("--seeds", type=int, nargs="+", default=None)
    ap.add_argument("--workers", type=int, default=1, help="0: in this process, with all its threads")
    ap.add_argument("--minutes", type=float, default=None)
    ap.add_argument("--budget", type=lambda v: v if v == "recipe" else int(v), default=None,
                    help="generalise: the student's steps (default the yardstick's) or 'recipe' (its own protocol)")
    a = ap.parse_args(argv)
    try:
        todo = jobs(a.study, a.labels, a.seeds, a.budget)
    except ValueError as e:
        ap.error(str(e))
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    if a.study == "workshop":
        for name in {j["label"] for j in todo}:
            recipe_set(name, config.device())
    if a.study == "generalise":  # the transfer sets, made once here rather than by every worker at once
        for j in todo:
            name, changes = j["label"].split(": ", 1)[0], GENERALISE_ONE.get(j["label"], (0, 0, {}))[2]
            recipe_set(name, config.device(), changes.get("set"))
            if changes.get("beside"):
                beside_set(name, changes["beside"])
            if changes.get("hybrid"):
                recipe_set(changes["hybrid"], config.device())
    runner.run(todo, STUDIES[a.study][0], a.out, a.workers, minutes=a.minutes, keys=IDENTITY)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
