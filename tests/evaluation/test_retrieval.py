"""Retrieval metrics against a loop that sorts every document for every query."""

from __future__ import annotations

import math

import numpy as np
import pytest

from infoclr.errors import DataError
from infoclr.evaluation.retrieval import relevant_ranks, retrieval_scores


def loop_metrics(q, d, pairs, ks=(1, 5, 10), cosine=True):
    """Sort the whole index for each query and read the metrics off the sorted list."""
    if cosine:
        q = q / np.linalg.norm(q, axis=1, keepdims=True)
        d = d / np.linalg.norm(d, axis=1, keepdims=True)
    out = {f"recall@{k}": [] for k in ks} | {"mrr": [], "ndcg@10": []}
    for i in range(len(q)):
        relevant = {int(doc) for query, doc in pairs if query == i}
        scores = [float(q[i] @ d[j]) for j in range(len(d))]
        order = sorted(range(len(d)), key=lambda j: -scores[j])
        positions = [order.index(j) + 1 for j in relevant]
        for k in ks:
            out[f"recall@{k}"].append(sum(p <= k for p in positions) / len(relevant))
        out["mrr"].append(1.0 / min(positions))
        dcg = sum(1 / math.log2(p + 1) for p in positions if p <= 10)
        ideal = sum(1 / math.log2(i + 2) for i in range(min(len(relevant), 10)))
        out["ndcg@10"].append(dcg / ideal)
    return {key: np.array(values) for key, values in out.items()}


@pytest.mark.parametrize("similarity", ["cosine", "dot"])
def test_matches_sorting_loop(similarity: str) -> None:
    rng = np.random.default_rng(0)
    q, d = rng.normal(size=(23, 6)), rng.normal(size=(40, 6))
    pairs = [(i, int(rng.integers(40))) for i in range(23)]
    pairs += [(i, int(rng.integers(40))) for i in range(0, 23, 3)]  # some have 2 positives
    pairs += [(5, j) for j in range(12)]  # one query with more than 10 relevant documents
    expected = loop_metrics(q, d, pairs, cosine=similarity == "cosine")
    scores = retrieval_scores(q, d, np.array(pairs), similarity=similarity).per_query()
    for key, values in expected.items():
        np.testing.assert_allclose(scores[key], values, err_msg=key)


def test_ranks_are_chunk_independent_and_exact_for_a_known_case() -> None:
    docs = np.array([[1.0, 0.0], [0.0, 1.0], [0.7, 0.7]])
    queries = np.array([[1.0, 0.1], [0.0, 1.0]])
    pairs = np.array([[0, 1], [1, 1], [0, 0]])
    assert relevant_ranks(queries, docs, pairs, chunk_size=1).tolist() == [3, 1, 1]
    means = retrieval_scores(queries, docs, pairs, ks=(1,)).means()
    assert means["recall@1"] == pytest.approx((0.5 + 1.0) / 2)
    assert means["mrr"] == pytest.approx(1.0)


def test_bad_inputs() -> None:
    q, d = np.ones((2, 3)), np.ones((4, 3))
    with pytest.raises(DataError, match="no relevant document"):
        retrieval_scores(q, d, np.array([[0, 1]]))
    with pytest.raises(DataError, match="outside"):
        retrieval_scores(q, d, np.array([[0, 1], [1, 9]]))
    with pytest.raises(DataError, match="3 dimensions but documents have 2"):
        retrieval_scores(q, np.ones((4, 2)), np.array([[0, 1], [1, 1]]))
