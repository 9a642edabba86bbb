"""SSD-KD's Table 4 (issue 23) from several seeds: every row of ``ssd.ABLATION`` × every seed, one process each.

    python3 dev/gpu/ssd_table4.py OUT_JSONL [--seeds 0 1 2 3 4] [--epochs E] [--g-steps G] [--kd-steps K]
                                             [--workers 15] [--rows ROW ...]

A run is the ``ssd-kd`` recipe (``bench.run_recipe``: a fresh student from its seed) with the row's switches and
this budget (default: the recipe's ``extras["ablation"]``, the one chapter 6 reads): ``epochs`` ×
``synthesis_batch`` samples, ``epochs`` × ``kd_steps`` student steps; the final student on the Fashion-MNIST test
set. Each finished run is appended to ``OUT_JSONL`` at once (runs already there are skipped). Append the lines to
``results/ssd-table4-runs.jsonl``.

``--rows`` picks rows, of Table 4 or of ``LEVERS`` (a Table 4 row with more settings changed: the book's earlier
readings of Algorithm 1, ``ssd.READINGS``, and Fast's generator); a lever's runs have stage ``"lever"`` and go to
``results/ssd-levers.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import replace
from pathlib import Path

from _procs import device_name, run_pool

from dfkd_book.methods.ssd import ABLATION as _ABLATION, READINGS as _READINGS  # the script runs with the repository on PYTHONPATH

#: Fast's generator (Fang et al. 2022), as the ssd-kd-fast recipe has it: one meta-learned generator over the run
_FAST = dict(reinit_generator=False, meta=True, g_steps=8)

#: lever row → (the Table 4 row it changes, the SSDKD settings it changes[, the student protocol's fields changed])
LEVERS = {
    # the book's earlier readings of Algorithm 1 (ssd.READINGS; its first entry is the book's own, the row itself)
    **{f"SSD-KD (all), {name}": ("SSD-KD (all)", switches) for name, switches in list(_READINGS.items())[1:]},
    # Fast (Fang et al. 2022): one generator over the run instead of a fresh one per epoch, and its meta-learned
    # version (Reptile) with a tenth of the generator steps
    "baseline, generator carried over": ("baseline", dict(reinit_generator=False)),
    "baseline, Fast meta-generator, 8 g-steps": ("baseline", _FAST),
    "SSD-KD (all), Fast meta-generator, 8 g-steps": ("SSD-KD (all)", _FAST),
    # the student's start, as chapter 5's BN-teacher students (Adam at 1e-2 from step 0 loses an occasional seed),
    # with Fast's meta-generator: every Table 4 row
    **{f"{row}, Fast meta-generator, 8 g-steps, student warm-up 500": (row, _FAST, dict(warmup=500))
       for row in _ABLATION},
    "SSD-KD (all), Fast meta-generator, 20 g-steps, student warm-up 500": (
        "SSD-KD (all)", {**_FAST, "g_steps": 20}, dict(warmup=500)),
    "SSD-KD (all), student warm-up 500": ("SSD-KD (all)", {}, dict(warmup=500)),
}


def _switches(row: str) -> dict:
    """The SSDKD keyword arguments of a Table 4 row or a lever."""
    base, more, *_ = LEVERS.get(row, (row, {}))
    return {**_ABLATION[base], **more}


def _student(row: str) -> dict:
    """The student-protocol fields a lever changes ({} for a Table 4 row)."""
    _, _, *student = LEVERS.get(row, (row, {}))
    return student[0] if student else {}


def _one(job: dict) -> dict:
    import torch

    torch.set_num_threads(1)
    from dfkd_book import config, data, kd, recipes
    from dfkd_book.bench import run_recipe
    r = recipes.get("ssd-kd")
    b = job["budget"]
    student = _student(job["row"])
    r = replace(r, student=replace(r.student, steps=b["epochs"] * b["kd_steps"], **student))
    t0 = time.perf_counter()
    settings = dict(g_steps=b["g_steps"], kd_steps=b["kd_steps"], capacity=b["epochs"] * r.settings["synthesis_batch"])
    res, _, _ = run_recipe("ssd-kd", job["seed"], progress=False, recipe=r, **{**settings, **_switches(job["row"])})
    return {**job, "recipe": r.as_dict(), "test_acc": round(100 * kd.evaluate(res.student, data.load("fashion-mnist",
                                                                                                      "test")), 2),
            "settings": res.method.settings(), "synthetic_samples": res.method.synthetic,
            "changes": {"of": LEVERS[job["row"]][0], **LEVERS[job["row"]][1], **student} if job["row"] in LEVERS
            else None,
            "steps": res.steps, "distill_s": round(res.history.seconds, 1),
            "wall_s": round(time.perf_counter() - t0, 1),
            "device": device_name(), "commit": os.environ.get("DFKD_BOOK_COMMIT", "?"), "profile": config.profile()}


def main() -> None:
    from dfkd_book import recipes
    from dfkd_book.methods import ssd

    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ab = recipes.get("ssd-kd").extras["ablation"]  # the recipe's Table 4 budget, the one chapter 6 reads
    ap.add_argument("--epochs", type=int, default=ab["epochs"])
    ap.add_argument("--g-steps", type=int, default=ab["g_steps"])
    ap.add_argument("--kd-steps", type=int, default=ab["kd_steps"])
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--rows", nargs="+", choices=[*ssd.ABLATION, *LEVERS], default=list(ssd.ABLATION))
    a = ap.parse_args()
    budget = {"epochs": a.epochs, "g_steps": a.g_steps, "kd_steps": a.kd_steps}
    out = Path(a.out)
    done = set()
    if out.exists():
        done = {(r["row"], r["seed"], json.dumps(r["budget"], sort_keys=True))
                for r in map(json.loads, out.read_text().splitlines()) if r}
    jobs = [{"stage": "lever" if row in LEVERS else "table 4", "row": row, "seed": seed, "budget": budget}
            for seed in a.seeds for row in a.rows if (row, seed, json.dumps(budget, sort_keys=True)) not in done]
    print(f"{len(jobs)} runs to do", flush=True)
    run_pool(_one, jobs, out, a.workers, "row")

if __name__ == "__main__":
    main()
