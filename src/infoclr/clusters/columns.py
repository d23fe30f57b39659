"""Cluster ids from a data set's auxiliary columns: one column as is, or top-k attributes.

This is what Cl-InfoNCE and the cross-entropy baseline train on when the clusters come from
auxiliary information (Tsai et al., arXiv 2106.02869): either one categorical column (a coarse
label, a hierarchy level, a tag cluster), or the top-k binary attributes by entropy combined
into a k-bit code (:func:`~infoclr.clusters.attributes.fit_attribute_clusters`).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from infoclr.errors import ConfigError, DataError, InfoclrWarning

__all__ = ["ColumnClusters", "check_cluster_columns", "distinct_binary_columns"]

#: What to tell a user whose cluster column is missing, by data set.
_WHERE_COLUMNS_COME_FROM = {
    "csv": 'list it in data_options.attribute_columns (--set "data_options={attribute_columns: '
    '[NAME]}")',
}


def distinct_binary_columns(aux: Mapping[str, np.ndarray]) -> list[str]:
    """The 0/1 columns of ``aux`` that vary, in name order, without repeats: a column equal to
    an earlier one, or to its complement, splits the rows the same way and would only waste a
    bit of the top-k code (shapes' ``shape_group`` is ``has_corners`` again)."""
    kept: list[str] = []
    seen: set[bytes] = set()
    for name in sorted(aux):
        values = np.asarray(aux[name])
        if set(np.unique(values).tolist()) != {0, 1}:
            continue  # not binary, or constant (a constant column carries no information)
        bits = values.astype(bool)
        if bits[0]:
            bits = ~bits  # one key for a column and its complement
        key = np.packbits(bits).tobytes() + len(bits).to_bytes(8, "little")
        if key not in seen:
            seen.add(key)
            kept.append(name)
    return kept


def _missing_column(kind: str, name: str, aux: Mapping[str, np.ndarray], dataset: str) -> str:
    choices = ", ".join(sorted(aux)) or "none"
    fix = _WHERE_COLUMNS_COME_FROM.get(dataset, "choose one of the auxiliary columns")
    return f"{kind} {name!r} is not in data set {dataset!r} (auxiliary columns: {choices}); {fix}"


@dataclass(frozen=True)
class ColumnClusters:
    """A checked cluster source (:func:`check_cluster_columns`): one auxiliary column, or the
    binary ``attributes`` combined by Cl-InfoNCE's top-k-by-entropy rule with ``top_k``."""

    column: str | None = None
    attributes: tuple[str, ...] = ()
    top_k: int | None = None

    def cluster_ids(self, aux: Mapping[str, np.ndarray]) -> np.ndarray:
        """(N,) int64 cluster ids 0..K−1 from ``aux``, the data set's columns, each (N,).

        Warns with :class:`~infoclr.errors.InfoclrWarning` when the top-k cut is a near tie.
        """
        if self.column is not None:
            _, ids = np.unique(np.asarray(aux[self.column]), return_inverse=True)
            return ids.astype(np.int64)
        import pandas as pd

        from infoclr.clusters.attributes import fit_attribute_clusters

        names = list(self.attributes)
        table = pd.DataFrame({name: np.asarray(aux[name]) for name in names})
        fitted = fit_attribute_clusters(table, names, self.top_k)
        tie = fitted.near_tie(self.top_k)
        if tie is not None:
            warnings.warn(tie, InfoclrWarning, stacklevel=2)
        return np.asarray(fitted.cluster_ids[self.top_k], dtype=np.int64)


def check_cluster_columns(
    aux: Mapping[str, np.ndarray],
    column: str | None = None,
    attributes: Sequence[str] | None = None,
    top_k: int | None = None,
    dataset: str = "this data set",
) -> ColumnClusters:
    """Check a cluster source against the columns at hand; one-line errors name the option to
    set. ``.cluster_ids(aux)`` of the result gives the clusters.

    Args:
        aux: the data set's auxiliary columns, each (N,).
        column: one column, renumbered 0..K−1 (exclusive with ``attributes``).
        attributes: binary columns, or ``["binary"]`` for every distinct 0/1 column.
        top_k: how many attributes to keep.
        dataset: the data set's name, for messages.
    """
    if column is None and attributes is None:
        choices = ", ".join(sorted(aux)) or "none in this data set"
        raise ConfigError(
            f"this method needs --cluster-column or cluster_attributes (auxiliary columns: "
            f"{choices}); or use clinfonce-kmeans"
        )
    if column is not None and attributes is not None:
        raise ConfigError("give either cluster_column or cluster_attributes, not both")
    if column is not None:
        if column not in aux:
            raise DataError(_missing_column("cluster column", column, aux, dataset))
        return ColumnClusters(column=column)
    names = list(attributes or [])
    if names == ["binary"]:
        names = distinct_binary_columns(aux)
    for name in names:
        if name not in aux:
            raise DataError(_missing_column("attribute column", name, aux, dataset))
    if not names:
        raise DataError(f"data set {dataset!r} has no binary (0/1) auxiliary column to use")
    if top_k is None:
        raise ConfigError("cluster_attributes needs cluster_top_k (e.g. --set cluster_top_k=3)")
    return ColumnClusters(attributes=tuple(names), top_k=top_k)
