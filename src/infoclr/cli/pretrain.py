"""``infoclr pretrain`` and ``infoclr evaluate``: thin wrappers over :mod:`infoclr.pretrain`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from infoclr.cli import app
from infoclr.config import load_config, parse_overrides
from infoclr.errors import ConfigError, DataError

console = Console(stderr=False)


def _print_summary(title: str, rows: list[tuple[str, str]]) -> None:
    table = Table(title=title, show_header=False)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in rows:
        table.add_row(key, value)
    console.print(table)


@app.command()
def pretrain(
    config: Path | None = typer.Option(None, "--config", "-c", help="YAML file of config keys."),
    method: str | None = typer.Option(
        None,
        help="simclr | supcon | clinfonce | clinfonce-kmeans | ce-clusters | mrcl | "
        "superinfo (default simclr).",
    ),
    dataset: str | None = typer.Option(None, help="Data set name (default digits)."),
    data_root: str | None = typer.Option(None, help="Where the data set lives / downloads to."),
    download: bool | None = typer.Option(None, "--download", help="Allow downloading data."),
    backbone: str | None = typer.Option(
        None, help="auto | smallcnn | resnet18 | resnet50 | vit-tiny."
    ),
    epochs: int | None = typer.Option(None, help="Training epochs (default 50)."),
    batch_size: int | None = typer.Option(None, help="Batch size per device (default 256)."),
    lr: float | None = typer.Option(None, help="Learning rate (default per optimizer)."),
    optimizer: str | None = typer.Option(None, help="adamw | sgd | lars."),
    temperature: float | None = typer.Option(None, help="Loss temperature."),
    cluster_column: str | None = typer.Option(None, help="Auxiliary cluster column."),
    devices: int | None = typer.Option(None, help="Number of devices (DDP when > 1)."),
    strategy: str | None = typer.Option(None, help="Lightning strategy, e.g. ddp."),
    accelerator: str | None = typer.Option(None, help="auto | cpu | gpu."),
    seed: int | None = typer.Option(None, help="Random seed."),
    output_dir: str | None = typer.Option(None, "--output", "-o", help="Parent of run folders."),
    name: str | None = typer.Option(None, help="Run folder name (default METHOD-DATASET)."),
    resume: bool = typer.Option(False, "--resume", help="Continue the unfinished run."),
    set_: list[str] = typer.Option(
        [], "--set", help="Any other config key: --set key=value (repeatable)."
    ),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Progress bar."),
) -> None:
    """Pretrain an encoder, evaluate it (linear probe, k-NN) and save its weights."""
    from infoclr.pretrain import PretrainConfig, summary_rows
    from infoclr.pretrain import pretrain as run

    flags: dict[str, Any] = dict(
        method=method,
        dataset=dataset,
        data_root=data_root,
        download=download,
        backbone=backbone,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        optimizer=optimizer,
        temperature=temperature,
        cluster_column=cluster_column,
        devices=devices,
        strategy=strategy,
        accelerator=accelerator,
        seed=seed,
        output_dir=output_dir,
        name=name,
    )
    overrides = {k: v for k, v in flags.items() if v is not None}
    overrides.update(parse_overrides(set_))
    cfg = load_config(PretrainConfig, config, overrides)
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
    import torch

    from infoclr.augment import EvalView
    from infoclr.config import load_config as load
    from infoclr.io import atomic_write_json
    from infoclr.pretrain import PretrainConfig, evaluate_backbone, prepare, summary_rows

    if not (run_dir / "config.yaml").is_file():
        raise DataError(
            f"{str(run_dir)!r} is not a run folder (no config.yaml); pass the folder "
            "that infoclr pretrain printed"
        )
    weights = run_dir / "backbone.pt"
    if not weights.is_file():
        raise DataError(
            f"{str(run_dir)!r} has no backbone.pt: the run did not finish; resume "
            "it with infoclr pretrain --resume"
        )
    cfg = load(PretrainConfig, run_dir / "config.yaml")
    train, test, view_config, method = prepare(cfg)
    try:
        state = torch.load(weights, map_location="cpu", weights_only=True)
        method.backbone.load_exported(state)
    except (RuntimeError, OSError) as err:
        raise ConfigError(
            f"backbone.pt does not match the run's config: {str(err)[:120]}"
        ) from None
    device = torch.device("cpu")
    metrics = evaluate_backbone(
        method, train, test, EvalView(view_config), cfg, device, baselines=baselines
    )
    atomic_write_json(run_dir / "evaluation.json", metrics)
    _print_summary(f"{cfg.method} on {cfg.dataset} ({run_dir.name})", summary_rows(metrics))
