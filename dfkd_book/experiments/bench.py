"""The benchmark: ``python -m dfkd_book.experiments.bench METHOD [--seeds N]`` runs one method's recipe
(:mod:`dfkd_book.recipes`) end to end through :func:`dfkd_book.distill` with the active profile and writes its
record, ``results/records/METHOD.json`` (:mod:`dfkd_book.records`); ``... bench all [--only M ...] [--skip M ...]``
runs them in turn (a failing method is reported, the others still run) and writes the summary
``results/runs/bench-all.json``.

Nothing in the book imports this module: it only runs recipes and writes records. Speed and accuracy targets are
benchmarks, measured here and recorded, never timed tests. Every record follows :mod:`dfkd_book.records`'s schema:
the accuracies (%, the mean over seeds, the sd, every seed's), wall time per seed, the student's steps and teacher
queries, the recipe it ran, the published numbers of :data:`dfkd_book.recipes.METHODS`, and where it ran
(:func:`dfkd_book.experiments.runner.environment`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import torch

from .. import config, data, recipes, records, stats, zoo
from ..kd import evaluate
from ..loop import distill
from . import runner

REPO_ROOT = config.REPO_ROOT
DATASET = "fashion-mnist"


def history(hist) -> dict:
    """A training curve for a record: student steps, test accuracy in %, cumulative wall seconds, teacher queries."""
    return {"step": hist.step, "test_acc": [round(100 * a, 2) for a in hist.test_acc],
            "wall_s": [round(w, 1) for w in hist.wall_s], "teacher_forward": hist.teacher_forward,
            "teacher_backward": hist.teacher_backward}


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


def run_recipe(name: str, seed: int = 0, test=None, progress: bool = True, args: tuple | None = None,
               recipe: recipes.Recipe | None = None, **overrides):
    """One seeded run of recipe ``name`` through :func:`dfkd_book.distill`: a fresh student, the method built by
    the recipe (``overrides`` replace its settings). ``recipe``: a changed copy of the recipe to run instead (a
    lever: other settings, extras or student protocol). Returns ``(result, teacher, recipe)``."""
    r = recipes.get(name) if recipe is None else recipe
    teacher = zoo.teacher(r.teacher, DATASET)
    args = r.args(teacher) if args is None else args
    config.seed_everything(seed)
    student = zoo.student(r.student_arch, DATASET)
    result = distill(teacher, student, r.build(*args, **overrides), eval_set=test, seed=seed, progress=progress,
                     name=name, **r.student.kwargs())
    return result, teacher, r


#: the package's modules that only show or tabulate results: they cannot change a student, so editing them keeps
#: the kept students
_PRESENTATION = {"chapters.py", "widgets.py", "records.py", "stats.py"}


def _code_digest() -> str:
    """SHA-256 (first 16 hex digits) of the package's source files but the presentation modules: a kept student
    is reused only by the code that trained it."""
    h, pkg = hashlib.sha256(), Path(__file__).parent.parent
    for f in sorted(pkg.rglob("*.py")):
        if (f.parent == pkg and f.name in _PRESENTATION) or f.parent.name in ("experiments", "plot"):
            continue
        h.update(f.relative_to(pkg).as_posix().encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:16]


def _kept_path(name: str, seed: int) -> Path:
    r = recipes.get(name)
    key = json.dumps({"recipe": r.as_dict(), "seed": seed, "code": _code_digest(), "torch": torch.__version__,
                      "device": config.device().type}, sort_keys=True, default=str)
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return config.cache_dir("students") / f"{name}-{config.profile()}-seed{seed}-{digest}.pt"


def keep_student(name: str, seed: int, student: torch.nn.Module) -> Path:
    """Keep a benchmark's final student of recipe ``name`` from ``seed`` (atomic write, in the cache's
    ``students/``), under a key of the recipe, the seed, the package's source, torch and the device type, so that
    another record (``bench mte``) reuses it instead of training it again. Returns the path."""
    path = _kept_path(name, seed)
    config.atomic_write(path, lambda f: torch.save({k: v.cpu() for k, v in student.state_dict().items()}, f))
    return path


def kept_student(name: str, seed: int) -> torch.nn.Module | None:
    """The student :func:`keep_student` kept for recipe ``name`` and ``seed`` under the present code, or None."""
    path = _kept_path(name, seed)
    if not path.exists():
        return None
    student = zoo.student(recipes.get(name).student_arch, DATASET)
    student.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return student.eval()


def _record(name: str, runs: list, test, wall: float, **fields) -> dict:
    """The fields every student record shares: the benchmark pair, both accuracies (%, the mean over seeds), the
    per-seed numbers, wall time per seed, budget, teacher queries, the recipe, the first seed's history, and the
    published numbers (:func:`paper`)."""
    result, teacher, r = runs[0]
    accs = [round(100 * evaluate(res.student, test), 2) for res, _, _ in runs]
    mean, sd = stats.mean_sd(accs)
    return {
        "dataset": DATASET, "teacher": r.teacher, "student": r.student_arch,
        "teacher_acc": round(100 * evaluate(teacher, test), 2),
        "student_acc": round(mean, 2), "student_acc_sd": round(sd, 2), "seeds": len(runs), "per_seed": accs,
        "wall_s": round(wall / len(runs), 1),
        # the seconds of making the transfer set and of distilling, per seed and their means (one aggregation)
        "synthesis_s_per_seed": [round(res.method.seconds, 1) for res, _, _ in runs],
        "distillation_s_per_seed": [round(res.history.seconds, 1) for res, _, _ in runs],
        "synthesis_s": round(stats.mean_sd([res.method.seconds for res, _, _ in runs])[0], 1),
        "distillation_s": round(stats.mean_sd([res.history.seconds for res, _, _ in runs])[0], 1),
        "steps": result.steps, "batch_size": r.student.batch_size, "teacher_queries": result.teacher_queries,
        **fields, "paper": paper(name), "recipe": r.as_dict(), "history": history(result.history),
    }


def _worth(acc: float, r: recipes.Recipe) -> dict:
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


def _fields(name: str, runs: list) -> dict:
    """What a method's record adds to :func:`_record`, by the kind of method its recipe runs."""
    res, _, r = runs[0]
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
    if r.method in ("zskt", "dfad"):
        return {"transfer_set": f"images of a generator, {r.method.upper()} game", "game": r.method,
                "transfer_samples": m.synthetic, "transfer_kind": "generated", "game_settings": m.settings()}
    if r.method == "ssd-kd":
        return {"transfer_set": f"{m.synthetic} synthetic samples", "transfer_samples": m.synthetic,
                "transfer_kind": "synthetic", "buffer_capacity": m.buffer.capacity}
    inv = m.inversion  # the inversions of chapter 5
    out = {"transfer_set": f"{len(inv)} images, {name}", "transfer_samples": len(inv), "transfer_kind": "synthetic",
           "steps_per_batch": inv.steps, "seconds_per_1000_images": round(1000 * inv.seconds / len(inv), 1)}
    if getattr(m, "records", None) is not None:
        out["metadata_bytes"] = m.records.nbytes()
    return out


