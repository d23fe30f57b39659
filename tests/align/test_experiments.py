"""The alignment experiment's protocol: maps fitted on some rows, scored on held-out queries."""

from __future__ import annotations

import numpy as np

from infoclr.align.experiments import alignment_experiment


def test_alignment_experiment_scores_held_out_queries() -> None:
    rng = np.random.default_rng(1)
    documents = rng.normal(size=(200, 8)).astype(np.float32)
    queries = (documents + 0.5 * rng.normal(size=documents.shape)).astype(np.float32)
    rows = np.arange(200)
    rotation, _ = np.linalg.qr(rng.normal(size=(8, 8)))
    relevance = np.stack([rows, rows], 1)
    out = alignment_experiment(documents, documents @ rotation, queries @ rotation, relevance, 0)
    assert out["scores"]["no map"]["recall@10"] < out["scores"]["procrustes"]["recall@10"]
    assert out["kept"] in ("procrustes", "lstsq", "refiner")
