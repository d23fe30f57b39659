"""Scores that compare two sets of vectors for the same rows: linear probe and k-NN top-1.

:func:`probe_scores` is what refinement selection and its before/after report compute on
original and refined vectors; :func:`probe_correctness` gives the same probes row by row, for
the guard's paired comparison. Both scores must mean the same for vectors of any scale, so the
linear probe sees the features divided by one scalar (the mean training-row norm) instead of
standardised per dimension: the regularisation then has the same strength for the original
and the refined vectors while their geometry is untouched.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from infoclr.evaluation.knn import knn_predict
from infoclr.evaluation.linear import LinearProbeResult, linear_probe

__all__ = ["probe_correctness", "probe_scores"]


def scaled_linear_probe(
    train_features: np.ndarray,
    train_codes: np.ndarray,
    test_features: np.ndarray,
    test_codes: np.ndarray,
) -> LinearProbeResult:
    """The refine probe: L-BFGS logistic regression (100 iterations, weight decay 1/N) on rows
    divided by the mean training-row norm; returns the
    :class:`~infoclr.evaluation.linear.LinearProbeResult`."""

    scale = float(max(np.linalg.norm(train_features, axis=1).mean(), 1e-12))
    return linear_probe(
        train_features / scale,
        train_codes,
        test_features / scale,
        test_codes,
        epochs=100,
        weight_decay=1.0 / len(train_features),
        standardize=False,
    )


def probe_correctness(
    train_features: np.ndarray,
    train_codes: np.ndarray,
    test_features: np.ndarray,
    test_codes: np.ndarray,
    knn_k: int = 200,
    knn_temperature: float = 0.1,
    linear: bool = True,
    knn: bool = True,
) -> dict[str, np.ndarray]:
    """Per test row, whether each probe is right (1.0) or wrong (0.0): what the guard compares
    row by row (:mod:`infoclr.evaluation.guard`).

    * Linear probe: multinomial logistic regression with scikit-learn's default strength
      (C = 1, i.e. ``weight_decay = 1 / N_train``; full-batch L-BFGS,
      :func:`infoclr.evaluation.linear.linear_probe`) on features divided by the mean
      training-row norm (see the module docstring).
    * k-NN: cosine-weighted vote, k = 200, T = 0.1 (Wu et al. 2018;
      :func:`infoclr.evaluation.knn.knn_predict`).

    Returns:
        ``{"linear_top1", "knn_top1"}`` (the ones asked for), plus ``mean_top1`` (their mean:
        0, 0.5 or 1) when both are: (N_test,) float arrays.
    """
    train_codes = np.asarray(train_codes, dtype=np.int64)
    test_codes = np.asarray(test_codes, dtype=np.int64)
    scores: dict[str, np.ndarray] = {}
    if linear:
        result = scaled_linear_probe(train_features, train_codes, test_features, test_codes)
        scores["linear_top1"] = (result.test_predictions == test_codes).astype(np.float64)
    if knn:
        # Test-only classes widen the vote table; they can never be predicted, only missed.
        num_classes = int(max(train_codes.max(), test_codes.max())) + 1
        predicted = knn_predict(
            train_features, train_codes, test_features, knn_k, knn_temperature, num_classes
        )
        scores["knn_top1"] = (predicted == test_codes).astype(np.float64)
    if linear and knn:
        scores["mean_top1"] = 0.5 * (scores["linear_top1"] + scores["knn_top1"])
    return scores


def probe_scores(
    train_features: np.ndarray,
    train_codes: np.ndarray,
    test_features: np.ndarray,
    test_codes: np.ndarray,
    **options: Any,
) -> dict[str, float]:
    """Linear-probe and k-NN top-1 of (N_train, D) → (N_test, D) features: the means of
    :func:`probe_correctness`, which takes the same ``options`` (``knn_k``,
    ``knn_temperature``, ``linear``, ``knn``).

    Returns:
        ``{"linear_top1": ..., "knn_top1": ...}`` (the ones asked for), each in [0, 1].
    """
    rows = probe_correctness(train_features, train_codes, test_features, test_codes, **options)
    return {key: float(rows[key].mean()) for key in ("linear_top1", "knn_top1") if key in rows}
