"""faiss k-means: valid assignments, nearest-centroid property, determinism, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import adjusted_rand_score

from infoclr.clusters.faiss_kmeans import kmeans
from infoclr.errors import ConfigError, DataError


def angular_blobs(num_per_blob: int = 40, num_blobs: int = 4, dim: int = 16, seed: int = 0):
    """Tight blobs around far-apart directions: separable by Euclidean and cosine k-means."""
    rng = np.random.default_rng(seed)
    directions = np.linalg.qr(rng.normal(size=(dim, dim)))[0][:num_blobs] * 10
    blob_ids = np.repeat(np.arange(num_blobs), num_per_blob)
    points = directions[blob_ids] + 0.3 * rng.normal(size=(len(blob_ids), dim))
    return points.astype(np.float32), blob_ids


@pytest.mark.parametrize("spherical", [True, False])
def test_assignments_are_valid_nearest_centroids(spherical: bool) -> None:
    rng = np.random.default_rng(1)
    features = rng.normal(size=(300, 8)).astype(np.float32) + 2.0
    cluster_ids, centroids = kmeans(features, 7, spherical=spherical)
    assert cluster_ids.shape == (300,) and cluster_ids.dtype == np.int64
    assert centroids.shape == (7, 8) and centroids.dtype == np.float32
    assert cluster_ids.min() >= 0 and cluster_ids.max() < 7
    if spherical:
        assert np.allclose(np.linalg.norm(centroids, axis=1), 1.0, atol=1e-5)
        unit_rows = features / np.linalg.norm(features, axis=1, keepdims=True)
        similarities = unit_rows @ centroids.T
        best = similarities.max(axis=1)
        assert np.allclose(similarities[np.arange(300), cluster_ids], best, atol=1e-5)
    else:
        distances = ((features[:, None, :] - centroids[None, :, :]) ** 2).sum(-1)
        best = distances.min(axis=1)
        assert np.allclose(distances[np.arange(300), cluster_ids], best, rtol=1e-4, atol=1e-4)
        # Lloyd's fixed point: each Euclidean centroid is the mean of its members.
        for cluster_id in np.unique(cluster_ids):
            members = features[cluster_ids == cluster_id]
            assert np.allclose(members.mean(axis=0), centroids[cluster_id], atol=0.15)


@pytest.mark.parametrize("spherical", [True, False])
def test_recovers_separated_blobs(spherical: bool) -> None:
    points, blob_ids = angular_blobs()
    cluster_ids, _ = kmeans(points, 4, spherical=spherical, nredo=3)
    assert adjusted_rand_score(blob_ids, cluster_ids) == pytest.approx(1.0)


def test_deterministic_for_a_seed_and_seed_matters() -> None:
    features = np.random.default_rng(2).normal(size=(400, 6)).astype(np.float32)
    first_ids, first_centroids = kmeans(features, 10, seed=5)
    second_ids, second_centroids = kmeans(torch.from_numpy(features), 10, seed=5)
    assert np.array_equal(first_ids, second_ids)
    assert np.array_equal(first_centroids, second_centroids)
    others = [kmeans(features, 10, seed=seed)[1] for seed in (6, 7, 8)]
    assert any(not np.allclose(first_centroids, other) for other in others)


def test_edge_sizes_and_subsampling() -> None:
    features = np.random.default_rng(3).normal(size=(12, 3))
    ids, _ = kmeans(features, 12)
    assert sorted(ids.tolist()) == list(range(12))
    ids, centroids = kmeans(features, 1)
    assert (ids == 0).all() and centroids.shape == (1, 3)
    # faiss trains on a subset of 2 points per centroid, but every row still gets an id.
    many = np.random.default_rng(4).normal(size=(200, 3))
    ids, _ = kmeans(many, 5, max_points_per_centroid=2, init="kmeans++")
    assert ids.shape == (200,) and set(ids.tolist()) <= set(range(5))


def test_bad_arguments() -> None:
    features = np.random.default_rng(5).normal(size=(20, 4))
    for num_clusters in (0, -3, 21):
        with pytest.raises(ConfigError, match="num_clusters") as caught:
            kmeans(features, num_clusters)
        assert "\n" not in str(caught.value)
    with pytest.raises(ConfigError, match="integer"):
        kmeans(features, 2.5)
    with pytest.raises(ConfigError, match="niter"):
        kmeans(features, 2, niter=0)
    with pytest.raises(ConfigError, match="init"):
        kmeans(features, 2, init="forgy")
    with pytest.raises(DataError, match="2-D"):
        kmeans(features[:, 0], 2)
    with pytest.raises(DataError, match="2-D"):
        kmeans(features[:0], 2)
    broken = features.copy()
    broken[3, 1] = np.nan
    with pytest.raises(DataError, match=r"\[3\]"):
        kmeans(broken, 2)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_tensor_input() -> None:
    points, blob_ids = angular_blobs()
    cluster_ids, _ = kmeans(torch.from_numpy(points).cuda(), 4)
    assert np.array_equal(cluster_ids, kmeans(points, 4)[0])
