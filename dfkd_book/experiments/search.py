"""How the students are trained, chosen by measurement: the staged protocol search and the real-data yardstick.

    python -m dfkd_book.experiments.search sets      --out DIR   # the five transfer sets, made once (sets.pt)
    python -m dfkd_book.experiments.search augment   --out DIR   # stage 1: the augmentation, one seed, 10k steps
    python -m dfkd_book.experiments.search search    --out DIR   # stage 2 (optimiser, lr, τ) beside stage 3 (budgets)
    python -m dfkd_book.experiments.search final     --out DIR   # stage 4 (the best two from 3 seeds), the yardstick
    python -m dfkd_book.experiments.search screen    --out DIR --set zskd --variants "warm-up 5 %" "batch 512"
    python -m dfkd_book.experiments.search record    --out DIR   # the summaries protocol.json and yardstick.json

(``--workers N`` runs N students at once; ``--minutes M`` stops handing out jobs after M minutes.) Runs go to
``DIR/protocol.jsonl`` through the lab's runner (resumable; the committed runs are ``results/runs/protocol.jsonl``).

Every run is one student (:func:`dfkd_book.experiments.students.run_one`) on a static transfer set with a
LeNet-5(-BN) teacher and a LeNet-5-Half student on Fashion-MNIST, selected on the validation split, never on test
accuracy. The five transfer sets (:data:`SETS`): 55,000 real images (all but the validation set), 1,000 real
images (class-balanced), the ZSKD data impressions, the DeepInversion images and the balanced uniform noise of the
recipes (:mod:`dfkd_book.recipes`, full profile, seed 0).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, replace
from functools import partial
from pathlib import Path

import torch

from .. import config, data, recipes, records, stats, zoo
from ..loop import transfer_set
from . import runner, students
from .students import VALIDATION, YARDSTICK_PROTOCOL, Protocol

DATASET = "fashion-mnist"
SETS = ("real-55k", "real-1k", "zskd", "deepinversion", "noise")
#: the teacher each set was made with (the recipe's) and distilled from
TEACHERS = {"real-55k": "lenet5", "real-1k": "lenet5", "zskd": "lenet5", "deepinversion": "lenet5bn",
            "noise": "lenet5"}
_RECIPE_OF = {"zskd": "zskd", "deepinversion": "deepinversion", "noise": "arbitrary-noise"}
#: the search's sets as they were made when it ran: its noise set is the arbitrary-noise recipe's of then
#: (8,000 images at most, 200,000 candidates), before the recipe grew to the paper's size
_SET_SETTINGS = {"noise": {"n": 8_000, "max_candidates": 200_000}}
YARDSTICK_SIZES = (10, 30, 100, 300, 1_000, 3_000, 10_000, 60_000)

#: stage 1 — the augmentations, at the book's current optimiser (Adam 1e-2, τ = 20, batch 256) and 10,000 steps
AUGMENTATIONS = (None, "flip-shift", "affine", "zskd", "curriculum")
#: stage 2 — one change at a time from the base, at each set's best augmentation
VARIANTS: dict[str, dict] = {
    "base (adam 1e-2)": {},
    "adam 3e-3": dict(lr=3e-3),
    "adam 1e-3": dict(lr=1e-3),
    "adam 3e-3, warm-up 5 %": dict(lr=3e-3, warmup=0.05),
    "warm-up 5 %": dict(warmup=0.05),
    "sgd 0.1, wd 5e-4, warm-up 5 %": dict(optimizer="sgd", lr=0.1, weight_decay=5e-4, warmup=0.05),
    "sgd 0.03, wd 5e-4": dict(optimizer="sgd", lr=0.03, weight_decay=5e-4),
    "τ = 4": dict(T=4.0),
    "τ = 1": dict(T=1.0),
    "batch 128": dict(batch_size=128),
    "batch 512": dict(batch_size=512),
}
BUDGETS = (1_000, 2_000, 5_000, 10_000, 20_000)


def make_sets(device=None, progress: bool = False, profile: str = "full",
              given: Mapping[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
    """The five transfer sets of the search (:data:`SETS`) as tensors (N, 1, 32, 32) on the CPU: the real ones
    from the training images outside the validation split, the synthetic ones made by their recipes (full
    profile, seed 0) by the method's own :meth:`build`;
    ``given`` synthetic sets (name → tensor, e.g. made earlier on another machine) are used as they are."""
    train = data.load(DATASET, "train")
    _, rest = students.validation_split()
    out = {"real-55k": train.images[rest].clone()}
    out["real-1k"] = train.images[rest][students.balanced_subset(train.images[rest], train.labels[rest], 1_000)].clone()
    for name, recipe in _RECIPE_OF.items():
        if given and name in given:
            out[name] = given[name].float().cpu()
            continue
        r = recipes.get(recipe, profile)
        teacher = zoo.teacher(r.teacher, DATASET)
        method = r.build(*r.args(teacher), **(_SET_SETTINGS.get(name, {}) if profile == "full" else {}))
        x, _ = transfer_set(teacher, method, seed=0, device=device, progress=progress)
        out[name] = x.detach().float().cpu()
    return out


# --- the runs -------------------------------------------------------------------------------------------------

#: what makes two runs of the search the same run, whichever stage asked for it: the set (with the yardstick's N),
#: the protocol and the seed
IDENTITY = ("set", "n", "protocol", "seed")

def _init(sets_path: str):
    """A worker's state: the sets of ``sets_path`` (when it exists), the validation split and the test set."""
    sets = torch.load(sets_path) if Path(sets_path).exists() else {}
    return sets, *students.eval_sets()


