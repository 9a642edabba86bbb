"""Figures of one run: image grids, training curves, soft-target bar charts, class heatmaps, decision regions,
transition curves. Every function returns the matplotlib ``Figure``.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

from ..loop import History


def _np(x) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def _imshow(ax, img: np.ndarray) -> None:
    """One image (C, H, W) in [0, 1] on ``ax``: C = 1 in grey, otherwise the first three channels in colour."""
    img = np.clip(img, 0, 1)
    if img.shape[0] == 1:
        ax.imshow(img[0], cmap="gray", vmin=0, vmax=1)
    else:
        ax.imshow(np.transpose(img[:3], (1, 2, 0)))


def show_images(images, titles: Sequence[str] | None = None, ncols: int = 10, scale: float = 1.3,
                suptitle: str | None = None):
    """A grid of images.

    Args:
        images: (N, C, H, W) or (N, H, W) tensor/array in [0, 1]; C = 1 is drawn in gray, C = 3 in colour.
        titles: optional N short captions.
        ncols: images per row.

    Raises:
        ValueError: wrong number of dimensions or of titles.
    """
    x = _np(images)
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim != 4:
        raise ValueError(f"images must be (N, C, H, W) or (N, H, W), got shape {x.shape}")
    n = len(x)
    if titles is not None and len(titles) != n:
        raise ValueError(f"got {n} images but {len(titles)} titles")
    ncols = max(1, min(ncols, n))
    nrows = max(1, -(-n // ncols))
    lines = max((str(t).count("\n") + 1 for t in titles), default=0) if titles is not None else 0
    fig, axes = plt.subplots(nrows, ncols, figsize=(scale * ncols, scale * nrows * (1 + 0.22 * lines)),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        _imshow(ax, x[i])
        if titles is not None:
            ax.set_title(titles[i], fontsize=8)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def curves(*histories: History, title: str | None = None, percent: bool = True):
    """Test accuracy and training loss against student optimiser steps for one or more
    :class:`~dfkd_book.loop.History` objects (a :class:`~dfkd_book.loop.Result` is accepted for its history)."""
    histories = tuple(getattr(h, "history", h) for h in histories)
    if not histories:
        raise ValueError("pass at least one History")
    fig, (ax_acc, ax_loss) = plt.subplots(1, 2, figsize=(10, 3.4))
    for h in histories:
        label = h.name or None
        if any(a is not None for a in h.test_acc):
            acc = [np.nan if a is None else a * (100 if percent else 1) for a in h.test_acc]
            ax_acc.plot(h.step, acc, marker="o", ms=3, label=label)
        ax_loss.plot(h.step, h.loss, marker="o", ms=3, label=label)
    ax_acc.set(xlabel="student step", ylabel="test accuracy" + (" (%)" if percent else ""), title="test accuracy")
    ax_loss.set(xlabel="student step", ylabel="training loss", title="training loss", yscale="log")
    for ax in (ax_acc, ax_loss):
        ax.grid(alpha=0.3)
        if any(h.name for h in histories):
            ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def soft_targets(probs, classes: Sequence[str], labels: Sequence[str] | None = None, ax=None,
                 title: str | None = None):
    """Grouped bar chart of one or more probability vectors over the classes.

    Args:
        probs: (K,) or (M, K) probabilities (each row sums to 1), e.g. a teacher's soft targets at M temperatures.
        classes: K class names.
        labels: M legend entries (e.g. ``["T = 1", "T = 4", "T = 20"]``).
    """
    p = _np(probs)
    if p.ndim == 1:
        p = p[None]
    if p.ndim != 2 or p.shape[1] != len(classes):
        raise ValueError(f"probs must be (K,) or (M, K) with K = {len(classes)} classes; got shape {p.shape}")
    if labels is not None and len(labels) != len(p):
        raise ValueError(f"got {len(p)} probability rows but {len(labels)} labels")
    if ax is None:
        fig, ax = plt.subplots(figsize=(max(6, 0.7 * len(classes)), 3))
    else:
        fig = ax.figure
    m, k = p.shape
    width = 0.8 / m
    for i, row in enumerate(p):
        ax.bar(np.arange(k) + (i - (m - 1) / 2) * width, row, width, label=labels[i] if labels else None)
    ax.set_xticks(np.arange(k), classes, rotation=35, ha="right", fontsize=8)
    ax.set_ylabel("probability")
    ax.set_ylim(0, 1)
    ax.grid(axis="y", alpha=0.3)
    if labels:
        ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def heatmap(matrix, classes: Sequence[str], title: str | None = None, xlabel: str = "", ylabel: str = "",
            fmt: str = "{:.2f}", ax=None, cmap: str = "viridis", log: bool = False):
    """A K × K heatmap with class names on both axes and the values written in the cells.

    ``log=True`` colours by log10 of the values (for soft targets spanning orders of magnitude).
    """
    a = _np(matrix).astype(float)
    if a.ndim != 2 or a.shape != (len(classes), len(classes)):
        raise ValueError(f"matrix must be K × K with K = {len(classes)}, got shape {a.shape}")
    if ax is None:
        fig, ax = plt.subplots(figsize=(0.62 * len(classes) + 2.5, 0.55 * len(classes) + 1.5))
    else:
        fig = ax.figure
    shown = np.log10(np.clip(a, 1e-6, None)) if log else a
    im = ax.imshow(shown, cmap=cmap)
    ax.set_xticks(np.arange(len(classes)), classes, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(np.arange(len(classes)), classes, fontsize=8)
    ax.set(xlabel=xlabel, ylabel=ylabel)
    if title:
        ax.set_title(title, fontsize=10)
    if a.shape[0] <= 12:
        hi = shown.max() if shown.size else 0
        lo = shown.min() if shown.size else 0
        for i in range(a.shape[0]):
            for j in range(a.shape[1]):
                ax.text(j, i, fmt.format(a[i, j]), ha="center", va="center", fontsize=6.5,
                        color="white" if shown[i, j] < lo + 0.55 * (hi - lo) else "black")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="log10" if log else None)
    fig.tight_layout()
    return fig


def paper_vs_book(rows: Sequence[tuple[str, float | None, float | None]], paper: str = "paper",
                  book: str = "this book"):
    """The "paper vs this book" table that closes every chapter, as a pandas DataFrame.

    Args:
        rows: ``(what, paper value, our value)`` triples, accuracies in % (``None`` where a side has no number).

    Returns:
        DataFrame with columns ``[paper, book, "difference"]`` (ours − paper, percentage points), indexed by row.
    """
    import pandas as pd

    df = pd.DataFrame([(w, p, b) for w, p, b in rows], columns=["", paper, book]).set_index("")
    df["difference"] = df[book] - df[paper]
    return df.round(2)


def dirichlet_samples(samples_by_label: dict, classes: Sequence[str], title: str | None = None):
    """Sampled softmax vectors side by side: one panel per label (e.g. ``{"β = 1.0": (M, K), "β = 0.1": (M, K)}``),
    each showing M vectors as stacked rows of a heatmap (rows = samples, columns = classes) — how concentrated the
    Dirichlet samples of ZSKD are at each concentration.

    Raises:
        ValueError: a sample matrix that is not (M, K) with K = ``len(classes)``.
    """
    if not samples_by_label:
        raise ValueError("pass at least one label → samples entry")
    fig, axes = plt.subplots(1, len(samples_by_label), figsize=(4.6 * len(samples_by_label), 3.6), squeeze=False)
    for ax, (label, s) in zip(axes[0], samples_by_label.items()):
        a = _np(s)
        if a.ndim != 2 or a.shape[1] != len(classes):
            raise ValueError(f"samples for {label!r} must be (M, K) with K = {len(classes)}, got {a.shape}")
        im = ax.imshow(a, cmap="magma", vmin=0, vmax=1, aspect="auto")
        ax.set_xticks(np.arange(len(classes)), classes, rotation=45, ha="right", fontsize=8)
        ax.set(ylabel="sample", title=f"{label}  (mean max {a.max(1).mean():.2f})")
    fig.colorbar(im, ax=axes[0].tolist(), fraction=0.03, pad=0.02, label="probability")
    if title:
        fig.suptitle(title)
    return fig


def class_histograms(hists: dict, classes: Sequence[str], title: str | None = None, ncols: int = 4):
    """The teacher's predicted-class histograms, one panel per source (paper 001, Fig. 2): the fraction of each
    source's candidates the teacher puts in each class, on a log scale, with the balanced share 1/K dashed.

    Args:
        hists: ``{source name: (K,) counts}`` (:func:`dfkd_book.arbitrary.class_histogram`).
        classes: K class names.

    Raises:
        ValueError: a histogram whose length is not K.
    """
    k = len(classes)
    for name, h in hists.items():
        if len(_np(h)) != k:
            raise ValueError(f"histogram {name!r} has {len(_np(h))} bins, expected {k} (one per class)")
    ncols = min(ncols, len(hists))
    nrows = -(-len(hists) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.9 * ncols, 2.5 * nrows), squeeze=False, sharey=True)
    for ax, (name, h) in zip(axes.flat, hists.items()):
        frac = _np(h).astype(float) / max(float(_np(h).sum()), 1.0)
        ax.bar(range(k), np.maximum(frac, 1e-6), color="tab:blue")
        ax.axhline(1 / k, color="k", ls="--", lw=1)
        ax.set_yscale("log")
        ax.set_ylim(1e-5, 1.5)
        ax.set_title(name, fontsize=10)
        ax.set_xticks(range(k), classes, rotation=90, fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    for ax in list(axes.flat)[len(hists):]:
        ax.axis("off")
    axes[0, 0].set_ylabel("fraction (log)")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def teacher_views(probs_by_source: dict, images_by_source: dict, classes: Sequence[str], per_class: int = 1,
                  title: str | None = None):
    """What the teacher "thinks" each source is: for every source (rows) and class (columns), the candidate(s) the
    teacher gives the highest probability of that class, captioned with that probability.

    Args:
        probs_by_source: ``{source name: (N, K) teacher probabilities}``.
        images_by_source: ``{source name: (N, C, H, W) candidates}`` with the same keys.
        classes: K class names.
        per_class: candidates shown per class (rows per source).

    Raises:
        ValueError: mismatched keys, or probabilities that are not (N, K) for the N images.
    """
    if set(probs_by_source) != set(images_by_source):
        raise ValueError("probs_by_source and images_by_source must have the same sources")
    k = len(classes)
    tiles, caps = [], []
    for name, p in probs_by_source.items():
        x = images_by_source[name]
        if p.ndim != 2 or p.shape != (len(x), k):
            raise ValueError(f"{name!r}: probabilities must be (N, K) = ({len(x)}, {k}), got {tuple(p.shape)}")
        top = p.topk(min(per_class, len(x)), dim=0)  # (per_class, K)
        for r in range(top.indices.shape[0]):
            for c in range(k):
                tiles.append(x[top.indices[r, c]])
                caps.append(f"{classes[c]} {top.values[r, c]:.2f}" if r == 0 else f"{top.values[r, c]:.2f}")
    fig = show_images(torch.stack(tiles), caps, ncols=k, scale=1.25, suptitle=title)
    for row, name in enumerate(n for n in probs_by_source for _ in range(min(per_class, len(images_by_source[n])))):
        fig.axes[row * k].set_ylabel(name, fontsize=8, rotation=0, ha="right", va="center")
        fig.axes[row * k].axis("on")
        fig.axes[row * k].set_xticks([])
        fig.axes[row * k].set_yticks([])
    return fig


# ---------------------------------------------------------------------------------------------- chapter 4 figures
def adversarial_curves(*histories, title: str | None = None):
    """Test accuracy against the teacher's forward queries (samples) and against wall seconds, and both players'
    losses against student steps, for one or more game histories (:class:`~dfkd_book.loop.History` with a
    ``loss_generator`` log, or the :class:`~dfkd_book.loop.Result` of a game; accuracy in %). Raises ValueError
    without a history, or for a history that is not a game's."""
    if not histories:
        raise ValueError("pass at least one History of a game")
    histories = tuple(getattr(h, "history", h) for h in histories)
    fig, (ax_q, ax_acc, ax_loss) = plt.subplots(1, 3, figsize=(14, 3.6))
    for h in histories:
        if "loss_generator" not in h.logs:
            raise ValueError(f"{h.name!r} is not the history of a game: it has no loss_generator log")
        line, = ax_loss.plot(h.step, h.loss, marker="o", ms=3, label=f"{h.name}: student")
        ax_loss.plot(h.step, [-v for v in h.logs["loss_generator"]], ls="--", color=line.get_color(),
                     label=f"{h.name}: −generator")
        if any(a is not None for a in h.test_acc):
            acc = [np.nan if a is None else 100 * a for a in h.test_acc]
            ax_q.plot(h.teacher_forward, acc, marker="o", ms=3, color=line.get_color(), label=h.name)
            ax_acc.plot(h.wall_s, acc, marker="o", ms=3, color=line.get_color(), label=h.name)
    ax_q.set(xlabel="teacher forward queries (samples)", ylabel="test accuracy (%)",
             title="student accuracy per teacher query")
    ax_acc.set(xlabel="wall seconds (game only)", ylabel="test accuracy (%)", title="student accuracy per second")
    ax_loss.set(xlabel="student step", ylabel="discrepancy", yscale="log",
                title="the student lowers it, the generator raises it")
    for ax in (ax_q, ax_acc, ax_loss):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def snapshots(game, per_row: int = 8, rows: int | None = None, scale: float = 1.0):
    """The images a generator made from one fixed z over training: one row per snapshot, labelled with its
    student step.

    Args: game, an object with ``snapshots`` [(step, images (n, C, H, W))] and a ``name`` (a
    :class:`~dfkd_book.methods.adversarial.AdversarialGame`, or the :class:`~dfkd_book.loop.Result` of one);
    per_row images shown per snapshot; rows, the number of snapshots shown, evenly spaced (default: all).
    Raises ValueError when there is no snapshot."""
    game = getattr(game, "method", game)
    snaps = list(getattr(game, "snapshots", []))
    if not snaps:
        raise ValueError("the history has no snapshots")
    if rows is not None and rows < len(snaps):
        snaps = [snaps[round(i)] for i in np.linspace(0, len(snaps) - 1, rows)]
    per_row = min(per_row, min(len(x) for _, x in snaps))
    fig, axes = plt.subplots(len(snaps), per_row, figsize=(scale * per_row, scale * len(snaps)), squeeze=False)
    for r, (step, x) in enumerate(snaps):
        for c in range(per_row):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            _imshow(ax, _np(x[c]))
        axes[r, 0].set_ylabel(f"step {step}", fontsize=8)
    fig.suptitle(f"{game.name}: the generator's images from one fixed z")
    fig.tight_layout()
    return fig


