"""Embedding maps and figures: shapes, fallbacks, and real PNG files written atomically."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from infoclr.errors import ConfigError, DataError
from infoclr.evaluation import plots
from infoclr.evaluation.plots import (
    embedding_map,
    plot_embedding_maps,
    plot_metric_vs,
    plot_training_curves,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def assert_png(path: Path) -> None:
    assert path.is_file() and path.stat().st_size > 1000
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    # Something was drawn: a blank or axes-only figure is all white and grey, while every
    # infoclr plot draws coloured points or lines.
    from PIL import Image

    saturation = np.asarray(Image.open(path).convert("HSV"))[..., 1]
    assert (saturation > 80).mean() > 0.002, "the figure has no coloured marks"
    assert path.stat().st_mode & 0o044 == 0o044  # group/other-readable like any output file
    # The atomic write leaves no temporary file behind.
    assert [entry.name for entry in path.parent.iterdir() if entry.name.endswith(".tmp")] == []


def planar_points(num_rows: int = 40, seed: int = 0) -> np.ndarray:
    """Points on a 2-D plane embedded in 6-D, so PCA must keep their pairwise distances."""
    rng = np.random.default_rng(seed)
    plane = np.linalg.qr(rng.normal(size=(6, 2)))[0].T
    return rng.normal(size=(num_rows, 2)) @ (plane * 3.0) + 1.5


def pairwise_distances(points: np.ndarray) -> np.ndarray:
    return np.linalg.norm(points[:, None, :] - points[None, :, :], axis=-1)


def test_pca_map_keeps_planar_geometry() -> None:
    points = planar_points()
    mapped = embedding_map(points, method="pca")
    assert mapped.shape == (40, 2) and mapped.dtype == np.float32
    assert np.allclose(pairwise_distances(mapped), pairwise_distances(points), atol=1e-3)
    assert embedding_map(points[:1], method="pca").shape == (1, 2)


def test_auto_falls_back_without_umap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plots, "_umap_available", lambda: False)
    points = planar_points(num_rows=30)
    tsne_map = embedding_map(points, method="auto", seed=0)
    assert tsne_map.shape == (30, 2) and np.isfinite(tsne_map).all()
    assert np.array_equal(tsne_map, embedding_map(points, method="tsne", seed=0))
    monkeypatch.setattr(plots, "TSNE_MAX_ROWS", 10)
    assert np.allclose(embedding_map(points, method="auto"), embedding_map(points, method="pca"))
    with pytest.raises(ConfigError, match="umap-learn"):
        embedding_map(points, method="umap")


@pytest.mark.skipif(importlib.util.find_spec("umap") is None, reason="umap-learn not installed")
def test_umap_map() -> None:
    assert embedding_map(planar_points(), method="umap").shape == (40, 2)


def test_embedding_map_errors() -> None:
    with pytest.raises(ConfigError, match="method"):
        embedding_map(planar_points(), method="isomap")
    broken = planar_points()
    broken[7, 0] = np.nan
    with pytest.raises(DataError, match=r"\[7\]"):
        embedding_map(broken)


def test_plot_embedding_maps(tmp_path: Path) -> None:
    points = planar_points()
    before, after = embedding_map(points, "pca"), embedding_map(points * 2, "pca")
    labels = np.arange(40) % 4
    path = plot_embedding_maps(
        {"before": before, "after": after},
        labels,
        tmp_path / "figs" / "maps.png",
        title="refinement",
    )
    assert path == tmp_path / "figs" / "maps.png"
    assert_png(path)
    assert_png(plot_embedding_maps({"many classes": before}, np.arange(40), tmp_path / "m.png"))
    assert_png(plot_embedding_maps({"unlabelled": before}, None, tmp_path / "u.png"))
    with pytest.raises(DataError, match="2\\)"):
        plot_embedding_maps({"bad": points}, labels, tmp_path / "bad.png")
    with pytest.raises(DataError, match="labels has 39 entries"):
        plot_embedding_maps({"before": before}, labels[:-1], tmp_path / "bad.png")
    with pytest.raises(DataError, match="at least one map"):
        plot_embedding_maps({}, labels, tmp_path / "bad.png")
    assert not (tmp_path / "bad.png").exists()


def test_plot_metric_vs(tmp_path: Path) -> None:
    path = plot_metric_vs(
        [0.5, 1.2, 2.0, 3.1],
        [0.61, 0.66, 0.70, 0.74],
        yerr=[0.01, 0.02, 0.01, 0.015],
        labels=["k=1", "k=3", "k=5", "labels"],
        xlabel="I(Z;T) bits",
        ylabel="top-1",
        path=tmp_path / "acc_vs_mi.png",
    )
    assert_png(path)
    with pytest.raises(DataError, match="same non-zero length"):
        plot_metric_vs([1, 2], [1], path=tmp_path / "x.png")
    with pytest.raises(DataError, match="labels"):
        plot_metric_vs([1, 2], [1, 2], labels=["a"], path=tmp_path / "x.png")
    with pytest.raises(ConfigError, match="path"):
        plot_metric_vs([1, 2], [1, 2])


def test_plot_training_curves_from_lightning_csv_and_dict(tmp_path: Path) -> None:
    # Lightning CSVLogger layout: step rows log the loss, epoch-end rows log the k-NN metric.
    rows = []
    for epoch in range(4):
        for step in range(3):
            rows.append(
                {
                    "epoch": epoch,
                    "step": epoch * 3 + step,
                    "train_loss": 4.0 - epoch - 0.1 * step,
                    "val_knn_top1": np.nan,
                }
            )
        rows.append(
            {
                "epoch": epoch,
                "step": epoch * 3 + 2,
                "train_loss": np.nan,
                "val_knn_top1": 0.2 + 0.1 * epoch,
            }
        )
    csv_path = tmp_path / "metrics.csv"
    pd.DataFrame(rows).to_csv(csv_path, index=False)
    assert_png(plot_training_curves(csv_path, tmp_path / "curves.png"))
    assert_png(
        plot_training_curves(
            {"loss": [3.0, 2.0, 1.5], "knn_top1": [0.1, 0.3]}, tmp_path / "dict.png"
        )
    )

    with pytest.raises(DataError, match="no loss or metric columns"):
        plot_training_curves({"lr": [0.1, 0.05]}, tmp_path / "none.png")
    with pytest.raises(DataError, match="does not exist"):
        plot_training_curves(tmp_path / "missing.csv", tmp_path / "none.png")
