import matplotlib.pyplot as plt
import pytest
import torch

from dfkd_book import methods, plot
from dfkd_book.loop import History, Result


def test_show_images_and_errors():
    fig = plot.show_images(torch.rand(12, 1, 32, 32), titles=[str(i) for i in range(12)], ncols=6)
    assert len([a for a in fig.axes if a.images]) == 12
    plt.close(fig)
    plot.show_images(torch.rand(3, 3, 32, 32))
    with pytest.raises(ValueError, match="titles"):
        plot.show_images(torch.rand(3, 1, 32, 32), titles=["a"])


def test_soft_targets_and_heatmap_and_curves():
    classes = list("abcd")
    fig = plot.soft_targets(torch.softmax(torch.randn(3, 4), 1), classes, labels=["T=1", "T=4", "T=20"])
    assert len(fig.axes[0].patches) == 12
    with pytest.raises(ValueError, match="K = 4"):
        plot.soft_targets(torch.rand(3, 5), classes)
    plot.heatmap(torch.rand(4, 4), classes, log=True)
    with pytest.raises(ValueError, match="K × K"):
        plot.heatmap(torch.rand(4, 3), classes)
    h = History("x", step=[1, 2], test_acc=[0.5, 0.7], loss=[1.0, 0.5], wall_s=[1.0, 2.0])
    fig = plot.curves(h, h)
    assert list(fig.axes[0].lines[0].get_xdata()) == [1, 2]  # against student steps
    assert list(fig.axes[0].lines[0].get_ydata()) == pytest.approx([50.0, 70.0])  # in %
    no_eval = History("y", step=[1, 2], test_acc=[None, None], loss=[1.0, 0.5])
    r = Result(student=torch.nn.Linear(2, 2), history=no_eval, method=methods.TransferSet(torch.rand(4, 2)),
               steps=2, teacher_queries={"forward": 4, "backward": 0})
    fig = plot.curves(h, r)  # a Result is plotted by its history; without evaluation no accuracy line
    assert len(fig.axes[0].lines) == 1 and len(fig.axes[1].lines) == 2
    with pytest.raises(ValueError, match="at least one"):
        plot.curves()
    plt.close("all")


def test_paper_vs_book():
    df = plot.paper_vs_book([("Teacher", 90.84, 91.0), ("Student-KD", 89.66, None)])
    assert df.loc["Teacher", "difference"] == pytest.approx(0.16)


def test_dirichlet_samples():
    import torch

    from dfkd_book import plot

    fig = plot.dirichlet_samples({"a": torch.softmax(torch.randn(5, 3), 1), "b": torch.eye(3)}, ["x", "y", "z"])
    assert len(fig.axes) >= 2
    with pytest.raises(ValueError, match="K = 3"):
        plot.dirichlet_samples({"a": torch.rand(5, 4)}, ["x", "y", "z"])


def test_class_histograms_and_teacher_views():
    classes = ["a", "b", "c"]
    fig = plot.class_histograms({"noise": torch.tensor([5, 0, 95]), "shapes": torch.tensor([30, 30, 40])}, classes)
    assert len([a for a in fig.axes if a.patches]) == 2
    with pytest.raises(ValueError, match="expected 3"):
        plot.class_histograms({"bad": torch.tensor([1, 2])}, classes)
    x = {"s": torch.rand(6, 1, 8, 8), "t": torch.rand(4, 1, 8, 8)}
    p = {k: torch.softmax(torch.randn(len(v), 3), 1) for k, v in x.items()}
    fig = plot.teacher_views(p, x, classes, per_class=2)
    assert len([a for a in fig.axes if a.images]) == 2 * 2 * 3  # 2 sources × 2 rows × 3 classes
    # the tile shown for class c in the first row is the candidate with the highest p of c
    best = int(p["s"][:, 1].argmax())
    assert torch.allclose(torch.tensor(fig.axes[1].images[0].get_array()), x["s"][best, 0])
    with pytest.raises(ValueError, match="same sources"):
        plot.teacher_views(p, {"s": x["s"]}, classes)
    with pytest.raises(ValueError, match=r"\(N, K\)"):
        plot.teacher_views({"s": p["t"], "t": p["t"]}, x, classes)
    plt.close("all")


