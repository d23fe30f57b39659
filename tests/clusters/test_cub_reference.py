"""Reproduce the official Cl-InfoNCE CUB statistics (../shared/data/clinfonce, MIT licence).

``meta_data_train_stats.csv`` holds the values the authors of arXiv 2106.02869 published for
the ``label_gran_k`` columns of ``cub/meta_data_train.csv``; every one must match to 1e-6.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from infoclr.clusters.stats import statistics_frame, table_statistics
from infoclr.clusters.tables import read_table


@pytest.fixture
def clinfonce(shared_dir: Path) -> Path:
    folder = shared_dir / "data" / "clinfonce"
    if not folder.is_dir():
        pytest.skip("../shared/data/clinfonce is not present")
    return folder


def test_cub_statistics_match_the_published_table(clinfonce: Path) -> None:
    published = pd.read_csv(clinfonce / "cub" / "meta_data_train_stats.csv", index_col=0)
    table = read_table(clinfonce / "cub" / "meta_data_train.csv")
    ours = statistics_frame(table_statistics(table, "class"), published.columns)
    assert list(ours.index) == list(published.index)
    assert list(ours.columns) == list(published.columns)
    checked = 0
    for row in published.index:
        for column in published.columns:
            expected = float(published.loc[row, column])
            value = float(ours.loc[row, column])
            if math.isinf(expected):
                assert value == expected, (row, column)
            else:
                assert value == pytest.approx(expected, abs=1e-6), (row, column)
            checked += 1
    assert checked == 16 * 5


def test_official_tables_load_without_their_summary_rows(clinfonce: Path) -> None:
    raw = pd.read_csv(clinfonce / "cub" / "meta_data_train.csv")
    table = read_table(clinfonce / "cub" / "meta_data_train.csv")
    assert len(table) == len(raw) - 1 == 5994
    assert "Unnamed: 0" not in table.columns and (table.index >= 0).all()
    # The summary row counts the distinct values of each column; our loader keeps them all.
    summary = raw.iloc[-1]
    for column in [c for c in table.columns if c.startswith("label_gran_")] + ["class"]:
        assert table[column].nunique() == int(summary[column]), column
    stats = table_statistics(table, "class")
    assert stats["label_gran_3"].n_clusters == int(summary["label_gran_3"])

    wider = read_table(clinfonce / "wider" / "meta_data_train.csv")
    assert len(wider) == 6871 and wider["class"].nunique() == 30
    assert pd.api.types.is_integer_dtype(wider["label_gran_1"])
    val = read_table(clinfonce / "cub" / "meta_data_val.csv")
    assert list(val.columns) == ["path", "class"] and not np.any(val.index == -1)
