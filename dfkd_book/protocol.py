"""How the students are trained, chosen by measurement: the staged protocol search and the real-data yardstick.

    python -m dfkd_book.protocol sets      --out DIR    # the five transfer sets, made once (sets.pt)
    python -m dfkd_book.protocol augment   --out DIR    # stage 1: the augmentation, one seed, 10,000 steps
    python -m dfkd_book.protocol search    --out DIR    # stage 2 (optimiser, lr, τ) beside stage 3 (budgets)
    python -m dfkd_book.protocol final     --out DIR    # stage 4 (the best two from 3 seeds) and the yardstick
    python -m dfkd_book.protocol screen    --out DIR --set zskd --variants "warm-up 5 %" "batch 512"
    python -m dfkd_book.protocol record    --out DIR    # results/protocol.json and results/yardstick.json

(``--workers N`` runs N students at once; ``--minutes M`` stops handing out jobs after M minutes.) The book's
records came from these commands on one H100 (15 workers sharing it; about 35 minutes) plus the yardstick's two
smallest subsets on a CPU; ``results/protocol-runs.jsonl`` holds every run.

Every run is one call of :func:`dfkd_book.distill` on a static transfer set (:class:`~dfkd_book.methods.TransferSet`)
with a LeNet-5(-BN) teacher and a LeNet-5-Half student on Fashion-MNIST. The search selects on a **validation
set** — 5,000 Fashion-MNIST training images held out of every transfer set — and reports the test accuracy of
the final student beside it, so no choice is made on the test set. Runs go to ``DIR/runs.jsonl`` one JSON line
each (a job already there is not run again), so a search can be stopped and resumed, and spread over worker
processes (``--workers``; each uses one thread, and the GPU when there is one).

The five transfer sets (:data:`SETS`): 55,000 real images (all but the validation set), 1,000 real images
(class-balanced), the ZSKD data impressions, the DeepInversion images and the balanced uniform noise of the
recipes (:mod:`dfkd_book.recipes`, full profile, seed 0).

:func:`worth_real_images` turns a student accuracy into the number of real images that give the same student
under the same protocol (the yardstick record ``results/yardstick.json``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch

from . import config, data, recipes, zoo
from .kd import evaluate
from .loop import distill
from .methods import TransferSet

DATASET = "fashion-mnist"
SETS = ("real-55k", "real-1k", "zskd", "deepinversion", "noise")
#: the teacher each set was made with (the recipe's) and distilled from
TEACHERS = {"real-55k": "lenet5", "real-1k": "lenet5", "zskd": "lenet5", "deepinversion": "lenet5bn",
            "noise": "lenet5"}
_RECIPE_OF = {"zskd": "zskd", "deepinversion": "deepinversion", "noise": "arbitrary-noise"}
#: the search's sets as they were made when it ran: its noise set is the arbitrary-noise recipe's of then
#: (8,000 images at most, 200,000 candidates), before the recipe grew to the paper's size
_SET_SETTINGS = {"noise": {"n": 8_000, "max_candidates": 200_000}}
VALIDATION = 5_000
YARDSTICK_SIZES = (10, 30, 100, 300, 1_000, 3_000, 10_000, 60_000)
RESULTS = config.RESULTS


def load_record(name: str, results_dir: str | os.PathLike = RESULTS) -> dict:
    """``results/NAME.json`` (``"protocol"`` or ``"yardstick"``). Raises FileNotFoundError naming the command that
    writes it."""
    path = Path(results_dir) / f"{name}.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: `python -m dfkd_book.protocol record --out DIR` writes it "
                                "from a search directory's runs.jsonl")
    return json.loads(path.read_text())


def load_runs(name: str, results_dir: str | os.PathLike = RESULTS) -> list[dict]:
    """The runs of ``results/NAME.jsonl`` (one JSON object per line: ``"protocol-runs"``, ``"zskd-levers"``), in
    file order. Raises FileNotFoundError naming the path."""
    path = Path(results_dir) / f"{name}.jsonl"
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: the runs of results/ are committed with the book")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@dataclass(frozen=True)
class Protocol:
    """One student protocol: what :func:`dfkd_book.distill` gets besides the method (see
    :class:`dfkd_book.recipes.Student`, whose fields these are; ``warmup`` here is a fraction of the steps)."""

    steps: int = 10_000
    batch_size: int = 256
    lr: float = 1e-2
    optimizer: str = "adam"
    weight_decay: float = 0.0
    warmup: float = 0.0
    T: float = 20.0
    augment: str | None = "zskd"

    def student(self) -> recipes.Student:
        return recipes.Student(steps=self.steps, batch_size=self.batch_size, lr=self.lr, optimizer=self.optimizer,
                               weight_decay=self.weight_decay, warmup=int(self.warmup * self.steps), T=self.T,
                               augment=self.augment)

    def key(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


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


def validation_split(seed: int = 1234) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices of the Fashion-MNIST training set: ``(held-out validation (5,000), the rest (55,000))``, fixed."""
    perm = torch.randperm(60_000, generator=torch.Generator().manual_seed(seed))
    return perm[:VALIDATION], perm[VALIDATION:]


