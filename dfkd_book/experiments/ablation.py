"""A paper's ablations over seeds: transfer sets made once, each distilled under one student protocol from several
seeds, summarised as mean ± sd and as "worth N real images".

    python -m dfkd_book.experiments.ablation zskd --out DIR [--seeds 3] [--workers 2]  # the runs (resumable)
    python -m dfkd_book.experiments.ablation zskd --out DIR --record    # results/runs/zskd-ablations.json

A chapter cannot afford a paper's ablations at a real student budget from three seeds on a laptop (ZSKD's need
about 20 students), so they run here, once, and the chapter reads the summary. Every row is one transfer set
and one student protocol; every student is :func:`dfkd_book.experiments.students.run_one` — the yardstick's
protocol unless a row changes it — so each row's mean can be read off the real-data curve of the yardstick as a
number of real images (:func:`dfkd_book.stats.worth_real_images`). The sets are made once from seed 0 with the
recipe's full-profile settings; the seeds vary the student (its initial weights, batch order and augmentation
draws). Runs go to ``DIR/<study>-ablations.jsonl`` through the lab's runner (a run already there is not run
again), the sets to ``DIR/made.pt`` and ``DIR/sets.pt``; a set saved earlier as ``DIR/<set name>.pt`` (the dict
:func:`make_sets` returns for it) is used instead of being made again. ``arbitrary-levers`` runs
:data:`ARBITRARY_LEVERS` the same way.

:data:`ZSKD` holds Nayak et al. (2019)'s ablations on Fashion-MNIST: with and without augmentation (Table 6),
class-similarity vs uniform prior (Table 7, without augmentation), data vs class impressions (Fig. 3, without
augmentation) and the transfer-set size (Fig. 2: a quarter, half and all of the impressions); and one of this
book's: the paper's crafting (uniform noise in [0, 1], the teacher seeing the impression itself) against the
recipe's (dark noise, jittered and turned views); and the targets the official code really used: its β bug
(``dfkd_book.methods.zskd``) gave every impression a β = 1 target. The study's sets keep the paper's two β values
whatever the recipe uses, except that last row.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from pathlib import Path

import torch

from .. import config, recipes, records, stats, zoo
from ..loop import transfer_set
from ..methods import zskd
from . import runner, students
from .students import DATASET


@dataclass(frozen=True)
class Row:
    """One ablation row: a transfer set (a name of the study's sets, optionally its first ``n`` items in equal
    class shares) distilled with the yardstick protocol changed by ``change`` (fields of
    :class:`dfkd_book.experiments.students.Protocol`). ``paper``: the key of the row's published number in the
    study's method of :data:`dfkd_book.recipes.METHODS` (None if the paper has none).
    ``seeds``: at most this many seeds for the row (None: as many as the study runs)."""

    label: str
    set: str
    n: int | None = None
    change: Mapping = field(default_factory=dict)
    paper: str | None = None
    group: str = ""
    seeds: int | None = None


    def protocol(self) -> students.Protocol:
        return replace(students.YARDSTICK_PROTOCOL, **dict(self.change))

    def set_key(self) -> str:
        return self.set if self.n is None else f"{self.set}[:{self.n}]"


@dataclass(frozen=True)
class Study:
    """A paper's ablations: ``sets`` (name → the recipe's method settings changed by a dict, and the method's
    registry name) and ``rows``. ``recipe`` names the recipe whose full-profile settings the sets start from;
    ``paper`` the method whose published numbers the rows name, and ``paper_label`` how a figure names them."""

    name: str
    recipe: str
    source: str
    sets: Mapping[str, tuple[str, Mapping]]
    rows: tuple[Row, ...]
    paper: str = ""
    paper_label: str = "paper"

    def published(self, row: Row) -> float | None:
        """The published number of ``row`` (%), or None where the row names none. Raises KeyError for a key the
        method table does not have (a misspelt key must not pass as "no number")."""
        if not row.paper:
            return None
        p = recipes.published(self.paper, row.paper, "fashion-mnist")
        if p is None:
            raise KeyError(f"{self.paper} has no published number {row.paper!r} in dfkd_book.recipes.METHODS")
        return p.value


_NO_AUG = {"augment": None}
_PAPER_BETAS = (1.0, 0.1)  # the paper's two concentration scales, half the impressions each
#: Nayak et al. 2019 on Fashion-MNIST (Tables 6 and 7, Figs. 2 and 3); the paper's numbers are at 48,000 DIs
ZSKD = Study(
    name="zskd", recipe="zskd", source="Nayak et al. 2019, Tables 6 and 7, Figs. 2 and 3 (Fashion-MNIST)",
    paper="zskd", paper_label="paper (48,000 impressions)",
    sets={"data impressions": ("zskd", {"betas": _PAPER_BETAS}),
          "uniform prior": ("zskd", {"prior": "uniform", "betas": _PAPER_BETAS}),
          "class impressions": ("class-impressions", {}),
          "paper's crafting": ("zskd", {"init_range": (0.0, 1.0), "jitter": 0, "view_affine": None,
                                        "betas": _PAPER_BETAS}),
          "β = 1 only": ("zskd", {"betas": (1.0,)})},
    rows=(
        Row("data impressions, with augmentation", "data impressions", paper="student", group="augmentation"),
        Row("data impressions, without augmentation", "data impressions", change=_NO_AUG, paper="without augmentation",
            group="augmentation"),
        Row("uniform prior, without augmentation", "uniform prior", change=_NO_AUG, paper="uniform prior",
            group="prior"),
        Row("class impressions, without augmentation", "class impressions", change=_NO_AUG, group="impressions"),
        Row("paper's crafting (noise in [0, 1], no jitter), with augmentation", "paper's crafting",
            group="crafting"),
        Row("β = 1 only (the official code's targets), with augmentation", "β = 1 only", group="targets"),
        Row("2,000 data impressions, with augmentation", "data impressions", n=2_000, group="size"),
        Row("4,000 data impressions, with augmentation", "data impressions", n=4_000, group="size"),
    ))

def _arbitrary_study() -> Study:
    """Nayak et al. 2021, Table 1 (Fashion-MNIST column) on this book's offline families, plus multi-scale noise
    and the book's best set (every offline source in one Algorithm 1, the recipe ``arbitrary-best``'s set; ``bench
    arbitrary-best`` balances a set per seed instead). Every set has the paper's size, 60,000
    images (at most 2 million candidates examined per source); the students get the measured protocol for
    arbitrary sets (:data:`dfkd_book.recipes.STUDENT_PROTOCOLS`), not the yardstick's."""
    from ..sources import FAMILIES

    steps, augment, batch = recipes.STUDENT_PROTOCOLS["arbitrary"]
    proto = {"steps": steps, "batch_size": batch, "augment": augment}
    size = {"n": 60_000, "max_candidates": 2_000_000}  # the paper's size: the teacher's training set
    sets, rows = {}, []
    for fam in FAMILIES + ("multi-scale noise",):
        for balanced in (False, True):
            name = f"{fam}, {'balanced' if balanced else 'unbalanced'}"
            sets[name] = ("arbitrary", {"sources": fam, "balanced": balanced, **size})
            rows.append(Row(f"{name}, with augmentation", name, change=proto, group=fam,
                            paper=f"{name}, with augmentation" if fam in FAMILIES else None,
                            seeds=1 if fam not in FAMILIES and not balanced else None))
            if fam in FAMILIES:
                rows.append(Row(f"{name}, without augmentation", name, change={**proto, "augment": None},
                                paper=f"{name}, without augmentation", group=fam, seeds=1))
    sets["best"] = ("arbitrary", {"sources": "all offline", "balanced": True, **size})
    rows.append(Row("the book's best set (all offline), with augmentation", "best", change=proto, paper="student",
                    group="best"))
    return Study(name="arbitrary", recipe="arbitrary-noise",
                 source="Nayak et al. 2021, Table 1 (Fashion-MNIST), with this book's offline sources",
                 sets=sets, rows=tuple(rows), paper="arbitrary-best", paper_label="paper (Table 1, its own sources)")


