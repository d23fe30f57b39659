"""Scores that compare two sets of vectors for the same rows: linear probe and k-NN top-1.

:func:`probe_scores` is what refinement selection and its before/after report compute on
original and refined vectors. Both scores must mean the same for vectors of any scale, so the
linear probe sees the features divided by one scalar (the mean training-row norm) instead of
standardised per dimension: the regularisation then has the same strength for the original
and the refined vectors while their geometry is untouched.
"""

from __future__ import annotations

import numpy as np

from infoclr.evaluation.knn import knn_top1
from infoclr.evaluation.linear import LinearProbeResult, linear_probe

__all__ = ["probe_scores"]


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


def probe_scores(
    train_features: np.ndarray,
    train_codes: np.ndarray,
    test_features: np.ndarray,
    test_codes: np.ndarray,
    knn_k: int = 200,
    knn_temperature: float = 0.1,
    linear: bool = True,
    knn: bool = True,
) -> dict[str, float]:
    """Linear-probe and k-NN top-1 of (N_train, D) → (N_test, D) features.

    * Linear probe: multinomial logistic regression with scikit-learn's default strength
      (C = 1, i.e. ``weight_decay = 1 / N_train``; full-batch L-BFGS,
      :func:`infoclr.evaluation.linear.linear_probe`) on features divided by the mean
      training-row norm (see the module docstring).
    * k-NN: cosine-weighted vote, k = 200, T = 0.1 (Wu et al. 2018;
      :func:`infoclr.evaluation.knn.knn_top1`).

    Returns:
        ``{"linear_top1": ..., "knn_top1": ...}`` (the ones asked for), each in [0, 1].
    """
    scores: dict[str, float] = {}
    if linear:
        scores["linear_top1"] = scaled_linear_probe(
            train_features, train_codes, test_features, test_codes
        ).top1
    if knn:
        scores["knn_top1"] = knn_top1(
            train_features, train_codes, test_features, test_codes, knn_k, knn_temperature
        )
    return scores
