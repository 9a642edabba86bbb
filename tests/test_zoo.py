import shutil

import pytest
import torch

from dfkd_book import kd, models, recipes, zoo


@pytest.mark.parametrize("arch, floor", [("lenet5", recipes.published("zskd", "teacher").value / 100),
                                         ("lenet5bn", 0.91)])
def test_shipped_teacher_accuracy(arch, floor, fmnist_test):
    """Shipped LeNet-5 at least as accurate as ZSKD's (Nayak et al. 2019, Table 2); LeNet-5-BN >= 91 %."""
    rec = zoo.manifest()[f"{arch}-fashion-mnist"]
    assert zoo.sha256(zoo.WEIGHTS_DIR / rec["file"]) == rec["sha256"]
    teacher = zoo.teacher(arch, "fashion-mnist", train_if_missing=False)
    assert not teacher.training and not any(p.requires_grad for p in teacher.parameters())
    acc = kd.evaluate(teacher, fmnist_test)
    assert acc >= floor
    assert acc == pytest.approx(rec["test_acc"], abs=2e-3)


def test_corrupted_weights_file_is_refused(monkeypatch, tmp_path):
    shutil.copytree(zoo.WEIGHTS_DIR, tmp_path / "weights")
    rec = zoo.manifest()["lenet5-fashion-mnist"]
    path = tmp_path / "weights" / rec["file"]
    blob = bytearray(path.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    path.write_bytes(bytes(blob))
    monkeypatch.setattr(zoo, "WEIGHTS_DIR", tmp_path / "weights")
    with pytest.raises(zoo.WeightsIntegrityError, match="sha256.*does not match"):
        zoo.teacher("lenet5", "fashion-mnist")


def test_save_and_load_weights_round_trip(tmp_path):
    m = models.LeNet5Half()
    digest = zoo.save_weights(m, tmp_path / "w.pt")
    assert not list(tmp_path.glob(".w.pt.tmp-*"))
    m2 = zoo.load_weights(models.LeNet5Half(), tmp_path / "w.pt", digest)
    for a, b in zip(m.state_dict().values(), m2.state_dict().values()):
        assert torch.equal(a, b)
    with pytest.raises(FileNotFoundError):
        zoo.load_weights(models.LeNet5Half(), tmp_path / "missing.pt", digest)


def test_unshipped_pair_is_trained_once_and_cached(monkeypatch, tmp_path):
    monkeypatch.setenv("DFKD_BOOK_CACHE", str(tmp_path))
    monkeypatch.setitem(zoo.RECIPES, "lenet5half",
                        dict(epochs=1, batch_size=512, lr=3e-3, weight_decay=0.0, augment=None, seed=0))
    load = zoo.data.load  # one epoch of a 2,048-image slice (and a 1,000-image test set): seconds, not minutes
    monkeypatch.setattr(zoo.data, "load", lambda name, split="train": load(name, split).subset(
        2048 if split == "train" else 1000, seed=0))
    with pytest.raises(FileNotFoundError, match="train_if_missing"):
        zoo.teacher("lenet5half", "fashion-mnist", train_if_missing=False)
    t1 = zoo.teacher("lenet5half", "fashion-mnist", train_if_missing=True, progress=False)
    cached = tmp_path / "weights" / "lenet5half-fashion-mnist.pt"
    assert cached.exists() and (tmp_path / "weights" / "lenet5half-fashion-mnist.json").exists()
    monkeypatch.setattr(zoo, "train_teacher", lambda *a, **k: pytest.fail("trained twice"))
    t2 = zoo.teacher("lenet5half", "fashion-mnist")
    for a, b in zip(t1.state_dict().values(), t2.state_dict().values()):
        assert torch.equal(a.cpu(), b.cpu())


def test_student_is_fresh_and_sized_by_dataset():
    s = zoo.student("lenet5half", "fashion-mnist")
    assert s.training and models.count_parameters(s) == 35_820
    assert models.num_classes(zoo.student("lenet5half", "cifar10")) == 10
    with pytest.raises(ValueError, match="known"):
        zoo.student("vgg", "fashion-mnist")


def test_a_missing_teacher_is_never_trained_silently(monkeypatch, tmp_path):
    """No shipped and no cached weights: the default raises, naming the command that trains the teacher."""
    (tmp_path / "shipped").mkdir()
    monkeypatch.setattr(zoo, "WEIGHTS_DIR", tmp_path / "shipped")
    monkeypatch.setenv("DFKD_BOOK_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(zoo, "train_teacher", lambda *a, **k: pytest.fail("trained silently"))
    with pytest.raises(zoo.WeightsMissingError, match=r"python -m dfkd_book\.zoo train lenet5 fashion-mnist"):
        zoo.teacher("lenet5", "fashion-mnist")
    with pytest.raises(FileNotFoundError, match="train_if_missing=True"):
        zoo.teacher("LeNet-5", "fashion-mnist")


def test_the_moons_teacher_is_one_teacher_for_every_chapter():
    """Chapters 4 and 8 share one toy teacher: the same weights from the same seed, frozen, and it knows the
    moons (the chapters' own cells gave 99.x % before they shared it)."""
    t, (pts, lab) = zoo.moons_teacher()
    again, _ = zoo.moons_teacher()
    assert pts.shape == (3000, 2) and lab.shape == (3000,)
    assert all(torch.equal(a, b) for a, b in zip(t.state_dict().values(), again.state_dict().values()))
    assert not t.training and not any(p.requires_grad for p in t.parameters())
    assert kd.evaluate(t, (pts, lab)) > 0.97
    other, _ = zoo.moons_teacher(seed=1)
    assert not torch.equal(next(iter(other.state_dict().values())), next(iter(t.state_dict().values())))
    with pytest.raises(ValueError, match="steps"):
        zoo.moons_teacher(steps=0)
