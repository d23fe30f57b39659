"""``infoclr refine``: refine existing embeddings with SimSkip, or apply a saved refiner.

A thin layer over :mod:`infoclr.refine`: read the table, train with selection, write the
refined table (same format, same row order, ids kept), the refiner, ``report.json`` and a 2-D
map. See ``docs/guide-refine.md``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from infoclr.cli import app
from infoclr.errors import ConfigError, DataError

console = Console(stderr=True)

MAP_METHODS = ("auto", "tsne", "pca", "umap", "none")


def _refiner_path(out: Path, save_refiner: Path | None) -> Path:
    if save_refiner is not None:
        return save_refiner
    return out.with_name(out.name[: -len(out.suffix)] + ".refiner.pt")


def _print_scores(report: dict[str, Any]) -> None:
    evaluation = report.get("evaluation") or {}
    before, after = evaluation.get("original") or {}, evaluation.get("refined") or {}
    if not before:
        return
    table = Table(title="original vs refined", show_header=True)
    table.add_column("metric")
    table.add_column("original", justify="right")
    table.add_column("refined", justify="right")
    for key, value in before.items():
        refined = after.get(key)
        table.add_row(key, f"{value:.4f}", "" if refined is None else f"{refined:.4f}")
    console.print(table)


def _apply(
    input_path: Path,
    out: Path,
    refiner_file: Path,
    id_column: str | None,
    embedding_column: str | None,
) -> None:
    from infoclr.refine.checkpoint import load_refiner
    from infoclr.refine.io import (
        check_distinct_paths,
        embedding_format,
        read_embeddings,
        scan_embeddings,
        write_embeddings,
    )

    embedding_format(out, "output")
    check_distinct_paths(input_path, out, refiner_file)
    loaded = load_refiner(refiner_file)
    table = read_embeddings(input_path, id_column, embedding_column)
    if table.dim != loaded.refiner.dim:
        raise DataError(
            f"{input_path} has {table.dim}-dimensional rows but the refiner {refiner_file} was "
            f"trained on {loaded.refiner.dim}-dimensional rows; use the matching encoder"
        )
    scan_embeddings(table.vectors)
    write_embeddings(table, out, loaded.refine)
    console.print(f"refined {table.num_rows} rows with {refiner_file} → {out}")


@app.command()
def refine(
    input_path: Path = typer.Argument(
        ..., metavar="INPUT", help="Embeddings: .npy (memory-mapped), .pt, .parquet or .csv."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Refined embeddings (same format)."),
    apply: Path | None = typer.Option(
        None, "--apply", help="Refine with this saved .refiner.pt instead of training."
    ),
    labels: str | None = typer.Option(
        None, "--labels", help="Label column of INPUT, or a .npy/.csv/.txt file (one per row)."
    ),
    clusters: str | None = typer.Option(
        None,
        "--clusters",
        help="Auxiliary cluster column or file: weakly-supervised refinement (Cl-InfoNCE).",
    ),
    id_column: str | None = typer.Option(None, "--id-column", help="Id column (default 'id')."),
    embedding_column: str | None = typer.Option(
        None, "--embedding-column", help="The list-valued column holding the vectors."
    ),
    save_refiner: Path | None = typer.Option(
        None, "--save-refiner", help="Where to save the refiner (default OUT stem.refiner.pt)."
    ),
    report_dir: Path | None = typer.Option(
        None, "--report-dir", help="Folder for report.json and the map (default: OUT's folder)."
    ),
    config: Path | None = typer.Option(None, "--config", "-c", help="YAML file of config keys."),
    epochs: int | None = typer.Option(None, help="Training epochs (default 20)."),
    batch_size: int | None = typer.Option(None, help="Rows per batch (default 256)."),
    lr: float | None = typer.Option(None, help="Adam learning rate (default 1e-3)."),
    weight_decay: float | None = typer.Option(None, help="Adam weight decay (default 0)."),
    temperature: float | None = typer.Option(None, help="NT-Xent temperature (default 0.2)."),
    mask_prob: float | None = typer.Option(None, help="Feature-mask probability (default 0.2)."),
    noise_std: float | None = typer.Option(
        None, help="Noise std in units of each dimension's std (default 0.1)."
    ),
    hidden: int | None = typer.Option(None, help="Refiner hidden width (default dim/2)."),
    dropout: float | None = typer.Option(None, help="Refiner dropout (default 0.1)."),
    skip: bool | None = typer.Option(
        None, "--skip/--no-skip", help="Skip connection h = x + F(x) (default on)."
    ),
    projector: bool | None = typer.Option(
        None, "--projector/--no-projector", help="Projection head d→d→128 (default on)."
    ),
    seed: int | None = typer.Option(None, help="Random seed (default 0)."),
    val_fraction: float | None = typer.Option(
        None, help="Labelled rows used to select the epoch (default 0.2)."
    ),
    test_fraction: float | None = typer.Option(
        None, help="Labelled rows kept for the before/after report (default 0.2)."
    ),
    select_by: str | None = typer.Option(
        None, help="both (mean of linear and k-NN, neither below the input) | linear | knn."
    ),
    eval_every: int | None = typer.Option(None, help="Evaluate every E epochs (default 1)."),
    min_gain: float | None = typer.Option(
        None, help="A trained epoch must beat epoch 0 by more than this (default 0)."
    ),
    num_clusters: int | None = typer.Option(
        None, help="K of the unsupervised k-means-stability selection (default 10)."
    ),
    device: str | None = typer.Option(None, help="cpu | cuda (default cpu)."),
    threads: int | None = typer.Option(
        None, help="torch CPU threads (default torch's; 1 is faster on a busy machine)."
    ),
    set_: list[str] = typer.Option(
        [], "--set", help="Any other config key: --set key=value (repeatable)."
    ),
    map_method: str = typer.Option("auto", help="2-D map: auto | tsne | pca | umap | none."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Progress bar."),
) -> None:
    """Refine the embeddings you already have (SimSkip), keeping the input where it is best."""
    from infoclr.config import load_config, parse_overrides, save_config
    from infoclr.refine.fit import RefineConfig, fit_refiner
    from infoclr.refine.io import (
        check_distinct_paths,
        embedding_format,
        read_embeddings,
        read_row_values,
        scan_embeddings,
    )
    from infoclr.refine.select import encode_values

    if apply is not None:
        _apply(input_path, out, apply, id_column, embedding_column)
        return
    if map_method not in MAP_METHODS:
        raise ConfigError(
            f"--map-method must be one of {', '.join(MAP_METHODS)}, got {map_method!r}"
        )

    flags: dict[str, Any] = dict(
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        weight_decay=weight_decay,
        temperature=temperature,
        mask_prob=mask_prob,
        noise_std=noise_std,
        hidden=hidden,
        dropout=dropout,
        skip=skip,
        projector=projector,
        seed=seed,
        val_fraction=val_fraction,
        test_fraction=test_fraction,
        select_by=select_by,
        eval_every=eval_every,
        min_gain=min_gain,
        num_clusters=num_clusters,
        device=device,
        threads=threads,
    )
    overrides = {k: v for k, v in flags.items() if v is not None}
    overrides.update(parse_overrides(set_))
    cfg = load_config(RefineConfig, config, overrides)
    cfg.validate()

    embedding_format(input_path, "input")
    embedding_format(out, "output")
    refiner_file = _refiner_path(out, save_refiner)
    reports = report_dir if report_dir is not None else out.parent
    report_file, map_file, config_file = (
        reports / "report.json",
        reports / "refine_map.png",
        reports / "refine.yaml",
    )
    check_distinct_paths(input_path, out, refiner_file, report_file, map_file, config_file)

    exclude = tuple(name for name in (labels, clusters) if name is not None)
    table = read_embeddings(input_path, id_column, embedding_column, exclude)
    label_codes = cluster_codes = None
    label_classes: list[Any] = []
    if labels is not None:
        label_codes, label_classes = encode_values(read_row_values(labels, table, "labels"))
    if clusters is not None:
        cluster_codes, _ = encode_values(read_row_values(clusters, table, "clusters"))
    stats = scan_embeddings(table.vectors)
    # Printed only after every input check passed, so a bad input gives one line on stderr.
    console.print(f"{input_path}: {table.num_rows} rows × {table.dim} dims ({table.format})")

    started = time.perf_counter()
    bar = Progress(
        TextColumn("[bold]refine[/] {task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} steps"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not progress,
    )
    state = {"task": None, "last": ""}

    def on_step(epoch: int, step: int, steps: int, loss: float) -> None:
        if state["task"] is None:
            state["task"] = bar.add_task("", total=steps * cfg.epochs)
        bar.update(
            state["task"], advance=1, description=f"epoch {epoch} loss {loss:.3f}{state['last']}"
        )

    def on_epoch(epoch: int, loss: float, scores: dict[str, float] | None) -> None:
        if scores:
            state["last"] = " | " + " ".join(f"{k} {v:.4f}" for k, v in scores.items())

    with bar:
        result = fit_refiner(
            table.vectors,
            cfg,
            label_codes=label_codes,
            cluster_codes=cluster_codes,
            stats=stats,
            on_step=on_step,
            on_epoch=on_epoch,
        )
    train_seconds = time.perf_counter() - started

    from infoclr.refine.checkpoint import save_refiner as save_refiner_file
    from infoclr.refine.io import write_embeddings
    from infoclr.refine.report import before_after, write_json, write_map

    evaluation = before_after(table.vectors, result, label_codes)
    write_embeddings(table, out, result.refine)
    save_refiner_file(
        refiner_file, result.module.refiner, cfg.to_dict(), result.selection.as_dict()
    )
    save_config(cfg, config_file)
    map_note: str | None = None
    if map_method != "none":
        colours = label_codes if label_codes is not None else cluster_codes
        try:
            write_map(
                table.vectors,
                result,
                colours,
                map_file,
                method=map_method,
                title=f"{input_path.name}: original vs refined",
            )
        except (ImportError, ValueError, RuntimeError) as err:
            map_note = f"map not written: {type(err).__name__}: {err}"
    report = {
        "input": str(input_path),
        "output": str(out),
        "refiner": str(refiner_file),
        "rows": table.num_rows,
        "dim": table.dim,
        "format": table.format,
        "labels": labels,
        "label_classes": [str(c) for c in label_classes],
        "labelled_rows": None if label_codes is None else int((label_codes >= 0).sum()),
        "clusters": clusters,
        "objective": "cl-infonce (auxiliary clusters)" if clusters else "nt-xent (SimSkip)",
        "config": cfg.to_dict(),
        "selection": result.selection.as_dict(),
        "evaluation": evaluation,
        "epoch_losses": result.epoch_losses,
        "epoch_seconds": result.epoch_seconds,
        "eval_seconds": result.eval_seconds,
        "total_seconds": train_seconds,
        "map": None if map_method == "none" or map_note else str(map_file),
        "map_note": map_note,
    }
    write_json(report, report_file)
    _print_scores(report)
    console.print(f"selection: {result.selection.reason}")
    console.print(f"wrote {out}, {refiner_file}, {report_file}")
