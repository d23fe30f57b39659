"""Evaluation of frozen representations: k-NN, linear probe, clustering metrics, selection, plots.

All functions take features as numpy arrays or torch tensors (any device) and labels as integer
arrays, and raise :class:`~infoclr.errors.DataError` / :class:`~infoclr.errors.ConfigError`
with a one-line message for bad input. Importing this package loads no torch, faiss, scikit-learn
or matplotlib: each member loads on first use, so input checks run before heavy imports.
"""

from infoclr._lazy import lazy_getattr

_LAZY = {
    "clustering_scores": "infoclr.evaluation.clustering",
    "kmeans_nmi": "infoclr.evaluation.clustering",
    "kmeans_stability": "infoclr.evaluation.clustering",
    "extract_features": "infoclr.evaluation.features",
    "knn_predict": "infoclr.evaluation.knn",
    "knn_top1": "infoclr.evaluation.knn",
    "LinearProbeResult": "infoclr.evaluation.linear",
    "linear_probe": "infoclr.evaluation.linear",
    "linear_top1": "infoclr.evaluation.linear",
    "select_weight_decay": "infoclr.evaluation.linear",
    "embedding_map": "infoclr.evaluation.plots",
    "plot_embedding_maps": "infoclr.evaluation.plots",
    "plot_metric_grid": "infoclr.evaluation.plots",
    "plot_metric_vs": "infoclr.evaluation.plots",
    "plot_training_curves": "infoclr.evaluation.plots",
    "probe_scores": "infoclr.evaluation.probes",
    "CandidateScorer": "infoclr.evaluation.selection",
    "LabelSplit": "infoclr.evaluation.selection",
    "Selection": "infoclr.evaluation.selection",
    "before_after": "infoclr.evaluation.selection",
    "split_labelled": "infoclr.evaluation.selection",
}
__getattr__ = lazy_getattr(__name__, _LAZY)

__all__ = list(_LAZY)
