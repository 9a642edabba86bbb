"""Hybrid transfer sets (dfkd_book.methods.hybrid): several static sets in equal shares, under one teacher."""

import pytest
import torch
from test_loop import CPU, Linear  # the loop tests' seeded linear classifier

from dfkd_book import distill, methods
from dfkd_book.loop import transfer_set


def _parts():
    a = torch.full((3, 16), 0.25)
    b = torch.arange(5).float().view(5, 1).expand(5, 16) / 10
    return a, b


def test_each_part_fills_an_equal_share_of_the_set():
    a, b = _parts()
    h = methods.get("hybrid", [methods.TransferSet(a), methods.TransferSet(b)])
    x, y = transfer_set(Linear(16, 3, 0), h, seed=0, device=CPU, progress=False)
    assert y is None and x.shape == (10, 16) and h.sizes == [3, 5] and len(h.seconds_per_part) == 2
    assert torch.equal(x[:5], torch.cat([a, a[:2]])) and torch.equal(x[5:], b)  # the smaller part repeated
    assert h.kind == "hybrid" and [p["method"] for p in h.settings()["parts"]] == ["TransferSet", "TransferSet"]


def test_parts_by_registry_name_and_the_loop_counts_every_query():
    a, b = _parts()
    h = methods.Hybrid([("transfer-set", {"inputs": a}), ("transfer-set", {"inputs": b})])
    res = distill(Linear(16, 3, 0), Linear(16, 3, 1), h, steps=4, batch_size=4, device=CPU, seed=0, progress=False)
    assert res.steps == 4 and len(h.pool) == 10
    assert res.teacher_queries["forward"] >= 10  # the set's logits once (no augmentation), then no more


def test_a_hybrid_refuses_what_it_cannot_make_before_the_student_trains():
    a, b = _parts()
    with pytest.raises(ValueError, match="at least two parts"):
        methods.Hybrid([methods.TransferSet(a)])
    with pytest.raises(ValueError, match="static set made at once"):
        methods.Hybrid([methods.TransferSet(a), methods.ZSKT()])
    with pytest.raises(ValueError, match="static set made at once"):
        methods.Hybrid([methods.TransferSet(a), methods.DeepInversion(8, competition_weight=1.0)])
    with pytest.raises(ValueError, match="sequence of static methods"):
        methods.Hybrid("noise")
    with pytest.raises(ValueError, match="unknown method"):
        methods.Hybrid([("no-such", {}), methods.TransferSet(b)])
