"""``infoclr refine`` as a job: check everything, train with selection, write one output set.

:func:`prepare_refine` checks the configuration, the paths and the input (reading it, and
scanning it once for NaN/inf rows) without importing torch for ``.npy``/``.csv``/``.parquet``
inputs; a mistake is one line and nothing is written. :func:`run_refine` trains
(:func:`~infoclr.refine.fit.fit_refiner`, checkpointing every epoch beside ``--out``), scores
original and refined vectors, and writes the refined table, the refiner, ``report.json``,
``refine.yaml`` and the map as one :class:`~infoclr.runs.OutputSet`. :func:`apply_refiner`
refines a table with a saved refiner.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from infoclr.data.embeddings import (
    EmbeddingStats,
    EmbeddingTable,
    check_distinct_paths,
    embedding_format,
    encode_values,
    read_embeddings,
    read_row_values,
    scan_embeddings,
)
from infoclr.errors import ConfigError, DataError
from infoclr.refine.config import RefineConfig
from infoclr.refine.files import Echo, PreparedRefine, RefineFiles, check_paths

__all__ = ["PreparedRefine", "RefineFiles", "apply_refiner", "prepare_refine", "run_refine"]

# Keys that do not change what a run computes: a run may resume with other values.
_RESUME_FREE = ("threads", "device", "map_method", "map_rows")


def _codes(spec: str | None, table: EmbeddingTable, what: str) -> tuple[Any, list[Any]]:
    if spec is None:
        return None, []
    return encode_values(read_row_values(spec, table, what))


def _map_method(config: RefineConfig, coloured: bool, notes: list[str]) -> str:
    if config.map_method != "auto":
        return config.map_method
    if coloured:
        return "pca"
    notes.append(
        "no map: nothing to colour it by (give --labels or --clusters, or --map-method pca)"
    )
    return "none"


def _check_sizes(config: RefineConfig, prepared: PreparedRefine) -> None:
    from infoclr.evaluation.selection import check_labels, stability_clusters

    rows = prepared.table.num_rows
    names = prepared.files.class_names
    train_rows, which = rows, f"the input's {rows} rows"
    if prepared.label_codes is not None:
        check_labels(prepared.label_codes)
        if names is not None and len(names) != len(prepared.label_classes):
            raise ConfigError(
                f"--class-names gives {len(names)} names but the labels have "
                f"{len(prepared.label_classes)} classes ({prepared.label_classes[:8]}); give "
                "one name per class, in the order of the sorted label values"
            )
        # The held-out split (val + test: sklearn's ceil of the fraction) is not trained on.
        used = min(int((prepared.label_codes >= 0).sum()), config.eval_rows)
        train_rows -= math.ceil((config.val_fraction + config.test_fraction) * used)
        which = f"the {train_rows} rows left to train on (held-out rows are not trained on)"
    elif names is not None:
        raise ConfigError("--class-names names label classes; give --labels too")
    else:
        _, note = stability_clusters(
            rows, config.eval_rows, config.num_clusters, prepared.cluster_codes
        )
        if note:
            prepared.notes.append(note)
    if config.batch_size > train_rows:
        raise ConfigError(
            f"batch_size {config.batch_size} is larger than {which}; use "
            f"--batch-size {max(2, train_rows // 2)} or smaller"
        )


def prepare_refine(config: RefineConfig, files: RefineFiles) -> PreparedRefine:
    """Check the config, the paths and the input; read it and scan it once. Writes nothing.

    Raises:
        ConfigError, DataError: one line that says what to fix.
    """
    started = time.perf_counter()
    config.validate()
    given = (files.labels, files.clusters, files.pairs)
    if config.resolved_objective(*(spec is not None for spec in given)) == "pairs":
        raise ConfigError(
            "a --pairs run is prepared by infoclr.adapters.pairs_job.prepare_pairs (the "
            "command line does this by itself)"
        )
    if files.documents is not None or files.documents_out is not None:
        raise ConfigError(
            "--documents and --documents-out go with --pairs (which query finds which "
            "document); give --pairs FILE or drop them"
        )
    notes: list[str] = []
    map_method = _map_method(config, (files.labels or files.clusters) is not None, notes)
    check_paths(files, with_map=map_method != "none")
    exclude = tuple(name for name in (files.labels, files.clusters) if name is not None)
    table = read_embeddings(files.input, files.id_column, files.embedding_column, exclude)
    label_codes, label_classes = _codes(files.labels, table, "labels")
    cluster_codes, _ = _codes(files.clusters, table, "clusters")
    prepared = PreparedRefine(
        config=config,
        files=files,
        table=table,
        stats=EmbeddingStats(np.zeros(0), np.zeros(0), 0),
        label_codes=label_codes,
        label_classes=label_classes,
        cluster_codes=cluster_codes,
        map_method=map_method,
        notes=notes,
    )
    _check_sizes(config, prepared)
    if files.resume:
        from infoclr.runs import check_resume_record  # reads the checkpoint with torch

        check_resume_record(files.checkpoint, _record(prepared))
    prepared.stats = scan_embeddings(table.vectors)
    prepared.seconds = time.perf_counter() - started
    return prepared


def _record(prepared: PreparedRefine) -> dict[str, Any]:
    """What a checkpoint must match to be resumed: the input and every setting that counts."""
    settings = prepared.config.to_dict()
    return {
        "input": str(prepared.files.input.resolve()),
        "rows": prepared.table.num_rows,
        "dim": prepared.table.dim,
        "labels": prepared.files.labels,
        "clusters": prepared.files.clusters,
        **{key: value for key, value in settings.items() if key not in _RESUME_FREE},
    }


def _train(prepared: PreparedRefine, echo: Echo, on_progress: Any) -> tuple[Any, dict]:
    started = time.perf_counter()
    from infoclr.evaluation import clustering, probes  # noqa: F401 - faiss, scikit-learn
    from infoclr.refine.fit import fit_refiner  # torch, Lightning

    timings = {"imports": time.perf_counter() - started}
    files, record = prepared.files, _record(prepared)
    checkpoint = files.checkpoint
    for stale in checkpoint.parent.glob(f".{checkpoint.name}.*.tmp"):
        stale.unlink(missing_ok=True)  # a kill during a checkpoint write
    if files.resume:  # the checkpoint's record was checked in prepare_refine
        echo(f"resuming from {checkpoint}")
    else:
        checkpoint.unlink(missing_ok=True)
    started = time.perf_counter()
    result = fit_refiner(
        prepared.table.vectors,
        prepared.config,
        prepared.label_codes,
        prepared.cluster_codes,
        prepared.stats,
        on_progress=on_progress,
        checkpoint=files.checkpoint,
        resume=files.resume,
        echo=echo,
        record=record,
    )
    train = time.perf_counter() - started
    timings["epochs"] = sum(result.epochs.seconds)
    timings["selection"] = result.eval_seconds
    timings["training_overhead"] = train - timings["epochs"] - timings["selection"]
    return result, timings


def _draw_map(prepared: PreparedRefine, result: Any, handle: Any) -> None:
    from infoclr.evaluation.plots import plot_before_after
    from infoclr.evaluation.selection import gather_rows

    config, table = prepared.config, prepared.table
    codes = prepared.label_codes if prepared.label_codes is not None else prepared.cluster_codes
    rows = np.flatnonzero(codes >= 0) if codes is not None else np.arange(table.num_rows)
    rng = np.random.default_rng(config.split_seed + 2)
    rows = np.sort(rng.choice(rows, size=min(config.map_rows, rows.size), replace=False))
    original = gather_rows(table.vectors, rows)
    names = prepared.files.class_names
    if names is None and prepared.label_codes is not None:
        names = [str(value) for value in prepared.label_classes]
    plot_before_after(
        original,
        original if result.identity else result.refine(original),
        None if codes is None else codes[rows],
        handle,
        method=prepared.map_method,
        seed=config.split_seed,
        title=f"{prepared.files.input.name}: original vs refined",
        class_names=names,
        refined_title=(
            "output = the input (kept)"
            if result.identity
            else f"refined (epoch {result.selection.chosen_epoch})"
        ),
    )


def _objective(prepared: PreparedRefine, objective: str) -> str:
    """One line on the training loss, for the report."""
    if objective == "simskip":
        return "simskip: NT-Xent between two views of each row; labels only select and guard"
    files = prepared.files
    named = (("labels", files.labels), ("clusters", files.clusters))
    given = [name for name, spec in named if spec]
    form = "Cl-InfoNCE (paper form)" if prepared.config.cluster_form == "paper" else "SupCon"
    return (
        f"supervised: {form} on the {' and '.join(given)} (positives share one); a row without "
        "one pairs with its own other view; the held-out val and test rows are not trained on"
    )


def _views(config: RefineConfig, objective: str) -> dict[str, Any]:
    """The view options the run trained with (unset ones filled in for ``objective``)."""
    options = config.simskip_options(objective)
    return {key: options[key] for key in ("mask_value", "noise_scale", "standardize", "augment")}


def _report(prepared: PreparedRefine, result: Any, evaluation: dict) -> dict[str, Any]:
    files, table = prepared.files, prepared.table
    labelled = prepared.label_codes
    return {
        "input": str(files.input),
        "output": str(files.out),
        "refiner": str(files.refiner),
        "rows": table.num_rows,
        "dim": table.dim,
        "format": table.format,
        "labels": files.labels,
        "label_classes": [str(c) for c in prepared.label_classes],
        "class_names": files.class_names,
        "labelled_rows": None if labelled is None else int((labelled >= 0).sum()),
        "clusters": files.clusters,
        "objective": result.objective,
        "objective_detail": _objective(prepared, result.objective),
        "views": _views(prepared.config, result.objective),
        "weight_decay": prepared.config.simskip_options(result.objective)["weight_decay"],
        "trained_rows": result.trained_rows,
        "kept": result.kept,
        "guard": {
            "kept": result.kept,
            "reason": result.guard_reason,
            "decision": None if result.guard is None else result.guard.as_dict(),
        },
        "config": prepared.config.to_dict(),
        "selection": result.selection.as_dict(),
        "stopped": result.stopped,
        "notes": prepared.notes + ([result.note] if result.note else []),
        "evaluation": evaluation,
        **result.epochs.as_dict(),
        "map": None,
    }


def _write_outputs(prepared: PreparedRefine, result: Any, report: dict, timings: dict) -> None:
    import yaml

    from infoclr.data.embeddings import write_embeddings
    from infoclr.io import json_text
    from infoclr.models.refiner import save_refiner
    from infoclr.runs import OutputSet

    files, config = prepared.files, prepared.config
    with_map = prepared.map_method != "none"
    outputs = OutputSet(files.outputs(with_map))
    try:
        started = time.perf_counter()
        refiner = result.output_refiner
        refine_rows = None if result.identity else refiner.refine_rows
        write_embeddings(prepared.table, files.out, refine_rows, outputs=outputs)
        selection = result.selection.as_dict() | {"kept": result.kept, "guard": report["guard"]}
        outputs.write(
            files.refiner,
            lambda handle: save_refiner(handle, refiner, config.to_dict(), selection),
        )
        outputs.write_text(
            files.report("refine.yaml"), yaml.safe_dump(config.to_dict(), sort_keys=False)
        )
        timings["apply_write"] = time.perf_counter() - started
        if with_map:
            started = time.perf_counter()
            outputs.write(files.report("refine_map.png"), lambda h: _draw_map(prepared, result, h))
            report["map"] = str(files.report("refine_map.png"))
            timings["map"] = time.perf_counter() - started
        report["timings"] = timings
        outputs.write_text(files.report("report.json"), json_text(report))
        outputs.commit()
    except BaseException:
        outputs.abort()
        raise


def run_refine(
    prepared: PreparedRefine, echo: Echo = print, on_progress: Any = None
) -> dict[str, Any]:
    """Train, score and write the output set of a prepared run; returns the report.

    Interrupted (Ctrl-C, a kill), it leaves its checkpoint beside OUT (after the first epoch)
    and no output; ``--resume`` continues it. The checkpoint is deleted once the set is written.
    """
    from infoclr.evaluation.selection import before_after

    try:
        result, timings = _train(prepared, echo, on_progress)
    except KeyboardInterrupt:
        hint = "rerun the same command with --resume to continue"
        if not prepared.files.checkpoint.is_file():
            hint = "no epoch finished, so there is nothing to resume"
        raise KeyboardInterrupt(hint) from None
    timings["statistics"] = prepared.seconds
    started = time.perf_counter()
    refine = None if result.identity else result.refine
    evaluation = before_after(
        prepared.table.vectors,
        refine,
        prepared.label_codes,
        result.split,
        result.selection,
        result.input_scores,
    )
    timings["report_scores"] = time.perf_counter() - started
    report = _report(prepared, result, evaluation)
    _write_outputs(prepared, result, report, timings)
    prepared.files.checkpoint.unlink(missing_ok=True)
    return report


def apply_refiner(
    input_path: Path,
    out: Path,
    refiner_file: Path,
    id_column: str | None = None,
    embedding_column: str | None = None,
    overwrite: bool = False,
) -> EmbeddingTable:
    """Refine the table at ``input_path`` with a saved refiner and write it to ``out``."""
    from infoclr.runs import check_new_outputs

    embedding_format(input_path, "input")
    embedding_format(out, "output")
    check_distinct_paths(input_path, out, refiner_file)
    check_new_outputs([out], overwrite)
    table = read_embeddings(input_path, id_column, embedding_column)
    scan_embeddings(table.vectors)
    from infoclr.data.embeddings import write_embeddings
    from infoclr.models.refiner import load_refiner

    loaded = load_refiner(refiner_file)
    if table.dim != loaded.refiner.dim:
        raise DataError(
            f"{input_path} has {table.dim}-dimensional rows but the refiner {refiner_file} was "
            f"trained on {loaded.refiner.dim}-dimensional rows; use the matching encoder"
        )
    write_embeddings(table, out, loaded.refine)
    return table
