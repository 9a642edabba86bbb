"""The book's statistics, on :mod:`scipy.stats`: mean ± sd over seeds, and **one** significance rule.

Every comparison in the book — a chapter's "does A beat B?", the reproduction appendix's lever tables and the
leaderboard's shared ranks — goes through :func:`compare`:

* **the rule**: a two-sided t-test at the 5 % level (:data:`ALPHA`). When the two samples are the same seeds of a
  common-random-numbers design (the i-th entries share a seed: the student's initial weights, batch order and
  augmentation draws), the test is **paired** (:func:`scipy.stats.ttest_rel`); otherwise it is **Welch's**
  unequal-variance test (:func:`scipy.stats.ttest_ind` with ``equal_var=False``, or
  :func:`scipy.stats.ttest_ind_from_stats` from a record's mean, sd and n).
* a sample of one seed carries no noise estimate: the comparison is then *untested* (``p`` is None), never
  "significant";
* the result always prints with its n and p (:meth:`Comparison.__str__`).

Sources: Student (1908) for the paired t-test; Welch (1947) for the unequal-variance test.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

#: the significance level of the one rule (two-sided)
ALPHA = 0.05


def _values(xs, what: str) -> list[float]:
    try:
        out = [float(x) for x in xs]
    except (TypeError, ValueError) as e:
        raise TypeError(f"{what} must be a sequence of numbers (accuracies in %), got {xs!r}") from e
    if any(math.isnan(x) or math.isinf(x) for x in out):
        raise ValueError(f"{what} must be finite numbers, got {out}")
    return out


def mean_sd(xs: Sequence[float]) -> tuple[float, float]:
    """The mean and the sample standard deviation (``n − 1`` in the denominator; 0.0 for one value) of ``xs``.

    Raises:
        ValueError: an empty sequence, or a NaN / infinite value.
        TypeError: a value that is not a number.
    """
    v = _values(xs, "xs")
    if not v:
        raise ValueError("mean_sd needs at least one value, got an empty sequence")
    m = sum(v) / len(v)
    sd = math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1)) if len(v) > 1 else 0.0
    return m, sd


def mean_sd_text(xs: Sequence[float], digits: int = 2) -> str:
    """``"81.34 ± 1.69"``: :func:`mean_sd` as text (sd over the seeds, not a confidence interval)."""
    m, sd = mean_sd(xs)
    return f"{m:.{digits}f} ± {sd:.{digits}f}"


@dataclass(frozen=True)
class Comparison:
    """Sample ``a`` against sample ``b`` under the one rule. ``diff``: mean of a − mean of b (points); ``se`` its
    standard error; ``t``, ``df``, ``p`` the test's statistic, degrees of freedom and two-sided p-value (None when a
    side has one value or no spread at all: no noise estimate); ``n``: the sizes (n_a, n_b); ``paired``: which test.
    """

    diff: float
    se: float | None
    t: float | None
    df: float | None
    p: float | None
    n: tuple[int, int]
    paired: bool

    @property
    def significant(self) -> bool:
        """``p < ALPHA``: the difference is beyond the seeds' noise. False when untested."""
        return self.p is not None and self.p < ALPHA

    @property
    def verdict(self) -> str:
        if self.p is None:
            return "untested (no noise estimate)"
        return "beyond the seeds' noise" if self.significant else "within the seeds' noise"

    def __str__(self) -> str:
        test = f"paired t over {self.n[0]} seeds" if self.paired else f"Welch t, n = {self.n[0]} vs {self.n[1]}"
        if self.p is None:
            return f"{self.diff:+.2f} points ({test}: untested, no noise estimate)"
        return (f"{self.diff:+.2f} points ({test}: t = {self.t:.2f}, df = {self.df:.1f}, p = {self.p:.3f}: "
                f"{self.verdict} at {ALPHA:.0%})")

    def as_dict(self) -> dict:
        return {"diff": round(self.diff, 2), "se": None if self.se is None else round(self.se, 2),
                "t": None if self.t is None else round(self.t, 2), "df": None if self.df is None else round(self.df, 1),
                "p": None if self.p is None else round(self.p, 4), "n": list(self.n), "paired": self.paired,
                "significant": self.significant}


