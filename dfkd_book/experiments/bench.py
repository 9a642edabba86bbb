"""The benchmark: ``python -m dfkd_book.experiments.bench METHOD [--seeds N]`` runs one method's recipe
(:mod:`dfkd_book.recipes`) end to end through :func:`dfkd_book.distill` with the active profile and writes its
record, ``results/records/METHOD.json`` (:mod:`dfkd_book.records`); ``... bench all [--only M ...] [--skip M ...]``
runs them as one run (:func:`run_all`: one commit, one device, one thread setting; a failing method is reported,
the others still run) and writes the summary ``results/runs/bench-all.json``; ``... bench check`` says what keeps
the records from being one run's (:func:`consistency`). The seeds run in ``--workers`` processes of ``--threads``
threads (default: 2 of 1 thread on a 2-core CPU, 1 process on a GPU), handed out across the methods.

Nothing in the book imports this module: it runs recipes and writes records (speed and accuracy targets are measured
here, never timed in tests), each in :mod:`dfkd_book.records`'s schema: accuracies (%, mean, sd, every seed's), wall
time per seed, student steps, teacher queries, the recipe, the published numbers of
:data:`dfkd_book.recipes.METHODS`, and where and how it ran (:func:`environment`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import torch

from .. import config, data, recipes, records, stats, zoo
from ..kd import evaluate
from ..loop import distill
from ..methods import TransferSet
from ..restarts import BestOf
from . import runner
from .recipe_runs import DATASET, GAMES, history, paper, run_recipe  # noqa: F401 (paper, history: bench's API too)
from .recipe_runs import fields as _fields
from .recipe_runs import worth as _worth
from .speed import speed

REPO_ROOT = config.REPO_ROOT


def _kept_path(name: str, seed: int, recipe: recipes.Recipe | None = None) -> Path:
    r = recipes.get(name) if recipe is None else recipe
    key = json.dumps({"recipe": r.as_dict(), "seed": seed, "code": runner.code_digest(), "torch": torch.__version__,
                      "device": config.device().type}, sort_keys=True, default=str)
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return config.cache_dir("students") / f"{name}-{config.profile()}-seed{seed}-{digest}.pt"


def keep_student(name: str, seed: int, student: torch.nn.Module, recipe: recipes.Recipe | None = None) -> Path:
    """Keep a benchmark's final student of recipe ``name`` (or of ``recipe``, a changed copy) from ``seed`` (atomic
    write, in the cache's ``students/``), under a key of the recipe, the seed, the package's source, torch and the
    device type, so that another record (``bench mte``) reuses it instead of training it again. Returns the path."""
    path = _kept_path(name, seed, recipe)
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


def _seed(name: str, seed: int, r: recipes.Recipe, progress: bool = False, keep: bool = False,
          noise: bool = False) -> dict:
    """One seed of recipe ``r`` (named ``name``) where it is handed (a worker or this process): what a record
    needs of it as plain data (accuracies in %, seconds, steps, queries, history, :func:`_fields`). ``keep``: keep
    the student (the games); ``noise``: chapter 5's baseline, uniform noise of the same size and budget."""
    test = data.load(DATASET, "test")
    t0 = time.perf_counter()
    res, teacher, r = run_recipe(name, seed, test, progress=progress, recipe=r)
    out = {"wall_s": time.perf_counter() - t0, "acc": round(100 * evaluate(res.student, test), 2),
           "teacher_acc": round(100 * evaluate(teacher, test), 2), "synthesis_s": res.method.seconds,
           # the student's seconds: every restart's (the set made before them), or the run's less making its set
           "distillation_s": res.seconds if isinstance(res, BestOf) else max(res.history.seconds - res.method.seconds,
                                                                             0.0),
           "steps": res.steps, "teacher_queries": res.teacher_queries,
           "history": history(res.history), "fields": _fields(name, res, r),
           "best_acc": round(100 * res.history.best_test_acc, 2)}  # the papers' rule, the best test evaluation
    if keep:
        keep_student(name, seed, res.student, r)
    if noise:
        x = torch.rand(out["fields"]["transfer_samples"], 1, 32, 32, generator=torch.Generator().manual_seed(0))
        config.seed_everything(0)
        base = distill(zoo.teacher(r.teacher, DATASET), zoo.student(r.student_arch, DATASET), TransferSet(x),
                       eval_set=test, seed=0, name="uniform noise", progress=False, **r.student.kwargs())
        out["uniform_noise_student_acc"] = round(100 * base.final_acc, 2)
    return out