def work(job: dict) -> dict:
    """One run of the search (:func:`dfkd_book.experiments.students.run_one`) in a worker of :func:`run_jobs`."""
    sets, val, test = runner.state()
    proto = Protocol(**job["protocol"])
    if job["stage"] == "yardstick":  # a class-balanced subset of the training images, drawn with the seed
        train = data.load(DATASET, "train")
        n = job["n"]
        idx = students.balanced_subset(train.images, train.labels, n, job["seed"]) if n < len(train) else slice(None)
        xs = train.images[idx]
    else:
        xs = sets[job["set"]]
    return students.run_one(xs, TEACHERS.get(job["set"], "lenet5"), proto, job["seed"], val, test,
                            device=config.device())


def _ensure_sets(out: Path, profile: str = "full") -> None:
    """Make ``out/sets.pt`` (the five sets) unless it exists; synthetic sets kept as ``out/NAME.pt`` (half
    precision, small enough to carry between machines) are used instead of being made again."""
    if (out / "sets.pt").exists():
        return
    t0 = time.perf_counter()
    given = {n: torch.load(out / f"{n}.pt") for n in _RECIPE_OF if (out / f"{n}.pt").exists()}
    sets = make_sets(config.device(), profile=profile, given=given)
    for n in _RECIPE_OF:
        if n not in given:
            config.atomic_write(out / f"{n}.pt", lambda f, n=n: torch.save(sets[n].half(), f))
    config.atomic_write(out / "sets.pt", lambda f: torch.save(sets, f))
    print("sets:", {k: tuple(v.shape) for k, v in sets.items()}, f"{time.perf_counter() - t0:.0f} s", flush=True)


def run_jobs(jobs: list[dict], out: Path, workers: int = 1, minutes: float | None = None,
             profile: str = "full") -> list[dict]:
    """Run ``jobs`` (dicts with ``stage``, ``set``, ``protocol``, ``seed``, ``label``) not yet in
    ``out/protocol.jsonl`` on the lab's runner (:func:`dfkd_book.experiments.runner.run`), making the transfer
    sets first when a job needs them. Returns every run of ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    jobs = [{"study": "protocol", **j} for j in jobs]
    if any(j["stage"] != "yardstick" for j in jobs):
        _ensure_sets(out, profile)
    return runner.run(jobs, work, out / "protocol.jsonl", workers, init=partial(_init, str(out / "sets.pt")),
                      minutes=minutes, keys=IDENTITY)


def done_runs(out: Path, per_stage: bool = False) -> list[dict]:
    """Every run of ``out/protocol.jsonl`` (or of ``out`` itself when it is a ``.jsonl`` file), each once by the
    search's :data:`IDENTITY` (the runner's :func:`~dfkd_book.experiments.runner.done`); ``per_stage``: once per
    stage instead — a run two stages asked for stays in both stages' tables."""
    path = Path(out) if str(out).endswith(".jsonl") else Path(out) / "protocol.jsonl"
    return list(runner.done(path, IDENTITY + (("stage",) if per_stage else ())).values())


