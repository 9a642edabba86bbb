import json

import pytest

from dfkd_book import bench

REQUIRED = ("method", "dataset", "teacher", "student", "teacher_acc", "student_acc", "wall_s", "device",
            "profile", "torch", "git_commit", "date")


def test_unknown_method():
    with pytest.raises(ValueError, match="kd-real"):
        bench.run("no-such-method")


def test_run_writes_a_complete_record(monkeypatch, tmp_path):
    fake = dict(dataset="fashion-mnist", teacher="lenet5", student="lenet5half", teacher_acc=1.0,
                student_acc=0.5, wall_s=0.1)
    monkeypatch.setitem(bench.METHODS, "fake", lambda: dict(fake))
    rec = bench.run("fake", tmp_path)
    on_disk = json.loads((tmp_path / "fake.json").read_text())
    assert on_disk == rec
    for k in REQUIRED:
        assert k in on_disk, k
    assert not list(tmp_path.glob(".fake.json.tmp-*"))


def test_committed_kd_real_result_is_full_profile_and_meets_the_paper():
    """results/kd-real.json comes from a real full-profile run (written by `python -m dfkd_book.bench kd-real`)."""
    rec = json.loads((bench.REPO_ROOT / "results" / "kd-real.json").read_text())
    for k in REQUIRED:
        assert k in rec, k
    assert rec["profile"] == "full"
    assert rec["student_acc"] >= 89.66 and rec["teacher_acc"] >= 90.84
    assert rec["history"]["test_acc"][-1] == pytest.approx(rec["student_acc"], abs=0.01)
