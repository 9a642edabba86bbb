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
