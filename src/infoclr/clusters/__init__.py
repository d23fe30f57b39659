"""Clusters from auxiliary information, and their information statistics.

Cl-InfoNCE (Tsai et al., arXiv 2106.02869) trains with clusters built from auxiliary
information. This package builds them and measures them:

- :mod:`~infoclr.clusters.tables`: read/write label and cluster tables (CSV, TSV, parquet), with
  the official tables' unnamed index column and ``-1`` summary row handled;
- :mod:`~infoclr.clusters.attributes`: top-k binary attributes ranked by entropy;
- :mod:`~infoclr.clusters.hierarchy`: a class's ancestor at a hierarchy level;
- :mod:`~infoclr.clusters.tags`: the set of top-k most frequent tags;
- :mod:`~infoclr.clusters.stats`: H(Z), H(T), H(Z,T), H(Z|T), H(T|Z), I(Z;T) in bits;
- :mod:`~infoclr.clusters.faiss_kmeans`: the unsupervised variant (faiss k-means);
- :mod:`~infoclr.clusters.columns`: cluster ids from a data set's auxiliary columns;
- :mod:`~infoclr.clusters.build`: the ``infoclr clusters build`` job.
"""

from infoclr._lazy import lazy_exports

# Loaded on first use: the CLI checks its input before pandas or faiss load.
__getattr__, __dir__, __all__ = lazy_exports(__name__)
