"""Tests for infoclr.clusters.tags against a plain-Python reference."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest

from infoclr.clusters.tags import fit_tag_clusters, parse_tags, tag_clusters
from infoclr.errors import ConfigError, DataError


def reference_tag_clusters(rows: list[set[str]], k: int) -> list[int]:
    counts: dict[str, int] = {}
    for row in rows:
        for tag in row:
            counts[tag] = counts.get(tag, 0) + 1
    top = sorted(counts, key=lambda tag: (-counts[tag], tag))[:k]
    patterns = [tuple(int(tag in row) for tag in top) for row in rows]
    numbering = {pattern: index for index, pattern in enumerate(sorted(set(patterns)))}
    return [numbering[pattern] for pattern in patterns]


def test_parse_tags() -> None:
    parsed = parse_tags(["a; b;;c", ["x", " y "], None, float("nan"), "a;a"], separator=";")
    assert parsed == [{"a", "b", "c"}, {"x", "y"}, set(), set(), {"a"}]
    assert parse_tags(["#beach #sunset", "#beach"], separator=" ") == [
        {"#beach", "#sunset"},
        {"#beach"},
    ]


def test_matches_loop_reference() -> None:
    rng = random.Random(3)
    vocabulary = [f"tag{i}" for i in range(9)]
    weights = [9, 7, 7, 5, 4, 4, 2, 1, 1]
    rows = [set(rng.choices(vocabulary, weights, k=rng.randrange(0, 4))) for _ in range(80)]
    strings = ["|".join(sorted(row)) for row in rows]
    ks = [1, 2, 4, 9]
    # Some sampled tags may never occur; only ask for k up to what is there.
    n_distinct = len(set().union(*rows))
    ks = [k for k in ks if k <= n_distinct]
    result = tag_clusters(strings, ks, separator="|")
    for k in ks:
        assert result[k].tolist() == reference_tag_clusters(rows, k)


def test_ranking_and_ties_are_alphabetical() -> None:
    fitted = fit_tag_clusters(["b;a", "b;c", "c;a", "b", "d"], [2, 3])
    assert fitted.ranked_tags == ("b", "a", "c", "d")
    assert fitted.tag_counts == (3, 2, 2, 1)
    assert fitted.tags(2) == ("b", "a")
    # Patterns over (b, a): (1,1), (1,0), (0,1), (1,0), (0,0) -> ids by ascending pattern.
    assert fitted.cluster_ids[2].tolist() == [3, 2, 1, 2, 0]
    assert fitted.cluster_patterns(2).tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]
    assert fitted.n_clusters(3) == len(set(fitted.cluster_ids[3].tolist()))


def test_pandas_column_with_missing_values() -> None:
    column = pd.Series(["a;b", np.nan, "a", "b"])
    ids = tag_clusters(column, 2)[2]
    assert ids[1] == 0  # no tags: the all-zero pattern, numbered first


def test_transform_new_rows() -> None:
    fitted = fit_tag_clusters(["a", "a;b", "a", "c"], 2)  # top tags: a, b
    assert fitted.tags(2) == ("a", "b")
    # Seen: (1,0)=1, (1,1)=2, (0,0)=0; unseen (0,1) -> new id 3 or -1. 'c' and 'z' are ignored.
    assert fitted.transform(["a", "b", "a;b;z", "c"])[2].tolist() == [1, 3, 2, 0]
    assert fitted.transform(["b"], unseen="missing")[2].tolist() == [-1]


def test_errors() -> None:
    with pytest.raises(ConfigError, match="top_k=4 exceeds the 3 distinct tag"):
        tag_clusters(["a;b", "c"], 4)
    with pytest.raises(ConfigError, match="separator is empty"):
        tag_clusters(["a", "b"], 1, separator="")
    with pytest.raises(DataError, match="1 row"):
        tag_clusters(["a;b"], 1)
    with pytest.raises(DataError, match="no tags"):
        tag_clusters([None, ""], 1)
    with pytest.raises(DataError, match="row 2 is 5"):
        tag_clusters(["a", 5], 1)
    with pytest.raises(ConfigError, match="k=3 was not fitted"):
        fit_tag_clusters(["a", "b"], 1).tags(3)
