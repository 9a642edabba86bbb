"""Chapter 3's Table 1 study (``python -m dfkd_book.ablation arbitrary``) on a GPU machine, as one call.

    python dev/gpu/arb_study.py OUT [--workers 12] [--minutes 8]

The sets are made in parallel processes (one per set: making them is bound by the sources' CPU work, not the
teacher), saved as ``OUT/<set name>.pt`` — the form ``ablation.run`` takes as given — and the students then run
in ``--workers`` processes sharing the GPU. Runs already in ``results/arbitrary-ablation-runs.jsonl`` are copied
into ``OUT/runs.jsonl`` first and are not run again; ``OUT/runs.jsonl`` is what to copy back.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import shutil
import time
from pathlib import Path

import torch

from dfkd_book import ablation, config

STUDY = ablation.ARBITRARY


def _make(args) -> str:
    name, out = args
    torch.set_num_threads(1)
    path = Path(out) / f"{name}.pt"
    if not path.exists():
        made = ablation.make_sets(STUDY, config.device(), only=[name])
        config.atomic_write(path, lambda f: torch.save(made[name], f))
    return name


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--workers", type=int, default=12)
    ap.add_argument("--minutes", type=float, default=None)
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    done = config.RESULTS / "arbitrary-ablation-runs.jsonl"
    if done.exists() and not (out / "runs.jsonl").exists():
        shutil.copy(done, out / "runs.jsonl")
    t0 = time.time()
    with mp.get_context("spawn").Pool(len(STUDY.sets)) as pool:
        for name in pool.imap_unordered(_make, [(n, str(out)) for n in STUDY.sets]):
            print(f"set {name} ready at {time.time() - t0:.0f} s", flush=True)
    ablation.run(STUDY, out, seeds=3, workers=a.workers, minutes=a.minutes)


if __name__ == "__main__":
    main()
