"""Figures of records: accuracy against wall time and teacher queries (the leaderboard), learning curves against
the budget, the real-data yardstick, an ablation's bars. Every function returns the matplotlib ``Figure``.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np

#: the marker of each leaderboard group (:data:`dfkd_book.recipes.GROUPS`)
_GROUP_MARKER = {"data-free": "o", "metadata": "s", "real data": "*"}


def accuracy_vs_compute(board, title: str | None = None):
    """Student accuracy (%, mean ± sd over seeds as an error bar) against the method's wall time per seed (s, log
    scale) for the leaderboard's rows (:func:`dfkd_book.experiments.leaderboard.rows`): one numbered point per
    method, coloured by chapter, shaped by group (circle data-free, square metadata, star the real-data ceiling),
    the numbers named in a key beside the axes (names never overprint), the teacher's accuracy dashed."""
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    fig, ax = plt.subplots(figsize=(11, 5.5))
    cmap = plt.get_cmap("tab10")
    handles = []
    for k, r in enumerate(sorted(board, key=lambda r: -r.student_acc), 1):
        color, marker = cmap(r.chapter % 10), _GROUP_MARKER.get(r.group, "o")
        ax.errorbar(r.wall_s, r.student_acc, yerr=r.sd or None, color=color, lw=1, capsize=3, zorder=2)
        ax.scatter(r.wall_s, r.student_acc, s=220 if r.group == "real data" else 70, color=color, marker=marker,
                   zorder=3, edgecolor="black", linewidth=0.5)
        ax.annotate(str(k), (r.wall_s, r.student_acc), textcoords="offset points", xytext=(6, 4), fontsize=8,
                    fontweight="bold")
        handles.append(Line2D([], [], ls="", marker=marker, color=color, markeredgecolor="black", mew=0.5,
                              label=f"{k}  {r.name} (ch. {r.chapter})"))
    ax.legend(handles=handles, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    trans = ax.get_yaxis_transform()  # x in axes fraction, y in data
    best_teacher = max(r.teacher_acc for r in board)
    ax.axhline(best_teacher, ls="--", color="grey", lw=1)
    ax.text(0.99, best_teacher - 0.4, f"teacher {best_teacher:.2f} %", transform=trans, fontsize=8, color="grey",
            ha="right", va="top")
    ax.set_ylim(top=best_teacher + 1.5)
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    lo, hi = min(r.wall_s for r in board), max(r.wall_s for r in board)
    ax.set_xlim(lo / 1.3, hi * 1.3)
    ax.set_xlabel("wall time of the whole method per seed (s, log scale): making the transfer set + distillation")
    ax.set_ylabel("student test accuracy (%)")
    ax.set_title(title or "Accuracy against compute")
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    return fig


def accuracy_vs_queries(curves: dict, finals: dict | None = None, budgets=(1e5, 1e6, 1e7),
                        title: str | None = None):
    """The equal-compute frontier: student test accuracy (%) against teacher queries (log scale), one line per
    method.

    Args:
        curves: name → ``(cumulative teacher queries, test accuracy in %)`` per evaluation, e.g.
            :func:`dfkd_book.experiments.leaderboard.curves` (the first seed's history).
        finals: name → ``(queries, mean %, sd %)``: the final students over all seeds, drawn as an error bar at
            the end of the name's line.
        budgets: query budgets marked by dotted vertical lines.

    Raises:
        ValueError: no curve, or a curve whose two lists differ in length.
    """
    if not curves:
        raise ValueError("curves is empty: pass name → (queries, accuracies)")
    fig, ax = plt.subplots(figsize=(11, 5.2))
    cmap = plt.get_cmap("tab20")  # the ten dark colours first, then their light twins: no colour twice
    for i, (name, (xs, accs)) in enumerate(curves.items()):
        if len(xs) != len(accs):
            raise ValueError(f"{name}: {len(xs)} query counts but {len(accs)} accuracies")
        color = cmap((2 * i) % 20 + (2 * i) // 20)
        if len(set(xs)) == 1:  # every evaluation at the same count (a teacher labelling a fixed set once): a star
            ax.scatter(xs[-1:], accs[-1:], marker="*", s=160, color=color, edgecolor="black", lw=0.5, zorder=3,
                       label=name)
        else:
            ax.plot(xs, accs, marker=".", ms=4, lw=1.4, color=color, label=name)
        if finals and name in finals:
            q, mean, sd = finals[name]
            ax.errorbar(q, mean, yerr=sd, fmt="o", color=color, capsize=3, ms=5, markeredgecolor="black", mew=0.5)
    for b in budgets:
        ax.axvline(b, ls=":", color="grey", lw=1)
    ax.set_xscale("log")
    ax.set_xlabel("teacher queries (images forward + images backward through the teacher, log scale)")
    ax.set_ylabel("student test accuracy (%)")
    ax.set_title(title or "Accuracy against teacher queries")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)  # beside: hides no curve
    fig.tight_layout()
    return fig


def accuracy_over_time(curves: dict, title: str | None = None, log: bool = False):
    """Test accuracy (%) against wall seconds, one line per method. ``curves``: name → ``(wall_s list,
    test_acc list in %)`` — e.g. the ``history`` of each benchmark record, shifted by the seconds spent making
    the transfer set first."""
    fig, ax = plt.subplots(figsize=(9, 4.8))
    cmap = plt.get_cmap("tab10")
    for i, (name, (wall, acc)) in enumerate(curves.items()):
        ax.plot(wall, acc, marker=".", ms=3, lw=1.3, color=cmap(i % 10), label=name)
        ax.plot(wall[-1], acc[-1], "o", color=cmap(i % 10))
    if log:
        ax.set_xscale("log")
    ax.set_xlabel("wall seconds since the method started" + (" (log scale)" if log else ""))
    ax.set_ylabel("student test accuracy (%)")
    ax.set_title(title or "Accuracy during training")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    return fig


def budget_curves(curves: dict, title: str | None = None):
    """Test accuracy (%) against the student's budget (optimiser steps, log scale), one line per transfer set:
    ``curves`` is the summary ``protocol``'s ``"curves"`` (set → ``steps``, ``test_acc``, ``test_acc_sd``,
    ``per_seed_test``, ``protocol``). Every seed's run is a dot; error bars show ± one sd where several seeds ran."""
    fig, ax = plt.subplots(figsize=(8.5, 4.8))
    cmap = plt.get_cmap("tab10")
    for i, (name, c) in enumerate(curves.items()):
        color = cmap(i % 10)
        aug = c["protocol"].get("augment") or "none"
        ax.errorbar(c["steps"], c["test_acc"], yerr=c["test_acc_sd"], color=color, marker="o", ms=4, lw=1.5,
                    capsize=3, label=f"{name} (augmentation: {aug})")
        for steps, per in zip(c["steps"], c["per_seed_test"]):
            if len(per) > 1:
                ax.scatter([steps] * len(per), per, s=10, color=color, alpha=0.5, zorder=3)
    return _log_x_accuracy(fig, ax, sorted({s for c in curves.values() for s in c["steps"]}),
                           "student budget (optimiser steps, log scale; cosine schedule to zero at each budget)",
                           title or "Learning curves over the budget", "lower right")


def _log_x_accuracy(fig, ax, ticks, xlabel: str, title: str, legend: str):
    """Finish a figure of student test accuracy (%) against a log-scaled count with ``ticks`` labelled 1,000-style."""
    ax.set_xscale("log")
    ax.set_xticks(ticks)
    ax.get_xaxis().set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.set_xlabel(xlabel)
    ax.set_ylabel("student test accuracy (%)")
    ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, loc=legend)
    fig.tight_layout()
    return fig


