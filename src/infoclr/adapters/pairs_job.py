"""``infoclr refine --pairs``: refinement for retrieval, as a job (beside
:mod:`infoclr.refine.job`, on the same files and checks, :mod:`infoclr.refine.files`).

``--pairs FILE`` holds (query id, positive id[, negative id]) rows
(:func:`infoclr.data.pairs.read_pairs`). The queries are rows of INPUT; the documents are rows
of ``--documents`` or, without it, of INPUT too. Training is
:func:`infoclr.adapters.fit_pairs` (in-batch negatives, the multiple-negatives ranking loss);
the distinct queries are split into train / select / guard (``val_fraction`` /
``test_fraction``, seed ``split_seed``), and only the train queries' pairs are trained on.

Without ``--documents``, the index is the rows of INPUT that some pair names as a document
(positive or negative), so that a query does not retrieve itself.

* Symmetric (default): one refiner maps queries and documents. OUT is INPUT refined; with
  ``--documents``, ``--documents-out`` receives the refined documents (the index must be
  re-embedded, so it is required).
* ``--query-only``: the refiner maps queries only; the document index stays valid, and OUT is
  INPUT's rows through the query adapter (apply the saved refiner to new queries with
  ``infoclr refine NEW --apply REFINER``).

:func:`prepare_pairs` checks every input before anything is written (paths, formats, the pairs'
ids, dimensions, split sizes); :func:`run_pairs` trains and writes OUT (and
``--documents-out``), the refiner, ``report.json`` and ``refine.yaml`` as one
:class:`~infoclr.runs.OutputSet`. A --pairs run keeps no per-epoch checkpoint: an interrupted
run is started again (``--resume`` is refused with that hint).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from infoclr.data.embeddings import EmbeddingTable, read_embeddings, scan_embeddings
from infoclr.data.pairs import Pairs, check_pairs_path, read_pairs, split_queries, table_ids
from infoclr.errors import ConfigError, DataError
from infoclr.evaluation.selection import gather_rows
from infoclr.refine.config import RefineConfig
from infoclr.refine.files import Echo, PreparedRefine, RefineFiles, check_paths

__all__ = ["RetrievalInputs", "prepare_pairs", "run_pairs"]

#: RefineConfig fields that :class:`~infoclr.adapters.AdapterConfig` takes under the same name.
_SAME = (
    "epochs",
    "batch_size",
    "lr",
    "weight_decay",
    "pairs_temperature",
    "hidden",
    "dropout",
    "skip",
    "query_only",
    "seed",
    "eval_every",
    "guard_method",
    "guard_z",
    "guard_tolerance",
    "threads",
    "device",
    "mask_value",
    "noise_scale",
    "augment",
    "standardize",
)
#: Metrics of the before/after table, on the guard queries.
_METRICS = ("recall@1", "recall@10", "mrr", "ndcg@10")


@dataclass
class RetrievalInputs:
    """The index (the documents' vectors), the pairs as rows of the queries and of the index,
    the train / select / guard split of the distinct queries, and the ``--documents`` table
    (None when INPUT holds both)."""

    index: np.ndarray
    pairs: Pairs
    split: dict[str, np.ndarray]
    documents: EmbeddingTable | None = None


def _one_table_index(table: EmbeddingTable, pairs: Pairs) -> tuple[np.ndarray, Pairs]:
    """With queries and documents in one table, the index is the rows that some pair names as
    a document (positive or negative), so that a query does not find itself; the pairs'
    document rows become rows of that index."""
    negatives = pairs.negative_rows[pairs.negative_rows >= 0]
    rows = np.unique(np.concatenate([pairs.document_rows, negatives]))
    negative = np.where(
        pairs.negative_rows >= 0, np.searchsorted(rows, np.maximum(pairs.negative_rows, 0)), -1
    )
    remapped = Pairs(pairs.query_rows, np.searchsorted(rows, pairs.document_rows), negative)
    return gather_rows(table.vectors, rows), remapped


def _check_files(config: RefineConfig, files: RefineFiles) -> None:
    assert files.pairs is not None
    check_pairs_path(files.pairs)  # before any table is read
    if files.resume:
        raise ConfigError(
            "--resume: a --pairs run keeps no checkpoint (its epochs are short); run the same "
            "command without --resume"
        )
    if config.map_method not in ("auto", "none"):
        raise ConfigError(
            f"--map-method {config.map_method}: a --pairs run draws no map (it has no labels "
            "to colour one); drop --map-method"
        )
    if config.test_fraction <= 0:
        raise ConfigError(
            "--pairs needs held-out guard queries: test_fraction must be above 0 (e.g. 0.2)"
        )
    if files.documents_out is not None and files.documents is None:
        raise ConfigError(
            "--documents-out needs --documents; without it INPUT holds the documents and OUT "
            "is them refined"
        )
    if files.documents is not None and config.query_only and files.documents_out is not None:
        raise ConfigError(
            "--documents-out with --query-only: the documents are not changed; drop --documents-out"
        )
    if files.documents is not None and not config.query_only and files.documents_out is None:
        raise ConfigError(
            "a symmetric --pairs refinement changes the documents too: give --documents-out "
            "FILE for them, or --query-only to keep the existing index"
        )
    if files.documents is not None and files.documents.resolve() == files.input.resolve():
        raise ConfigError(
            "--documents is INPUT itself; drop --documents (INPUT then holds both queries and "
            "documents)"
        )


def _read_documents(files: RefineFiles, queries: EmbeddingTable) -> EmbeddingTable:
    if files.documents is None:
        return queries
    documents = read_embeddings(files.documents, files.id_column, files.embedding_column)
    if documents.dim != queries.dim:
        raise DataError(
            f"dimension mismatch: INPUT has {queries.dim}-dimensional rows but --documents "
            f"{files.documents} has {documents.dim}; embed both with the same encoder"
        )
    return documents


def prepare_pairs(config: RefineConfig, files: RefineFiles) -> PreparedRefine:
    """Check and read a --pairs run (see the module docstring); writes nothing.

    Raises:
        ConfigError, DataError: one line that says what to fix.
    """
    started = time.perf_counter()
    config.validate()
    config.resolved_objective(files.labels is not None, files.clusters is not None, True)
    _check_files(config, files)
    check_paths(files, with_map=False)
    table = read_embeddings(files.input, files.id_column, files.embedding_column)
    documents = _read_documents(files, table)
    query_ids = table_ids(table.ids, table.num_rows)
    document_ids = query_ids if documents is table else table_ids(documents.ids, documents.num_rows)
    names = ("INPUT (the queries)", "--documents" if files.documents else "INPUT")
    pairs = read_pairs(files.pairs, query_ids, document_ids, *names)
    split = split_queries(
        pairs.query_rows,
        config.val_fraction,
        config.test_fraction,
        config.split_seed,
        config.eval_rows,
    )
    train_pairs = int(np.isin(pairs.query_rows, split["train"]).sum())
    if config.batch_size > train_pairs:
        raise ConfigError(
            f"batch_size {config.batch_size} is larger than the {train_pairs} pairs left to "
            f"train on; use --batch-size {max(2, train_pairs // 2)} or smaller"
        )
    stats = scan_embeddings(table.vectors)
    if documents is table:
        index, pairs = _one_table_index(table, pairs)
    else:
        index = documents.vectors
        scan_embeddings(index)
    counts = {part: int(rows.size) for part, rows in split.items()}
    notes = [
        f"{len(pairs)} pairs of {sum(counts.values())} queries: train on the pairs of "
        f"{counts['train']} queries ({train_pairs} pairs); {counts['select']} select and "
        f"{counts['guard']} guard queries are never trained on (split seed {config.split_seed})"
    ]
    return PreparedRefine(
        config=config,
        files=files,
        table=table,
        stats=stats,
        notes=notes,
        seconds=time.perf_counter() - started,
        retrieval=RetrievalInputs(index, pairs, split, None if documents is table else documents),
    )


def _adapter_config(config: RefineConfig) -> Any:
    from infoclr.adapters import AdapterConfig

    return AdapterConfig(
        objective="pairs",
        projector=False,
        select_fraction=config.val_fraction,
        guard_fraction=config.test_fraction,
        **{name: getattr(config, name) for name in _SAME},
    )


def _scores(result: Any, queries: np.ndarray, documents: np.ndarray, relevance: np.ndarray):
    """Means of :data:`_METRICS` of the input and of the output on the guard queries."""
    from infoclr.evaluation.retrieval import retrieval_scores

    def means(q: np.ndarray, index: np.ndarray) -> dict[str, float]:
        scores = retrieval_scores(q, index, relevance).means()
        return {key: scores[key] for key in _METRICS}

    original = means(queries, documents)
    if not result.accepted:  # the output is the input: nothing else to score
        return {"original": original, "refined": dict(original)}
    return {
        "original": original,
        "refined": means(result.refine(queries), result.refine_documents(documents)),
    }


def _selection(result: Any, select_queries: int) -> dict[str, Any]:
    chosen = result.chosen_epoch
    if chosen == 0:
        reason = (
            f"no trained epoch had a higher MRR than the input on the {select_queries} select "
            "queries"
        )
    else:
        reason = f"epoch {chosen} had the best MRR on the {select_queries} select queries"
    return {
        "metric": "mrr",
        "chosen_epoch": chosen,
        "candidates": result.candidates,
        "reason": reason,
    }


def _report(prepared: PreparedRefine, result: Any, evaluation: dict) -> dict[str, Any]:
    files, table, inputs = prepared.files, prepared.table, prepared.retrieval
    kept = "refined" if result.accepted else "input"
    if result.decision is None:
        guard_reason = "not run: the input itself was chosen, so the output is the input"
    else:
        guard_reason = result.decision.reason
    side = "the queries only" if prepared.config.query_only else "queries and documents alike"
    epochs = len(result.epochs.losses)
    hard = int((inputs.pairs.negative_rows >= 0).sum())
    negatives = f", plus the {hard} hard negatives given" if hard else ""
    return {
        "input": str(files.input),
        "output": str(files.out),
        "documents": str(files.documents or files.input),
        "documents_output": None if files.documents_out is None else str(files.documents_out),
        "refiner": str(files.refiner),
        "rows": table.num_rows,
        "index_rows": len(inputs.index),
        "dim": table.dim,
        "format": table.format,
        "pairs": str(files.pairs),
        "num_pairs": len(inputs.pairs),
        "queries": {part: int(rows.size) for part, rows in inputs.split.items()},
        "objective": "pairs",
        "objective_detail": (
            f"pairs: multiple-negatives ranking loss (in-batch negatives{negatives}) on the "
            f"train queries' pairs; the refiner maps {side}"
        ),
        "query_only": prepared.config.query_only,
        "kept": kept,
        "guard": {
            "kept": kept,
            "reason": guard_reason,
            "decision": None if result.decision is None else result.decision.as_dict(),
        },
        "config": prepared.config.to_dict(),
        "selection": _selection(result, int(inputs.split["select"].size)),
        "stopped": None
        if epochs == prepared.config.epochs
        else f"the loss was not finite in epoch {epochs}",
        "notes": prepared.notes,
        "evaluation": evaluation,
        **result.epochs.as_dict(),
        "map": None,
    }


def _write(prepared: PreparedRefine, result: Any, report: dict[str, Any]) -> None:
    import yaml

    from infoclr.data.embeddings import write_embeddings
    from infoclr.io import json_text
    from infoclr.models.refiner import save_refiner
    from infoclr.runs import OutputSet

    files, config = prepared.files, prepared.config
    refiner = result.adapter.refiner if result.accepted else result.adapter.refiner.identity()
    refine_rows = refiner.refine_rows if result.accepted else None
    outputs = OutputSet(files.outputs(with_map=False))
    try:
        write_embeddings(prepared.table, files.out, refine_rows, outputs=outputs)
        if files.documents_out is not None:
            documents = prepared.retrieval.documents
            write_embeddings(documents, files.documents_out, refine_rows, outputs=outputs)
        selection = report["selection"] | {"kept": report["kept"], "query_only": config.query_only}
        outputs.write(
            files.refiner, lambda handle: save_refiner(handle, refiner, config.to_dict(), selection)
        )
        outputs.write_text(
            files.report("refine.yaml"), yaml.safe_dump(config.to_dict(), sort_keys=False)
        )
        outputs.write_text(files.report("report.json"), json_text(report))
        outputs.commit()
    except BaseException:
        outputs.abort()
        raise


def run_pairs(prepared: PreparedRefine, echo: Echo = print, on_progress: Any = None) -> dict:
    """Train, score and write the output set of a prepared --pairs run; returns the report."""
    from infoclr.adapters import fit_pairs

    config, inputs = prepared.config, prepared.retrieval
    timings = {"statistics": prepared.seconds}

    def on_epoch(epoch: int, loss: float, score: float | None) -> None:
        if on_progress is not None:
            on_progress(epoch, 1, 1, loss)

    started = time.perf_counter()
    result = fit_pairs(
        prepared.table.vectors,
        inputs.index,
        inputs.pairs,
        _adapter_config(config),
        max_eval_queries=config.eval_rows,
        on_epoch=on_epoch,
        split=inputs.split,
    )
    timings["training"] = time.perf_counter() - started
    started = time.perf_counter()
    guard_rows = inputs.split["guard"]
    evaluation = _scores(
        result,
        gather_rows(prepared.table.vectors, guard_rows),
        inputs.index,
        inputs.pairs.relevance(guard_rows),
    ) | {"rows": f"the {guard_rows.size} guard queries against all {len(inputs.index)} documents"}
    timings["report_scores"] = time.perf_counter() - started
    report = _report(prepared, result, evaluation) | {"timings": timings}
    _write(prepared, result, report)
    return report
