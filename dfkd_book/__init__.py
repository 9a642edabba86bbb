"""dfkd_book — data-free knowledge distillation, by running it.

One road from teacher to student::

    from dfkd_book import distill, methods, recipes, teacher, student, evaluate
    t = teacher("lenet5bn", "fashion-mnist")
    result = distill(t, student("lenet5half"), methods.DeepInversion(n=768, steps=400), steps=3_000,
                     eval_set=test)
    evaluate(result.student, test)

``distill`` is the one student loop (:mod:`dfkd_book.loop`) and ``transfer_set`` makes a static method's transfer
set without training a student; ``methods`` holds every method behind one contract
(:mod:`dfkd_book.methods`); ``recipes`` their settings (:mod:`dfkd_book.recipes`); ``teacher`` / ``student`` come
from the zoo (:mod:`dfkd_book.zoo`); ``evaluate`` is top-1 accuracy (:mod:`dfkd_book.kd`).
"""

from __future__ import annotations

from . import methods, recipes
from .kd import evaluate
from .loop import History, Result, distill, train, transfer_set
from .zoo import student, teacher

__all__ = ["distill", "train", "transfer_set", "methods", "recipes", "teacher", "student", "evaluate", "History",
           "Result"]