def decision_regions(teacher_grid, frames: Sequence[tuple[str, object, object]], box: float | tuple[float, float],
                     data=None, classes: Sequence[str] | None = None):
    """A 2-D toy: the teacher's decision regions (colours), the student's boundaries (black lines) and the
    transfer set's points (white dots: generated points, data impressions), one panel per frame.

    Args:
        teacher_grid: (G, G) predicted classes of the teacher on a G × G grid over the square (row = y).
        frames: ``(title, student_grid (G, G), points (n, 2))`` per panel.
        box: the square, [−box, box]² for a number, [lo, hi]² for a pair ``(lo, hi)``.
        data: optional ``(points (m, 2), labels (m,))`` of the teacher's training data, drawn faintly.
    """
    t = _np(teacher_grid)
    k = int(t.max()) + 1
    fig, axes = plt.subplots(1, len(frames), figsize=(3.1 * len(frames), 3.2), squeeze=False)
    lo, hi = (-box, box) if isinstance(box, (int, float)) else box
    extent = (lo, hi, lo, hi)
    g = np.linspace(lo, hi, t.shape[0])
    cmap = plt.get_cmap("Pastel1", max(k, 3))
    for ax, (title, s_grid, pts) in zip(axes[0], frames):
        ax.imshow(t, origin="lower", extent=extent, cmap=cmap, vmin=-0.5, vmax=max(k, 3) - 0.5)
        if data is not None:
            dx, dy = _np(data[0]), _np(data[1])
            ax.scatter(dx[:, 0], dx[:, 1], c=dy, cmap=plt.get_cmap("Set1", max(k, 3)), vmin=-0.5,
                       vmax=max(k, 3) - 0.5, s=2, alpha=0.25)
        ax.contour(g, g, _np(s_grid), levels=np.arange(k) + 0.5, colors="k", linewidths=1.2)
        p = _np(pts)
        ax.scatter(p[:, 0], p[:, 1], s=9, c="white", edgecolors="k", linewidths=0.4)
        ax.set(xlim=(lo, hi), ylim=(lo, hi), title=title, xticks=[], yticks=[])
    fig.tight_layout()
    return fig


