"""Figures the chapters share. Every function returns the matplotlib ``Figure`` (so a notebook shows it and a
script can save it): :mod:`~dfkd_book.plot.runs` draws one run (images, curves, soft targets, regions),
:mod:`~dfkd_book.plot.results` draws records (the leaderboard's axes, budgets, the yardstick, ablations).
"""

from .results import ablation, accuracy_over_time, accuracy_vs_compute, accuracy_vs_queries, budget_curves, yardstick
from .runs import (
    adversarial_curves,
    class_histograms,
    curves,
    decision_regions,
    dirichlet_samples,
    heatmap,
    paper_vs_book,
    show_images,
    snapshots,
    soft_targets,
    teacher_views,
    transition_curves,
)
