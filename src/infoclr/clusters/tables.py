"""Read and write the tables that hold labels, auxiliary information and cluster columns.

Real tables are messy. The official Cl-InfoNCE tables (Tsai et al., arXiv 2106.02869; MIT) are an
example: the first column has an empty header (a pandas index written with ``to_csv``), and the
last row is a summary whose first field is ``-1`` and whose other fields are counts
(``-1,num_per_label_gran,200,5994,8,32,...``), not a sample. :func:`read_table` copes with both,
and :func:`require_columns` turns a missing column or a missing value into a one-line
:class:`~infoclr.errors.DataError` that names the column and the rows.

Row numbers in messages count data rows from 1: row 1 is the first line after the header.
"""

from __future__ import annotations

import os
import re
from collections.abc import Hashable, Iterable
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from infoclr.errors import ConfigError, DataError

_COMPRESSION_SUFFIXES = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".zip": "zip"}
_DELIMITED = {".csv": ",", ".tsv": "\t", ".tab": "\t"}
_PARQUET = {".parquet", ".pq"}
SUPPORTED_SUFFIXES = (".csv", ".tsv", ".tab", ".parquet", ".pq")

# pandas names an empty CSV header "Unnamed: 0"; pyarrow names a stored index like this.
_UNNAMED_INDEX = re.compile(r"^(|Unnamed: 0|__index_level_0__)$")
_MAX_LISTED = 10


def _format_suffix(path: Path) -> tuple[str, str | None]:
    """Return ``(format suffix, compression)`` of ``path``, e.g. ``('.csv', 'gzip')``."""
    suffixes = [suffix.lower() for suffix in path.suffixes]
    compression = None
    if suffixes and suffixes[-1] in _COMPRESSION_SUFFIXES:
        compression = _COMPRESSION_SUFFIXES[suffixes.pop()]
    suffix = suffixes[-1] if suffixes else ""
    return suffix, compression


def _check_format(path: Path) -> tuple[str, str | None]:
    suffix, compression = _format_suffix(path)
    if suffix not in _DELIMITED and suffix not in _PARQUET:
        raise DataError(
            f"{path}: unsupported table format {suffix or '(no extension)'!r}; "
            f"use one of {', '.join(SUPPORTED_SUFFIXES)} (optionally .gz for CSV/TSV)"
        )
    if suffix in _PARQUET and compression is not None:
        raise DataError(f"{path}: parquet files are compressed internally; drop the {compression}")
    return suffix, compression


