"""Chapter 4's games (ZSKT, DFAD) run long on a GPU: test accuracy against student steps and teacher queries.

    python dev/gpu/games_probe.py OUT_JSONL --runs zskt:32:0:20000 dfad:128:1:10000 dfad:32:0:10000:mean=0.2:batch=512
                                  [--seconds 170] [--threads 1]

Each run ``GAME:WIDTH:SEED:STEPS[:KEY=VALUE ...]`` is the recipe of :mod:`dfkd_book.recipes` (the full profile) with
the generator's width and the student's budget replaced, and, when given: ``mean=`` the generator's starting pixel
mean (``init_mean`` of :mod:`dfkd_book.models`), ``stats=MEAN/SD`` the official unsquashed output carried to the
teacher's space (``pixel_stats``), ``batch=`` the student's batch, ``lr_s=`` / ``lr_g=`` the student's and the
generator's learning rates, ``s_steps=`` / ``g_steps=`` the steps per outer step, ``balance=`` the weight of the
class-balance term, ``depth=`` the generator's upsampling stages (official 2), ``reuse=1`` (DFAD) one generated
batch for all the student steps of an outer step. Each run is in its own process; every snapshot of the game (every
``STEPS / 20`` student steps) evaluates the student on the Fashion-MNIST test set and appends a line to
``OUT_JSONL`` at once, so a run cut short by ``--seconds`` still leaves its curve. The student's cosine schedule
spans ``STEPS``: a point of the curve is not the final student of a shorter budget.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import torch
from _procs import run_timed


def _one(args) -> None:
    spec, out, threads = args
    game, width, seed, steps, *more = spec.split(":")
    width, seed, steps = int(width), int(seed), int(steps)
    opts = dict(kv.split("=", 1) for kv in more)
    unknown = set(opts) - {"mean", "stats", "batch", "lr_s", "lr_g", "s_steps", "g_steps", "balance", "reuse", "depth"}
    if unknown:
        raise SystemExit(f"unknown options {sorted(unknown)} in {spec!r}")
    init_mean = float(opts["mean"]) if "mean" in opts else None
    batch = int(opts["batch"]) if "batch" in opts else None
    game_kw = {k: int(opts[k]) for k in ("s_steps", "g_steps", "depth") if k in opts}
    game_kw.update({k: float(opts[k]) for k in ("lr_g", "balance") if k in opts})
    if init_mean is not None:
        game_kw["init_mean"] = init_mean
    if "reuse" in opts:
        game_kw["reuse"] = opts["reuse"] not in ("0", "false", "False")
    if "stats" in opts:
        game_kw["pixel_stats"] = tuple(float(v) for v in opts["stats"].split("/"))
    torch.set_num_threads(threads)
    from dfkd_book import config, data, distill, kd, recipes, zoo
    from dfkd_book.bench import method_args

    r = recipes.get(game, "full")
    teacher = zoo.teacher(r.teacher, "fashion-mnist")
    test = data.load("fashion-mnist", "test")
    dev = config.device()
    t0 = time.perf_counter()
    kw = r.student.kwargs()
    kw.update(steps=steps, eval_every=steps, **({"batch_size": batch} if batch else {}))
    kw.update({"lr": float(opts["lr_s"])} if "lr_s" in opts else {})
    s_steps = r.build(*method_args(r, teacher), **game_kw).s_steps
    every = max(steps // s_steps // 20, 1)

    def on_snapshot(step, student, generator):
        acc = kd.evaluate(student, test)
        line = {"game": game, "width": width, "seed": seed, "steps": steps, "step": step, "spec": spec,
                "test_acc": round(100 * acc, 2),
                "wall_s": round(time.perf_counter() - t0, 1), "batch_size": kw["batch_size"], "s_steps": s_steps,
                "device": torch.cuda.get_device_name(0) if dev.type == "cuda" else "cpu",
                "commit": os.environ.get("DFKD_BOOK_COMMIT", "?")}
        with open(out, "a") as f:
            f.write(json.dumps(line) + "\n")

    config.seed_everything(seed)
    m = r.build(*method_args(r, teacher), width=width, snapshot_every=every, on_snapshot=on_snapshot, **game_kw)
    res = distill(teacher, zoo.student(r.student_arch, "fashion-mnist"), m, seed=seed, progress=False,
                  device=dev, **kw)
    with open(out, "a") as f:
        f.write(json.dumps({"game": game, "width": width, "seed": seed, "steps": steps, "final": True,
                            "spec": spec, "settings": m.settings(), "batch_size": kw["batch_size"],
                            "test_acc": round(100 * kd.evaluate(res.student, test), 2),
                            "teacher_queries": res.teacher_queries,
                            "wall_s": round(time.perf_counter() - t0, 1)}) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--runs", nargs="+", required=True)
    ap.add_argument("--seconds", type=float, default=170)
    ap.add_argument("--threads", type=int, default=1, help="torch threads per run")
    a = ap.parse_args()
    run_timed(_one, [(spec, a.out, a.threads) for spec in a.runs], a.seconds, "runs")

if __name__ == "__main__":
    main()
