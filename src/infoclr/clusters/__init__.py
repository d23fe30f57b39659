"""Clusters from auxiliary information, and their information statistics.

Cl-InfoNCE (Tsai et al., arXiv 2106.02869) trains with clusters built from auxiliary
information. This package builds them and measures them:

- :mod:`~infoclr.clusters.tables`: read/write label and cluster tables (CSV, TSV, parquet), with
  the official tables' unnamed index column and ``-1`` summary row handled;
- :mod:`~infoclr.clusters.attributes`: top-k binary attributes ranked by entropy;
- :mod:`~infoclr.clusters.hierarchy`: a class's ancestor at a hierarchy level;
- :mod:`~infoclr.clusters.tags`: the set of top-k most frequent tags;
- :mod:`~infoclr.clusters.stats`: H(Z), H(T), H(Z,T), H(Z|T), H(T|Z), I(Z;T) in bits;
- :mod:`~infoclr.clusters.kmeans`: the unsupervised variant (faiss k-means);
- :mod:`~infoclr.clusters.columns`: cluster ids from a data set's auxiliary columns;
- :mod:`~infoclr.clusters.build`: the ``infoclr clusters build`` job.
"""

from infoclr._lazy import lazy_getattr

# Loaded on first use: the CLI checks its input before pandas or faiss load.
_LAZY = {
    "MISSING_CLUSTER": "infoclr.clusters._codes",
    "AttributeClusters": "infoclr.clusters.attributes",
    "attribute_clusters": "infoclr.clusters.attributes",
    "binary_columns": "infoclr.clusters.attributes",
    "fit_attribute_clusters": "infoclr.clusters.attributes",
    "rank_attributes": "infoclr.clusters.attributes",
    "Hierarchy": "infoclr.clusters.hierarchy",
    "HierarchyClusters": "infoclr.clusters.hierarchy",
    "hierarchy_clusters": "infoclr.clusters.hierarchy",
    "load_hierarchy": "infoclr.clusters.hierarchy",
    "PUBLISHED_NAMES": "infoclr.clusters.stats",
    "ClusterStats": "infoclr.clusters.stats",
    "cluster_statistics": "infoclr.clusters.stats",
    "default_cluster_columns": "infoclr.clusters.stats",
    "entropy_bits": "infoclr.clusters.stats",
    "statistics_frame": "infoclr.clusters.stats",
    "statistics_report": "infoclr.clusters.stats",
    "table_statistics": "infoclr.clusters.stats",
    "check_output_path": "infoclr.clusters.tables",
    "read_table": "infoclr.clusters.tables",
    "require_columns": "infoclr.clusters.tables",
    "write_table": "infoclr.clusters.tables",
    "TagClusters": "infoclr.clusters.tags",
    "fit_tag_clusters": "infoclr.clusters.tags",
    "parse_tags": "infoclr.clusters.tags",
    "tag_clusters": "infoclr.clusters.tags",
    "check_cluster_columns": "infoclr.clusters.columns",
    "clusters_from_columns": "infoclr.clusters.columns",
    "distinct_binary_columns": "infoclr.clusters.columns",
    "ClusterBuildConfig": "infoclr.clusters.build",
    "build_clusters": "infoclr.clusters.build",
    "kmeans": "infoclr.clusters.kmeans",
}
__getattr__ = lazy_getattr(__name__, _LAZY)

__all__ = sorted(_LAZY)
