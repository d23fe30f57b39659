"""k-means clustering metrics on separated blobs (≈ 1) and on random labels (≈ 0)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import normalized_mutual_info_score

from infoclr.clusters.faiss_kmeans import kmeans
from infoclr.errors import ConfigError, DataError
from infoclr.evaluation.clustering import clustering_scores, kmeans_nmi, kmeans_stability


def separated_blobs(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    directions = np.linalg.qr(rng.normal(size=(12, 12)))[0][:5] * 8
    labels = rng.integers(0, 5, size=500)
    return directions[labels] + 0.4 * rng.normal(size=(500, 12)), labels


def test_separated_blobs_score_one() -> None:
    features, labels = separated_blobs()
    scores = clustering_scores(features, labels)
    assert set(scores) == {"nmi", "ami", "ari"}
    for value in scores.values():
        assert value == pytest.approx(1.0, abs=1e-6)


def test_random_labels_score_zero() -> None:
    features, _ = separated_blobs()
    random_labels = np.random.default_rng(1).integers(0, 5, size=500)
    scores = clustering_scores(features, random_labels)
    assert scores["nmi"] < 0.03
    assert abs(scores["ami"]) < 0.02
    assert abs(scores["ari"]) < 0.02


def test_matches_direct_computation_and_nmi_shortcut() -> None:
    rng = np.random.default_rng(2)
    features = rng.normal(size=(240, 6))
    labels = rng.integers(0, 3, size=240)
    cluster_ids, _ = kmeans(features, 3, seed=4, nredo=5, init="kmeans++")
    expected = normalized_mutual_info_score(labels, cluster_ids)
    assert clustering_scores(features, labels, seed=4)["nmi"] == pytest.approx(expected)
    assert kmeans_nmi(torch.from_numpy(features), torch.from_numpy(labels), seed=4) == (
        pytest.approx(expected)
    )
    # More clusters than classes is allowed; one cluster carries no information.
    assert kmeans_nmi(features, labels, num_clusters=12) > 0
    assert kmeans_nmi(features, labels, num_clusters=1) == pytest.approx(0.0)


def test_bad_inputs() -> None:
    features, labels = separated_blobs()
    with pytest.raises(DataError, match="labels has 499 entries"):
        clustering_scores(features, labels[:-1])
    with pytest.raises(ConfigError, match="num_clusters"):
        clustering_scores(features, labels, num_clusters=0)
    with pytest.raises(ConfigError, match="num_clusters"):
        clustering_scores(features[:3], labels[:3], num_clusters=4)


def test_kmeans_nmi_uses_restarts_on_every_seed() -> None:
    # One random k-means start often merges two of five blobs; five k-means++ restarts do not.
    rng = np.random.default_rng(1)
    labels = np.arange(500) % 5
    centres = rng.normal(size=(5, 6)) * 4
    features = (centres[labels] + 0.2 * rng.normal(size=(500, 6))).astype(np.float32)
    for seed in range(3):
        assert kmeans_nmi(features, labels, 5, seed=seed) == pytest.approx(1.0)
    assert kmeans_nmi(features, rng.permutation(labels), 5) < 0.05


def _stability_reference(features: np.ndarray, k: int, halves: list, seed: int) -> float:
    """k-means on each half, every row to its nearest centroid, mean ARI over the pairs."""
    from sklearn.metrics import adjusted_rand_score

    unit = features / np.linalg.norm(features, axis=1, keepdims=True)
    partitions = []
    for position, half in enumerate(halves):
        _, centroids = kmeans(
            unit[half], k, niter=20, seed=seed + position, nredo=3, init="kmeans++"
        )
        partitions.append([int(np.argmax([row @ c for c in centroids])) for row in unit])
    scores = [
        adjusted_rand_score(partitions[i], partitions[j])
        for i in range(len(halves))
        for j in range(i + 1, len(halves))
    ]
    return sum(scores) / len(scores)


def test_kmeans_stability_matches_the_reference_and_rewards_structure() -> None:
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(4, 8)) * 5
    clustered = (centres[np.arange(400) % 4] + 0.1 * rng.normal(size=(400, 8))).astype(np.float32)
    noise = rng.normal(size=(400, 8)).astype(np.float32)
    halves = [rng.choice(400, 200, replace=False) for _ in range(4)]
    structured = kmeans_stability(clustered, 4, halves, seed=3)
    unstructured = kmeans_stability(noise, 4, halves, seed=3)
    assert structured > 0.95
    assert unstructured < structured - 0.2
    assert unstructured == pytest.approx(_stability_reference(noise, 4, halves, 3), abs=1e-9)


@pytest.mark.parametrize("seed", range(6))
def test_nmi_and_ari_equal_scikit_learn(seed: int) -> None:
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    from infoclr.evaluation.clustering import adjusted_rand, normalized_mutual_info

    rng = np.random.default_rng(seed)
    size = int(rng.integers(2, 300))
    a = rng.integers(0, int(rng.integers(1, 8)), size=size)
    # Related, unrelated, relabelled and degenerate partners of ``a``.
    partners = [
        np.where(rng.random(size) < 0.3, rng.integers(0, 5, size=size), a),
        rng.integers(0, 4, size=size),
        (a * 7 + 3) % 11,
        np.zeros(size, dtype=int),
        np.arange(size),
    ]
    for b in partners:
        assert normalized_mutual_info(a, b) == pytest.approx(
            normalized_mutual_info_score(a, b), abs=1e-12
        )
        assert adjusted_rand(a, b) == pytest.approx(adjusted_rand_score(a, b), abs=1e-12)
    ones = np.zeros(size, dtype=int)
    assert normalized_mutual_info(ones, ones) == 1.0 == normalized_mutual_info_score(ones, ones)
    assert adjusted_rand(ones, ones) == 1.0 == adjusted_rand_score(ones, ones)
