"""Chapter 4's games (ZSKT, DFAD) run long on a GPU: test accuracy against student steps and teacher queries.

    python dev/gpu/games_probe.py OUT_JSONL --runs zskt:32:0:20000 dfad:128:1:10000 dfad:32:0:10000:0.2:512 ...
                                  [--seconds 170]

Each run ``GAME:WIDTH:SEED:STEPS[:INIT_MEAN[:BATCH]]`` is the recipe of :mod:`dfkd_book.recipes` (the full
profile) with the generator's width and the student's budget replaced (and, when given, the generator's starting
pixel mean, ``init_mean`` of :mod:`dfkd_book.models`, and the student's batch), in its own process; every snapshot
of the game (every ``STEPS / 20`` student steps) evaluates the student on the Fashion-MNIST test set and appends a
line to ``OUT_JSONL`` at once, so a run cut short by ``--seconds`` still leaves its curve. The student's cosine
schedule spans ``STEPS``: a point of the curve is not the final student of a shorter budget.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import torch
from _procs import run_timed


def _one(args) -> None:
    spec, out = args
    game, width, seed, steps, *more = spec.split(":")
    width, seed, steps = int(width), int(seed), int(steps)
    init_mean = float(more[0]) if more and more[0] else None
    batch = int(more[1]) if len(more) > 1 else None
    torch.set_num_threads(1)
    from dfkd_book import config, data, distill, kd, recipes, zoo
    from dfkd_book.bench import method_args

    r = recipes.get(game, "full")
    teacher = zoo.teacher(r.teacher, "fashion-mnist")
    test = data.load("fashion-mnist", "test")
    dev = config.device()
    t0 = time.perf_counter()
    kw = r.student.kwargs()
    kw.update(steps=steps, eval_every=steps, **({"batch_size": batch} if batch else {}))
    s_steps = r.build(*method_args(r, teacher)).s_steps
    every = max(steps // s_steps // 20, 1)

    def on_snapshot(step, student, generator):
        acc = kd.evaluate(student, test)
        line = {"game": game, "width": width, "seed": seed, "steps": steps, "step": step, "init_mean": init_mean,
                "test_acc": round(100 * acc, 2),
                "wall_s": round(time.perf_counter() - t0, 1), "batch_size": kw["batch_size"], "s_steps": s_steps,
                "device": torch.cuda.get_device_name(0) if dev.type == "cuda" else "cpu",
                "commit": os.environ.get("DFKD_BOOK_COMMIT", "?")}
        with open(out, "a") as f:
            f.write(json.dumps(line) + "\n")

    config.seed_everything(seed)
    m = r.build(*method_args(r, teacher), width=width, snapshot_every=every, on_snapshot=on_snapshot,
                **({"init_mean": init_mean} if init_mean is not None else {}))
    res = distill(teacher, zoo.student(r.student_arch, "fashion-mnist"), m, seed=seed, progress=False,
                  device=dev, **kw)
    with open(out, "a") as f:
        f.write(json.dumps({"game": game, "width": width, "seed": seed, "steps": steps, "final": True,
                            "init_mean": init_mean, "batch_size": kw["batch_size"],
                            "test_acc": round(100 * kd.evaluate(res.student, test), 2),
                            "teacher_queries": res.teacher_queries,
                            "wall_s": round(time.perf_counter() - t0, 1)}) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--runs", nargs="+", required=True)
    ap.add_argument("--seconds", type=float, default=170)
    a = ap.parse_args()
    run_timed(_one, [(spec, a.out) for spec in a.runs], a.seconds, "runs")

if __name__ == "__main__":
    main()
