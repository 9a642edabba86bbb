"""The command line and the result records: ``python -m dfkd_book.bench METHOD [--seeds N]`` runs one method's
recipe (:mod:`dfkd_book.recipes`) end to end through :func:`dfkd_book.distill` with the active profile and writes
``results/METHOD.json``; ``python -m dfkd_book.bench all [--only M ...] [--skip M ...]`` runs them in turn (a
failing method is reported, the others still run) and writes ``results/bench-all.json``.

Nothing in the package or the chapters imports this module: it only runs recipes and writes records. Speed and
accuracy targets are benchmarks, measured here and recorded in ``results/``, never timed tests. Every record
carries: method, dataset, teacher, student, teacher_acc, student_acc (in %; with ``--seeds N`` the mean, with
``student_acc_sd`` and ``per_seed``), wall_s, the student's steps and teacher queries, the recipe it ran, device,
profile, torch / torchvision versions, git commit, date.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import json
import os
import platform
import subprocess
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import torch

from . import config, data, recipes, zoo
from .kd import evaluate
from .loop import distill

REPO_ROOT = config.REPO_ROOT


def git_commit() -> str:
    """The repository's HEAD commit (``+dirty`` when the tree has uncommitted changes outside ``results/``), or
    ``"unknown"``. A run on a copy of the tree without its ``.git`` (a lent GPU machine) names its commit in the
    environment variable ``DFKD_BOOK_COMMIT``, which then wins."""
    if os.environ.get("DFKD_BOOK_COMMIT"):
        return os.environ["DFKD_BOOK_COMMIT"]
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True,
                              check=True, timeout=10).stdout.strip()
        # results/ holds the records themselves: another bench writing its record does not make this run's
        # code uncommitted
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".",
                                ":(exclude)results"], cwd=REPO_ROOT, capture_output=True, text=True,
                               timeout=10).stdout.strip()
        return head + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def environment() -> dict:
    """Where a number was measured: device, threads, profile, versions, commit, date."""
    import torchvision

    dev = config.device()
    return {
        "device": str(dev) + (f" ({torch.cuda.get_device_name(dev)})" if dev.type == "cuda" else ""),
        "cpu_count": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "profile": config.profile(),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "python": platform.python_version(),
        "git_commit": git_commit(),
        "date": _now(),
    }


def _now() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


DATASET = "fashion-mnist"


def _history(hist) -> dict:
    """A training curve for a record: student steps, test accuracy in %, cumulative wall seconds, teacher queries."""
    return {"step": hist.step, "test_acc": [round(100 * a, 2) for a in hist.test_acc],
            "wall_s": [round(w, 1) for w in hist.wall_s], "teacher_forward": hist.teacher_forward,
            "teacher_backward": hist.teacher_backward}


def method_args(recipe: recipes.Recipe, teacher, train=None) -> tuple:
    """What a recipe's method needs first (:meth:`dfkd_book.recipes.Recipe.args`)."""
    return recipe.args(teacher, train)


def run_recipe(name: str, seed: int = 0, test=None, progress: bool = True, args: tuple | None = None,
               recipe: recipes.Recipe | None = None, **overrides):
    """One seeded run of recipe ``name`` through :func:`dfkd_book.distill`: a fresh student, the method built by
    the recipe (``overrides`` replace its settings). ``recipe``: a changed copy of the recipe to run instead (a
    lever: other settings, extras or student protocol). Returns ``(result, teacher, recipe)``."""
    r = recipes.get(name) if recipe is None else recipe
    teacher = zoo.teacher(r.teacher, DATASET)
    args = method_args(r, teacher) if args is None else args
    config.seed_everything(seed)
    student = zoo.student(r.student_arch, DATASET)
    result = distill(teacher, student, r.build(*args, **overrides), eval_set=test, seed=seed, progress=progress,
                     name=name, **r.student.kwargs())
    return result, teacher, r


#: the package's modules that only show or tabulate results: they cannot change a student, so editing them keeps
#: the kept students
_PRESENTATION = {"plot.py", "leaderboard.py", "chapters.py", "widgets.py"}


