"""What a training run of :func:`dfkd_book.distill` or :func:`dfkd_book.train` leaves behind: the
:class:`History` (``dfkd_book.loop.History`` is the same class)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class History:
    """What a training run leaves behind, one entry per evaluation (every ``eval_every`` student steps and at the
    end).

    Attributes:
        name: a label for plots and tables.
        step: student optimiser steps done.
        test_acc: accuracy in [0, 1] on the evaluation set (``None`` without one) of the evaluated student — the
            weight average when :func:`dfkd_book.distill` averages (``average=``), else the student itself.
        loss: mean training loss since the previous evaluation.
        lr: the learning rate at that step.
        wall_s: cumulative wall seconds (synthesis and student steps; evaluation excluded).
        teacher_forward, teacher_backward: cumulative teacher queries in samples — forward passes, and
            input-gradient passes (pixels or a generator optimised through the teacher).
        synthetic: samples the method has made so far.
        logs: the method's own numbers per evaluation (e.g. ``loss_generator``), name → list.
        holdout_agreement, holdout_kl: with data-free selection (``distill(select=...)``), per evaluation, the
            teacher–student top-1 agreement in [0, 1] and the mean KL(teacher ‖ student) in nats (τ = 1) on the
            slice held out of the transfer set; empty otherwise.
        selected_step: the step whose student data-free selection returned (None: no selection, the last).
    """

    name: str = ""
    step: list[int] = field(default_factory=list)
    test_acc: list[float | None] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    wall_s: list[float] = field(default_factory=list)
    teacher_forward: list[int] = field(default_factory=list)
    teacher_backward: list[int] = field(default_factory=list)
    synthetic: list[int] = field(default_factory=list)
    logs: dict[str, list[float]] = field(default_factory=dict)
    holdout_agreement: list[float] = field(default_factory=list)
    holdout_kl: list[float] = field(default_factory=list)
    selected_step: int | None = None

    @property
    def final_acc(self) -> float | None:
        """Test accuracy of the student the run returned (``None`` without an evaluation set): at the last
        evaluation, or at the data-free-selected one (:attr:`selected_step`)."""
        if not self.test_acc:
            return None
        if self.selected_step is not None and self.selected_step in self.step:
            return self.test_acc[self.step.index(self.selected_step)]
        return self.test_acc[-1]

    @property
    def best_test_acc(self) -> float | None:
        """The highest accuracy over all evaluations (``None`` without an evaluation set): **the papers'
        selection rule** — ZSKD's ``train.py`` (Nayak et al. 2019, official code) keeps the best test accuracy
        over all epochs (``global_accuracy``) and reports it. It picks a checkpoint by its test labels, so it is
        shown beside the final (or data-free-selected) student, labelled "the paper's selection (best test
        epoch)", and never as the book's result."""
        accs = [a for a in self.test_acc if a is not None]
        return max(accs) if accs else None

    @property
    def seconds(self) -> float:
        """Total wall time in seconds (evaluation excluded)."""
        return self.wall_s[-1] if self.wall_s else 0.0

    def as_dict(self) -> dict:
        return asdict(self)
