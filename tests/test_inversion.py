import pytest
import torch

from dfkd_book import distill, methods, models, zoo
from dfkd_book.methods import inversion as inv
from dfkd_book.methods import metadata as meta

CPU = torch.device("cpu")


def small_set(n=400, seed=0):
    """Structured 'data' the untrained nets can tell apart: class c is a bright square at position c."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 4
    x = 0.1 * torch.rand(n, 1, 32, 32, generator=g)
    for c in range(4):
        x[y == c, :, 4 + 6 * c:10 + 6 * c, 4 + 6 * c:10 + 6 * c] += 0.8
    return x, y


def test_bn_statistics_loss_is_much_lower_on_real_images_than_on_noise(fmnist_test):
    teacher = zoo.teacher("lenet5bn")
    real = fmnist_test.images[:512]
    noise = torch.rand(512, 1, 32, 32)
    assert inv.bn_statistics_loss(teacher, real).item() * 3 < inv.bn_statistics_loss(teacher, noise).item()


def test_bn_statistics_on_a_teacher_without_bn_points_to_activation_records():
    with pytest.raises(ValueError, match="record_activations"):
        inv.BNStatistics(models.LeNet5())
    with pytest.raises(ValueError, match="activation records"):
        inv.deep_inversion(models.LeNet5(), 4, steps=1, device=CPU, progress=False)
    for method in (methods.BNInversion(4, steps=1), methods.DeepInversion(4, steps=1)):
        with pytest.raises(ValueError, match="record_activations"):  # at preparation, before any synthesis
            distill(models.LeNet5(), models.LeNet5Half(), method, steps=1, device=CPU, progress=False)


def test_bn_hooks_weight_the_first_layer_and_are_removed():
    torch.manual_seed(0)
    m = models.LeNet5(batchnorm=True).eval()
    x = torch.rand(8, 1, 32, 32)
    with inv.BNStatistics(m, first_weight=10.0) as bn:
        m(x)
        per = bn.per_layer()
        assert bn.loss().item() == pytest.approx(10 * per["features.bn1"] + sum(per.values()) - per["features.bn1"],
                                                 rel=1e-5)
    assert all(not mod._forward_hooks for _, mod in inv.batchnorms(m))


def test_spectral_loss_is_zero_for_identical_activations_and_grows_with_a_perturbation():
    torch.manual_seed(0)
    a = torch.rand(4, 6, 14, 14)
    target = {"l": meta.spectrum(a)}
    assert inv.spectral_loss({"l": a}, target).item() == pytest.approx(0.0, abs=1e-10)
    losses = [inv.spectral_loss({"l": a + eps * torch.randn_like(a)}, target).item() for eps in (0.01, 0.1, 1.0)]
    assert 0 < losses[0] < losses[1] < losses[2]
    assert meta.spectrum(torch.roll(a, 3, dims=3)).allclose(meta.spectrum(a), atol=1e-5)  # shift-invariant magnitudes


def records_of(model, layers=("features.pool2", "classifier.relu3", "classifier.fc3")):
    return meta.record_activations(model, small_set(), list(layers), device=CPU)


def test_activation_records_survive_a_save_load_round_trip(tmp_path):
    torch.manual_seed(0)
    m = models.LeNet5(num_classes=4)
    r = records_of(m)
    path = r.save(tmp_path / "records.pt")
    back = meta.ActivationRecords.load(path)
    assert back.layers == r.layers and back.shapes == r.shapes and back.nonnegative == r.nonnegative
    for layer in r.layers:
        assert torch.equal(back.mean[layer], r.mean[layer]) and torch.equal(back.cov[layer], r.cov[layer])
    assert torch.equal(back.counts, r.counts) and back.signature == r.signature
    back.check(m)
    assert not list(tmp_path.glob(".*tmp*"))
    torch.save({"what": 1}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not an activation-records file"):
        meta.ActivationRecords.load(tmp_path / "other.pt")


def test_sampled_activations_reproduce_the_recorded_mean_and_covariance():
    torch.manual_seed(0)
    r = records_of(models.LeNet5(num_classes=4), layers=("classifier.fc3",))  # not ReLU-ed: a plain Gaussian
    assert r.nonnegative["classifier.fc3"] is False
    labels = torch.full((40_000,), 2)
    a = r.sample(labels, torch.Generator().manual_seed(0))["classifier.fc3"]
    mu, cov = r.mean["classifier.fc3"][2], r.cov["classifier.fc3"][2]
    scale = cov.diagonal().sqrt().max()
    assert torch.allclose(a.mean(0), mu, atol=0.05 * scale)
    assert torch.allclose(torch.cov(a.T), cov, atol=0.05 * scale ** 2)


def test_joint_records_keep_the_layers_correlations_and_contain_the_per_layer_ones(tmp_path):
    """Drawn jointly, an image's targets at two layers co-vary as the teacher's activations did; drawn layer by
    layer (Lopes et al. 2017), they are independent."""
    layers = ("classifier.fc2", "classifier.fc3")  # fc3 is a function of fc2: strongly correlated, no ReLU
    torch.manual_seed(0)
    m = models.LeNet5(num_classes=4)
    r = meta.record_activations(m, small_set(), list(layers), device=CPU)
    rj = meta.record_activations(m, small_set(), list(layers), device=CPU, joint=True)
    d2 = r.mean["classifier.fc2"].shape[1]
    assert rj.joint["cov"].shape == (4, d2 + 4, d2 + 4)
    for layer in layers:  # the per-layer statistics are the same either way, and the joint ones contain them
        assert torch.equal(rj.mean[layer], r.mean[layer]) and torch.equal(rj.cov[layer], r.cov[layer])
    assert torch.allclose(rj.joint["cov"][:, :d2, :d2], r.cov["classifier.fc2"], atol=1e-5)
    assert torch.allclose(rj.joint["mean"][:, d2:], r.mean["classifier.fc3"], atol=1e-5)
    labels = torch.full((20_000,), 1)
    cross = rj.joint["cov"][1, :d2, d2:]
    scale = cross.abs().max()
    for sample, want in ((rj.sample(labels, torch.Generator().manual_seed(0)), cross),
                         (rj.sample(labels, torch.Generator().manual_seed(0), joint=False), torch.zeros_like(cross))):
        a, b = sample["classifier.fc2"], sample["classifier.fc3"]
        got = (a - a.mean(0)).T @ (b - b.mean(0)) / len(a)
        assert (got - want).abs().max() < 0.1 * scale, (got - want).abs().max() / scale
    back = meta.ActivationRecords.load(rj.save(tmp_path / "joint.pt"))
    assert torch.equal(back.joint["cov"], rj.joint["cov"]) and back.nbytes() > r.nbytes()
    with pytest.raises(ValueError, match=r"no joint statistics: record them with "
                                         r"record_activations\(\.\.\., joint=True\)"):
        r.sample(labels[:2], joint=True)


def test_sampled_activations_of_relu_layers_are_relued():
    torch.manual_seed(0)
    r = records_of(models.LeNet5(num_classes=4), layers=("classifier.relu3",))
    assert r.nonnegative["classifier.relu3"] is True
    assert (r.sample(torch.arange(4).repeat(50))["classifier.relu3"] >= 0).all()


def test_records_check_layers_and_architecture():
    torch.manual_seed(0)
    with pytest.raises(ValueError, match="no layer"):
        records_of(models.LeNet5(num_classes=4), layers=("features.nope",))
    r = records_of(models.LeNet5(num_classes=4))
    with pytest.raises(ValueError, match="made for a LeNet5, not this LeNet5Half"):
        inv.activation_inversion(models.LeNet5Half(num_classes=4), r, 4, steps=1, device=CPU, progress=False)
    with pytest.raises(ValueError, match="made for a LeNet5"):
        r.check(models.LeNet5(num_classes=10))
    s = meta.record_spectra(models.LeNet5(num_classes=4), small_set(), ["features.relu1"], device=CPU)
    with pytest.raises(ValueError, match="not this LeNet5Half"):
        inv.spectral_inversion(models.LeNet5Half(num_classes=4), s, 4, steps=1, device=CPU, progress=False)
    # the methods check their records against the loop's teacher, and their type
    with pytest.raises(ValueError, match="not this LeNet5Half"):
        distill(models.LeNet5Half(num_classes=4), models.LeNet5Half(num_classes=4),
                methods.ActivationInversion(r, 4, steps=1), steps=1, device=CPU, progress=False)
    with pytest.raises(TypeError, match="SpectralRecords"):
        methods.SpectralInversion(r, 4)


@pytest.mark.parametrize("method", ["bn", "deepinversion", "activations", "spectral"])
def test_every_method_lowers_its_objective_and_stays_in_range(method):
    torch.manual_seed(0)
    kw = dict(steps=30, batch_size=8, device=CPU, progress=False, seed=0)
    if method in ("bn", "deepinversion"):
        t = models.LeNet5(num_classes=4, batchnorm=True)
        x, y = small_set()
        t.train()
        with torch.no_grad():
            for _ in range(5):
                t(x)  # running statistics of the 'data'
        t.eval()
        out = (inv.bn_inversion(t, 12, **kw) if method == "bn"
               else inv.deep_inversion(t, 12, student=models.LeNet5Half(num_classes=4), competition_weight=1.0, **kw))
    elif method == "activations":
        t = models.LeNet5(num_classes=4)
        out = inv.activation_inversion(t, records_of(t), 12, lr=0.05, **kw)
    else:
        t = models.LeNet5(num_classes=4)
        out = inv.spectral_inversion(t, meta.record_spectra(t, small_set(), ["features.relu1", "features.relu2"],
                                                           device=CPU), 12, **kw)
    assert out.images.shape == (12, 1, 32, 32) and out.images.min() >= 0 and out.images.max() <= 1
    assert out.curve[-1][1] < out.curve[0][1], out.curve
    assert len(out.labels) == 12


def test_invert_rejects_bad_input():
    t = models.LeNet5(num_classes=4)
    obj = lambda view, logits, y, b: logits.sum()  # noqa: E731
    with pytest.raises(ValueError, match="n must be a positive int"):
        inv.invert(t, 0, (1, 32, 32), obj, device=CPU)
    with pytest.raises(ValueError, match="lr must be > 0"):
        inv.invert(t, 2, (1, 32, 32), obj, lr=0, device=CPU)
    with pytest.raises(ValueError, match="labels must be"):
        inv.invert(t, 2, (1, 32, 32), obj, labels=torch.tensor([0, 7]), device=CPU)


def test_adaptive_deepinversion_in_rounds_competes_with_the_student_in_training(monkeypatch):
    """rounds=3 over 6 student steps: 10 images made 4 + 3 + 3 at steps 0, 2, 4, each round against a frozen copy
    of the student of that moment; the transfer set grows and the student trains on it."""
    torch.manual_seed(0)
    teacher = models.LeNet5BN(num_classes=4)
    teacher.train()
    with torch.no_grad():
        teacher(small_set(64)[0])
    teacher.eval()
    made = []
    real = inv.deep_inversion

    def spy(t, n, shape=None, **kw):
        made.append((n, kw["seed"], [p.detach().clone() for p in kw["student"].parameters()]))
        return real(t, n, shape, **kw)

    monkeypatch.setattr(inv, "deep_inversion", spy)
    m = methods.DeepInversion(10, steps=2, competition_weight=1.0, rounds=3)
    sizes = []
    orig = m.batch
    m.batch = lambda b: (sizes.append(len(m.pool)), orig(b))[1]
    r = distill(teacher, models.LeNet5Half(num_classes=4), m, steps=6, batch_size=4, device=CPU, progress=False,
                seed=5)
    assert [(n, seed) for n, seed, _ in made] == [(4, 5), (3, 6), (3, 7)]
    assert sizes == [4, 4, 7, 7, 10, 10] and len(r.method.inversion) == 10 and r.method.synthetic == 10
    assert not all(torch.equal(a, b) for a, b in zip(made[0][2], made[2][2]))  # the competitor trained between
    assert m.settings()["rounds"] == 3 and m.seconds > 0
    with pytest.raises(ValueError, match=r"rounds must be an int in \[1, n=4\], got 5"):
        methods.DeepInversion(4, rounds=5)
