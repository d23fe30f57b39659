"""Information statistics of a clustering Z against the downstream labels T, in bits.

Tsai et al., "Integrating Auxiliary Information in Self-supervised Learning" (arXiv 2106.02869)
explain Cl-InfoNCE's downstream accuracy with plug-in estimates over the training split:

- ``H(Z)``, ``H(T)`` and the joint ``H(Z,T)``;
- ``H(Z|T) = H(Z,T) - H(T)``: how much the clusters split each class (low is good);
- ``H(T|Z) = H(Z,T) - H(Z)``: how much class information a cluster leaves open;
- ``I(Z;T) = H(Z) - H(Z|T)``: how much the clusters say about the labels (high is good).

Supervised clusters (Z = T) give ``I = H(T)`` and ``H(Z|T) = 0``; instance ids give ``I = H(T)``
with the largest ``H(Z|T)``.

**The published table.** The authors' ``meta_data_train_stats.csv`` (CUB-200-2011) has the header
``H(Y|T), H(T|Y), I(Y;T), H(Y), log(I(Y;T)/log(H(Y|T)))``. Computing every row shows that their
``Y`` is our cluster variable Z and their ``T`` is the class label T:

- ``H(Y|T)`` is ``H(Z|T)``, :attr:`ClusterStats.cluster_entropy_given_label`;
- ``H(T|Y)`` is ``H(T|Z)``, :attr:`ClusterStats.label_entropy_given_cluster`;
- ``I(Y;T)`` is ``I(Z;T)``, :attr:`ClusterStats.mutual_information`;
- ``H(Y)`` is ``H(Z)``, :attr:`ClusterStats.cluster_entropy`;
- ``log(I(Y;T)/log(H(Y|T)))`` is ``ln(I(Z;T) / ln H(Z|T))`` with natural logs,
  :attr:`ClusterStats.published_score`.

The last column is the authors' heuristic score, reproduced with IEEE semantics: ``-inf`` when
``H(Z|T) = 0`` (their ``class`` row), ``+inf`` when ``H(Z|T) = 1`` and NaN when
``0 < H(Z|T) < 1`` (the log of a negative number). Their rows ``class`` and ``instance_id`` are
the two reference clusterings Z = T and Z = row id (:func:`table_statistics` adds both).
All published values are reproduced to 1e-6 (see ``tests/clusters/test_cub_reference.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from infoclr.clusters.tables import require_columns
from infoclr.errors import ConfigError, DataError

#: Our name -> the name in the authors' published statistics table (Y = clusters, T = labels).
PUBLISHED_NAMES: dict[str, str] = {
    "H(Z|T)": "H(Y|T)",
    "H(T|Z)": "H(T|Y)",
    "I(Z;T)": "I(Y;T)",
    "H(Z)": "H(Y)",
    "published_score": "log(I(Y;T)/log(H(Y|T)))",
}

#: Name of the reference row whose clusters are the row (instance) ids.
INSTANCE_ID = "instance_id"

#: Columns that hold clusters by default: the official ``label_gran_k`` and ours (``cluster_*``).
DEFAULT_CLUSTER_COLUMN = re.compile(r"^(label_gran_|cluster_).+")


def _codes(values: Any, name: str) -> np.ndarray:
    """Dense integer codes ``(N,)`` of any hashable values; missing values are an error."""
    array = np.asarray(values)
    if array.ndim != 1:
        raise DataError(f"{name} must be one value per sample (1-D), got shape {array.shape}")
    codes, _ = pd.factorize(pd.Series(array), use_na_sentinel=True)
    if (codes < 0).any():
        rows = np.flatnonzero(codes < 0)[:10] + 1
        raise DataError(
            f"{name} has missing values at row(s) {', '.join(map(str, rows))}; fill or drop them"
        )
    return codes.astype(np.int64)


def _entropy_of_codes(codes: np.ndarray) -> float:
    """Plug-in entropy in bits of integer codes ``(N,)``: ``-sum p log2 p`` over observed values."""
    counts = np.bincount(codes)
    counts = counts[counts > 0]
    # Summing in sorted-count order makes the result depend only on the multiset of counts, so a
    # relabelled copy of a variable has bit-identical entropy and H(Z|T) is exactly 0 when Z is a
    # function of T (the published 'class' row relies on that: its last column is -inf).
    probabilities = np.sort(counts) / codes.size
    return float(-(probabilities * np.log2(probabilities)).sum())


def _joint_codes(*code_columns: np.ndarray) -> np.ndarray:
    joint = np.zeros_like(code_columns[0])
    for codes in code_columns:
        joint = joint * (int(codes.max()) + 1) + codes
        # Re-densify after each step so the product never outgrows int64.
        joint = np.unique(joint, return_inverse=True)[1].reshape(-1)
    return joint


def entropy_bits(*columns: Any) -> float:
    """Joint plug-in entropy in bits of one or more equally long columns.

    Args:
        columns: each ``(N,)`` of hashable values (ints, strings, ...).

    Returns:
        ``H(columns[0], columns[1], ...)`` with probabilities estimated by counting.
    """
    if not columns:
        raise ConfigError("entropy_bits needs at least one column")
    codes = [_codes(column, f"column {index}") for index, column in enumerate(columns)]
    lengths = {len(column) for column in codes}
    if len(lengths) != 1:
        raise DataError(f"columns must have equal lengths, got {sorted(lengths)}")
    if not codes[0].size:
        raise DataError("cannot compute an entropy of zero samples")
    return _entropy_of_codes(_joint_codes(*codes))


@dataclass(frozen=True)
class ClusterStats:
    """Plug-in information statistics of clusters Z against labels T, in bits.

    Attributes:
        n_samples: N, the number of rows.
        n_clusters: the number of distinct clusters K.
        n_labels: the number of distinct labels.
        largest_cluster_share: size of the largest cluster / N.
        cluster_entropy: ``H(Z)``.
        label_entropy: ``H(T)``.
        joint_entropy: ``H(Z,T)``.
        cluster_entropy_given_label: ``H(Z|T) = H(Z,T) - H(T)``.
        label_entropy_given_cluster: ``H(T|Z) = H(Z,T) - H(Z)``.
        mutual_information: ``I(Z;T) = H(Z) - H(Z|T)``.
    """

    n_samples: int
    n_clusters: int
    n_labels: int
    largest_cluster_share: float
    cluster_entropy: float
    label_entropy: float
    joint_entropy: float
    cluster_entropy_given_label: float
    label_entropy_given_cluster: float
    mutual_information: float

    @property
    def published_score(self) -> float:
        """The authors' ``log(I(Y;T)/log(H(Y|T)))`` = ``ln(I(Z;T) / ln H(Z|T))``.

        ``-inf`` when ``H(Z|T) = 0``, NaN when ``0 < H(Z|T) < 1``; see the module docstring.
        """
        with np.errstate(divide="ignore", invalid="ignore"):
            conditional = np.float64(self.cluster_entropy_given_label)
            return float(np.log(np.float64(self.mutual_information) / np.log(conditional)))

    def as_dict(self) -> dict[str, float | int]:
        """Every statistic under its mathematical name and, too, its published name.

        Keys: ``n_samples``, ``n_clusters``, ``n_labels``, ``largest_cluster_share``, ``H(Z)``,
        ``H(T)``, ``H(Z,T)``, ``H(Z|T)``, ``H(T|Z)``, ``I(Z;T)``, then the published ``H(Y|T)``,
        ``H(T|Y)``, ``I(Y;T)``, ``H(Y)`` and ``log(I(Y;T)/log(H(Y|T)))``.
        """
        fields = asdict(self)
        values: dict[str, float | int] = {
            "n_samples": fields["n_samples"],
            "n_clusters": fields["n_clusters"],
            "n_labels": fields["n_labels"],
            "largest_cluster_share": fields["largest_cluster_share"],
            "H(Z)": self.cluster_entropy,
            "H(T)": self.label_entropy,
            "H(Z,T)": self.joint_entropy,
            "H(Z|T)": self.cluster_entropy_given_label,
            "H(T|Z)": self.label_entropy_given_cluster,
            "I(Z;T)": self.mutual_information,
            "published_score": self.published_score,
        }
        for ours, published in PUBLISHED_NAMES.items():
            values[published] = values[ours]
        del values["published_score"]
        return values

    def as_json(self) -> dict[str, Any]:
        """The statistics as strict JSON values: our names (bits), ``published_score`` (null
        where it is undefined: H(Z|T) < 1 gives −inf or NaN) and the published aliases.

        Keys: ``n_samples``, ``n_clusters``, ``n_labels``, ``largest_cluster_share``, ``H(Z)``,
        ``H(T)``, ``H(Z,T)``, ``H(Z|T)``, ``H(T|Z)``, ``I(Z;T)``, ``published_score`` and
        ``published_names`` (the authors' column name of each of ours).
        """
        values: dict[str, Any] = {
            key: value
            for key, value in self.as_dict().items()
            if key not in PUBLISHED_NAMES.values()
        }
        score = self.published_score
        values["published_score"] = score if np.isfinite(score) else None
        values["published_names"] = dict(PUBLISHED_NAMES)
        return values


def cluster_statistics(cluster_ids: Any, labels: Any) -> ClusterStats:
    """Information statistics of ``cluster_ids`` (Z) against ``labels`` (T).

    Args:
        cluster_ids: ``(N,)`` cluster of each sample; any hashable values.
        labels: ``(N,)`` downstream label of each sample; any hashable values.

    Returns:
        :class:`ClusterStats`, entropies in bits.

    Raises:
        DataError: lengths differ, zero samples, or missing values.
    """
    cluster_codes = _codes(cluster_ids, "cluster_ids")
    label_codes = _codes(labels, "labels")
    if cluster_codes.size != label_codes.size:
        raise DataError(
            f"cluster_ids and labels differ in length ({cluster_codes.size} vs "
            f"{label_codes.size}); pass one cluster id per labelled sample"
        )
    if not cluster_codes.size:
        raise DataError("cannot compute cluster statistics of zero samples")
    cluster_entropy = _entropy_of_codes(cluster_codes)
    label_entropy = _entropy_of_codes(label_codes)
    joint_entropy = _entropy_of_codes(_joint_codes(cluster_codes, label_codes))
    # Both differences are >= 0 mathematically; max() only removes float round-off below 0.
    cluster_given_label = max(joint_entropy - label_entropy, 0.0)
    label_given_cluster = max(joint_entropy - cluster_entropy, 0.0)
    cluster_sizes = np.bincount(cluster_codes)
    return ClusterStats(
        n_samples=int(cluster_codes.size),
        n_clusters=int(cluster_sizes.size),
        n_labels=int(label_codes.max()) + 1,
        largest_cluster_share=float(cluster_sizes.max() / cluster_codes.size),
        cluster_entropy=cluster_entropy,
        label_entropy=label_entropy,
        joint_entropy=joint_entropy,
        cluster_entropy_given_label=cluster_given_label,
        label_entropy_given_cluster=label_given_cluster,
        mutual_information=cluster_entropy - cluster_given_label,
    )


def default_cluster_columns(table: pd.DataFrame) -> list[str]:
    """Columns named ``label_gran_*`` (official tables) or ``cluster_*`` (ours), in table order."""
    return [str(name) for name in table.columns if DEFAULT_CLUSTER_COLUMN.match(str(name))]


def table_statistics(
    table: pd.DataFrame,
    label_column: str,
    cluster_columns: Sequence[str] | None = None,
    *,
    include_references: bool = True,
) -> dict[str, ClusterStats]:
    """:func:`cluster_statistics` of several cluster columns of one table against one label.

    Args:
        table: one row per sample.
        label_column: the downstream label T.
        cluster_columns: the clusterings Z; ``None`` means :func:`default_cluster_columns`.
        include_references: add the two reference rows the authors publish: Z = T under the
            label column's own name (first) and Z = row id under ``"instance_id"`` (last). A
            reference is skipped when a requested cluster column already has its name.

    Returns:
        Column name -> statistics, in the order: label reference, cluster columns, instance ids.

    Raises:
        DataError: missing column or missing values; ConfigError: no cluster column found.
    """
    if cluster_columns is None:
        cluster_columns = [c for c in default_cluster_columns(table) if c != label_column]
        if not cluster_columns:
            raise ConfigError(
                "no cluster columns named label_gran_* or cluster_* in the table; "
                "name them explicitly"
            )
    cluster_columns = list(dict.fromkeys(cluster_columns))
    require_columns(table, [label_column, *cluster_columns])
    labels = table[label_column].to_numpy()
    results: dict[str, ClusterStats] = {}
    if include_references and label_column not in cluster_columns:
        results[label_column] = cluster_statistics(labels, labels)
    for column in cluster_columns:
        results[column] = cluster_statistics(table[column].to_numpy(), labels)
    if include_references and INSTANCE_ID not in cluster_columns:
        results[INSTANCE_ID] = cluster_statistics(np.arange(len(table)), labels)
    return results


def statistics_report(
    path: str | Any,
    label_column: str,
    cluster_columns: Sequence[str] | None = None,
    include_references: bool = True,
) -> dict[str, ClusterStats]:
    """:func:`table_statistics` of the table at ``path`` (what ``infoclr clusters stats``
    prints), with a one-line error that names ``--clusters`` when no column was found."""
    from infoclr.clusters.tables import read_table

    data = read_table(path)
    if cluster_columns is None:
        require_columns(data, [label_column], source=str(path))
        if not [c for c in default_cluster_columns(data) if c != label_column]:
            raise ConfigError(
                f"{path} has no column named label_gran_* or cluster_*; name the cluster "
                "columns with --clusters"
            )
    return table_statistics(
        data, label_column, cluster_columns, include_references=include_references
    )


def statistics_frame(
    statistics: Mapping[str, ClusterStats], columns: Iterable[str] | None = None
) -> pd.DataFrame:
    """A DataFrame with one row per clustering, indexed by name, columns from ``as_dict``.

    ``columns`` picks and orders the columns, e.g. the published header
    ``["H(Y|T)", "H(T|Y)", "I(Y;T)", "H(Y)", "log(I(Y;T)/log(H(Y|T)))"]``.
    """
    frame = pd.DataFrame.from_dict(
        {name: stats.as_dict() for name, stats in statistics.items()}, orient="index"
    )
    return frame if columns is None else frame[list(columns)]
