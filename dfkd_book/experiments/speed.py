"""``python -m dfkd_book.experiments.bench speed``: the student loop's steps per second, before and after
(:func:`speed`), written to ``results/runs/speed.json``. A measurement that times itself: ``bench`` runs it alone
in its own process, before any worker starts.
"""

from __future__ import annotations

import json
import os
import subprocess
import time

import torch

from .. import augment, config, data, zoo
from ..loop import distill

REPO_ROOT = config.REPO_ROOT
DATASET = "fashion-mnist"


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
    from ..methods import TransferSet

    test = data.load(DATASET, "test")
    teacher = zoo.teacher("lenet5", DATASET)
    x = torch.rand(n, 1, 32, 32, generator=torch.Generator().manual_seed(0))
    config.seed_everything(0)
    student = zoo.student("lenet5half", DATASET)
    t0 = time.perf_counter()
    distill(teacher, student, TransferSet(x), steps=steps, batch_size=256, lr=1e-2, T=20.0,
            augment=augment.ZSKDAugmentation(p=0.5), eval_set=test if evaluate else None, seed=0,
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
