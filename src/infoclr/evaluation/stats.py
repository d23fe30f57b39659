"""Comparing runs over seeds: paired differences, "clearly" verdicts, rank correlation and η².

A *paired* difference subtracts the baseline run that shares the seed (the same initial weights
and data order, and for generated data the same data), which removes the variance both runs
share. A difference is *clearly* above or below zero when its mean lies more than two standard
errors from zero: with three seeds a rough screen, not a significance test. Built on pandas and
scipy. :func:`mean_std` and :func:`paired_delta` print such figures as table cells.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from infoclr.arrays import ArrayLike, to_numpy
from infoclr.errors import DataError

__all__ = [
    "CLEARLY_ABOVE",
    "CLEARLY_BELOW",
    "NO_CLEAR_DIFFERENCE",
    "UNDETERMINED",
    "explained_variance",
    "mean_std",
    "paired_delta",
    "paired_differences",
    "spearman",
    "standard_error",
    "verdict",
]

CLEARLY_ABOVE = "clearly above"
CLEARLY_BELOW = "clearly below"
NO_CLEAR_DIFFERENCE = "no clear difference"
UNDETERMINED = "undetermined (1 seed)"


def paired_differences(
    runs: pd.DataFrame,
    metric: str,
    variant: str,
    baseline: str,
    by: str = "variant",
    pair: str = "seed",
) -> pd.Series:
    """``metric`` of ``variant`` minus that of ``baseline``, paired on ``pair``.

    Args:
        runs: one row per run, with columns ``by``, ``pair`` and ``metric``.
        metric: the column to compare (missing values are skipped).
        variant, baseline: values of ``runs[by]``.
        by: the column that names the variant.
        pair: the column runs are paired on (the seed).

    Returns:
        The differences, indexed by ``pair`` in order, only where both runs have the metric;
        empty when either variant has no runs.

    Raises:
        DataError: if a variant has two runs with the same ``pair`` value.
    """
    picked = runs[runs[by].isin([variant, baseline])]
    if picked.duplicated([by, pair]).any():
        raise DataError(f"two runs share a {by} and a {pair}; keep one run per {pair}")
    wide = picked.pivot(index=pair, columns=by, values=metric).sort_index()
    if variant not in wide or baseline not in wide:
        return pd.Series(dtype=float)
    return (wide[variant].astype(float) - wide[baseline].astype(float)).dropna()


def standard_error(values: Sequence[float] | ArrayLike) -> float:
    """Standard error of the mean (sample std with ddof = 1, over √n); NaN below 2 values."""
    array = np.asarray(to_numpy(values), dtype=np.float64).reshape(-1)
    return float(stats.sem(array)) if array.size >= 2 else float("nan")


def verdict(differences: Sequence[float] | ArrayLike, threshold: float = 2.0) -> str:
    """Where paired differences lie relative to zero.

    Returns:
        :data:`CLEARLY_ABOVE` / :data:`CLEARLY_BELOW` when the mean lies more than
        ``threshold`` standard errors above / below zero, :data:`NO_CLEAR_DIFFERENCE`
        otherwise, and :data:`UNDETERMINED` for fewer than two differences.
    """
    array = np.asarray(to_numpy(differences), dtype=np.float64).reshape(-1)
    if array.size < 2:
        return UNDETERMINED
    mean, margin = float(array.mean()), threshold * standard_error(array)
    if mean > margin:
        return CLEARLY_ABOVE
    if mean < -margin:
        return CLEARLY_BELOW
    return NO_CLEAR_DIFFERENCE


def spearman(xs: Sequence[float] | ArrayLike, ys: Sequence[float] | ArrayLike) -> float:
    """Spearman's rank correlation (average ranks for ties); NaN below 3 points or when either
    input is constant."""
    x = np.asarray(to_numpy(xs), dtype=np.float64).reshape(-1)
    y = np.asarray(to_numpy(ys), dtype=np.float64).reshape(-1)
    if x.size != y.size:
        raise DataError(f"xs and ys differ in length ({x.size} vs {y.size})")
    if x.size < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(stats.spearmanr(x, y).statistic)


def mean_std(
    values: Iterable[float | None], scale: float = 100.0, digits: int = 1, sign: str = ""
) -> str:
    """``"81.3 ± 0.4"``: the mean ± sample standard deviation of ``values`` × ``scale``, as a
    table cell (``sign="+"`` prints the mean's sign); one value prints alone, none prints
    ``"—"``; missing values (None, NaN) are skipped."""
    array = np.asarray([v for v in values if v is not None and v == v], dtype=np.float64)
    if not array.size:
        return "—"
    text = f"{scale * array.mean():{sign}.{digits}f}"
    return text if array.size < 2 else f"{text} ± {scale * array.std(ddof=1):.{digits}f}"


def paired_delta(
    runs: pd.DataFrame, metric: str, variant: str, baseline: str, by: str = "variant"
) -> str:
    """:func:`paired_differences` in points (× 100) as a :func:`mean_std` cell with its sign,
    marked ``▲`` / ``▼`` when :func:`verdict` finds it clearly above / below zero; ``"—"``
    when no run pairs up."""
    differences = paired_differences(runs, metric, variant, baseline, by=by)
    if differences.empty:
        return "—"
    mark = {CLEARLY_ABOVE: " ▲", CLEARLY_BELOW: " ▼"}.get(verdict(differences), "")
    return mean_std(differences, sign="+") + mark


def explained_variance(features: ArrayLike, groups: Sequence[Any] | ArrayLike) -> float:
    """η²: the share of the features' total variance that lies between the group means,
    Σ_g n_g ‖μ_g − μ‖² / Σ_i ‖x_i − μ‖².

    0 when every group has the same mean, 1 when each group collapses to its mean. Unlike a
    linear probe, it does not saturate as soon as the groups are merely separable.

    Args:
        features: (N, D) numbers.
        groups: (N,) group of each row; any hashable values.

    Returns:
        η² in [0, 1]; 0 for features without variance.
    """
    matrix = np.asarray(to_numpy(features), dtype=np.float64)
    labels = to_numpy(groups).reshape(-1)
    if matrix.ndim != 2 or matrix.shape[0] == 0:
        raise DataError(f"features must be a non-empty (N, D) array, got {matrix.shape}")
    if labels.shape[0] != matrix.shape[0]:
        raise DataError(f"{labels.shape[0]} groups for {matrix.shape[0]} feature rows")
    if not np.isfinite(matrix).all():
        raise DataError("features hold NaN or inf; drop or fix those rows")
    centred = pd.DataFrame(matrix - matrix.mean(axis=0))
    total = float((centred**2).to_numpy().sum())
    group_means = centred.groupby(labels).transform("mean")
    return float((group_means**2).to_numpy().sum()) / total if total > 0 else 0.0
