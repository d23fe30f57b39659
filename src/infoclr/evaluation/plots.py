"""Figures for evaluation: 2-D embedding maps, metric-vs-statistic scatter, training curves.

Figures are drawn on :class:`matplotlib.figure.Figure` objects with the Agg canvas, never through
``pyplot``: nothing here changes the global backend or opens a window, so it is safe in scripts,
tests, notebooks and headless servers alike. Every PNG is written atomically (a temporary file
in the target folder, then a rename), so an interrupted run never leaves half a file behind.

Embedding maps use UMAP (McInnes, Healy, Melville, arXiv 1802.03426) when the optional
``umap-learn`` package is installed, else t-SNE (van der Maaten & Hinton, JMLR 2008) from
scikit-learn for up to 5,000 rows, else PCA.
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from infoclr.arrays import ArrayLike, as_feature_matrix, as_label_vector, to_numpy
from infoclr.errors import ConfigError, DataError

EMBEDDING_METHODS = ("auto", "umap", "tsne", "pca")
# t-SNE is O(N log N) per iteration but with a large constant: ~5k rows is the most that stays
# interactive on a laptop CPU.
TSNE_MAX_ROWS = 5000
# Column-name fragments that mark a logged quantity as a loss or as an evaluation metric.
_LOSS_MARKERS = ("loss",)
_METRIC_MARKERS = ("knn", "top1", "acc", "nmi", "linear", "probe")


def _umap_available() -> bool:
    return importlib.util.find_spec("umap") is not None


def _pca_map(matrix: np.ndarray) -> np.ndarray:
    from sklearn.decomposition import PCA

    padded = np.zeros((matrix.shape[0], 2), dtype=np.float32)
    if matrix.shape[0] < 2:
        return padded  # a single point has no spread to project; it sits at the origin
    num_components = min(2, matrix.shape[0], matrix.shape[1])
    # Fewer than two components (e.g. one feature): pad so that the map is always (N, 2).
    padded[:, :num_components] = PCA(n_components=num_components).fit_transform(matrix)
    return padded


def embedding_map(features: ArrayLike, method: str = "auto", seed: int = 0) -> np.ndarray:
    """Project features to 2-D for plotting.

    Args:
        features: (N, D) numpy array or torch tensor.
        method: ``"umap"``, ``"tsne"``, ``"pca"`` or ``"auto"``: UMAP if ``umap`` is
            importable, else t-SNE when N <= 5000, else PCA.
        seed: random state of UMAP / t-SNE (PCA is deterministic).

    Returns:
        (N, 2) float32 coordinates.

    Raises:
        ConfigError: for an unknown method, or ``"umap"`` when umap-learn is not installed.
        DataError: for empty or non-finite features.
    """
    if method not in EMBEDDING_METHODS:
        raise ConfigError(
            f"unknown embedding map method {method!r}; choose one of {EMBEDDING_METHODS}"
        )
    matrix = as_feature_matrix(features, "features")
    num_rows = matrix.shape[0]
    if method == "auto":
        if _umap_available():
            method = "umap"
        else:
            method = "tsne" if num_rows <= TSNE_MAX_ROWS else "pca"
    # t-SNE and UMAP need a handful of neighbours per point; tiny inputs fall back to PCA.
    if method in ("tsne", "umap") and num_rows < 5:
        method = "pca"

    if method == "pca":
        return _pca_map(matrix)
    if method == "umap":
        if not _umap_available():
            raise ConfigError(
                "method='umap' needs umap-learn; pip install umap-learn, or use "
                "method='tsne' or 'pca'"
            )
        import umap

        reducer = umap.UMAP(n_components=2, n_neighbors=min(15, num_rows - 1), random_state=seed)
        return np.asarray(reducer.fit_transform(matrix), dtype=np.float32)

    from sklearn.manifold import TSNE

    tsne = TSNE(
        n_components=2,
        # Perplexity must stay below N; ~N/3 keeps small inputs well-posed.
        perplexity=min(30.0, (num_rows - 1) / 3.0),
        init="pca",
        random_state=seed,
    )
    return np.asarray(tsne.fit_transform(matrix), dtype=np.float32)


def _save_atomically(
    figure: Figure, path: str | os.PathLike[str] | IO[bytes], dpi: int = 120
) -> Path | None:
    if not isinstance(path, (str, os.PathLike)):
        # An open handle (an infoclr.runs.OutputSet stage): the caller makes it atomic.
        FigureCanvasAgg(figure)
        figure.savefig(path, format="png", dpi=dpi, bbox_inches="tight")
        return None
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(figure)
    handle, temporary_name = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=".tmp", dir=target.parent
    )
    try:
        with os.fdopen(handle, "wb") as stream:
            figure.savefig(stream, format="png", dpi=dpi, bbox_inches="tight")
        # mkstemp creates owner-only files; a figure should be as readable as any other output.
        os.chmod(temporary_name, 0o644)
        os.replace(temporary_name, target)
    except BaseException:
        Path(temporary_name).unlink(missing_ok=True)
        raise
    return target


def _marker_size(num_points: int) -> float:
    # Dense maps need small dots to stay readable; sparse ones larger dots to be visible.
    return float(np.clip(3000.0 / max(num_points, 1), 1.0, 30.0))


def _class_name(class_id: int, class_names: Sequence[str] | None) -> str:
    if class_names is not None and 0 <= class_id < len(class_names):
        return str(class_names[class_id])
    return str(class_id)


def plot_embedding_maps(
    maps: Mapping[str, ArrayLike],
    labels: ArrayLike | None,
    path: str | os.PathLike[str] | IO[bytes],
    title: str | None = None,
    class_names: Sequence[str] | None = None,
) -> Path | None:
    """Side-by-side scatter panels of 2-D maps (e.g. ``{"before": ..., "after": ...}``).

    Args:
        maps: panel title -> (N, 2) coordinates (from :func:`embedding_map`); all the same N.
        labels: (N,) integer class ids colouring the points, or ``None`` for one colour.
        path: PNG file to write (parent folders are created), or an open binary handle.
        title: optional figure title.
        class_names: legend names, indexed by class id (default: the ids themselves).

    Returns:
        The path written (None for a handle).

    Raises:
        DataError: for no maps, maps that are not (N, 2), or mismatched lengths.
    """
    if not maps:
        raise DataError("plot_embedding_maps needs at least one map, got an empty dict")
    coordinates = {
        name: as_feature_matrix(points, f"map {name!r}") for name, points in maps.items()
    }
    num_points = None
    for name, points in coordinates.items():
        if points.shape[1] != 2:
            raise DataError(f"map {name!r} has shape {points.shape}; pass (N, 2) coordinates")
        if num_points is not None and len(points) != num_points:
            raise DataError(f"map {name!r} has {len(points)} points, the others {num_points}")
        num_points = len(points)
    assert num_points is not None
    class_ids = None if labels is None else as_label_vector(labels, num_points, "labels", "maps")

    num_panels = len(coordinates)
    figure = Figure(figsize=(4.5 * num_panels, 4.5), layout="constrained")
    axes = figure.subplots(1, num_panels, squeeze=False)[0]
    classes = np.unique(class_ids) if class_ids is not None else np.array([], dtype=np.int64)
    categorical = 0 < len(classes) <= 20
    if class_ids is None:
        point_colours: Any = "tab:blue"
    elif categorical:
        palette = colormaps["tab10" if len(classes) <= 10 else "tab20"]
        point_colours = palette(np.searchsorted(classes, class_ids))
    else:
        point_colours = class_ids
    for axis, (name, points) in zip(axes, coordinates.items(), strict=True):
        scatter = axis.scatter(
            points[:, 0],
            points[:, 1],
            c=point_colours,
            cmap="viridis" if class_ids is not None and not categorical else None,
            s=_marker_size(num_points),
            linewidths=0,
            alpha=0.8,
        )
        axis.set_title(name)
        axis.set_xticks([])
        axis.set_yticks([])
    if categorical:
        handles = [
            Line2D(
                [],
                [],
                marker="o",
                linestyle="",
                color=palette(position),
                label=_class_name(class_id, class_names),
            )
            for position, class_id in enumerate(classes)
        ]
        figure.legend(handles=handles, loc="outside right center", title="class")
    elif class_ids is not None:
        figure.colorbar(scatter, ax=list(axes), label="class")
    if title:
        figure.suptitle(title)
    return _save_atomically(figure, path)


def plot_before_after(
    original: ArrayLike,
    refined: ArrayLike,
    labels: ArrayLike | None,
    path: str | os.PathLike[str] | IO[bytes],
    method: str = "pca",
    seed: int = 0,
    title: str | None = None,
    class_names: Sequence[str] | None = None,
    refined_title: str = "refined",
) -> Path | None:
    """Two panels: 2-D maps (:func:`embedding_map`) of the same (N, D) rows before and after a
    refinement, coloured by ``labels`` (N,) class ids. See :func:`plot_embedding_maps`."""
    maps = {
        "original": embedding_map(original, method, seed=seed),
        refined_title: embedding_map(refined, method, seed=seed),
    }
    return plot_embedding_maps(maps, labels, path, title=title, class_names=class_names)


def _as_float_vector(values: ArrayLike, name: str) -> np.ndarray:
    vector = to_numpy(values).astype(np.float64).reshape(-1)
    if not np.isfinite(vector).all():
        raise DataError(
            f"{name} has NaN or inf at positions {np.flatnonzero(~np.isfinite(vector))}"
        )
    return vector


def plot_metric_vs(
    xs: ArrayLike,
    ys: ArrayLike,
    yerr: ArrayLike | None = None,
    labels: Sequence[str] | None = None,
    xlabel: str = "",
    ylabel: str = "",
    path: str | os.PathLike[str] | None = None,
    title: str | None = None,
    show_correlation: bool = True,
) -> Path:
    """Scatter of a metric against a statistic, with error bars and point annotations.

    Made for Cl-InfoNCE's analysis (Tsai et al. 2021): downstream accuracy (mean ± std over
    seeds) against I(Z;T) or H(Z|T) of each cluster set, one annotated point per cluster set.

    Args:
        xs: (P,) x positions (e.g. I(Z;T) in bits).
        ys: (P,) y values (e.g. mean accuracy).
        yerr: optional (P,) symmetric error bars (e.g. std over seeds).
        labels: optional P point annotations (e.g. cluster-set names).
        xlabel, ylabel: axis labels.
        path: PNG file to write (required).
        title: optional axes title.
        show_correlation: with 3+ points, print Spearman's rank correlation in the corner.

    Returns:
        The path written.

    Raises:
        ConfigError: if ``path`` is missing.
        DataError: for empty, non-finite or mismatched inputs.
    """
    if path is None:
        raise ConfigError("plot_metric_vs needs path=...; pass the PNG file to write")
    figure = Figure(figsize=(5.5, 4.2), layout="constrained")
    _draw_metric_vs(
        figure.subplots(), xs, ys, yerr, labels, xlabel, ylabel, title, show_correlation
    )
    return _save_atomically(figure, path)


def _draw_metric_vs(
    axis: Any,
    xs: ArrayLike,
    ys: ArrayLike,
    yerr: ArrayLike | None,
    labels: Sequence[str] | None,
    xlabel: str,
    ylabel: str,
    title: str | None,
    show_correlation: bool,
) -> None:
    """One :func:`plot_metric_vs` panel on ``axis``, after checking the inputs."""
    from infoclr.evaluation.stats import spearman

    x_values = _as_float_vector(xs, "xs")
    y_values = _as_float_vector(ys, "ys")
    if len(x_values) == 0 or len(x_values) != len(y_values):
        raise DataError(
            f"xs and ys need the same non-zero length, got {len(x_values)} and {len(y_values)}"
        )
    errors = None if yerr is None else _as_float_vector(yerr, "yerr")
    if errors is not None and len(errors) != len(x_values):
        raise DataError(f"yerr has {len(errors)} values for {len(x_values)} points")
    if labels is not None and len(labels) != len(x_values):
        raise DataError(f"labels has {len(labels)} names for {len(x_values)} points")
    axis.errorbar(x_values, y_values, yerr=errors, fmt="o", capsize=3, color="tab:blue")
    if labels is not None:
        for x_value, y_value, name in zip(x_values, y_values, labels, strict=True):
            axis.annotate(
                str(name), (x_value, y_value), textcoords="offset points", xytext=(4, 4), fontsize=8
            )
    rho = spearman(x_values, y_values) if show_correlation else float("nan")
    if not np.isnan(rho):
        axis.text(
            0.02, 0.98, f"Spearman ρ = {rho:+.2f}", transform=axis.transAxes, va="top", fontsize=9
        )
    axis.set_xlabel(xlabel)
    axis.set_ylabel(ylabel)
    axis.grid(alpha=0.3)
    if title:
        axis.set_title(title)


def plot_metric_grid(
    table: pd.DataFrame,
    xs: Sequence[str],
    ys: Sequence[str],
    path: str | os.PathLike[str],
    labels: str | None = None,
    errors: Mapping[str, str] | None = None,
    title: str | None = None,
) -> Path:
    """A grid of :func:`plot_metric_vs` panels: one row per metric, one column per statistic.

    Made for Cl-InfoNCE's analysis: linear and k-NN top-1 (rows) against I(Z;T) and H(Z|T)
    (columns), one annotated point per cluster set, Spearman's ρ in each panel.

    Args:
        table: one row per point.
        xs: the columns plotted along x (one grid column each).
        ys: the columns plotted along y (one grid row each; panels in a row share y).
        path: PNG file to write.
        labels: the column that names each point, if any.
        errors: ``{y column: column of its symmetric error bars}`` (e.g. std over seeds).
        title: the figure's title.

    Returns:
        The path written.

    Raises:
        DataError: for a missing column, or empty or non-finite values.
    """
    errors = dict(errors or {})
    wanted = [*xs, *ys, *errors.values(), *([labels] if labels else [])]
    missing = [column for column in wanted if column not in table]
    if missing or not xs or not ys:
        raise DataError(
            f"plot_metric_grid needs columns {missing or 'in xs and ys'}; the table has "
            f"{', '.join(map(str, table.columns))}"
        )
    figure = Figure(figsize=(5 * len(xs), 3.8 * len(ys)), layout="constrained")
    axes = np.asarray(figure.subplots(len(ys), len(xs), sharey="row", squeeze=False))
    names = None if labels is None else [str(name) for name in table[labels]]
    for row, y in enumerate(ys):
        for column, x in enumerate(xs):
            yerr = table[errors[y]] if y in errors else None
            _draw_metric_vs(axes[row, column], table[x], table[y], yerr, names, x, y, None, True)
    if title:
        figure.suptitle(title)
    return _save_atomically(figure, path)


def _read_metrics(
    metrics: str | os.PathLike[str] | Mapping[str, Any] | pd.DataFrame,
) -> pd.DataFrame:
    if isinstance(metrics, pd.DataFrame):
        return metrics.copy()
    if isinstance(metrics, Mapping):
        # Series of different lengths are padded with NaN rather than rejected.
        return pd.DataFrame(
            {name: pd.Series(to_numpy(values).reshape(-1)) for name, values in metrics.items()}
        )
    metrics_path = Path(metrics)
    if not metrics_path.is_file():
        raise DataError(
            f"metrics file {metrics_path} does not exist; pass the metrics.csv "
            "a run wrote (e.g. by Lightning's CSVLogger)"
        )
    try:
        return pd.read_csv(metrics_path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise DataError(f"cannot read metrics file {metrics_path}: {err}".splitlines()[0]) from err


def plot_training_curves(
    metrics_csv_or_dict: str | os.PathLike[str] | Mapping[str, Any] | pd.DataFrame,
    path: str | os.PathLike[str],
) -> Path:
    """Loss and evaluation metrics (k-NN accuracy, NMI, ...) over training, one panel each.

    Args:
        metrics_csv_or_dict: a CSV path in Lightning ``CSVLogger`` layout (``epoch``/``step``
            columns, one column per logged name, NaN where a row did not log that name), a
            DataFrame in the same layout, or a dict name -> sequence of values.
        path: PNG file to write.

    With an ``epoch`` column, values are averaged per epoch (step-level losses become epoch
    means; epoch-level metrics have one value per epoch anyway). Columns whose name contains
    "loss" go to the left panel; names with knn/top1/acc/nmi/linear/probe to the right.

    Returns:
        The path written.

    Raises:
        DataError: for a missing/unreadable file or no loss or metric columns.
    """
    table = _read_metrics(metrics_csv_or_dict)
    if "epoch" in table.columns:
        x_name = "epoch"
        table = table.drop(columns=["step"], errors="ignore").groupby("epoch").mean()
    elif "step" in table.columns:
        x_name = "step"
        table = table.groupby("step").mean()
    else:
        x_name = "epoch"
    numeric = table.select_dtypes(include="number")

    def columns_with(markers: tuple[str, ...]) -> list[str]:
        return [
            name
            for name in numeric.columns
            if any(marker in str(name).lower() for marker in markers)
            and numeric[name].notna().any()
        ]

    loss_columns = columns_with(_LOSS_MARKERS)
    metric_columns = [name for name in columns_with(_METRIC_MARKERS) if name not in loss_columns]
    panels = [
        (title, names)
        for title, names in (("loss", loss_columns), ("evaluation", metric_columns))
        if names
    ]
    if not panels:
        raise DataError(
            f"no loss or metric columns to plot among {list(table.columns)}; "
            "names must contain 'loss', 'knn', 'top1', 'acc' or 'nmi'"
        )

    figure = Figure(figsize=(5.0 * len(panels), 3.8), layout="constrained")
    axes = figure.subplots(1, len(panels), squeeze=False)[0]
    for axis, (panel_title, names) in zip(axes, panels, strict=True):
        for name in names:
            series = numeric[name].dropna()
            axis.plot(
                series.index.to_numpy(),
                series.to_numpy(),
                marker="o" if len(series) < 30 else None,
                markersize=3,
                label=str(name),
            )
        axis.set_xlabel(x_name)
        axis.set_title(panel_title)
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    return _save_atomically(figure, path)
