import matplotlib

matplotlib.use("Agg")
import pytest  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from dfkd_book import widgets  # noqa: E402

pytest.importorskip("ipywidgets")


def tiny_teacher(k=3):
    return nn.Sequential(nn.Flatten(), nn.Linear(64, k))


def test_source_explorer_builds_and_redraws():
    pools = {"a": torch.rand(20, 1, 8, 8), "b": torch.rand(5, 1, 8, 8)}
    w = widgets.source_explorer(tiny_teacher(), pools, ["x", "y", "z"], per_class=4)
    source, cls = w.children[0].children
    assert list(source.options) == ["a", "b"]
    source.value, cls.value = "b", 2  # redraws without error, with fewer candidates than per_class


def test_source_explorer_bad_input():
    with pytest.raises(ValueError, match="at least one source"):
        widgets.source_explorer(tiny_teacher(), {}, ["x", "y", "z"])
    with pytest.raises(ValueError, match="3 classes but 2 class names"):
        widgets.source_explorer(tiny_teacher(), {"a": torch.rand(4, 1, 8, 8)}, ["x", "y"])
