"""Turn per-row bit patterns into dense cluster ids, shared by attribute and tag clusters.

Cl-InfoNCE (Tsai et al., arXiv 2106.02869, section 3) defines a cluster as one combination of the
top-k binary attributes. Both :mod:`infoclr.clusters.attributes` and
:mod:`infoclr.clusters.tags` build an ``(N, k)`` 0/1 matrix and need the same renumbering, so it
lives here once.

Renumbering order: clusters are numbered ``0..K-1`` by their bit pattern read as a binary number
whose most significant bit is the first column (the highest-ranked attribute or tag), ascending.
That order depends only on which patterns occur, never on the row order, so shuffling the table
gives the same ids. ``k`` may exceed 64 (the official CUB tables go to k = 300), so patterns are
compared as packed bytes, never as machine integers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from infoclr.errors import ConfigError

#: Cluster id given to rows whose pattern was not seen at fit time, with ``unseen="missing"``.
MISSING_CLUSTER = -1

UnseenPolicy = Literal["new", "missing"]


def _packed_rows(bits: np.ndarray) -> list[bytes]:
    """Pack each row of an ``(N, k)`` 0/1 matrix into bytes; byte order equals bit order."""
    packed = np.packbits(np.ascontiguousarray(bits, dtype=np.uint8), axis=1)
    return [row.tobytes() for row in packed]


@dataclass(frozen=True)
class BitCodebook:
    """The observed ``k``-bit patterns of a fitted table, in cluster-id order.

    Attributes:
        n_bits: ``k``, the number of columns of the bit matrix.
        patterns: ``(K, k)`` uint8 array; row ``i`` is the bit pattern of cluster ``i``.
    """

    n_bits: int
    patterns: np.ndarray
    _id_of_packed: dict[bytes, int] = field(repr=False, compare=False)

    @property
    def n_clusters(self) -> int:
        return int(self.patterns.shape[0])

    @classmethod
    def fit(cls, bits: np.ndarray) -> tuple[BitCodebook, np.ndarray]:
        """Number the patterns of ``bits`` (``(N, k)``, 0/1) and return ``(codebook, ids (N,))``."""
        bits = np.asarray(bits, dtype=np.uint8)
        # np.unique on rows sorts them lexicographically, which is the ascending binary number
        # with column 0 as the most significant bit: exactly the documented order.
        patterns, inverse = np.unique(bits, axis=0, return_inverse=True)
        packed = _packed_rows(patterns)
        codebook = cls(
            n_bits=int(bits.shape[1]),
            patterns=patterns,
            _id_of_packed={key: index for index, key in enumerate(packed)},
        )
        return codebook, inverse.reshape(-1).astype(np.int64)

    def transform(self, bits: np.ndarray, unseen: UnseenPolicy = "new") -> np.ndarray:
        """Ids of the rows of ``bits`` (``(N, k)``, 0/1) under this codebook, shape ``(N,)``.

        Args:
            bits: the same ``k`` columns, in the same order, as at fit time.
            unseen: what a pattern that was not seen at fit time gets. ``"new"``: fresh ids
                ``K, K+1, ...`` numbered among the unseen patterns in the same ascending-pattern
                order as at fit time (so equal unseen patterns share an id). ``"missing"``:
                :data:`MISSING_CLUSTER` (``-1``).
        """
        if unseen not in ("new", "missing"):
            raise ConfigError(f"unseen must be 'new' or 'missing', got {unseen!r}")
        bits = np.asarray(bits, dtype=np.uint8)
        keys = _packed_rows(bits)
        ids = np.array([self._id_of_packed.get(key, MISSING_CLUSTER) for key in keys], np.int64)
        if unseen == "new" and (ids == MISSING_CLUSTER).any():
            unseen_rows = np.flatnonzero(ids == MISSING_CLUSTER)
            _, unseen_inverse = np.unique(bits[unseen_rows], axis=0, return_inverse=True)
            ids[unseen_rows] = self.n_clusters + unseen_inverse.reshape(-1)
        return ids


def normalise_top_k(top_k: int | Sequence[int], n_available: int, what: str) -> tuple[int, ...]:
    """Check ``top_k`` (one k or several) against ``n_available`` ``what``; dedupe, keep order.

    Raises:
        ConfigError: empty, not a positive integer, or larger than ``n_available``.
    """
    values = [top_k] if isinstance(top_k, (int, np.integer)) else list(top_k)
    if not values:
        raise ConfigError("top_k is empty; give at least one k, e.g. top_k=3")
    for k in values:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ConfigError(f"top_k must be positive integers, got {k!r}")
        if k > n_available:
            raise ConfigError(f"top_k={k} exceeds the {n_available} {what}; use k <= {n_available}")
    return tuple(dict.fromkeys(int(k) for k in values))


class FittedCodebooks:
    """Accessors shared by the fitted cluster results: needs ``_codebooks`` (k → codebook) and
    ``top_k`` attributes on the concrete dataclass."""

    _codebooks: dict[int, BitCodebook]
    top_k: tuple[int, ...]

    def n_clusters(self, k: int) -> int:
        """K, the number of distinct clusters found at ``k`` on the fitted rows."""
        self._check_k(k)
        return self._codebooks[k].n_clusters

    def cluster_patterns(self, k: int) -> np.ndarray:
        """``(K, k)`` uint8: row ``i`` is the bit pattern (present/absent per ranked column)
        shared by cluster ``i``."""
        self._check_k(k)
        return self._codebooks[k].patterns.copy()

    def _check_k(self, k: int) -> None:
        if k not in self._codebooks:
            raise ConfigError(f"k={k} was not fitted; fitted k: {list(self.top_k)}")
