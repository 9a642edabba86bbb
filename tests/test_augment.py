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
