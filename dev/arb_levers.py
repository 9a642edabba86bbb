"""Chapter 3's levers beyond Table 1: students of the study's own sets with one thing changed (issue 20).

    python dev/arb_levers.py OUT --sets STUDY_DIR --only LEVER [LEVER ...] [--seeds 3 | --seed-ids 1 2] [--workers 1]

``STUDY_DIR`` is a run directory of ``python -m dfkd_book.ablation arbitrary`` whose ``sets.pt`` holds the
record's sets (check their digests first, ``dev/README.md``); ``OUT/sets.pt`` links to it. Each finished run is
appended to ``OUT/runs.jsonl`` (stage ``"lever arbitrary"``); append those lines to
``results/arbitrary-levers.jsonl``.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import asdict, replace
from pathlib import Path

from dfkd_book import ablation, protocol

ROWS = {r.label: r for r in ablation.ARBITRARY.rows}
NOISE = ROWS["noise, balanced, with augmentation"]
BEST = ROWS["the book's best set (all offline), with augmentation"]

#: lever label → (the study's row it changes, the changed protocol)
LEVERS = {
    "noise, balanced, 40k steps": (NOISE, replace(NOISE.protocol(), steps=40_000)),
    "best set, 40k steps": (BEST, replace(BEST.protocol(), steps=40_000)),
    "noise, balanced, batch 512": (NOISE, replace(NOISE.protocol(), batch_size=512)),
    # no change: the study's own student again, on another device (is a seed's deficit its initial weights?)
    "best set, as the study": (BEST, BEST.protocol()),
    "noise, balanced, as the study": (NOISE, NOISE.protocol()),
}


def jobs(only, seeds) -> list[dict]:
    return [{"stage": "lever arbitrary", "set": row.set_key(), "label": label, "seed": seed,
             "protocol": asdict(proto),
             "set_made": "the study's set (its SHA-256 in results/arbitrary-ablations.json), commit "
             f" {os.environ.get('DFKD_BOOK_COMMIT', '?')}"}
            for seed in seeds for label in only for row, proto in [LEVERS[label]]]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--sets", required=True)
    ap.add_argument("--only", nargs="+", choices=sorted(LEVERS), required=True)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--seed-ids", type=int, nargs="+", default=None, help="these seeds instead of 0..seeds-1")
    ap.add_argument("--workers", type=int, default=1)
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    link = out / "sets.pt"
    if not link.exists():
        link.symlink_to(Path(a.sets).resolve() / "sets.pt")
    protocol.run_jobs(jobs(a.only, a.seed_ids or range(a.seeds)), out, workers=a.workers,
                      ensure_sets=lambda _out, _profile: None)


if __name__ == "__main__":
    main()
