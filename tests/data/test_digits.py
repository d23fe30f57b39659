"""The embedded ``digits`` set against scikit-learn's own loader."""

from __future__ import annotations

from collections import Counter

import numpy as np
import torch
from sklearn.datasets import load_digits

from infoclr.data import load_dataset
from infoclr.data.digits import _digits_split


def _reference_pairs() -> Counter[tuple[bytes, int]]:
    """Each digit converted with the formula, written as a plain loop, as (pixels, label)."""
    bunch = load_digits()
    pairs: Counter[tuple[bytes, int]] = Counter()
    for values, label in zip(bunch.images, bunch.target, strict=True):
        pixels = bytes(int(round(float(v) * 255 / 16)) for v in values.reshape(-1))
        pairs[(pixels, int(label))] += 1
    return pairs


def test_shapes_dtype_and_range() -> None:
    train = load_dataset("digits", split="train")
    test = load_dataset("digits", split="test")
    assert (train.channels, train.image_size, len(train.classes)) == (1, 8, 10)
    for data in (train, test):
        images = data.tensors()
        assert images.dtype == torch.uint8 and images.shape[1:] == (1, 8, 8)
        assert data.labels.dtype == np.int64 and data.labels.shape == (len(data),)
        assert data[0][0].shape == (1, 8, 8)
    both = torch.cat([train.tensors(), test.tensors()])
    assert int(both.min()) == 0 and int(both.max()) == 255


def test_split_sizes_cover_every_image_once_with_the_right_pixels() -> None:
    train = load_dataset("digits", split="train")
    test = load_dataset("digits", split="test")
    assert len(train) + len(test) == 1797
    assert abs(len(test) - 0.3 * 1797) <= 5
    loaded: Counter[tuple[bytes, int]] = Counter()
    for data in (train, test):
        for image, label in zip(data.tensors(), data.labels, strict=True):
            loaded[(image.numpy().tobytes(), int(label))] += 1
    assert loaded == _reference_pairs()


def test_split_is_stratified() -> None:
    train = load_dataset("digits", split="train")
    test = load_dataset("digits", split="test")
    for label in range(10):
        in_test = int((test.labels == label).sum())
        in_class = in_test + int((train.labels == label).sum())
        assert in_test == round(0.3 * in_class), label


def test_split_is_deterministic_and_ignores_the_run_seed() -> None:
    first = load_dataset("digits", split="test", seed=0)
    _digits_split.cache_clear()
    again = load_dataset("digits", split="test", seed=123)
    assert torch.equal(first.tensors(), again.tensors())
    assert np.array_equal(first.labels, again.labels)


def test_loaded_sets_do_not_share_writable_memory() -> None:
    first = load_dataset("digits")
    first.tensors()[0].fill_(7)
    assert not torch.equal(load_dataset("digits").tensors()[0], first.tensors()[0])


def test_loads_from_a_cold_cache() -> None:
    # (How fast is measured in benchmarks/, never in a test.)
    _digits_split.cache_clear()
    assert len(load_dataset("digits", split="train")) + len(load_dataset("digits", "test")) == 1797
