"""``infoclr embed``: a thin wrapper over :mod:`infoclr.embed` (flags from EmbedConfig)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from infoclr.cli import app
from infoclr.cli.options import config_command, flag
from infoclr.embed import EmbedConfig

FLAGS = [
    flag(EmbedConfig, "out", "--out", "-o"),
    flag(EmbedConfig, "weights"),
    flag(EmbedConfig, "backbone"),
    flag(EmbedConfig, "dataset"),
    flag(EmbedConfig, "data_root"),
    flag(EmbedConfig, "split"),
    flag(EmbedConfig, "image_size"),
    flag(EmbedConfig, "batch_size"),
    flag(EmbedConfig, "num_workers"),
    flag(EmbedConfig, "device"),
    flag(EmbedConfig, "overwrite"),
]


@config_command(app, FLAGS)
def embed(
    run: Path | None = typer.Argument(None, help="A finished run folder (or use --weights)."),
    config: Path | None = typer.Option(None, "--config", "-c", help="YAML file of config keys."),
    set_: list[str] = typer.Option([], "--set", help="Any config key: --set key=value."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Progress bar."),
    *,
    overrides: dict[str, Any],
) -> None:
    """Turn images into vectors with a trained encoder (.parquet or .npy, refine reads both)."""
    from rich.console import Console

    from infoclr.config import load_config, parse_overrides
    from infoclr.embed import embed as run_embed

    overrides.update(parse_overrides(set_))
    if run is not None:
        overrides["run"] = str(run)
    cfg = load_config(EmbedConfig, config, overrides)
    console = Console(stderr=True)
    result = run_embed(cfg, progress=progress, echo=console.print)
    console.print(
        f"embedded {result.rows} images into {result.dim}-d vectors "
        f"({result.images_per_second:.0f} images/s) → {', '.join(map(str, result.files))}"
    )
