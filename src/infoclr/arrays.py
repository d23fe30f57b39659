"""Array inputs: the checks shared by evaluation and clustering.

Every evaluation entry point (and faiss k-means) takes features as a numpy array or a torch
tensor (on any device) and labels as integers. These helpers turn them into contiguous CPU numpy
arrays (what faiss and scikit-learn want) and raise :class:`~infoclr.errors.DataError` with a
one-line message for the mistakes a user can make: wrong rank, empty input, NaN/inf rows,
mismatched lengths, labels that are not non-negative integers.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from infoclr.errors import DataError

ArrayLike = Any  # np.ndarray | torch.Tensor | a nested sequence of numbers

# How many offending row indices an error message lists before it says "and N more".
_MAX_ROWS_LISTED = 10


def to_numpy(values: ArrayLike) -> np.ndarray:
    """Any array-like (numpy, torch on any device, nested lists) as a numpy array."""
    if isinstance(values, torch.Tensor):
        values = values.detach()
        # numpy has no bfloat16; half precision is widened too so that sums do not overflow.
        if values.is_floating_point() and values.dtype != torch.float64:
            values = values.float()
        return values.cpu().numpy()
    return np.asarray(values)


def _list_rows(rows: np.ndarray) -> str:
    shown = ", ".join(str(int(row)) for row in rows[:_MAX_ROWS_LISTED])
    more = len(rows) - _MAX_ROWS_LISTED
    return f"[{shown}{f', ... and {more} more' if more > 0 else ''}]"


def float32_rows(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A 2-D array as C-contiguous float32, and the indices of its rows that hold NaN or inf."""
    matrix = np.ascontiguousarray(matrix, dtype=np.float32)
    return matrix, np.flatnonzero(~np.isfinite(matrix).all(axis=1))


def as_feature_matrix(features: ArrayLike, name: str = "features") -> np.ndarray:
    """Check and convert features to a C-contiguous float32 numpy array of shape (N, D).

    Raises:
        DataError: if the input is not 2-D, has no rows or no columns, or holds NaN/inf (the
            message lists the offending row indices).
    """
    matrix = to_numpy(features)
    if matrix.ndim != 2:
        raise DataError(
            f"{name} must be a 2-D array (N, D), got shape {tuple(matrix.shape)}; "
            "flatten per-sample features to one row each"
        )
    if matrix.shape[0] == 0 or matrix.shape[1] == 0:
        raise DataError(f"{name} is empty (shape {tuple(matrix.shape)}); pass at least one row")
    if not (np.issubdtype(matrix.dtype, np.floating) or np.issubdtype(matrix.dtype, np.integer)):
        raise DataError(f"{name} must be numeric, got dtype {matrix.dtype}")
    matrix, bad_rows = float32_rows(matrix)
    if len(bad_rows):
        raise DataError(
            f"{name} has NaN or inf in {len(bad_rows)} row(s) {_list_rows(bad_rows)}; "
            "drop or fix those rows (a diverged model often produces them)"
        )
    return matrix


def as_label_vector(
    labels: ArrayLike, num_rows: int, name: str = "labels", features_name: str = "features"
) -> np.ndarray:
    """Check and convert integer class labels to an int64 numpy array of shape (N,).

    Float labels are accepted when every value is a whole number (as pandas often loads them).

    Raises:
        DataError: if the labels are not 1-D, their count differs from ``num_rows``, or they
            are not non-negative integers.
    """
    vector = to_numpy(labels)
    if vector.ndim != 1:
        raise DataError(f"{name} must be a 1-D array (N,), got shape {tuple(vector.shape)}")
    if len(vector) != num_rows:
        raise DataError(
            f"{name} has {len(vector)} entries but {features_name} has {num_rows} rows; "
            "pass one label per feature row"
        )
    if np.issubdtype(vector.dtype, np.floating):
        if not (np.isfinite(vector).all() and (vector == np.round(vector)).all()):
            raise DataError(f"{name} must be whole numbers (class ids), got non-integer values")
    elif not (np.issubdtype(vector.dtype, np.integer) or vector.dtype == np.bool_):
        raise DataError(f"{name} must be integer class ids, got dtype {vector.dtype}")
    vector = vector.astype(np.int64)
    if vector.size and vector.min() < 0:
        bad_rows = np.flatnonzero(vector < 0)
        raise DataError(
            f"{name} has negative class ids in row(s) {_list_rows(bad_rows)}; "
            "renumber classes to 0..C-1"
        )
    return vector


def as_labelled_features(
    features: ArrayLike, labels: ArrayLike, split: str = ""
) -> tuple[np.ndarray, np.ndarray]:
    """Checked ``(features (N, D) float32, labels (N,) int64)`` of one split.

    ``split`` (e.g. ``"train"``) prefixes the names in error messages: ``train_features``.
    """
    prefix = f"{split}_" if split else ""
    matrix = as_feature_matrix(features, f"{prefix}features")
    class_ids = as_label_vector(
        labels, len(matrix), f"{prefix}labels", features_name=f"{prefix}features"
    )
    return matrix, class_ids


def check_same_width(
    first: np.ndarray, second: np.ndarray, first_name: str, second_name: str
) -> None:
    """Raise DataError unless two feature matrices have the same number of columns."""
    if first.shape[1] != second.shape[1]:
        raise DataError(
            f"{first_name} has {first.shape[1]} columns but {second_name} has "
            f"{second.shape[1]}; both must come from the same encoder"
        )


def l2_normalize_rows(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (float32); all-zero rows stay zero instead of becoming NaN."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.ascontiguousarray(matrix / np.maximum(norms, 1e-12), dtype=np.float32)