def yardstick(record: dict, marks: dict | None = None, title: str | None = None, series: dict | None = None):
    """The real-data yardstick: student test accuracy (%, mean ± sd over seeds) against the number of
    class-balanced real images N (log scale), from the yardstick (:func:`dfkd_book.records.yardstick`).
    ``marks`` (label → accuracy %) draws data-free students as horizontal lines, so where they cross the curve
    reads "worth N real images"; ``series`` (label → ``(sizes, means, sds)``) draws other transfer sets against
    their own size on the same axes (e.g. data impressions, Nayak et al. 2019 Fig. 2)."""
    pts = record["points"]
    n = [p["n"] for p in pts]
    mean, sd = np.array([p["mean"] for p in pts]), np.array([p["sd"] for p in pts])
    fig, ax = plt.subplots(figsize=(8.5, 4.6))
    ax.fill_between(n, mean - sd, mean + sd, color="tab:blue", alpha=0.2, lw=0)
    ax.plot(n, mean, "o-", color="tab:blue", label="KD on N real images (mean ± sd)")
    for p in pts:
        ax.scatter([p["n"]] * len(p["per_seed"]), p["per_seed"], s=9, color="tab:blue", alpha=0.5, zorder=3)
    cmap = plt.get_cmap("tab10")
    for i, (label, acc) in enumerate((marks or {}).items()):
        ax.axhline(acc, ls="--", lw=1, color=cmap((i + 1) % 10))
        ax.text(n[-1], acc + 0.4, f"{label} {acc:.1f} %", ha="right", fontsize=8, color=cmap((i + 1) % 10))
    lows = [float((mean - sd).min()), *(marks or {}).values()]
    for i, (label, (ns, ms, ss)) in enumerate((series or {}).items()):
        ms, ss = np.asarray(ms, float), np.asarray(ss, float)
        c = cmap((len(marks or {}) + i + 1) % 10)
        ax.errorbar(ns, ms, yerr=ss, fmt="s-", color=c, capsize=3, label=f"{label} (mean ± sd)")
        lows.append(float((ms - ss).min()))
        n = sorted(set(n) | {int(v) for v in ns})
    ax.set_ylim(min(lows) - 3, float((mean + sd).max()) + 2)
    return _log_x_accuracy(fig, ax, n, "transfer-set size N, class-balanced (log scale)" if series else
                           "N real training images, class-balanced (log scale)",
                           title or "What a transfer set is worth in real images", "upper left")