def balanced_subset(images: torch.Tensor, labels: torch.Tensor, n: int, seed: int = 0) -> torch.Tensor:
    """Indices of ``n`` images with (as nearly as possible) ``n / K`` of each class, drawn with ``seed``.

    Raises ValueError when ``n`` exceeds the images available or is < 1."""
    k = int(labels.max()) + 1
    if not 1 <= n <= len(labels):
        raise ValueError(f"n must be in [1, {len(labels)}], got {n}")
    g = torch.Generator().manual_seed(seed)
    per = [n // k + (1 if c < n % k else 0) for c in range(k)]
    idx = []
    for c in range(k):
        pool = torch.nonzero(labels == c).flatten()
        if per[c] > len(pool):
            raise ValueError(f"class {c} has {len(pool)} images, {per[c]} asked")
        idx.append(pool[torch.randperm(len(pool), generator=g)[:per[c]]])
    return torch.cat(idx)


def make_sets(device=None, progress: bool = False, profile: str = "full",
              given: Mapping[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
    """The five transfer sets of the search (:data:`SETS`) as tensors (N, 1, 32, 32) on the CPU: the real ones
    from the training images outside the validation split, the synthetic ones made by their recipes (full
    profile, seed 0) through a 1-step :func:`~dfkd_book.distill` (the method makes its pool in ``prepare``);
    ``given`` synthetic sets (name → tensor, e.g. made earlier on another machine) are used as they are."""
    train = data.load(DATASET, "train")
    _, rest = validation_split()
    out = {"real-55k": train.images[rest].clone()}
    out["real-1k"] = train.images[rest][balanced_subset(train.images[rest], train.labels[rest], 1_000)].clone()
    for name, recipe in _RECIPE_OF.items():
        if given and name in given:
            out[name] = given[name].float().cpu()
            continue
        r = recipes.get(recipe, profile)
        teacher = zoo.teacher(r.teacher, DATASET)
        config.seed_everything(0)
        method = r.build(*r.args(teacher), **(_SET_SETTINGS.get(name, {}) if profile == "full" else {}))
        res = distill(teacher, zoo.student(r.student_arch, DATASET), method, steps=1,
                      seed=0, device=device, progress=progress)
        out[name] = res.pool.detach().float().cpu()
    return out


def run_one(x: torch.Tensor, teacher_name: str, proto: Protocol, seed: int, val, test, device=None) -> dict:
    """One student trained on the static set ``x`` with ``proto``; returns final validation and test accuracy (%)
    and the validation curve."""
    teacher = zoo.teacher(teacher_name, DATASET)
    config.seed_everything(seed)
    student = zoo.student("lenet5half", DATASET)
    kw = proto.student().kwargs()
    kw["eval_every"] = max(proto.steps // 10, 1)
    t0 = time.perf_counter()
    res = distill(teacher, student, TransferSet(x), eval_set=val, seed=seed, device=device, progress=False, **kw)
    wall = time.perf_counter() - t0
    dev = torch.device(device or config.device())
    where = torch.cuda.get_device_name(dev) if dev.type == "cuda" else f"cpu ({torch.get_num_threads()} thread)"
    return {"val_acc": round(100 * res.history.final_acc, 2), "test_acc": round(100 * evaluate(res.student, test), 2),
            "device": where,
            "curve": {"step": res.history.step, "val_acc": [round(100 * a, 2) for a in res.history.test_acc]},
            "wall_s": round(wall, 1), "train_s": round(res.history.seconds, 1)}


# --- the job runner ---------------------------------------------------------------------------------------------

def _job_id(job: dict) -> str:
    """What makes two runs the same run, whichever stage asked for it: the set (with the yardstick's N), the
    protocol and the seed."""
    return json.dumps({"set": job["set"], "protocol": asdict(Protocol(**job["protocol"])), "seed": job["seed"]},
                      sort_keys=True)


def done_runs(out: Path, per_stage: bool = False) -> list[dict]:
    """Every run recorded in ``out/runs.jsonl``, each once: a run recorded twice (two runners that shared the
    directory) counts by its first record. ``per_stage``: once per stage instead — a run that two stages asked
    for (stage 2's base protocol is a stage-1 run) stays in both stages' tables, as the records need."""
    path = Path(out) / "runs.jsonl"
    if not path.exists():
        return []
    runs, seen = [], set()
    for line in path.read_text().splitlines():
        if line.strip():
            r = json.loads(line)
            key = (r["stage"] if per_stage else None, _job_id(r))
            if key not in seen:
                seen.add(key)
                runs.append(r)
    return runs


_WORKER: dict = {}


def _init_worker(sets_path: str):
    torch.set_num_threads(1)
    sets = torch.load(sets_path) if Path(sets_path).exists() else {}
    train = data.load(DATASET, "train")
    val_idx, _ = validation_split()
    _WORKER["sets"] = sets
    _WORKER["val"] = (train.images[val_idx], train.labels[val_idx])
    _WORKER["test"] = data.load(DATASET, "test")


def _work(job: dict) -> dict:
    proto = Protocol(**job["protocol"])
    if job["stage"] == "yardstick":  # a class-balanced subset of the training images, drawn with the seed
        train = data.load(DATASET, "train")
        n = job["n"]
        idx = balanced_subset(train.images, train.labels, n, job["seed"]) if n < len(train) else slice(None)
        xs = train.images[idx]
    else:
        xs = _WORKER["sets"][job["set"]]
    out = run_one(xs, TEACHERS.get(job["set"], "lenet5"), proto, job["seed"], _WORKER["val"], _WORKER["test"],
                  device=config.device())
    return {**job, **out}


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


def run_jobs(jobs: list[dict], out: Path, workers: int = 1, deadline: float | None = None,
             profile: str = "full", ensure_sets: Callable[[Path, str], None] | None = None) -> list[dict]:
    """Run ``jobs`` (dicts with ``stage``, ``set``, ``protocol``, ``seed``, ``label``) not yet in
    ``out/runs.jsonl``, in ``workers`` processes, appending each result as it comes; stops handing out jobs after
    ``deadline`` (a ``time.time()``). The transfer sets are made first when a job needs them (``profile``: the
    recipes' profile for the synthetic ones; ``ensure_sets(out, profile)`` makes ``out/sets.pt`` instead, for
    other sets — :mod:`dfkd_book.ablation`). Returns every run of ``out``."""
    out = Path(out)
    have = {_job_id(r) for r in done_runs(out)}
    todo = list({_job_id(j): j for j in jobs if _job_id(j) not in have}.values())
    print(f"{len(todo)} jobs to run ({len(jobs) - len(todo)} done before), {workers} workers", flush=True)
    if not todo:
        return done_runs(out)
    if any(j["stage"] != "yardstick" for j in todo):
        (ensure_sets or _ensure_sets)(out, profile)
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    with ctx.Pool(workers, initializer=_init_worker, initargs=(str(out / "sets.pt"),)) as pool, \
            open(out / "runs.jsonl", "a") as f:
        for r in pool.imap_unordered(_work, todo):
            f.write(json.dumps(r) + "\n")
            f.flush()
            print(f"{r['stage']:9s} {r['set']:13s} {r.get('label', ''):32s} seed {r['seed']} steps "
                  f"{r['protocol']['steps']:6d}: val {r['val_acc']:6.2f} test {r['test_acc']:6.2f} "
                  f"({r['wall_s']:.0f} s)", flush=True)
            if deadline is not None and time.time() > deadline:
                print("deadline reached: the jobs still running are dropped", flush=True)
                break
        pool.terminate()
    return done_runs(out)


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


#: the yardstick's one protocol: the base optimiser with ZSKD's augmentation (the best augmentation on 1,000 real
#: images), 5,000 steps (on real data, 5k → 10k steps adds about half a point: 86.4 → 86.9 % on 1,000 images)
YARDSTICK_PROTOCOL = Protocol(steps=5_000, augment="zskd")


def jobs_yardstick(proto: Protocol = YARDSTICK_PROTOCOL, seeds: int = 3,
                   sizes: Sequence[int] = YARDSTICK_SIZES) -> list[dict]:
    """The yardstick's runs: ``seeds`` class-balanced subsets of each size N of the training images, each
    distilled with ``proto``."""
    return [{"stage": "yardstick", "set": f"real-{n}", "n": n, "seed": seed, "label": f"{n} real images",
             "protocol": asdict(proto)} for n in sizes for seed in range(seeds)]


# --- the yardstick ----------------------------------------------------------------------------------------------

def worth_real_images(acc: float, yardstick: Mapping) -> dict:
    """How many real training images give a student as good as one of accuracy ``acc`` (%), under the yardstick's
    protocol: the real-data curve (mean accuracy over seeds against the number of class-balanced real images N)
    interpolated linearly in log N; ``low`` / ``high`` read the same off the curves of mean ∓ one standard
    deviation (a band, not a confidence interval).

    Args:
        acc: a student's test accuracy in percent.
        yardstick: the record ``results/yardstick.json`` (``points``: a list of ``{"n", "mean", "sd"}``, N
            increasing).

    Returns:
        ``{"n": N or None, "low": ..., "high": ..., "below": bool, "above": bool}`` — ``below``: ``acc`` is under
        the smallest N's mean (N is then None: "worth fewer than N₀ images"); ``above``: over the largest N's
        mean (None: "worth more than all the real data").

    Raises:
        ValueError: a yardstick with fewer than two points, N not increasing, or ``acc`` not a number in [0, 100].
    """
    pts = yardstick.get("points") if isinstance(yardstick, Mapping) else None
    if not pts or len(pts) < 2:
        raise ValueError(f"yardstick must hold at least two points, got {pts!r}")
    ns = [float(p["n"]) for p in pts]
    if any(b <= a for a, b in zip(ns, ns[1:])):
        raise ValueError(f"yardstick N must increase, got {ns}")
    if not isinstance(acc, (int, float)) or not 0 <= acc <= 100 or math.isnan(acc):
        raise ValueError(f"acc must be a test accuracy in percent, in [0, 100], got {acc!r}")

    def invert(curve: list[float]) -> float | None:
        # the curve need not be monotone: read the first crossing, walking up in N
        if acc < curve[0] or acc > max(curve):
            return None
        for (n0, a0), (n1, a1) in zip(zip(ns, curve), zip(ns[1:], curve[1:])):
            if min(a0, a1) <= acc <= max(a0, a1):
                if a1 == a0:
                    return n0
                u = (acc - a0) / (a1 - a0)
                return math.exp(math.log(n0) + u * (math.log(n1) - math.log(n0)))
        return None

    mean = [p["mean"] for p in pts]
    n = invert(mean)
    # a higher curve reaches acc with fewer images: mean + sd gives the low end of the band
    low = invert([p["mean"] + p["sd"] for p in pts])
    high = invert([p["mean"] - p["sd"] for p in pts])
    return {"n": None if n is None else round(n), "low": None if low is None else round(low),
            "high": None if high is None else round(high), "below": acc < mean[0], "above": acc > max(mean)}


def summarize(runs: list[dict], stage: str) -> list[dict]:
    """Mean ± sd (over seeds) of the final validation and test accuracy, per set and label of ``stage``."""
    groups: dict = {}
    for r in runs:
        if r["stage"] == stage:
            groups.setdefault((r["set"], r.get("label", ""), r["protocol"]["steps"]), []).append(r)
    rows = []
    for (s, label, steps), rs in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][2], kv[0][1])):
        row = {"set": s, "label": label, "steps": steps, "seeds": len(rs), "protocol": rs[0]["protocol"]}
        for key in ("val_acc", "test_acc"):
            v = [r[key] for r in rs]
            m = sum(v) / len(v)
            row[key] = round(m, 2)
            row[key + "_sd"] = round((sum((a - m) ** 2 for a in v) / (len(v) - 1)) ** 0.5, 2) if len(v) > 1 else 0.0
        row["per_seed_test"] = [r["test_acc"] for r in sorted(rs, key=lambda r: r["seed"])]
        row["wall_s"] = round(sum(r["wall_s"] for r in rs) / len(rs), 1)
        rows.append(row)
    return rows


def _by_protocol(runs: list[dict], set_name: str) -> dict[str, list[dict]]:
    """The runs on ``set_name`` grouped by protocol (whatever stage ran them), one run per seed, seeds in order."""
    groups: dict = {}
    for r in runs:
        if r["set"] == set_name and r["stage"] != "yardstick":
            groups.setdefault(Protocol(**r["protocol"]).key(), {})[r["seed"]] = r
    return {k: [v[seed] for seed in sorted(v)] for k, v in groups.items()}


def seed_stats(rs: list[dict]) -> dict:
    """Runs of one set and protocol from several seeds → ``seeds``, ``per_seed_test``, ``test_acc`` and
    ``test_acc_sd`` (mean and sample sd of the final test accuracy, %), ``val_acc`` (mean)."""
    v = [r["test_acc"] for r in rs]
    m = sum(v) / len(v)
    sd = (sum((a - m) ** 2 for a in v) / (len(v) - 1)) ** 0.5 if len(v) > 1 else 0.0
    return {"seeds": len(v), "per_seed_test": v, "test_acc": round(m, 2), "test_acc_sd": round(sd, 2),
            "val_acc": round(sum(r["val_acc"] for r in rs) / len(rs), 2)}


def _curves(runs: list[dict]) -> dict:
    """Stage 3 as learning curves: per set, its best augmentation of stage 1 with the base optimiser, test
    accuracy (mean ± sd over the seeds run) against the budget."""
    out = {}
    for s in SETS:
        best = _best(runs, "augment", s)["protocol"]
        groups = _by_protocol(runs, s)
        points = sorted((json.loads(k)["steps"], seed_stats(rs)) for k, rs in groups.items()
                        if all(json.loads(k)[f] == v for f, v in best.items() if f != "steps"))
        out[s] = {"protocol": {k: v for k, v in best.items() if k != "steps"}, "steps": [p[0] for p in points],
                  **{key: [p[1][key] for p in points]
                     for key in ("test_acc", "test_acc_sd", "val_acc", "seeds", "per_seed_test")}}
    return out


def record(runs: list[dict]) -> dict:
    """``results/protocol.json``: every stage's table, the learning curves of stage 3, every protocol run from
    three seeds or more (mean ± sd), and where the runs ran."""
    three = {s: sorted(({"protocol": json.loads(k), **seed_stats(rs)} for k, rs in _by_protocol(runs, s).items()
                        if len(rs) >= 3), key=lambda r: (r["protocol"]["steps"], -r["val_acc"]))
             for s in _RECIPE_OF}
    devices = sorted({r.get("device", "NVIDIA H100 80GB HBM3") for r in runs})
    return {"dataset": DATASET, "student": "lenet5half", "teachers": TEACHERS, "validation_images": VALIDATION,
            "selection": "final validation accuracy (5,000 held-out training images); test accuracy reported",
            "sets": {s: _SET_NOTES[s] for s in SETS},
            "stages": {"augment": summarize(runs, "augment"), "optimise": summarize(runs, "optimise"),
                       "budget": summarize(runs, "budget")},
            "curves": _curves(runs), "three_seeds": three, "devices": devices, "runs": len(runs)}


_SET_NOTES = {"real-55k": "55,000 Fashion-MNIST training images (all but the validation set)",
              "real-1k": "1,000 of them, class-balanced",
              "zskd": "8,000 ZSKD data impressions (recipe zskd, full profile, seed 0)",
              "deepinversion": "768 DeepInversion images of LeNet-5-BN (recipe deepinversion, full, seed 0)",
              "noise": "6,128 class-balanced uniform-noise images (recipe arbitrary-noise, full, seed 0)"}


def yardstick_record(runs: list[dict]) -> dict:
    """``results/yardstick.json``: the real-data curve — test accuracy (mean ± sd over seeds) of the student
    distilled with :data:`YARDSTICK_PROTOCOL` on N class-balanced real training images."""
    rows = [r for r in runs if r["stage"] == "yardstick"]
    if not rows:
        raise ValueError("no yardstick runs: run `python -m dfkd_book.protocol yardstick` first")
    points = []
    for n in sorted({r["n"] for r in rows}):
        v = [r["test_acc"] for r in sorted((r for r in rows if r["n"] == n), key=lambda r: r["seed"])]
        m = sum(v) / len(v)
        sd = (sum((a - m) ** 2 for a in v) / (len(v) - 1)) ** 0.5 if len(v) > 1 else 0.0
        points.append({"n": n, "mean": round(m, 2), "sd": round(sd, 2), "per_seed": v,
                       "device": sorted({r.get("device", "NVIDIA H100 80GB HBM3") for r in rows if r["n"] == n})})
    return {"dataset": DATASET, "teacher": "lenet5", "student": "lenet5half", "protocol": asdict(YARDSTICK_PROTOCOL),
            "subsets": "class-balanced, drawn from the 60,000 training images with the seed", "points": points}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m dfkd_book.protocol", description=__doc__.split("\n\n")[0])
    ap.add_argument("stage", choices=["sets", "augment", "optimise", "budget", "yardstick", "search", "final",
                                      "screen", "record"])
    ap.add_argument("--out", required=True, help="the search directory (sets.pt, runs.jsonl)")
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
    deadline = time.time() + 60 * a.minutes if a.minutes else None
    if a.stage == "record":  # results/protocol.json and results/yardstick.json from out/runs.jsonl
        runs = done_runs(out, per_stage=True)
        results = RESULTS
        for name, rec in (("protocol", record(runs)), ("yardstick", yardstick_record(runs))):
            text = json.dumps(rec, indent=1, ensure_ascii=False) + "\n"
            config.atomic_write(results / f"{name}.json", lambda f, t=text: f.write(t.encode()))
            print("wrote", results / f"{name}.json")
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