def _best(runs: list[dict], stage: str, set_name: str) -> dict:
    rows = [r for r in runs if r["stage"] == stage and r["set"] == set_name]
    if not rows:
        raise ValueError(f"no {stage} runs for {set_name} yet: run that stage first")
    return max(rows, key=lambda r: r["val_acc"])


def jobs_augment(steps: int = 10_000) -> list[dict]:
    base = Protocol(steps=steps)
    return [{"stage": "augment", "set": s, "protocol": asdict(replace(base, augment=a)), "seed": 0,
             "label": f"augment {a}"} for s in SETS for a in AUGMENTATIONS]


#: stage 2 on the sets after the first: the variants that did not fail on real-55k (SGD at τ = 20 diverged:
#: the τ²-scaled loss needs an SGD learning rate / τ²) and were not already worse on every set
SCREEN = ("τ = 4", "adam 3e-3")


def jobs_optimise(runs: list[dict], steps: int = 10_000, sets: Sequence[str] = tuple(_RECIPE_OF),
                  variants: Sequence[str] = SCREEN) -> list[dict]:
    jobs = []
    for s in sets:
        aug = _best(runs, "augment", s)["protocol"]["augment"]
        for label, change in ((v, VARIANTS[v]) for v in variants):
            jobs.append({"stage": "optimise", "set": s, "seed": 0, "label": label,
                         "protocol": asdict(replace(Protocol(steps=steps, augment=aug), **change))})
    return jobs


def jobs_budget(runs: list[dict], seeds: int = 3, budgets: Sequence[int] = BUDGETS,
                seeded: Sequence[int] = (10_000, 20_000)) -> list[dict]:
    """Stage 3: each set's best augmentation (stage 1) with the base optimiser, at every budget — one seed, and
    ``seeds`` at the ``seeded`` budgets for the synthetic sets (the ones the acceptance targets are about)."""
    jobs = []
    for s in SETS:
        best = Protocol(**_best(runs, "augment", s)["protocol"])
        for b in budgets:
            for seed in range(seeds if b in seeded and s in _RECIPE_OF else 1):
                jobs.append({"stage": "budget", "set": s, "seed": seed, "label": f"{b} steps",
                             "protocol": asdict(replace(best, steps=b))})
    return jobs


def jobs_confirm(runs: list[dict], seeds: int = 3, top: int = 2, steps: int = 10_000) -> list[dict]:
    """Stage 4: for each synthetic set, the ``top`` protocols of stages 1–2 by validation accuracy at ``steps``,
    run from ``seeds`` seeds (a seed stage 3 already ran is the same run, and is not run again)."""
    jobs = []
    for s in _RECIPE_OF:
        rows = sorted((r for r in runs if r["set"] == s and r["stage"] in ("augment", "optimise")
                       and r["protocol"]["steps"] == steps and r["seed"] == 0), key=lambda r: -r["val_acc"])[:top]
        for r in rows:
            jobs += [{"stage": "confirm", "set": s, "seed": seed, "label": r["label"], "protocol": r["protocol"]}
                     for seed in range(1, seeds)]
    return jobs


