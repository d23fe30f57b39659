"""Run comparisons against loop references: paired differences, verdicts, Spearman's ρ, η²."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from infoclr.errors import DataError
from infoclr.evaluation.stats import (
    CLEARLY_ABOVE,
    CLEARLY_BELOW,
    NO_CLEAR_DIFFERENCE,
    UNDETERMINED,
    explained_variance,
    mean_std,
    paired_delta,
    paired_differences,
    spearman,
    standard_error,
    verdict,
)


def loop_standard_error(values: list[float]) -> float:
    mean = sum(values) / len(values)
    variance = sum((v - mean) ** 2 for v in values) / (len(values) - 1)
    return math.sqrt(variance) / math.sqrt(len(values))


def loop_verdict(values: list[float]) -> str:
    if len(values) < 2:
        return UNDETERMINED
    mean = sum(values) / len(values)
    if mean > 2 * loop_standard_error(values):
        return CLEARLY_ABOVE
    if -mean > 2 * loop_standard_error(values):
        return CLEARLY_BELOW
    return NO_CLEAR_DIFFERENCE


def test_paired_differences_pair_by_seed_and_skip_unfinished_runs() -> None:
    accuracy = {("base", 0): 0.5, ("base", 1): 0.6, ("base", 2): 0.7, ("base", 3): 0.4}
    accuracy.update({("new", 2): 0.72, ("new", 0): 0.55, ("new", 3): None})
    runs = pd.DataFrame(
        [{"variant": v, "seed": s, "acc": a} for (v, s), a in accuracy.items()]
        + [{"variant": "other", "seed": 1, "acc": 0.9}]
    )
    expected = []
    for seed in sorted({s for (v, s) in accuracy if v == "base"}):
        ours = accuracy.get(("new", seed))
        if ours is not None:
            expected.append((seed, ours - accuracy[("base", seed)]))
    got = paired_differences(runs, "acc", "new", "base")
    assert list(got.index) == [seed for seed, _ in expected]
    assert got.to_numpy() == pytest.approx([d for _, d in expected])
    assert paired_differences(runs, "acc", "missing", "base").empty
    with pytest.raises(DataError, match="one run per seed"):
        paired_differences(pd.concat([runs, runs.iloc[:1]]), "acc", "new", "base")


@pytest.mark.parametrize(
    "values",
    [[0.05, 0.04, 0.06], [0.05, -0.04, 0.02], [-0.05, -0.04, -0.06], [0.05], [0.01, 0.01, 0.01]],
)
def test_standard_error_and_verdict_match_loops(values: list[float]) -> None:
    assert verdict(values) == loop_verdict(values)
    if len(values) > 1:
        assert standard_error(values) == pytest.approx(loop_standard_error(values))
    else:
        assert math.isnan(standard_error(values))


def test_verdict_threshold_counts_standard_errors() -> None:
    values = [0.03, 0.01, 0.02]  # mean 0.02, standard error 0.00577: 3.46 errors above zero
    assert verdict(values) == CLEARLY_ABOVE
    assert verdict(values, threshold=4.0) == NO_CLEAR_DIFFERENCE


def loop_ranks(values: list[float]) -> list[float]:
    ranks = []
    for value in values:
        below = sum(other < value for other in values)
        ties = sum(other == value for other in values)
        ranks.append(below + (ties + 1) / 2)
    return ranks


def loop_pearson(xs: list[float], ys: list[float]) -> float:
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    cov = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    sx = math.sqrt(sum((x - mx) ** 2 for x in xs))
    sy = math.sqrt(sum((y - my) ** 2 for y in ys))
    return cov / (sx * sy)


def test_spearman_matches_pearson_of_average_ranks() -> None:
    rng = np.random.default_rng(0)
    xs = rng.integers(0, 5, size=12).astype(float).tolist()  # ties on purpose
    ys = rng.normal(size=12).tolist()
    expected = loop_pearson(loop_ranks(xs), loop_ranks(ys))
    assert spearman(xs, ys) == pytest.approx(expected)
    assert math.isnan(spearman([1.0, 2.0], [2.0, 1.0]))
    assert math.isnan(spearman([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]))
    with pytest.raises(DataError, match="differ in length"):
        spearman([1.0, 2.0, 3.0], [1.0, 2.0])


def test_explained_variance_matches_a_loop_reference() -> None:
    rng = np.random.default_rng(0)
    groups = rng.integers(0, 4, size=200)
    features = rng.normal(size=(200, 5)) + 3.0 * groups[:, None]
    mean = features.mean(axis=0)
    total = sum(float(((row - mean) ** 2).sum()) for row in features)
    between = 0.0
    for g in set(groups.tolist()):
        members = features[groups == g]
        between += len(members) * float(((members.mean(axis=0) - mean) ** 2).sum())
    assert explained_variance(features, groups) == pytest.approx(between / total, abs=1e-12)
    assert explained_variance(features, np.zeros(200)) < 1e-12
    assert explained_variance(features, np.arange(200)) == pytest.approx(1.0)
    assert explained_variance(np.ones((4, 2)), [0, 1, 0, 1]) == 0.0
    with pytest.raises(DataError, match="3 groups for 200"):
        explained_variance(features, [0, 1, 2])


def test_table_cells_print_mean_std_and_marked_paired_deltas() -> None:
    assert mean_std([0.81, 0.82, None, float("nan")]) == "81.5 ± 0.7"
    assert mean_std([0.81]) == "81.0" and mean_std([]) == "—"
    assert mean_std([1.0, 3.0], scale=1.0, digits=2, sign="+") == "+2.00 ± 1.41"
    runs = pd.DataFrame(
        {
            "variant": ["simclr"] * 3 + ["x"] * 3 + ["y"] * 3,
            "seed": [0, 1, 2] * 3,
            "acc": [0.5, 0.5, 0.5, 0.6, 0.61, 0.62, 0.49, 0.52, 0.5],
        }
    )
    assert paired_delta(runs, "acc", "x", "simclr") == "+11.0 ± 1.0 ▲"
    assert paired_delta(runs, "acc", "simclr", "x") == "-11.0 ± 1.0 ▼"
    assert paired_delta(runs, "acc", "y", "simclr") == "+0.3 ± 1.5"
    assert paired_delta(runs, "acc", "z", "simclr") == "—"
