"""The lab's one runner (dfkd_book.experiments.runner): run ids, resuming a study, provenance on every run, the
process pool, and where a number was measured (device, threads, commit)."""

import datetime as dt
import json
import subprocess

import pytest
import torch

from dfkd_book import config, records
from dfkd_book.experiments import runner

CALLS = []


def _toy(job):
    """A study's work: a measurement from the job alone (module level: a spawned worker unpickles it)."""
    CALLS.append((job["label"], job["seed"]))
    return {"test_acc": 10.0 * job["seed"] + len(job["label"]), "wall_s": 0.5}


def _curve(job):
    """A job that makes several lines (a learning curve's snapshots)."""
    return [{"step": s, "test_acc": float(s)} for s in (1, 2, 3)]


def _with_state(job):
    return {"state": runner.state()}


def _jobs(labels=("a", "bb"), seeds=(0, 1), **more):
    return [{"study": "toy", "label": lab, "seed": s, **more} for s in seeds for lab in labels]


# ----------------------------------------------------------------------------------------------------- run ids
def test_run_id_is_the_job_without_bookkeeping_in_any_key_order():
    job = {"study": "toy", "label": "a", "seed": 0, "protocol": {"steps": 5, "lr": 0.1}}
    same = {"seed": 0, "protocol": {"lr": 0.1, "steps": 5}, "label": "a", "study": "toy",
            "device": "cpu", "threads": 2, "commit": "x", "date": "d", "wall_s": 1.0, "profile": "full", "torch": "2"}
    assert runner.run_id(job) == runner.run_id(same)
    assert runner.run_id(job) != runner.run_id({**job, "seed": 1})
    assert runner.run_id(job) != runner.run_id({**job, "protocol": {"steps": 6, "lr": 0.1}})
    assert json.loads(runner.run_id(job)) == job