def ablation(record: dict, groups: Sequence[str] | None = None, title: str | None = None):
    """An ablation record (:func:`dfkd_book.records.load_summary`) as horizontal bars: per row the mean test accuracy of
    the final students with ± one sd, every seed as a dot, and the paper's number (where it has one) as a red
    tick (labelled by the summary's ``paper_label``). ``groups`` keeps only those rows' groups, in the
    record's order. Raises ValueError when no row is left."""
    rows = [r for r in record["rows"] if groups is None or r["group"] in groups]
    if not rows:
        raise ValueError(f"no rows of groups {groups!r} in the record (groups: "
                         f"{sorted({r['group'] for r in record['rows']})})")
    fig, ax = plt.subplots(figsize=(9, 0.55 * len(rows) + 1.2))
    y = np.arange(len(rows))[::-1]
    ax.barh(y, [r["test_acc"] for r in rows], xerr=[r["test_acc_sd"] for r in rows], color="tab:blue", alpha=0.7,
            capsize=3, label="mean ± sd over seeds")
    for yi, r in zip(y, rows):
        ax.scatter(r["per_seed_test"], [yi] * len(r["per_seed_test"]), s=12, color="k", zorder=3)
        if r.get("paper") is not None:
            ax.plot([r["paper"]] * 2, [yi - 0.4, yi + 0.4], color="tab:red", lw=2)
    ax.plot([], [], color="tab:red", lw=2, label=record.get("paper_label", "paper"))
    ax.scatter([], [], s=12, color="k", label="one seed")
    ax.set_yticks(y, [r["label"] for r in rows], fontsize=8)
    ax.set_xlabel("student test accuracy (%)")
    ax.set_title(title or record.get("source", ""), fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig
