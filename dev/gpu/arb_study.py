"""Chapter 3's Table 1 study (``python -m dfkd_book.ablation arbitrary``) on a GPU machine, as one call.

    python dev/gpu/arb_study.py SETS_DIR RUNS_JSONL [--workers 10] [--seconds 560] [--steps N]

Pipelined, because a lease is short: the sets are made in parallel processes on the CPU (one per set, the
teacher on the CPU too, so that each set is the one the CPU-made record names — its SHA-256 is checked against
``results/arbitrary-ablations.json`` and written to ``RUNS_JSONL``'s folder as ``digests.json``), saved as
``SETS_DIR/<set name>.pt`` (gigabytes: keep them off ``$OUT``), and each set's students start on the GPU as soon
as that set is ready, in ``--workers`` processes. Runs already in ``results/arbitrary-ablation-runs.jsonl`` are
not run again; each finished run is appended to ``RUNS_JSONL`` at once (append it to the committed file after).
After ``--seconds`` the runs still in flight are dropped. ``--steps`` shortens every student (a dry run of the
plumbing; its runs are not the study's and must not be kept).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import threading
import time
from pathlib import Path

import torch

from dfkd_book import ablation, config, protocol
from dfkd_book.methods.zskd import equal_shares

STUDY = ablation.ARBITRARY
_DIR: list[Path] = []


def _row(set_key: str):
    """The study's row whose students train on ``set_key`` (a set's name, or a capped row's key)."""
    return next(r for r in STUDY.rows if r.set_key() == set_key)


def _make(args) -> tuple[str, str, float]:
    name, out, threads = args
    torch.set_num_threads(threads)
    path = Path(out) / f"{name}.pt"
    if not path.exists():
        made = ablation.make_sets(STUDY, torch.device("cpu"), only=[name])
        config.atomic_write(path, lambda f: torch.save(made[name], f))
    s = torch.load(path)
    return name, ablation.set_digest(s["images"]), s["seconds"]


def _init_student(sets_dir: str) -> None:
    protocol._init_worker(str(Path(sets_dir) / "no-sets.pt"))  # validation and test images; the sets come per job
    _DIR.append(Path(sets_dir))


def _student(job: dict) -> dict:
    name = job["set"]
    if name not in protocol._WORKER["sets"]:
        row = _row(name)
        s = torch.load(_DIR[0] / f"{row.set}.pt")
        images = s["images"]
        if row.n is not None:
            images = images[equal_shares(s["classes"], row.n)]
        protocol._WORKER["sets"][name] = images
    return protocol._work(job)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("sets_dir")
    ap.add_argument("runs")
    ap.add_argument("--workers", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=560)
    ap.add_argument("--steps", type=int, default=None)
    a = ap.parse_args()
    t0 = time.time()
    sets_dir, runs_path = Path(a.sets_dir), Path(a.runs)
    sets_dir.mkdir(parents=True, exist_ok=True)
    runs_path.parent.mkdir(parents=True, exist_ok=True)
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no GPU'}, "
          f"{mp.cpu_count()} CPUs", flush=True)

    have: set = set()
    committed = config.RESULTS / "arbitrary-ablation-runs.jsonl"
    if committed.exists():
        have = {protocol._job_id(json.loads(line)) for line in committed.read_text().splitlines() if line.strip()}
    todo = [j for j in ablation.jobs(STUDY, 3) if protocol._job_id(j) not in have]
    if a.steps:
        todo = [{**j, "protocol": {**j["protocol"], "steps": a.steps}} for j in todo]
    need = sorted({_row(j["set"]).set for j in todo})
    print(f"{len(todo)} runs to do, on {len(need)} sets", flush=True)
    if not todo:
        return
    record = json.loads((config.RESULTS / "arbitrary-ablations.json").read_text())
    want = {k: v.get("sha256") for k, v in record["sets"].items()}

    ctx = mp.get_context("spawn")
    lock, pending, digests = threading.Lock(), [0], {}
    makers = ctx.Pool(len(need))
    students = ctx.Pool(a.workers, initializer=_init_student, initargs=(str(sets_dir),))

    def done(r: dict) -> None:
        with lock:
            with open(runs_path, "a") as f:
                f.write(json.dumps(r) + "\n")
            pending[0] -= 1
            print(f"[{time.time() - t0:4.0f} s] {r['set']:30s} seed {r['seed']} steps {r['protocol']['steps']}: "
                  f"val {r['val_acc']:6.2f} test {r['test_acc']:6.2f} ({r['wall_s']:.0f} s, {r['device']})",
                  flush=True)

    def failed(e: BaseException) -> None:
        with lock:
            pending[0] -= 1
        print(f"a run failed: {e!r}", flush=True)

    threads = {"natural, balanced": 3, "best": 3, "noise, balanced": 2, "multi-scale noise, balanced": 2,
               "synthetic, balanced": 2}  # the slow ones (photo patches, millions of candidates) get more
    for name, digest, secs in makers.imap_unordered(_make, [(n, str(sets_dir), threads.get(n, 1)) for n in need]):
        match = digest == want.get(name)
        digests[name] = {"sha256": digest, "matches_record": match, "seconds": secs}
        (runs_path.parent / "digests.json").write_text(json.dumps(digests, indent=1))
        print(f"[{time.time() - t0:4.0f} s] set {name} ready ({secs:.0f} s to make), digest "
              f"{'matches the record' if match else 'DIFFERS from the record'}", flush=True)
        made = (f"set remade on this machine's CPU (torch {torch.__version__}) by dev/gpu/arb_study.py at commit "
                f"{os.environ.get('DFKD_BOOK_COMMIT', '?')}; its "
                f"SHA-256 {digest[:12]}… {'matches' if match else 'differs from'} the record's")
        for j in todo:  # run even where the digest differs: the run says so, and the record decides
            if _row(j["set"]).set == name:
                with lock:
                    pending[0] += 1
                students.apply_async(_student, ({**j, "set_made": made, "set_sha256": digest},), callback=done,
                                     error_callback=failed)
    makers.close()
    while time.time() - t0 < a.seconds:
        with lock:
            if pending[0] == 0:
                break
        time.sleep(2)
    print(f"[{time.time() - t0:4.0f} s] {'all runs done' if pending[0] == 0 else f'{pending[0]} runs dropped'}",
          flush=True)
    students.terminate()
    makers.terminate()


if __name__ == "__main__":
    main()