def _finite(x) -> float | None:
    x = float(x)
    return None if math.isnan(x) or math.isinf(x) else x


def compare(a: Sequence[float], b: Sequence[float], paired: bool = False) -> Comparison:
    """The one significance rule on two samples of accuracies (%): paired t (:func:`scipy.stats.ttest_rel`) when
    ``paired`` (``a[i]`` and ``b[i]`` share seed i), Welch's t (:func:`scipy.stats.ttest_ind`, unequal variances)
    otherwise; two-sided, significant at p < :data:`ALPHA`.

    Raises:
        ValueError: an empty sample, a non-finite value, or ``paired`` with samples of different lengths.
        TypeError: a value that is not a number.
    """
    from scipy import stats as sps

    a, b = _values(a, "a"), _values(b, "b")
    if not a or not b:
        raise ValueError(f"compare needs two non-empty samples, got {len(a)} and {len(b)} values")
    if paired and len(a) != len(b):
        raise ValueError(f"a paired test needs the same seeds on both sides, got {len(a)} and {len(b)} values")
    diff = sum(a) / len(a) - sum(b) / len(b)
    if paired:
        d = [x - y for x, y in zip(a, b)]
        if len(d) < 2 or len(set(d)) == 1:
            return Comparison(diff, None, None, None, None, (len(a), len(b)), True)
        r = sps.ttest_rel(a, b)
        se = mean_sd(d)[1] / math.sqrt(len(d))
        return Comparison(diff, se, _finite(r.statistic), float(len(d) - 1), _finite(r.pvalue), (len(a), len(b)),
                          True)
    if len(a) < 2 or len(b) < 2 or (len(set(a)) == 1 and len(set(b)) == 1):
        return Comparison(diff, None, None, None, None, (len(a), len(b)), False)
    return from_stats(*mean_sd(a), len(a), *mean_sd(b), len(b))


def from_stats(mean_a: float, sd_a: float, n_a: int, mean_b: float, sd_b: float, n_b: int) -> Comparison:
    """Welch's test of the one rule from two summaries (mean, sample sd, n), as records keep them
    (:func:`scipy.stats.ttest_ind_from_stats`, ``equal_var=False``). A side of one seed, or no spread on either
    side, gives an untested comparison.

    Raises:
        ValueError: n < 1 or a negative sd.
    """
    from scipy import stats as sps

    if n_a < 1 or n_b < 1 or sd_a < 0 or sd_b < 0:
        raise ValueError(f"from_stats needs n >= 1 and sd >= 0, got n = {n_a}, {n_b} and sd = {sd_a}, {sd_b}")
    diff = mean_a - mean_b
    if n_a < 2 or n_b < 2 or (sd_a == 0 and sd_b == 0):
        return Comparison(diff, None, None, None, None, (n_a, n_b), False)
    va, vb = sd_a ** 2 / n_a, sd_b ** 2 / n_b
    df = (va + vb) ** 2 / (va ** 2 / (n_a - 1) + vb ** 2 / (n_b - 1))
    r = sps.ttest_ind_from_stats(mean_a, sd_a, n_a, mean_b, sd_b, n_b, equal_var=False)
    return Comparison(diff, math.sqrt(va + vb), _finite(r.statistic), df, _finite(r.pvalue), (n_a, n_b), False)


def ranks(samples: dict[str, Sequence[float]]) -> dict[str, str]:
    """Significance-aware ranks under the one rule: walking down the means, a method shares the rank of the method
    that opened the current rank until it is significantly below it (Welch, :func:`compare`); the first one that is
    opens the next rank (competition ranking: 1, =2, =2, 4). Shared ranks are written ``"=k"``. A method of one
    seed is untested against the opener, so it shares its rank."""
    order = sorted(samples, key=lambda m: -mean_sd(samples[m])[0])
    out: dict[str, int] = {}
    opener = None
    for i, m in enumerate(order):
        if opener is None or compare(samples[opener], samples[m]).significant:
            opener, pos = m, i + 1
        out[m] = pos
    counts = {k: list(out.values()).count(k) for k in set(out.values())}
    return {m: f"={k}" if counts[k] > 1 else str(k) for m, k in out.items()}


