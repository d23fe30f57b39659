"""The guard's paired gain and decision against loops over the formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest

from infoclr.errors import ConfigError, DataError
from infoclr.evaluation.guard import guard, paired_gain


def loop_gain_and_se(before: list[float], after: list[float]) -> tuple[float, float]:
    n = len(before)
    diffs = [a - b for a, b in zip(after, before, strict=True)]
    mean = sum(diffs) / n
    variance = sum((d - mean) ** 2 for d in diffs) / (n - 1)
    return mean, math.sqrt(variance / n)


def test_se_band_matches_loop() -> None:
    rng = np.random.default_rng(0)
    before = (rng.random(50) < 0.7).astype(float)
    after = (rng.random(50) < 0.8).astype(float)
    gain, se = loop_gain_and_se(before.tolist(), after.tolist())
    result = paired_gain(before, after, "knn", z=2.0)
    assert result.gain == pytest.approx(gain) and result.std_error == pytest.approx(se)
    assert result.lower == pytest.approx(gain - 2 * se)
    assert result.upper == pytest.approx(gain + 2 * se)
    assert result.before == pytest.approx(before.mean()) and result.rows == 50


def test_bootstrap_band_matches_loop() -> None:
    rng = np.random.default_rng(1)
    before, after = rng.normal(size=30), rng.normal(0.3, 1, size=30)
    result = paired_gain(before, after, method="bootstrap", z=2.0, resamples=300, seed=5)
    draw = np.random.default_rng(5).integers(0, 30, size=(300, 30))
    means = []
    for picks in draw:
        means.append(sum(after[i] - before[i] for i in picks) / 30)
    tail = 0.5 * math.erfc(2 / math.sqrt(2))
    assert result.lower == pytest.approx(np.quantile(means, tail))
    assert result.upper == pytest.approx(np.quantile(means, 1 - tail))


def test_decisions() -> None:
    before = np.zeros(100)
    clear = np.r_[np.ones(30), np.zeros(70)]  # +0.30, SE 0.046
    small = np.r_[np.ones(2), np.zeros(98)]  # +0.02, SE 0.014: within noise
    accepted = guard({"knn": before}, {"knn": clear}, "knn")
    assert accepted.accepted and "above its noise" in accepted.reason
    rejected = guard({"knn": before}, {"knn": small}, "knn")
    assert not rejected.accepted and "within its noise" in rejected.reason
    # A protected metric that falls blocks an otherwise clear gain ...
    linear_before, linear_after = np.ones(100), np.r_[np.zeros(2), np.ones(98)]
    blocked = guard(
        {"knn": before, "linear": linear_before},
        {"knn": clear, "linear": linear_after},
        "knn",
        protected=["linear"],
    )
    assert not blocked.accepted and "linear fell by 0.0200" in blocked.reason
    # ... unless the drop is within the tolerance.
    tolerated = guard(
        {"knn": before, "linear": linear_before},
        {"knn": clear, "linear": linear_after},
        "knn",
        protected=["linear"],
        tolerance=0.02,
    )
    assert tolerated.accepted
    assert tolerated.as_dict()["protected"][0]["gain"] == pytest.approx(-0.02)


def test_null_refiner_is_rarely_accepted() -> None:
    """A candidate with no true gain (rows turn right and wrong equally often) passes the
    2-SE guard in about 2.3 % of runs; a 0.5-SE band would pass it far more often."""
    rng = np.random.default_rng(3)
    passed = {2.0: 0, 0.5: 0}
    for _ in range(400):
        change = rng.choice([-1.0, 0.0, 1.0], p=[0.04, 0.92, 0.04], size=300)
        before = (rng.random(300) < 0.8).astype(float)
        before[change == -1] = 1.0
        before[change == 1] = 0.0
        for z in passed:
            passed[z] += guard({"a": before}, {"a": before + change}, "a", z=z).accepted
    assert 0 < passed[2.0] / 400 < 0.05
    assert passed[0.5] / 400 > 0.2


def test_bad_inputs() -> None:
    with pytest.raises(DataError, match="same rows"):
        paired_gain(np.ones(3), np.ones(4))
    with pytest.raises(ConfigError, match="'se' or 'bootstrap'"):
        paired_gain(np.ones(3), np.ones(3), method="t")
    with pytest.raises(DataError, match="no per-row scores for 'linear'"):
        guard({"knn": np.ones(3)}, {"knn": np.ones(3)}, "knn", protected=["linear"])
