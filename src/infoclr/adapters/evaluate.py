"""Held-out evaluation of a refinement: the input, the guarded output, the chosen candidate
and the unselected last epoch, scored on rows (or queries) the refinement never saw.

Used by the experiments in ``benchmarks/refine_*.py``; each returns plain dicts of numbers.
"""

from __future__ import annotations

import numpy as np

from infoclr.adapters.engine import AdapterResult

__all__ = ["VARIANTS", "heldout_probe_scores", "heldout_retrieval_scores", "hide_labels"]

#: What a refinement can hand back: the input, the guarded output, the candidate the select
#: rows chose (without the guard), and the last epoch (without selection).
VARIANTS = ("input", "output", "chosen", "last")


def hide_labels(labels: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """A copy of (N,) labels with all but a random ``fraction`` of the rows set to −1 (at least
    one row per class stays labelled where the class has a row)."""
    labels = np.asarray(labels, dtype=np.int64)
    rng = np.random.default_rng(seed)
    keep = rng.random(labels.size) < fraction
    for label in np.unique(labels[labels >= 0]):
        rows = np.flatnonzero(labels == label)
        if not keep[rows].any():
            keep[rng.choice(rows)] = True
    return np.where(keep, labels, -1)


def _refined(result: AdapterResult, x: np.ndarray, variant: str, documents: bool = False):
    if variant == "input":
        return np.asarray(x, dtype=np.float32)
    if documents:
        return result.refine_documents(x, variant)
    return result.refine(x, variant)


def heldout_probe_scores(
    result: AdapterResult,
    train_x: np.ndarray,
    train_labels: np.ndarray,
    test_x: np.ndarray,
    test_labels: np.ndarray,
) -> dict[str, dict[str, float]]:
    """``{variant: {"linear_top1", "knn_top1"}}``: probes trained on the (refined) training
    rows with ``train_labels``, scored on the (refined) held-out rows
    (:func:`infoclr.evaluation.probes.probe_correctness`)."""
    from infoclr.evaluation.probes import probe_correctness

    out = {}
    for variant in VARIANTS:
        scores = probe_correctness(
            _refined(result, train_x, variant),
            train_labels,
            _refined(result, test_x, variant),
            test_labels,
        )
        out[variant] = {k: float(scores[k].mean()) for k in ("linear_top1", "knn_top1")}
    return out


def heldout_retrieval_scores(
    result: AdapterResult, queries: np.ndarray, documents: np.ndarray, pairs: np.ndarray
) -> dict[str, dict[str, float]]:
    """``{variant: {"recall@1", "recall@10", "mrr", "ndcg@10"}}`` of held-out queries against the
    whole (refined, unless query-only) document index
    (:func:`infoclr.evaluation.retrieval.retrieval_scores`)."""
    from infoclr.evaluation.retrieval import retrieval_scores

    out = {}
    for variant in VARIANTS:
        means = retrieval_scores(
            _refined(result, queries, variant),
            _refined(result, documents, variant, documents=True),
            pairs,
        ).means()
        out[variant] = {k: means[k] for k in ("recall@1", "recall@10", "mrr", "ndcg@10")}
    return out