def _code_digest() -> str:
    """SHA-256 (first 16 hex digits) of the package's source files but the presentation modules: a kept student
    is reused only by the code that trained it."""
    h = hashlib.sha256()
    for f in sorted(Path(__file__).parent.rglob("*.py")):
        if f.parent == Path(__file__).parent and f.name in _PRESENTATION:
            continue
        h.update(f.relative_to(Path(__file__).parent).as_posix().encode() + b"\0" + f.read_bytes())
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
    per-seed numbers, wall time, budget, teacher queries, the recipe, the first seed's history."""
    result, teacher, r = runs[0]
    accs = [round(100 * evaluate(res.student, test), 2) for res, _, _ in runs]
    mean = sum(accs) / len(accs)
    sd = (sum((a - mean) ** 2 for a in accs) / (len(accs) - 1)) ** 0.5 if len(accs) > 1 else 0.0
    return {
        "dataset": DATASET, "teacher": r.teacher, "student": r.student_arch,
        "teacher_acc": round(100 * evaluate(teacher, test), 2),
        "student_acc": round(mean, 2), "student_acc_sd": round(sd, 2), "seeds": len(runs), "per_seed": accs,
        "wall_s": round(wall / len(runs), 1),
        "steps": result.steps, "batch_size": r.student.batch_size, "teacher_queries": result.teacher_queries,
        "synthesis_s": round(result.method.seconds, 1), "distillation_s": round(result.history.seconds, 1),
        **fields,
        "recipe": r.as_dict(),
        "history": _history(result.history),
    }


def _seeded(name: str, seeds: int, test, **kw) -> tuple[list, float]:
    t0 = time.perf_counter()
    runs = [run_recipe(name, seed, test, **kw) for seed in range(seeds)]
    return runs, time.perf_counter() - t0


def kd_real(seeds: int = 1) -> dict:
    """Student-KD on real data: the ceiling every data-free method is compared against."""
    test = data.load(DATASET, "test")
    runs, wall = _seeded("kd-real", seeds, test)
    n = len(runs[0][0].pool)
    return _record("kd-real", runs, test, wall, transfer_set=f"{DATASET} train ({n} images)", transfer_samples=n,
                   transfer_kind="real",
                   paper={"source": "Nayak et al. 2019, Table 2", "teacher_acc": 90.84, "student_ce_acc": 89.43,
                          "student_kd_acc": 89.66, "published": 89.66, "setting": "Fashion-MNIST, real training set"})


def _worth(acc: float, r: recipes.Recipe) -> dict:
    """What a student of ``acc`` (%) is worth in real images on the yardstick (``results/yardstick.json``,
    :func:`dfkd_book.protocol.worth_real_images`), with the yardstick's protocol beside the recipe's student: where
    they differ the number is a reading of the curve, not a like-for-like measurement (the same set under the
    yardstick's protocol is in the ablation record, ``python -m dfkd_book.ablation``)."""
    from . import protocol

    path = config.RESULTS / "yardstick.json"
    if not path.exists():
        return {}
    y = json.loads(path.read_text())
    same = all(getattr(r.student, k) == v for k, v in y["protocol"].items() if k != "warmup")
    return {"worth_real_images": protocol.worth_real_images(acc, y), "yardstick_protocol": y["protocol"],
            "worth_like_for_like": same}


