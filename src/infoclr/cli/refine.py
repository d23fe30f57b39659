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
from infoclr.refine.files import RefineFiles

# Every RefineConfig field declared with cli=True is a flag (the others: --set KEY=VALUE).
FLAGS = [flag(RefineConfig, item.name) for item in fields(RefineConfig) if item.metadata["cli"]]


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


@config_command(app, FLAGS, files=RefineFiles)
def refine(
    config: Path | None = typer.Option(None, "--config", "-c", help="YAML file of config keys."),
    set_: list[str] = typer.Option([], "--set", help="Any config key: --set key=value."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Progress bar."),
    *,
    files: RefineFiles,
    overrides: dict[str, Any],
) -> None:
    """Refine the embeddings you already have (with labels, clusters, pairs or SimSkip), guarded."""
    from rich.console import Console

    from infoclr.config import load_config, parse_overrides
    from infoclr.refine.job import apply_refiner

    console = Console(stderr=True)
    if files.apply is not None:
        table = apply_refiner(
            files.input, files.out, files.apply, files.id_column, files.embedding_column,
            files.overwrite,
        )  # fmt: skip
        console.print(f"refined {table.num_rows} rows with {files.apply} → {files.out}")
        return
    overrides.update(parse_overrides(set_))
    _run(console, load_config(RefineConfig, config, overrides), files, progress)


def _run(console: Any, cfg: RefineConfig, files: RefineFiles, progress: bool) -> None:
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
