"""Cosine-weighted k-nearest-neighbour classification of frozen features.

The weighted vote of Wu, Xiong, Yu, Lin, "Unsupervised Feature Learning via Non-Parametric
Instance Discrimination" (CVPR 2018), section 3.4, which InstDisc, MoCo, SimCLR reproductions and
solo-learn use to track representation quality: the k training rows of highest cosine
similarity ``s_i`` to a query each vote for their class with weight ``exp(s_i / T)``; the class
with the largest summed weight wins. Usual defaults are k = 200 and T = 0.1.

Neighbours come from an exact faiss ``IndexFlatIP`` over L2-normalised rows (inner product =
cosine similarity). Measured for 50k train x 10k query x 512-d, k = 200: 2.9-3.0 s on an idle
16-core machine; 14.5-21 s on 2 cores shared with busy processes (11-12 s with
``OMP_WAIT_POLICY=PASSIVE``), where a chunked torch matmul + topk took about the same (15 s).
"""

from __future__ import annotations

import faiss
import numpy as np

from infoclr.arrays import (
    ArrayLike,
    as_feature_matrix,
    as_labelled_features,
    check_same_width,
    l2_normalize_rows,
)
from infoclr.errors import ConfigError, DataError


def _check_knn_arguments(k: int, temperature: float) -> None:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ConfigError(f"k must be an integer >= 1, got {k!r}")
    if not (np.isfinite(temperature) and temperature > 0):
        raise ConfigError(f"temperature must be a positive number, got {temperature!r}")


def knn_predict(
    train_features: ArrayLike,
    train_labels: ArrayLike,
    query_features: ArrayLike,
    k: int = 200,
    temperature: float = 0.1,
    num_classes: int | None = None,
    exclude_self: bool = False,
) -> np.ndarray:
    """Predict a class for every query row by a cosine-weighted vote of its k nearest neighbours.

    Args:
        train_features: (N_train, D) features of the labelled rows (numpy or torch, any device).
        train_labels: (N_train,) integer class ids in ``[0, num_classes)``.
        query_features: (N_query, D) features to classify.
        k: neighbours per query; clamped to the number of training rows available.
        temperature: T in the vote weight ``exp(cos / T)``; smaller T trusts the closest
            neighbours more.
        num_classes: C; defaults to ``max(train_labels) + 1``.
        exclude_self: leave-one-out mode for ``query_features`` being the training rows
            themselves (row i of the query is row i of the training set). Each query's own row
            is dropped from its neighbours, so a row never votes for itself.

    Returns:
        (N_query,) int64 predicted class ids. Ties between classes go to the lowest class id.

    Raises:
        ConfigError: for k < 1, temperature <= 0, num_classes too small, or ``exclude_self``
            with a query set that is not the training set.
        DataError: for empty, non-finite or mismatched inputs.
    """
    _check_knn_arguments(k, temperature)
    train_matrix, train_ids = as_labelled_features(train_features, train_labels, "train")
    query_matrix = as_feature_matrix(query_features, "query_features")
    check_same_width(train_matrix, query_matrix, "train_features", "query_features")

    num_labelled_classes = int(train_ids.max()) + 1
    if num_classes is None:
        num_classes = num_labelled_classes
    elif num_classes < num_labelled_classes:
        raise ConfigError(
            f"num_classes={num_classes} but train_labels go up to {num_labelled_classes - 1}; "
            "raise num_classes or leave it as None"
        )

    num_train, num_query = len(train_matrix), len(query_matrix)
    if exclude_self and num_query != num_train:
        raise ConfigError(
            f"exclude_self=True needs the query set to be the training set, but it has "
            f"{num_query} rows against {num_train}; pass exclude_self=False for a separate split"
        )
    available_neighbours = num_train - 1 if exclude_self else num_train
    if available_neighbours < 1:
        raise DataError("exclude_self=True with a single training row leaves no neighbours")
    num_neighbours = min(int(k), available_neighbours)

    similarities, neighbour_rows = _neighbours(
        train_matrix, query_matrix, num_neighbours, exclude_self
    )
    # Shifting by the row maximum leaves each query's argmax unchanged and keeps exp() finite
    # for small temperatures.
    weights = np.exp(
        (similarities - similarities.max(axis=1, keepdims=True)).astype(np.float64) / temperature
    )
    neighbour_classes = train_ids[neighbour_rows]
    # Per-class sums of weights via one bincount over (query, class) cells.
    cells = np.arange(num_query)[:, None] * num_classes + neighbour_classes
    class_scores = np.bincount(
        cells.ravel(), weights=weights.ravel(), minlength=num_query * num_classes
    ).reshape(num_query, num_classes)
    return class_scores.argmax(axis=1).astype(np.int64)


def _neighbours(
    train_matrix: np.ndarray, query_matrix: np.ndarray, num_neighbours: int, exclude_self: bool
) -> tuple[np.ndarray, np.ndarray]:
    """(similarities, rows), both (N_query, num_neighbours): the cosine nearest training rows
    of each query, without the query's own row when ``exclude_self``."""
    num_query = len(query_matrix)
    index = faiss.IndexFlatIP(train_matrix.shape[1])
    index.add(l2_normalize_rows(train_matrix))
    searched = num_neighbours + 1 if exclude_self else num_neighbours
    similarities, neighbour_rows = index.search(l2_normalize_rows(query_matrix), searched)
    if exclude_self:
        # Drop the query's own row. Exact duplicates can push it out of the k + 1 results;
        # then the farthest neighbour is dropped instead, to keep k per query.
        is_self = neighbour_rows == np.arange(num_query)[:, None]
        no_self_found = ~is_self.any(axis=1)
        is_self[no_self_found, -1] = True
        keep = ~is_self
        similarities = similarities[keep].reshape(num_query, num_neighbours)
        neighbour_rows = neighbour_rows[keep].reshape(num_query, num_neighbours)
    return similarities, neighbour_rows


def knn_top1(
    train_features: ArrayLike,
    train_labels: ArrayLike,
    test_features: ArrayLike,
    test_labels: ArrayLike,
    k: int = 200,
    temperature: float = 0.1,
) -> float:
    """Top-1 accuracy in [0, 1] of :func:`knn_predict` on a labelled test split.

    Args:
        train_features: (N_train, D); train_labels: (N_train,) integer class ids.
        test_features: (N_test, D); test_labels: (N_test,) integer class ids.
        k, temperature: as in :func:`knn_predict` (Wu et al. 2018 defaults k = 200, T = 0.1).
    """
    train_matrix, train_ids = as_labelled_features(train_features, train_labels, "train")
    test_matrix, test_ids = as_labelled_features(test_features, test_labels, "test")
    # Test-only classes widen the vote table; they can never be predicted, only missed.
    num_classes = int(max(train_ids.max(), test_ids.max())) + 1
    predictions = knn_predict(
        train_matrix,
        train_ids,
        test_matrix,
        k=k,
        temperature=temperature,
        num_classes=num_classes,
    )
    return float((predictions == test_ids).mean())
