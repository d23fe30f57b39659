"""The experiment protocols: held-out rows stay out, scores are the held-out ones."""

from __future__ import annotations

import numpy as np

from infoclr.adapters.experiments import (
    holdout_split,
    label_experiment,
    node_embeddings,
    retrieval_experiment,
)
from infoclr.data.pairs import Pairs

FAST = {"epochs": 4, "batch_size": 64, "eval_every": 2}


def test_label_experiment_scores_the_test_rows() -> None:
    rng = np.random.default_rng(0)
    y = np.arange(500) % 3
    x = (np.eye(3)[y] @ rng.normal(size=(3, 8)) + rng.normal(size=(500, 8))).astype(np.float32)
    row = label_experiment(x, y, 1.0, seed=0, settings=FAST)
    assert set(row["scores"]) == {"input", "output", "chosen", "last"}
    assert row["split"]["trained"] == 400 - row["split"]["select"] - row["split"]["guard"]
    train, test = holdout_split(y, 0)
    assert len(test) == 100 and not set(train) & set(test)
    assert label_experiment(x, y, 0.01, seed=0, settings=FAST)["refused"].startswith("only")


def test_retrieval_experiment() -> None:
    rng = np.random.default_rng(1)
    documents = rng.normal(size=(200, 8)).astype(np.float32)
    queries = (documents + 0.5 * rng.normal(size=documents.shape)).astype(np.float32)
    rows = np.arange(200)
    row = retrieval_experiment(queries, documents, Pairs(rows, rows, -np.ones(200, int)), 0, FAST)
    # Noisy copies of the documents find them far above chance (MRR about 0.03 for 200).
    assert row["scores"]["input"]["mrr"] > 0.3 and row["split"]["train"] > 0


def test_node_embeddings_use_only_training_labels() -> None:
    rng = np.random.default_rng(2)
    adjacency = (rng.random((30, 30)) < 0.2).astype(float)
    labels = rng.integers(3, size=30)
    train = np.arange(20)
    first = node_embeddings(adjacency, labels, train, seed=0, dim=4, steps=5)
    other = labels.copy()
    other[20:] = (other[20:] + 1) % 3  # change only the held-out nodes' labels
    second = node_embeddings(adjacency, other, train, seed=0, dim=4, steps=5)
    assert first.shape == (30, 4)
    np.testing.assert_array_equal(first, second)
    third = node_embeddings(adjacency, other[::-1].copy(), train, seed=0, dim=4, steps=5)
    assert not np.array_equal(first, third)
