"""Chapter 3's levers beyond Table 1: students of the study's own sets with one thing changed (issue 20).

    python dev/arb_levers.py OUT --sets STUDY_DIR --only LEVER [LEVER ...] [--seeds 3 | --seed-ids 1 2] [--workers 1]

``STUDY_DIR`` is a run directory of ``python -m dfkd_book.ablation arbitrary`` whose ``sets.pt`` holds the
record's sets (check their digests first, ``dev/README.md``); ``OUT/sets.pt`` links to it. A lever that changes
the set itself (``SET_LEVERS``) makes its set once, seed 0, into ``OUT/made.pt``, and ``OUT/sets.pt`` is then a
file holding just the sets its jobs use. Each finished run is appended to ``OUT/runs.jsonl`` (stage ``"lever
arbitrary"``); append those lines to ``results/arbitrary-levers.jsonl``.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import asdict, replace
from pathlib import Path

import torch

from dfkd_book import ablation, config, protocol

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
    # the study's balanced noise stops at 2 million candidates, short of 12,507 footwear images; this one runs
    # until every class has its 6,000 (the rarest, Sandal, is about 1 candidate in 3,000)
    "noise, balanced, filled to quota": (NOISE, NOISE.protocol()),
}
#: levers whose set is not the study's: lever label → (the new set's name, its change to the study set's settings)
SET_LEVERS = {"noise, balanced, filled to quota": ("noise, balanced, filled", {"max_candidates": 30_000_000})}


def set_of(label: str) -> str:
    row, _ = LEVERS[label]
    return SET_LEVERS[label][0] if label in SET_LEVERS else row.set_key()


def jobs(only, seeds, made: dict | None = None) -> list[dict]:
    commit = os.environ.get("DFKD_BOOK_COMMIT", "?")

    def how(label):
        if label not in SET_LEVERS:
            return f"the study's set (its SHA-256 in results/arbitrary-ablations.json), commit  {commit}"
        m = (made or {})[set_of(label)]
        return (f"made here, seed 0, commit {commit}: {m['settings']}; SHA-256 {m['sha256']}; "
                f"{m['composition']}; {m['seconds']} s")

    return [{"stage": "lever arbitrary", "set": set_of(label), "label": label, "seed": seed,
             "protocol": asdict(proto), "set_made": how(label),
             **({"set_record": (made or {})[set_of(label)]} if label in SET_LEVERS else {})}
            for seed in seeds for label in only for _row, proto in [LEVERS[label]]]


def ensure_sets(out: Path, study_dir: Path, only) -> dict:
    """``OUT/sets.pt`` for the levers ``only``: a link to the study's sets, or, when a lever needs a set of its
    own, a file with the study's sets it uses and the new ones (made once into ``OUT/made.pt``). Returns the
    new sets' records (name → settings, SHA-256, composition, seconds)."""
    new = {SET_LEVERS[label][0]: (label, SET_LEVERS[label][1]) for label in only if label in SET_LEVERS}
    link = out / "sets.pt"
    if not new:
        if not link.exists():
            link.symlink_to(study_dir.resolve() / "sets.pt")
        return {}
    made = torch.load(out / "made.pt") if (out / "made.pt").exists() else {}
    for name, (label, change) in new.items():
        if name in made:
            continue
        row, _ = LEVERS[label]
        study = replace(ablation.ARBITRARY, sets={name: (ablation.ARBITRARY.sets[row.set][0],
                                                          {**ablation.ARBITRARY.sets[row.set][1], **change})})
        s = ablation.make_sets(study, config.device(), progress=True)[name]
        made[name] = {**s, "sha256": ablation.set_digest(s["images"])}
        config.atomic_write(out / "made.pt", lambda f: torch.save(made, f))
        print(f"set {name}: {made[name]['composition']}", flush=True)
    study_sets = [set_of(label) for label in only if label not in SET_LEVERS]
    tensors = {k: v for k, v in torch.load(study_dir / "sets.pt").items() if k in study_sets} if study_sets else {}
    tensors.update({name: made[name]["images"] for name in new})
    if link.is_symlink():
        link.unlink()
    config.atomic_write(link, lambda f: torch.save(tensors, f))
    return {k: {kk: v for kk, v in m.items() if kk not in ("images", "classes")} for k, m in made.items()}


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
    made = ensure_sets(out, Path(a.sets), a.only)
    protocol.run_jobs(jobs(a.only, a.seed_ids or range(a.seeds), made), out, workers=a.workers,
                      ensure_sets=lambda _out, _profile: None)


if __name__ == "__main__":
    main()
