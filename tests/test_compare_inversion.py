"""Chapter 5's "Paper vs this book" table (dfkd_book.compare.inversion): one headline per method, its leaderboard
record; the paper's numbers from the method table; what each method inverts, never "0 MB"; bad records raise."""

import json
import shutil

import pytest

from dfkd_book import config, recipes, records
from dfkd_book.compare import inversion


@pytest.fixture(scope="module")
def comparison():
    return inversion.table()


def test_no_cell_is_empty_or_nan(comparison):
    t = comparison.table
    assert list(t.columns) == list(inversion.COLUMNS)
    assert len(t) == len(inversion.METHODS) + 1
    assert not t.isna().any().any()
    assert not any(str(v) in ("", "nan") for v in t.to_numpy().ravel())


@pytest.mark.parametrize("method", inversion.METHODS)
def test_the_headline_is_the_leaderboard_record(comparison, method):
    rec = records.load(method)
    mean, sd = comparison.table.loc[inversion.label(method), "this book (%)"].split(" ± ")
    assert float(mean) == pytest.approx(rec["student_acc"], abs=0.005)
    assert float(sd) == pytest.approx(rec["student_acc_sd"], abs=0.005)
    assert comparison.table.loc[inversion.label(method), "seeds"] == rec["seeds"]


def test_the_paper_column_is_the_method_table(comparison):
    paper = comparison.table[inversion.PAPER]
    for method, keys in inversion.CONTEXT.items():
        for key, name in keys.items():
            assert f"{name} {recipes.published(method, key).value:.2f}" in paper[inversion.label(method)]
    assert paper[inversion.label("deepinversion")] == "–"


def test_what_each_method_inverts_is_never_zero(comparison):
    col = comparison.table["statistics inverted (size)"]
    for method in ("bn-stats", "deepinversion"):
        assert col[inversion.label(method)] == "BN statistics, in the teacher (1.8 kB)"
    assert col[inversion.label("activation-records")] == \
        f"metadata: {records.load('activation-records')['metadata_bytes'] / 1e6:.2f} MB"
    assert col[inversion.label("spectral")] == f"metadata: {records.load('spectral')['metadata_bytes'] / 1e3:.1f} kB"
    # LeNet-5-BN's four BN layers (6, 16, 120, 84 channels), a float32 mean and variance each; LeNet-5 has none
    assert inversion.bn_statistics_bytes("lenet5bn", "fashion-mnist") == (6 + 16 + 120 + 84) * 2 * 4
    assert inversion.bn_statistics_bytes("lenet5", "fashion-mnist") == 0


def test_the_floor_and_the_glued_gain(comparison):
    floor = records.load("spectral")["uniform_noise_student_acc"]
    assert comparison.table.loc[inversion.FLOOR, "this book (%)"] == f"{floor:.2f}"
    gain = records.load("deepinversion")["student_acc"] - records.load("bn-stats")["student_acc"]
    assert comparison.di_over_bn == pytest.approx(gain, abs=0.005)


def test_labels_mark_the_metadata_methods():
    assert inversion.label("spectral").endswith("(metadata)")
    assert not inversion.label("deepinversion").endswith("(metadata)")
    with pytest.raises(ValueError, match="unknown method"):
        inversion.label("no-such-method")


def _copy_records(tmp_path):
    (tmp_path / "records").mkdir()
    for m in inversion.METHODS:
        shutil.copy(config.RESULTS / "records" / f"{m}.json", tmp_path / "records")
    return tmp_path


def _edit(tmp_path, method, edit):
    path = tmp_path / "records" / f"{method}.json"
    rec = json.loads(path.read_text())
    edit(rec)
    path.write_text(json.dumps(rec))


def test_bad_records_raise(tmp_path):
    results = _copy_records(tmp_path)
    assert inversion.table(results).table.equals(inversion.table().table)
    (results / "records" / "bn-stats.json").unlink()
    with pytest.raises(FileNotFoundError, match="bench bn-stats"):
        inversion.table(results)


@pytest.mark.parametrize("method, edit, match", [
    ("spectral", lambda r: r.pop("metadata_bytes"), "metadata_bytes"),
    ("spectral", lambda r: r.pop("uniform_noise_student_acc"), "uniform_noise_student_acc"),
    ("deepinversion", lambda r: r.update(method="bn-stats"), "holds a record of 'bn-stats'"),
    ("activation-records", lambda r: r.pop("student_acc"), "student_acc"),
])
def test_an_incomplete_record_raises(tmp_path, method, edit, match):
    results = _copy_records(tmp_path)
    _edit(results, method, edit)
    with pytest.raises(ValueError, match=match):
        inversion.table(results)


def test_an_unknown_architecture_raises():
    with pytest.raises(ValueError):
        inversion.bn_statistics_bytes("no-such-net", "fashion-mnist")