def method(name: str, seeds: int = 1) -> dict:
    """The record of recipe ``name`` from ``seeds`` seeds (0..N−1): the student and, where it is random, the
    synthesis are seeded; the games' students are kept for ``bench mte``."""
    test = data.load(DATASET, "test")
    t0 = time.perf_counter()
    runs = [run_recipe(name, seed, test) for seed in range(seeds)]
    wall = time.perf_counter() - t0
    if runs[0][2].method in ("zskt", "dfad"):
        for seed, (res, _, _) in enumerate(runs):
            keep_student(name, seed, res.student)
    rec = _record(name, runs, test, wall, **_fields(name, runs))
    if name == "spectral":  # the baseline chapter 5 compares with: plain uniform noise, the same size and budget
        from ..methods import TransferSet

        n, r = rec["transfer_samples"], runs[0][2]
        noise = torch.rand(n, 1, 32, 32, generator=torch.Generator().manual_seed(0))
        config.seed_everything(0)
        base = distill(zoo.teacher(r.teacher, DATASET), zoo.student(r.student_arch, DATASET), TransferSet(noise),
                       eval_set=test, seed=0, name="uniform noise", progress=False, **r.student.kwargs())
        rec["uniform_noise_student_acc"] = round(100 * base.final_acc, 2)
    return {**rec, **_worth(rec["student_acc"], runs[0][2])}