def summarize(runs: list[dict], stage: str) -> list[dict]:
    """Study runs of one ``stage`` (``stage``, ``set``, ``label``, ``protocol``, ``seed``, ``test_acc``,
    ``val_acc``, ``wall_s``) summarised per set, label and budget: the mean ± sd over seeds of the final
    validation and test accuracy (%), every seed's test accuracy in seed order, the mean wall time."""
    groups: dict = {}
    for r in runs:
        if r["stage"] == stage:
            groups.setdefault((r["set"], r.get("label", ""), r["protocol"]["steps"]), []).append(r)
    rows = []
    for (s, label, steps), rs in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][2], kv[0][1])):
        row = {"set": s, "label": label, "steps": steps, "seeds": len(rs), "protocol": rs[0]["protocol"]}
        for key in ("val_acc", "test_acc"):
            m, sd = mean_sd([r[key] for r in rs])
            row[key], row[key + "_sd"] = round(m, 2), round(sd, 2)
        row["per_seed_test"] = [r["test_acc"] for r in sorted(rs, key=lambda r: r["seed"])]
        row["wall_s"] = round(sum(r["wall_s"] for r in rs) / len(rs), 1)
        rows.append(row)
    return rows


def worth_real_images(acc: float, yardstick: dict) -> dict:
    """How many real training images give a student as good as one of accuracy ``acc`` (%), under the yardstick's
    protocol: the real-data curve (mean accuracy over seeds against the number of class-balanced real images N)
    interpolated linearly in log N; ``low`` / ``high`` read the same off the curves of mean ∓ one standard
    deviation (a band, not a confidence interval).

    Args:
        acc: a student's test accuracy in percent.
        yardstick: the yardstick record (:func:`dfkd_book.records.yardstick`; ``points``:
            a list of ``{"n", "mean", "sd"}``, N increasing).

    Returns:
        ``{"n": N or None, "low": ..., "high": ..., "below": bool, "above": bool}`` — ``below``: ``acc`` is under
        the smallest N's mean (N is then None: "worth fewer than N₀ images"); ``above``: over the largest N's
        mean (None: "worth more than all the real data").

    Raises:
        ValueError: a yardstick with fewer than two points, N not increasing, or ``acc`` not a number in [0, 100].
    """
    pts = yardstick.get("points") if isinstance(yardstick, dict) else None
    if not pts or len(pts) < 2:
        raise ValueError(f"yardstick must hold at least two points, got {pts!r}")
    ns = [float(p["n"]) for p in pts]
    if any(b <= a for a, b in zip(ns, ns[1:])):
        raise ValueError(f"yardstick N must increase, got {ns}")
    if not isinstance(acc, (int, float)) or not 0 <= acc <= 100 or math.isnan(acc):
        raise ValueError(f"acc must be a test accuracy in percent, in [0, 100], got {acc!r}")

    def invert(curve: list[float]) -> float | None:
        # the curve need not be monotone: read the first crossing, walking up in N
        if acc < curve[0] or acc > max(curve):
            return None
        for (n0, a0), (n1, a1) in zip(zip(ns, curve), zip(ns[1:], curve[1:])):
            if min(a0, a1) <= acc <= max(a0, a1):
                if a1 == a0:
                    return n0
                u = (acc - a0) / (a1 - a0)
                return math.exp(math.log(n0) + u * (math.log(n1) - math.log(n0)))
        return None

    mean = [p["mean"] for p in pts]
    n = invert(mean)
    # a higher curve reaches acc with fewer images: mean + sd gives the low end of the band
    low = invert([p["mean"] + p["sd"] for p in pts])
    high = invert([p["mean"] - p["sd"] for p in pts])
    return {"n": None if n is None else round(n), "low": None if low is None else round(low),
            "high": None if high is None else round(high), "below": acc < mean[0], "above": acc > max(mean)}