def _method_record(name: str, r: recipes.Recipe, outs: list[dict]) -> dict:
    """A student record from its seeds' :func:`_seed` outputs (seed 0 first): the pair, both accuracies (%, the
    mean over seeds), per-seed numbers, wall time per seed, budget, queries, the method's fields, the published
    numbers (:func:`paper`), the recipe, the first seed's history, the worth in real images (:func:`_worth`), and
    the papers' selection rule, the best test accuracy over each seed's evaluations (``best_test_epoch_acc`` ± sd,
    per seed ``per_seed_best_test_epoch``: shown beside a paper's number, never as the book's result)."""
    first, (mean, sd) = outs[0], stats.mean_sd([o["acc"] for o in outs])
    per_seed = {k: [o[k] for o in outs] for k in ("wall_s", "synthesis_s", "distillation_s")}
    rec = {
        "dataset": DATASET, "teacher": r.teacher, "student": r.student_arch, "teacher_acc": first["teacher_acc"],
        "student_acc": round(mean, 2), "student_acc_sd": round(sd, 2), "seeds": len(outs),
        "per_seed": [o["acc"] for o in outs], "wall_s": round(stats.mean_sd(per_seed["wall_s"])[0], 1),
        # the seconds of each seed's run, of making its transfer set and of distilling, and their means
        **{f"{k}_per_seed": [round(v, 1) for v in vs] for k, vs in per_seed.items()},
        **{k: round(stats.mean_sd(vs)[0], 1) for k, vs in per_seed.items() if k != "wall_s"},
        "steps": first["steps"], "batch_size": r.student.batch_size, "teacher_queries": first["teacher_queries"],
        **first["fields"], "paper": paper(name), "recipe": r.as_dict(), "history": first["history"],
    }
    best, best_sd = stats.mean_sd([o["best_acc"] for o in outs])
    rec |= {"per_seed_best_test_epoch": [o["best_acc"] for o in outs], "best_test_epoch_acc": round(best, 2),
            "best_test_epoch_acc_sd": round(best_sd, 2)}
    if "restarts" in first["fields"]:  # a recipe of restarts: which one each seed kept, and why
        rec["per_seed_restarts"] = [o["fields"]["restarts"] for o in outs]
    if "uniform_noise_student_acc" in first:
        rec["uniform_noise_student_acc"] = first["uniform_noise_student_acc"]
    return {**rec, **_worth(rec["student_acc"], r)}


@dataclass(frozen=True)
class Plan:
    """How ``bench`` makes one output: ``jobs(seeds, progress)``, picklable work for a worker, and ``finish(jobs,
    outputs)``, the record from their outputs (in job order)."""

    jobs: Callable[[int, bool], list]
    finish: Callable[[list, list], dict]


def _method(name: str) -> Plan:
    """Recipe ``name`` from seeds 0..N−1 (the student and, where it is random, the synthesis are seeded), a job a
    seed; the games' students are kept for ``bench mte``."""
    def jobs(seeds: int, progress: bool = True) -> list:
        r = recipes.get(name)
        return [partial(_seed, name, s, r, progress, name in GAMES, name == "spectral" and s == 0)
                for s in range(seeds)]

    return Plan(jobs, lambda jobs, outs: _method_record(name, jobs[0].args[2], outs))


def _adversarial(jobs: list, outs: list) -> dict:
    """ZSKT and DFAD with the same teacher; the record keeps the game whose mean student is better, and each
    game's own record (``zskt``, ``dfad``, with its own wall time) is written beside it (``_parts``)."""
    recs = {g: _method_record(g, next(j.args[2] for j in jobs if j.args[0] == g),
                              [o for j, o in zip(jobs, outs) if j.args[0] == g]) for g in GAMES}
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


#: what ``bench`` can run: every recipe of the method table's leaderboard (and those benched before they are rows,
#: :func:`dfkd_book.recipes.benched`) and the two games, the composite
#: ``adversarial``, and two measurements that are not a student's record (``mte``; ``speed``, a plain function
#: run alone in this process: it times itself)
METHODS: dict[str, Plan | Callable[..., dict]] = {
    **{m: _method(m) for m in recipes.benched() if m in recipes.RECIPES}, **{m: _method(m) for m in GAMES},
    "adversarial": Plan(lambda seeds, progress=True: [j for g in GAMES for j in _method(g).jobs(seeds, progress)],
                        _adversarial),
    # mte reuses the ZSKT student of seed 0 where adversarial (handed out before it) has kept it
    "mte": Plan(lambda seeds, progress=True: [partial(mte, seeds)], lambda jobs, outs: outs[0]),
    "speed": speed,
}
#: the measurements whose output is a study summary (``results/runs/NAME.json``), not a method record
SUMMARIES = ("mte", "speed")
#: what ``bench all`` runs only when named with --only: measurements that are not a method's student record, and
#: the two games, whose records ``adversarial`` writes beside its own
NOT_IN_ALL = ("speed", *GAMES)