def adversarial(seeds: int = 1) -> dict:
    """ZSKT and DFAD with the same teacher; the record keeps the game whose mean student is better, and each
    game's own record (``zskt``, ``dfad``, with its own wall time) is written beside it (``_parts``)."""
    recs = {g: method(g, seeds) for g in recipes.about("adversarial").runs}
    best = max(recs, key=lambda g: recs[g]["student_acc"])
    return {**{k: v for k, v in recs[best].items() if k not in ("paper", "game_settings")},
            "wall_s": sum(r["wall_s"] for r in recs.values()),
            "games": {g: {k: r[k] for k in ("student_acc", "student_acc_sd", "per_seed", "steps", "wall_s",
                                             "teacher_queries", "game_settings", "history")}
                      for g, r in recs.items()},
            "paper": paper("adversarial"), "_parts": recs}


def mte(seeds: int = 1) -> dict:
    """The mean transition error (Micaelli & Storkey 2019) of the zero-shot ZSKT student, a few-shot-KD student
    and a full-data KD student against the teacher, each on test images it agrees with the teacher on."""
    from .. import boundary

    train, test = data.load(DATASET, "train"), data.load(DATASET, "test")
    full, few = recipes.get("full-kd"), recipes.get("few-shot-kd")
    t0 = time.perf_counter()
    shots = train.subset(few.extras["per_class"], seed=0, per_class=True)
    real = train if full.extras["images"] >= len(train) else train.subset(full.extras["images"], seed=0)
    kept = kept_student("zskt", 0)  # kept by bench adversarial under the same code
    students = {"zero-shot (ZSKT)": kept if kept is not None else run_recipe("zskt", 0, test)[0].student,
                "few-shot KD": run_recipe("few-shot-kd", 0, None, args=(shots,))[0].student,
                "full-data KD": run_recipe("full-kd", 0, test, args=(real,))[0].student}
    teacher = zoo.teacher(full.teacher, DATASET)
    rows = {}
    for label, student in students.items():
        x, y = boundary.agreeing(teacher, student, test.images, full.extras["bench_n"])
        t1 = time.perf_counter()
        tr = boundary.transition_curves(teacher, student, x, y, steps=full.extras["mte"]["steps"],
                                        lr=full.extras["mte"]["lr"])
        rows[label] = {"student_acc": round(100 * evaluate(student, test), 2), "mte": round(tr.mte, 4),
                       "images": len(x), "walks": int(tr.targets.numel()),
                       "mte_seconds": round(time.perf_counter() - t1, 1)}
    rows["zero-shot (ZSKT)"]["kept"] = kept is not None
    zero = rows["zero-shot (ZSKT)"]
    return {"dataset": DATASET, "teacher": "lenet5", "student": "lenet5half",
            "teacher_acc": round(100 * evaluate(teacher, test), 2),
            "student_acc": zero["student_acc"], "mte": zero["mte"], "students": rows,
            "mte_steps": full.extras["mte"]["steps"], "mte_lr": full.extras["mte"]["lr"],
            "wall_s": round(time.perf_counter() - t0, 1),
            "recipe": {r.name: r.as_dict() for r in (recipes.get("zskt"), few, full)}, "paper": paper("zskt")}


#: the commit whose student loop ``bench speed`` measures as "before" (the last one with ``kd.distill``)
SPEED_BASELINE = "6e6a297"

_SPEED_BEFORE = """
import json, sys, time, torch
from dfkd_book import augment, config, data, kd, zoo
steps, n, evaluate = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1"
test = data.load("fashion-mnist", "test")
teacher = zoo.teacher("lenet5", "fashion-mnist")
x = torch.rand(n, 1, 32, 32, generator=torch.Generator().manual_seed(0))
config.seed_everything(0)
student = zoo.student("lenet5half")
epochs = steps * 256 // n
t0 = time.perf_counter()
kd.distill(student, teacher, x, augment=augment.ZSKDAugmentation(p=0.5), epochs=epochs, batch_size=256, lr=1e-2,
           T=20.0, eval_set=test if evaluate else None, seed=0, progress=False)
print(json.dumps({"steps": epochs * (-(-n // 256)), "seconds": time.perf_counter() - t0}))
"""


