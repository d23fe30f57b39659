"""Clustering quality of frozen features: k-means, then agreement of clusters with labels.

The features are clustered with faiss k-means (:func:`infoclr.clusters.kmeans`, cosine by default,
K = number of classes) and the cluster ids are compared with the class labels by

- NMI, normalised mutual information (Strehl & Ghosh, JMLR 2002; arithmetic-mean
  normalisation as in scikit-learn), the clustering metric of DeepCluster (Caron et al.
  2018) and of Cl-InfoNCE's k-means analysis (Tsai et al. 2021);
- AMI, mutual information adjusted for chance (Vinh, Epps, Bailey, JMLR 2010), which is ~0 for
  random clusters even when K is large;
- ARI, the adjusted Rand index (Hubert & Arabie, 1985).

Without labels, :func:`kmeans_stability` scores how crisp the cluster structure of a set of
vectors is (Ben-Hur, Elisseeff & Guyon, "A stability based method for discovering structure in
clustered data", PSB 2002; Lange et al., Neural Computation 2004): k-means fitted on random
halves of the rows should partition all rows the same way.
"""

from __future__ import annotations

import numpy as np

from infoclr.arrays import (
    ArrayLike,
    as_feature_matrix,
    as_labelled_features,
    l2_normalize_rows,
)
from infoclr.clusters.faiss_kmeans import kmeans
from infoclr.errors import ConfigError