def _make(names: list[str], seeds: int, workers: int, threads: int | None, done: Callable,
          stage: runner.Staged | None = None) -> None:
    """Make each output of ``names`` and call ``done(name, record or exception, seconds)``: every :class:`Plan`'s
    jobs on :func:`~dfkd_book.experiments.runner.execute`; a plain function (``speed``) first, alone here. With a
    ``stage``, each job's output (a seed) is staged as it is done and a job staged before is not run again."""
    plans = {n: METHODS[n] for n in names if isinstance(METHODS[n], Plan)}
    jobs = {n: plans[n].jobs(seeds, workers == 1) if n in plans else partial(METHODS[n], seeds) for n in names}
    kept = {n: stage.jobs(n) if stage is not None else {} for n in plans}
    todo = {n: [i for i in range(len(jobs[n])) if i not in kept[n]] for n in plans}

    def finished(name: str, out, seconds: float) -> None:
        if name in plans and isinstance(out, list):  # the staged seeds and this session's, in job order
            made = dict(zip(todo[name], out))
            out = [kept[name][i] if i in kept[name] else made[i] for i in range(len(jobs[name]))]
        try:
            out = plans[name].finish(jobs[name], out) if name in plans and isinstance(out, list) else out
        except Exception as e:  # noqa: BLE001 — reported by done
            out = e
        done(name, out, seconds)

    def each(name: str, i: int, out: dict) -> None:
        i = todo[name][i]
        if stage is not None:
            stage.add_job(name, i, out)
        if workers > 1:
            print(f"   {name} {i + 1}/{len(jobs[name])}: {out.get('acc', '-')} % in {out.get('wall_s', 0):.0f} s",
                  flush=True)

    for n in [n for n in plans if not todo[n]]:  # every seed staged before: only the record is left to make
        finished(n, [], 0.0)
    runner.execute({n: [jobs[n][i] for i in todo[n]] if n in plans else jobs[n] for n in names if n not in plans
                    or todo[n]}, finished, workers, threads, each)


def _save(name: str, record: dict, env: dict, results_dir, seconds: float) -> tuple[dict, list]:
    """Write ``name``'s record (and its parts: adversarial's games) or summary atomically; returns it and the
    paths written."""
    record = {"method": name, **record, **env, "total_wall_s": round(seconds, 1)}
    if name in SUMMARIES:
        return record, [records.save_summary(name, record, results_dir)]
    # a method that runs others' recipes too (adversarial: both games) hands their records over as parts
    paths = [records.save({"method": part, **rec, **env, "written_by": name}, results_dir)
             for part, rec in record.pop("_parts", {}).items()]
    return record, [*paths, records.save(record, results_dir)]


def run(name: str, results_dir: str | os.PathLike | None = None, env: dict | None = None, seeds: int = 1,
        workers: int = 1, threads: int | None = None) -> dict:
    """Run ``name`` (the student, and the synthesis where it is random, from seeds 0..N−1, in ``workers``
    processes of ``threads`` threads) and write its record atomically (:func:`dfkd_book.records.save`; a
    measurement of :data:`SUMMARIES` as a summary); return it. ``env``: what to record (default:
    :func:`~dfkd_book.experiments.runner.environment`).

    Raises:
        ValueError: unknown method (the message lists the known ones), seeds or workers < 1; what the method raised.
    """
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}; known: {', '.join(METHODS)}")
    if not isinstance(seeds, int) or isinstance(seeds, bool) or seeds < 1 or workers < 1:
        raise ValueError(f"seeds must be a positive int, got {seeds!r}; workers too, got {workers!r}")
    got: dict = {}
    _make([name], seeds, workers, threads, lambda _, out, seconds: got.update(out=out, seconds=seconds))
    if isinstance(got["out"], BaseException):
        raise got["out"]
    return _save(name, got["out"], runner.environment(workers, threads) if env is None else env, results_dir,
                 got["seconds"])[0]


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


def run_all(names: list[str], results_dir: str | os.PathLike | None = None, summary: bool = True, seeds: int = 1,
            workers: int = 1, threads: int | None = None, resume: bool = False, fresh: bool = False,
            allow_dirty: bool = False) -> dict:
    """Run the methods ``names`` as one run (:func:`~dfkd_book.experiments.runner.one_run`: one commit and code,
    its ``run_id`` in every record; their seeds handed to ``workers`` processes of ``threads`` threads), staged in
    ``RESULTS/bench-all.partial/`` until all are made; with ``summary``, ``runs/bench-all.json`` says per method
    its status, student accuracy (%) and wall seconds (its first seed's start to its last one's end), the total and
    the environment. ``resume`` continues a staged run of the same commit, code, device, profile, torch, seeds,
    workers, threads and methods, without its methods done; ``fresh`` discards one.

    Returns the summary (``failed``: the methods that raised). Raises: RuntimeError, as ``one_run``."""
    env = runner.environment(workers, threads)
    ident = {**{k: env[k] for k in ("device", "profile", "torch", "threads", "workers")}, "seeds": seeds,
             "methods": names}
    return runner.one_run(records.RESULTS if results_dir is None else results_dir, "bench-all", names,
                          lambda todo, done, stage: _make(todo, seeds, workers, threads, done, stage), _save, env,
                          ident, resume, fresh, allow_dirty, summary)


