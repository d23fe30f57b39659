"""``infoclr export``: a thin wrapper over :mod:`infoclr.export` (flags from ExportConfig)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from infoclr.cli import app
from infoclr.cli.options import config_command, flag
from infoclr.export import ExportConfig

FLAGS = [
    flag(ExportConfig, "format"),
    flag(ExportConfig, "out", "--out", "-o"),
    flag(ExportConfig, "check"),
    flag(ExportConfig, "tolerance"),
    flag(ExportConfig, "overwrite"),
]


@config_command(app, FLAGS, name="export")
def export_command(
    run: Path = typer.Argument(..., help="A finished run folder."),
    *,
    overrides: dict[str, Any],
) -> None:
    """Export a run's backbone (ONNX, TorchScript or state dict), checked against PyTorch."""
    from rich.console import Console

    from infoclr.config import load_config
    from infoclr.export import export

    cfg = load_config(ExportConfig, None, {**overrides, "run": str(run)})
    result = export(cfg)
    checked = (
        "not checked"
        if result.max_abs_diff is None
        else f"max abs. difference to PyTorch {result.max_abs_diff:.1e}"
    )
    console = Console(stderr=True)
    console.print(f"exported {result.format} → {result.out} ({checked}); card: {result.card}")
