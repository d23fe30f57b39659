"""Clusters from a multi-valued tag column (hashtags, keywords, ``"a;b;c"`` fields).

Tsai et al. (arXiv 2106.02869) cluster by the combination of the top-k attributes; a tag column
is the same idea with each tag read as a binary attribute ("this row has the tag"). Tags are
sparse and rarely balanced, so here they are ranked by **frequency** (the number of rows that
carry the tag), not by entropy: the k most common tags become the k bits. Each row's cluster is
the set of top-k tags it has, renumbered ``0..K-1`` in the same way as attribute clusters
(ascending bit pattern, most frequent tag = most significant bit; see
:mod:`infoclr.clusters._codes`). Rows with none of the top-k tags share the all-zero cluster.

Parsing (:func:`parse_tags`): a string is split on ``separator`` (``";"`` by default; ``" "``
suits ``"#beach #sunset"``), each tag is stripped of whitespace, empty pieces are dropped and a
tag repeated within a row counts once. Lists, tuples and sets are taken as given. A missing value
(None/NaN) is a row with no tags. Frequency ties are broken alphabetically, so the result does
not depend on the row order.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
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
from infoclr.errors import ConfigError, DataError


def parse_tags(values: Iterable[Any], separator: str = ";") -> list[frozenset[str]]:
    """The set of tags of each row.

    Args:
        values: ``(N,)`` strings like ``"a;b"``, or lists/tuples/sets of tags, or None/NaN.
        separator: what separates tags inside a string; must be non-empty.

    Returns:
        ``N`` frozensets of stripped, non-empty tag strings.
    """
    if not separator:
        raise ConfigError("the tag separator is empty; use e.g. ';' or ' '")
    parsed: list[frozenset[str]] = []
    for row, value in enumerate(values, start=1):
        if isinstance(value, str):
            pieces: Iterable[Any] = value.split(separator)
        elif isinstance(value, (list, tuple, set, frozenset, np.ndarray)):
            pieces = value
        elif value is None or (isinstance(value, float) and np.isnan(value)):
            pieces = ()
        else:
            raise DataError(
                f"tag value at row {row} is {value!r}; tags must be strings like 'a{separator}b' "
                "or lists of strings"
            )
        parsed.append(frozenset(tag for tag in (str(p).strip() for p in pieces) if tag))
    return parsed


def _indicator_matrix(tag_sets: Sequence[frozenset[str]], tags: Sequence[str]) -> np.ndarray:
    """``(N, len(tags))`` uint8: entry (i, j) is 1 if row i has tag j."""
    matrix = np.zeros((len(tag_sets), len(tags)), dtype=np.uint8)
    for column, tag in enumerate(tags):
        matrix[:, column] = [tag in row for row in tag_sets]
    return matrix


@dataclass(frozen=True)
class TagClusters(FittedCodebooks):
    """Top-k tag clusters fitted on a training column; apply them to others.

    Attributes:
        ranked_tags: every tag seen, most frequent first (ties alphabetical).
        tag_counts: the number of rows carrying each tag, same order.
        top_k: the k values fitted.
        cluster_ids: k -> ``(N,)`` int64 cluster id of each fitted row, in ``0..K_k-1``.
        separator: the separator used to parse strings.
    """

    ranked_tags: tuple[str, ...]
    tag_counts: tuple[int, ...]
    top_k: tuple[int, ...]
    cluster_ids: dict[int, np.ndarray]
    separator: str
    _codebooks: dict[int, BitCodebook] = field(repr=False)

    def tags(self, k: int) -> tuple[str, ...]:
        """The k tags whose presence pattern defines the clusters at ``k``, bit 0 first."""
        self._check_k(k)
        return self.ranked_tags[:k]

    def transform(
        self, values: Iterable[Any], unseen: UnseenPolicy = "new"
    ) -> dict[int, np.ndarray]:
        """Cluster ids of new rows under the training tag ranking and numbering.

        Tags that are not among the fitted top-k are ignored, as in training. ``unseen``:
        ``"new"`` gives tag sets absent from training fresh ids ``K, K+1, ...``; ``"missing"``
        gives them ``-1``.

        Returns:
            k -> ``(M,)`` int64 ids.
        """
        tag_sets = parse_tags(values, self.separator)
        matrix = _indicator_matrix(tag_sets, self.ranked_tags[: max(self.top_k)])
        return {k: self._codebooks[k].transform(matrix[:, :k], unseen=unseen) for k in self.top_k}


def fit_tag_clusters(
    values: Iterable[Any], top_k: int | Sequence[int], separator: str = ";"
) -> TagClusters:
    """Fit top-k tag clusters at one or several k.

    Args:
        values: ``(N,)`` tag strings or lists (see :func:`parse_tags`), e.g. a table column.
        top_k: one k or several; each in ``1..(number of distinct tags)``.
        separator: the separator inside tag strings.

    Returns:
        :class:`TagClusters` with ``cluster_ids[k]`` of shape ``(N,)``.

    Raises:
        DataError: fewer than two rows, no tags at all, or a value that is not a tag string/list.
        ConfigError: k < 1 or k > number of distinct tags, or an empty separator.
    """
    if isinstance(values, pd.Series):
        values = values.tolist()
    tag_sets = parse_tags(values, separator)
    if len(tag_sets) < 2:
        raise DataError(f"the tag column has {len(tag_sets)} row(s); clustering needs at least two")
    counts = Counter(tag for row in tag_sets for tag in row)
    if not counts:
        raise DataError(f"the tag column holds no tags; check the separator (now {separator!r})")
    ranking = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ks = normalise_top_k(top_k, len(ranking), "distinct tag(s) in the column")
    ranked_tags = tuple(tag for tag, _ in ranking)
    matrix = _indicator_matrix(tag_sets, ranked_tags[: max(ks)])
    codebooks: dict[int, BitCodebook] = {}
    cluster_ids: dict[int, np.ndarray] = {}
    for k in ks:
        codebooks[k], cluster_ids[k] = BitCodebook.fit(matrix[:, :k])
    return TagClusters(
        ranked_tags=ranked_tags,
        tag_counts=tuple(count for _, count in ranking),
        top_k=ks,
        cluster_ids=cluster_ids,
        separator=separator,
        _codebooks=codebooks,
    )


def tag_clusters(
    values: Iterable[Any], top_k: int | Sequence[int], separator: str = ";"
) -> dict[int, np.ndarray]:
    """Shortcut for ``fit_tag_clusters(values, top_k, separator).cluster_ids``: k -> ``(N,)``."""
    return fit_tag_clusters(values, top_k, separator).cluster_ids