def contrast(summary: dict, a: str, b: str, what: str | None = None) -> Comparison:
    """Row ``a`` against row ``b`` of a study's summary (``rows``: ``label``, ``per_seed_test``, ``seed_ids``,
    ``test_acc``, ``test_acc_sd``, ``seeds``) under the one rule: **paired** when both rows ran the same ≥ 2 seeds
    (rows of one study that share a seed share the student's initial weights, batch order and augmentation draws),
    Welch's otherwise. With ``what``, prints one line saying whether the claim holds, with n and p.

    Raises:
        KeyError: a label the summary does not have (the message lists the ones it has).
    """
    rows = {r["label"]: r for r in summary["rows"]}
    for label in (a, b):
        if label not in rows:
            raise KeyError(f"no row {label!r} in the summary; rows: {list(rows)}")
    ra, rb = rows[a], rows[b]
    ids = ra.get("seed_ids")
    if ids is not None and ids == rb.get("seed_ids") and len(ids) >= 2:
        c = compare(ra["per_seed_test"], rb["per_seed_test"], paired=True)
    else:
        c = from_stats(ra["test_acc"], ra["test_acc_sd"], ra["seeds"], rb["test_acc"], rb["test_acc_sd"], rb["seeds"])
    if what is not None:
        print(f"{what}: {'holds' if c.diff > 0 else 'does not hold'}, {c}")
    return c


def lever_table(runs: list[dict], baseline: str = "as the yardstick", metric: str = "val_acc"):
    """A lever study's runs as a table: one row per recipe, student budget and lever, with its seeds, the mean ± sd
    of ``metric`` (%; the validation split's accuracy by default, what levers are chosen on), and the paired
    difference against the same recipe and budget's ``baseline`` lever on the seeds both ran, with its p
    (:func:`compare`, paired). A baseline at the recipe's own budget (``budget == "recipe"``) reads "as the recipe".

    Args:
        runs: dicts with ``recipe``, ``budget`` (steps, or ``"recipe"``), ``lever``, ``seed`` and ``metric``, e.g.
            ``records.load_runs("generalise")``.

    Returns:
        a pandas DataFrame indexed by (recipe, student steps, lever); columns ``seeds``, ``mean ± sd``, ``paired
        difference`` (points) and ``p`` (text; "–" where there is no baseline or no noise estimate).

    Raises:
        ValueError: no runs. KeyError: a run without one of the keys above.
    """
    import pandas as pd

    if not runs:
        raise ValueError("lever_table needs a study's runs, got none")
    by: dict = {}
    for r in runs:
        by.setdefault((r["recipe"], r["budget"], r["lever"]), {})[r["seed"]] = r[metric]
    rows = []
    for (recipe, budget, lever), acc in sorted(by.items(), key=lambda kv: (kv[0][0], str(kv[0][1]))):
        base, seeds = by.get((recipe, budget, baseline), {}), sorted(acc)
        mean, sd = mean_sd([acc[s] for s in seeds])
        both = [s for s in seeds if s in base]
        c = compare([acc[s] for s in both], [base[s] for s in both], paired=True) if both else None
        plain = c is None or lever == baseline
        rows.append({"recipe": recipe, "student steps": budget if budget == "recipe" else f"{budget:,}",
                     "lever": "as the recipe" if lever == baseline and budget == "recipe" else lever,
                     "seeds": len(seeds), "mean ± sd": f"{mean:.2f} ± {sd:.2f}" if len(seeds) > 1 else f"{mean:.2f}",
                     "paired difference": "–" if plain else f"{c.diff:+.2f}",
                     "p": "–" if plain or c.p is None else f"{c.p:.3f}"})
    return pd.DataFrame(rows).set_index(["recipe", "student steps", "lever"])


def pooled_lever(runs: list[dict], lever: str, baseline: str = "as the yardstick", budget=5_000,
                 metric: str = "val_acc") -> Comparison:
    """One paired test of ``lever`` against ``baseline`` over every recipe and seed a lever study ran at ``budget``
    (each recipe × seed one pair; :func:`compare`, paired). Raises ValueError when no run of ``lever`` has its
    baseline (KeyError: a run without the keys of :func:`lever_table`)."""
    base = {(r["recipe"], r["seed"]): r[metric] for r in runs if r["lever"] == baseline and r["budget"] == budget}
    pairs = [(r[metric], base[r["recipe"], r["seed"]]) for r in runs
             if r["lever"] == lever and r["budget"] == budget and (r["recipe"], r["seed"]) in base]
    if not pairs:
        raise ValueError(f"no run of {lever!r} at budget {budget!r} has a {baseline!r} run of the same seed")
    return compare([a for a, _ in pairs], [b for _, b in pairs], paired=True)