def _speed_before(steps: int, n: int, evaluate: bool) -> dict:
    """The student loop of :data:`SPEED_BASELINE`, run from a ``git archive`` of that commit in a subprocess with
    this process's thread count."""
    import sys
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(["git", "archive", SPEED_BASELINE, "dfkd_book"], cwd=REPO_ROOT, check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        env = {**os.environ, "PYTHONPATH": tmp, "OMP_NUM_THREADS": str(torch.get_num_threads())}
        out = subprocess.run([sys.executable, "-c", _SPEED_BEFORE, str(steps), str(n), "1" if evaluate else "0"],
                             cwd=tmp, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def _speed_after(steps: int, n: int, evaluate: bool) -> dict:
    from ..methods import TransferSet

    test = data.load(DATASET, "test")
    teacher = zoo.teacher("lenet5", DATASET)
    x = torch.rand(n, 1, 32, 32, generator=torch.Generator().manual_seed(0))
    config.seed_everything(0)
    student = zoo.student("lenet5half", DATASET)
    t0 = time.perf_counter()
    distill(teacher, student, TransferSet(x), steps=steps, batch_size=256, lr=1e-2, T=20.0,
            augment=recipes.Student(steps=1).make_augment(), eval_set=test if evaluate else None, seed=0,
            progress=False)
    return {"steps": steps, "seconds": time.perf_counter() - t0}


def speed(seeds: int = 1) -> dict:
    """Student steps per second, before (the loop of :data:`SPEED_BASELINE`) and after (this tree), measured in
    one run: LeNet-5-Half at batch 256 on a static set of 768 images (chapter 5's size) with ZSKD augmentation
    re-labelled by the teacher, 300 steps (chapter 5's budget) — once as the chapters train (evaluating on the
    10,000 test images: the old loop after every epoch of 3 steps, the new one every 30 steps) and once without
    evaluation (the step alone). ``seeds`` repeats each measurement (the best is kept)."""
    steps, n = 300, 768
    rows = {}
    for with_eval in (True, False):
        key = "with evaluation" if with_eval else "steps only"
        before = min((_speed_before(steps, n, with_eval) for _ in range(seeds)), key=lambda r: r["seconds"])
        after = min((_speed_after(steps, n, with_eval) for _ in range(seeds)), key=lambda r: r["seconds"])
        rows[key] = {"before_steps_per_s": round(before["steps"] / before["seconds"], 2),
                     "after_steps_per_s": round(after["steps"] / after["seconds"], 2),
                     "before_s": round(before["seconds"], 1), "after_s": round(after["seconds"], 1),
                     "speedup": round((after["steps"] / after["seconds"]) / (before["steps"] / before["seconds"]), 2)}
    return {"dataset": DATASET, "teacher": "lenet5", "student": "lenet5half", "batch_size": 256,
            "transfer_samples": n, "steps": steps, "augment": "ZSKD (p = 0.5), re-labelled by the teacher",
            "baseline_commit": SPEED_BASELINE, "speed": rows}


#: what ``bench`` can run: every recipe of the method table's leaderboard and the two games (by :func:`method`),
#: the composite ``adversarial``, and two measurements that are not a student's record (``mte``, ``speed``)
METHODS: dict[str, Callable[..., dict]] = {
    **{m: (lambda seeds=1, m=m: method(m, seeds)) for m in recipes.leaderboard() if m in recipes.RECIPES},
    **{m: (lambda seeds=1, m=m: method(m, seeds)) for m in recipes.about("adversarial").runs},
    "adversarial": adversarial, "mte": mte, "speed": speed,
}
#: the measurements whose output is a study summary (``results/runs/NAME.json``), not a method record
SUMMARIES = ("mte", "speed")


def run(name: str, results_dir: str | os.PathLike | None = None, env: dict | None = None, seeds: int = 1) -> dict:
    """Run ``name`` (the student, and the synthesis where it is random, from ``seeds`` seeds 0..N−1) and write its
    record atomically (:func:`dfkd_book.records.save`; a measurement of :data:`SUMMARIES` as a summary); return it.

    ``env``: the :func:`~dfkd_book.experiments.runner.environment` to record (``bench all`` passes the one it took
    at its start, so every record of a run names the same commit).

    Raises:
        ValueError: unknown method (the message lists the known ones), or seeds < 1.
    """
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}; known: {', '.join(METHODS)}")
    if not isinstance(seeds, int) or isinstance(seeds, bool) or seeds < 1:
        raise ValueError(f"seeds must be a positive int, got {seeds!r}")
    env = runner.environment() if env is None else env
    t0 = time.perf_counter()
    record = {"method": name, **METHODS[name](seeds), **env}
    record["total_wall_s"] = round(time.perf_counter() - t0, 1)
    if name in SUMMARIES:
        records.save_summary(name, record, results_dir)
        return record
    # a method that runs others' recipes too (adversarial: both games) hands their records over as parts
    for part, rec in record.pop("_parts", {}).items():
        records.save({"method": part, **rec, **env, "written_by": name}, results_dir)
    records.save(record, results_dir)
    return record


#: what ``bench all`` runs only when named with --only: measurements that are not a method's student record, and
#: the two games, whose records ``adversarial`` writes beside its own
NOT_IN_ALL = ("speed", "zskt", "dfad")


def select(only: list[str] | None = None, skip: list[str] | None = None) -> list[str]:
    """The methods ``bench all`` runs, in :data:`METHODS` order: ``only`` those (default: all) minus ``skip``.

    Raises:
        ValueError: a name that is not a method (the message lists the known ones), or nothing left to run.
    """
    for name in (only or []) + (skip or []):
        if name not in METHODS:
            raise ValueError(f"unknown method {name!r}; known: {', '.join(METHODS)}")
    names = [m for m in METHODS if (m in (only or []) or (not only and m not in NOT_IN_ALL)) and m not in (skip or [])]
    if not names:
        raise ValueError(f"nothing to run: --only {only} minus --skip {skip} leaves no method")
    return names


def run_all(names: list[str], results_dir: str | os.PathLike | None = None, summary: bool = True,
            seeds: int = 1) -> dict:
    """Run each method of ``names`` in turn (:func:`run`); a method that raises is reported (traceback on stderr)
    and the others still run. With ``summary``, write ``out_dir/bench-all.json``: per method its status, student
    accuracy (%) and wall seconds, the total wall seconds and the environment — the record of one complete run
    (``results/runs/bench-all.json``).

    Returns the summary dict (``failed``: the names that raised).
    """
    env = runner.environment()
    t0 = time.perf_counter()
    methods: dict[str, dict] = {}
    for i, name in enumerate(names, 1):
        print(f"== [{i}/{len(names)}] {name}", flush=True)
        t1 = time.perf_counter()
        try:
            record = run(name, results_dir, {**env, "date": runner.now()}, seeds)
            methods[name] = {"status": "ok", "student_acc": record.get("student_acc"),
                             "wall_s": round(time.perf_counter() - t1, 1)}
        except Exception as e:  # noqa: BLE001 — one failing method must not stop the benchmark
            traceback.print_exc()
            methods[name] = {"status": "failed", "error": f"{type(e).__name__}: {e}",
                             "wall_s": round(time.perf_counter() - t1, 1)}
        print(f"== {name}: {methods[name]['status']} in {methods[name]['wall_s']} s", flush=True)
    result = {"methods": methods, "failed": [m for m, r in methods.items() if r["status"] != "ok"],
              "total_wall_s": round(time.perf_counter() - t0, 1), **env}
    if summary:
        records.save_summary("bench-all", result, results_dir)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dfkd_book.experiments.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("method", choices=sorted(METHODS) + ["all"],
                        help="one method, or all of them in turn (a failing method does not stop the others)")
    parser.add_argument("--out", default=None, help="the results directory (default: the repository's results/)")
    parser.add_argument("--only", nargs="+", metavar="METHOD", help="with all: run only these")
    parser.add_argument("--skip", nargs="+", metavar="METHOD", help="with all: leave these out")
    parser.add_argument("--seeds", type=int, default=3,
                        help="seeds 0..N-1 of the student (and random synthesis); default 3")
    args = parser.parse_args(argv)
    if args.seeds < 1:  # before anything runs: with 'all', every method would fail on it
        parser.error(f"--seeds must be >= 1, got {args.seeds}")
    if args.method != "all":
        if args.only or args.skip:
            parser.error("--only and --skip go with 'all'")
        record = run(args.method, args.out, seeds=args.seeds)
        summary = {k: record[k] for k in ("method", "teacher_acc", "student_acc", "student_acc_sd", "per_seed",
                                          "students", "wall_s", "device",
                                          "profile") if k in record}
        print(json.dumps(summary, indent=2))
        print(f"wrote the record of {args.method}")
        return 0
    try:
        names = select(args.only, args.skip)
    except ValueError as e:
        parser.error(str(e))
    # bench-all.json describes one complete run; a selection only prints its summary
    result = run_all(names, args.out, summary=not (args.only or args.skip), seeds=args.seeds)
    print(f"{'method':<20} {'status':<7} {'student %':>9} {'wall s':>8}")
    for name, r in result["methods"].items():
        print(f"{name:<20} {r['status']:<7} {r.get('student_acc') or '':>9} {r['wall_s']:>8}")
    print(f"total {result['total_wall_s']} s on {result['device']} ({result['profile']} profile)")
    if result["failed"]:
        print(f"FAILED: {', '.join(result['failed'])}")
    return 1 if result["failed"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
