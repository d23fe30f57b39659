"""The files of one ``infoclr refine`` run and its checked state, shared by the job
(:mod:`infoclr.refine.job`) and its retrieval form (:mod:`infoclr.adapters.pairs_job`).

:class:`RefineFiles` names every path a run reads and writes; :func:`check_paths` checks them
before anything is read or written; :class:`PreparedRefine` is a run that passed every check.
Torch-free.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from infoclr.config import file_option
from infoclr.data.embeddings import (
    EmbeddingStats,
    EmbeddingTable,
    check_distinct_paths,
    embedding_format,
)
from infoclr.errors import ConfigError
from infoclr.refine.config import RefineConfig

__all__ = ["Echo", "PreparedRefine", "RefineFiles", "check_paths"]

Echo = Callable[[str], Any]


def parse_names(value: str) -> list[str]:
    """Class names from the command line: a comma-separated list, or a .txt file, one a line."""
    path = Path(value)
    if path.suffix == ".txt" and path.is_file():
        return [line.strip() for line in path.read_text().splitlines() if line.strip()]
    return [name.strip() for name in value.split(",")]


@dataclass
class RefineFiles:
    """The files of one refinement run (everything besides :class:`RefineConfig`).

    ``labels`` / ``clusters``: a column of the input or a file with one value per row.
    ``class_names``: legend names of the sorted label values. The refiner goes to
    ``save_refiner`` (default: OUT's stem + ``.refiner.pt``), the report, config and map to
    ``report_dir`` (default: OUT's folder), the checkpoint beside OUT. With ``pairs``
    (:mod:`infoclr.adapters.pairs_job`), ``documents`` is a second table holding the documents
    (default: the input holds queries and documents alike) and ``documents_out`` where that
    table goes refined.
    """

    input: Path = file_option(
        help="Embeddings: .npy (memory-mapped), .pt, .parquet or .csv.", argument="INPUT"
    )
    out: Path = file_option(help="Refined embeddings (same format).", names=("--out", "-o"))
    labels: str | None = file_option(
        None, "Label column of INPUT, or a .npy/.csv/.txt file (one per row; empty = unknown)."
    )
    clusters: str | None = file_option(
        None, "Auxiliary cluster column or file (empty = none): positives where a row has no label."
    )
    id_column: str | None = file_option(None, "Id column (default 'id').")
    embedding_column: str | None = file_option(None, "The list-valued column holding the vectors.")
    save_refiner: Path | None = file_option(
        None, "Where to save the refiner (default OUT stem.refiner.pt)."
    )
    report_dir: Path | None = file_option(None, "Folder for report.json, refine.yaml and the map.")
    class_names: list[str] | None = file_option(
        None, "Legend names of the sorted labels: a,b,c or a .txt file.", parse=parse_names
    )
    overwrite: bool = file_option(False, "Replace existing outputs.")
    resume: bool = file_option(False, "Continue an interrupted run.")
    pairs: Path | None = file_option(
        None, "For retrieval: .csv/.tsv rows of query id, positive id[, negative]."
    )
    documents: Path | None = file_option(
        None, "With --pairs: the documents, if not in INPUT (same encoder)."
    )
    documents_out: Path | None = file_option(
        None, "With --pairs and --documents: the refined documents."
    )
    apply: Path | None = file_option(
        None, "Refine with this saved .refiner.pt instead of training."
    )

    @property
    def refiner(self) -> Path:
        return self.save_refiner or self.out.with_name(self.out.stem + ".refiner.pt")

    @property
    def checkpoint(self) -> Path:
        return self.out.with_name(self.out.stem + ".refine.ckpt")

    def report(self, name: str) -> Path:
        return (self.report_dir if self.report_dir is not None else self.out.parent) / name

    def outputs(self, with_map: bool) -> list[Path]:
        names = ["report.json", "refine.yaml", *(["refine_map.png"] if with_map else [])]
        tables = [self.out, *([self.documents_out] if self.documents_out else [])]
        return [*tables, self.refiner, *(self.report(name) for name in names)]


@dataclass
class PreparedRefine:
    """A checked run: its config, files, input table, codes, statistics and notes."""

    config: RefineConfig
    files: RefineFiles
    table: EmbeddingTable
    stats: EmbeddingStats
    label_codes: np.ndarray | None = None
    label_classes: list[Any] = field(default_factory=list)
    cluster_codes: np.ndarray | None = None
    map_method: str = "none"
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    retrieval: Any = None  # the index and pairs of a --pairs run (infoclr.adapters.pairs_job)


def check_paths(files: RefineFiles, with_map: bool) -> None:
    from infoclr.runs import check_new_outputs

    embedding_format(files.input, "input")
    if files.out.is_dir():
        raise ConfigError(
            f"--out {str(files.out)!r} is a folder; give a file name such as "
            f"{str(files.out / 'refined.npy')!r}"
        )
    embedding_format(files.out, "output")
    for path, role in ((files.documents, "--documents"), (files.documents_out, "--documents-out")):
        if path is not None:
            embedding_format(path, role)
    outputs = files.outputs(with_map)
    check_distinct_paths(files.input, *outputs, files.checkpoint)
    if files.documents is not None:
        check_distinct_paths(files.documents, *outputs)
    check_new_outputs(outputs, files.overwrite)
    if files.resume and not files.checkpoint.is_file():
        raise ConfigError(
            f"nothing to resume: {files.checkpoint} does not exist (the run finished, or never "
            "completed an epoch); drop --resume to start a new run"
        )
