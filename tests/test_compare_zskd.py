"""Chapter 2's "Paper vs this book" table (dfkd_book.compare.zskd), read from the committed records."""

import pytest

from dfkd_book import recipes, records
from dfkd_book.compare import zskd


@pytest.fixture(scope="module")
def cmp():
    return zskd.table(teacher_acc=90.0, run=(70.0, 20_000, 512), impression_steps=1_200_000)


def test_no_cell_is_empty_or_nan(cmp):
    df = cmp.table
    assert list(df.columns) == list(zskd.COLUMNS)
    assert not df.isna().any().any()
    assert all(isinstance(v, str) and v for v in df.to_numpy().ravel())
    assert "–" in df["paper"].tolist()  # the rows the paper has no number for say so


def test_the_headline_is_the_leaderboard_record_against_the_paper(cmp):
    rec = records.load("zskd")
    headline = cmp.table.iloc[1]
    assert "leaderboard record" in cmp.table.index[1][0] and f"{rec['seeds']} seeds" in cmp.table.index[1][0]
    assert float(headline["this book"]) == pytest.approx(rec["student_acc"], abs=0.005)
    assert float(headline["± sd"]) == pytest.approx(rec["student_acc_sd"], abs=0.005)
    assert float(headline["paper"]) == pytest.approx(recipes.published("zskd").value, abs=0.005)
    assert cmp.glue["rec_acc"].startswith(f"{rec['student_acc']:.2f} ±")


def test_every_paper_number_is_the_method_tables(cmp):
    df = cmp.table
    assert float(df.iloc[0]["paper"]) == pytest.approx(recipes.published("zskd", "teacher").value, abs=0.005)
    assert float(df.iloc[0]["this book"]) == 90.0
    by_row = {what: row for (_, what), row in df.iterrows()}
    for what, key in zskd.ABLATION_ROWS.values():
        want = "–" if key is None else f"{recipes.published('zskd', key).value:.2f}"
        assert by_row[what]["paper"] == want


def test_the_chapters_run_and_the_study_are_labelled_as_such(cmp):
    sources = {src for src, _ in cmp.table.index}
    assert "this chapter's run, seed 0, 20,000 steps × 512" in sources
    assert any(s.startswith("ablation study, ") for s in sources)
    study = cmp.table[[s.startswith("ablation study, ") for s, _ in cmp.table.index]]
    assert (study["difference"] == "–").all()  # a shorter student: no difference to the paper's number
    assert len(zskd.table().table) == len(cmp.table) - 1  # without a run, no run row


def test_bad_input_raises(tmp_path):
    with pytest.raises(ValueError, match="teacher_acc"):
        zskd.table(teacher_acc=150.0)
    with pytest.raises(ValueError, match="run"):
        zskd.table(run=(70.0, 20_000))
    with pytest.raises(ValueError, match="accuracy"):
        zskd.table(run=(0.7 * 1000, 20_000, 512))
    with pytest.raises(ValueError, match="impression_steps"):
        zskd.table(impression_steps=0)
    with pytest.raises(FileNotFoundError):
        zskd.table(results_dir=tmp_path)


def test_the_papers_selection_stands_beside_the_final_student_when_recorded(tmp_path):
    """ZSKD's code reports its best test epoch: a record that carries it gets a row of its own, labelled."""
    import json
    import shutil

    from dfkd_book import config
    from dfkd_book.compare import arbitrary

    what = "the paper's selection (best test epoch)"
    assert not any(w == what for _, w in zskd.table().table.index) or "best_test_epoch_acc" in records.load("zskd")
    shutil.copytree(config.RESULTS / "records", tmp_path / "records")
    shutil.copytree(config.RESULTS / "runs", tmp_path / "runs")
    for m in ("zskd", "arbitrary-best"):
        rec = records.load(m)
        best = [a + 1.0 for a in rec["per_seed"]]
        (tmp_path / "records" / f"{m}.json").write_text(json.dumps(
            {**rec, "per_seed_best_test_epoch": best, "best_test_epoch_acc": round(sum(best) / len(best), 2),
             "best_test_epoch_acc_sd": rec["student_acc_sd"]}))
    for t, m in ((zskd.table(results_dir=tmp_path).table, "zskd"),
                 (arbitrary.table(results_dir=tmp_path).table, "arbitrary-best")):
        (row,) = [r for (_, w), r in t.iterrows() if w == what]
        assert float(row["this book"]) == pytest.approx(records.load(m)["student_acc"] + 1.0, abs=0.01)
        assert float(row["paper"]) == pytest.approx(recipes.published(m).value, abs=0.005)
