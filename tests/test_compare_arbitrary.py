"""Chapter 3's "Paper vs this book" table and its Table 1 study (dfkd_book.compare.arbitrary), from the records."""

import pytest

from dfkd_book import recipes, records
from dfkd_book.compare import arbitrary

CLASSES = [f"c{k}" for k in range(10)]


@pytest.fixture(scope="module")
def cmp():
    return arbitrary.table(teacher_acc=90.0, run=(70.0, 20_000, 256), classes=CLASSES)


def _row(df, what, source_starts="leaderboard record"):
    (hit,) = [row for (src, w), row in df.iterrows() if w == what and src.startswith(source_starts)]
    return hit


def test_no_cell_is_empty_or_nan(cmp):
    for df in (cmp.table, arbitrary.table1().table):
        assert not df.isna().any().any()
        assert all(isinstance(v, str) and v for v in df.to_numpy().ravel())
    assert list(cmp.table.columns) == list(arbitrary.COLUMNS)


def test_the_headline_is_the_best_sets_record_against_the_paper(cmp):
    rec = records.load("arbitrary-best")
    headline = cmp.table.iloc[1]
    assert cmp.table.index[1][0].startswith(f"leaderboard record, {rec['seeds']} seeds")
    assert float(headline["this book"]) == pytest.approx(rec["student_acc"], abs=0.005)
    assert float(headline["± sd"]) == pytest.approx(rec["student_acc_sd"], abs=0.005)
    assert float(headline["paper"]) == pytest.approx(recipes.published("arbitrary-best").value, abs=0.005)
    assert cmp.glue["best_rec"].startswith(f"{rec['student_acc']:.2f} ±")


def test_noise_and_zskd_are_their_records(cmp):
    for method, what in (("arbitrary-noise", "balanced uniform noise, with augmentation (Table 1)"),
                         ("zskd", "ZSKD, chapter 2 (Table 2)")):
        row = _row(cmp.table, what)
        assert float(row["this book"]) == pytest.approx(records.load(method)["student_acc"], abs=0.005)
        assert float(row["paper"]) == pytest.approx(recipes.published(method).value, abs=0.005)
    degan = _row(cmp.table, "DeGAN, a GAN on proxy data (Table 2)", "not run")
    assert degan["this book"] == "–" and degan["difference"] == "–"
    assert float(degan["paper"]) == pytest.approx(recipes.published("arbitrary-best", "DeGAN").value)


def test_the_chapters_run_is_labelled_and_the_noise_shortfall_read_from_the_record(cmp):
    (run,) = [row for (src, _), row in cmp.table.iterrows() if src.startswith("this chapter's run, seed 0")]
    assert float(run["this book"]) == 70.0
    counts = next(iter(records.load("arbitrary-noise")["composition"].values()))["counts"]
    k = min(range(len(counts)), key=counts.__getitem__)
    assert cmp.glue["noise_rarest"] == CLASSES[k] and cmp.glue["noise_found"] == f"{counts[k]:,}"


def test_table1_reads_the_paper_from_the_method_table_and_labels_the_study():
    t1 = arbitrary.table1()
    runs = {r["label"]: r for r in records.load_summary("arbitrary-ablations")["rows"]}
    assert len(t1.table) == len(arbitrary.PAPER_SETS)
    for aug in arbitrary.AUGMENTATION:
        block = t1.table[f"{aug} augmentation"]
        (study,) = [c for c in block.columns if c != "paper"]
        assert study.startswith("ablation study, ")
        for (fam, kind), row in block.iterrows():
            label = f"{fam}, {kind}, {aug} augmentation"
            assert row["paper"] == f"{recipes.published('arbitrary-best', label).value:.2f}"
            assert row[study].startswith(f"{runs[label]['test_acc']:.2f}")
    assert set(t1.glue) >= {"gain_noise", "gain_synthetic", "gain_natural", "noise_balanced_w"}


def test_bad_input_raises(tmp_path):
    with pytest.raises(ValueError, match="teacher_acc"):
        arbitrary.table(teacher_acc=-1.0)
    with pytest.raises(ValueError, match="run"):
        arbitrary.table(run=(70.0, 20_000))
    with pytest.raises(ValueError, match="accuracy"):
        arbitrary.table(run=(700.0, 20_000, 256))
    with pytest.raises(ValueError, match="classes"):
        arbitrary.table(classes=CLASSES[:3])
    with pytest.raises(FileNotFoundError):
        arbitrary.table(results_dir=tmp_path)
    with pytest.raises(FileNotFoundError):
        arbitrary.table1(results_dir=tmp_path)


def test_the_studys_own_paper_numbers_agree_with_the_method_table():
    """The study's summary stores the paper's number of each row; it must be the method table's."""
    for r in records.load_summary("arbitrary-ablations")["rows"]:
        pub = recipes.published("arbitrary-best", r["label"])
        if r["paper"] is not None and pub is not None:
            assert r["paper"] == pytest.approx(pub.value), r["label"]
    assert {r["group"] for r in records.load_summary("arbitrary-ablations")["rows"]} <= {
        "noise", "synthetic", "natural", "multi-scale noise", "best"}
