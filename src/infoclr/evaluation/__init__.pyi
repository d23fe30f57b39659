"""Type stub of ``infoclr.evaluation``, and its export table: :func:`infoclr._lazy.lazy_exports`
reads these imports, so each name loads from its module on first use."""

from .clustering import (
    clustering_scores as clustering_scores,
    kmeans_nmi as kmeans_nmi,
    kmeans_stability as kmeans_stability,
)
from .dense import (
    DenseProbeResult as DenseProbeResult,
    dense_probe as dense_probe,
    dense_probe_maps as dense_probe_maps,
    extract_feature_maps as extract_feature_maps,
    segmentation_scores as segmentation_scores,
)
from .features import extract_features as extract_features
from .knn import knn_predict as knn_predict, knn_top1 as knn_top1
from .linear import (
    LinearProbeResult as LinearProbeResult,
    linear_probe as linear_probe,
    linear_top1 as linear_top1,
    select_weight_decay as select_weight_decay,
)
from .plots import (
    embedding_map as embedding_map,
    plot_embedding_maps as plot_embedding_maps,
    plot_metric_grid as plot_metric_grid,
    plot_metric_vs as plot_metric_vs,
    plot_training_curves as plot_training_curves,
)
from .probes import probe_correctness as probe_correctness, probe_scores as probe_scores
from .selection import (
    CandidateScorer as CandidateScorer,
    LabelSplit as LabelSplit,
    Selection as Selection,
    before_after as before_after,
    split_labelled as split_labelled,
)
