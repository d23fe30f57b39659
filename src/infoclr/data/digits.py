"""``digits``: scikit-learn's 8×8 handwritten digits, the embedded default data set.

1,797 grey images with values 0–16 (Alpaydin & Kaynak, 1998, UCI "Optical Recognition of
Handwritten Digits"), shipped with scikit-learn, so it needs no download and loads in a few
milliseconds.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from infoclr.data.base import TensorImageData
from infoclr.data.registry import register_dataset

TEST_FRACTION = 0.3
# The split is a property of the data set, not of an experiment: a fixed seed keeps the test
# images the same whatever seed a run trains with.
SPLIT_SEED = 0


def _read_digits() -> tuple[np.ndarray, np.ndarray]:
    """``(values float (1797, 8, 8) in 0..16, labels int64 (1797,))`` from scikit-learn's files.

    Reads ``sklearn/datasets/data/digits.csv.gz`` (64 pixel columns, then the label) directly:
    importing ``sklearn.datasets`` costs about 1 s on a cold start (measured, 2 cores), 100×
    the read itself. Falls back to ``load_digits()`` if a future scikit-learn moves the file.
    """
    spec = importlib.util.find_spec("sklearn")
    if spec is not None and spec.origin is not None:
        csv_path = Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz"
        if csv_path.is_file():
            table = np.loadtxt(csv_path, delimiter=",")
            if table.shape == (1797, 65):
                return table[:, :64].reshape(-1, 8, 8), table[:, 64].astype(np.int64)
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return bunch.images, bunch.target.astype(np.int64)


def stratified_split(labels: np.ndarray, test_fraction: float, seed: int) -> dict[str, np.ndarray]:
    """Sorted train/test indices with ``round(test_fraction * n_c)`` test items per class c."""
    rng = np.random.default_rng(seed)
    test_parts = []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        test_parts.append(members[: int(round(test_fraction * len(members)))])
    is_test = np.zeros(len(labels), dtype=bool)
    is_test[np.concatenate(test_parts)] = True
    return {"train": np.flatnonzero(~is_test), "test": np.flatnonzero(is_test)}


@lru_cache(maxsize=1)
def _digits_split() -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """``(images uint8 (1797, 8, 8), labels int64 (1797,), {"train": idx, "test": idx})``."""
    values, labels = _read_digits()
    # round(v * 255 / 16) maps 0..16 onto the full uint8 range, 16 -> 255.
    images = np.rint(values * (255.0 / 16.0)).astype(np.uint8)
    split_index = stratified_split(labels, TEST_FRACTION, SPLIT_SEED)
    for array in (images, labels, *split_index.values()):
        array.flags.writeable = False  # the cache is shared between calls
    return images, labels, split_index


@register_dataset("digits")
def digits(split: str = "train", root: Path | None = None) -> TensorImageData:
    """The scikit-learn digits, 1 channel, 8×8, 10 classes, uint8 values 0–255.

    A stratified 70/30 train/test split with a fixed seed (30% of each class, rounded, is
    test): 1,258 train and 539 test images.
    ``root`` is ignored (the data ship with scikit-learn).
    """
    images, labels, split_index = _digits_split()
    index = split_index[split]
    data = TensorImageData(
        torch.from_numpy(images[index].copy()).unsqueeze(1),
        name="digits",
        classes=[str(digit) for digit in range(10)],
        labels=labels[index].copy(),
    )
    data.split_note = f"fixed stratified {TEST_FRACTION:g} of the 1,797 images (seed {SPLIT_SEED})"
    return data
