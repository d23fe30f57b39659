"""Evaluation of frozen representations: k-NN, linear probe, clustering metrics, selection, plots.

All functions take features as numpy arrays or torch tensors (any device) and labels as integer
arrays, and raise :class:`~infoclr.errors.DataError` / :class:`~infoclr.errors.ConfigError`
with a one-line message for bad input. Importing this package loads no torch, faiss, scikit-learn
or matplotlib: each member loads on first use, so input checks run before heavy imports.
"""

from infoclr._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    clustering="clustering_scores kmeans_nmi kmeans_stability",
    dense="DenseProbeResult dense_probe dense_probe_maps extract_feature_maps segmentation_scores",
    features="extract_features",
    knn="knn_predict knn_top1",
    linear="LinearProbeResult linear_probe linear_top1 select_weight_decay",
    plots="embedding_map plot_embedding_maps plot_metric_grid plot_metric_vs plot_training_curves",
    probes="probe_correctness probe_scores",
    selection="CandidateScorer LabelSplit Selection before_after split_labelled",
)
