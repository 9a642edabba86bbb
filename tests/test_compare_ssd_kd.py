"""Chapter 6's "Paper vs this book" table (dfkd_book.compare.ssd_kd): records, paper numbers, the chapter's run."""

import json
import shutil

import pytest

from dfkd_book import config, recipes, records
from dfkd_book.compare import ssd_kd

RACE = {"ssd-kd": (70.5, 400.0), "ssd-kd-fast": (80.25, 200.0), "deepinversion": (75.0, 300.0)}


def _record_col(df):
    (col,) = [c for c in df.columns if c.startswith(ssd_kd.RECORD)]
    return df[col]


def test_the_table_has_no_missing_cell_and_the_records_headline():
    df = ssd_kd.table()
    assert not df.isna().any().any() and (df != "").all().all()
    assert list(df.columns)[:2] == [ssd_kd.PAPER, ssd_kd.TABLE] and ssd_kd.RACE not in df.columns
    col = _record_col(df)
    for m, label in ssd_kd.METHODS.items():
        rec = records.load(m)
        assert col[f"{label} student (%)"] == f"{rec['student_acc']:.2f} ± {rec['student_acc_sd']:.2f}"
    assert f"over {records.load('ssd-kd')['seeds']} seeds" in col.name
    assert col["teacher (%)"] == f"{records.load('ssd-kd')['teacher_acc']:.2f}"


def test_the_paper_column_is_the_method_table():
    df = ssd_kd.table()
    student, teacher = recipes.published("ssd-kd", "student"), recipes.published("ssd-kd", "teacher")
    assert df.loc["SSD-KD student (%)", ssd_kd.PAPER] == f"{student.value:.2f}"
    assert df.loc["SSD-KD student (%)", ssd_kd.TABLE] == student.table
    assert df.loc["teacher (%)", ssd_kd.PAPER] == f"{teacher.value:.2f}"
    di = recipes.published("deepinversion", "student")
    assert df.loc["DeepInversion student (%)", ssd_kd.PAPER] == f"{di.value:.2f}"
    hours = recipes.published("deepinversion", "wall time").value / recipes.published("ssd-kd", "wall time").value
    assert df.loc["wall time, DeepInversion / SSD-KD", ssd_kd.PAPER] == f"{hours:.2f}"
    relaxed = recipes.published("ssd-kd", "student, relaxed scale")
    assert df.loc["SSD-KD student, Table 2's scale (%)", [ssd_kd.PAPER, ssd_kd.TABLE]].tolist() == [
        f"{relaxed.value:.2f}", "Table 2"] == [f"{relaxed.value:.2f}", di.table]  # like with like: one table
    assert list(df.index).index("SSD-KD student, Table 2's scale (%)") + 1 == list(df.index).index(
        "DeepInversion student (%)")
    assert recipes.published("ssd-kd-fast") is None  # no paper of its own: dashes
    assert df.loc["SSD-KD, Fast's generator student (%)", [ssd_kd.PAPER, ssd_kd.TABLE]].tolist() == ["–", "–"]


def test_the_chapters_run_is_a_column_of_its_own():
    df = ssd_kd.table(RACE)
    run = df[ssd_kd.RACE]
    assert not df.isna().any().any()
    assert run["SSD-KD student (%)"] == "70.50" and run["SSD-KD, Fast's generator student (%)"] == "80.25"
    assert run["wall time, DeepInversion / SSD-KD"] == "0.75"
    assert run["wall time, DeepInversion / SSD-KD, Fast's generator"] == "1.50"
    assert run["teacher (%)"] == "–"
    assert (df.drop(columns=ssd_kd.RACE) == ssd_kd.table()).all().all()  # the records' headline is unchanged


def test_the_records_wall_time_ratio_only_at_equal_samples(tmp_path):
    df = ssd_kd.table()
    di, ssd = records.load("deepinversion"), records.load("ssd-kd")
    if di.get("transfer_samples") != ssd.get("transfer_samples"):
        assert _record_col(df)["wall time, DeepInversion / SSD-KD"] == "–"
    shutil.copytree(config.RESULTS / "records", tmp_path / "records")
    path = tmp_path / "records" / "deepinversion.json"
    path.write_text(json.dumps({**di, "transfer_samples": ssd["transfer_samples"]}))
    col = _record_col(ssd_kd.table(results_dir=tmp_path))
    assert col["wall time, DeepInversion / SSD-KD"] == f"{di['wall_s'] / ssd['wall_s']:.2f}"


@pytest.mark.parametrize("race, error", [
    ([("ssd-kd", (1, 2))], TypeError),
    ({"ssd-kd": (70, 1), "deepinversion": (70, 1)}, ValueError),  # a method missing
    ({**RACE, "zskd": (70, 1)}, ValueError),  # one more
    ({**RACE, "ssd-kd": (0.7, 1, 2)}, ValueError),  # not a pair
    ({**RACE, "ssd-kd": ("high", 1)}, ValueError),
    ({**RACE, "ssd-kd": (170, 1)}, ValueError),  # not in %
    ({**RACE, "ssd-kd": (70, 0)}, ValueError),  # no wall time
])
def test_bad_input_raises(race, error):
    with pytest.raises(error):
        ssd_kd.table(race)


def test_a_missing_record_raises(tmp_path):
    (tmp_path / "records").mkdir()
    with pytest.raises(FileNotFoundError, match="bench"):
        ssd_kd.table(results_dir=tmp_path)
