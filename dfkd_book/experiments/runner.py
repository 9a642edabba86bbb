"""The lab's one runner: where a number was measured (device, threads, commit, versions), and a study's jobs run
once each — resumed by run id, spread over a process pool, every finished run appended to its JSON-lines file at
once with its provenance (:mod:`dfkd_book.records` holds the schema).

    runs = runner.run(jobs, work, "results/runs/inversion-levers.jsonl", workers=2, init=setup, minutes=50)

``jobs`` are JSON-able dicts with at least ``study``, ``label`` and ``seed``; :func:`run_id` says which two are
the same run (every key but the bookkeeping ones), so a study stopped half-way and started again runs only what
is missing. ``work(job) -> dict`` runs in a spawned worker (one thread each unless told otherwise) and returns the
measurement; the runner adds the job, the device, threads, commit and date.

A run of several outputs (``bench all``) hands their jobs to :func:`execute` and stages its outputs until it
completes (:class:`Staged`); :func:`provenance_problems` says what keeps records from being one run's.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import multiprocessing as mp
import os
import platform
import shutil
import subprocess
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

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
        return head + ("+dirty" if dirty_paths() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def dirty_paths() -> list[str]:
    """The tracked files with uncommitted changes, outside ``results/`` (which holds the records themselves:
    another study writing its runs does not make the code uncommitted), as ``git status --porcelain`` names them.

    Raises:
        OSError, subprocess.SubprocessError: git cannot tell (no git, not a repository).
    """
    out = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)results"],
                         cwd=config.REPO_ROOT, capture_output=True, text=True, check=True, timeout=10).stdout
    return [line[3:] for line in out.splitlines() if line.strip()]


#: the package's modules that only show or tabulate results: they cannot change a number, so editing them keeps
#: the code's digest (and the students kept under it)
PRESENTATION = {"chapters.py", "widgets.py", "records.py", "stats.py"}


def code_digest() -> str:
    """SHA-256 (first 16 hex digits) of the package's source files but the presentation modules, the lab and the
    plots: the code that makes a student."""
    h, pkg = hashlib.sha256(), Path(__file__).parent.parent
    for f in sorted(pkg.rglob("*.py")):
        if (f.parent == pkg and f.name in PRESENTATION) or f.parent.name in ("experiments", "plot"):
            continue
        h.update(f.relative_to(pkg).as_posix().encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:16]


def tree(allow_dirty: bool = False) -> dict:
    """The code a run records: ``{"commit": git_commit(), "code": code_digest()}``.

    Raises:
        RuntimeError: uncommitted changes to tracked files outside ``results/`` (the message names them), or git
            cannot tell — unless ``allow_dirty`` (the commit then ends in ``+dirty``), or ``DFKD_BOOK_COMMIT`` names
            the commit of a copy without ``.git``.
    """
    if not (allow_dirty or os.environ.get("DFKD_BOOK_COMMIT")):
        try:
            dirty = dirty_paths()
        except (OSError, subprocess.SubprocessError) as e:
            raise RuntimeError(f"cannot tell the commit ({e}): set DFKD_BOOK_COMMIT, or --allow-dirty") from None
        if dirty:
            raise RuntimeError("uncommitted changes to tracked files outside results/: " + ", ".join(dirty) +
                               ". Commit them (or run from a clean clone), or --allow-dirty to record a +dirty commit")
    return {"commit": git_commit(), "code": code_digest()}


def device_name(device: torch.device | str | None = None) -> str:
    """The device a run ran on, as every record names it: the GPU's name (``"NVIDIA H100 80GB HBM3"``) or
    ``"cpu"``. The thread count is a field of its own (``threads``)."""
    dev = torch.device(device) if device is not None else config.device()
    return torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu"


def environment(workers: int | None = None, threads: int | None = None) -> dict:
    """Where a number was measured: device, threads, cores, profile, versions, commit, date; given ``workers``,
    how it ran: that many processes of ``threads`` threads each (default: this process's)."""
    import torchvision

    run = {} if workers is None else {"workers": workers}
    return {"device": device_name(), "threads": threads or torch.get_num_threads(), **run, "cpu_count": os.cpu_count(),
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


def _call(work: Callable, keys: list[str] | None, commit: str, job: dict) -> list[dict]:
    t0 = time.perf_counter()
    out = work(job)
    where = {"device": device_name(), "threads": torch.get_num_threads(), "profile": config.profile(),
             "commit": commit, "date": now()}
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
    date and the commit at the study's start (the code its workers imported: a commit made while the study runs
    does not relabel its runs); ``minutes`` stops handing out jobs after that long (runs in flight are dropped).

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

    commit = git_commit()
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
            if keep(_call(work, keys, commit, j)):
                break
    elif todo:
        from functools import partial

        with mp.get_context("spawn").Pool(workers, initializer=_worker_init, initargs=(threads, init)) as pool:
            for r in pool.imap_unordered(partial(_call, work, keys, commit), todo):
                if keep(r):
                    print("time is up: the runs still in flight are dropped", flush=True)
                    break
            pool.terminate()
    return records.read_runs(out)


def _timed(job: Callable[[], object]) -> tuple[float, float, object]:
    start = time.time()
    out = job()
    return start, time.time(), out


def execute(tasks: Mapping[str, Sequence[Callable[[], object]] | Callable[[], object]],
            done: Callable[[str, object, float], None], workers: int = 1, threads: int | None = None,
            each: Callable[[str, int, object], None] | None = None) -> None:
    """Run every task's jobs (picklable callables without arguments: module-level functions or their ``partial``)
    and call ``done(key, outputs, seconds)`` when a task's last job returns: the outputs in job order, the seconds
    from its first job's start to its last one's end; or ``done(key, error, seconds)`` with the first exception
    its jobs raised (its jobs not started are cancelled). ``each(key, i, output)``: after every job. A task that is
    one callable, not a list, runs alone in this process before the others (``done`` gets its output).

    ``workers`` 1: in this process, task by task (``threads`` set for the while); more: spawned processes of
    ``threads`` threads each (default: this process's), handed the jobs in task order as they free, so that no
    worker idles between tasks. An exception from ``done`` or ``each`` terminates the workers and propagates."""
    threads, before = threads or torch.get_num_threads(), torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        for key, jobs in sorted(tasks.items(), key=lambda task: not callable(task[1])):  # the lone ones first
            if callable(jobs) or workers <= 1:
                t0, outs = time.time(), []
                for i, job in enumerate([jobs] if callable(jobs) else jobs):
                    try:
                        outs.append(job())
                    except Exception as e:  # noqa: BLE001 — a failing task is reported, the others run
                        outs = e
                        break
                    if each is not None and not callable(jobs):
                        each(key, i, outs[-1])
                done(key, outs[0] if callable(jobs) and isinstance(outs, list) else outs, time.time() - t0)
    finally:
        torch.set_num_threads(before)
    tasks = {k: v for k, v in tasks.items() if not callable(v)}
    if workers <= 1 or not tasks:
        return
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    ex = ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"), initializer=_worker_init,
                             initargs=(threads, None))
    futures = {ex.submit(_timed, job): (key, i) for key, jobs in tasks.items() for i, job in enumerate(jobs)}
    outs = {key: [None] * len(jobs) for key, jobs in tasks.items()}
    spans = {key: [float("inf"), 0.0] for key in tasks}

    def finish(key: str, result) -> None:
        for f in [f for f, (k, _) in futures.items() if k == key and f.cancel()]:
            del futures[f]
        done(key, result, max(spans[key][1] - spans[key][0], 0.0))
        outs.pop(key)

    try:
        while futures:
            for f in wait(futures, return_when=FIRST_COMPLETED)[0]:
                key, i = futures.pop(f)
                if key not in outs:  # a job of a task that already failed
                    continue
                try:
                    start, end, outs[key][i] = f.result()
                except BrokenProcessPool:  # a worker died (killed, out of memory): stop, to be resumed
                    raise
                except Exception as e:  # noqa: BLE001 — a failing task is reported, the others run
                    finish(key, e)
                    continue
                spans[key] = [min(spans[key][0], start), max(spans[key][1], end)]
                if each is not None:
                    each(key, i, outs[key][i])
                if not any(k == key for k, _ in futures.values()):
                    finish(key, outs[key])
    except BaseException:
        for p in list((getattr(ex, "_processes", None) or {}).values()):
            p.terminate()
        raise
    finally:
        ex.shutdown(wait=True, cancel_futures=True)