def zskd(seeds: int = 1) -> dict:
    """ZSKD: craft data impressions (Nayak et al. 2019, eq. 3), then distil on them with augmentation."""
    test = data.load(DATASET, "test")
    runs, wall = _seeded("zskd", seeds, test)
    di = runs[0][0].method.impressions
    rec = _record("zskd", runs, test, wall, transfer_set=f"{len(di)} data impressions", impressions=len(di),
                   transfer_samples=len(di), transfer_kind="synthetic", steps_per_impression=di.steps,
                   impression_steps=di.impression_steps, crafting_s=round(di.seconds, 1),
                   crafting_s_per_seed=[round(res.method.impressions.seconds, 1) for res, _, _ in runs],
                   distillation_s_per_seed=[round(res.history.seconds, 1) for res, _, _ in runs],
                   student_steps=runs[0][0].steps,
                   paper={"source": "Nayak et al. 2019, Tables 2 and 6", "teacher_acc": 90.84, "student_acc": 79.62,
                          "student_acc_without_augmentation": 69.37, "impressions": 48_000,
                          "steps_per_impression": 1500, "published": 79.62,
                          "setting": "Fashion-MNIST, 48,000 data impressions"})
    return {**rec, **_worth(rec["student_acc"], runs[0][2])}


def _arbitrary(name: str, published: dict, seeds: int) -> dict:
    """Balance each family's sources by Algorithm 1 (Nayak et al. 2021), concatenate, distil with augmentation."""
    test = data.load(DATASET, "test")
    runs, wall = _seeded(name, seeds, test)
    method = runs[0][0].method
    composition = method.composition()
    size = len(method.pool)
    return _record(name, runs, test, wall,
                   transfer_set=f"{size} arbitrary images, balanced: " + " + ".join(method.balanced),
                   transfer_size=size, composition=composition, transfer_samples=size, transfer_kind="arbitrary",
                   examined=sum(b.examined for b in method.balanced.values()),
                   balancing_s=round(method.seconds, 1),
                   paper={"source": "Nayak et al. 2021 (WACV), Tables 1 and 2", "teacher_acc": 90.84,
                          "balanced_noise_with_augmentation": 74.33, "svhn_tinyimagenet_with_augmentation": 84.75,
                          **published})


def arbitrary_noise(seeds: int = 1) -> dict:
    """Balanced uniform noise + augmentation (Nayak et al. 2021, Table 1: 74.33 % on Fashion-MNIST)."""
    return _arbitrary("arbitrary-noise", {"published": 74.33,
                                          "setting": "Fashion-MNIST, balanced uniform noise + augmentation"}, seeds)


def arbitrary_best(seeds: int = 1) -> dict:
    """The best offline combination of chapter 3 (every offline source in one Algorithm 1: natural, then synthetic,
    then multi-scale noise), + augmentation."""
    return _arbitrary("arbitrary-best", {"published": 84.75,
                                         "setting": "Fashion-MNIST, SVHN + TinyImageNet (balanced) + augmentation"},
                      seeds)


_ADVERSARIAL_PAPER = {"source": "Micaelli & Storkey 2019 (ZSKT); Fang et al. 2019 (DFAD)", "teacher_acc": 90.84,
                      "dfad_mnist_student_acc": 98.3, "note": "no published Fashion-MNIST number for either game",
                      "published": 98.3, "setting": "MNIST (DFAD); no Fashion-MNIST number"}
_GAME_PAPERS = {
    "zskt": {"source": "Micaelli & Storkey 2019 (ZSKT)", "note": "CIFAR-10 and SVHN only", "published": None,
             "setting": "no Fashion-MNIST or MNIST number"},
    "dfad": {"source": "Fang et al. 2019 (DFAD)", "teacher_acc": 98.9, "published": 98.3,
             "note": "no published Fashion-MNIST number", "setting": "MNIST, LeNet-5 → LeNet-5-Half"},
}


def _game(game: str, seeds: int, test) -> dict:
    """One game's record (``bench zskt`` / ``bench dfad``); its students are kept (``bench mte`` reuses ZSKT's)."""
    runs, wall = _seeded(game, seeds, test)
    for seed, (res, _, _) in enumerate(runs):
        keep_student(game, seed, res.student)
    return _record(game, runs, test, wall, transfer_set=f"images of a generator, {game.upper()} game", game=game,
                   transfer_samples=runs[0][0].method.synthetic, transfer_kind="generated",
                   game_settings=runs[0][0].method.settings(), paper=_GAME_PAPERS[game])


