"""The protocol of the alignment experiment (``benchmarks/refine_retrieval.py``), as a function:
fit the maps of ``infoclr align`` on some rows, score held-out queries against the old index.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["alignment_experiment"]


def alignment_experiment(
    old: np.ndarray,
    new: np.ndarray,
    new_queries: np.ndarray,
    relevance: np.ndarray,
    seed: int,
    by_task: bool = False,
    old_queries: np.ndarray | None = None,
    test_fraction: float = 0.2,
) -> dict[str, Any]:
    """Fit maps NEW → OLD on all but a random ``test_fraction`` of the rows; score held-out
    NEW queries, mapped, against OLD's whole index (Recall@1/10, MRR).

    Args:
        old, new: (N, d_old), (N, d_new) the same rows embedded by both encoders.
        new_queries: (N, d_new) one query per row, embedded by NEW (e.g. a headline).
        relevance: (P, 2) ``(query row, old row)`` relevant pairs over all rows.
        by_task: choose and guard the map by the training rows' queries finding their
            documents (``infoclr align --pairs``) instead of the rows finding themselves.
        old_queries: (N, d_old) the same queries embedded by OLD (a reference row).

    Returns:
        ``{"kept", "reason", "scores": {map: {...}}}`` with ``"no map"`` (equal dimensions
        only), every fitted candidate, ``"kept"`` and ``"old encoder's own queries"``.
    """
    from infoclr.align.config import AlignConfig
    from infoclr.align.maps import fit_alignment
    from infoclr.evaluation.retrieval import retrieval_scores

    rows = np.arange(len(old))
    test = np.sort(
        np.random.default_rng(seed).permutation(rows)[: round(test_fraction * len(rows))]
    )
    shared = np.setdiff1d(rows, test)

    def pairs_of(part: np.ndarray) -> np.ndarray:
        position = np.full(len(old), -1)
        position[part] = np.arange(part.size)
        kept = relevance[np.isin(relevance[:, 0], part)]
        return np.stack([position[kept[:, 0]], kept[:, 1]], 1)

    task = (new_queries[shared], pairs_of(shared)) if by_task else None
    result = fit_alignment(new[shared], old, shared, AlignConfig(seed=seed, threads=1), task)
    maps: dict[str, Any] = {"no map": None, **result.candidates, "kept": result.map}
    maps.pop("identity", None)  # the same as no map
    scores = {}
    for name, mapping in maps.items():
        if mapping is None and old.shape[1] != new.shape[1]:
            continue
        mapped = new_queries[test] if mapping is None else mapping.apply(new_queries[test])
        scores[name] = retrieval_scores(mapped, old, pairs_of(test), ks=(1, 10)).means()
    if old_queries is not None:
        own = retrieval_scores(old_queries[test], old, pairs_of(test), ks=(1, 10)).means()
        scores["old encoder's own queries"] = own
    return {"kept": result.map.kind, "reason": result.reason, "scores": scores}
