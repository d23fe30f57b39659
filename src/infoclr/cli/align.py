"""``infoclr align OLD NEW --out MAP``: map a new encoder's space into an old one's (or back).

Flags and help come from :class:`~infoclr.align.config.AlignConfig`; the job is
:mod:`infoclr.align.job`. Every input is checked before anything is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from infoclr.align.config import AlignConfig
from infoclr.cli import app
from infoclr.cli.options import config_command, flag

FLAGS = [
    flag(AlignConfig, name)
    for name in (
        "direction",
        "maps",
        "recall_k",
        "epochs",
        "ridge",
        "guard_z",
        "seed",
        "threads",
    )
]


@config_command(app, FLAGS)
def align(
    old: Path = typer.Argument(..., metavar="OLD", help="Rows embedded by the old encoder."),
    new: Path = typer.Argument(..., metavar="NEW", help="The same rows (by id) embedded anew."),
    out: Path = typer.Option(..., "--out", "-o", help="The map to write (.pt)."),
    report: Path | None = typer.Option(
        None, "--report", help="Report JSON (default: MAP stem + .report.json)."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing outputs."),
    pairs: Path | None = typer.Option(
        None,
        "--pairs",
        help="(query id, document id) rows of the task the map is for: they choose and guard "
        "the map instead of the shared rows finding themselves.",
    ),
    queries: Path | None = typer.Option(
        None, "--queries", help="The --pairs queries, embedded by NEW (default: NEW itself)."
    ),
    id_column: str | None = typer.Option(None, "--id-column", help="Id column (default 'id')."),
    embedding_column: str | None = typer.Option(
        None, "--embedding-column", help="The list-valued column holding the vectors."
    ),
    config: Path | None = typer.Option(None, "--config", "-c", help="YAML file of config keys."),
    set_: list[str] = typer.Option([], "--set", help="Any config key: --set key=value."),
    *,
    overrides: dict[str, Any],
) -> None:
    """Learn a map between two encoders' spaces; new queries can then search an old index."""
    from infoclr.align.job import prepare_align, run_align, write_align
    from infoclr.config import load_config, parse_overrides

    overrides.update(parse_overrides(set_))
    cfg = load_config(AlignConfig, config, overrides)
    inputs = prepare_align(
        old, new, out, cfg, report, overwrite, id_column, embedding_column, queries, pairs
    )
    typer.echo(
        f"{inputs.shared} rows embedded by both ({inputs.dims['old']}-d OLD, "
        f"{inputs.dims['new']}-d NEW); fitting {cfg.maps}",
        err=True,
    )
    result = run_align(inputs, cfg)
    summary = write_align(result, inputs, cfg)
    k = cfg.recall_k
    for kind, scores in summary["scores"].items():
        typer.echo(f"{kind}: guard Recall@{k} {scores['guard'][f'recall@{k}']:.4f}", err=True)
    typer.echo(f"kept {summary['kept']}: {summary['reason']}", err=True)
    typer.echo(f"wrote {inputs.paths['out']} and {inputs.paths['report']}", err=True)


@app.command("apply-map")
def apply_map(
    map_path: Path = typer.Argument(..., metavar="MAP", help="A map written by infoclr align."),
    input_path: Path = typer.Argument(..., metavar="INPUT", help="Rows in the map's source space."),
    out: Path = typer.Option(..., "--out", "-o", help="Mapped rows (same layout as INPUT)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output."),
    id_column: str | None = typer.Option(None, "--id-column", help="Id column (default 'id')."),
    embedding_column: str | None = typer.Option(
        None, "--embedding-column", help="The list-valued column holding the vectors."
    ),
) -> None:
    """Map rows with a map from infoclr align (e.g. new queries into the old index's space)."""
    from infoclr.align.job import apply_map as run

    rows, source, target = run(map_path, input_path, out, overwrite, id_column, embedding_column)
    typer.echo(f"mapped {rows} rows from {source}-d to {target}-d → {out}", err=True)
