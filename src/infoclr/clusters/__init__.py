"""Clusters from auxiliary information, and their information statistics.

Cl-InfoNCE (Tsai et al., arXiv 2106.02869) trains with clusters built from auxiliary
information. This package builds them and measures them:

- :mod:`~infoclr.clusters.tables`: read/write label and cluster tables (CSV, TSV, parquet), with
  the official tables' unnamed index column and ``-1`` summary row handled;
- :mod:`~infoclr.clusters.attributes`: top-k binary attributes ranked by entropy;
- :mod:`~infoclr.clusters.hierarchy`: a class's ancestor at a hierarchy level;
- :mod:`~infoclr.clusters.tags`: the set of top-k most frequent tags;
- :mod:`~infoclr.clusters.stats`: H(Z), H(T), H(Z,T), H(Z|T), H(T|Z), I(Z;T) in bits;
- :mod:`~infoclr.clusters.kmeans`: the unsupervised variant (faiss k-means).
"""

from infoclr.clusters._codes import MISSING_CLUSTER
from infoclr.clusters.attributes import (
    AttributeClusters,
    attribute_clusters,
    binary_columns,
    fit_attribute_clusters,
    rank_attributes,
)
from infoclr.clusters.hierarchy import (
    Hierarchy,
    HierarchyClusters,
    hierarchy_clusters,
    load_hierarchy,
)
from infoclr.clusters.stats import (
    PUBLISHED_NAMES,
    ClusterStats,
    cluster_statistics,
    default_cluster_columns,
    entropy_bits,
    statistics_frame,
    table_statistics,
)
from infoclr.clusters.tables import check_output_path, read_table, require_columns, write_table
from infoclr.clusters.tags import TagClusters, fit_tag_clusters, parse_tags, tag_clusters

__all__ = [
    "MISSING_CLUSTER",
    "PUBLISHED_NAMES",
    "AttributeClusters",
    "ClusterStats",
    "Hierarchy",
    "HierarchyClusters",
    "TagClusters",
    "attribute_clusters",
    "binary_columns",
    "check_output_path",
    "cluster_statistics",
    "default_cluster_columns",
    "entropy_bits",
    "fit_attribute_clusters",
    "fit_tag_clusters",
    "hierarchy_clusters",
    "load_hierarchy",
    "parse_tags",
    "rank_attributes",
    "read_table",
    "require_columns",
    "statistics_frame",
    "table_statistics",
    "tag_clusters",
    "write_table",
]
