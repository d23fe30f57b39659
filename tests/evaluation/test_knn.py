"""k-NN classifier against a slow loop over the Wu et al. (2018) weighted-vote formula."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from infoclr.errors import ConfigError, DataError
from infoclr.evaluation.knn import knn_predict, knn_top1


def knn_reference(
    train_features: np.ndarray,
    train_labels: np.ndarray,
    query_features: np.ndarray,
    k: int,
    temperature: float,
    num_classes: int,
    exclude_self: bool = False,
) -> list[int]:
    """One query at a time: cosine to every training row, top k, sum exp(cos/T) per class."""
    predictions = []
    for query_row, query in enumerate(query_features):
        scored = []
        for train_row, train in enumerate(train_features):
            if exclude_self and train_row == query_row:
                continue
            cosine = float(np.dot(query, train) / (np.linalg.norm(query) * np.linalg.norm(train)))
            scored.append((cosine, train_row))
        scored.sort(key=lambda pair: -pair[0])
        votes = [0.0] * num_classes
        for cosine, train_row in scored[:k]:
            votes[int(train_labels[train_row])] += math.exp(cosine / temperature)
        # max() keeps the first maximum, i.e. the lowest class id on ties, like argmax.
        predictions.append(max(range(num_classes), key=lambda class_id: votes[class_id]))
    return predictions


@pytest.fixture
def random_split() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    train = rng.normal(size=(90, 8)).astype(np.float32)
    labels = rng.integers(0, 4, size=90)
    query = rng.normal(size=(35, 8)).astype(np.float32)
    return train, labels, query


@pytest.mark.parametrize("k", [1, 7, 25, 200])
@pytest.mark.parametrize("temperature", [0.05, 0.5])
def test_matches_loop_reference(random_split, k: int, temperature: float) -> None:
    train, labels, query = random_split
    predicted = knn_predict(train, labels, query, k=k, temperature=temperature)
    expected = knn_reference(train, labels, query, min(k, len(train)), temperature, 4)
    assert predicted.dtype == np.int64
    assert predicted.tolist() == expected


@pytest.mark.parametrize("k", [1, 10])
def test_exclude_self_matches_leave_one_out_reference(random_split, k: int) -> None:
    train, labels, _ = random_split
    predicted = knn_predict(train, labels, train, k=k, temperature=0.1, exclude_self=True)
    expected = knn_reference(train, labels, train, k, 0.1, 4, exclude_self=True)
    assert predicted.tolist() == expected
    # Without exclusion a 1-NN on its own training set is trivially perfect.
    if k == 1:
        assert (knn_predict(train, labels, train, k=1) == labels).all()
        assert (predicted != labels).any()


def test_similarity_weighting_beats_majority() -> None:
    # One very close class-1 neighbour against two lukewarm class-0 neighbours: an unweighted
    # majority says 0; exp(cos/T) with T = 0.1 says 1.
    train = np.array([[1.0, 0.02], [0.5, 0.87], [0.5, -0.87]], dtype=np.float32)
    labels = np.array([1, 0, 0])
    query = np.array([[1.0, 0.0]], dtype=np.float32)
    assert knn_predict(train, labels, query, k=3, temperature=0.1).tolist() == [1]
    # A very large temperature flattens the weights into a majority vote.
    assert knn_predict(train, labels, query, k=3, temperature=1e3).tolist() == [0]


def test_small_temperature_stays_finite() -> None:
    train = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]], dtype=np.float32)
    labels = np.array([0, 1, 1])
    # exp(1 / 1e-4) overflows float64 unless the vote is computed relative to the best match.
    assert knn_predict(train, labels, [[1.0, 0.05]], k=3, temperature=1e-4).tolist() == [0]


def test_top1_on_separated_classes_and_torch_input() -> None:
    generator = torch.Generator().manual_seed(0)
    directions = torch.eye(6)[:3] * 5
    train_labels = torch.arange(60) % 3
    test_labels = torch.arange(30) % 3
    train = directions[train_labels] + 0.3 * torch.randn(60, 6, generator=generator)
    test = directions[test_labels] + 0.3 * torch.randn(30, 6, generator=generator)
    assert knn_top1(train, train_labels, test, test_labels, k=5) == 1.0
    shuffled = test_labels[torch.randperm(30, generator=generator)]
    accuracy = knn_top1(train, train_labels, test, shuffled, k=5)
    expected = float((knn_predict(train, train_labels, test, k=5) == shuffled.numpy()).mean())
    assert accuracy == pytest.approx(expected)
    assert accuracy < 1.0


def test_num_classes_widens_the_vote_table(random_split) -> None:
    train, labels, query = random_split
    wide = knn_predict(train, labels, query, k=5, num_classes=10)
    assert wide.tolist() == knn_predict(train, labels, query, k=5).tolist()
    with pytest.raises(ConfigError, match="num_classes"):
        knn_predict(train, labels, query, num_classes=2)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_tensors(random_split) -> None:
    train, labels, query = random_split
    on_gpu = knn_predict(
        torch.from_numpy(train).cuda(),
        torch.from_numpy(labels).cuda(),
        torch.from_numpy(query).cuda(),
        k=7,
    )
    assert on_gpu.tolist() == knn_predict(train, labels, query, k=7).tolist()


def test_bad_inputs_raise_one_line_errors(random_split) -> None:
    train, labels, query = random_split
    cases = [
        (ConfigError, "k must", dict(k=0)),
        (ConfigError, "temperature", dict(temperature=0.0)),
        (ConfigError, "exclude_self", dict(exclude_self=True)),
    ]
    for error, message, kwargs in cases:
        with pytest.raises(error, match=message) as caught:
            knn_predict(train, labels, query, **kwargs)
        assert "\n" not in str(caught.value)
    with pytest.raises(DataError, match="89 rows"):
        knn_predict(train[:-1], labels, query)
    with pytest.raises(DataError, match="columns"):
        knn_predict(train, labels, query[:, :5])
    with pytest.raises(DataError, match="empty"):
        knn_predict(train, labels, query[:0])
    broken = train.copy()
    broken[[4, 17], 2] = np.nan
    with pytest.raises(DataError, match=r"\[4, 17\]"):
        knn_predict(broken, labels, query)
    with pytest.raises(DataError, match="test_labels"):
        knn_top1(train, labels, query, labels[:3])