class Staged:
    """One run's outputs, staged in ``ROOT/NAME.partial/`` (``records/``, ``runs/``, and ``progress.json``,
    rewritten atomically as each output is done) and moved into ``ROOT`` together when the run completes, so that
    ``results/`` never holds half a run. ``identity`` (commit, device, settings ...): ``resume`` continues a staged
    run only where it is equal, and only its outputs whose files still carry its ``run_id``; ``fresh`` discards it.

    Raises:
        RuntimeError: a staged run, and neither ``resume`` nor ``fresh``; ``resume`` of a run of another identity
            (the message names what differs).
    """

    def __init__(self, root: str | os.PathLike, name: str, identity: Mapping, resume: bool = False,
                 fresh: bool = False):
        self.root, self.dir = Path(root), Path(root) / f"{name}.partial"
        self.path, identity = self.dir / "progress.json", json.loads(json.dumps(identity, default=str))
        old = json.loads(self.path.read_text()) if self.path.exists() else None
        if old is not None and fresh:
            shutil.rmtree(self.dir)
            old = None
        elif old is not None and not resume:
            raise RuntimeError(f"an unfinished run ({old['run_id']}, {len(old['outputs'])} outputs done) is staged in "
                               f"{self.dir}: --resume continues it, --fresh discards it")
        elif old is not None:
            diff = [f"{k} was {old['identity'].get(k)!r}, now {v!r}" for k, v in identity.items()
                    if old["identity"].get(k) != v]
            if diff:
                raise RuntimeError(f"cannot resume run {old['run_id']} (staged in {self.dir}): " + "; ".join(diff)
                                   + ". Its outputs would mix runs: check out what it ran, or --fresh")
            old["outputs"] = {k: o for k, o in old["outputs"].items() if all(
                (self.dir / f).is_file() and json.loads((self.dir / f).read_text()).get("run_id") == old["run_id"]
                for f in o["files"])}
        self.progress = old or {
            "run_id": f"{now()}-{uuid.uuid4().hex[:6]}", "identity": identity, "outputs": {}, "wall_s": 0.0}
        self.run_id, self._before, self._t0 = self.progress["run_id"], self.progress["wall_s"], time.perf_counter()
        self.add(None)

    @property
    def wall_s(self) -> float:
        """The seconds of every session of this run so far (what an interruption lost is not counted)."""
        return round(self._before + time.perf_counter() - self._t0, 1)

    def done(self) -> dict[str, dict]:
        """The outputs done so far (this session's and the staged run's): key → entry."""
        return {k: v["entry"] for k, v in self.progress["outputs"].items()}

    def add(self, key: str | None, entry: Mapping = (), files: Iterable[str | os.PathLike] = ()) -> None:
        """Output ``key`` is done (``entry``: what a summary says of it), having staged ``files``."""
        if key is not None:
            rel = [Path(f).resolve().relative_to(self.dir.resolve()).as_posix() for f in files]
            self.progress["outputs"][key] = {"entry": dict(entry), "files": rel}
            self.progress.get("jobs", {}).pop(key, None)
        self.progress["wall_s"] = self.wall_s
        text = json.dumps(self.progress, indent=1).encode()
        config.atomic_write(self.path, lambda f: f.write(text))

    def jobs(self, key: str) -> dict[int, object]:
        """The outputs of output ``key``'s jobs (its seeds) done so far, by job index, while ``key`` is not done."""
        return {int(i): o for i, o in self.progress.get("jobs", {}).get(key, {}).items()}

    def add_job(self, key: str, i: int, output) -> None:
        """Job ``i`` of output ``key`` is done: its output (plain data, kept as JSON) is staged, so that a resumed
        run makes only the jobs not done."""
        self.progress.setdefault("jobs", {}).setdefault(key, {})[str(i)] = json.loads(json.dumps(output, default=str))
        self.add(None)

    def promote(self) -> None:
        """Move every staged file into ROOT (each ``os.replace``, atomic)."""
        for f in sorted(self.dir.glob("*/*.json")):
            (self.root / f.parent.name).mkdir(parents=True, exist_ok=True)
            os.replace(f, self.root / f.parent.name / f.name)

    def close(self) -> None:
        """The run is complete: remove the staging directory and its progress."""
        shutil.rmtree(self.dir, ignore_errors=True)


