import pytest
import torch

from dfkd_book.augment import FlipShift


def test_flipshift_shape_range_and_per_sample():
    torch.manual_seed(0)
    x = torch.rand(64, 1, 32, 32)
    y = FlipShift(2)(x)
    assert y.shape == x.shape and y.min() >= 0 and y.max() <= 1
    changed = [(not torch.equal(a, b)) for a, b in zip(x, y)]
    assert 0 < sum(changed) < 64 or sum(changed) == 64  # most samples move
    # independent parameters per sample: the same image repeated gets different augmentations
    same = x[:1].repeat(32, 1, 1, 1)
    out = FlipShift(2)(same)
    assert len({tuple(o.flatten()[:200].tolist()) for o in out}) > 5


def test_flipshift_shift_is_exact_translation():
    x = torch.zeros(1, 1, 8, 8)
    x[0, 0, 4, 4] = 1.0
    torch.manual_seed(1)
    y = FlipShift(2, flip=False)(x)
    assert y.sum() == 1.0 or y.sum() == 0.0  # a translated copy of the single pixel (never blurred)
    assert y.nonzero().shape[0] <= 1


def test_identity_without_flip_or_shift():
    x = torch.rand(4, 3, 32, 32)
    assert torch.equal(FlipShift(0, flip=False)(x), x)


def test_bad_input():
    with pytest.raises(ValueError, match="B, C, H, W"):
        FlipShift()(torch.rand(3, 32, 32))
    with pytest.raises(ValueError, match="max_shift"):
        FlipShift(-1)


def test_zskd_augmentation_shape_range_per_sample_and_identity():
    from dfkd_book.augment import ZSKDAugmentation

    torch.manual_seed(0)
    x = torch.rand(64, 1, 32, 32)
    aug = ZSKDAugmentation(p=1.0, gaussian_std=0.1, salt_pepper=0.05)
    y = aug(x)
    assert y.shape == x.shape and y.min() >= 0 and y.max() <= 1
    same = x[:1].repeat(16, 1, 1, 1)
    out = ZSKDAugmentation(p=1.0)(same)
    assert len({tuple(o.flatten().tolist()) for o in out}) == 16  # independent parameters per sample
    # p = 0 and no flips: the identity
    assert torch.equal(ZSKDAugmentation(p=0.0, p_flip=0.0)(x), x)
    # p = 0.5: about half the samples untouched
    torch.manual_seed(1)
    z = ZSKDAugmentation(p=0.5, p_flip=0.0)(torch.rand(400, 1, 32, 32))
    assert z.shape == (400, 1, 32, 32)


def test_zskd_augmentation_geometry_moves_mass_noise_free():
    from dfkd_book.augment import ZSKDAugmentation

    x = torch.zeros(32, 1, 32, 32)
    x[:, :, 12:20, 12:20] = 1.0
    torch.manual_seed(0)
    y = ZSKDAugmentation(p=1.0, p_flip=0.0)(x)
    assert (y - x).abs().sum((1, 2, 3)).gt(1).float().mean() > 0.9  # nearly every sample transformed
    assert y.sum((1, 2, 3)).max() <= x.sum((1, 2, 3)).max() * 1.05  # scale <= 1 never enlarges the square


def test_zskd_augmentation_bad_arguments():
    from dfkd_book.augment import ZSKDAugmentation

    with pytest.raises(ValueError, match="p must"):
        ZSKDAugmentation(p=1.5)
    with pytest.raises(ValueError, match="scale"):
        ZSKDAugmentation(scale=(0.0, 1.0))
    with pytest.raises(ValueError, match="B, C, H, W"):
        ZSKDAugmentation()(torch.rand(32, 32))


def test_jittered_view_is_a_moved_copy_and_checks_jitter():
    from dfkd_book.augment import jittered_view

    torch.manual_seed(0)
    x = torch.rand(3, 1, 8, 8)
    before = x.clone()
    views = [jittered_view(x, 2) for _ in range(20)]
    assert torch.equal(x, before)  # the original is never moved
    assert any(not torch.equal(v, x) for v in views)
    for v in views:  # a circular shift (and maybe a flip) keeps every pixel value
        assert torch.equal(v.flatten(1).sort(1).values, x.flatten(1).sort(1).values)
    assert torch.equal(jittered_view(x, 0, flip=False), x)
    with pytest.raises(ValueError, match="jitter"):
        jittered_view(x, -1)


def test_zskd_augmentation_composes_flips_and_transpose_exactly():
    """Flips and the transpose are pixel permutations: one grid_sample reproduces them exactly."""
    from dfkd_book.augment import ZSKDAugmentation

    x = torch.zeros(1, 1, 8, 8)
    x[0, 0, 1, 2] = 1.0
    y = ZSKDAugmentation(p=0.0, p_flip=1.0, transpose=False)(x)  # both flips: (r, c) -> (7 - r, 7 - c)
    assert y[0, 0].nonzero().tolist() == [[6, 5]] and y.sum() == pytest.approx(1.0)
    y = ZSKDAugmentation(p=0.0, p_flip=1.0, transpose=True)(x)  # then the transpose: (6, 5) -> (5, 6)
    assert y[0, 0].nonzero().tolist() == [[5, 6]]
    z = torch.rand(4, 3, 8, 8)
    assert torch.equal(ZSKDAugmentation(p=0.0, p_flip=1.0)(z).flatten(1).sort(1).values,
                       z.flatten(1).sort(1).values)  # a permutation of the pixels: no blur