def jobs_screen(runs: list[dict], set_name: str, variants: Sequence[str], seeds: int = 3,
                steps: int = 10_000) -> list[dict]:
    """Stage 2 and 4 at once for one set: each of ``variants`` (keys of :data:`VARIANTS`) from the set's best
    augmentation, from ``seeds`` seeds (how the impressions, whose seeds spread most, got warm-up and batch 512)."""
    aug = _best(runs, "augment", set_name)["protocol"]["augment"]
    return [{"stage": "optimise" if seed == 0 else "confirm", "set": set_name, "seed": seed, "label": v,
             "protocol": asdict(replace(Protocol(steps=steps, augment=aug), **VARIANTS[v]))}
            for v in variants for seed in range(seeds)]


def jobs_yardstick(proto: Protocol = YARDSTICK_PROTOCOL, seeds: int = 3,
                   sizes: Sequence[int] = YARDSTICK_SIZES) -> list[dict]:
    """The yardstick's runs: ``seeds`` class-balanced subsets of each size N of the training images, each
    distilled with ``proto``."""
    return [{"stage": "yardstick", "set": f"real-{n}", "n": n, "seed": seed, "label": f"{n} real images",
             "protocol": asdict(proto)} for n in sizes for seed in range(seeds)]


def _by_protocol(runs: list[dict], set_name: str) -> dict[str, list[dict]]:
    """The runs on ``set_name`` grouped by protocol (whatever stage ran them), one run per seed, seeds in order."""
    groups: dict = {}
    for r in runs:
        if r["set"] == set_name and r["stage"] != "yardstick":
            groups.setdefault(Protocol(**r["protocol"]).key(), {})[r["seed"]] = r
    return {k: [v[seed] for seed in sorted(v)] for k, v in groups.items()}


def _curves(runs: list[dict]) -> dict:
    """Stage 3 as learning curves: per set, its best augmentation of stage 1 with the base optimiser, test
    accuracy (mean ± sd over the seeds run) against the budget."""
    out = {}
    for s in SETS:
        best = _best(runs, "augment", s)["protocol"]
        groups = _by_protocol(runs, s)
        points = sorted((json.loads(k)["steps"], students.seed_stats(rs)) for k, rs in groups.items()
                        if all(json.loads(k)[f] == v for f, v in best.items() if f != "steps"))
        out[s] = {"protocol": {k: v for k, v in best.items() if k != "steps"}, "steps": [p[0] for p in points],
                  **{key: [p[1][key] for p in points]
                     for key in ("test_acc", "test_acc_sd", "val_acc", "seeds", "per_seed_test")}}
    return out


def record(runs: list[dict]) -> dict:
    """The summary ``protocol``: every stage's table, the learning curves of stage 3, every protocol run from
    three seeds or more (mean ± sd), and where the runs ran."""
    three = {s: sorted(({"protocol": json.loads(k), **students.seed_stats(rs)}
                        for k, rs in _by_protocol(runs, s).items()
                        if len(rs) >= 3), key=lambda r: (r["protocol"]["steps"], -r["val_acc"]))
             for s in _RECIPE_OF}
    devices = sorted({r["device"] for r in runs})
    return {"dataset": DATASET, "student": "lenet5half", "teachers": TEACHERS, "validation_images": VALIDATION,
            "selection": "final validation accuracy (5,000 held-out training images); test accuracy reported",
            "sets": {s: _SET_NOTES[s] for s in SETS},
            "stages": {"augment": stats.summarize(runs, "augment"), "optimise": stats.summarize(runs, "optimise"),
                       "budget": stats.summarize(runs, "budget")},
            "curves": _curves(runs), "three_seeds": three, "devices": devices, "runs": len(runs)}


_SET_NOTES = {"real-55k": "55,000 Fashion-MNIST training images (all but the validation set)",
              "real-1k": "1,000 of them, class-balanced",
              "zskd": "8,000 ZSKD data impressions (recipe zskd, full profile, seed 0)",
              "deepinversion": "768 DeepInversion images of LeNet-5-BN (recipe deepinversion, full, seed 0)",
              "noise": "6,128 class-balanced uniform-noise images (recipe arbitrary-noise, full, seed 0)"}


