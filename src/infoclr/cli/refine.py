"""``infoclr refine``: refine existing embeddings (labels, clusters, pairs or SimSkip), or
apply a saved refiner.

A thin layer over :mod:`infoclr.refine.job`. The flags and their help come from
:class:`~infoclr.refine.config.RefineConfig`; every other key is ``--set KEY=VALUE``. See
``docs/guide-refine.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import fields
from pathlib import Path
from typing import Any

import typer

from infoclr.cli import app
from infoclr.cli.options import config_command, flag
from infoclr.refine.config import RefineConfig

# Every RefineConfig field declared with cli=True is a flag (the others: --set KEY=VALUE).
FLAGS = [flag(RefineConfig, item.name) for item in fields(RefineConfig) if item.metadata["cli"]]


def _class_names(value: str | None) -> list[str] | None:
    """``--class-names``: a comma-separated list, or a .txt file with one name per line."""
    if value is None:
        return None
    path = Path(value)
    if path.suffix == ".txt" and path.is_file():
        return [line.strip() for line in path.read_text().splitlines() if line.strip()]
    return [name.strip() for name in value.split(",")]


def _print_scores(console: Any, report: dict[str, Any]) -> None:
    from rich.table import Table

    evaluation = report.get("evaluation") or {}
    before, after = evaluation.get("original") or {}, evaluation.get("refined") or {}
    table = Table(title="original vs refined", show_header=True)
    for name, justify in (("metric", "left"), ("original", "right"), ("refined", "right")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for key, value in before.items():
        refined = after.get(key)
        table.add_row(key, f"{value:.4f}", "" if refined is None else f"{refined:.4f}")
    console.print(table)


def _print_summary(console: Any, report: dict[str, Any]) -> None:
    """The scores, the objective, what selection and the guard kept, and why."""
    _print_scores(console, report)
    if report["stopped"]:
        console.print(f"training stopped early: {report['stopped']}")
    console.print(f"objective: {report['objective_detail']}")
    console.print(f"selection: {report['selection']['reason']}")
    console.print(f"guard: {report['guard']['reason']}")
    output = "the input, unchanged" if report["kept"] == "input" else "the refined vectors"
    console.print(f"output: {output}")


@contextmanager
def _progress(
    console: Any, enabled: bool, epochs: int
) -> Iterator[Callable[[int, int, int, float], None]]:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("[bold]refine[/] {task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not enabled,
    )
    task = bar.add_task("", total=None)

    def update(epoch: int, steps: int, per_epoch: int, loss: float) -> None:
        done = (epoch - 1) * per_epoch + steps
        description = f"epoch {epoch}/{epochs} loss {loss:.3f}"
        bar.update(task, total=per_epoch * epochs, completed=done, description=description)

    with bar:
        yield update


@config_command(app, FLAGS)
def refine(
    input_path: Path = typer.Argument(
        ..., metavar="INPUT", help="Embeddings: .npy (memory-mapped), .pt, .parquet or .csv."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Refined embeddings (same format)."),
    apply: Path | None = typer.Option(
        None, "--apply", help="Refine with this saved .refiner.pt instead of training."
    ),
    labels: str | None = typer.Option(
        None,
        "--labels",
        help="Label column of INPUT, or a .npy/.csv/.txt file (one per row; empty = unknown).",
    ),
    clusters: str | None = typer.Option(
        None,
        "--clusters",
        help="Auxiliary cluster column or file (empty = none): positives where a row has no label.",
    ),
    class_names: str | None = typer.Option(
        None, "--class-names", help="Legend names of the sorted labels: a,b,c or a .txt file."
    ),
    pairs: Path | None = typer.Option(
        None, "--pairs", help="For retrieval: .csv/.tsv rows of query id, positive id[, negative]."
    ),
    documents: Path | None = typer.Option(
        None, "--documents", help="With --pairs: the documents, if not in INPUT (same encoder)."
    ),
    documents_out: Path | None = typer.Option(
        None, "--documents-out", help="With --pairs and --documents: the refined documents."
    ),
    id_column: str | None = typer.Option(None, "--id-column", help="Id column (default 'id')."),
    embedding_column: str | None = typer.Option(
        None, "--embedding-column", help="The list-valued column holding the vectors."
    ),
    save_refiner: Path | None = typer.Option(
        None, "--save-refiner", help="Where to save the refiner (default OUT stem.refiner.pt)."
    ),
    report_dir: Path | None = typer.Option(
        None, "--report-dir", help="Folder for report.json, refine.yaml and the map."
    ),
    config: Path | None = typer.Option(None, "--config", "-c", help="YAML file of config keys."),
    set_: list[str] = typer.Option([], "--set", help="Any config key: --set key=value."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing outputs."),
    resume: bool = typer.Option(False, "--resume", help="Continue an interrupted run."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Progress bar."),
    *,
    overrides: dict[str, Any],
) -> None:
    """Refine the embeddings you already have (with labels, clusters, pairs or SimSkip), guarded."""
    from rich.console import Console

    from infoclr.config import load_config, parse_overrides
    from infoclr.refine.job import RefineFiles, apply_refiner

    console = Console(stderr=True)
    if apply is not None:
        table = apply_refiner(input_path, out, apply, id_column, embedding_column, overwrite)
        console.print(f"refined {table.num_rows} rows with {apply} → {out}")
        return
    overrides.update(parse_overrides(set_))
    cfg = load_config(RefineConfig, config, overrides)
    files = RefineFiles(
        input=input_path,
        out=out,
        labels=labels,
        clusters=clusters,
        id_column=id_column,
        embedding_column=embedding_column,
        save_refiner=save_refiner,
        report_dir=report_dir,
        class_names=_class_names(class_names),
        overwrite=overwrite,
        resume=resume,
        pairs=pairs,
        documents=documents,
        documents_out=documents_out,
    )
    _run(console, cfg, files, progress)


def _run(console: Any, cfg: RefineConfig, files: Any, progress: bool) -> None:
    """Check, train and write one run (the --pairs job for --pairs), printing as it goes."""
    from infoclr.refine.job import prepare_refine, run_refine

    if files.pairs is not None:
        from infoclr.adapters.pairs_job import prepare_pairs, run_pairs

        prepared, run = prepare_pairs(cfg, files), run_pairs
    else:
        prepared, run = prepare_refine(cfg, files), run_refine
    table = prepared.table
    console.print(f"{files.input}: {table.num_rows:,} rows × {table.dim} dims ({table.format})")
    for note in prepared.notes:
        console.print(f"note: {note}")
    with _progress(console, progress, cfg.epochs) as on_progress:
        report = run(prepared, echo=console.print, on_progress=on_progress)
    _print_summary(console, report)
    written = [files.out, *([files.documents_out] if files.documents_out else []), files.refiner]
    console.print(f"wrote {', '.join(map(str, written))}, {files.report('report.json')}")