#: Nayak et al. 2021, Table 1 on Fashion-MNIST: each family unbalanced / balanced, with / without augmentation
ARBITRARY = _arbitrary_study()
STUDIES = {"zskd": ZSKD, "arbitrary": ARBITRARY}


#: levers beyond Table 1 on the study's own sets: label → (the row it changes, its protocol changed, and for a set
#: of its own: (the new set's name, its change to the row's set settings)). The study's balanced noise stops at 2
#: million candidates, short of 12,507 footwear images: "filled to quota" runs until every class has its 6,000.
ARBITRARY_LEVERS = {
    "noise, balanced, 40k steps": ("noise, balanced, with augmentation", {"steps": 40_000}, None),
    "best set, 40k steps": ("the book's best set (all offline), with augmentation", {"steps": 40_000}, None),
    "noise, balanced, batch 512": ("noise, balanced, with augmentation", {"batch_size": 512}, None),
    "best set, as the study": ("the book's best set (all offline), with augmentation", {}, None),
    "noise, balanced, as the study": ("noise, balanced, with augmentation", {}, None),
    "noise, balanced, filled to quota": ("noise, balanced, with augmentation", {},
                                         ("noise, balanced, filled", {"max_candidates": 30_000_000})),
}


def lever_study(labels: Sequence[str]) -> Study:
    """The arbitrary study restricted to the sets and rows of ``labels`` (keys of :data:`ARBITRARY_LEVERS`), each
    row the lever's. Copy a study directory's ``made.pt`` into the levers' directory to reuse its sets. Raises
    KeyError naming the known levers for an unknown label."""
    rows_of = {r.label: r for r in ARBITRARY.rows}
    sets, rows = {}, []
    for label in labels:
        if label not in ARBITRARY_LEVERS:
            raise KeyError(f"no lever {label!r}; known: {list(ARBITRARY_LEVERS)}")
        of, change, own = ARBITRARY_LEVERS[label]
        row = rows_of[of]
        method, settings = ARBITRARY.sets[row.set]
        name = own[0] if own else row.set
        sets[name] = (method, {**settings, **(own[1] if own else {})})
        rows.append(replace(row, label=label, set=name, change={**row.change, **change}, paper=None, seeds=None))
    return replace(ARBITRARY, name="arbitrary-levers", sets=sets, rows=tuple(rows))


