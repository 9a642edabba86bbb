import random

import pytest
import torch

from dfkd_book import config


def test_default_profile_is_full(monkeypatch):
    monkeypatch.delenv("DFKD_BOOK_PROFILE", raising=False)
    assert config.profile() == "full"
    assert config.pick(quick=1, full=2) == 2


def test_quick_profile(monkeypatch):
    monkeypatch.setenv("DFKD_BOOK_PROFILE", "quick")
    assert config.profile() == "quick"
    assert config.pick(quick="q", full="f") == "q"


def test_workshop_profile_departs_from_full_only_where_told(monkeypatch):
    monkeypatch.setenv("DFKD_BOOK_PROFILE", "workshop")
    assert config.profile() == "workshop"
    assert config.pick(quick="q", full="f") == "f"
    assert config.pick(quick="q", full="f", workshop="w") == "w"
    assert config.pick(quick="q", full="f", workshop=None) is None  # None is a budget, not "unset"
    # an explicit profile overrides the active one
    assert config.pick(quick="q", full="f", workshop="w", at="quick") == "q"
    assert config.pick(quick="q", full="f", workshop="w", at="full") == "f"
    with pytest.raises(ValueError, match=r"quick.*workshop.*full.*'medium'"):
        config.pick(quick="q", full="f", at="medium")


def test_bad_profile_names_the_choices(monkeypatch):
    monkeypatch.setenv("DFKD_BOOK_PROFILE", "fast")
    with pytest.raises(ValueError, match=r"'fast'.*quick.*full"):
        config.profile()
    with pytest.raises(ValueError, match="quick"):
        config.pick(quick=1, full=2)


def test_seed_everything_reproduces():
    config.seed_everything(123)
    a = (random.random(), torch.rand(3))
    config.seed_everything(123)
    b = (random.random(), torch.rand(3))
    assert a[0] == b[0] and torch.equal(a[1], b[1])
    with pytest.raises(TypeError):
        config.seed_everything(1.5)


def test_device_override_and_describe(monkeypatch, capsys):
    monkeypatch.setenv("DFKD_BOOK_DEVICE", "cpu")
    assert config.device() == torch.device("cpu")
    info = config.describe()
    out = capsys.readouterr().out
    assert "profile" in out and "torchvision" in out and info["torch"] == torch.__version__


def test_cache_dir_env(monkeypatch, tmp_path):
    monkeypatch.setenv("DFKD_BOOK_CACHE", str(tmp_path / "c"))
    assert config.cache_dir("x") == tmp_path / "c" / "x" and (tmp_path / "c" / "x").is_dir()


def test_atomic_write_leaves_nothing_half_written(tmp_path):
    target = tmp_path / "sub" / "record.json"
    config.atomic_write(target, lambda f: f.write(b"old"))

    def boom(f):
        f.write(b"half of the new conten")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        config.atomic_write(target, boom)
    assert target.read_bytes() == b"old"
    assert [p.name for p in target.parent.iterdir()] == ["record.json"]


def test_inference_batch_by_device():
    assert config.inference_batch("cpu") == config.CPU_INFERENCE_BATCH
    assert config.inference_batch(torch.device("cuda")) == config.GPU_INFERENCE_BATCH
