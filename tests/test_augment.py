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
