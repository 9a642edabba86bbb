"""Chapter 6's race over several seeds (issue 23): DeepInversion (chapter 5's recipe) and SSD-KD with Fast's
meta-generator (the ``ssd-kd-fast`` recipe), each at chapter 6's own scale — half the SSD-KD recipe's epochs: the
same number of synthetic samples and of student steps, evaluated every ``kd_steps`` — as the chapter runs them.

    DFKD_BOOK_PROFILE=full OMP_NUM_THREADS=2 python dev/ssd_race.py OUT_JSONL --seeds 0 1 2

The runs go one after another in this process (all the machine's threads: a race is timed, so nothing may run
beside it). Each finished run is appended to ``OUT_JSONL`` at once (stage ``"race"``; runs already there are
skipped), with its learning curve against wall time, student steps and teacher queries. Append the lines to
``results/ssd-race-runs.jsonl``; chapter 6 reads them.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

RACERS = ("deepinversion", "ssd-kd-fast")


def scale() -> tuple[int, int, int]:
    """Chapter 6's scale: (student steps, synthetic samples, steps between evaluations)."""
    from dfkd_book import recipes

    r = recipes.get("ssd-kd")
    epochs = max(-(-r.student.steps // r.settings["kd_steps"]) // 2, 1)
    return epochs * r.settings["kd_steps"], epochs * r.settings["synthesis_batch"], r.settings["kd_steps"]


def race(name: str, seed: int) -> dict:
    import torch

    from dfkd_book import bench, config, data, distill, recipes, zoo

    steps, n, every = scale()
    r = recipes.get(name)
    test = data.load("fashion-mnist", "test")
    teacher = zoo.teacher(r.teacher, "fashion-mnist")
    config.seed_everything(seed)
    method = r.build(n=n) if name == "deepinversion" else r.build()
    res = distill(teacher, zoo.student(r.student_arch), method, eval_set=test, seed=seed, progress=False,
                  name=name, **r.student.kwargs(steps=steps, eval_every=every))
    where = torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"cpu ({torch.get_num_threads()} threads)"
    return {"stage": "race", "method": name, "seed": seed, "test_acc": round(100 * res.final_acc, 2),
            "wall_s": round(res.history.seconds, 1), "synthetic_samples": n, "steps": res.steps,
            "synthesis_s": round(res.method.seconds, 1), "history": bench._history(res.history),
            "device": where, "threads": torch.get_num_threads(), "profile": config.profile(),
            "commit": os.environ.get("DFKD_BOOK_COMMIT") or bench.git_commit()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = ap.parse_args()
    out = Path(args.out)
    done = set()
    if out.exists():
        done = {(json.loads(x)["method"], json.loads(x)["seed"]) for x in out.read_text().splitlines() if x}
    for seed in args.seeds:
        for name in RACERS:
            if (name, seed) in done:
                continue
            rec = race(name, seed)
            with out.open("a") as f:
                f.write(json.dumps(rec) + "\n")
            print(f"{name} seed {seed}: {rec['test_acc']:.2f} % in {rec['wall_s']:.0f} s", flush=True)


if __name__ == "__main__":
    main()
