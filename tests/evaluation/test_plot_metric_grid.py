"""The metric-vs-statistic grid: one panel per (metric, statistic), drawn like plot_metric_vs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread

from infoclr.errors import DataError
from infoclr.evaluation import plot_metric_grid, plot_metric_vs


def table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "I(Z;T)": [0.5, 1.2, 2.0, 3.1],
            "H(Z|T)": [4.0, 2.5, 1.0, 0.0],
            "linear": [61.0, 66.0, 70.0, 74.0],
            "linear_std": [1.0, 2.0, 1.0, 1.5],
            "knn": [40.0, 38.0, 52.0, 60.0],
            "choice": ["k=1", "k=3", "k=5", "labels"],
        }
    )


def test_grid_has_one_panel_per_metric_and_statistic(tmp_path: Path) -> None:
    frame = table()
    grid = plot_metric_grid(
        frame,
        ["I(Z;T)", "H(Z|T)"],
        ["linear", "knn"],
        tmp_path / "grid.png",
        "choice",
        {"linear": "linear_std"},
        "shapes",
    )
    single = plot_metric_vs(frame["I(Z;T)"], frame["linear"], path=tmp_path / "one.png")
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    grid_pixels, single_pixels = imread(grid), imread(single)
    # Two by two panels, each about the single plot's size: about twice as wide and as high.
    assert 1.5 < grid_pixels.shape[0] / single_pixels.shape[0] < 2.5
    assert 1.5 < grid_pixels.shape[1] / single_pixels.shape[1] < 2.5
    # Something was drawn: the image is not one flat colour.
    assert np.ptp(grid_pixels[..., :3]) > 0.5


def test_grid_names_missing_columns_and_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="needs columns"):
        plot_metric_grid(table(), ["I(Z;T)"], ["accuracy"], tmp_path / "x.png")
    with pytest.raises(DataError, match="needs columns"):
        plot_metric_grid(
            table(), ["I(Z;T)"], ["linear"], tmp_path / "x.png", errors={"linear": "e"}
        )
    with pytest.raises(DataError, match="NaN or inf"):
        bad = table().assign(linear=[1.0, np.nan, 2.0, 3.0])
        plot_metric_grid(bad, ["I(Z;T)"], ["linear"], tmp_path / "x.png")
    assert list(tmp_path.iterdir()) == []
