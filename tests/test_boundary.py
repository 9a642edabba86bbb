import pytest
import torch
from torch import nn

from dfkd_book import boundary


def net(seed, k=4):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, k))


CPU = torch.device("cpu")


def test_mte_of_a_model_against_itself_is_zero():
    m = net(0)
    x = torch.rand(12, 1, 8, 8)
    tr = boundary.transition_curves(m, m, x, steps=5, device=CPU)
    assert tr.p_teacher.shape == tr.p_student.shape == (12, 3, 5)
    assert tr.mte == 0.0
    assert boundary.mean_transition_error(m, m, x, n=12, steps=3, device=CPU) == 0.0


def test_a_transition_curve_raises_p_j_under_the_student():
    teacher, student = net(0), net(1)
    x = torch.rand(16, 1, 8, 8)
    tr = boundary.transition_curves(teacher, student, x, steps=20, lr=1.0, device=CPU)
    assert (tr.p_student[..., -1] > tr.p_student[..., 0]).float().mean() > 0.9
    assert 0 < tr.mte <= 1
    # targets are every class but the label
    for i in range(16):
        assert sorted(tr.targets[i].tolist() + [int(tr.labels[i])]) == [0, 1, 2, 3]


def test_batching_does_not_change_the_curves():
    teacher, student = net(0), net(1)
    x = torch.rand(5, 1, 8, 8)
    a = boundary.transition_curves(teacher, student, x, steps=4, batch_size=3, device=CPU)
    b = boundary.transition_curves(teacher, student, x, steps=4, batch_size=1000, device=CPU)
    assert torch.allclose(a.p_student, b.p_student, atol=1e-6) and torch.allclose(a.p_teacher, b.p_teacher, atol=1e-6)


def test_agreeing_keeps_only_agreements():
    teacher, student = net(0), net(1)
    x = torch.rand(200, 1, 8, 8)
    xa, ya = boundary.agreeing(teacher, student, x, n=10, device=CPU)
    assert len(xa) <= 10
    with torch.no_grad():
        assert torch.equal(teacher(xa).argmax(1), ya) and torch.equal(student(xa).argmax(1), ya)


def test_bad_input():
    m = net(0)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        boundary.transition_curves(m, m, torch.rand(3, 8, 8), device=CPU)
    with pytest.raises(ValueError, match="steps"):
        boundary.transition_curves(m, m, torch.rand(3, 1, 8, 8), steps=0, device=CPU)
    with pytest.raises(ValueError, match="4 classes but student has 5"):
        boundary.transition_curves(m, net(1, k=5), torch.rand(3, 1, 8, 8), device=CPU)
    with pytest.raises(ValueError, match="labels"):
        boundary.transition_curves(m, m, torch.rand(3, 1, 8, 8), labels=torch.zeros(2), device=CPU)
    with pytest.raises(ValueError, match="n must be"):
        boundary.agreeing(m, m, torch.rand(3, 1, 8, 8), n=0, device=CPU)


def test_regions_read_the_grid_row_by_y_and_column_by_x():
    """A classifier of 'x > 0' splits the grid by column, one of 'y > 0.6' by row; the square can be a pair."""
    by_x = nn.Linear(2, 2)
    with torch.no_grad():
        by_x.weight.copy_(torch.tensor([[-1.0, 0.0], [1.0, 0.0]]))
        by_x.bias.zero_()
    r = boundary.regions(by_x, box=2.0, size=10, device=CPU)
    assert r.shape == (10, 10) and r.dtype == torch.int64
    assert (r[:, :5] == 0).all() and (r[:, 5:] == 1).all()  # columns left of x = 0 are class 0
    by_y = nn.Linear(2, 2)
    with torch.no_grad():
        by_y.weight.copy_(torch.tensor([[0.0, -1.0], [0.0, 1.0]]))
        by_y.bias.copy_(torch.tensor([0.6, -0.6]))
    r = boundary.regions(by_y, box=(0, 1), size=5, device=CPU)  # y in 0, .25, .5, .75, 1
    assert (r[:3] == 0).all() and (r[3:] == 1).all()


@pytest.mark.parametrize("kw", [dict(size=1), dict(box=0.0), dict(box=(1, 0))])
def test_regions_refuse_an_empty_grid(kw):
    with pytest.raises(ValueError, match="regions needs"):
        boundary.regions(nn.Linear(2, 2), **kw)


def test_regions_name_a_model_that_does_not_take_points():
    with pytest.raises(ValueError, match=r"\(N, 2\) points"):
        boundary.regions(nn.Linear(3, 2), device=CPU)