def zskt(seeds: int = 1) -> dict:
    """ZSKT alone (Micaelli & Storkey 2019): its students and wall time, from ``seeds`` seeds."""
    return _game("zskt", seeds, data.load(DATASET, "test"))


def dfad(seeds: int = 1) -> dict:
    """DFAD alone (Fang et al. 2019): its students and wall time, from ``seeds`` seeds."""
    return _game("dfad", seeds, data.load(DATASET, "test"))


def adversarial(seeds: int = 1) -> dict:
    """ZSKT and DFAD with the same teacher; the record keeps the game whose mean student is better, and each
    game's own record (``zskt.json``, ``dfad.json``, with its own wall time) is written beside it (``_parts``)."""
    test = data.load(DATASET, "test")
    recs = {g: _game(g, seeds, test) for g in ("zskt", "dfad")}
    best = max(recs, key=lambda g: recs[g]["student_acc"])
    rec = recs[best]
    return {**{k: v for k, v in rec.items() if k not in ("paper", "game_settings")},
            "wall_s": sum(r["wall_s"] for r in recs.values()),
            "games": {g: {k: r[k] for k in ("student_acc", "student_acc_sd", "per_seed", "steps", "wall_s",
                                             "teacher_queries", "distillation_s", "game_settings", "history")}
                      for g, r in recs.items()},
            "paper": _ADVERSARIAL_PAPER, "_parts": recs}


def mte(seeds: int = 1) -> dict:
    """The mean transition error (Micaelli & Storkey 2019) of the zero-shot ZSKT student, a few-shot-KD student
    and a full-data KD student against the teacher, each on test images it agrees with the teacher on."""
    from . import boundary

    train, test = data.load(DATASET, "train"), data.load(DATASET, "test")
    full = recipes.get("full-kd")
    few = recipes.get("few-shot-kd")
    t0 = time.perf_counter()
    shots = train.subset(few.extras["per_class"], seed=0, per_class=True)
    real = train if full.extras["images"] >= len(train) else train.subset(full.extras["images"], seed=0)
    kept = kept_student("zskt", 0)  # kept by bench adversarial under the same code
    students = {"zero-shot (ZSKT)": kept if kept is not None else run_recipe("zskt", 0, test)[0].student,
                "few-shot KD": run_recipe("few-shot-kd", 0, None, args=(shots,))[0].student,
                "full-data KD": run_recipe("full-kd", 0, test, args=(real,))[0].student}
    teacher = zoo.teacher(full.teacher, DATASET)
    rows = {}
    for name, student in students.items():
        x, y = boundary.agreeing(teacher, student, test.images, full.extras["bench_n"])
        t1 = time.perf_counter()
        tr = boundary.transition_curves(teacher, student, x, y, steps=full.extras["mte"]["steps"],
                                        lr=full.extras["mte"]["lr"])
        rows[name] = {"student_acc": round(100 * evaluate(student, test), 2), "mte": round(tr.mte, 4),
                      "images": len(x), "walks": int(tr.targets.numel()),
                      "mte_seconds": round(time.perf_counter() - t1, 1)}
    rows["zero-shot (ZSKT)"]["kept"] = kept is not None
    zero = rows["zero-shot (ZSKT)"]
    return {"dataset": DATASET, "teacher": "lenet5", "student": "lenet5half",
            "teacher_acc": round(100 * evaluate(teacher, test), 2),
            "student_acc": zero["student_acc"], "mte": zero["mte"], "students": rows,
            "mte_steps": full.extras["mte"]["steps"], "mte_lr": full.extras["mte"]["lr"],
            "wall_s": round(time.perf_counter() - t0, 1),
            "recipe": {r.name: r.as_dict() for r in (recipes.get("zskt"), few, full)},
            "paper": {"source": "Micaelli & Storkey 2019, poster: MTE zero-shot vs KD+AT",
                      "svhn": {"zero_shot": 0.09, "kd_at": 0.64}, "cifar10": {"zero_shot": 0.22, "kd_at": 0.68}}}


