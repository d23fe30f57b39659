"""Tests for infoclr.clusters.stats against hand loops over the definitions."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from infoclr.clusters.stats import (
    PUBLISHED_NAMES,
    ClusterStats,
    cluster_statistics,
    entropy_bits,
    statistics_frame,
    table_statistics,
)
from infoclr.errors import ConfigError, DataError


def loop_entropy(values: list) -> float:
    counts = Counter(values)
    total = len(values)
    return -sum(c / total * math.log2(c / total) for c in counts.values())


def loop_statistics(clusters: list, labels: list) -> dict[str, float]:
    h_z = loop_entropy(clusters)
    h_t = loop_entropy(labels)
    h_zt = loop_entropy(list(zip(clusters, labels, strict=True)))
    return {
        "H(Z)": h_z,
        "H(T)": h_t,
        "H(Z,T)": h_zt,
        "H(Z|T)": h_zt - h_t,
        "H(T|Z)": h_zt - h_z,
        "I(Z;T)": h_z - (h_zt - h_t),
        "n_clusters": len(set(clusters)),
        "n_labels": len(set(labels)),
        "largest_cluster_share": max(Counter(clusters).values()) / len(clusters),
    }


def test_entropy_matches_loop() -> None:
    rng = np.random.default_rng(0)
    ints = rng.integers(0, 7, size=50).tolist()
    words = [f"w{v}" for v in rng.integers(0, 4, size=50)]
    assert entropy_bits(ints) == pytest.approx(loop_entropy(ints), abs=1e-12)
    assert entropy_bits(ints, words) == pytest.approx(
        loop_entropy(list(zip(ints, words, strict=True))), abs=1e-12
    )
    assert entropy_bits([3, 3, 3]) == 0.0
    assert entropy_bits([0, 1, 2, 3]) == pytest.approx(2.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_statistics_match_loop(seed: int) -> None:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 5, size=60).tolist()
    clusters = [
        f"c{(label * 3 + int(noise)) % 7}"
        for label, noise in zip(labels, rng.integers(0, 3, size=60), strict=True)
    ]
    stats = cluster_statistics(clusters, labels)
    values = stats.as_dict()
    for key, expected in loop_statistics(clusters, labels).items():
        assert values[key] == pytest.approx(expected, abs=1e-12), key
    assert values["n_samples"] == 60


def test_supervised_clusters_give_full_information_and_no_split() -> None:
    labels = [0, 0, 1, 2, 2, 2, 3]
    relabelled = ["d", "d", "a", "c", "c", "c", "b"]  # a bijection of the labels
    stats = cluster_statistics(relabelled, labels)
    assert stats.cluster_entropy_given_label == 0.0
    assert stats.label_entropy_given_cluster == 0.0
    assert stats.mutual_information == stats.label_entropy == pytest.approx(loop_entropy(labels))
    assert stats.published_score == -math.inf


def test_instance_ids_give_full_information_and_the_largest_split() -> None:
    rng = np.random.default_rng(4)
    labels = rng.integers(0, 4, size=40)
    instance = cluster_statistics(np.arange(40), labels)
    assert instance.mutual_information == pytest.approx(instance.label_entropy, abs=1e-12)
    assert instance.cluster_entropy_given_label == pytest.approx(
        math.log2(40) - instance.label_entropy, abs=1e-12
    )
    for n_clusters in (1, 2, 5, 20, 39):
        other = cluster_statistics(rng.integers(0, n_clusters, size=40), labels)
        assert other.cluster_entropy_given_label <= instance.cluster_entropy_given_label + 1e-12
        assert other.mutual_information <= instance.mutual_information + 1e-12


def test_constant_clusters_carry_no_information() -> None:
    stats = cluster_statistics([7] * 6, [0, 1, 0, 1, 2, 2])
    assert stats.cluster_entropy == 0.0
    assert stats.mutual_information == 0.0
    assert stats.n_clusters == 1 and stats.largest_cluster_share == 1.0


def test_published_score_and_names() -> None:
    def with_conditional(value: float) -> ClusterStats:
        return ClusterStats(10, 4, 3, 0.5, 3.0, 2.0, 2.0 + value, value, 0.0, 1.5)

    assert with_conditional(2.0).published_score == pytest.approx(math.log(1.5 / math.log(2.0)))
    assert math.isnan(with_conditional(0.5).published_score)
    assert with_conditional(1.0).published_score == math.inf
    values = with_conditional(2.0).as_dict()
    for ours, theirs in PUBLISHED_NAMES.items():
        if ours != "published_score":
            assert values[theirs] == values[ours]
    assert values["log(I(Y;T)/log(H(Y|T)))"] == with_conditional(2.0).published_score


def test_table_statistics_order_references_and_frame() -> None:
    table = pd.DataFrame(
        {
            "label": [0, 0, 1, 1, 2, 2],
            "label_gran_2": [0, 1, 0, 1, 0, 1],
            "cluster_attr_k1": [0, 0, 1, 1, 1, 1],
            "other": [5, 5, 5, 5, 5, 5],
        }
    )
    results = table_statistics(table, "label")
    assert list(results) == ["label", "label_gran_2", "cluster_attr_k1", "instance_id"]
    assert results["label_gran_2"] == cluster_statistics(table["label_gran_2"], table["label"])
    assert results["instance_id"] == cluster_statistics(range(6), table["label"])
    only = table_statistics(table, "label", ["other"], include_references=False)
    assert list(only) == ["other"]
    frame = statistics_frame(results, ["H(Y|T)", "I(Y;T)"])
    assert list(frame.columns) == ["H(Y|T)", "I(Y;T)"]
    assert frame.loc["label_gran_2", "I(Y;T)"] == results["label_gran_2"].mutual_information


def test_errors() -> None:
    table = pd.DataFrame({"label": [0, 1, 1], "cluster_x": [0, None, 1], "z": [1, 2, 3]})
    with pytest.raises(ConfigError, match="no cluster columns"):
        table_statistics(table[["label", "z"]], "label")
    with pytest.raises(DataError, match=r"'cluster_x' .* data row\(s\) 2 "):
        table_statistics(table, "label")
    with pytest.raises(DataError, match="available columns"):
        table_statistics(table, "class", ["z"])
    with pytest.raises(DataError, match="differ in length"):
        cluster_statistics([0, 1], [0, 1, 2])
    with pytest.raises(DataError, match="zero samples"):
        cluster_statistics([], [])
    with pytest.raises(DataError, match="missing values at row"):
        cluster_statistics([0, None], [0, 1])
