import shutil

import pytest
import torch

from dfkd_book import data


def test_fashion_mnist_shape_range_labels(fmnist_test):
    x, y = fmnist_test.images, fmnist_test.labels
    assert x.shape == (10_000, 1, 32, 32) and x.dtype == torch.float32
    assert x.min() >= 0 and x.max() <= 1 and x.max() > 0.99
    assert y.dtype == torch.int64 and set(y.unique().tolist()) == set(range(10))
    # 28x28 zero-padded by 2 pixels on every side, as in ZSKD
    assert x[:, :, :2].abs().sum() == 0 and x[:, :, -2:].abs().sum() == 0
    assert x[:, :, :, :2].abs().sum() == 0 and x[:, :, :, -2:].abs().sum() == 0
    assert fmnist_test.classes[0] == "T-shirt/top" and len(fmnist_test.classes) == 10
    assert torch.bincount(y).tolist() == [1000] * 10


def test_train_split_size(fmnist_train):
    assert len(fmnist_train) == 60_000


def test_unknown_name_lists_known():
    with pytest.raises(ValueError, match=r"'svhn'.*fashion-mnist.*mnist.*cifar10"):
        data.load("svhn", "test")


def test_unknown_split():
    with pytest.raises(ValueError, match=r"'valid'.*train.*test"):
        data.load("fashion-mnist", "valid")


def test_aliases():
    assert data.channels("FashionMNIST") == 1 and data.channels("cifar-10") == 3


def _offline(monkeypatch, tmp_path):
    monkeypatch.setenv("DFKD_BOOK_DATA", str(tmp_path / "empty"))
    monkeypatch.setenv("DFKD_BOOK_CACHE", str(tmp_path / "cache"))

    def no_network(spec, root, train):
        raise OSError("network is unreachable")

    monkeypatch.setattr(data, "_download", no_network)


def test_missing_offline_names_every_way(monkeypatch, tmp_path):
    _offline(monkeypatch, tmp_path)
    spec = data.DATASETS["fashion-mnist"]
    monkeypatch.setitem(data.DATASETS, "fashion-mnist",
                        data._Spec(**{**spec.__dict__, "debian_dir": tmp_path / "no-debian"}))
    with pytest.raises(data.DataUnavailableError) as err:
        data.load("fashion-mnist", "test")
    msg = str(err.value)
    assert "DFKD_BOOK_DATA" in msg and "dataset-fashion-mnist" in msg and "torchvision" in msg
    assert "network is unreachable" in msg


def test_mnist_offline_error(monkeypatch, tmp_path):
    _offline(monkeypatch, tmp_path)
    with pytest.raises(data.DataUnavailableError, match="DFKD_BOOK_DATA"):
        data.load("mnist", "test")


@pytest.mark.skipif(not data.DATASETS["fashion-mnist"].debian_dir.is_dir(),
                    reason="Debian package dataset-fashion-mnist not installed")
def test_debian_package_is_decompressed_into_cache(monkeypatch, tmp_path):
    _offline(monkeypatch, tmp_path)
    monkeypatch.delenv("DFKD_BOOK_DATA")
    ds = data.load("fashion-mnist", "test")
    assert len(ds) == 10_000
    raw = tmp_path / "cache" / "data" / "FashionMNIST" / "raw"
    assert (raw / "t10k-images-idx3-ubyte").exists()
    assert not list(raw.glob(".*.tmp-*")), "a temporary file was left behind"


def test_subset_per_class(fmnist_test):
    s = fmnist_test.subset(5, per_class=True)
    assert len(s) == 50 and torch.bincount(s.labels).tolist() == [5] * 10


def test_imageset_validates():
    with pytest.raises(ValueError, match="N, C, H, W"):
        data.ImageSet(torch.zeros(3, 32, 32), torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="labels"):
        data.ImageSet(torch.zeros(3, 1, 32, 32), torch.zeros(2, dtype=torch.long))


@pytest.mark.skipif(not data.DATASETS["fashion-mnist"].debian_dir.is_dir(),
                    reason="Debian package dataset-fashion-mnist not installed")
def test_data_root_with_gzipped_files_only(monkeypatch, tmp_path):
    """$DFKD_BOOK_DATA holding only the gzipped IDX files (as a carried copy would) loads: they are decompressed
    into the cache, not handed to torchvision as they are (which fails with 'Dataset not found')."""
    _offline(monkeypatch, tmp_path)
    gz = tmp_path / "carried" / "FashionMNIST" / "raw"
    gz.mkdir(parents=True)
    for f in data.DATASETS["fashion-mnist"].debian_dir.glob("t10k-*.gz"):
        shutil.copy(f, gz / f.name)
    for f in data.DATASETS["fashion-mnist"].debian_dir.glob("train-*.gz"):
        (gz / f.name).symlink_to(f)
    monkeypatch.setenv("DFKD_BOOK_DATA", str(tmp_path / "carried"))
    monkeypatch.setattr(data, "_from_debian", lambda spec, root: False)  # the carried copy alone
    ds = data.load("fashion-mnist", "test")
    assert len(ds) == 10_000
    assert (tmp_path / "cache" / "data" / "FashionMNIST" / "raw" / "t10k-images-idx3-ubyte").exists()


def test_moons_are_the_toy_of_chapters_4_and_8():
    from dfkd_book.data import moons

    pts, lab = moons(200, seed=1)
    assert pts.shape == (200, 2) and pts.dtype == torch.float32 and set(lab.tolist()) == {0, 1}
    assert torch.allclose(pts.mean(0), torch.zeros(2), atol=1e-5) and torch.allclose(pts.std(0), torch.full((2,), 0.6))
    assert torch.equal(moons(200, seed=1)[0], pts) and pts.abs().max() < 2
    with pytest.raises(ValueError, match="n must be"):
        moons(1)
