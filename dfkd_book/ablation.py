"""A paper's ablations over seeds: transfer sets made once, each distilled under one student protocol from several
seeds, summarised as mean ± sd and as "worth N real images".

    python -m dfkd_book.ablation zskd --out DIR [--seeds 3] [--workers 2] [--minutes M]   # the runs (resumable)
    python -m dfkd_book.ablation zskd --out DIR --record                                  # results/zskd-ablations.json

A chapter cannot afford a paper's ablations at a real student budget from three seeds on a laptop (ZSKD's need
about 20 students), so they run here, once, and the chapter reads the record. Every row is one transfer set and
one student protocol; every student is :func:`dfkd_book.protocol.run_one` — the yardstick's protocol
(:data:`dfkd_book.protocol.YARDSTICK_PROTOCOL`) unless a row changes it — so each row's mean can be read off the
real-data curve of ``results/yardstick.json`` as a number of real images (:func:`dfkd_book.protocol.worth_real_images`).
The sets are made once from seed 0 with the recipe's full-profile settings; the seeds vary the student (its
initial weights, batch order and augmentation draws). Runs go to ``DIR/runs.jsonl`` (a run already there is not
run again), the sets to ``DIR/sets.pt``; a set saved earlier as ``DIR/<set name>.pt`` (the dict
:func:`make_sets` returns for it) is used instead of being made again.

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
from pathlib import Path

import torch

from . import config, protocol, recipes, zoo
from .loop import distill
from .methods import zskd


@dataclass(frozen=True)
class Row:
    """One ablation row: a transfer set (a name of the study's sets, optionally its first ``n`` items in equal
    class shares) distilled with the yardstick protocol changed by ``change`` (fields of
    :class:`dfkd_book.protocol.Protocol`). ``paper``: the published number for the row (%, None if none).
    ``seeds``: at most this many seeds for the row (None: as many as the study runs)."""

    label: str
    set: str
    n: int | None = None
    change: Mapping = field(default_factory=dict)
    paper: float | None = None
    group: str = ""
    seeds: int | None = None


    def protocol(self) -> protocol.Protocol:
        return replace(protocol.YARDSTICK_PROTOCOL, **dict(self.change))

    def set_key(self) -> str:
        return self.set if self.n is None else f"{self.set}[:{self.n}]"


@dataclass(frozen=True)
class Study:
    """A paper's ablations: ``sets`` (name → the recipe's method settings changed by a dict, and the method's
    registry name) and ``rows``. ``recipe`` names the recipe whose full-profile settings the sets start from."""

    name: str
    recipe: str
    source: str
    sets: Mapping[str, tuple[str, Mapping]]
    rows: tuple[Row, ...]


_NO_AUG = {"augment": None}
_PAPER_BETAS = (1.0, 0.1)  # the paper's two concentration scales, half the impressions each
#: Nayak et al. 2019 on Fashion-MNIST (Tables 6 and 7, Figs. 2 and 3); the paper's numbers are at 48,000 DIs
ZSKD = Study(
    name="zskd", recipe="zskd", source="Nayak et al. 2019, Tables 6 and 7, Figs. 2 and 3 (Fashion-MNIST)",
    sets={"data impressions": ("zskd", {"betas": _PAPER_BETAS}),
          "uniform prior": ("zskd", {"prior": "uniform", "betas": _PAPER_BETAS}),
          "class impressions": ("class-impressions", {}),
          "paper's crafting": ("zskd", {"init_range": (0.0, 1.0), "jitter": 0, "view_affine": None,
                                        "betas": _PAPER_BETAS}),
          "β = 1 only": ("zskd", {"betas": (1.0,)})},
    rows=(
        Row("data impressions, with augmentation", "data impressions", paper=79.62, group="augmentation"),
        Row("data impressions, without augmentation", "data impressions", change=_NO_AUG, paper=69.37,
            group="augmentation"),
        Row("uniform prior, without augmentation", "uniform prior", change=_NO_AUG, paper=56.24, group="prior"),
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
    from .methods.arbitrary import FAMILIES

    steps, augment, batch = recipes.STUDENT_PROTOCOLS["arbitrary"]
    proto = {"steps": steps, "batch_size": batch, "augment": augment}
    size = {"n": 60_000, "max_candidates": 2_000_000}  # the paper's size: the teacher's training set
    paper = {"noise": ((33.49, 38.37), (70.15, 74.33)), "synthetic": ((46.63, 72.68), (66.44, 83.38)),
             "natural": ((80.93, 83.85), (81.56, 84.75))}
    sets, rows = {}, []
    for fam in FAMILIES + ("multi-scale noise",):
        for balanced in (False, True):
            name = f"{fam}, {'balanced' if balanced else 'unbalanced'}"
            sets[name] = ("arbitrary", {"sources": fam, "balanced": balanced, **size})
            published = paper.get(fam, ((None, None), (None, None)))[balanced]
            rows.append(Row(f"{name}, with augmentation", name, change=proto, paper=published[1], group=fam,
                            seeds=1 if fam not in FAMILIES and not balanced else None))
            if fam in FAMILIES:
                rows.append(Row(f"{name}, without augmentation", name, change={**proto, "augment": None},
                                paper=published[0], group=fam, seeds=1))
    sets["best"] = ("arbitrary", {"sources": "all offline", "balanced": True, **size})
    rows.append(Row("the book's best set (all offline), with augmentation", "best", change=proto, paper=84.75,
                    group="best"))
    return Study(name="arbitrary", recipe="arbitrary-noise",
                 source="Nayak et al. 2021, Table 1 (Fashion-MNIST), with this book's offline sources",
                 sets=sets, rows=tuple(rows))


#: Nayak et al. 2021, Table 1 on Fashion-MNIST: each family unbalanced / balanced, with / without augmentation
ARBITRARY = _arbitrary_study()
STUDIES = {"zskd": ZSKD, "arbitrary": ARBITRARY}
#: how a study's figure names the paper's numbers
PAPER_LABELS = {"zskd": "paper (48,000 impressions)", "arbitrary": "paper (Table 1, its own sources)"}


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
    """Each of the study's sets made once, seed 0, through a 1-step :func:`dfkd_book.distill` of its method with
    the recipe's full-profile settings (changed as the study says). Returns name → ``{"images", "classes",
    "settings", "seconds", "impression_steps"}`` (tensors on the CPU; ``classes`` the class each impression was
    made for, or the teacher's predicted class of each arbitrary image, whose sets add ``"composition"``).
    ``given`` sets (the same dicts, made earlier with the same settings) are used as they are; ``only`` makes just
    those sets (a study that grew).

    Raises:
        ValueError: a given set whose settings are not the ones the study asks for.
    """
    r = recipes.get(study.recipe, "full")
    teacher = zoo.teacher(r.teacher, protocol.DATASET)
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
        from . import methods

        m = methods.get(method, **settings)
        config.seed_everything(0)
        t0 = time.perf_counter()
        distill(teacher, zoo.student(r.student_arch, protocol.DATASET), m, steps=1, seed=0, device=device,
                progress=progress)
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


def jobs(study: Study, seeds: int = 3) -> list[dict]:
    """The runs of ``study``: every row from seeds 0..``seeds``−1 (fewer where the row says so), seed by seed —
    every row's seed 0 first, so that a run stopped early still has one student per row, and within a seed the
    rows run from every seed before the rows capped to fewer (the ones the study ranks come first). Jobs of
    :func:`dfkd_book.protocol.run_jobs`."""
    rows = sorted(study.rows, key=lambda r: r.seeds is not None)  # stable: the study's order otherwise
    return [{"stage": f"ablation {study.name}", "set": row.set_key(), "seed": seed, "label": row.label,
             "protocol": asdict(row.protocol())}
            for seed in range(seeds) for row in rows if row.seeds is None or seed < row.seeds]


def run(study: Study, out: str | Path, seeds: int = 3, workers: int = 1, minutes: float | None = None) -> list[dict]:
    """Make the study's sets (once, ``out/sets.pt``) and run its jobs not yet in ``out/runs.jsonl``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)

    def ensure_sets(_out: Path, _profile: str = "full") -> None:
        made = torch.load(out / "made.pt") if (out / "made.pt").exists() else {}
        for name in set(made) & set(study.sets):
            want = set_settings(study, name)
            if json.dumps(made[name]["settings"], sort_keys=True) != json.dumps(want, sort_keys=True):
                raise ValueError(f"{out / 'made.pt'} holds the set {name!r} made with {made[name]['settings']}, "
                                 f"but the study now asks for {want}: its runs would not be the study's. Run "
                                 "the study in a new directory, or rename the set.")
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

    ensure_sets(out)  # also when every run is already there: a set added to the study is still recorded
    deadline = None if minutes is None else time.time() + 60 * minutes
    return protocol.run_jobs(jobs(study, seeds), out, workers=workers, deadline=deadline, ensure_sets=ensure_sets)


def record(study: Study, runs: list[dict], made: Mapping[str, Mapping], yardstick: Mapping | None = None,
           seeds: int = 3, partial: bool = False) -> dict:
    """The study's record: per row the test accuracy of the final students (mean ± sd over seeds, per seed), the
    seeds planned for it (``seeds``, fewer where the row says so), the mean final validation accuracy, the paper's
    number, and what the mean is worth in real images under the yardstick (``yardstick``: the record
    ``results/yardstick.json``; rows whose protocol is not the yardstick's get None); per set its size, settings
    and making time and its :func:`set_digest`; per row also every seed's validation curve (``curves``:
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
            raise ValueError(f"no runs for the row {row.label!r}: run `python -m dfkd_book.ablation {study.name}`")
        stats = protocol.seed_stats(rs)
        worth = None
        if yardstick is not None and row.protocol() == protocol.YARDSTICK_PROTOCOL:
            worth = protocol.worth_real_images(stats["test_acc"], yardstick)
        n = row.n or len(made[row.set]["classes"])
        rows.append({"label": row.label, "group": row.group, "set": row.set, "n": n,
                     "protocol": asdict(row.protocol()), "paper": row.paper, **stats,
                     "planned_seeds": min(seeds, row.seeds or seeds), "seed_ids": [r["seed"] for r in rs],
                     "curves": [r["curve"] for r in rs if "curve" in r],
                     "worth_real_images": worth,
                     "device": sorted({r.get("device", "?") for r in rs}),
                     "per_seed_device": [r.get("device", "?") for r in rs],
                     "wall_s": round(sum(r["wall_s"] for r in rs) / len(rs), 1)})
    sets = {name: {"n": len(s["classes"]), "settings": s["settings"], "seconds": s["seconds"],
                   "sha256": set_digest(s["images"]),
                   "impression_steps": s["impression_steps"], "seed": 0,
                   **({"composition": s["composition"]} if "composition" in s else {})} for name, s in made.items()}
    return {"study": study.name, "source": study.source, "dataset": protocol.DATASET,
            "teacher": recipes.get(study.recipe, "full").teacher, "student": "lenet5half",
            "yardstick_protocol": asdict(protocol.YARDSTICK_PROTOCOL),
            "seeds_vary": "the student (initial weights, batch order, augmentation draws); every set is made once, "
                          "from seed 0",
            "sets": sets, "rows": rows, "pending": pending,
            "complete": not pending and all(r["seeds"] >= r["planned_seeds"] for r in rows)}


def table(rec: Mapping):
    """An ablation record as a pandas DataFrame: per row the paper's number, the mean ± sd (%) over seeds, how many
    seeds ("1 of 3" while a study still runs), every seed's number, and what the mean is worth in real images (the
    yardstick)."""
    import pandas as pd

    def worth(w):
        if w is None:
            return "–"
        if w["below"]:
            return "fewer than the smallest N"
        if w["above"]:
            return "more than all the real data"
        return f"{w['n']:,}"

    def seeds(r):
        planned = r.get("planned_seeds", r["seeds"])
        return f"{r['seeds']}" if r["seeds"] >= planned else f"{r['seeds']} of {planned}"

    return pd.DataFrame([{"": r["label"], "paper": "–" if r["paper"] is None else f"{r['paper']:.2f}",
                          "this book": f"{r['test_acc']:.2f} ± {r['test_acc_sd']:.2f}",
                          "seeds": seeds(r), "per seed": ", ".join(f"{a:.2f}" for a in r["per_seed_test"]),
                          "worth real images": worth(r["worth_real_images"])} for r in rec["rows"]]).set_index("")


def _paired(a: Sequence[float], b: Sequence[float]) -> tuple[float, float, int]:
    d = [x - y for x, y in zip(a, b)]
    n = len(d)
    diff = sum(d) / n
    return diff, (sum((x - diff) ** 2 for x in d) / (n - 1) / n) ** 0.5, n - 1


def paired_test(a: Sequence[float], b: Sequence[float]) -> dict:
    """Is ``a`` above ``b`` beyond the seeds' noise, seed by seed? The paired two-sided t-test of :func:`contrast`
    on two equal-length per-seed accuracies (%) whose i-th entries share a seed.

    Returns ``{"diff" (mean of a − b, points), "se" (its standard error), "df", "t_crit", "beyond" (|diff| >
    t_crit · se), "seeds"}``. Raises ValueError for lists of different lengths or fewer than 2 seeds."""
    from scipy import stats

    a, b = [float(x) for x in a], [float(x) for x in b]
    if len(a) != len(b) or len(a) < 2:
        raise ValueError(f"a paired test needs two lists of the same >= 2 seeds, got {len(a)} and {len(b)} values")
    diff, se, df = _paired(a, b)
    t_crit = float(stats.t.ppf(0.975, df))
    return {"diff": round(diff, 2), "se": round(se, 2), "df": df, "t_crit": round(t_crit, 2),
            "beyond": se > 0 and abs(diff) > t_crit * se, "seeds": len(a)}


def contrast(rec: Mapping, a: str, b: str, what: str | None = None) -> dict:
    """Does row ``a`` beat row ``b`` on the seed means, beyond the seeds' noise?

    Rows of one study that share a seed share the student's initial weights, batch order and augmentation draws
    (common random numbers), so when both rows have the same ≥ 2 seeds (``seed_ids``) the test is **paired**: the
    per-seed differences ``d``, their mean, standard error ``sd(d) / √n`` and ``n − 1`` degrees of freedom.
    Otherwise it is **Welch's** unpaired test: the difference of the means, standard error
    ``sqrt(sd_a² / n_a + sd_b² / n_b)`` and the Welch–Satterthwaite degrees of freedom. ``beyond`` is a two-sided
    t-test at the 5 % level: ``|diff| > t(0.975, df) · se`` (with three seeds t is 4.30 paired, about 2.8 unpaired —
    not 2: three seeds are few). A row with one seed gives no noise estimate (``se`` 0, ``beyond`` False).

    Returns ``{"diff", "se", "df", "t_crit", "holds" (a > b), "beyond", "paired", "seeds" (n_a, n_b)}``; with
    ``what``, prints one line saying so. Raises KeyError naming the labels the record has when a label is not one
    of them."""
    from scipy import stats

    rows = {r["label"]: r for r in rec["rows"]}
    for label in (a, b):
        if label not in rows:
            raise KeyError(f"no row {label!r} in the record; rows: {list(rows)}")
    ra, rb = rows[a], rows[b]
    ids_a, ids_b = ra.get("seed_ids"), rb.get("seed_ids")
    paired = ids_a is not None and ids_a == ids_b and len(ids_a) >= 2
    if paired:
        diff, se, df = _paired(ra["per_seed_test"], rb["per_seed_test"])
    else:
        diff = ra["test_acc"] - rb["test_acc"]
        va, vb = ra["test_acc_sd"] ** 2 / ra["seeds"], rb["test_acc_sd"] ** 2 / rb["seeds"]
        se = (va + vb) ** 0.5
        terms = [v ** 2 / (r["seeds"] - 1) for v, r in ((va, ra), (vb, rb)) if r["seeds"] > 1]
        df = (va + vb) ** 2 / sum(terms) if se > 0 and sum(terms) > 0 else 0.0
    t_crit = float(stats.t.ppf(0.975, df)) if df > 0 else float("inf")
    out = {"diff": round(diff, 2), "se": round(se, 2), "df": round(df, 1), "t_crit": round(t_crit, 2),
           "holds": diff > 0, "beyond": se > 0 and abs(diff) > t_crit * se, "paired": paired,
           "seeds": (ra["seeds"], rb["seeds"])}
    if what is not None:
        if se == 0:
            noise = "no noise estimate: one seed" if 1 in out["seeds"] else "no spread over the seeds"
        else:
            test = f"paired over {len(ids_a)} seeds" if paired else "Welch, unpaired"
            noise = (f"standard error {se:.2f}, {test}: {'beyond' if out['beyond'] else 'within'} the seeds' "
                     f"noise (t test at 5 %: |difference| > {t_crit:.2f} × se)")
        print(f"{what}: {'holds' if out['holds'] else 'does not hold'} ({diff:+.2f} points; {noise})")
    return out


def load(name: str = "zskd", results_dir: str | Path = config.RESULTS) -> dict:
    """The record ``results/<name>-ablations.json``. Raises FileNotFoundError (naming the command) when absent."""
    path = Path(results_dir) / f"{name}-ablations.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: `python -m dfkd_book.ablation {name} --out DIR`, then "
                                f"`--record`, writes it")
    return json.loads(path.read_text())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m dfkd_book.ablation", description=__doc__.split("\n\n")[0])
    ap.add_argument("study", choices=sorted(STUDIES))
    ap.add_argument("--out", required=True, help="the run directory (sets.pt, runs.jsonl)")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--minutes", type=float, default=None, help="stop handing out runs after this long")
    ap.add_argument("--record", action="store_true", help="write results/<study>-ablations.json from the runs")
    ap.add_argument("--partial", action="store_true",
                    help="with --record: record the rows run so far (the others are named in 'pending')")
    ap.add_argument("--results", default=str(config.RESULTS), help="where records go")
    a = ap.parse_args(argv)
    if a.seeds < 1:
        ap.error(f"--seeds must be >= 1, got {a.seeds}")
    study = STUDIES[a.study]
    out = Path(a.out)
    if a.record:
        made = torch.load(out / "made.pt")
        yard = json.loads((Path(a.results) / "yardstick.json").read_text())
        rec = record(study, protocol.done_runs(out), made, yard, seeds=a.seeds, partial=a.partial)
        path = Path(a.results) / f"{study.name}-ablations.json"
        config.atomic_write(path, lambda f: f.write((json.dumps(rec, indent=1) + "\n").encode()))
        print(f"wrote {path}")
        return 0
    run(study, out, a.seeds, a.workers, a.minutes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