def transition_curves(walks: dict, pairs: Sequence[tuple[int, int]], classes: Sequence[str]):
    """Transition curves (paper 002): p_j under the teacher (solid) and the student (dashed) along each walk,
    one row per student, one column per walk, steps on a log axis (the first steps decide most walks).

    Args:
        walks: ``{student name: Transitions}`` (:class:`~dfkd_book.boundary.Transitions` of the same images and
            targets, e.g. from one call of :func:`~dfkd_book.boundary.agreeing` per figure).
        pairs: ``(image index, index into its targets)`` of the walks to draw.
        classes: class names.

    Raises: ValueError for an empty ``walks`` or ``pairs``.
    """
    if not walks or not pairs:
        raise ValueError("pass at least one Transitions and one (image, target) pair")
    fig, axes = plt.subplots(len(walks), len(pairs), figsize=(2.3 * len(pairs), 2.2 * len(walks)), squeeze=False,
                             sharex=True, sharey=True)
    for r, (name, tr) in enumerate(walks.items()):
        steps = np.arange(1, tr.steps + 1)
        for c, (i, jj) in enumerate(pairs):
            ax = axes[r, c]
            j = int(tr.targets[i, jj])
            ax.plot(steps, _np(tr.p_teacher[i, jj]), color="C0", label="teacher")
            ax.plot(steps, _np(tr.p_student[i, jj]), color="C1", ls="--", label="student")
            ax.set(xscale="log", ylim=(-0.03, 1.03))
            ax.grid(alpha=0.3)
            if r == 0:
                ax.set_title(f"{classes[int(tr.labels[i])]} → {classes[j]}", fontsize=8)
            if r == len(walks) - 1:
                ax.set_xlabel("gradient step")
        axes[r, 0].set_ylabel(f"{name}\np(target)", fontsize=8)
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    return fig
