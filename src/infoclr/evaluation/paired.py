"""Per-row scores of the standard probes, for paired comparisons of two sets of vectors.

:func:`probe_correctness` trains the two probes of infoclr's refinement reports on labelled
training rows and returns, for every test row, whether each probe is right (1.0) or wrong (0.0).
Comparing two sets of vectors (the input and a refined output) row by row on the same rows is
what the guard (:mod:`infoclr.evaluation.guard`) needs.

* Linear probe: multinomial logistic regression with scikit-learn's default strength
  (C = 1, ``weight_decay = 1 / N_train``), full-batch L-BFGS
  (:func:`infoclr.evaluation.linear.linear_probe`), on features divided by one scalar, the mean
  training-row norm, so the regularisation means the same for vectors of any scale.
* k-NN: cosine-weighted vote, k = 200, T = 0.1 (Wu et al. 2018;
  :func:`infoclr.evaluation.knn.knn_predict`).
"""

from __future__ import annotations

import numpy as np

__all__ = ["probe_correctness"]


def probe_correctness(
    train_features: np.ndarray,
    train_labels: np.ndarray,
    test_features: np.ndarray,
    test_labels: np.ndarray,
    knn_k: int = 200,
    knn_temperature: float = 0.1,
) -> dict[str, np.ndarray]:
    """``{"linear_top1", "knn_top1", "mean_top1"}``: (N_test,) float arrays of 1.0 / 0.0
    (``mean_top1`` is the mean of the two: 0, 0.5 or 1)."""
    from infoclr.evaluation.knn import knn_predict
    from infoclr.evaluation.probes import scaled_linear_probe

    train_labels = np.asarray(train_labels, dtype=np.int64)
    test_labels = np.asarray(test_labels, dtype=np.int64)
    linear = scaled_linear_probe(
        train_features, train_labels, test_features, test_labels
    ).test_predictions
    num_classes = int(max(train_labels.max(), test_labels.max())) + 1
    knn = knn_predict(
        train_features, train_labels, test_features, knn_k, knn_temperature, num_classes
    )
    scores = {
        "linear_top1": (linear == test_labels).astype(np.float64),
        "knn_top1": (knn == test_labels).astype(np.float64),
    }
    scores["mean_top1"] = 0.5 * (scores["linear_top1"] + scores["knn_top1"])
    return scores