def set_settings(study: Study, name: str) -> dict:
    """The method settings of the study's set ``name``: the recipe's full-profile settings changed as the study
    says. Raises KeyError for a set the study does not have."""
    method, change = study.sets[name]
    settings = {**recipes.get(study.recipe, "full").settings, **change}
    if method == "class-impressions":
        settings.pop("betas", None)
    return settings


def make_sets(study: Study, device=None, progress: bool = False, given: Mapping[str, Mapping] | None = None,
              only: Sequence[str] | None = None) -> dict[str, dict]:
    """Each of the study's sets made once, seed 0, by its method's own :meth:`build`, with
    the recipe's full-profile settings (changed as the study says). Returns name → ``{"images", "classes",
    "settings", "seconds", "impression_steps"}`` (tensors on the CPU; ``classes`` the class each impression was
    made for, or the teacher's predicted class of each arbitrary image, whose sets add ``"composition"``).
    ``given`` sets (the same dicts, made earlier with the same settings) are used as they are; ``only`` makes just
    those sets (a study that grew).

    Raises:
        ValueError: a given set whose settings are not the ones the study asks for.
    """
    r = recipes.get(study.recipe, "full")
    teacher = zoo.teacher(r.teacher, DATASET)
    out = {}
    for name, (method, _change) in study.sets.items():
        if only is not None and name not in only:
            continue
        settings = set_settings(study, name)
        if given and name in given:
            if json.dumps(given[name]["settings"], sort_keys=True) != json.dumps(settings, sort_keys=True):
                raise ValueError(f"the given set {name!r} was made with {given[name]['settings']}, "
                                 f"the study asks for {settings}")
            out[name] = dict(given[name])
            continue
        from .. import methods

        m = methods.get(method, **settings)
        config.seed_everything(0)
        t0 = time.perf_counter()
        transfer_set(teacher, m, seed=0, device=device, progress=progress)
        imp = getattr(m, "impressions", None)
        if imp is not None:
            images, classes, steps, extra = imp.images, imp.classes, imp.impression_steps, {}
        else:  # an arbitrary set: the teacher's predicted classes, and how it was composed
            images, classes, steps, extra = m.pool.detach().cpu(), m.classes, None, {"composition": m.composition()}
        out[name] = {"images": images, "classes": classes, "settings": settings,
                     "seconds": round(time.perf_counter() - t0, 1), "impression_steps": steps, **extra}
        print(f"set {name}: {len(classes)} items, {out[name]['seconds']:.0f} s", flush=True)
    return out


