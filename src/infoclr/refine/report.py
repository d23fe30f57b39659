"""Before/after evaluation of a refinement run, the 2-D map and ``report.json``.

With labels, the report scores the original and the refined vectors on the *test* split of the
labelled rows, which selection never saw: a linear probe and a k-NN classifier trained on the
fit+val rows, and k-means NMI on the test rows (Strehl & Ghosh 2002; K = number of classes,
k-means++ with 5 restarts, see :func:`~infoclr.refine.select.kmeans_nmi_restarts`).
When ``test_fraction`` is 0 the val split is reused and the report says that its "after" number
is optimistic (it is the maximum over the candidates).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from infoclr.io import atomic_write_text
from infoclr.refine.fit import RefineResult
from infoclr.refine.select import kmeans_nmi_restarts, probe_scores

__all__ = ["before_after", "gather_rows", "write_json", "write_map"]


def gather_rows(vectors: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """(len(rows), D) float32 copy of ``vectors[rows]``, read in sorted order (memmap-friendly)."""
    order = np.argsort(rows, kind="stable")
    sorted_rows = np.asarray(vectors[rows[order]], dtype=np.float32)
    return sorted_rows[np.argsort(order, kind="stable")]


def _scores(
    features: np.ndarray, train: slice, test: slice, train_codes: np.ndarray, test_codes: np.ndarray
) -> dict[str, float]:
    scores = probe_scores(features[train], train_codes, features[test], test_codes)
    num_classes = len(np.unique(test_codes))
    if num_classes >= 2 and len(test_codes) > num_classes:
        scores["kmeans_nmi"] = kmeans_nmi_restarts(features[test], test_codes, num_classes)
    return scores


def before_after(
    vectors: np.ndarray, result: RefineResult, label_codes: np.ndarray | None
) -> dict[str, Any]:
    """Scores of the original and the refined vectors (see the module docstring).

    Returns a dict with ``protocol``, ``split`` sizes, ``original``, ``refined`` and
    ``change`` (refined − original) score dicts; without labels, the k-means stability of the
    evaluation rows before and after.
    """
    split = result.split
    if split is None or label_codes is None:
        candidates = result.selection.candidates
        chosen = next(c for c in candidates if c["epoch"] == result.selection.chosen_epoch)
        before = result.input_scores["kmeans_stability"]
        return {
            "protocol": "no labels: k-means stability of the evaluation rows (selection's score)",
            "original": {"kmeans_stability": before},
            "refined": {"kmeans_stability": chosen["kmeans_stability"]},
            "change": {"kmeans_stability": chosen["kmeans_stability"] - before},
        }
    if len(split.test):
        train_rows = np.concatenate([split.fit, split.val])
        test_rows = split.test
        protocol = (
            "probes trained on the fit+val rows, scored on the test rows that selection never saw"
        )
    else:
        train_rows, test_rows = split.fit, split.val
        protocol = (
            "test_fraction=0: probes trained on fit, scored on val, the split selection used; "
            "the refined score is optimistic"
        )
    rows = np.concatenate([train_rows, test_rows])
    original = gather_rows(vectors, rows)
    refined = result.refine(original)
    train, test = slice(0, len(train_rows)), slice(len(train_rows), len(rows))
    train_codes, test_codes = label_codes[train_rows], label_codes[test_rows]
    before = _scores(original, train, test, train_codes, test_codes)
    after = _scores(refined, train, test, train_codes, test_codes)
    return {
        "protocol": protocol,
        "split": split.sizes() | {"stratified": split.stratified},
        "original": before,
        "refined": after,
        "change": {key: after[key] - before[key] for key in before if key in after},
    }


def write_map(
    vectors: np.ndarray,
    result: RefineResult,
    colour_codes: np.ndarray | None,
    path: Path,
    method: str = "auto",
    max_points: int = 2000,
    title: str | None = None,
) -> Path:
    """PNG with 2-D maps of the original and the refined vectors, coloured by ``colour_codes``.

    Uses at most ``max_points`` rows (labelled rows first when there are codes), chosen with
    the run's seed.
    """
    from infoclr.evaluation.plots import embedding_map, plot_embedding_maps

    rng = np.random.default_rng(result.config.seed + 2)
    candidates = (
        np.flatnonzero(colour_codes >= 0)
        if colour_codes is not None
        else np.arange(vectors.shape[0])
    )
    if candidates.size > max_points:
        candidates = np.sort(rng.choice(candidates, size=max_points, replace=False))
    original = gather_rows(vectors, candidates)
    refined = result.refine(original)
    maps = {
        "original": embedding_map(original, method, seed=result.config.seed),
        f"refined (epoch {result.selection.chosen_epoch})": embedding_map(
            refined, method, seed=result.config.seed
        ),
    }
    colours = None if colour_codes is None else colour_codes[candidates]
    return plot_embedding_maps(maps, colours, path, title=title)


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, (Path, os.PathLike)):
        return str(value)
    return value


def write_json(payload: dict[str, Any], path: Path) -> Path:
    """Write ``payload`` as indented JSON, atomically (NaN/inf become null)."""
    return atomic_write_text(path, json.dumps(_json_safe(payload), indent=2) + "\n")
