"""Retrieval metrics: Recall@k, MRR and nDCG@10 of queries against a document index.

For each query, every document of the index is ranked by similarity to the query (cosine by
default). A relevant document's rank is ``1 + (number of documents scored strictly higher)``,
so ties are resolved in its favour. Per query, with R relevant documents of ranks r_1..r_R:

* Recall@k = |{r ≤ k}| / R (with one relevant document: whether it is in the top k);
* reciprocal rank = 1 / min r (MRR is its mean over queries; no cut-off);
* nDCG@10 with binary relevance = Σ_{r ≤ 10} 1/log2(r + 1) / Σ_{i=1}^{min(R,10)} 1/log2(i + 1)
  (Järvelin & Kekäläinen 2002; the BEIR / MTEB retrieval metric).

Per-query values are kept, so that two indexes can be compared on the same queries with a
paired test (:func:`infoclr.evaluation.guard.guard`). Memory is O(chunk · N_docs): the
similarity matrix is never held whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from infoclr.errors import ConfigError, DataError

__all__ = ["RetrievalScores", "relevant_ranks", "retrieval_scores"]

Similarity = Literal["cosine", "dot"]


@dataclass
class RetrievalScores:
    """Per-query retrieval metrics (see the module docstring).

    Attributes:
        recall: ``{k: (Q,) Recall@k}``.
        reciprocal_rank: (Q,) 1 / rank of the first relevant document.
        ndcg10: (Q,) nDCG@10.
    """

    recall: dict[int, np.ndarray] = field(default_factory=dict)
    reciprocal_rank: np.ndarray = field(default_factory=lambda: np.zeros(0))
    ndcg10: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def per_query(self) -> dict[str, np.ndarray]:
        """``{"recall@k": ..., "mrr": ..., "ndcg@10": ...}`` per-query arrays."""
        out = {f"recall@{k}": v for k, v in self.recall.items()}
        out["mrr"] = self.reciprocal_rank
        out["ndcg@10"] = self.ndcg10
        return out

    def means(self) -> dict[str, float]:
        """The means over queries of :meth:`per_query`."""
        return {key: float(values.mean()) for key, values in self.per_query().items()}


def _matrix(name: str, values: np.ndarray) -> np.ndarray:
    array = np.asarray(values, dtype=np.float32)
    if array.ndim != 2 or array.shape[0] == 0:
        raise DataError(f"{name} must be a non-empty (rows, dim) array, got {array.shape}")
    if not np.isfinite(array).all():
        raise DataError(f"{name} holds NaN or inf values")
    return array


def _unit(array: np.ndarray) -> np.ndarray:
    return array / np.maximum(np.linalg.norm(array, axis=1, keepdims=True), 1e-12)


def relevant_ranks(
    queries: np.ndarray,
    documents: np.ndarray,
    pairs: np.ndarray,
    similarity: Similarity = "cosine",
    chunk_size: int = 256,
) -> np.ndarray:
    """The rank of each relevant document in its query's ranking of the whole index.

    Args:
        queries: (Q, D) query vectors.
        documents: (N, D) document vectors (the index).
        pairs: (P, 2) integer ``(query row, document row)`` pairs, one per relevant document.
        similarity: ``"cosine"`` or ``"dot"``.
        chunk_size: queries scored at a time.

    Returns:
        (P,) int64 ranks, 1 = the top of the ranking.
    """
    if similarity not in ("cosine", "dot"):
        raise ConfigError(f"similarity must be 'cosine' or 'dot', got {similarity!r}")
    q, d = _matrix("queries", queries), _matrix("documents", documents)
    if q.shape[1] != d.shape[1]:
        raise DataError(
            f"queries have {q.shape[1]} dimensions but documents have {d.shape[1]}; "
            "embed both with the same encoder (or map one into the other's space)"
        )
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    if pairs.size and (
        pairs[:, 0].min() < 0
        or pairs[:, 0].max() >= len(q)
        or pairs[:, 1].min() < 0
        or pairs[:, 1].max() >= len(d)
    ):
        raise DataError("a relevance pair names a query or document row outside the arrays")
    if similarity == "cosine":
        q, d = _unit(q), _unit(d)
    ranks = np.empty(len(pairs), dtype=np.int64)
    order = np.argsort(pairs[:, 0], kind="stable")
    sorted_queries = pairs[order, 0]
    for start in range(0, len(q), chunk_size):
        stop = min(start + chunk_size, len(q))
        lo, hi = np.searchsorted(sorted_queries, [start, stop])
        if lo == hi:
            continue
        chosen = order[lo:hi]
        scores = q[start:stop] @ d.T
        rows = scores[pairs[chosen, 0] - start]
        own = rows[np.arange(len(chosen)), pairs[chosen, 1]]
        ranks[chosen] = 1 + (rows > own[:, None]).sum(axis=1)
    return ranks


def retrieval_scores(
    queries: np.ndarray,
    documents: np.ndarray,
    pairs: np.ndarray,
    ks: Sequence[int] = (1, 5, 10),
    similarity: Similarity = "cosine",
) -> RetrievalScores:
    """Recall@k, reciprocal rank and nDCG@10 of every query that has a relevant document.

    Args:
        queries: (Q, D); documents: (N, D) the index.
        pairs: (P, 2) ``(query row, document row)`` relevance pairs; every query row in
            ``0..Q-1`` must have at least one.
        ks: the cut-offs of Recall@k.
        similarity: ``"cosine"`` (default) or ``"dot"``.

    Returns:
        :class:`RetrievalScores` with one value per query row.
    """
    if not ks or any(int(k) < 1 for k in ks):
        raise ConfigError(f"every Recall@k cut-off must be >= 1, got {list(ks)}")
    pairs = np.unique(np.asarray(pairs, dtype=np.int64).reshape(-1, 2), axis=0)
    num_queries = len(np.asarray(queries))
    missing = np.setdiff1d(np.arange(num_queries), pairs[:, 0])
    if missing.size:
        raise DataError(
            f"{missing.size} queries have no relevant document (first: row {missing[0]}); "
            "score only queries that appear in the pairs"
        )
    ranks = relevant_ranks(queries, documents, pairs, similarity)
    query_rows = pairs[:, 0]
    relevant = np.bincount(query_rows, minlength=num_queries).astype(np.float64)
    recall = {
        int(k): np.bincount(query_rows, weights=(ranks <= k), minlength=num_queries) / relevant
        for k in ks
    }
    first = np.full(num_queries, np.iinfo(np.int64).max)
    np.minimum.at(first, query_rows, ranks)
    gains = np.where(ranks <= 10, 1.0 / np.log2(ranks + 1.0), 0.0)
    dcg = np.bincount(query_rows, weights=gains, minlength=num_queries)
    ideal_terms = 1.0 / np.log2(np.arange(1, 11) + 1.0)
    ideal = np.cumsum(ideal_terms)[np.minimum(relevant, 10).astype(int) - 1]
    return RetrievalScores(recall=recall, reciprocal_rank=1.0 / first, ndcg10=dcg / ideal)
