"""``infoclr pretrain`` and ``infoclr evaluate``: thin wrappers over :mod:`infoclr.pretrain`.

Flags and their help come from :class:`~infoclr.pretrain.PretrainConfig` and the methods'
options dataclasses; every other key is ``--set KEY=VALUE``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from infoclr.cli import app
from infoclr.cli.options import config_command, flag
from infoclr.methods import METHODS, available_methods
from infoclr.methods.clinfonce import ClusterColumns
from infoclr.methods.registry import ContrastiveOptions, MemoryBankOptions
from infoclr.pretrain import PretrainConfig


def _temperature_help() -> str:
    available_methods()
    defaults = ", ".join(
        f"{name} {cls.temperature}"
        for name, cls in sorted(METHODS.items())
        if issubclass(cls, ContrastiveOptions)
    )
    return f"Softmax temperature τ of the method's loss (default: {defaults})."


_METHODS = ", ".join(available_methods())
FLAGS = [
    flag(PretrainConfig, "method", help=f"One of {_METHODS} (default: simclr)."),
    flag(PretrainConfig, "dataset"),
    flag(PretrainConfig, "data_root"),
    flag(PretrainConfig, "download"),
    flag(PretrainConfig, "backbone"),
    flag(PretrainConfig, "init"),
    flag(PretrainConfig, "epochs"),
    flag(PretrainConfig, "batch_size"),
    flag(PretrainConfig, "lr"),
    flag(PretrainConfig, "optimizer"),
    flag(PretrainConfig, "lr_scaling"),
    flag(ContrastiveOptions, "temperature", help=_temperature_help()),
    flag(MemoryBankOptions, "memory_size"),
    flag(ClusterColumns, "cluster_column"),
    flag(PretrainConfig, "devices"),
    flag(PretrainConfig, "num_nodes"),
    flag(PretrainConfig, "strategy"),
    flag(PretrainConfig, "accelerator"),
    flag(PretrainConfig, "logger"),
    flag(PretrainConfig, "seed"),
    flag(PretrainConfig, "output_dir", "--output", "-o"),
    flag(PretrainConfig, "name"),
]


def _print_summary(title: str, rows: list[tuple[str, str]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_header=False)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in rows:
        table.add_row(key, value)
    Console().print(table)


@config_command(app, FLAGS)
def pretrain(
    config: Path | None = typer.Option(None, "--config", "-c", help="YAML file of config keys."),
    resume: bool = typer.Option(False, "--resume", help="Continue the unfinished run."),
    set_: list[str] = typer.Option(
        [], "--set", help="Any config or method key: --set key=value (repeatable)."
    ),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Progress bar."),
    *,
    overrides: dict[str, Any],
) -> None:
    """Pretrain an encoder, evaluate it (linear probe, k-NN) and save its weights."""
    from rich.console import Console

    from infoclr.config import load_config, parse_overrides
    from infoclr.pretrain import pretrain as run, summary_rows

    overrides.update(parse_overrides(set_))
    cfg = load_config(PretrainConfig, config, overrides)
    console = Console()
    result = run(cfg, resume=resume, progress=progress, echo=console.print)
    if result.metrics:
        _print_summary(f"{cfg.method} on {cfg.dataset}", summary_rows(result.metrics))
        console.print(f"weights: {result.run_dir / 'backbone.pt'}")


@app.command()
def evaluate(
    run_dir: Path = typer.Argument(..., help="A run folder written by infoclr pretrain."),
    baselines: bool = typer.Option(False, "--baselines", help="Also run the two baselines."),
) -> None:
    """Re-evaluate a finished run's backbone (linear probe and k-NN) and print the metrics."""
    from infoclr.runs import check_run_folder

    check_run_folder(run_dir)  # before the heavy imports: a mistake is answered at once
    from infoclr.pretrain import evaluate_run, summary_rows

    cfg, metrics = evaluate_run(run_dir, baselines)
    _print_summary(f"{cfg.method} on {cfg.dataset} ({run_dir.name})", summary_rows(metrics))
