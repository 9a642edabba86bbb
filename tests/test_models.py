import pytest
import torch

from dfkd_book import models


@pytest.mark.parametrize("cls, expected", [
    (models.LeNet5, 61_706),       # ZSKD Table 4
    (models.LeNet5Half, 35_820),   # ZSKD Table 4
    (models.LeNet5BN, 62_158),
])
def test_lenet_parameter_counts(cls, expected):
    assert models.count_parameters(cls(in_channels=1, num_classes=10)) == expected


def test_alexnet_parameter_counts():
    # ZSKD Table 5 counted layer by layer; the paper quotes 1.65 M and 723 k (the latter does not follow from
    # its own table — see AlexNetHalf's docstring).
    assert models.count_parameters(models.AlexNet(3, 10)) == 1_659_178
    assert models.count_parameters(models.AlexNetHalf(3, 10)) == 417_434


@pytest.mark.parametrize("arch", sorted(models.ARCHITECTURES))
@pytest.mark.parametrize("channels, k", [(1, 10), (3, 7)])
def test_shapes(arch, channels, k):
    m = models.build(arch, channels, k).eval()
    assert m(torch.rand(4, channels, 32, 32)).shape == (4, k)
    assert models.num_classes(m) == k
    assert isinstance(models.last_linear(m), torch.nn.Linear)


def test_bad_input_shape():
    with pytest.raises(ValueError, match=r"\(N, 1, 32, 32\)"):
        models.LeNet5()(torch.rand(2, 1, 28, 28))
    with pytest.raises(ValueError, match="num_classes"):
        models.LeNet5(num_classes=1)
    with pytest.raises(ValueError, match="lenet5"):
        models.build("resnet", 1, 10)


def test_lenet5bn_has_bn_after_every_hidden_layer():
    m = models.LeNet5BN()
    bns = [mod for mod in m.modules() if isinstance(mod, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d))]
    assert [b.num_features for b in bns] == [6, 16, 120, 84]


def test_last_linear_missing():
    with pytest.raises(ValueError, match="no nn.Linear"):
        models.last_linear(torch.nn.Conv2d(1, 1, 1))


@pytest.mark.parametrize("name", ["zskt", "dfad"])
@pytest.mark.parametrize("shape", [(1, 32, 32), (3, 32, 32), (1, 28, 28), (3, 16, 24)])
def test_generators_shape_and_range(name, shape):
    g = models.GENERATORS[name](shape, nz=16)
    x = g(torch.randn(5, 16))
    assert x.shape == (5, *shape)
    assert x.min() >= 0 and x.max() <= 1


def test_generator_bad_input():
    with pytest.raises(ValueError, match="multiples of 4"):
        models.ZSKTGenerator((1, 30, 30))
    with pytest.raises(ValueError, match="multiples of 4"):
        models.DFADGenerator((32, 32))
    with pytest.raises(ValueError, match=r"z must be \(B, 16\)"):
        models.ZSKTGenerator((1, 32, 32), nz=16)(torch.randn(5, 100))


def test_generator_width():
    narrow, official = models.DFADGenerator(width=32), models.DFADGenerator()
    assert models.count_parameters(narrow) < models.count_parameters(official) / 4
    assert narrow(torch.randn(3, 100)).shape == (3, 1, 32, 32)
    with pytest.raises(ValueError, match="width"):
        models.ZSKTGenerator(width=3)


@pytest.mark.parametrize("cls", [models.ZSKTGenerator, models.DFADGenerator])
def test_generator_depth(cls):
    """depth 2 is the official architecture (its layers and their initial weights unchanged); depth 1 keeps one
    (upsample, conv) stage of width → width / 2 after a projection to H/2 × W/2."""
    torch.manual_seed(0)
    default = cls((1, 32, 32), nz=8, width=8)
    torch.manual_seed(0)
    two = cls((1, 32, 32), nz=8, width=8, depth=2)
    assert all(torch.equal(a, b) for a, b in zip(default.state_dict().values(), two.state_dict().values()))
    one = cls((1, 32, 32), nz=8, width=8, depth=1)
    convs = [m.out_channels for m in one.body if isinstance(m, torch.nn.Conv2d)]
    assert convs == [4, 1] and one.project.out_features == 8 * 16 * 16
    assert one(torch.randn(3, 8)).shape == (3, 1, 32, 32)
    with pytest.raises(ValueError, match="multiples of 8"):
        cls((1, 28, 28), depth=3)
    with pytest.raises(ValueError, match="depth must be a positive int"):
        cls(depth=0)


def test_toy_models_shapes_range_and_errors():
    mlp = models.MLP(2, (8, 8), 3)
    assert mlp(torch.randn(5, 2)).shape == (5, 3)
    with pytest.raises(ValueError, match=r"points \(N, 2\)"):
        mlp(torch.randn(5, 3))
    with pytest.raises(ValueError, match="positive ints"):
        models.MLP(2, (0,), 3)
    gen = models.PointGenerator(nz=4, box=0.5).eval()
    pts = gen(torch.randn(7, 4) * 100)
    assert pts.shape == (7, 2) and pts.abs().max() <= 0.5
    with pytest.raises(ValueError, match=r"z must be \(B, 4\)"):
        gen(torch.randn(7, 3))
    with pytest.raises(ValueError, match="box"):
        models.PointGenerator(box=0)


def test_display_names_cover_every_architecture():
    assert set(models.DISPLAY_NAMES) == set(models.ARCHITECTURES)
    assert models.display_name("lenet5bn") == "LeNet-5-BN" and models.display_name("LeNet-5_Half") == "LeNet-5-Half"
    assert models.display_name("mystery") == "mystery"



def test_saved_weights_do_not_depend_on_the_memory_layout(tmp_path):
    from dfkd_book import zoo

    m = models.build("lenet5half", 1, 10)
    nhwc = models.build("lenet5half", 1, 10).to(memory_format=torch.channels_last)
    nhwc.load_state_dict(m.state_dict())
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()  # torch.save writes the file's name into it
    assert zoo.save_weights(m, tmp_path / "a" / "w.pt") == zoo.save_weights(nhwc, tmp_path / "b" / "w.pt")