def test_zskd_augmentation_scale_and_rotation():
    """A pure scale s shrinks a centred square's mass by s²; a pure rotation by ±90° keeps it."""
    from dfkd_book.augment import ZSKDAugmentation

    x = torch.zeros(8, 1, 32, 32)
    x[:, :, 8:24, 8:24] = 1.0
    y = ZSKDAugmentation(p=1.0, scale=(0.5, 0.5), translate=0.0, degrees=0.0, p_flip=0.0)(x)
    assert torch.allclose(y.sum((1, 2, 3)), x.sum((1, 2, 3)) * 0.25, rtol=0.05)
    theta, moved = ZSKDAugmentation(p=1.0, scale=(1.0, 1.0), translate=0.0, degrees=90.0, p_flip=0.0).matrices(
        64, 32, 32)
    assert moved.all() and torch.allclose(theta[:, :, :2].det(), torch.ones(64), atol=1e-5)  # rotations
    assert torch.allclose(theta[:, :, 2], torch.zeros(64, 2))


# ------------------------------------------------------------------------- mixup, CutMix and Compose (issue 46)
def _constant_images(b: int, size: int = 8) -> torch.Tensor:
    """Image i filled with (i + 1) / (b + 1): a pixel's value names the image it came from."""
    return ((torch.arange(b, dtype=torch.float32) + 1) / (b + 1))[:, None, None, None].expand(b, 1, size, size).clone()


def test_mixup_is_a_convex_mix_with_a_partner_from_the_batch():
    from dfkd_book.augment import MixUp

    x = _constant_images(16)
    values = x[:, 0, 0, 0]
    torch.manual_seed(0)
    y = MixUp(lambda_range=(0.5, 0.5))(x)  # λ = 1/2: each output is the mean of its image and a partner
    assert y.shape == x.shape and torch.allclose(y, y[:, :, :1, :1].expand_as(y))  # constant images stay constant
    partner = 2 * y[:, 0, 0, 0] - values
    assert all(torch.isclose(partner[i], values, atol=1e-5).any() for i in range(16))  # a partner of the batch
    torch.manual_seed(1)
    y = MixUp()(torch.rand(64, 3, 8, 8))
    assert y.min() >= 0 and y.max() <= 1
    assert torch.equal(MixUp()(x[:1]), x[:1]) and torch.equal(MixUp(p=0.0)(x), x)  # nothing to mix with / off
    same = torch.rand(1, 1, 8, 8).expand(8, 1, 8, 8)
    assert torch.allclose(MixUp()(same), same)  # mixing an image with itself changes nothing


def test_mixup_and_cutmix_mix_a_fraction_p_of_the_samples_and_follow_the_seed():
    from dfkd_book.augment import CutMix, MixUp

    x = _constant_images(400)
    for aug in (MixUp(p=0.5, lambda_range=(0.2, 0.8)), CutMix(p=0.5)):
        torch.manual_seed(3)
        y = aug(x)
        moved = (y != x).flatten(1).any(1).float().mean().item()
        assert 0.38 < moved < 0.62, (aug, moved)
        torch.manual_seed(3)
        assert torch.equal(aug(x), y)  # kornia draws from torch's generator: seeded runs repeat


def test_cutmix_pastes_one_box_of_a_partner():
    from dfkd_book.augment import CutMix

    x = _constant_images(32, size=16)
    values = x[:, 0, 0, 0]
    torch.manual_seed(0)
    y = CutMix()(x)
    assert y.shape == x.shape
    for i in range(32):
        changed = y[i, 0] != values[i]
        if not changed.any():
            continue  # paired with itself, or an empty box
        pasted = y[i, 0][changed].unique()
        assert len(pasted) == 1 and torch.isclose(pasted, values, atol=1e-6).any()  # one partner's pixels
        rows, cols = changed.nonzero().unbind(1)
        box = changed[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
        assert box.all() and int(changed.sum()) == box.numel()  # a filled rectangle


def test_compose_applies_in_order_and_skips_none():
    from dfkd_book.augment import Compose, FlipShift, MixUp, ZSKDAugmentation

    x = torch.rand(4, 1, 8, 8)
    c = Compose(lambda b: b + 1, None, lambda b: b * 2)
    assert torch.equal(c(x), (x + 1) * 2) and len(c.augments) == 2
    assert "MixUp" in repr(Compose(ZSKDAugmentation(p=0.5), MixUp(p=0.5)))
    y = Compose(ZSKDAugmentation(p=0.5), MixUp(p=0.5))(torch.rand(32, 1, 16, 16))
    assert y.shape == (32, 1, 16, 16) and 0 <= y.min() and y.max() <= 1
    with pytest.raises(TypeError, match="callables"):
        Compose(FlipShift(), 3)
    with pytest.raises(ValueError, match="at least one"):
        Compose(None)
    with pytest.raises(ValueError, match="B, C, H, W"):
        c(torch.rand(8, 8))


def test_mix_augmentations_check_their_arguments():
    from dfkd_book.augment import CutMix, MixUp

    for bad in (dict(p=1.5), dict(p=-0.1), dict(lambda_range=(0.6, 0.4)), dict(lambda_range=(0.0, 1.2))):
        with pytest.raises(ValueError):
            MixUp(**bad)
    for bad in (dict(p=2), dict(beta=0.0), dict(beta=-1)):
        with pytest.raises(ValueError):
            CutMix(**bad)
    with pytest.raises(ValueError, match="B, C, H, W"):
        CutMix()(torch.rand(3, 8, 8))
