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


@pytest.fixture(scope="module")
def one_thread():
    """One intra-op thread for a module of tiny models: on a shared 2-core machine two threads contending with other
    jobs made a 30-step training 10x slower than one. Restored afterwards. A module asks for it with
    ``pytestmark = pytest.mark.usefixtures("one_thread")``."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
