"""The ``infoclr align`` job: check every input, fit the maps, write the map and its report.

:func:`prepare_align` does every check a user's mistake can fail (paths, formats, existing
outputs, ids, row counts, dimensions, values) before anything is written or any model is
built; :func:`run_align` fits (:func:`infoclr.align.maps.fit_alignment`);
:func:`write_align` writes the map and ``report.json`` as one :class:`~infoclr.runs.OutputSet`.

Rows are matched by id: the ids of a table input (``.csv``/``.parquet`` id column, ``.pt``
``ids``), or, for two ``.npy`` files, by position (then both must have the same number of
rows).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from infoclr.align.config import AlignConfig
from infoclr.errors import ConfigError, DataError

__all__ = ["AlignInputs", "apply_map", "prepare_align", "run_align", "write_align"]


def embedding_io() -> Any:
    """The embedding-table module, imported on first use (it loads pandas)."""
    from infoclr.data import embeddings

    return embeddings


@dataclass
class AlignInputs:
    """Checked inputs of one alignment.

    Attributes:
        source: (S, d_s) the shared rows in the space that is mapped.
        index: (N, d_t) every row of the target table (the index searched).
        index_rows: (S,) the index row of each shared row.
        paths: ``{"old", "new", "out", "report"}``.
        shared: S; counts: rows of OLD and NEW.
        task: ``(queries, pairs)`` that choose and guard the map, when ``--pairs`` is given.
    """

    source: np.ndarray
    index: np.ndarray
    index_rows: np.ndarray
    paths: dict[str, Path]
    shared: int
    counts: dict[str, int]
    dims: dict[str, int]
    task: tuple[np.ndarray, np.ndarray] | None = None


def _ids(table: Any) -> list[str] | None:
    return None if table.ids is None else [str(v) for v in np.asarray(table.ids).tolist()]


def _match(old: Any, new: Any, names: dict[str, str]) -> tuple[np.ndarray, np.ndarray]:
    """Rows of OLD and NEW that hold the same item, in NEW's order."""
    from infoclr.data.pairs import id_positions

    old_ids, new_ids = _ids(old), _ids(new)
    if old_ids is None and new_ids is None:
        if old.num_rows != new.num_rows:
            raise DataError(
                f"{names['old']} has {old.num_rows} rows but {names['new']} has {new.num_rows}, "
                "and neither has ids; give the same rows in the same order, or tables with ids"
            )
        rows = np.arange(old.num_rows)
        return rows, rows
    if old_ids is None or new_ids is None:
        without = names["old"] if old_ids is None else names["new"]
        raise DataError(
            f"{without} has no ids but the other table has; give ids in both (a .csv/.parquet "
            "id column or a .pt dict with 'ids') or in neither"
        )
    old_positions = id_positions(old_ids, names["old"])
    id_positions(new_ids, names["new"])
    new_rows = np.array([i for i, v in enumerate(new_ids) if v in old_positions], dtype=np.int64)
    if new_rows.size == 0:
        raise DataError(
            f"no id of {names['new']} is an id of {names['old']} (e.g. {new_ids[0]!r}); the "
            "map is fitted on rows embedded by both encoders"
        )
    old_rows = np.array([old_positions[new_ids[i]] for i in new_rows], dtype=np.int64)
    return old_rows, new_rows


def prepare_align(
    old_path: Path,
    new_path: Path,
    out: Path,
    config: AlignConfig,
    report: Path | None = None,
    overwrite: bool = False,
    id_column: str | None = None,
    embedding_column: str | None = None,
    queries_path: Path | None = None,
    pairs_path: Path | None = None,
) -> AlignInputs:
    """Check every input and read the tables; nothing is written (see the module docstring).

    ``pairs_path`` (with optional ``queries_path``) names the task the map is for: (query id,
    document id) rows, the queries in the space that is mapped (``queries_path``, default the
    mapped table itself) and the documents rows of the index table.
    """
    from infoclr.runs import check_new_outputs

    config.validate()
    io = embedding_io()
    if out.suffix.lower() != ".pt":
        raise ConfigError(f"--out {out} must end in .pt (the map is a torch file)")
    report = report if report is not None else out.with_name(out.stem + ".report.json")
    if report.suffix.lower() != ".json":
        raise ConfigError(f"--report {report} must end in .json")
    if queries_path is not None and pairs_path is None:
        raise ConfigError("--queries needs --pairs (which query finds which document)")
    names = {"old": f"OLD ({old_path})", "new": f"NEW ({new_path})"}
    for path, role in ((old_path, "OLD"), (new_path, "NEW"), (queries_path, "--queries")):
        if path is not None:
            io.embedding_format(path, role)
    io.check_distinct_paths(old_path, new_path, out, report)
    check_new_outputs([out, report], overwrite)
    old = io.read_embeddings(old_path, id_column, embedding_column)
    new = io.read_embeddings(new_path, id_column, embedding_column)
    kinds = config.map_kinds()
    if old.dim != new.dim and kinds == ["identity"]:
        raise DataError(
            f"dimension mismatch: OLD has {old.dim}-dimensional rows and NEW {new.dim}; the "
            "identity map needs equal dimensions, so add procrustes, lstsq or refiner to --maps"
        )
    old_rows, new_rows = _match(old, new, names)
    if old_rows.size < config.min_shared:
        raise DataError(
            f"only {old_rows.size} ids are in both OLD and NEW; the map needs at least "
            f"{config.min_shared} rows embedded by both encoders (min_shared)"
        )
    for table in (old, new):
        io.scan_embeddings(table.vectors)
    if config.direction == "new-to-old":
        source, index, index_rows = new.vectors[new_rows], old.vectors, old_rows
        mapped_table, index_table, mapped_name = new, old, "NEW"
    else:
        source, index, index_rows = old.vectors[old_rows], new.vectors, new_rows
        mapped_table, index_table, mapped_name = old, new, "OLD"
    task = None
    if pairs_path is not None:
        task = _task(queries_path, pairs_path, mapped_table, index_table, mapped_name, io)
    return AlignInputs(
        source=np.asarray(source, dtype=np.float32),
        index=np.asarray(index, dtype=np.float32),
        index_rows=index_rows,
        paths={"old": old_path, "new": new_path, "out": out, "report": report},
        shared=int(old_rows.size),
        counts={"old": old.num_rows, "new": new.num_rows},
        dims={"old": old.dim, "new": new.dim},
        task=task,
    )


