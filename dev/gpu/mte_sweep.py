"""Chapter 4's mean transition error over seeds and step sizes (issue 21): does zero-shot < few-shot hold?

    python dev/gpu/mte_sweep.py OUT_JSONL --seeds 0 1 2 [--sweep 0.01:1000 0.1:300 1:100] [--n 1000]
                                [--students DIR] [--seconds 540] [--threads 2]

Each seed, in its own process, trains the three students of ``bench mte`` with that seed (the ``zskt`` game, and
the ``few-shot-kd`` / ``full-kd`` students on real images drawn with that seed; the recipes of
``$DFKD_BOOK_PROFILE``, full by default), saves their weights to ``DIR/<recipe>-<seed>.pt`` (reused when
present), then walks each student's first ``--n`` test images it agrees with the teacher on, at every step size
of the sweep (``LR:STEPS``). A line per (seed, student, step size) goes to ``OUT_JSONL`` as it comes: the MTE,
and how far the walks got: the share of walks whose target probability under the student (and under the teacher)
reached 0.5 by the last step, and the median step at which the student's did; ``mte_first`` holds the MTE of
the walk's first 1, 3, 10, 30, 100, 300 steps (shorter walks at the same step size). A walk that crosses at its first
step measures mostly the plateau after the crossing.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch
from _procs import run_timed

STUDENTS = ("zero-shot (ZSKT)", "few-shot KD", "full-data KD")


def _crossing(p: torch.Tensor) -> tuple[float, float | None]:
    """(share of walks whose probability reached 0.5, median first step it did among those; 1-based)."""
    hit = p >= 0.5
    reached = hit.any(-1)
    first = hit.float().argmax(-1) + 1
    share = reached.float().mean().item()
    return round(share, 4), (float(first[reached].float().median()) if reached.any() else None)


def _one(args) -> None:
    seed, out, sweep, n, students_dir, threads = args
    torch.set_num_threads(threads)
    from dfkd_book import boundary, config, data, kd, recipes, zoo
    from dfkd_book.bench import run_recipe

    dev = config.device()
    train, test = data.load("fashion-mnist", "train"), data.load("fashion-mnist", "test")
    full, few = recipes.get("full-kd"), recipes.get("few-shot-kd")
    shots = train.subset(few.extras["per_class"], seed=seed, per_class=True)
    real = train if full.extras["images"] >= len(train) else train.subset(full.extras["images"], seed=seed)
    plan = {"zero-shot (ZSKT)": ("zskt", None), "few-shot KD": ("few-shot-kd", (shots,)),
            "full-data KD": ("full-kd", (real,))}
    teacher = zoo.teacher("lenet5", "fashion-mnist")
    for name, (recipe, args_) in plan.items():
        path = Path(students_dir) / f"{recipe}-{seed}.pt"
        t0 = time.perf_counter()
        student = zoo.student("lenet5half", "fashion-mnist")
        if path.exists():
            student.load_state_dict(torch.load(path, map_location="cpu"))
            trained_s = None
        else:
            res, teacher, _ = run_recipe(recipe, seed, None, progress=False, args=args_)
            student = res.student.cpu()
            config.atomic_write(path, lambda f, s=student: torch.save(s.state_dict(), f))
            trained_s = round(time.perf_counter() - t0, 1)
        acc = round(100 * kd.evaluate(student, test), 2)
        x, y = boundary.agreeing(teacher, student, test.images, n, dev)
        for lr, steps in sweep:
            t1 = time.perf_counter()
            tr = boundary.transition_curves(teacher, student, x, y, steps=steps, lr=lr, batch_size=9_000,
                                            device=dev)
            s_share, s_median = _crossing(tr.p_student)
            t_share, _ = _crossing(tr.p_teacher)
            line = {"student": name, "recipe": recipe, "seed": seed, "student_acc": acc, "lr": lr, "steps": steps,
                    "mte": round(tr.mte, 4), "images": len(x),
                    # the MTE of the walk's first s steps: a shorter walk at the same step size, for free
                    "mte_first": {str(s): round((tr.p_teacher[..., :s] - tr.p_student[..., :s]).abs().mean().item(), 4)
                                  for s in (1, 3, 10, 30, 100, 300) if s < steps}, "walks": int(tr.targets.numel()),
                    "student_crossed": s_share, "student_median_crossing_step": s_median,
                    "teacher_crossed": t_share, "walk_s": round(time.perf_counter() - t1, 1),
                    "train_s": trained_s, "device": torch.cuda.get_device_name(0) if dev.type == "cuda" else "cpu",
                    "commit": os.environ.get("DFKD_BOOK_COMMIT", "?")}
            with open(out, "a") as f:
                f.write(json.dumps(line) + "\n")
            print(json.dumps(line), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--sweep", nargs="+", default=["0.01:1000", "0.1:300", "1:100"], help="LR:STEPS")
    ap.add_argument("--n", type=int, default=1_000)
    ap.add_argument("--students", default="students", help="where the students' weights are kept")
    ap.add_argument("--seconds", type=float, default=540)
    ap.add_argument("--threads", type=int, default=2, help="torch threads per seed's process")
    a = ap.parse_args()
    sweep = [(float(s.split(":")[0]), int(s.split(":")[1])) for s in a.sweep]
    Path(a.students).mkdir(parents=True, exist_ok=True)
    run_timed(_one, [(seed, a.out, sweep, a.n, a.students, a.threads) for seed in a.seeds], a.seconds, "seeds")

if __name__ == "__main__":
    main()
