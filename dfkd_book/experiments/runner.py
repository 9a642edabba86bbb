"""The lab's one runner: where a number was measured (device, threads, commit, versions), and a study's jobs run
once each — resumed by run id, spread over a process pool, every finished run appended to its JSON-lines file at
once with its provenance (:mod:`dfkd_book.records` holds the schema).

    runs = runner.run(jobs, work, "results/runs/inversion-levers.jsonl", workers=2, init=setup, minutes=50)

``jobs`` are JSON-able dicts with at least ``study``, ``label`` and ``seed``; :func:`run_id` says which two are
the same run (every key but the bookkeeping ones), so a study stopped half-way and started again runs only what
is missing. ``work(job) -> dict`` runs in a spawned worker (one thread each unless told otherwise) and returns the
measurement; the runner adds the job, the device, threads, commit and date.
"""

from __future__ import annotations

import datetime as _dt
import json
import multiprocessing as mp
import os
import platform
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping

import torch

from .. import config, records

#: keys a runner adds to a job's result: not part of what makes two runs the same run
BOOKKEEPING = frozenset({"device", "threads", "commit", "date", "wall_s", "profile", "torch"})


def now() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def git_commit() -> str:
    """The repository's HEAD commit (``+dirty`` when the tree has uncommitted changes outside ``results/``), or
    ``"unknown"``. A run on a copy of the tree without its ``.git`` (a lent GPU machine) names its commit in the
    environment variable ``DFKD_BOOK_COMMIT``, which then wins."""
    if os.environ.get("DFKD_BOOK_COMMIT"):
        return os.environ["DFKD_BOOK_COMMIT"]
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=config.REPO_ROOT, capture_output=True, text=True,
                              check=True, timeout=10).stdout.strip()
        # results/ holds the records themselves: another study writing its runs does not make this code uncommitted
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".",
                                ":(exclude)results"], cwd=config.REPO_ROOT, capture_output=True, text=True,
                               timeout=10).stdout.strip()
        return head + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def device_name(device: torch.device | str | None = None) -> str:
    """The device a run ran on, as every record names it: the GPU's name (``"NVIDIA H100 80GB HBM3"``) or
    ``"cpu"``. The thread count is a field of its own (``threads``)."""
    dev = torch.device(device) if device is not None else config.device()
    return torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu"


def environment() -> dict:
    """Where a number was measured: device, threads, cores, profile, versions, commit, date."""
    import torchvision

    return {"device": device_name(), "threads": torch.get_num_threads(), "cpu_count": os.cpu_count(),
            "profile": config.profile(), "torch": torch.__version__, "torchvision": torchvision.__version__,
            "python": platform.python_version(), "commit": git_commit(), "date": now()}


def run_id(job: Mapping) -> str:
    """What makes two runs the same run: every key of the job but the runner's bookkeeping and the measurement
    (a run's result keys are not in the job), as canonical JSON."""
    return json.dumps({k: v for k, v in job.items() if k not in BOOKKEEPING}, sort_keys=True, default=str)


def done(path: str | os.PathLike, keys: Iterable[str] | None = None) -> dict[str, dict]:
    """The runs already in the JSON-lines file ``path`` by run id (the first record of a run wins). ``keys``: the
    keys that identify a run (default: a run's own ``job_keys``, which the runner keeps; a line without them is
    identified by all its keys but the bookkeeping ones)."""
    out: dict[str, dict] = {}
    for r in records.read_runs(path):
        ks = list(keys) if keys is not None else r.get("job_keys", [k for k in r if k not in BOOKKEEPING])
        out.setdefault(run_id({k: r[k] for k in ks if k in r}), r)
    return out


_INIT: dict = {}


def _worker_init(threads: int, init: Callable | None) -> None:
    torch.set_num_threads(threads)
    if init is not None:
        _INIT["state"] = init()


def state():
    """What the pool's ``init`` returned in this worker (data a worker loads once), or None."""
    return _INIT.get("state")


def _call(work: Callable, keys: list[str] | None, job: dict) -> list[dict]:
    t0 = time.perf_counter()
    out = work(job)
    where = {"device": device_name(), "threads": torch.get_num_threads(), "profile": config.profile(),
             "commit": git_commit(), "date": now()}
    ids = sorted(keys) if keys is not None else sorted(job)
    return [{**job, **o, "job_keys": ids, "wall_s": o.get("wall_s", round(time.perf_counter() - t0, 1)), **where}
            for o in (out if isinstance(out, list) else [out])]


def run(jobs: Iterable[dict], work: Callable[[dict], dict], out: str | os.PathLike, workers: int = 1,
        init: Callable | None = None, threads: int = 1, minutes: float | None = None,
        keys: Iterable[str] | None = None) -> list[dict]:
    """Run every job of ``jobs`` not yet in ``out`` (by :func:`run_id`) and return all of ``out``'s runs.

    ``keys``: the job keys that make two runs the same run (default: all of a job's keys) — a study whose stages
    may ask for the same student twice (the protocol search) names the ones that define the student, and the
    committed runs, which carry no ``job_keys``, are recognised by them too.

    ``work(job)`` is a module-level function (it is pickled to spawned workers) returning the measurement (a
    dict, or a list of dicts for a job that makes several lines: a learning curve's snapshots, a sweep);
    ``init()`` runs once per worker (:func:`state` gives its value). ``workers`` processes of ``threads`` threads
    each (``workers=0`` runs in this process, with its threads: a timed race must run alone). Each result is
    appended to ``out`` as it comes (:func:`dfkd_book.records.append_runs`), with the job, device, threads,
    commit and date; ``minutes`` stops handing out jobs after that long (runs in flight are dropped).

    Raises:
        ValueError: a job without ``study``, ``label`` or ``seed``, or workers < 0.
    """
    jobs = list(jobs)
    for j in jobs:
        missing = [k for k in ("study", "label", "seed") if k not in j]
        if missing:
            raise ValueError(f"a job needs study, label and seed; {j!r} lacks {missing}")
    if workers < 0:
        raise ValueError(f"workers must be >= 0, got {workers}")
    keys = None if keys is None else sorted(keys)

    def ident(j: dict) -> str:
        return run_id(j if keys is None else {k: j[k] for k in keys if k in j})

    have = done(out, keys)
    unique = {ident(j): j for j in jobs}
    todo = [j for i, j in unique.items() if i not in have]
    print(f"{len(todo)} runs to do ({len(unique) - len(todo)} done before) in {out}", flush=True)
    deadline = None if minutes is None else time.time() + 60 * minutes

    def keep(rs: list[dict]) -> bool:
        records.append_runs(out, rs)
        r = rs[-1]
        acc = r.get("test_acc", r.get("student_acc", ""))
        print(f"{r['label'][:48]:48s} seed {r['seed']}: {acc} ({r['wall_s']} s)", flush=True)
        return deadline is not None and time.time() > deadline

    if workers == 0:
        if init is not None:
            _INIT["state"] = init()
        for j in todo:
            if keep(_call(work, keys, j)):
                break
    elif todo:
        from functools import partial

        with mp.get_context("spawn").Pool(workers, initializer=_worker_init, initargs=(threads, init)) as pool:
            for r in pool.imap_unordered(partial(_call, work, keys), todo):
                if keep(r):
                    print("time is up: the runs still in flight are dropped", flush=True)
                    break
            pool.terminate()
    return records.read_runs(out)
