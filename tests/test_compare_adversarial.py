"""Chapter 4's "Paper vs this book" table (dfkd_book.compare.adversarial), read from the committed records."""

from __future__ import annotations

import pytest

from dfkd_book import recipes, records
from dfkd_book.compare import adversarial as cmp


@pytest.fixture(scope="module")
def table():
    return cmp.table()


def test_the_table_has_no_empty_cell(table):
    assert list(table.columns) == [cmp.PAPER, cmp.BOOK]
    assert not table.isna().any().any()
    assert all(isinstance(v, str) and v and v.lower() != "nan" for v in table.to_numpy().ravel())


@pytest.mark.parametrize("game", cmp.GAMES)
def test_the_headline_is_the_games_record(table, game):
    rec = records.load(game)
    cell = table.loc[f"{game.upper()} student: accuracy (%)", cmp.BOOK]
    assert cell == f"{rec['student_acc']:.2f} ± {rec['student_acc_sd']:.2f} ({rec['seeds']} seeds)"
    assert float(cell.split(" ± ")[0]) == rec["student_acc"]


def test_the_paper_column_is_the_method_table(table):
    for p in recipes.about("hard-label").published:
        assert table.loc[f"{p.key}, hard-label black-box: accuracy (%)", cmp.PAPER] == f"{p.value:.2f}"
    assert table.loc["MNIST (context): DFAD student, accuracy (%)", cmp.PAPER] == str(
        recipes.published("dfad", "student").value)
    assert table.loc["MNIST (context): teacher LeNet-5, accuracy (%)", cmp.PAPER] == str(
        recipes.published("dfad", "teacher").value)
    poster = table.loc["MTE, the zero-shot (ZSKT) student", cmp.PAPER]
    for d in ("svhn", "cifar10"):
        assert f"{recipes.published('zskt', 'mte, zero-shot', d).value:.2f}" in poster


def test_the_mte_rows_are_the_sweeps_seeds(table):
    runs = [r for r in records.load_runs("mte-sweep") if r["student"] == "zero-shot (ZSKT)"
            and r["lr"] == cmp.MTE_WALK["lr"] and r["steps"] == cmp.MTE_WALK["steps"]]
    assert runs
    assert table.loc["MTE, the zero-shot (ZSKT) student", cmp.BOOK].endswith(f"({len(runs)} seeds)")


def test_a_live_run_is_a_labelled_row_of_its_own():
    t = cmp.table(live={"zskt": 68.0})
    assert t.loc["ZSKT student: this chapter's run (seed 0)", cmp.BOOK] == "68.00"
    assert "DFAD student: this chapter's run (seed 0)" not in t.index
    assert t.loc["ZSKT student: accuracy (%)", cmp.BOOK].startswith(f"{records.load('zskt')['student_acc']:.2f}")


@pytest.mark.parametrize("live, error", [({"zskd": 50.0}, ValueError), ({"zskt": 680.0}, ValueError),
                                         ({"dfad": float("nan")}, ValueError), ({"dfad": "66"}, ValueError),
                                         ([("zskt", 50.0)], TypeError)])
def test_bad_input_raises(live, error):
    with pytest.raises(error):
        cmp.table(live=live)


def test_a_missing_record_raises(tmp_path):
    with pytest.raises(FileNotFoundError):
        cmp.table(results_dir=tmp_path)