def test_chapter4_figures():
    from dfkd_book import boundary

    h = History(name="g", step=[1, 2], test_acc=[0.1, 0.2], loss=[0.5, 0.4], wall_s=[1.0, 2.0],
                teacher_forward=[30, 60], logs={"loss_generator": [-0.5, -0.4]})
    game = methods.ZSKT()
    game.snapshots = [(0, torch.rand(4, 1, 8, 8)), (2, torch.rand(4, 1, 8, 8))]
    r = Result(student=torch.nn.Linear(2, 2), history=h, method=game, steps=2, teacher_queries={})
    fig = plot.adversarial_curves(h, r)
    assert list(fig.axes[2].lines[1].get_ydata()) == [0.5, 0.4]  # minus the generator's loss, against steps
    assert list(fig.axes[0].lines[0].get_xdata()) == [30, 60]  # accuracy against the teacher's queries
    assert list(fig.axes[0].lines[0].get_ydata()) == [10.0, 20.0]
    with pytest.raises(ValueError, match="loss_generator"):
        plot.adversarial_curves(History(name="kd", step=[1], test_acc=[0.5], loss=[1.0], wall_s=[1.0]))
    fig = plot.snapshots(game, per_row=3)
    assert len([a for a in fig.axes if a.images]) == 6
    assert len([a for a in plot.snapshots(r, per_row=2).axes if a.images]) == 4  # a Result, by its method
    with pytest.raises(ValueError, match="no snapshots"):
        plot.snapshots(methods.DFAD())
    grid = torch.zeros(20, 20, dtype=torch.long)
    grid[:, 10:] = 1
    plot.decision_regions(grid, [("a", grid, torch.rand(5, 2)), ("b", 1 - grid, torch.rand(5, 2))], 1.0,
                          data=(torch.rand(9, 2), torch.randint(0, 2, (9,))))
    fig = plot.decision_regions(grid, [("unit square", grid, torch.rand(5, 2))], (0.0, 1.0))
    assert fig.axes[0].get_xlim() == (0.0, 1.0) and fig.axes[0].get_ylim() == (0.0, 1.0)
    torch.manual_seed(0)
    m = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 3))
    tr = boundary.transition_curves(m, m, torch.rand(2, 1, 4, 4), steps=4, device=torch.device("cpu"))
    fig = plot.transition_curves({"s": tr, "other": tr}, [(0, 0), (1, 1), (1, 0)], list("abc"))
    assert len(fig.axes) == 6
    with pytest.raises(ValueError, match="at least one"):
        plot.transition_curves({}, [(0, 0)], list("abc"))
    plt.close("all")


def test_accuracy_vs_queries_draws_each_curve_its_final_band_and_the_budgets():
    curves = {"a": ([1e4, 1e5, 1e6], [40.0, 60.0, 70.0]), "b": ([2e6, 5e6], [75.0, 80.0])}
    fig = plot.accuracy_vs_queries(curves, finals={"b": (5e6, 79.0, 1.5)}, budgets=(1e5, 1e6))
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    lines = [ln for ln in ax.get_lines() if ln.get_label() in curves]
    assert [list(ln.get_xdata()) for ln in lines] == [curves["a"][0], curves["b"][0]]
    assert sum(1 for ln in ax.get_lines() if list(ln.get_xdata()) in ([1e5, 1e5], [1e6, 1e6])) == 2
    plt.close(fig)
    with pytest.raises(ValueError, match="curves is empty"):
        plot.accuracy_vs_queries({})
    with pytest.raises(ValueError, match="a: 2 query counts but 1 accuracies"):
        plot.accuracy_vs_queries({"a": ([1, 2], [3.0])})
