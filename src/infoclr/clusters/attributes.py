"""Clusters from binary attributes, as Cl-InfoNCE builds them.

Tsai et al., "Integrating Auxiliary Information in Self-supervised Learning" (arXiv 2106.02869;
ICLR 2022 version arXiv 2202.06670), section 3 and the official code:

1. rank the binary attributes by their empirical entropy on the training split, highest first;
2. keep the top k;
3. a cluster is one k-bit combination of the kept attributes, renumbered ``0..K-1``.

So ``K <= 2**k``, and as k grows the clusters approach instance ids.

Choices this module makes, all deterministic:

- **Ties** in entropy keep the order of ``columns`` (a stable sort). Entropies are computed from
  the count of ones in a form symmetric in ``p`` and ``1 - p``, so two columns with the same (or
  complementary) counts tie exactly.
- **Renumbering**: by the k-bit pattern read as a binary number, the highest-entropy attribute
  being the most significant bit, ascending (see :mod:`infoclr.clusters._codes`). The ids do not
  depend on the row order.
- **Val/test rows** go through :meth:`AttributeClusters.transform`, which uses the training
  ranking and numbering. A pattern never seen in training gets a new id after the training ones
  (``unseen="new"``, the default) or ``-1`` (``unseen="missing"``).

The official tables' ``label_gran_k`` ids use a different numbering of the same partitions, so
compare partitions (e.g. with :func:`infoclr.clusters.stats.cluster_statistics`), not raw ids.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from infoclr.clusters._codes import (
    BitCodebook,
    FittedCodebooks,
    UnseenPolicy,
    normalise_top_k,
)
from infoclr.clusters.tables import require_columns
from infoclr.errors import ConfigError, DataError

AttributeData = pd.DataFrame | np.ndarray


#: Entropy gap (bits) under which :meth:`AttributeClusters.near_tie` warns.
NEAR_TIE_BITS = 0.01


def _is_binary_value(value: Any) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return True
    if isinstance(value, (int, float, np.integer, np.floating)):
        return value == 0 or value == 1
    return False


def binary_columns(table: pd.DataFrame, exclude: Sequence[str] = ()) -> list[str]:
    """Names of the columns of ``table`` that hold only 0/1 (or booleans) and no missing value."""
    names = []
    for name in table.columns:
        if name in exclude:
            continue
        column = table[name]
        if len(column) and not column.isna().any():
            if all(_is_binary_value(value) for value in pd.unique(column)):
                names.append(str(name))
    return names


def _attribute_matrix(
    data: AttributeData, columns: Sequence[Hashable] | None, *, source: str
) -> tuple[np.ndarray, tuple[Hashable, ...]]:
    """Return the ``(N, A)`` uint8 matrix of the attributes and their names, checked binary."""
    if isinstance(data, pd.DataFrame):
        names = tuple(data.columns) if columns is None else tuple(columns)
        if not names:
            raise ConfigError("no attribute columns given; name at least one binary column")
        require_columns(data, names, source=source)
        values = [data[name] for name in names]
    else:
        array = np.asarray(data)
        if array.ndim != 2:
            raise DataError(
                f"attributes must be a 2-D (samples, attributes) array, got {array.shape}"
            )
        names = tuple(range(array.shape[1])) if columns is None else tuple(columns)
        for name in names:
            if not isinstance(name, (int, np.integer)) or not 0 <= name < array.shape[1]:
                raise ConfigError(
                    f"attribute {name!r} is not a column index of the {array.shape[1]}-column array"
                )
        values = [pd.Series(array[:, int(name)]) for name in names]
        for name, column in zip(names, values, strict=True):
            rows = np.flatnonzero(column.isna().to_numpy()) + 1
            if len(rows):
                raise DataError(
                    f"attribute column {name} has missing values at row(s) "
                    f"{', '.join(map(str, rows[:10]))}; fill or drop them"
                )
    if len(set(names)) != len(names):
        raise ConfigError("attribute columns are listed twice; give each once")
    for name, column in zip(names, values, strict=True):
        offending = [value for value in pd.unique(column) if not _is_binary_value(value)]
        if offending:
            shown = ", ".join(repr(v.item() if hasattr(v, "item") else v) for v in offending[:5])
            more = f" (and {len(offending) - 5} more)" if len(offending) > 5 else ""
            raise DataError(
                f"attribute column {name!r} is not binary: it holds {shown}{more}; "
                "attributes must be 0/1 (one-hot encode categorical columns first)"
            )
    matrix = np.stack([column.to_numpy().astype(np.uint8) for column in values], axis=1)
    return matrix, names


def _binary_entropy_bits(n_ones: int, n_rows: int) -> float:
    """Entropy in bits of a 0/1 column with ``n_ones`` ones out of ``n_rows``."""
    # Computed from the smaller and larger count in a fixed order so that complementary columns
    # (p and 1 - p) give bit-identical values and tie exactly.
    low, high = sorted((n_ones, n_rows - n_ones))
    entropy = 0.0
    for count in (low, high):
        if count:
            probability = count / n_rows
            entropy -= probability * math.log2(probability)
    return entropy


def rank_attributes(
    data: AttributeData, columns: Sequence[Hashable] | None = None
) -> list[tuple[Hashable, float]]:
    """Attributes ranked by empirical entropy in bits, highest first, ties in column order.

    Args:
        data: a DataFrame (``columns`` are names; ``None`` = all) or an ``(N, A)`` array
            (``columns`` are indices; ``None`` = all), values 0/1.

    Returns:
        ``[(attribute, entropy_bits), ...]`` over all given attributes.
    """
    matrix, names = _attribute_matrix(data, columns, source="the attribute table")
    return _rank(matrix, names)


def _rank(matrix: np.ndarray, names: tuple[Hashable, ...]) -> list[tuple[Hashable, float]]:
    n_rows = matrix.shape[0]
    ones = matrix.sum(axis=0, dtype=np.int64)
    entropies = [_binary_entropy_bits(int(count), n_rows) for count in ones]
    order = sorted(range(len(names)), key=lambda position: -entropies[position])
    return [(names[position], entropies[position]) for position in order]


@dataclass(frozen=True)
class AttributeClusters(FittedCodebooks):
    """Top-k attribute clusters fitted on a training table; apply them to others.

    Attributes:
        ranked_attributes: every given attribute, highest entropy first.
        entropies_bits: their entropies in bits, same order.
        top_k: the k values fitted.
        cluster_ids: k -> ``(N,)`` int64 cluster id of each fitted row, in ``0..K_k-1``.
    """

    ranked_attributes: tuple[Hashable, ...]
    entropies_bits: tuple[float, ...]
    top_k: tuple[int, ...]
    cluster_ids: dict[int, np.ndarray]
    _codebooks: dict[int, BitCodebook] = field(repr=False)
    _from_array: bool = field(repr=False)

    def attributes(self, k: int) -> tuple[Hashable, ...]:
        """The k attributes whose combination defines the clusters at ``k``, bit 0 first."""
        self._check_k(k)
        return self.ranked_attributes[:k]

    def near_tie(self, k: int, tolerance_bits: float = NEAR_TIE_BITS) -> str | None:
        """A warning when the cut at ``k`` falls between two attributes whose entropies differ
        by less than ``tolerance_bits``, else ``None``.

        Entropy ranking ignores the task: with such a near tie, another sample of the same data
        can keep the other attribute, and the clusters (and what they say about the labels)
        change with it. The shapes benchmark saw exactly this (docs/benchmarks-clinfonce.md).
        """
        self._check_k(k)
        if k >= len(self.ranked_attributes):
            return None
        kept, dropped = self.entropies_bits[k - 1], self.entropies_bits[k]
        if kept - dropped >= tolerance_bits:
            return None
        return (
            f"near tie at the top-{k} cut: {self.ranked_attributes[k - 1]!s} ({kept:.4f} bits) "
            f"is kept and {self.ranked_attributes[k]!s} ({dropped:.4f} bits) is not; another "
            "sample may swap them, so consider naming the attributes yourself"
        )

    def transform(self, data: AttributeData, unseen: UnseenPolicy = "new") -> dict[int, np.ndarray]:
        """Cluster ids of new rows (e.g. the val split) under the training ranking and numbering.

        Args:
            data: a DataFrame holding the fitted attribute columns (by name), or an array with
                the fitted array's columns (by index).
            unseen: ``"new"`` gives patterns absent from training fresh ids ``K, K+1, ...``;
                ``"missing"`` gives them ``-1``.

        Returns:
            k -> ``(M,)`` int64 ids.
        """
        if isinstance(data, pd.DataFrame) == self._from_array:
            kind = "an array" if self._from_array else "a DataFrame"
            raise ConfigError(f"these clusters were fitted on {kind}; transform {kind} too")
        needed = self.ranked_attributes[: max(self.top_k)]
        matrix, _ = _attribute_matrix(data, needed, source="the table to transform")
        return {k: self._codebooks[k].transform(matrix[:, :k], unseen=unseen) for k in self.top_k}


def fit_attribute_clusters(
    data: AttributeData,
    columns: Sequence[Hashable] | None,
    top_k: int | Sequence[int],
) -> AttributeClusters:
    """Fit Cl-InfoNCE attribute clusters at one or several k on a training table.

    Args:
        data: a DataFrame (``columns`` are names) or an ``(N, A)`` array (``columns`` are
            indices); ``columns=None`` takes every column. Values must be 0/1 or booleans.
        columns: the binary attribute columns to rank.
        top_k: one k or several; each in ``1..A``.

    Returns:
        :class:`AttributeClusters` with ``cluster_ids[k]`` of shape ``(N,)``.

    Raises:
        DataError: a non-binary column (named, with its offending values), missing values, or
            fewer than two rows (entropy ranking needs a sample).
        ConfigError: k < 1 or k > number of attributes.
    """
    matrix, names = _attribute_matrix(data, columns, source="the attribute table")
    if matrix.shape[0] < 2:
        raise DataError(
            f"the attribute table has {matrix.shape[0]} row(s); ranking attributes by entropy "
            "needs at least two rows"
        )
    ks = normalise_top_k(top_k, len(names), "attribute column(s) given")
    ranking = _rank(matrix, names)
    position_of = {name: position for position, name in enumerate(names)}
    ranked_matrix = matrix[:, [position_of[name] for name, _ in ranking]]
    codebooks: dict[int, BitCodebook] = {}
    cluster_ids: dict[int, np.ndarray] = {}
    for k in ks:
        codebooks[k], cluster_ids[k] = BitCodebook.fit(ranked_matrix[:, :k])
    return AttributeClusters(
        ranked_attributes=tuple(name for name, _ in ranking),
        entropies_bits=tuple(entropy for _, entropy in ranking),
        top_k=ks,
        cluster_ids=cluster_ids,
        _codebooks=codebooks,
        _from_array=not isinstance(data, pd.DataFrame),
    )


def attribute_clusters(
    data: AttributeData,
    columns: Sequence[Hashable] | None,
    top_k: int | Sequence[int],
) -> dict[int, np.ndarray]:
    """Shortcut for ``fit_attribute_clusters(data, columns, top_k).cluster_ids``: k -> ``(N,)``."""
    return fit_attribute_clusters(data, columns, top_k).cluster_ids