def _task(
    queries_path: Path | None,
    pairs_path: Path,
    mapped: Any,
    index: Any,
    mapped_name: str,
    io: Any,
) -> tuple[np.ndarray, np.ndarray]:
    """The (queries, pairs) of ``--queries`` / ``--pairs``, checked."""
    from infoclr.data.pairs import read_pairs, table_ids

    queries = mapped if queries_path is None else io.read_embeddings(queries_path)
    if queries.dim != mapped.dim:
        raise DataError(
            f"dimension mismatch: --queries has {queries.dim}-dimensional rows but {mapped_name} "
            f"has {mapped.dim}; the queries must be embedded by the encoder that is mapped"
        )
    if queries_path is not None:
        io.scan_embeddings(queries.vectors)
    pairs = read_pairs(
        pairs_path,
        table_ids(queries.ids, queries.num_rows),
        table_ids(index.ids, index.num_rows),
        "the queries",
        "the index table",
    )
    rows = np.unique(pairs.query_rows)
    vectors = np.asarray(queries.vectors[rows], dtype=np.float32)
    position = np.full(queries.num_rows, -1)
    position[rows] = np.arange(rows.size)
    return vectors, np.stack([position[pairs.query_rows], pairs.document_rows], 1)


def run_align(inputs: AlignInputs, config: AlignConfig) -> Any:
    """Fit the candidate maps and keep one (:func:`infoclr.align.maps.fit_alignment`)."""
    from infoclr.align.maps import fit_alignment

    return fit_alignment(inputs.source, inputs.index, inputs.index_rows, config, inputs.task)


def write_align(result: Any, inputs: AlignInputs, config: AlignConfig) -> dict[str, Any]:
    """Write the map and the report as one output set; returns the report."""
    from infoclr.align.maps import save_alignment
    from infoclr.runs import OutputSet

    report = {
        "old": str(inputs.paths["old"]),
        "new": str(inputs.paths["new"]),
        "map": str(inputs.paths["out"]),
        "direction": config.direction,
        "rows": inputs.counts,
        "dims": inputs.dims,
        "shared_rows": inputs.shared,
        **result.summary(),
    }
    outputs = OutputSet([inputs.paths["out"], inputs.paths["report"]])
    try:
        outputs.write(
            inputs.paths["out"], lambda handle: save_alignment(result, handle, config.direction)
        )
        outputs.write_text(inputs.paths["report"], json.dumps(report, indent=2) + "\n")
        outputs.commit()
    except BaseException:
        outputs.abort()
        raise
    return report


def apply_map(
    map_path: Path,
    input_path: Path,
    out: Path,
    overwrite: bool = False,
    id_column: str | None = None,
    embedding_column: str | None = None,
) -> tuple[int, int, int]:
    """Map every row of ``input_path`` with a map written by ``infoclr align`` and write them
    to ``out`` in ``out``'s format (ids and other columns kept). Every input is checked before
    anything is written; returns ``(rows, source_dim, target_dim)``."""
    from infoclr.align.maps import load_alignment
    from infoclr.runs import check_new_outputs

    io = embedding_io()
    io.embedding_format(input_path, "input")
    io.embedding_format(out, "output")
    if not map_path.is_file():
        raise DataError(f"map file {map_path} does not exist; write one with infoclr align")
    io.check_distinct_paths(input_path, out, map_path)
    check_new_outputs([out], overwrite)
    table = io.read_embeddings(input_path, id_column, embedding_column)
    mapping = load_alignment(map_path)
    if table.dim != mapping.source_dim:
        raise DataError(
            f"dimension mismatch: {input_path} has {table.dim}-dimensional rows but the map "
            f"{map_path} takes {mapping.source_dim}-dimensional ones; use vectors of the "
            "encoder it was fitted on"
        )
    io.scan_embeddings(table.vectors)
    io.write_embeddings(table, out, mapping.apply)
    return table.num_rows, mapping.source_dim, mapping.target_dim
