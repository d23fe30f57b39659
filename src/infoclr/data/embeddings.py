"""Embedding tables on disk: read .npy / .pt / .parquet / .csv, write the same layout back.

Only ``.npy`` inputs are memory-mapped (``np.load(mmap_mode="r")``): training then reads just
the rows each batch needs, so inputs larger than RAM work. The other formats have no
random-access row layout and are loaded whole.

:func:`scan_embeddings` is the input check of every job that reads embeddings: one streaming
pass that rejects NaN/inf rows and computes the per-dimension statistics. Per-row values for
``--labels`` / ``--clusters`` come from :func:`read_row_values` and :func:`encode_values`.

Outputs are written atomically (a temporary file beside the target, then a rename), on their
own through :func:`infoclr.io.atomic_write` or staged into an :class:`infoclr.runs.OutputSet`
so that several files appear as one set. Importing this module loads neither torch nor pandas.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal

import numpy as np

from infoclr.errors import DataError
from infoclr.io import atomic_write

if TYPE_CHECKING:
    import pandas as pd

    from infoclr.runs import OutputSet

__all__ = [
    "FORMATS",
    "EmbeddingStats",
    "EmbeddingTable",
    "check_distinct_paths",
    "embedding_format",
    "encode_values",
    "read_embeddings",
    "read_row_values",
    "scan_embeddings",
    "write_embeddings",
]

FORMATS: dict[str, str] = {".npy": "npy", ".pt": "pt", ".parquet": "parquet", ".csv": "csv"}
Format = Literal["npy", "pt", "parquet", "csv"]
ListStyle = Literal["brackets", "space", "semicolon", "comma"]

# A list-valued cell: optional brackets around numbers separated by commas, semicolons or
# whitespace.
_SEPARATORS = re.compile(r"[,;\s]+")


def embedding_format(path: Path, role: str = "input") -> Format:
    """The format of ``path`` from its extension; DataError for anything unsupported."""
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise DataError(
            f"{role} {path} has an unsupported extension {suffix or '(none)'!r}; "
            "use .npy, .pt, .parquet or .csv"
        )
    return FORMATS[suffix]  # type: ignore[return-value]


@dataclass
class EmbeddingTable:
    """Embedding rows plus everything needed to write refined rows back in the same layout.

    Attributes:
        path: where the rows were read from.
        format: ``"npy"``, ``"pt"``, ``"parquet"`` or ``"csv"``.
        vectors: (N, D) numeric array; a read-only memmap for ``.npy``.
        ids: (N,) row ids, or None.
        id_column: name of the id column (tables) or ``"ids"`` (.pt dicts).
        frame: the table's other columns in row order (tables only).
        columns: the table's column order, embedding columns included.
        embedding_columns: the numeric columns that form the vector (numeric-column layout).
        list_column: the one list-valued column that holds the vector (list layout).
        list_style: how a CSV list cell was written.
        pt_extra: the other entries of a ``.pt`` dict (kept in the output).
        pt_is_dict: whether the ``.pt`` file held a dict.
    """

    path: Path
    format: Format
    vectors: np.ndarray
    ids: np.ndarray | None = None
    id_column: str | None = None
    frame: pd.DataFrame | None = None
    columns: list[str] = field(default_factory=list)
    embedding_columns: list[str] = field(default_factory=list)
    list_column: str | None = None
    list_style: ListStyle = "brackets"
    pt_extra: dict[str, Any] = field(default_factory=dict)
    pt_is_dict: bool = False

    @property
    def num_rows(self) -> int:
        return int(self.vectors.shape[0])

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def column(self, name: str) -> np.ndarray | None:
        """A non-embedding column of a table input, or None when there is no such column."""
        if self.frame is None or name not in self.frame.columns:
            return None
        return self.frame[name].to_numpy()


@dataclass
class EmbeddingStats:
    """Per-dimension statistics of the rows, computed in one streaming pass.

    Attributes:
        mean: (D,) float64 mean.
        std: (D,) float64 standard deviation (population); constant dimensions get 1.
        num_rows: N.
    """

    mean: np.ndarray
    std: np.ndarray
    num_rows: int


# --------------------------------------------------------------------------------- reading


def _check_exists(path: Path, role: str) -> None:
    if not path.exists():
        raise DataError(f"{role} file {path} does not exist; check the path")
    if path.is_dir():
        raise DataError(f"{role} {path} is a directory; give an embedding file")


def _check_shape(vectors: np.ndarray, path: Path) -> None:
    if vectors.ndim != 2:
        raise DataError(
            f"{path} holds a {vectors.ndim}-dimensional array of shape {tuple(vectors.shape)}; "
            "give a 2-D (rows, dim) array of embeddings"
        )
    if vectors.shape[1] < 2:
        raise DataError(
            f"{path} has 1-dimensional embeddings (shape {tuple(vectors.shape)}); refinement "
            "needs vectors with at least 2 dimensions"
        )
    if vectors.shape[0] < 1:
        raise DataError(f"{path} has no rows")
    if not (np.issubdtype(vectors.dtype, np.floating) or np.issubdtype(vectors.dtype, np.integer)):
        raise DataError(f"{path} holds {vectors.dtype} values; embeddings must be numeric")


def _read_npy(path: Path) -> EmbeddingTable:
    try:
        vectors = np.load(path, mmap_mode="r")
    except ValueError as err:
        raise DataError(
            f"{path} is not a plain numeric .npy array ({str(err).splitlines()[0]}); save it "
            "with np.save(path, array.astype(np.float32))"
        ) from None
    except (OSError, EOFError) as err:
        raise DataError(f"cannot read {path} as .npy: {str(err).splitlines()[0]}") from None
    if not isinstance(vectors, np.ndarray):
        raise DataError(f"{path} is an .npz archive, not a single .npy array")
    _check_shape(vectors, path)
    return EmbeddingTable(path=path, format="npy", vectors=vectors)


def _ids_array(ids: Any, num_rows: int, path: Path) -> np.ndarray:
    import torch

    values = ids.cpu().numpy() if isinstance(ids, torch.Tensor) else np.asarray(ids)
    if values.ndim != 1 or values.shape[0] != num_rows:
        raise DataError(
            f"{path}: 'ids' has shape {tuple(values.shape)} but there are {num_rows} "
            "embedding rows; give one id per row"
        )
    return values


def _read_pt(path: Path) -> EmbeddingTable:
    import torch

    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - torch raises many types for a corrupt file
        raise DataError(
            f"cannot read {path} as a torch file ({type(err).__name__}); save a 2-D tensor or "
            "a dict {'embeddings': tensor, 'ids': [...]} with torch.save"
        ) from None
    extra: dict[str, Any] = {}
    ids = None
    if isinstance(payload, torch.Tensor):
        tensor = payload
        is_dict = False
    elif isinstance(payload, dict) and "embeddings" in payload:
        tensor = payload["embeddings"]
        is_dict = True
        # Everything but the vectors is written back unchanged, the ids object included.
        extra = {k: v for k, v in payload.items() if k != "embeddings"}
        if not isinstance(tensor, torch.Tensor):
            raise DataError(f"{path}: 'embeddings' must be a tensor, got {type(tensor).__name__}")
        if payload.get("ids") is not None:
            ids = _ids_array(payload["ids"], tensor.shape[0] if tensor.dim() else 0, path)
    else:
        raise DataError(
            f"{path} holds a {type(payload).__name__}; expected a 2-D tensor or a dict with an "
            "'embeddings' tensor (and optional 'ids')"
        )
    if tensor.is_floating_point() and tensor.dtype == torch.bfloat16:
        tensor = tensor.float()
    vectors = tensor.detach().cpu().numpy()
    _check_shape(vectors, path)
    return EmbeddingTable(
        path=path,
        format="pt",
        vectors=vectors,
        ids=ids,
        id_column="ids" if ids is not None else None,
        pt_extra=extra,
        pt_is_dict=is_dict,
    )


def _find_id_column(columns: list[str], id_column: str | None, path: Path) -> str | None:
    if id_column is not None:
        if id_column not in columns:
            raise DataError(
                f"--id-column {id_column!r} is not a column of {path}; columns: "
                f"{', '.join(columns[:12])}"
            )
        return id_column
    matches = [c for c in columns if str(c).lower() == "id"]
    return matches[0] if matches else None


def _parse_list_cell(cell: Any) -> np.ndarray | None:
    """A list-valued cell as float64, or None when it is not one."""
    if isinstance(cell, (list, tuple, np.ndarray)):
        try:
            return np.asarray(cell, dtype=np.float64).ravel()
        except (TypeError, ValueError):
            return None
    if not isinstance(cell, str):
        return None
    text = cell.strip().strip("[]()").strip()
    if not text:
        return None
    try:
        return np.array([float(token) for token in _SEPARATORS.split(text) if token], np.float64)
    except ValueError:
        return None


def _is_list_column(series: pd.Series) -> bool:
    """Whether a text column holds vectors: its first non-empty cell parses as ≥ 2 numbers."""
    import pandas as pd

    textual = series.dtype == object or pd.api.types.is_string_dtype(series.dtype)
    if not textual or not series.notna().any():
        return False
    parsed = _parse_list_cell(series.dropna().iloc[0])
    return parsed is not None and parsed.size > 1


def _list_style(sample: str) -> ListStyle:
    sample = sample.strip()
    if sample.startswith("["):
        return "brackets"
    if ";" in sample:
        return "semicolon"
    if "," in sample:
        return "comma"
    return "space"


def _stack_lists(cells: list[Any], column: str, path: Path) -> np.ndarray:
    rows: list[np.ndarray] = []
    for index, cell in enumerate(cells):
        parsed = _parse_list_cell(cell)
        if parsed is None:
            raise DataError(
                f"{path}: row {index} of column {column!r} is not a list of numbers "
                f"({str(cell)[:40]!r}); write each vector as '[0.1, 0.2, ...]'"
            )
        rows.append(parsed)
    lengths = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
    return _stack_checked(rows, lengths, column, path)


def _stack_checked(
    rows: list[np.ndarray], lengths: np.ndarray, column: str, path: Path
) -> np.ndarray:
    if len(rows) == 0:
        raise DataError(f"{path} has no rows")
    expected = int(np.bincount(lengths).argmax())
    ragged = np.flatnonzero(lengths != expected)
    if ragged.size:
        shown = ", ".join(str(int(i)) for i in ragged[:10])
        raise DataError(
            f"{path}: column {column!r} is ragged: rows {shown}"
            f"{' ...' if ragged.size > 10 else ''} ({ragged.size} in all) do not have "
            f"{expected} values like the others; every vector needs the same length"
        )
    return np.stack(rows).astype(np.float32)


def _numeric_like(series: pd.Series) -> tuple[float, int | None]:
    """(fraction of non-null cells that parse as numbers, first row that does not)."""
    import pandas as pd

    values = series.dropna()
    if values.empty:
        return 0.0, None
    numeric = pd.to_numeric(values, errors="coerce")
    bad = numeric.isna().to_numpy()
    first_bad = int(values.index[np.flatnonzero(bad)[0]]) if bad.any() else None
    return float(1.0 - bad.mean()), first_bad


def _find_list_column(
    frame: pd.DataFrame,
    candidates: list[str],
    embedding_column: str | None,
    list_cells: dict[str, np.ndarray],
    path: Path,
) -> str | None:
    """The one list-valued column that holds the vectors, or None (numeric columns)."""
    if embedding_column is not None:
        if embedding_column not in frame.columns:
            raise DataError(
                f"--embedding-column {embedding_column!r} is not a column of {path}; "
                f"columns: {', '.join(list(frame.columns)[:12])}"
            )
        return embedding_column
    list_like = list(list_cells) + [
        c for c in candidates if c not in list_cells and _is_list_column(frame[c])
    ]
    if len(list_like) > 1:
        raise DataError(
            f"{path} has several list-valued columns ({', '.join(list_like)}); pick the "
            "embedding with --embedding-column"
        )
    return list_like[0] if list_like else None


def _numeric_columns(frame: pd.DataFrame, candidates: list[str], path: Path) -> list[str]:
    """The numeric columns that form the vector; DataError for a column with a bad cell."""
    import pandas as pd

    columns = [c for c in candidates if pd.api.types.is_numeric_dtype(frame[c])]
    for name in candidates:
        if name in columns or pd.api.types.is_bool_dtype(frame[name]):
            continue
        fraction, first_bad = _numeric_like(frame[name])
        if fraction >= 0.5 and first_bad is not None:
            raise DataError(
                f"{path}: column {name!r} is numeric except row {first_bad} "
                f"({str(frame[name].iloc[first_bad])[:30]!r}); fix that cell"
            )
    if not columns:
        raise DataError(
            f"{path} has no numeric columns and no list-valued embedding column; write the "
            "vector as numeric columns or as one column like '[0.1, 0.2, ...]'"
        )
    return columns


def _table_from_frame(
    frame: pd.DataFrame,
    path: Path,
    fmt: Format,
    id_column: str | None,
    embedding_column: str | None,
    exclude_columns: tuple[str, ...],
    list_cells: dict[str, np.ndarray] | None = None,
) -> EmbeddingTable:
    frame = frame.reset_index(drop=True)
    columns = [str(c) for c in frame.columns]
    frame.columns = columns
    id_name = _find_id_column(columns, id_column, path)
    list_cells = list_cells or {}
    candidates = [c for c in columns if c not in {id_name, *exclude_columns}]
    list_column = _find_list_column(frame, candidates, embedding_column, list_cells, path)
    embedding_columns: list[str] = []
    style: ListStyle = "brackets"
    if list_column is not None:
        if list_column in list_cells:
            vectors = list_cells[list_column]
        else:
            vectors = _stack_lists(frame[list_column].tolist(), list_column, path)
        sample = frame[list_column].dropna()
        if len(sample) and isinstance(sample.iloc[0], str):
            style = _list_style(sample.iloc[0])
        rest = frame.drop(columns=[list_column])
    else:
        embedding_columns = _numeric_columns(frame, candidates, path)
        vectors = frame[embedding_columns].to_numpy(dtype=np.float32)
        rest = frame.drop(columns=embedding_columns)
    _check_shape(vectors, path)
    return EmbeddingTable(
        path=path,
        format=fmt,
        vectors=vectors,
        ids=rest[id_name].to_numpy() if id_name is not None else None,
        id_column=id_name,
        frame=rest,
        columns=columns,
        embedding_columns=embedding_columns,
        list_column=list_column,
        list_style=style,
    )


def _read_csv(
    path: Path,
    id_column: str | None,
    embedding_column: str | None,
    exclude_columns: tuple[str, ...],
) -> EmbeddingTable:
    import pandas as pd

    try:
        header = [str(c) for c in pd.read_csv(path, nrows=0).columns]
        id_name = _find_id_column(header, id_column, path)
        # The id column is read as text so that ids like "007" survive the round trip.
        frame = pd.read_csv(path, dtype={id_name: str} if id_name else None)
    except pd.errors.EmptyDataError:
        raise DataError(
            f"{path} is empty; give a CSV with a header and one row per vector"
        ) from None
    except pd.errors.ParserError as err:
        detail = str(err).strip().splitlines()[-1]
        raise DataError(
            f"{path} has ragged rows ({detail}); every row needs the same number of fields "
            "(quote list-valued cells)"
        ) from None
    except UnicodeDecodeError:
        raise DataError(f"{path} is not a UTF-8 text CSV file") from None
    return _table_from_frame(frame, path, "csv", id_column, embedding_column, exclude_columns)


def _read_parquet(
    path: Path,
    id_column: str | None,
    embedding_column: str | None,
    exclude_columns: tuple[str, ...],
) -> EmbeddingTable:
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as err:
        raise DataError(f"cannot read {path} as parquet: {str(err).splitlines()[0]}") from None

    list_cells: dict[str, np.ndarray] = {}
    plain: dict[str, Any] = {}
    for name in table.column_names:
        column = table.column(name)
        kind = column.type
        is_list = (
            pa.types.is_list(kind)
            or pa.types.is_large_list(kind)
            or pa.types.is_fixed_size_list(kind)
        )
        if is_list and pa.types.is_floating(kind.value_type) | pa.types.is_integer(kind.value_type):
            if embedding_column is not None and name != embedding_column:
                plain[name] = column.to_pandas()
                continue
            if name in exclude_columns:
                plain[name] = column.to_pandas()
                continue
            array = column.combine_chunks()
            if array.null_count:
                bad = np.flatnonzero(array.is_null().to_numpy(zero_copy_only=False))
                raise DataError(
                    f"{path}: column {name!r} has empty (null) vectors at rows "
                    f"{', '.join(str(int(i)) for i in bad[:10])}; fill or drop them"
                )
            if pa.types.is_fixed_size_list(kind):
                lengths = np.full(len(array), kind.list_size, dtype=np.int64)
            else:
                offsets = array.offsets.to_numpy()
                lengths = np.diff(offsets)
            values = array.flatten().to_numpy(zero_copy_only=False)
            if lengths.size and not (lengths == lengths[0]).all():
                rows = np.split(values, np.cumsum(lengths)[:-1])
                _stack_checked(rows, lengths, name, path)
            width = int(lengths[0]) if lengths.size else 0
            list_cells[name] = values.astype(np.float32).reshape(len(array), width)
            plain[name] = pd.Series([None] * len(array), dtype=object)
        else:
            plain[name] = column.to_pandas()
    frame = pd.DataFrame(plain, columns=table.column_names)
    return _table_from_frame(
        frame, path, "parquet", id_column, embedding_column, exclude_columns, list_cells
    )


def read_embeddings(
    path: str | os.PathLike[str],
    id_column: str | None = None,
    embedding_column: str | None = None,
    exclude_columns: tuple[str, ...] = (),
) -> EmbeddingTable:
    """Read an embedding table.

    Args:
        path: ``.npy`` (memory-mapped), ``.pt`` (a 2-D tensor or a dict with ``embeddings``
            and optional ``ids``), ``.parquet`` or ``.csv``.
        id_column: the id column of a table (default: a column named ``id``, any case).
        embedding_column: the list-valued column that holds the vector (default: the only
            list-valued column; without one, all remaining numeric columns form the vector).
        exclude_columns: table columns that are not part of the vector (labels, clusters).

    Returns:
        An :class:`EmbeddingTable` whose ``vectors`` is (N, D). Values are not checked for
        NaN/inf here; :func:`scan_embeddings` does that in a streaming pass.

    Raises:
        DataError: missing file, unknown extension, wrong shape, ragged or malformed rows.
    """
    path = Path(path)
    fmt = embedding_format(path)
    _check_exists(path, "input")
    if fmt == "npy":
        return _read_npy(path)
    if fmt == "pt":
        return _read_pt(path)
    if fmt == "csv":
        return _read_csv(path, id_column, embedding_column, exclude_columns)
    return _read_parquet(path, id_column, embedding_column, exclude_columns)


def scan_embeddings(vectors: np.ndarray, chunk_rows: int | None = None) -> EmbeddingStats:
    """One streaming pass over (N, D) rows: per-dimension mean/std and a NaN/inf check.

    Reads ``chunk_rows`` rows at a time (default: about 8 MiB of float64 per chunk), so a
    memory-mapped input is never loaded whole and the pass adds little to peak memory.
    Sums are float64 and shifted by the first row, which keeps the variance accurate for
    embeddings whose mean is far from 0.

    Raises:
        DataError: naming the indices of rows that contain NaN or inf.
    """
    num_rows, dim = vectors.shape
    if chunk_rows is None:
        chunk_rows = max(1, 2**20 // max(dim, 1))
    shift = np.asarray(vectors[:1], dtype=np.float64).reshape(-1)
    if not np.isfinite(shift).all():
        shift = np.zeros(dim)
    total = np.zeros(dim)
    total_sq = np.zeros(dim)
    bad_rows: list[np.ndarray] = []
    for start in range(0, num_rows, chunk_rows):
        chunk = np.asarray(vectors[start : start + chunk_rows], dtype=np.float64)
        finite = np.isfinite(chunk).all(axis=1)
        if not finite.all():
            bad_rows.append(np.flatnonzero(~finite) + start)
            continue
        centred = chunk - shift
        total += centred.sum(axis=0)
        total_sq += np.einsum("ij,ij->j", centred, centred)
    if bad_rows:
        bad = np.concatenate(bad_rows)
        shown = ", ".join(str(int(i)) for i in bad[:10])
        raise DataError(
            f"the input has NaN or inf values in {bad.size} row(s): {shown}"
            f"{' ...' if bad.size > 10 else ''}; drop or fix those rows"
        )
    mean_centred = total / num_rows
    variance = np.maximum(total_sq / num_rows - mean_centred**2, 0.0)
    std = np.sqrt(variance)
    # A constant dimension carries no information; std 1 keeps it unchanged instead of
    # dividing by zero.
    std[std < 1e-12] = 1.0
    return EmbeddingStats(mean=mean_centred + shift, std=std, num_rows=num_rows)


def read_row_values(
    spec: str,
    table: EmbeddingTable,
    what: str = "labels",
) -> np.ndarray:
    """One value per row for ``--labels`` / ``--clusters``: a table column or a file.

    ``spec`` is a column of the input table, or a file with one value per row: ``.npy``
    (1-D), ``.txt`` (one per line) or ``.csv`` (one column, or a column named ``label``,
    ``labels``, ``cluster`` or ``clusters``; the header line is optional). Empty cells mean
    "unknown" and come back as None.

    Returns:
        (N,) object array (None for a missing value).

    Raises:
        DataError: unknown column/file, or a length that differs from the number of rows.
    """
    import pandas as pd

    values: np.ndarray | None = table.column(spec)
    if values is None:
        path = Path(spec)
        if not path.exists():
            columns = "" if table.frame is None else f" (columns: {', '.join(table.frame.columns)})"
            raise DataError(
                f"--{what} {spec!r} is neither a column of the input{columns} nor an existing "
                "file; give a column name or a .npy/.csv/.txt file with one value per row"
            )
        values = _read_value_file(path, table.num_rows, what)
    values = np.asarray(values, dtype=object)
    if values.shape[0] != table.num_rows:
        raise DataError(
            f"--{what} has {values.shape[0]} values but the input has {table.num_rows} rows; "
            "give exactly one value per row (leave it empty when unknown)"
        )
    missing = pd.isna(pd.Series(values)).to_numpy() | np.array(
        [isinstance(v, str) and not v.strip() for v in values], dtype=bool
    )
    values[missing] = None
    return values


def _read_value_file(path: Path, num_rows: int, what: str) -> np.ndarray:
    import pandas as pd

    suffix = path.suffix.lower()
    if suffix == ".npy":
        try:
            values = np.load(path, allow_pickle=False)
        except ValueError as err:
            raise DataError(f"cannot read {path}: {str(err).splitlines()[0]}") from None
        if values.ndim == 2 and values.shape[1] == 1:
            values = values[:, 0]
        if values.ndim != 1:
            raise DataError(f"{path} has shape {values.shape}; --{what} needs a 1-D array")
        return values
    if suffix == ".txt":
        lines = path.read_text().splitlines()
        # A trailing newline at the end of the file is not an extra (missing) value.
        while len(lines) > num_rows and lines and not lines[-1].strip():
            lines.pop()
        return np.array([line.strip() for line in lines], dtype=object)
    if suffix == ".csv":
        with_header = pd.read_csv(path, dtype=str, keep_default_na=True)
        # The header is optional: a headerless file reads one row short of the input.
        frame = with_header
        if len(with_header) != num_rows:
            without = pd.read_csv(path, dtype=str, header=None)
            if len(without) == num_rows:
                frame = without
        if frame.shape[1] == 1:
            return frame.iloc[:, 0].to_numpy(dtype=object)
        named = [c for c in frame.columns if str(c).lower() in (what, what.rstrip("s"))]
        if named:
            return frame[named[0]].to_numpy(dtype=object)
        raise DataError(
            f"{path} has {frame.shape[1]} columns; give a one-column CSV or name the column "
            f"'{what.rstrip('s')}'"
        )
    raise DataError(f"--{what} file {path} must be .npy, .csv or .txt, got {suffix or '(none)'}")


def encode_values(values: np.ndarray) -> tuple[np.ndarray, list[Any]]:
    """Map arbitrary per-row values (None = missing) to int64 codes (−1 = missing).

    Returns ``(codes, classes)``: codes (N,) int64 indexing ``classes`` (sorted by value).
    """
    values = np.asarray(values, dtype=object)
    present = np.array([v is not None for v in values], dtype=bool)
    codes = np.full(values.shape[0], -1, dtype=np.int64)
    if not present.any():
        return codes, []
    kept = values[present]
    # Integers written as text ("3") and as numbers (3) must be the same class.
    normalised = np.array([_normalise(v) for v in kept], dtype=object)
    try:
        classes, inverse = np.unique(normalised, return_inverse=True)
    except TypeError:
        classes, inverse = np.unique(normalised.astype(str), return_inverse=True)
    codes[present] = inverse
    return codes, classes.tolist()


def _normalise(value: Any) -> Any:
    if isinstance(value, (bool, np.bool_)):
        return str(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return int(value) if float(value).is_integer() else float(value)
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if number.is_integer() else text


# --------------------------------------------------------------------------------- writing


def check_distinct_paths(input_path: Path, *outputs: Path | None) -> None:
    """DataError when an output would overwrite the input (or two outputs coincide)."""
    seen = {input_path.resolve(): "the input"}
    for output in outputs:
        if output is None:
            continue
        resolved = output.resolve()
        if resolved in seen:
            raise DataError(
                f"output {output} is the same file as {seen[resolved]}; write the refined "
                "embeddings to a new path with --out"
            )
        seen[resolved] = str(output)


def _output_dtype(table: EmbeddingTable) -> np.dtype:
    dtype = table.vectors.dtype
    return dtype if np.issubdtype(dtype, np.floating) else np.dtype(np.float32)


def _format_cell(row: np.ndarray, style: ListStyle) -> str:
    # %.9g round-trips float32 exactly.
    numbers = [f"{value:.9g}" for value in row.tolist()]
    if style == "brackets":
        return "[" + ", ".join(numbers) + "]"
    if style == "semicolon":
        return ";".join(numbers)
    if style == "comma":
        return ",".join(numbers)
    return " ".join(numbers)


def _output_frame(table: EmbeddingTable, refined: np.ndarray, fmt: Format) -> pd.DataFrame:
    import pandas as pd

    if table.frame is None:
        data: dict[str, Any] = {}
        if table.ids is not None:
            data["id"] = table.ids
        if fmt == "csv":
            for j in range(refined.shape[1]):
                data[f"e{j}"] = refined[:, j]
        else:
            data["embedding"] = list(refined)
        return pd.DataFrame(data)
    frame = table.frame.copy()
    if table.list_column is not None:
        if fmt == "csv":
            frame[table.list_column] = [_format_cell(row, table.list_style) for row in refined]
        else:
            frame[table.list_column] = list(refined)
    else:
        embedded = pd.DataFrame(refined, columns=table.embedding_columns)
        frame = pd.concat([frame, embedded], axis=1)
    return frame[[c for c in table.columns if c in frame.columns]]


def write_embeddings(
    table: EmbeddingTable,
    path: str | os.PathLike[str],
    refine_rows: Callable[[np.ndarray], np.ndarray] | None,
    chunk_rows: int = 32768,
    outputs: OutputSet | None = None,
) -> Path:
    """Write ``refine_rows(table.vectors)`` to ``path`` in ``path``'s format, atomically.

    The layout of ``table`` is kept when the format matches (ids, other columns, column order,
    the list-cell style of a CSV); the row order is always kept. ``.npy`` outputs are streamed
    ``chunk_rows`` rows at a time, so neither the input nor the output has to fit in RAM.

    Args:
        table: the input, as :func:`read_embeddings` returned it.
        path: the output file (.npy, .pt, .parquet or .csv).
        refine_rows: maps (n, D) input rows to (n, D) refined rows (a numpy float array);
            ``None`` writes the input rows unchanged (a refiner that is the identity).
        chunk_rows: rows per call of ``refine_rows`` (32,768 rows of 384 float32 values are
            48 MiB: large blocks keep the per-call overhead small).
        outputs: stage the file in this output set (it appears when the set is committed)
            instead of writing it on its own.

    Returns:
        The output path.
    """
    path = Path(path)
    fmt = embedding_format(path, "output")
    dtype = _output_dtype(table)
    chunks = range(0, table.num_rows, chunk_rows)

    def block(start: int) -> np.ndarray:
        rows = table.vectors[start : start + chunk_rows]
        refined = rows if refine_rows is None else refine_rows(rows)
        return np.ascontiguousarray(refined, dtype=dtype)

    def save(write: Callable[[IO[bytes]], None]) -> Path:
        if outputs is None:
            return atomic_write(path, write)
        outputs.write(path, write)
        return path

    if fmt == "npy":

        def write_npy(handle: IO[bytes]) -> None:
            # Header, then the rows block by block: a valid .npy without holding it in RAM.
            header = {
                "descr": np.lib.format.dtype_to_descr(dtype),
                "fortran_order": False,
                "shape": (table.num_rows, table.dim),
            }
            np.lib.format.write_array_header_1_0(handle, header)
            for start in chunks:
                handle.write(memoryview(block(start)).cast("B"))

        return save(write_npy)
    refined = np.concatenate([block(start) for start in chunks])
    if fmt == "pt":
        return save(lambda handle: _write_pt(table, refined, handle))
    frame = _output_frame(table, refined, fmt)
    if fmt == "parquet":
        return save(lambda handle: _write_parquet(frame, table, handle))
    return save(lambda handle: frame.to_csv(handle, index=False, float_format="%.9g"))


def _write_pt(table: EmbeddingTable, refined: np.ndarray, handle: IO[bytes]) -> None:
    import torch

    tensor = torch.from_numpy(np.ascontiguousarray(refined))
    if table.format == "pt" and not table.pt_is_dict:
        torch.save(tensor, handle)
        return
    payload: dict[str, Any] = dict(table.pt_extra) if table.format == "pt" else {}
    payload["embeddings"] = tensor
    if table.ids is not None and "ids" not in payload:
        ids = table.ids
        payload["ids"] = (
            torch.as_tensor(ids) if np.issubdtype(ids.dtype, np.number) else ids.tolist()
        )
    torch.save(payload, handle)


def _write_parquet(frame: pd.DataFrame, table: EmbeddingTable, handle: IO[bytes]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrays = {}
    vector_column = table.list_column if table.frame is not None else "embedding"
    for name in frame.columns:
        if name == vector_column:
            stacked = np.stack(frame[name].to_numpy())
            flat = pa.array(stacked.reshape(-1))
            offsets = pa.array(np.arange(0, stacked.size + 1, stacked.shape[1], dtype=np.int32))
            arrays[name] = pa.ListArray.from_arrays(offsets, flat)
        else:
            arrays[name] = pa.array(frame[name])
    pq.write_table(pa.table(arrays), handle)