def set_digest(images: torch.Tensor) -> str:
    """SHA-256 of a set's images (as contiguous float32 bytes): a set remade in another session, on another
    machine or after a code change is the same set exactly when its digest matches the record's."""
    import hashlib

    return hashlib.sha256(images.detach().to(torch.float32).contiguous().cpu().numpy().tobytes()).hexdigest()


#: what makes two runs of a study the same run: the set, the student protocol and the seed
IDENTITY = ("set", "protocol", "seed")


def runs_name(study: Study) -> str:
    """The file stem of a study's runs and summary: ``zskd-ablations``, ``arbitrary-ablations``,
    ``arbitrary-levers``."""
    return study.name if study.name.endswith("levers") else f"{study.name}-ablations"


def jobs(study: Study, seeds: int = 3) -> list[dict]:
    """The runs of ``study``: every row from seeds 0..``seeds``−1 (fewer where the row says so), seed by seed —
    every row's seed 0 first, so that a run stopped early still has one student per row, and within a seed the
    rows run from every seed before the rows capped to fewer (the ones the study ranks come first)."""
    rows = sorted(study.rows, key=lambda r: r.seeds is not None)  # stable: the study's order otherwise
    teacher = recipes.get(study.recipe, "full").teacher
    return [{"study": runs_name(study), "stage": f"ablation {study.name}", "teacher": teacher, "set": row.set_key(),
             "seed": seed, "label": row.label, "protocol": asdict(row.protocol())}
            for seed in range(seeds) for row in rows if row.seeds is None or seed < row.seeds]


def _init(sets_path: str):
    return torch.load(sets_path), *students.eval_sets()


def work(job: dict) -> dict:
    """One student of a study row in a worker of the lab's runner."""
    sets, val, test = runner.state()
    proto = students.Protocol(**job["protocol"])
    return students.run_one(sets[job["set"]], job["teacher"], proto, job["seed"], val, test,
                            device=config.device())


def ensure_sets(study: Study, out: Path) -> None:
    """Make the study's sets once into ``out/made.pt`` (with their settings) and ``out/sets.pt`` (tensors).

    Raises:
        ValueError: ``made.pt`` holds a set made with other settings than the study now asks for.
    """
    made = torch.load(out / "made.pt") if (out / "made.pt").exists() else {}
    for name in set(made) & set(study.sets):
        want = set_settings(study, name)
        if json.dumps(made[name]["settings"], sort_keys=True) != json.dumps(want, sort_keys=True):
            raise ValueError(f"{out / 'made.pt'} holds the set {name!r} made with {made[name]['settings']}, but the "
                             f"study now asks for {want}: its runs would not be the study's. Use a new directory.")
    missing = [n for n in study.sets if n not in made]
    if not missing and (out / "sets.pt").exists():
        return
    given = {n: torch.load(out / f"{n}.pt") for n in missing if (out / f"{n}.pt").exists()}
    made.update(make_sets(study, config.device(), given=given, only=missing))
    config.atomic_write(out / "made.pt", lambda f: torch.save(made, f))
    tensors = {name: s["images"] for name, s in made.items()}
    for row in study.rows:
        if row.n is not None:
            tensors[row.set_key()] = tensors[row.set][zskd.equal_shares(made[row.set]["classes"], row.n)]
    config.atomic_write(out / "sets.pt", lambda f: torch.save(tensors, f))


