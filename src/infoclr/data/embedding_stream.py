"""Write embedding tables batch by batch, in the layouts that ``infoclr refine`` reads.

Memory stays O(batch): a ``.npy`` file gets its header (the row count is known up front) and
then each batch's bytes; a ``.parquet`` file gets one row group per batch. The layouts are
those of :func:`infoclr.data.embeddings.read_embeddings`:

* ``.npy``: the (N, D) float32 vectors; the row metadata (id, split, index, label, file) goes
  to a CSV beside it, which ``infoclr refine --labels FILE.ids.csv`` reads (its ``label``
  column);
* ``.parquet``: columns ``id``, the metadata columns, and ``embedding`` (a list of float32 per
  row): refine finds the id column and the one list-valued column by itself.

The writer only streams into an open binary handle; atomic placement is the caller's
(:class:`infoclr.runs.OutputSet`).
"""

from __future__ import annotations

from typing import IO, Any

import numpy as np

from infoclr.errors import DataError

__all__ = ["EMBEDDING_SUFFIXES", "EmbeddingStream", "ids_path"]

EMBEDDING_SUFFIXES = (".npy", ".parquet")


def ids_path(out: Any) -> Any:
    """The metadata CSV beside a ``.npy`` output: ``vectors.npy`` -> ``vectors.ids.csv``."""
    return out.with_name(out.stem + ".ids.csv")


class EmbeddingStream:
    """Stream (n, D) float32 batches plus per-row columns into ``handle``.

    Args:
        handle: a binary file object opened for writing.
        suffix: ``".npy"`` or ``".parquet"``.
        num_rows, dim: N and D of the whole table (``.npy`` writes them first).
        columns: names of the per-row metadata columns, in order (``.parquet`` only).
    """

    def __init__(
        self, handle: IO[bytes], suffix: str, num_rows: int, dim: int, columns: list[str]
    ) -> None:
        if suffix not in EMBEDDING_SUFFIXES:
            raise DataError(f"embeddings are written as .npy or .parquet, not {suffix!r}")
        self.handle, self.suffix = handle, suffix
        self.num_rows, self.dim, self.columns = num_rows, dim, columns
        self.written = 0
        self._parquet: Any = None
        if suffix == ".npy":
            header = {"descr": "<f4", "fortran_order": False, "shape": (num_rows, dim)}
            np.lib.format.write_array_header_1_0(handle, header)

    def write(self, vectors: np.ndarray, meta: dict[str, Any] | None = None) -> None:
        """Append rows: ``vectors`` (n, D), ``meta`` {column: (n,) values}."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            raise DataError(
                f"the backbone returned rows of shape {tuple(vectors.shape[1:])}, expected "
                f"({self.dim},); its feature_dim is wrong"
            )
        if self.written + vectors.shape[0] > self.num_rows:
            raise DataError(f"more rows than the {self.num_rows} announced")
        if self.suffix == ".npy":
            self.handle.write(vectors.tobytes())
        else:
            self._write_parquet(vectors, meta or {})
        self.written += vectors.shape[0]

    def _write_parquet(self, vectors: np.ndarray, meta: dict[str, Any]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        n = vectors.shape[0]
        offsets = pa.array(np.arange(0, n * self.dim + 1, self.dim, dtype=np.int32))
        embedding = pa.ListArray.from_arrays(offsets, pa.array(vectors.reshape(-1)))
        arrays = [pa.array(np.asarray(meta[name])) for name in self.columns]
        batch = pa.record_batch([*arrays, embedding], names=[*self.columns, "embedding"])
        if self._parquet is None:
            self._parquet = pq.ParquetWriter(self.handle, batch.schema)
        self._parquet.write_batch(batch)

    def close(self) -> None:
        """Finish the file; DataError when fewer rows came than were announced."""
        if self._parquet is not None:
            self._parquet.close()
        if self.written != self.num_rows:
            raise DataError(f"wrote {self.written} rows of the {self.num_rows} announced")