def _is_minus_one(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip() in ("-1", "-1.0")
    if isinstance(value, (bool, np.bool_)):
        return False
    if isinstance(value, (int, float, np.integer, np.floating)):
        return bool(value == -1)
    return False


def _as_count(value: Any) -> int | None:
    """``value`` as a non-negative integer count, or ``None`` if it is not one."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, np.integer)):
        return int(value) if value >= 0 else None
    if isinstance(value, (float, np.floating)):
        return int(value) if value >= 0 and float(value).is_integer() else None
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _has_summary_row(raw: pd.DataFrame, first_column_is_index: bool) -> bool:
    """Whether the last row of ``raw`` is a ``-1`` summary row rather than a sample.

    The rule: the first field of the last row is ``-1`` and ``-1`` occurs nowhere else in the
    first column, so a column where ``-1`` is an ordinary value (a label meaning "unknown") is
    never cut. When the first column is a named data column rather than an unnamed index, we also
    ask for the evidence that the official tables carry: at least half of the other fields that
    are counts equal the number of distinct values (or of rows) in their column.
    """
    if len(raw) < 2:
        return False
    first = raw.iloc[:, 0]
    if not _is_minus_one(first.iloc[-1]):
        return False
    if any(_is_minus_one(value) for value in first.iloc[:-1]):
        return False
    if first_column_is_index:
        return True
    body = raw.iloc[:-1]
    checked = matched = 0
    for column in raw.columns[1:]:
        count = _as_count(raw[column].iloc[-1])
        if count is None:
            continue
        checked += 1
        matched += count in (body[column].nunique(dropna=True), len(body))
    return checked > 0 and 2 * matched >= checked


def read_table(
    path: str | os.PathLike[str], columns: Iterable[Hashable] | None = None
) -> pd.DataFrame:
    """Read a CSV, TSV or parquet table, cleaning the mess that real cluster tables carry.

    - An unnamed first column (an empty header, ``Unnamed: 0``, ``__index_level_0__``) is a
      stored row index: it becomes the DataFrame's index (named ``""``), so it is not a column,
      and :func:`write_table` writes it back the same way.
    - A trailing summary row whose first field is ``-1`` is dropped (see
      :func:`_has_summary_row` for the exact rule; ordinary rows are never dropped).
    - If ``columns`` is given, each must exist and hold no missing value
      (:func:`require_columns`).

    Args:
        path: a ``.csv``/``.tsv``/``.tab`` file (optionally ``.gz``/``.bz2``/``.xz``/``.zip``)
            or a ``.parquet``/``.pq`` file.
        columns: names of the columns the caller will use.

    Returns:
        The table, one row per sample.

    Raises:
        DataError: missing or unreadable file, unsupported extension, missing columns, missing
            values in ``columns``.
    """
    path = Path(path)
    suffix, compression = _check_format(path)
    if not path.is_file():
        raise DataError(f"table file {path} does not exist; check the path")
    try:
        if suffix in _PARQUET:
            raw = pd.read_parquet(path)
        else:
            raw = pd.read_csv(path, sep=_DELIMITED[suffix], compression=compression)
    except pd.errors.EmptyDataError:
        raise DataError(f"table file {path} is empty; it needs a header and rows") from None
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, ValueError) as err:
        reason = " ".join(str(err).split())
        raise DataError(f"cannot parse table {path}: {reason}") from None
    if raw.shape[1] == 0:
        raise DataError(f"table file {path} has no columns; it needs a header line")

    first_column_is_index = bool(_UNNAMED_INDEX.match(str(raw.columns[0])))
    if _has_summary_row(raw, first_column_is_index):
        if suffix in _PARQUET:
            raw = raw.iloc[:-1]
        else:
            # Parse again without the summary row: its text fields (e.g. "num_per_label_gran")
            # can force a numeric column to strings, so re-inferring the types needs a re-read.
            raw = pd.read_csv(
                path, sep=_DELIMITED[suffix], compression=compression, nrows=len(raw) - 1
            )
    if first_column_is_index and raw.shape[1] > 1:
        index_name = raw.columns[0]
        raw = raw.set_index(index_name)
        # The empty name marks "this came from an unnamed index column" for write_table; pandas
        # may turn 0..N-1 values into a RangeIndex, so the index type alone cannot say so.
        raw.index.name = ""
    if columns is not None:
        require_columns(raw, columns, source=str(path))
    return raw


def _list_rows(rows: np.ndarray) -> str:
    shown = ", ".join(str(int(row)) for row in rows[:_MAX_LISTED])
    return shown + (f", ... ({len(rows)} in all)" if len(rows) > _MAX_LISTED else "")


def require_columns(
    table: pd.DataFrame,
    columns: Iterable[Hashable],
    *,
    source: str = "the table",
    allow_missing_values: bool = False,
) -> None:
    """Check that ``table`` has every name in ``columns`` and no missing value in them.

    Raises:
        DataError: a column is absent (the message lists the available ones), or holds missing
            values (the message gives their data-row numbers, 1 = first row after the header).
    """
    columns = list(columns)
    absent = [name for name in columns if name not in table.columns]
    if absent:
        available = ", ".join(map(str, table.columns))
        raise DataError(
            f"{source} has no column {', '.join(map(repr, absent))}; available columns: {available}"
        )
    if allow_missing_values:
        return
    for name in columns:
        rows = np.flatnonzero(table[name].isna().to_numpy()) + 1
        if len(rows):
            raise DataError(
                f"column {name!r} in {source} has {len(rows)} missing value(s) at data row(s) "
                f"{_list_rows(rows)} (row 1 = first row after the header); fill or drop them"
            )


def check_output_path(path: str | os.PathLike[str]) -> tuple[str, str | None]:
    """Check that ``path`` can take a table: a known extension, a writable (or creatable)
    folder.

    Returns:
        ``(format suffix, compression)``, e.g. ``('.csv', None)``.

    Raises:
        ConfigError: unsupported extension or an unwritable folder.
    """
    from infoclr.runs import check_writable

    path = Path(path)
    try:
        format_and_compression = _check_format(path)
    except DataError as err:
        raise ConfigError(str(err)) from None
    check_writable(path.parent)
    return format_and_compression


def serialize_table(table: pd.DataFrame, handle: IO[bytes], path: str | os.PathLike[str]) -> None:
    """Write ``table`` to an open binary ``handle`` in the format of ``path``'s extension.

    A non-default index (the stored index that :func:`read_table` found) is written as an
    unnamed first column, as in the input; a default ``0..N-1`` index is not written.
    """
    suffix, compression = check_output_path(path)
    default_index = isinstance(table.index, pd.RangeIndex) and table.index.equals(
        pd.RangeIndex(len(table))
    )
    write_index = table.index.name is not None or not default_index
    if suffix in _PARQUET:
        table.to_parquet(handle, index=write_index)
    else:
        table.to_csv(handle, sep=_DELIMITED[suffix], index=write_index, compression=compression)


def write_table(table: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write ``table`` as CSV/TSV/parquet (by extension) atomically: a failure leaves no
    half-written output (see :func:`serialize_table` for the layout).

    Raises:
        ConfigError: unsupported extension or unwritable output folder.
    """
    from infoclr.io import atomic_write

    check_output_path(path)
    atomic_write(path, lambda handle: serialize_table(table, handle, path))
