"""What the device scripts share: run one spawned process per job, for at most a time limit."""

from __future__ import annotations

import multiprocessing as mp
import time
from collections.abc import Callable, Sequence


def run_timed(target: Callable, jobs: Sequence, seconds: float, what: str = "runs") -> None:
    """``target(job)`` for every job, each in its own spawned process, all at once; the ones still running after
    ``seconds`` are terminated (each job writes its results as they come, so a cut run keeps what it wrote)."""
    t0 = time.time()
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=target, args=(job,)) for job in jobs]
    for p in procs:
        p.start()
    while time.time() - t0 < seconds and any(p.is_alive() for p in procs):
        time.sleep(1)
    for p in procs:
        if p.is_alive():
            p.terminate()
    print(f"{sum(p.exitcode == 0 for p in procs)} of {len(procs)} {what} finished in {time.time() - t0:.0f} s",
          flush=True)


def run_pool(target: Callable, jobs: Sequence[dict], out, workers: int, label: str) -> None:
    """``target(job)`` for every job in a spawned pool of ``workers``; each result (a dict) is appended to the JSON
    lines file ``out`` as soon as it comes, and a line naming ``result[label]``, its seed and test accuracy is
    printed."""
    import json

    with mp.get_context("spawn").Pool(workers) as pool, open(out, "a") as f:
        for r in pool.imap_unordered(target, jobs):
            f.write(json.dumps(r) + "\n")
            f.flush()
            print(f"{r[label]:40s} seed {r['seed']}: test {r['test_acc']:.2f} ({r['wall_s']:.0f} s)", flush=True)


def device_name() -> str:
    """Where a run ran, for its record: the GPU's name (shared by the runs in parallel) or the CPU (1 thread)."""
    import torch

    from dfkd_book import config

    d = config.device()
    return f"{torch.cuda.get_device_name(d)}, shared by the runs in parallel" if d.type == "cuda" else f"{d} (1 thread)"
