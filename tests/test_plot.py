from types import SimpleNamespace

import matplotlib.pyplot as plt
import pytest
import torch

from dfkd_book import methods, plot, recipes
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
    teacher = recipes.published("kd-real", "teacher").value
    student = recipes.published("kd-real", "student").value
    df = plot.paper_vs_book([("Teacher", teacher, teacher + 0.16), ("Student-KD", student, None)])
    assert df.loc["Teacher", "difference"] == pytest.approx(0.16)
    assert df.loc["Teacher", "paper"] == teacher and df.loc["Student-KD", "paper"] == student
    assert df.loc["Student-KD", "difference"] != df.loc["Student-KD", "difference"]  # no number of ours: NaN


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


def test_the_package_re_exports_its_two_modules():
    from dfkd_book.plot import results, runs

    assert plot.ablation is results.ablation and plot.yardstick is results.yardstick
    assert plot.show_images is runs.show_images and plot.curves is runs.curves
    assert plot.accuracy_vs_compute is results.accuracy_vs_compute


def _ablation_record():
    return {"source": "a study", "paper_label": "paper (a label of its own)",
            "rows": [{"label": "a", "group": "g1", "test_acc": 70.0, "test_acc_sd": 1.0, "per_seed_test": [69.0, 71.0],
                      "paper": 75.0},
                     {"label": "b", "group": "g2", "test_acc": 60.0, "test_acc_sd": 0.0, "per_seed_test": [60.0],
                      "paper": None}]}


def test_ablation_draws_rows_seeds_and_the_papers_number_under_the_summarys_label():
    rec = _ablation_record()
    fig = plot.ablation(rec)
    ax = fig.axes[0]
    assert [p.get_width() for p in ax.patches] == [70.0, 60.0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"]
    ticks = [ln for ln in ax.get_lines() if list(ln.get_xdata()) == [75.0, 75.0]]
    assert len(ticks) == 1  # the paper's number, for the row that has one
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "paper (a label of its own)" in legend and ax.get_title() == "a study"
    assert "paper" in [t.get_text() for t in plot.ablation({**rec, "paper_label": "paper"}).axes[0].get_legend()
                       .get_texts()]
    fig = plot.ablation(rec, groups=("g2",), title="only g2")
    assert len(fig.axes[0].patches) == 1 and fig.axes[0].get_title() == "only g2"
    with pytest.raises(ValueError, match=r"no rows of groups \('x',\).*groups: \['g1', 'g2'\]"):
        plot.ablation(rec, groups=("x",))
    plt.close("all")


def test_yardstick_draws_the_curve_its_seeds_and_the_marks():
    rec = {"points": [{"n": 10, "mean": 50.0, "sd": 2.0, "per_seed": [48.0, 50.0, 52.0]},
                      {"n": 100, "mean": 70.0, "sd": 1.0, "per_seed": [69.0, 70.0, 71.0]}]}
    fig = plot.yardstick(rec, marks={"ZSKD": 60.0}, series={"impressions": ([20, 40], [55.0, 58.0], [1.0, 1.0])})
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    assert list(ax.get_lines()[0].get_xdata()) == [10, 100] and list(ax.get_lines()[0].get_ydata()) == [50.0, 70.0]
    assert any(list(ln.get_ydata()) == [60.0, 60.0] for ln in ax.get_lines())  # the mark, across the axes
    assert list(ax.get_xticks()) == [10, 20, 40, 100]  # the series' sizes join the ticks
    assert ax.get_ylim()[0] <= 48.0 - 3
    plt.close("all")


def test_budget_curves_and_accuracy_over_time():
    curves = {"zskd": {"protocol": {"augment": "zskd"}, "steps": [1000, 10000], "test_acc": [60.0, 70.0],
                       "test_acc_sd": [0.0, 1.0], "per_seed_test": [[60.0], [69.0, 70.0, 71.0]]}}
    fig = plot.budget_curves(curves)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and list(ax.get_xticks()) == [1000, 10000]
    assert "zskd (augmentation: zskd)" in [t.get_text() for t in ax.get_legend().get_texts()]
    assert len(ax.collections[-1].get_offsets()) == 3  # every seed of the multi-seed budget as a dot
    fig = plot.accuracy_over_time({"a": ([1.0, 2.0], [40.0, 50.0])}, log=True)
    assert fig.axes[0].get_xscale() == "log" and list(fig.axes[0].get_lines()[0].get_ydata()) == [40.0, 50.0]
    plt.close("all")


def test_accuracy_vs_compute_places_each_row():
    def row(name, group, acc, wall, chapter):
        return SimpleNamespace(name=name, group=group, student_acc=acc, sd=0.5, wall_s=wall, chapter=chapter,
                               samples=1000, kind="synthetic", teacher_acc=90.0)

    board = [row("a", "data-free", 70.0, 100.0, 2), row("b", "real data", 89.0, 50.0, 1)]
    fig = plot.accuracy_vs_compute(board, title="t")
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_title() == "t"
    points = [tuple(c.get_offsets()[0]) for c in ax.collections if len(c.get_offsets()) == 1]
    assert (100.0, 70.0) in points and (50.0, 89.0) in points
    assert any(list(ln.get_ydata()) == [90.0, 90.0] for ln in ax.get_lines())  # the teacher, dashed
    # the points carry numbers, most accurate first, and the key beside the axes names them (no name overprints)
    assert sorted(t.get_text() for t in ax.texts if t.get_text().isdigit()) == ["1", "2"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["1  b (ch. 1)", "2  a (ch. 2)"]
    plt.close("all")
