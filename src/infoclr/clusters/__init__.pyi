"""Type stub of ``infoclr.clusters``, and its export table: :func:`infoclr._lazy.lazy_exports`
reads these imports, so each name loads from its module on first use."""

from ._codes import MISSING_CLUSTER as MISSING_CLUSTER
from .attributes import (
    AttributeClusters as AttributeClusters,
    attribute_clusters as attribute_clusters,
    binary_columns as binary_columns,
    fit_attribute_clusters as fit_attribute_clusters,
    rank_attributes as rank_attributes,
)
from .build import ClusterBuildConfig as ClusterBuildConfig, build_clusters as build_clusters
from .columns import (
    ColumnClusters as ColumnClusters,
    check_cluster_columns as check_cluster_columns,
    distinct_binary_columns as distinct_binary_columns,
)
from .faiss_kmeans import kmeans as kmeans
from .hierarchy import (
    Hierarchy as Hierarchy,
    HierarchyClusters as HierarchyClusters,
    hierarchy_clusters as hierarchy_clusters,
    load_hierarchy as load_hierarchy,
)
from .stats import (
    PUBLISHED_NAMES as PUBLISHED_NAMES,
    ClusterStats as ClusterStats,
    cluster_statistics as cluster_statistics,
    default_cluster_columns as default_cluster_columns,
    entropy_bits as entropy_bits,
    statistics_frame as statistics_frame,
    statistics_report as statistics_report,
    table_statistics as table_statistics,
)
from .tables import (
    check_output_path as check_output_path,
    read_table as read_table,
    require_columns as require_columns,
    write_table as write_table,
)
from .tags import (
    TagClusters as TagClusters,
    fit_tag_clusters as fit_tag_clusters,
    parse_tags as parse_tags,
    tag_clusters as tag_clusters,
)