def yardstick_record(runs: list[dict]) -> dict:
    """The summary ``yardstick``: the real-data curve — test accuracy (mean ± sd over seeds) of the student
    distilled with :data:`YARDSTICK_PROTOCOL` on N class-balanced real training images."""
    rows = [r for r in runs if r["stage"] == "yardstick"]
    if not rows:
        raise ValueError("no yardstick runs: run `python -m dfkd_book.experiments.search yardstick` first")
    points = []
    for n in sorted({r["n"] for r in rows}):
        v = [r["test_acc"] for r in sorted((r for r in rows if r["n"] == n), key=lambda r: r["seed"])]
        m, sd = stats.mean_sd(v)
        points.append({"n": n, "mean": round(m, 2), "sd": round(sd, 2), "per_seed": v,
                       "device": sorted({r["device"] for r in rows if r["n"] == n})})
    return {"dataset": DATASET, "teacher": "lenet5", "student": "lenet5half", "protocol": asdict(YARDSTICK_PROTOCOL),
            "subsets": "class-balanced, drawn from the 60,000 training images with the seed", "points": points}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m dfkd_book.experiments.search", description=__doc__.split("\n\n")[0])
    ap.add_argument("stage", choices=["sets", "augment", "optimise", "budget", "yardstick", "search", "final",
                                      "screen", "record"])
    ap.add_argument("--out", required=True, help="the search directory (sets.pt, protocol.jsonl)")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--steps", type=int, default=10_000, help="stages 1-2: the screening budget")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--minutes", type=float, default=None, help="stop handing out jobs after this long")
    ap.add_argument("--yardstick-protocol", default=None, help="JSON of a Protocol for the yardstick")
    ap.add_argument("--budgets", type=int, nargs="+", default=list(BUDGETS), help="stage 3: the budgets in steps")
    ap.add_argument("--sizes", type=int, nargs="+", default=list(YARDSTICK_SIZES), help="yardstick: N real images")
    ap.add_argument("--set", default="zskd", help="screen: the transfer set")
    ap.add_argument("--variants", nargs="+", default=[], help="screen: keys of VARIANTS")
    ap.add_argument("--profile", default="full", help="the recipes' profile for the synthetic sets")
    a = ap.parse_args(argv)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    deadline = a.minutes
    if a.stage == "record":  # the summaries protocol.json and yardstick.json from out/protocol.jsonl
        runs = done_runs(out, per_stage=True)
        for name, rec in (("protocol", record(runs)), ("yardstick", yardstick_record(runs))):
            print("wrote", records.save_summary(name, rec))
        return 0
    if a.stage == "search":  # stages 2 and 3 side by side (stage 3 needs only stage 1), longest jobs first
        runs = done_runs(out)
        jobs = jobs_optimise(runs, a.steps) + jobs_budget(runs, a.seeds, a.budgets)
        run_jobs(sorted(jobs, key=lambda j: -j["protocol"]["steps"]), out, a.workers, deadline, a.profile)
        return 0
    if a.stage == "final":  # stage 4 and the yardstick side by side
        proto = Protocol(**json.loads(a.yardstick_protocol)) if a.yardstick_protocol else YARDSTICK_PROTOCOL
        jobs = jobs_confirm(done_runs(out), a.seeds) + jobs_yardstick(proto, a.seeds)
        run_jobs(sorted(jobs, key=lambda j: -j["protocol"]["steps"]), out, a.workers, deadline, a.profile)
        return 0
    runs = done_runs(out)
    jobs = {"augment": lambda: jobs_augment(a.steps), "optimise": lambda: jobs_optimise(runs, a.steps),
            "budget": lambda: jobs_budget(runs, a.seeds, a.budgets),
            "yardstick": lambda: jobs_yardstick(Protocol(**json.loads(a.yardstick_protocol))
                                                if a.yardstick_protocol else YARDSTICK_PROTOCOL, a.seeds, a.sizes),
            "screen": lambda: jobs_screen(runs, a.set, a.variants, a.seeds, a.steps), "sets": list}[a.stage]()
    if jobs:
        run_jobs(jobs, out, a.workers, deadline, a.profile)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
