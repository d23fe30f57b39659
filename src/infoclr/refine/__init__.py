"""Refine embeddings you already have: SimSkip training, selection, I/O and reports.

The Python API behind ``infoclr refine`` (see ``docs/guide-refine.md``)::

    from infoclr.refine import RefineConfig, fit_refiner, read_embeddings

    table = read_embeddings("vectors.npy")              # memory-mapped
    result = fit_refiner(table.vectors, RefineConfig(epochs=20), label_codes=labels)
    refined = result.refine(table.vectors[:1000])       # (1000, D) float32
    print(result.selection.reason)
"""

from infoclr.refine.checkpoint import LoadedRefiner, load_refiner, save_refiner
from infoclr.refine.fit import MemmapBatches, RefineConfig, RefineResult, fit_refiner
from infoclr.refine.io import (
    EmbeddingStats,
    EmbeddingTable,
    read_embeddings,
    read_row_values,
    scan_embeddings,
    write_embeddings,
)
from infoclr.refine.select import (
    LabelSplit,
    Selection,
    encode_values,
    kmeans_nmi_restarts,
    kmeans_stability,
    probe_scores,
    split_labelled,
)

__all__ = [
    "EmbeddingStats",
    "EmbeddingTable",
    "LabelSplit",
    "LoadedRefiner",
    "MemmapBatches",
    "RefineConfig",
    "RefineResult",
    "Selection",
    "encode_values",
    "fit_refiner",
    "kmeans_nmi_restarts",
    "kmeans_stability",
    "load_refiner",
    "probe_scores",
    "read_embeddings",
    "read_row_values",
    "save_refiner",
    "scan_embeddings",
    "split_labelled",
    "write_embeddings",
]