#: Lopes et al. 2017 report MNIST only (LeNet-5 teachers): 77.30 % from top-layer activation statistics, 85.61 % from
#: all layers, 92.47 % from spectral layer-pair records (graph spectra, not the Fourier spectra of the Nasyrov et al.
#: library, which publishes no accuracy). None is a Fashion-MNIST number: ``published`` stays None.
_LOPES_MNIST = {"top_layer": 77.30, "all_layers": 85.61, "spectral_layer_pairs": 92.47}
_NO_FMNIST = {"published": None, "note": "no published Fashion-MNIST number"}


def _inversion(name: str, paper: dict, seeds: int) -> dict:
    test = data.load(DATASET, "test")
    runs, wall = _seeded(name, seeds, test)
    res = runs[0][0]
    inv = res.method.inversion
    extra = {}
    records = getattr(res.method, "records", None)
    if records is not None:
        extra["metadata_bytes"] = records.nbytes()
    if name == "spectral":  # the baseline the chapter compares with: plain uniform noise, the same budget
        from .methods import TransferSet

        noise = torch.rand(len(inv.images), *inv.images.shape[1:], generator=torch.Generator().manual_seed(0))
        r = recipes.get(name)
        config.seed_everything(0)
        base = distill(zoo.teacher(r.teacher, DATASET), zoo.student(r.student_arch, DATASET), TransferSet(noise),
                       eval_set=test, seed=0, name="uniform noise", **r.student.kwargs())
        extra["uniform_noise_student_acc"] = round(100 * base.final_acc, 2)
    return _record(name, runs, test, wall, transfer_set=f"{len(inv)} images, {name}", synthetic_images=len(inv),
                   transfer_samples=len(inv), transfer_kind="synthetic", steps_per_batch=inv.steps,
                   seconds_per_1000_images=round(1000 * inv.seconds / len(inv), 1), paper=paper, **extra)


def bn_stats(seeds: int = 1) -> dict:
    """BN-statistics matching alone, LeNet-5-BN teacher."""
    return _inversion("bn-stats", _NO_FMNIST | {"source": "BN-statistics matching (the BN term of Yin et al. 2020)",
                                                "setting": "no published number"}, seeds)


def activation_records(seeds: int = 1) -> dict:
    """Activation records (Lopes et al. 2017), LeNet-5 teacher (no BN)."""
    return _inversion("activation-records", _NO_FMNIST | {
        "source": "Lopes et al. 2017", "mnist_student_acc": _LOPES_MNIST,
        "setting": "no Fashion-MNIST number (MNIST: all layers 85.61, top layer 77.30)"}, seeds)


def spectral(seeds: int = 1) -> dict:
    """Spectral feature matching (Nasyrov et al., method 2), LeNet-5 teacher, with a uniform-noise baseline."""
    return _inversion("spectral", _NO_FMNIST | {
        "source": "Nasyrov et al. 2024 (DFDistill library, method 2)", "note": "the library publishes no accuracy",
        "setting": "no published number"}, seeds)


def deepinversion(seeds: int = 1) -> dict:
    """DeepInversion (Yin et al. 2020), LeNet-5-BN teacher."""
    return _inversion("deepinversion", {"source": "Yin et al. 2020 (DeepInversion)",
                                        "note": "no published LeNet-5 / Fashion-MNIST number", "published": None,
                                        "setting": "no published number"}, seeds)


def ssd_kd(seeds: int = 1, name: str = "ssd-kd") -> dict:
    """SSD-KD (Liu et al. 2024) by its recipe ``name`` (``ssd-kd``: Algorithm 1's fresh generator per epoch;
    ``ssd-kd-fast``: Fast's meta-generator), LeNet-5-BN teacher."""
    test = data.load(DATASET, "test")
    runs, wall = _seeded(name, seeds, test)
    method = runs[0][0].method
    return _record(name, runs, test, wall, transfer_set=f"{method.synthetic} synthetic samples",
                   synthetic_samples=method.synthetic, transfer_samples=method.synthetic, transfer_kind="synthetic",
                   buffer_capacity=method.buffer.capacity,
                   paper={"source": "Liu et al. 2024 (SSD-KD), Table 1", "cifar10_resnet34_resnet18": 92.92,
                          "note": "no published Fashion-MNIST number", "published": None,
                          "setting": "no Fashion-MNIST number (CIFAR-10, ResNet-34 → ResNet-18: 92.92)"})


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
    from .methods import TransferSet

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


