"""One seeded run of a recipe (:func:`run_recipe`, what ``bench`` and the lever studies run) and what a benchmark
record holds of it besides its accuracies and seconds (:mod:`dfkd_book.experiments.bench`): the training curve
(:func:`history`), the method's own fields by the kind of method its recipe runs (:func:`fields`), its published
numbers (:func:`paper`) and what the student is worth in real images on the yardstick (:func:`worth`)."""

from __future__ import annotations

from dataclasses import replace

from .. import config, recipes, records, stats, zoo
from ..blackbox import TeacherAPI
from ..loop import distill
from ..restarts import BestOf, best_of

DATASET = "fashion-mnist"
#: the two games of chapter 4, whose students ``bench mte`` reuses
GAMES = tuple(recipes.about("adversarial").runs)


def history(h) -> dict:
    """A training curve for a record: student steps, test accuracy in %, cumulative wall seconds, teacher queries."""
    return {"step": h.step, "test_acc": [round(100 * a, 2) for a in h.test_acc], "wall_s": [round(w, 1) for w in
            h.wall_s], "teacher_forward": h.teacher_forward, "teacher_backward": h.teacher_backward}


def paper(method: str) -> dict:
    """A record's ``paper`` field from the method table: ``published`` (the Fashion-MNIST student accuracy, None
    where no paper gives one), its source and setting, and every published number as ``context``."""
    about = recipes.about(method)
    head = recipes.published(method, "student", "fashion-mnist")
    return {"published": None if head is None else head.value,
            "source": "; ".join(dict.fromkeys(p.source for p in about.published)) or None,
            "setting": head.setting if head else "no published Fashion-MNIST number",
            "context": [{"key": p.key, "value": p.value, "unit": p.unit, "dataset": p.dataset, "table": p.table}
                        for p in about.published]}


def changed(name: str, settings: dict | None = None, extras: dict | None = None,
            student: dict | None = None) -> recipes.Recipe:
    """Recipe ``name`` (the active profile) with its settings, extras and student protocol changed."""
    r = recipes.get(name)
    return replace(r, settings={**r.settings, **(settings or {})}, extras={**r.extras, **(extras or {})},
                   student=replace(r.student, **(student or {})))


def run_recipe(name: str, seed: int = 0, test=None, progress: bool = True, args: tuple | None = None,
               recipe: recipes.Recipe | None = None, **overrides):
    """One seeded run of recipe ``name`` through :func:`dfkd_book.distill`: a fresh student, the method built by
    the recipe (``overrides`` replace its settings). ``recipe``: a changed copy of the recipe to run instead (a
    lever: other settings, extras or student protocol; ``extras["select"]``, ``["holdout"]``: data-free selection,
    :mod:`dfkd_book.selection`). Returns ``(result, teacher, recipe)``; a recipe of restarts
    (``extras["restarts"]``) returns a :class:`dfkd_book.restarts.BestOf` as its result."""
    r = recipes.get(name) if recipe is None else recipe
    teacher = zoo.teacher(r.teacher, DATASET)
    args = r.args(teacher) if args is None else args
    asked = TeacherAPI(teacher, **r.extras["api"]) if "api" in r.extras else teacher  # a black-box API
    if "restarts" in r.extras:  # the set made once, several students, one kept by data-free selection
        return best_of(asked, lambda: zoo.student(r.student_arch, DATASET), r.build(*args, **overrides),
                       r.extras["restarts"], seed=seed, select=r.extras["select"], holdout=r.extras["holdout"],
                       eval_set=test, progress=progress, name=name,
                       **r.student.kwargs()), teacher, r
    config.seed_everything(seed)
    student = zoo.student(r.student_arch, DATASET)
    result = distill(asked, student, r.build(*args, **overrides), eval_set=test, seed=seed, progress=progress,
                     name=name, select=r.extras.get("select"), holdout=r.extras.get("holdout", 0.2),
                     **r.student.kwargs())
    return result, teacher, r


def worth(acc: float, r: recipes.Recipe) -> dict:
    """What a student of ``acc`` (%) is worth in real images on the yardstick (:func:`dfkd_book.stats.
    worth_real_images`), with the yardstick's protocol beside the recipe's student: where they differ the number
    is a reading of the curve, not a like-for-like measurement."""
    try:
        y = records.yardstick()
    except FileNotFoundError:
        return {}
    same = all(getattr(r.student, k) == v for k, v in y["protocol"].items() if k != "warmup")
    return {"worth_real_images": stats.worth_real_images(acc, y), "yardstick_protocol": y["protocol"],
            "worth_like_for_like": same}


def fields(name: str, res, r: recipes.Recipe) -> dict:
    """What a method's record adds to :func:`~dfkd_book.experiments.bench._method_record`, by the kind of method its
    recipe runs (of one seed's result ``res``); a recipe of restarts (:class:`~dfkd_book.restarts.BestOf`) adds
    which restart was kept, their seeds, held-out scores and test accuracies (%, reported, never used to choose)."""
    if isinstance(res, BestOf):
        return {**fields(name, res.result, r), "restarts": {
            "kept": res.kept, "seeds": res.seeds, "select": r.extras["select"], "holdout": r.extras["holdout"],
            "scores": [round(v, 4) for v in res.scores], "steps_each": res.result.steps,
            "final_acc": [None if x.final_acc is None else round(100 * x.final_acc, 2) for x in res.results]}}
    m = res.method
    if r.method == "kd-real":
        return {"transfer_set": f"{DATASET} train ({len(res.pool)} images)", "transfer_samples": len(res.pool),
                "transfer_kind": "real"}
    if r.method == "zskd":
        di = m.impressions
        return {"transfer_set": f"{len(di)} data impressions", "transfer_samples": len(di),
                "transfer_kind": "synthetic", "steps_per_impression": di.steps, "impression_steps": di.impression_steps}
    if r.method == "arbitrary":
        return {"transfer_set": f"{len(m.pool)} arbitrary images, balanced: " + " + ".join(m.balanced),
                "transfer_samples": len(m.pool), "composition": m.composition(), "transfer_kind": "arbitrary",
                "examined": sum(b.examined for b in m.balanced.values())}
    if r.method in ("zskt", "dfad", "dfme", "ideal"):  # a generator's images: the games, the black-box methods
        made = f"{r.method.upper()} game" if r.method in GAMES else m.name
        return {"transfer_set": f"images of a generator, {made}", "game": r.method,
                "transfer_samples": m.synthetic, "transfer_kind": "generated", "game_settings": m.settings(),
                **({"access": r.extras["api"]} if "api" in r.extras else {})}
    if r.method == "hybrid":
        return {"transfer_set": f"{len(m.pool)} images, equal shares of " + " + ".join(p.name for p in m.parts),
                "transfer_samples": len(m.pool), "transfer_kind": "hybrid", "part_sizes": m.sizes,
                "part_seconds": m.seconds_per_part}
    if r.method == "ssd-kd":
        return {"transfer_set": f"{m.synthetic} synthetic samples", "transfer_samples": m.synthetic,
                "transfer_kind": "synthetic", "buffer_capacity": m.buffer.capacity}
    inv = m.inversion  # the inversions of chapter 5
    out = {"transfer_set": f"{len(inv)} images, {name}", "transfer_samples": len(inv), "transfer_kind": "synthetic",
           "steps_per_batch": inv.steps, "seconds_per_1000_images": round(1000 * inv.seconds / len(inv), 1)}
    if getattr(m, "records", None) is not None:
        out["metadata_bytes"] = m.records.nbytes()
    return out
