import matplotlib
import pytest

matplotlib.use("Agg")


@pytest.fixture(scope="session")
def fmnist_test():
    from dfkd_book import data

    return data.load("fashion-mnist", "test")


@pytest.fixture(scope="session")
def fmnist_train():
    from dfkd_book import data

    return data.load("fashion-mnist", "train")