#: method name → function returning the method-specific fields of its record.
METHODS: dict[str, Callable[[], dict]] = {
    "kd-real": kd_real,
    "zskd": zskd,
    "arbitrary-noise": arbitrary_noise,
    "arbitrary-best": arbitrary_best,
    "adversarial": adversarial,
    "zskt": zskt,
    "dfad": dfad,
    "mte": mte,
    "bn-stats": bn_stats,
    "activation-records": activation_records,
    "spectral": spectral,
    "deepinversion": deepinversion,
    "ssd-kd": ssd_kd,
    "ssd-kd-fast": lambda seeds=1: ssd_kd(seeds, "ssd-kd-fast"),
    "speed": speed,
}


def run(method: str, out_dir: str | os.PathLike = config.RESULTS, env: dict | None = None,
        seeds: int = 1) -> dict:
    """Run ``method`` (the student, and the synthesis where it is random, from ``seeds`` seeds 0..N−1) and write
    ``out_dir/METHOD.json`` atomically; return the record.

    ``env``: the :func:`environment` to record (``bench all`` passes the one it took at its start, so every record
    of a run names the same commit — the records it writes would otherwise make the tree look dirty).

    Raises:
        ValueError: unknown method (the message lists the known ones), or seeds < 1.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; known: {', '.join(METHODS)}")
    if not isinstance(seeds, int) or isinstance(seeds, bool) or seeds < 1:
        raise ValueError(f"seeds must be a positive int, got {seeds!r}")
    env = environment() if env is None else env
    t0 = time.perf_counter()
    record = {"method": method, **(METHODS[method](seeds) if seeds != 1 else METHODS[method]()), **env}
    record["total_wall_s"] = round(time.perf_counter() - t0, 1)
    # a method that runs others' recipes too (adversarial: both games) hands their records over as parts
    for part, rec in record.pop("_parts", {}).items():
        text = json.dumps({"method": part, **rec, **env, "written_by": method}, indent=2) + "\n"
        config.atomic_write(Path(out_dir) / f"{part}.json", lambda f, text=text: f.write(text.encode()))
    text = json.dumps(record, indent=2) + "\n"
    config.atomic_write(Path(out_dir) / f"{method}.json", lambda f: f.write(text.encode()))
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


def run_all(names: list[str], out_dir: str | os.PathLike = config.RESULTS, summary: bool = True,
            seeds: int = 1) -> dict:
    """Run each method of ``names`` in turn (:func:`run`); a method that raises is reported (traceback on stderr)
    and the others still run. With ``summary``, write ``out_dir/bench-all.json``: per method its status, student
    accuracy (%) and wall seconds, the total wall seconds and the environment — the record of one complete run.

    Returns the summary dict (``failed``: the names that raised).
    """
    env = environment()
    t0 = time.perf_counter()
    methods: dict[str, dict] = {}
    for i, name in enumerate(names, 1):
        print(f"== [{i}/{len(names)}] {name}", flush=True)
        t1 = time.perf_counter()
        try:
            record = run(name, out_dir, {**env, "date": _now()}, seeds)
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
        text = json.dumps(result, indent=2) + "\n"
        config.atomic_write(Path(out_dir) / "bench-all.json", lambda f: f.write(text.encode()))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dfkd_book.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("method", choices=sorted(METHODS) + ["all"],
                        help="one method, or all of them in turn (a failing method does not stop the others)")
    parser.add_argument("--out", default=str(config.RESULTS), help="directory for METHOD.json")
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
        print(f"wrote {Path(args.out) / (args.method + '.json')}")
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
