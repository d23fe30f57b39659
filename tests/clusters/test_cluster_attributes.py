"""Tests for infoclr.clusters.attributes against a plain-Python reference."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from infoclr.clusters.attributes import (
    attribute_clusters,
    binary_columns,
    fit_attribute_clusters,
    rank_attributes,
)
from infoclr.errors import ConfigError, DataError


def reference_entropy(column: list[int]) -> float:
    total = len(column)
    entropy = 0.0
    for value in (0, 1):
        count = sum(1 for v in column if v == value)
        if count:
            entropy -= count / total * math.log2(count / total)
    return entropy


def reference_clusters(rows: list[list[int]], k: int) -> list[int]:
    """Rank by entropy (stable), take k, number the k-tuples in ascending tuple order."""
    n_attributes = len(rows[0])
    entropies = [reference_entropy([row[a] for row in rows]) for a in range(n_attributes)]
    order: list[int] = []
    remaining = list(range(n_attributes))
    while remaining:
        best = remaining[0]
        for candidate in remaining:
            # Complementary columns have equal entropy but may differ in the last float bit
            # here; treat values within 1e-12 as a tie so the reference follows column order.
            if entropies[candidate] > entropies[best] + 1e-12:
                best = candidate
        order.append(best)
        remaining.remove(best)
    patterns = [tuple(row[a] for a in order[:k]) for row in rows]
    numbering = {pattern: index for index, pattern in enumerate(sorted(set(patterns)))}
    return [numbering[pattern] for pattern in patterns]


@pytest.mark.parametrize("n_attributes", [6, 70])
def test_matches_loop_reference(n_attributes: int) -> None:
    rng = np.random.default_rng(n_attributes)
    # Different rates per column give a non-trivial ranking; some columns tie exactly.
    rates = rng.choice([0.1, 0.3, 0.5, 0.7], size=n_attributes)
    matrix = (rng.random((40, n_attributes)) < rates).astype(int)
    rows = matrix.tolist()
    ks = [1, 2, 3, n_attributes]
    result = attribute_clusters(matrix, None, ks)
    for k in ks:
        expected = reference_clusters(rows, k)
        assert result[k].tolist() == expected
        assert result[k].max() + 1 == len(set(expected)) <= 2**k


def test_ranking_by_entropy_with_stable_ties() -> None:
    table = pd.DataFrame(
        {
            "zero": [0] * 8,  # H = 0
            "two": [1, 1, 0, 0, 0, 0, 0, 0],  # H(1/4)
            "half": [1, 0] * 4,  # H = 1
            "six": [0, 0, 1, 1, 1, 1, 1, 1],  # H(3/4) = H(1/4): ties with "two"
        }
    )
    ranking = rank_attributes(table)
    assert [name for name, _ in ranking] == ["half", "two", "six", "zero"]
    quarter = -(0.25 * math.log2(0.25) + 0.75 * math.log2(0.75))
    assert [entropy for _, entropy in ranking] == pytest.approx([1.0, quarter, quarter, 0.0])
    assert ranking[1][1] == ranking[2][1]  # an exact tie, so column order decides


def test_ids_do_not_depend_on_row_order() -> None:
    rng = np.random.default_rng(1)
    matrix = (rng.random((30, 5)) < 0.4).astype(int)
    permutation = rng.permutation(30)
    original = attribute_clusters(matrix, None, 3)[3]
    shuffled = attribute_clusters(matrix[permutation], None, 3)[3]
    assert shuffled.tolist() == original[permutation].tolist()


def test_cluster_patterns_decode_the_ids() -> None:
    table = pd.DataFrame(
        {
            "a": [True, False, True, False, True],
            "b": [1.0, 1.0, 0.0, 0.0, 1.0],
            "c": [0, 0, 0, 1, 0],
        }
    )
    fitted = fit_attribute_clusters(table, ["a", "b", "c"], [2, 3])
    for k in (2, 3):
        used = list(fitted.attributes(k))
        patterns = fitted.cluster_patterns(k)
        assert fitted.n_clusters(k) == len(patterns)
        for row, cluster in enumerate(fitted.cluster_ids[k]):
            assert patterns[cluster].tolist() == table.loc[row, used].astype(int).tolist()


def test_transform_uses_training_ranking_and_numbering() -> None:
    train = pd.DataFrame({"x": [0, 1, 0, 1, 1, 1], "y": [0, 0, 1, 1, 0, 0], "z": [1] * 6})
    fitted = fit_attribute_clusters(train, ["x", "y", "z"], 2)
    # H(x) = H(4/6) ties exactly with H(y) = H(2/6); z is constant. Column order breaks the tie.
    assert fitted.attributes(2) == ("x", "y")
    again = fitted.transform(train)
    assert again[2].tolist() == fitted.cluster_ids[2].tolist()

    train_small = pd.DataFrame({"x": [0, 0, 1, 1], "y": [0, 0, 0, 0], "z": [0, 1, 0, 1]})
    fitted_small = fit_attribute_clusters(train_small, ["x", "y", "z"], 2)
    assert fitted_small.attributes(2) == ("x", "z")
    assert fitted_small.n_clusters(2) == 4
    val = pd.DataFrame({"x": [1, 0], "z": [1, 0], "y": [1, 1]})
    # y is not among the top 2, so it cannot make a pattern unseen.
    assert fitted_small.transform(val)[2].tolist() == [3, 0]

    fitted_x = fit_attribute_clusters(train_small, ["x", "y"], 2)  # patterns (0,0), (1,0)
    val_unseen = pd.DataFrame({"x": [1, 0, 1, 0, 1], "y": [1, 1, 0, 0, 1]})
    assert fitted_x.transform(val_unseen)[2].tolist() == [3, 2, 1, 0, 3]
    assert fitted_x.transform(val_unseen, unseen="missing")[2].tolist() == [-1, -1, 1, 0, -1]
    with pytest.raises(ConfigError, match="unseen"):
        fitted_x.transform(val_unseen, unseen="drop")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="DataFrame"):
        fitted_x.transform(val_unseen.to_numpy())


def test_binary_columns_finds_zero_one_columns() -> None:
    table = pd.DataFrame(
        {"class": [1, 0, 1], "a": [0, 1, 1], "b": [True, False, True], "c": [0, 2, 1]}
    )
    assert binary_columns(table, exclude=["class"]) == ["a", "b"]


def test_non_binary_column_names_the_column_and_values() -> None:
    table = pd.DataFrame({"ok": [0, 1, 1], "colour": ["red", "blue", 1]})
    with pytest.raises(DataError, match=r"'colour' is not binary: it holds 'red', 'blue'"):
        attribute_clusters(table, ["ok", "colour"], 1)
    with pytest.raises(DataError, match=r"attribute column 1 is not binary: it holds 2"):
        attribute_clusters(np.array([[0, 2], [1, 1]]), None, 1)


def test_bad_k_and_tiny_tables() -> None:
    table = pd.DataFrame({"a": [0, 1, 1], "b": [1, 1, 0]})
    with pytest.raises(ConfigError, match="top_k=3 exceeds the 2 attribute"):
        attribute_clusters(table, ["a", "b"], [1, 3])
    with pytest.raises(ConfigError, match="positive"):
        attribute_clusters(table, ["a", "b"], 0)
    with pytest.raises(ConfigError, match="empty"):
        attribute_clusters(table, ["a", "b"], [])
    with pytest.raises(DataError, match="1 row"):
        attribute_clusters(table.iloc[:1], ["a", "b"], 1)


def test_missing_values_and_columns() -> None:
    table = pd.DataFrame({"a": [0, 1, None, 1], "b": [1, 1, 0, 0]})
    with pytest.raises(DataError, match=r"'a' .* data row\(s\) 3 "):
        attribute_clusters(table, ["a", "b"], 1)
    with pytest.raises(DataError, match="available columns: a, b"):
        attribute_clusters(table, ["nope"], 1)
    with pytest.raises(ConfigError, match="not a column index"):
        attribute_clusters(np.zeros((3, 2)), [5], 1)


def test_near_tie_at_the_cut_is_reported() -> None:
    rows = 1000
    # p = 0.50 and 0.48 differ by 0.0012 bits; p = 0.20 is 0.28 bits lower still.
    table = pd.DataFrame(
        {
            "colour": (np.arange(rows) < 500).astype(int),
            "corners": (np.arange(rows) < 480).astype(int),
            "left": (np.arange(rows) < 200).astype(int),
        }
    ).sample(frac=1.0, random_state=1)
    fitted = fit_attribute_clusters(table, ["colour", "corners", "left"], [1, 2, 3])
    message = fitted.near_tie(1)
    assert message is not None
    assert "top-1 cut: colour (1.0000 bits) is kept and corners (0.9988 bits) is not" in message
    assert fitted.near_tie(2) is None  # corners 0.9988 vs left 0.7219: a clear gap
    assert fitted.near_tie(3) is None  # nothing is dropped
    assert fitted.near_tie(2, tolerance_bits=0.5) is not None