def provenance_problems(found: Mapping[str, Mapping], summary: Mapping | None = None) -> list[str]:
    """What keeps ``found`` (name → a record or summary) from being one run's numbers: more than one commit, run
    id, device, thread setting (threads per worker × workers), profile or torch; a commit with uncommitted code
    (``+dirty``) or none known; and, given the run's ``summary``, its failures and what another run wrote."""
    out = []
    for what, key in (("commits", "commit"), ("runs", "run_id"), ("devices", "device"), ("profiles", "profile"),
                      ("thread settings", "threads"), ("torch versions", "torch")):
        groups: dict[str, list[str]] = {}
        for name, r in found.items():
            value = f"{r.get('threads')} threads x {r.get('workers', '?')} workers" if key == "threads" else r.get(key)
            groups.setdefault(str(value), []).append(name)
        if len(groups) > 1:
            out.append(f"{len(groups)} {what}: " + "; ".join(f"{v} ({', '.join(ns)})" for v, ns in groups.items()))
    dirty = [f"{n} ({r.get('commit')})" for n, r in found.items() if str(r.get("commit")).endswith("+dirty")
             or r.get("commit", "unknown") == "unknown"]
    out += ["uncommitted or unknown code: " + ", ".join(dirty)] if dirty else []
    if summary is not None:
        out += [f"the run failed {', '.join(summary['failed'])}"] if summary.get("failed") else []
        run, commit = summary.get("run_id", "of no run id"), str(summary.get("commit"))[:12]
        others = sorted(m for m, r in found.items() if r.get("run_id") != summary.get("run_id", "none"))
        out += [f"not written by the run {run} (commit {commit}): " + ", ".join(others)] if others else []
    return out