# --------------------------------------------------------------------------------------- running and resuming
def test_run_writes_each_run_with_its_provenance_and_resumes_by_run_id(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DFKD_BOOK_COMMIT", "0123abc")
    out = tmp_path / "study" / "toy.jsonl"
    CALLS.clear()
    runs = runner.run(_jobs(), _toy, out, workers=0)
    assert CALLS == [("a", 0), ("bb", 0), ("a", 1), ("bb", 1)]
    assert runs == records.read_runs(out) and len(runs) == 4
    first = runs[0]
    assert {k: first[k] for k in ("study", "label", "seed", "test_acc", "wall_s")} == {
        "study": "toy", "label": "a", "seed": 0, "test_acc": 1.0, "wall_s": 0.5}
    assert first["commit"] == "0123abc" and first["device"] == runner.device_name()
    assert first["threads"] == torch.get_num_threads()
    assert first["profile"] == config.profile() and first["job_keys"] == ["label", "seed", "study"]
    dt.datetime.fromisoformat(first["date"])
    assert "4 runs to do (0 done before)" in capsys.readouterr().out
    # started again with more jobs (and a duplicate): only what is missing runs, once
    CALLS.clear()
    runs = runner.run(_jobs(seeds=(0, 1, 2)) + _jobs(seeds=(2,)), _toy, out, workers=0)
    assert CALLS == [("a", 2), ("bb", 2)] and len(runs) == 6
    assert "2 runs to do" in capsys.readouterr().out
    CALLS.clear()
    assert runner.run(_jobs(), _toy, out, workers=0) == runs and CALLS == []
    # a job that differs in any key of its own is another run
    runner.run(_jobs(seeds=(0,), labels=("a",), lr=0.1), _toy, out, workers=0)
    assert CALLS == [("a", 0)]


def _commits_on(job):
    """A job during which the repository's HEAD moves on (a commit made while a study runs)."""
    import os

    os.environ["DFKD_BOOK_COMMIT"] = f"later{job['seed']}"
    return {"test_acc": 1.0}


def test_runs_name_the_commit_at_the_studys_start(tmp_path, monkeypatch):
    monkeypatch.setenv("DFKD_BOOK_COMMIT", "atstart")
    runs = runner.run(_jobs(labels=("a",)), _commits_on, tmp_path / "toy.jsonl", workers=0)
    assert [r["commit"] for r in runs] == ["atstart", "atstart"]  # the code its workers imported


def test_a_job_of_several_lines_and_the_state_of_init(tmp_path):
    runs = runner.run(_jobs(labels=("c",), seeds=(0,)), _curve, tmp_path / "c.jsonl", workers=0)
    assert [r["step"] for r in runs] == [1, 2, 3] and all(r["label"] == "c" for r in runs)
    assert all(isinstance(r["wall_s"], float) for r in runs)  # timed by the runner when the work does not say
    runs = runner.run(_jobs(labels=("s",), seeds=(0,)), _with_state, tmp_path / "s.jsonl", workers=0,
                      init=lambda: {"loaded": 1})
    assert runs[0]["state"] == {"loaded": 1}


def test_minutes_stops_handing_out_jobs_and_a_rerun_finishes_them(tmp_path):
    out = tmp_path / "t.jsonl"
    CALLS.clear()
    runs = runner.run(_jobs(), _toy, out, workers=0, minutes=0)  # time is up after the first run
    assert len(runs) == 1 and CALLS == [("a", 0)]
    assert len(runner.run(_jobs(), _toy, out, workers=0)) == 4
    assert CALLS == [("a", 0), ("bb", 0), ("a", 1), ("bb", 1)]


def test_run_refuses_a_job_without_study_label_or_seed_and_negative_workers(tmp_path):
    with pytest.raises(ValueError, match=r"lacks \['seed'\]"):
        runner.run([{"study": "toy", "label": "a"}], _toy, tmp_path / "x.jsonl", workers=0)
    with pytest.raises(ValueError, match=r"lacks \['study', 'label'\]"):
        runner.run([{"seed": 0}], _toy, tmp_path / "x.jsonl", workers=0)
    with pytest.raises(ValueError, match="workers must be >= 0"):
        runner.run(_jobs(), _toy, tmp_path / "x.jsonl", workers=-1)
    assert not (tmp_path / "x.jsonl").exists()


def test_a_spawned_pool_runs_what_is_missing(tmp_path):
    """workers >= 1: the jobs run in spawned processes of one thread each; the results come back to the file."""
    out = tmp_path / "pool.jsonl"
    runner.run(_jobs(seeds=(0,)), _toy, out, workers=0)
    runs = runner.run(_jobs(seeds=(0, 1)), _toy, out, workers=1)
    assert sorted((r["label"], r["seed"]) for r in runs) == [("a", 0), ("a", 1), ("bb", 0), ("bb", 1)]
    pooled = [r for r in runs if r["seed"] == 1]
    assert all(r["threads"] == 1 for r in pooled)
    assert {r["label"]: r["test_acc"] for r in pooled} == {"a": 11.0, "bb": 12.0}


def test_done_keys_runs_by_their_job_and_the_first_record_wins(tmp_path):
    out = tmp_path / "d.jsonl"
    prov = {"commit": "c", "device": "cpu"}
    records.append_runs(out, [
        {"study": "s", "label": "a", "seed": 0, "test_acc": 1.0, "job_keys": ["label", "seed", "study"], **prov},
        {"study": "s", "label": "a", "seed": 0, "test_acc": 2.0, "job_keys": ["label", "seed", "study"], **prov},
        # a run written before the runner kept its job keys: identified by the keys asked for
        {"study": "s", "label": "b", "seed": 0, "test_acc": 3.0, **prov}])
    have = runner.done(out)
    assert have[runner.run_id({"study": "s", "label": "a", "seed": 0})]["test_acc"] == 1.0
    assert runner.run_id({"study": "s", "label": "b", "seed": 0}) not in have  # its measurement is part of its id
    by_keys = runner.done(out, keys=("study", "label", "seed"))
    assert by_keys[runner.run_id({"study": "s", "label": "b", "seed": 0})]["test_acc"] == 3.0
    assert len(by_keys) == 2
    assert runner.done(tmp_path / "none.jsonl") == {}


# ---------------------------------------------------------------------------------------------- where it ran
def test_environment_names_device_threads_and_commit(monkeypatch):
    monkeypatch.setenv("DFKD_BOOK_COMMIT", "feedbee")
    env = runner.environment()
    assert env["commit"] == "feedbee" and "git_commit" not in env
    assert env["device"] == runner.device_name() and env["threads"] == torch.get_num_threads()
    assert env["profile"] == config.profile() and env["torch"] == torch.__version__
    dt.datetime.fromisoformat(env["date"])
    assert runner.device_name("cpu") == "cpu" and "thread" not in runner.device_name("cpu")
    assert runner.now().endswith("+00:00")


def test_git_commit_named_by_the_environment(monkeypatch):
    monkeypatch.setenv("DFKD_BOOK_COMMIT", "0123abc")
    assert runner.git_commit() == "0123abc"
    monkeypatch.delenv("DFKD_BOOK_COMMIT")
    assert runner.git_commit() != "0123abc"


def test_git_commit_is_dirty_for_code_changes_not_for_records(monkeypatch, tmp_path):
    """Studies run side by side append their runs to results/ while the others still run: a record is not
    uncommitted code."""
    def git(*args):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=tmp_path, check=True,
                       capture_output=True)

    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "a.json").write_text("{}")
    (tmp_path / "code.py").write_text("x = 1\n")
    git("init", "-q")
    git("add", "-A")
    git("commit", "-qm", "init")
    monkeypatch.delenv("DFKD_BOOK_COMMIT", raising=False)
    monkeypatch.setattr(config, "REPO_ROOT", tmp_path)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=tmp_path, capture_output=True, text=True).stdout.strip()
    assert runner.git_commit() == head
    (tmp_path / "results" / "a.json").write_text('{"student_acc": 1}')
    assert runner.git_commit() == head
    assert runner.dirty_paths() == [] and runner.tree() == {"commit": head, "code": runner.code_digest()}
    (tmp_path / "code.py").write_text("x = 2\n")
    assert runner.git_commit() == head + "+dirty"
    assert runner.dirty_paths() == ["code.py"]  # what bench all names when it refuses to start
    with pytest.raises(RuntimeError, match="uncommitted changes to tracked files outside results/: code.py"):
        runner.tree()
    assert runner.tree(allow_dirty=True)["commit"] == head + "+dirty"
    monkeypatch.setattr(config, "REPO_ROOT", tmp_path / "not-a-repo")
    assert runner.git_commit() == "unknown"
    with pytest.raises(RuntimeError, match="cannot tell the commit"):
        runner.tree()