def _contingency(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(A, B) float64 counts of the pairs of values of two (N,) labellings."""
    _, first = np.unique(np.asarray(a).ravel(), return_inverse=True)
    values, second = np.unique(np.asarray(b).ravel(), return_inverse=True)
    counts = np.bincount(first * values.size + second, minlength=(first.max() + 1) * values.size)
    return counts.reshape(-1, values.size).astype(np.float64)


def normalized_mutual_info(a: np.ndarray, b: np.ndarray) -> float:
    """NMI of two labellings, arithmetic-mean normalisation; equal to scikit-learn's
    ``normalized_mutual_info_score`` (tested), limit cases included: 1 when neither labelling
    splits the rows, 0 when the mutual information is 0."""
    table = _contingency(a, b)
    if table.shape[0] == table.shape[1] == 1:
        return 1.0
    joint = table / table.sum()
    rows, cols = joint.sum(1), joint.sum(0)
    nonzero = joint > 0
    outer = np.outer(rows, cols)
    mutual = float(np.sum(joint[nonzero] * np.log(joint[nonzero] / outer[nonzero])))
    if mutual <= 0:
        return 0.0
    entropy = [-float(np.sum(p[p > 0] * np.log(p[p > 0]))) for p in (rows, cols)]
    return mutual / max(float(np.mean(entropy)), np.finfo(np.float64).eps)


def adjusted_rand(a: np.ndarray, b: np.ndarray) -> float:
    """The adjusted Rand index of two labellings (Hubert & Arabie 1985) from the pair
    confusion matrix; equal to scikit-learn's ``adjusted_rand_score`` (tested)."""
    table = _contingency(a, b)
    total, squares = table.sum(), float((table**2).sum())
    same_first = float(table.sum(1) @ table.sum(1)) - squares  # together in a, apart in b
    same_second = float(table.sum(0) @ table.sum(0)) - squares
    together = squares - total
    apart = total**2 - same_first - same_second - squares
    if same_first == 0 and same_second == 0:
        return 1.0
    numerator = 2.0 * (together * apart - same_first * same_second)
    denominator = (together + same_first) * (same_first + apart) + (together + same_second) * (
        same_second + apart
    )
    return numerator / denominator


def _cluster_against_labels(
    features: ArrayLike,
    labels: ArrayLike,
    num_clusters: int | None,
    seed: int,
    spherical: bool,
    niter: int,
) -> tuple[np.ndarray, np.ndarray]:
    """(class_ids (N,), cluster_ids (N,)) after validating inputs and running k-means."""
    matrix, class_ids = as_labelled_features(features, labels)
    if num_clusters is None:
        num_clusters = len(np.unique(class_ids))
    if num_clusters < 1:
        raise ConfigError(f"num_clusters must be >= 1, got {num_clusters}")
    # k-means++ with 5 restarts (faiss keeps the lowest objective): one random start gave NMI
    # 0.61-0.87 on the same BBC News vectors, 5 restarts 0.866-0.872 (docs/benchmarks-simskip.md).
    cluster_ids, _ = kmeans(
        matrix,
        num_clusters,
        niter=niter,
        seed=seed,
        spherical=spherical,
        nredo=5,
        init="kmeans++",
    )
    return class_ids, cluster_ids


def clustering_scores(
    features: ArrayLike,
    labels: ArrayLike,
    num_clusters: int | None = None,
    seed: int = 0,
    *,
    spherical: bool = True,
    niter: int = 20,
) -> dict[str, float]:
    """Cluster ``features`` with k-means and score the clusters against ``labels``.

    Args:
        features: (N, D) numpy array or torch tensor (any device).
        labels: (N,) integer class ids.
        num_clusters: K; defaults to the number of distinct labels.
        seed: k-means seed.
        spherical: cosine k-means on L2-normalised rows (the default, matching how contrastive
            features are compared); ``False`` for Euclidean k-means.
        niter: k-means iterations.

    Returns:
        ``{"nmi": ..., "ami": ..., "ari": ...}``, each a float; 1 means the clusters are the
        classes, ~0 means they are unrelated.

    Raises:
        ConfigError: if ``num_clusters`` is < 1 or more than N.
        DataError: for empty, non-finite or mismatched inputs.
    """
    class_ids, cluster_ids = _cluster_against_labels(
        features, labels, num_clusters, seed, spherical, niter
    )
    from sklearn.metrics import adjusted_mutual_info_score

    return {
        "nmi": normalized_mutual_info(class_ids, cluster_ids),
        "ami": float(adjusted_mutual_info_score(class_ids, cluster_ids)),
        "ari": adjusted_rand(class_ids, cluster_ids),
    }


def kmeans_nmi(
    features: ArrayLike,
    labels: ArrayLike,
    num_clusters: int | None = None,
    seed: int = 0,
) -> float:
    """NMI between cosine k-means clusters of ``features`` and ``labels``.

    Same clustering as :func:`clustering_scores` with its defaults, without the AMI and ARI.
    """
    class_ids, cluster_ids = _cluster_against_labels(
        features, labels, num_clusters, seed, spherical=True, niter=20
    )
    return normalized_mutual_info(class_ids, cluster_ids)


def kmeans_stability(
    features: ArrayLike,
    num_clusters: int,
    halves: list[np.ndarray],
    seed: int = 0,
) -> float:
    """Mean pairwise adjusted Rand index of k-means partitions fitted on random halves.

    Args:
        features: (N, D) rows (cosine k-means: rows are L2-normalised).
        num_clusters: K.
        halves: index arrays of the random subsets to fit on; reusing the same halves for
            every set of vectors compares them with common random numbers (lower variance).
        seed: k-means initialisation seed (offset by the half's position). Each half runs
            k-means++ with 3 restarts and keeps the best objective, so that the score measures
            the data's cluster structure rather than bad initialisations.

    Returns:
        Stability in [−0.5, 1]; 1 means every half finds the same partition of all N rows.
    """
    matrix = as_feature_matrix(features)
    unit = l2_normalize_rows(matrix)
    partitions = []
    for position, half in enumerate(halves):
        _, centroids = kmeans(
            unit[half], num_clusters, niter=20, seed=seed + position, nredo=3, init="kmeans++"
        )
        partitions.append((unit @ centroids.T).argmax(axis=1))
    pairs = [
        adjusted_rand(partitions[i], partitions[j])
        for i in range(len(partitions))
        for j in range(i + 1, len(partitions))
    ]
    return float(np.mean(pairs))
