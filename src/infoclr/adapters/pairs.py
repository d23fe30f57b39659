"""Retrieval refinement from (query, positive[, negative]) pairs.

Training uses in-batch negatives: the multiple-negatives ranking loss
(:class:`~infoclr.losses.MultipleNegativesRankingLoss`; Henderson et al. 2017, as in
sentence-transformers) over the refined queries and the refined (or, with ``query_only``,
unchanged) documents of a batch of training pairs, plus the batch's hard negatives.

* Symmetric (default): one refiner maps queries and documents; the index must be re-embedded
  with it (``result.refine(documents)``).
* ``query_only``: the refiner maps queries only, so an existing document index stays valid.

The queries are split into train / select / guard; only train queries' pairs are trained on.
Candidates are scored by MRR of the select queries against the *whole* document index; the
guard compares the chosen candidate with the input by per-query reciprocal rank on the guard
queries (primary) and Recall@1 (protected), :mod:`infoclr.evaluation.guard`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from infoclr.adapters.config import AdapterConfig
from infoclr.adapters.engine import (
    AdapterResult,
    VectorAdapter,
    gather_rows,
    train_with_selection,
)
from infoclr.data.pairs import Pairs, split_queries
from infoclr.errors import ConfigError, DataError
from infoclr.evaluation.guard import GuardDecision

__all__ = ["fit_pairs"]


def fit_pairs(
    queries: np.ndarray,
    documents: np.ndarray,
    pairs: Pairs,
    config: AdapterConfig | None = None,
    max_eval_queries: int = 5000,
    on_epoch: Callable[[int, float, float | None], None] | None = None,
    split: dict[str, np.ndarray] | None = None,
) -> AdapterResult:
    """Refine for retrieval from relevance pairs, with selection and the guard.

    Args:
        queries: (Q, D) query rows (may be the same array as ``documents``).
        documents: (N, D) the document index.
        pairs: relevance pairs as rows of the two arrays
            (:func:`infoclr.data.pairs.read_pairs`).
        config: settings; ``query_only`` picks the query-side adapter.
        max_eval_queries: at most this many select and guard queries each.
        on_epoch: progress callback ``(epoch, mean_loss, select MRR or None)``.
        split: the train / select / guard query rows, when the caller has split them already
            (:func:`infoclr.data.pairs.split_queries`); default: split with ``config.seed``.

    Returns:
        An :class:`AdapterResult`: ``result.refine(queries)`` gives the guarded queries, and
        (unless ``query_only``) ``result.refine(documents)`` the re-embedded index.
    """
    from infoclr.data.embeddings import scan_embeddings

    config = _checked_config(queries, documents, pairs, config)
    if split is None:
        split = split_queries(
            pairs.query_rows,
            config.select_fraction,
            config.guard_fraction,
            config.seed,
            max_eval_queries,
        )
    train = pairs.subset(np.isin(pairs.query_rows, split["train"]))
    stats = scan_embeddings(queries if config.query_only else documents)
    torch.manual_seed(config.seed)
    adapter = VectorAdapter(queries.shape[1], stats.mean, stats.std, config)
    batch_loss = _batch_loss(adapter, train, queries, documents, config)
    score = _scorer(queries, documents, pairs, split, config)

    def select_score(candidate: VectorAdapter | None) -> float:
        scores = score(candidate, "select")
        return float(scores["mrr"].mean()) if scores else float("-inf")

    previous = torch.get_num_threads()
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    try:
        training = train_with_selection(
            adapter, config, len(train), batch_loss, select_score, on_epoch
        )
        chosen = training.chosen_epoch
        decision, accepted, reason = _guard_chosen(chosen, adapter, score, split, config)
    finally:
        torch.set_num_threads(previous)
    return AdapterResult(
        adapter=adapter,
        last_state=training.last_state,
        chosen_epoch=chosen,
        accepted=accepted,
        decision=decision,
        reason=reason,
        candidates=training.candidates,
        config=config,
        split=split,
        epochs=training.epochs,
        query_only=config.query_only,
    )


def _checked_config(
    queries: np.ndarray, documents: np.ndarray, pairs: Pairs, config: AdapterConfig | None
) -> AdapterConfig:
    """The settings (default: objective ``pairs``), checked with the inputs."""
    config = config or AdapterConfig(objective="pairs")
    config.validate()
    if config.objective not in ("auto", "pairs"):
        raise ConfigError(f"fit_pairs trains objective 'pairs', not {config.objective!r}")
    if queries.ndim != 2 or documents.ndim != 2:
        raise DataError("queries and documents must be 2-D (rows, dim) arrays")
    if queries.shape[1] != documents.shape[1]:
        raise DataError(
            f"queries have {queries.shape[1]} dimensions but documents have "
            f"{documents.shape[1]}; embed both with the same encoder"
        )
    if len(pairs) == 0:
        raise DataError("no pairs were given")
    return config


def _batch_loss(
    adapter: VectorAdapter,
    train: Pairs,
    queries: np.ndarray,
    documents: np.ndarray,
    config: AdapterConfig,
) -> Callable[[np.ndarray], torch.Tensor]:
    """The in-batch ranking loss of the training pairs at the given positions of ``train``."""
    from infoclr.losses import MultipleNegativesRankingLoss

    loss_fn = MultipleNegativesRankingLoss(config.pairs_temperature)
    device = torch.device(config.device)

    def encode_documents(x: torch.Tensor) -> torch.Tensor:
        return x if config.query_only else adapter(x)

    def batch_loss(positions: np.ndarray) -> torch.Tensor:
        q_rows, d_rows = train.query_rows[positions], train.document_rows[positions]
        n_rows = train.negative_rows[positions]
        n_rows = n_rows[n_rows >= 0]
        q = torch.from_numpy(gather_rows(queries, q_rows)).to(device)
        d = torch.from_numpy(gather_rows(documents, d_rows)).to(device)
        negatives = negative_ids = None
        if n_rows.size:
            negatives = encode_documents(
                torch.from_numpy(gather_rows(documents, n_rows)).to(device)
            )
            negative_ids = torch.from_numpy(n_rows).to(device)
        return loss_fn(
            adapter(q),
            encode_documents(d),
            negatives,
            torch.from_numpy(d_rows).to(device),
            negative_ids,
        )

    return batch_loss


def _scorer(
    queries: np.ndarray,
    documents: np.ndarray,
    pairs: Pairs,
    split: dict[str, np.ndarray],
    config: AdapterConfig,
) -> Callable[[VectorAdapter | None, str], dict[str, np.ndarray]]:
    """``score(candidate, part)``: per-query retrieval scores of the select or guard queries
    against the whole index (``{}`` when the candidate gives non-finite rows; None = input)."""
    from infoclr.evaluation.retrieval import retrieval_scores

    held = {name: gather_rows(queries, split[name]) for name in ("select", "guard")}
    relevance = {name: pairs.relevance(split[name]) for name in ("select", "guard")}

    def score(candidate: VectorAdapter | None, part: str) -> dict[str, np.ndarray]:
        q = held[part] if candidate is None else candidate.refine(held[part])
        index = documents if candidate is None or config.query_only else candidate.refine(documents)
        if not (np.isfinite(q).all() and np.isfinite(index).all()):
            return {}
        return retrieval_scores(q, index, relevance[part]).per_query()

    return score


def _guard_chosen(
    chosen: int,
    adapter: VectorAdapter,
    score: Callable[[VectorAdapter | None, str], dict[str, np.ndarray]],
    split: dict[str, np.ndarray],
    config: AdapterConfig,
) -> tuple[GuardDecision | None, bool, str]:
    """The guard's decision on the chosen epoch (None when the input was chosen), whether it
    was accepted, and the reason."""
    from infoclr.evaluation.guard import guard

    if chosen == 0:
        reason = (
            "kept the input: no trained epoch had a higher MRR than it on the "
            f"{split['select'].size} select queries"
        )
        return None, False, reason
    decision = guard(
        score(None, "guard"),
        score(adapter, "guard"),
        "mrr",
        protected=("recall@1",),
        method=config.guard_method,
        z=config.guard_z,
        tolerance=config.guard_tolerance,
        seed=config.seed,
        rows_name="guard queries",
    )
    return decision, decision.accepted, f"epoch {chosen} had the best select MRR; {decision.reason}"
