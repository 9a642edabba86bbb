"""Chapter 5's levers (issue 22): a recipe of ``dfkd_book.recipes`` run from several seeds with one thing changed.

    python dev/inv_levers.py OUT_JSONL --only LEVER [LEVER ...] [--seeds 0 1 2] [--workers 2]

Each lever is a recipe with changed settings and/or extras (``LEVERS``); ``"<recipe>, as the recipe"`` is the
recipe itself, the pair of every lever on the same seeds. A run is a fresh synthesis and a fresh student from its
seed (the recipe's student protocol, the final student on the Fashion-MNIST test set), in its own process of one
thread; each finished run is appended to ``OUT_JSONL`` at once (stage ``"lever inversion"``; runs already there
are skipped). Append the lines to ``results/inversion-levers.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "gpu"))
from _procs import device_name, run_pool  # noqa: E402

#: lever label → (recipe, its settings changed, its extras changed[, its student protocol changed])
LEVERS = {
    "activation records, as the recipe": ("activation-records", {}, {}),
    # one draw of every layer's targets from the concatenated Gaussian, not one draw per layer
    "activation records, joint draws": ("activation-records", {}, {"joint": True}),
    # only the top layer's targets: nothing left to contradict
    "activation records, top layer only": ("activation-records", {}, {"layers": ["classifier.fc3"]}),
    "activation records, student lr 3e-3": ("activation-records", {}, {}, {"lr": 3e-3}),
    # DeepInversion's image quality (issue 22): one thing changed at a time
    "deepinversion, as the recipe": ("deepinversion", {}, {}),
    "deepinversion, 2,000 steps per batch": ("deepinversion", {"steps": 2000}, {}),
    "deepinversion, lr 0.1": ("deepinversion", {"lr": 0.1}, {}),
    "deepinversion, 6,144 images": ("deepinversion", {"n": 6144}, {}),
    "deepinversion, BN weight 10": ("deepinversion", {"bn_weight": 10.0}, {}),
    "deepinversion, first BN weight 1": ("deepinversion", {"first_weight": 1.0}, {}),
    "deepinversion, uniform init": ("deepinversion", {"init_range": (0.0, 1.0)}, {}),
    "deepinversion, synthesis batch 64": ("deepinversion", {"batch_size": 64}, {}),
    "deepinversion, student lr 3e-3": ("deepinversion", {}, {}, {"lr": 3e-3}),
    "deepinversion, student lr 1e-3": ("deepinversion", {}, {}, {"lr": 1e-3}),
    # the student's start: Adam at 1e-2 from step 0 lost its second CPU seed (51.55 %, 55.92 % for BN statistics)
    "deepinversion, student warm-up 500 steps": ("deepinversion", {}, {}, {"warmup": 500}),
    # the image priors and the class term (session 22, on the CPU): the recipe has TV 1e-3, L2 1e-5, CE 1
    "deepinversion, TV weight 1e-2": ("deepinversion", {"tv_weight": 1e-2}, {}),
    "deepinversion, L2 weight 1e-3": ("deepinversion", {"l2_weight": 1e-3}, {}),
    "deepinversion, CE weight 0.1": ("deepinversion", {"ce_weight": 0.1}, {}),
    "deepinversion, CE weight 10": ("deepinversion", {"ce_weight": 10.0}, {}),
    # Adaptive DeepInversion: the 768 images in 4 rounds, each against the student in training (competition term
    # 1 − JS at τ = 3, weight 1)
    "deepinversion, competition in 4 rounds": ("deepinversion", {"competition_weight": 1.0, "rounds": 4}, {}),
    "bn-stats, as the recipe": ("bn-stats", {}, {}),
    "bn-stats, student lr 3e-3": ("bn-stats", {}, {}, {"lr": 3e-3}),
    "bn-stats, student warm-up 500 steps": ("bn-stats", {}, {}, {"warmup": 500}),
    "spectral, as the recipe": ("spectral", {}, {}),
    "spectral, student lr 3e-3": ("spectral", {}, {}, {"lr": 3e-3}),
    # the BN-teacher students' warm-up (session 22) for the two record-based methods too
    "activation records, student warm-up 500 steps": ("activation-records", {}, {}, {"warmup": 500}),
    "spectral, student warm-up 500 steps": ("spectral", {}, {}, {"warmup": 500}),
}


def _one(job: dict) -> dict:
    import torch

    torch.set_num_threads(1)
    from dfkd_book import config, data, kd, recipes, zoo
    from dfkd_book.bench import run_recipe

    name, settings, extras, *student = LEVERS[job["label"]]
    r = recipes.get(name)
    r = replace(r, settings={**r.settings, **settings}, extras={**r.extras, **extras},
                student=replace(r.student, **(student[0] if student else {})))
    t0 = time.perf_counter()
    args = r.args(zoo.teacher(r.teacher, "fashion-mnist"))  # the extras change what the owner records
    res, _, _ = run_recipe(name, job["seed"], progress=False, args=args, recipe=r)
    test = data.load("fashion-mnist", "test")
    records = getattr(res.method, "records", None)
    return {**job, "recipe": r.as_dict(), "test_acc": round(100 * kd.evaluate(res.student, test), 2),
            "synthetic_images": len(res.method.inversion), "synthesis_s": round(res.method.seconds, 1),
            "distillation_s": round(res.history.seconds, 1), "steps": res.steps,
            "metadata_bytes": None if records is None else records.nbytes(),
            "wall_s": round(time.perf_counter() - t0, 1), "device": device_name(),
            "commit": os.environ.get("DFKD_BOOK_COMMIT", "?"), "profile": config.profile()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--only", nargs="+", choices=sorted(LEVERS), required=True)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--workers", type=int, default=1)
    a = ap.parse_args()
    out = Path(a.out)
    done = set()
    if out.exists():
        done = {(r["label"], r["seed"]) for r in map(json.loads, out.read_text().splitlines()) if r}
    jobs = [{"stage": "lever inversion", "label": label, "seed": seed} for seed in a.seeds for label in a.only
            if (label, seed) not in done]
    print(f"{len(jobs)} runs to do", flush=True)
    run_pool(_one, jobs, out, a.workers, "label")

if __name__ == "__main__":
    main()