def run(study: Study, out: str | Path, seeds: int = 3, workers: int = 1, minutes: float | None = None) -> list[dict]:
    """Make the study's sets (once, ``out/sets.pt``) and run its jobs not yet in ``out/<study>-ablations.jsonl``
    on the lab's runner."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ensure_sets(study, out)  # also when every run is already there: a set added to the study is still recorded
    return runner.run(jobs(study, seeds), work, out / f"{runs_name(study)}.jsonl", workers,
                      init=partial(_init, str(out / "sets.pt")), minutes=minutes, keys=IDENTITY)


def record(study: Study, runs: list[dict], made: Mapping[str, Mapping], yardstick: Mapping | None = None,
           seeds: int = 3, partial: bool = False) -> dict:
    """The study's record: per row the test accuracy of the final students (mean ± sd over seeds, per seed), the
    seeds planned for it (``seeds``, fewer where the row says so), the mean final validation accuracy, the paper's
    number, and what the mean is worth in real images under the yardstick (``yardstick``: the summary
    :func:`dfkd_book.records.yardstick`; rows whose protocol is not the yardstick's get None); per set its size,
    settings and making time and its :func:`set_digest`; per row also every seed's validation curve (``curves``:
    ``{"step", "val_acc"}`` each, in the order of ``seed_ids``) and the device that ran it (``per_seed_device``:
    a CPU and a GPU draw different random numbers, so the same seed on each is not the same student).
    ``complete`` says whether every row has all its planned seeds; with ``partial``, a row with no run yet is left
    out and named in ``pending`` (a study recorded while it still runs).

    Raises:
        ValueError: a row with no run in ``runs`` (unless ``partial``).
    """
    rows, pending = [], []
    for row in study.rows:
        rs = sorted((r for r in runs if r["label"] == row.label and r["set"] == row.set_key()
                     and r["protocol"] == asdict(row.protocol())), key=lambda r: r["seed"])
        if not rs and partial:
            pending.append(row.label)
            continue
        if not rs:
            raise ValueError(f"no runs for the row {row.label!r}: run "
                             f"`python -m dfkd_book.experiments.ablation {study.name}`")
        summary = students.seed_stats(rs)
        worth = None
        if yardstick is not None and row.protocol() == students.YARDSTICK_PROTOCOL:
            worth = stats.worth_real_images(summary["test_acc"], yardstick)
        n = row.n or len(made[row.set]["classes"])
        rows.append({"label": row.label, "group": row.group, "set": row.set, "n": n,
                     "protocol": asdict(row.protocol()), "paper": study.published(row), **summary,
                     "planned_seeds": min(seeds, row.seeds or seeds), "seed_ids": [r["seed"] for r in rs],
                     "curves": [r["curve"] for r in rs if "curve" in r],
                     "worth_real_images": worth,
                     "device": sorted({r["device"] for r in rs}),
                     "per_seed_device": [r["device"] for r in rs],
                     "wall_s": round(sum(r["wall_s"] for r in rs) / len(rs), 1)})
    sets = {name: {"n": len(s["classes"]), "settings": s["settings"], "seconds": s["seconds"],
                   "sha256": set_digest(s["images"]),
                   "impression_steps": s["impression_steps"], "seed": 0,
                   **({"composition": s["composition"]} if "composition" in s else {})} for name, s in made.items()}
    return {"study": study.name, "source": study.source, "dataset": DATASET,
            "teacher": recipes.get(study.recipe, "full").teacher, "student": "lenet5half",
            "yardstick_protocol": asdict(students.YARDSTICK_PROTOCOL), "paper_label": study.paper_label,
            "seeds_vary": "the student (initial weights, batch order, augmentation draws); every set is made once, "
                          "from seed 0",
            "sets": sets, "rows": rows, "pending": pending,
            "complete": not pending and all(r["seeds"] >= r["planned_seeds"] for r in rows)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m dfkd_book.experiments.ablation", description=__doc__.split("\n\n")[0])
    ap.add_argument("study", choices=sorted(STUDIES) + ["arbitrary-levers"])
    ap.add_argument("--levers", nargs="+", default=list(ARBITRARY_LEVERS), help="arbitrary-levers: which")
    ap.add_argument("--out", required=True, help="the run directory (sets.pt, the runs)")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--minutes", type=float, default=None, help="stop handing out runs after this long")
    ap.add_argument("--record", action="store_true", help="write the summary <study>-ablations.json from the runs")
    ap.add_argument("--partial", action="store_true",
                    help="with --record: record the rows run so far (the others are named in 'pending')")
    ap.add_argument("--results", default=None, help="the results directory (default: the repository's)")
    a = ap.parse_args(argv)
    if a.seeds < 1:
        ap.error(f"--seeds must be >= 1, got {a.seeds}")
    study = lever_study(a.levers) if a.study == "arbitrary-levers" else STUDIES[a.study]
    out = Path(a.out)
    if a.record:
        made = torch.load(out / "made.pt")
        runs = list(runner.done(out / f"{runs_name(study)}.jsonl", IDENTITY).values())
        rec = record(study, runs, made, records.yardstick(a.results), seeds=a.seeds, partial=a.partial)
        print("wrote", records.save_summary(runs_name(study), rec, a.results))
        return 0
    run(study, out, a.seeds, a.workers, a.minutes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
