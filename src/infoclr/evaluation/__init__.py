"""Evaluation of frozen representations: k-NN, linear probe, clustering metrics and plots.

All functions take features as numpy arrays or torch tensors (any device) and labels as integer
arrays, and raise :class:`~infoclr.errors.DataError` / :class:`~infoclr.errors.ConfigError`
with a one-line message for bad input.
"""

from infoclr.evaluation.clustering import clustering_scores, kmeans_nmi
from infoclr.evaluation.features import extract_features
from infoclr.evaluation.knn import knn_predict, knn_top1
from infoclr.evaluation.linear import (
    LinearProbeResult,
    linear_probe,
    linear_top1,
    select_weight_decay,
)
from infoclr.evaluation.plots import (
    embedding_map,
    plot_embedding_maps,
    plot_metric_grid,
    plot_metric_vs,
    plot_training_curves,
)

__all__ = [
    "LinearProbeResult",
    "clustering_scores",
    "embedding_map",
    "extract_features",
    "kmeans_nmi",
    "knn_predict",
    "knn_top1",
    "linear_probe",
    "linear_top1",
    "plot_embedding_maps",
    "plot_metric_grid",
    "plot_metric_vs",
    "plot_training_curves",
    "select_weight_decay",
]
