"""Relevance pairs for retrieval refinement: (query id, positive id[, negative id]) rows.

A pairs file is a ``.csv`` or ``.tsv`` with two or three columns: the query's id, the id of a
document that answers it, and optionally the id of a document that does not (a hard negative;
empty = none). A header line is optional; it is recognised when its first two cells are
neither a known query id nor a known document id. Ids are matched as text against the ids of
the query table and the document table (rows of a ``.npy`` file, which has no ids, are named by
their row numbers ``0 .. N-1``).

Every mistake is one line: a missing file, a wrong number of columns, an empty id, an id that is
not in the tables (with the line number and how many such lines there are), duplicate ids in a
table. Torch-free.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from infoclr.errors import DataError

__all__ = ["Pairs", "check_pairs_path", "id_positions", "read_pairs", "split_queries", "table_ids"]


@dataclass
class Pairs:
    """Relevance pairs as row numbers.

    Attributes:
        query_rows: (P,) int64 rows of the query table.
        document_rows: (P,) int64 rows of the document table (the positive).
        negative_rows: (P,) int64 rows of a hard negative document, −1 where none.
    """

    query_rows: np.ndarray
    document_rows: np.ndarray
    negative_rows: np.ndarray

    def __len__(self) -> int:
        return int(self.query_rows.size)

    def subset(self, keep: np.ndarray) -> Pairs:
        """The pairs selected by a boolean mask or index array."""
        return Pairs(self.query_rows[keep], self.document_rows[keep], self.negative_rows[keep])

    def relevance(self, queries: np.ndarray) -> np.ndarray:
        """(P', 2) (position in ``queries``, document row) of the pairs of the given query rows
        (what :func:`infoclr.evaluation.retrieval.retrieval_scores` takes)."""
        position = {int(q): i for i, q in enumerate(queries)}
        keep = np.isin(self.query_rows, queries)
        positions = [position[int(q)] for q in self.query_rows[keep]]
        return np.stack([np.array(positions, dtype=np.int64), self.document_rows[keep]], axis=1)


def split_queries(
    query_rows: np.ndarray, select_fraction: float, guard_fraction: float, seed: int, cap: int
) -> dict[str, np.ndarray]:
    """Random split of the distinct query rows into train / select / guard (each held-out part
    at most ``cap`` queries); a one-line DataError below 10 distinct queries."""
    distinct = np.unique(query_rows)
    if distinct.size < 10:
        raise DataError(
            f"the pairs name only {distinct.size} distinct queries; the select and guard parts "
            "need at least 10 queries in all"
        )
    rng = np.random.default_rng(seed)
    order = rng.permutation(distinct)
    num_select = max(2, min(round(select_fraction * distinct.size), cap))
    num_guard = max(2, min(round(guard_fraction * distinct.size), cap))
    return {
        "select": np.sort(order[:num_select]),
        "guard": np.sort(order[num_select : num_select + num_guard]),
        "train": np.sort(order[num_select + num_guard :]),
    }


def table_ids(ids: Any, num_rows: int) -> list[str]:
    """The ids of a table as text; row numbers when the table has none."""
    if ids is None:
        return [str(i) for i in range(num_rows)]
    return [str(v) for v in np.asarray(ids).tolist()]


def id_positions(ids: Sequence[str], what: str) -> dict[str, int]:
    """``{id: row}``; DataError when an id appears twice."""
    positions: dict[str, int] = {}
    for row, value in enumerate(ids):
        if value in positions:
            raise DataError(
                f"{what} has the id {value!r} on rows {positions[value]} and {row}; ids must be "
                "unique to match pairs"
            )
        positions[value] = row
    return positions


def check_pairs_path(path: str | Path) -> Path:
    """``path`` as a Path; a one-line DataError unless it is an existing .csv or .tsv file."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"pairs file {path} does not exist; give a .csv or .tsv file")
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".tsv"):
        raise DataError(f"pairs file {path} must be .csv or .tsv, got {suffix or '(none)'}")
    return path


def read_pairs(
    path: str | Path,
    query_ids: Sequence[str],
    document_ids: Sequence[str],
    queries_name: str = "the queries",
    documents_name: str = "the documents",
) -> Pairs:
    """Read a pairs file and map its ids to rows (see the module docstring).

    Args:
        path: the ``.csv`` / ``.tsv`` file.
        query_ids: the query table's ids, in row order (text).
        document_ids: the document table's ids (may be the same list).
        queries_name, documents_name: how the tables are named in errors.
    """
    import csv

    path = check_pairs_path(path)
    suffix = path.suffix.lower()
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            lines = list(csv.reader(handle, delimiter="\t" if suffix == ".tsv" else ","))
    except (csv.Error, UnicodeDecodeError) as err:
        raise DataError(f"cannot read pairs file {path}: {str(err).splitlines()[0]}") from None
    numbered = [(n + 1, [c.strip() for c in line]) for n, line in enumerate(lines)]
    numbered = [(n, cells) for n, cells in numbered if any(cells)]
    for number, cells in numbered:
        if len(cells) > 3:
            raise DataError(
                f"pairs file {path} line {number} has {len(cells)} fields; give query id, "
                "positive id and optionally a negative id"
            )
    columns = max((len(cells) for _, cells in numbered), default=0)
    if columns < 2:
        raise DataError(
            f"pairs file {path} has {columns} column(s); give query id, positive id and "
            "optionally a negative id"
        )
    queries = id_positions(query_ids, queries_name)
    documents = queries if document_ids is query_ids else id_positions(document_ids, documents_name)
    if (
        numbered
        and numbered[0][1][0] not in queries
        and numbered[0][1][1:2] != []
        and (numbered[0][1][1] not in documents)
    ):
        numbered = numbered[1:]  # a header line
    if not numbered:
        raise DataError(f"pairs file {path} holds no pairs")
    rows = np.full((len(numbered), 3), -1, dtype=np.int64)
    tables = [(queries, queries_name), (documents, documents_name), (documents, documents_name)]
    for column, (table, name) in enumerate(tables):
        values = [(n, cells[column] if column < len(cells) else "") for n, cells in numbered]
        for index, (number, value) in enumerate(values):
            if not value:
                if column == 2:
                    continue
                what = "query" if column == 0 else "positive"
                raise DataError(
                    f"pairs file {path} line {number} has an empty {what} id; every pair needs both"
                )
            row = table.get(value)
            if row is None:
                unknown = sum(1 for _, v in values if v and v not in table)
                raise DataError(
                    f"pairs file {path} line {number} names {value!r}, which is not an id of "
                    f"{name} ({unknown} such line(s)); check the ids"
                )
            rows[index, column] = row
    return Pairs(rows[:, 0], rows[:, 1], rows[:, 2])