def one_run(root: str | os.PathLike, name: str, keys: Sequence[str], make: Callable, save: Callable, env: Mapping,
            identity: Mapping, resume: bool = False, fresh: bool = False, allow_dirty: bool = False,
            summary: bool = True) -> dict:
    """Make the outputs ``keys`` as one run of one code (:func:`tree`, checked at the start and as each output is
    done), staged (:class:`Staged`) and moved into ``root`` when all are made (with ``summary``, the summary too:
    ``runs/NAME.json``). ``make(todo, done, stage)`` makes the outputs not done yet, calling ``done(key, output or
    exception, seconds)`` (and may stage each job's output: :meth:`Staged.add_job`); ``save(key, output, env,
    directory, seconds)`` writes one there and returns the record and the paths. A failing output is reported
    (traceback on stderr); the others still run. Returns the summary:
    ``methods`` (key → ``status``, ``student_acc``, ``wall_s``), ``failed``, ``total_wall_s``, ``env`` with
    ``commit`` and ``run_id``.

    Raises:
        RuntimeError: from :func:`tree` and :class:`Staged`; where the code changes during the run.
    """
    start = tree(allow_dirty)
    stage = Staged(root, name, {**identity, **start}, resume, fresh)
    env, failed = {**env, "commit": start["commit"], "run_id": stage.run_id}, {}
    todo = [k for k in keys if k not in stage.done()]
    print(f"run {stage.run_id}: {len(todo)} of {len(keys)} to do, commit {start['commit'][:12]}", flush=True)

    def done(key: str, out, seconds: float) -> None:
        if tree(allow_dirty) != start:
            raise RuntimeError(f"the code changed under the run (at its start {start}, now {tree(True)})")
        try:
            if isinstance(out, BaseException):
                raise out
            rec, paths = save(key, out, {**env, "date": now()}, stage.dir, seconds)
            stage.add(key, {"status": "ok", "student_acc": rec.get("student_acc"), "wall_s": round(seconds, 1)}, paths)
        except Exception as e:  # noqa: BLE001 — one failing output must not stop the run
            traceback.print_exception(e)
            failed[key] = {"status": "failed", "error": f"{type(e).__name__}: {e}", "wall_s": round(seconds, 1)}
        print(f"== {key}: {'failed' if key in failed else 'ok'} in {seconds:.1f} s", flush=True)

    make(todo, done, stage)
    stage.promote()
    methods = {k: stage.done().get(k) or failed[k] for k in keys}
    result = {"methods": methods, "failed": [k for k, r in methods.items() if r["status"] != "ok"],
              "total_wall_s": stage.wall_s, **env}
    if summary:
        records.save_summary(name, result, root)
    stage.close()
    return result