# ----------------------------------------------------------------------------------- outputs made as one run
def _square(x):
    return {"x": x, "y": x * x, "threads": torch.get_num_threads()}


def _fail(x):
    raise ValueError(f"no {x}")


@pytest.mark.parametrize("workers", [1, 2])
def test_execute_hands_back_each_tasks_outputs_in_job_order(workers):
    """In this process and in a pool of spawned workers: the same outputs, per task in job order; a failing job
    fails its task only; a task given as one callable runs alone here, first."""
    from functools import partial

    tasks = {"a": [partial(_square, i) for i in range(3)], "b": [partial(_fail, 7), partial(_square, 1)],
             "c": [partial(_square, 5)], "alone": lambda: "here"}
    got, seen = {}, []
    runner.execute(tasks, lambda k, out, s: got.update({k: (out, s)}), workers=workers, threads=1,
                   each=lambda k, i, out: seen.append((k, i)))
    assert list(got)[0] == "alone" and got["alone"][0] == "here"
    assert [o["y"] for o in got["a"][0]] == [0, 1, 4] and got["c"][0][0]["y"] == 25
    assert all(o["threads"] == 1 for o in got["a"][0] + got["c"][0])
    assert isinstance(got["b"][0], ValueError) and str(got["b"][0]) == "no 7"
    assert sorted(x for x in seen if x[0] != "b") == [("a", 0), ("a", 1), ("a", 2), ("c", 0)]  # b's may race its fall
    assert all(s >= 0 for _, s in got.values())


def test_execute_stops_when_done_raises():
    from functools import partial

    def done(key, out, seconds):
        raise RuntimeError("stop")

    with pytest.raises(RuntimeError, match="stop"):
        runner.execute({"a": [partial(_square, 1)], "b": [partial(_square, 2)]}, done, workers=2, threads=1)


def test_staged_outputs_wait_for_the_run_and_resume_only_the_same_run(tmp_path):
    ident = {"commit": "abc", "seeds": 3}
    stage = runner.Staged(tmp_path, "x", ident)
    path = records.save({"method": "m", "dataset": "d", "teacher": "t", "student": "s", "student_acc": 1.0,
                         "student_acc_sd": 0.0, "seeds": 3, "per_seed": [1.0], "wall_s": 1.0, "threads": 1,
                         "profile": "full", "date": "d", "torch": "t", "commit": "abc", "device": "cpu",
                         "run_id": stage.run_id}, stage.dir)
    stage.add("m", {"status": "ok"}, [path])
    assert not (tmp_path / "records").exists()
    with pytest.raises(RuntimeError, match="--resume continues it"):
        runner.Staged(tmp_path, "x", ident)
    with pytest.raises(RuntimeError, match="commit was 'abc', now 'def'"):
        runner.Staged(tmp_path, "x", {**ident, "commit": "def"}, resume=True)
    again = runner.Staged(tmp_path, "x", ident, resume=True)
    assert again.run_id == stage.run_id and again.done() == {"m": {"status": "ok"}}
    again.promote()
    again.close()
    assert records.load("m", tmp_path)["run_id"] == stage.run_id and not (tmp_path / "x.partial").exists()
    assert runner.Staged(tmp_path, "x", ident, resume=True).done() == {}  # nothing staged: a new run


def test_environment_says_how_a_run_ran():
    env = runner.environment(workers=2, threads=1)
    assert env["workers"] == 2 and env["threads"] == 1
    assert "workers" not in runner.environment() and runner.environment()["threads"] == torch.get_num_threads()