def consistency(results_dir: str | os.PathLike | None = None) -> list[str]:
    """What keeps the records of ``results_dir`` (default: the repository's) and ``runs/mte.json`` from being one
    complete ``bench all`` run's: :func:`~dfkd_book.experiments.runner.provenance_problems` with the run's summary
    ``runs/bench-all.json``, a record of fewer than 3 seeds. [] when they are one run's."""
    found = {m: records.load(m, results_dir) for m in records.methods(results_dir)}
    if records.summary_path("mte", results_dir).is_file():
        found["mte"] = records.load_summary("mte", results_dir)
    summary = records.summary_path("bench-all", results_dir)
    out = runner.provenance_problems(found, json.loads(summary.read_text()) if summary.is_file() else None)
    return out + [f"{m}: {r.get('seeds')} seed(s), fewer than 3" for m, r in found.items()
                  if m not in SUMMARIES and r.get("seeds", 0) < 3] + ([] if summary.is_file() else [
                  "no runs/bench-all.json: no complete `bench all` run"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dfkd_book.experiments.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("method", choices=sorted(METHODS) + ["all", "check"],
                        help="one method; all of them as one run; or check that the records are one run's")
    parser.add_argument("--out", default=None, help="the results directory (default: the repository's results/)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 of the student (and random synthesis)")
    parser.add_argument("--workers", type=int, help="processes the seeds run in (default: 1 on a GPU and for "
                        "speed, else 2 where there are 2 cores; 1: this process)")
    parser.add_argument("--threads", type=int, help="threads per worker (default: cores // workers)")
    for flag, what in (("--only", "run only these"), ("--skip", "leave these out")):
        parser.add_argument(flag, nargs="+", metavar="METHOD", help=f"with all: {what}")
    for flag, what in (("--resume", "continue the staged run of this commit"), ("--fresh", "discard a staged run"),
                       ("--allow-dirty", "run uncommitted code (its commit +dirty)")):
        parser.add_argument(flag, action="store_true", help=f"with all: {what}")
    args = parser.parse_args(argv)
    if args.method == "check":
        found = consistency(args.out)
        print("\n- ".join(["not one complete bench all run:", *found]) if found else "one complete bench all run")
        return 1 if found else 0
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    alone = args.method == "speed" or config.device().type == "cuda"  # a timed race, or one device
    workers = args.workers or (1 if alone else min(2, cores))
    threads = args.threads or max(1, cores // workers)
    if args.seeds < 1 or workers < 1 or threads < 1:  # before anything runs
        parser.error(f"--seeds, --workers and --threads must be >= 1, got {args.seeds}, {workers}, {threads}")
    if args.method != "all" and (args.only or args.skip or args.resume or args.fresh or args.allow_dirty):
        parser.error("--only, --skip, --resume, --fresh and --allow-dirty go with 'all'")
    if args.method != "all":
        record = run(args.method, args.out, seeds=args.seeds, workers=workers, threads=threads)
        print(json.dumps({k: record[k] for k in ("method", "teacher_acc", "student_acc", "student_acc_sd", "per_seed",
                                                 "students", "wall_s", "device", "profile") if k in record}, indent=2))
        print(f"wrote the record of {args.method}")
        return 0
    try:
        names = select(args.only, args.skip)
    except ValueError as e:
        parser.error(str(e))
    old = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # kill PID: the workers are stopped too
    try:  # bench-all.json describes one complete run; a selection only prints its summary
        result = run_all(names, args.out, not (args.only or args.skip), args.seeds, workers, threads, args.resume,
                         args.fresh, args.allow_dirty)
    except RuntimeError as e:
        print(f"bench all: {e}", file=sys.stderr)
        return 2
    finally:
        signal.signal(signal.SIGTERM, old)
    print(f"{'method':<20} {'status':<7} {'student %':>9} {'wall s':>8}")
    for name, r in result["methods"].items():
        print(f"{name:<20} {r['status']:<7} {r.get('student_acc') or '':>9} {r['wall_s']:>8}")
    print(f"total {result['total_wall_s']} s on {result['device']} ({result['profile']} profile)")
    print(f"FAILED: {', '.join(result['failed'])}" if result["failed"] else f"run {result['run_id']}")
    return 1 if result["failed"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
