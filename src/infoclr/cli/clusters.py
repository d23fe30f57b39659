"""``infoclr clusters``: build cluster columns from auxiliary information and measure them.

- ``infoclr clusters build TABLE (--attributes COLS | --hierarchy FILE --class-column COL
  --level L | --tags COL) [--top-k K ...] --out FILE`` adds cluster columns to a table
  (:func:`infoclr.clusters.build.build_clusters`);
- ``infoclr clusters stats TABLE --label COL [--clusters COL ...] [--json]`` prints the
  information statistics of Tsai et al. (arXiv 2106.02869) for each cluster column.

The commands only parse flags and call :mod:`infoclr.clusters`; every user mistake there is an
:class:`~infoclr.errors.InfoclrError`, which :func:`infoclr.cli.main` prints as one line.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from infoclr.cli import app
from infoclr.cli.options import config_command, flag
from infoclr.clusters.build import ClusterBuildConfig

clusters_app = typer.Typer(
    name="clusters",
    help="Build cluster columns from attributes, a hierarchy or tags; measure I(Z;T), H(Z|T).",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(clusters_app, name="clusters")


@clusters_app.command("stats")
def stats_command(
    table: Annotated[Path, typer.Argument(help="CSV, TSV or parquet table, one row per sample.")],
    label: Annotated[str, typer.Option("--label", help="Downstream label column T.")],
    clusters: Annotated[
        list[str] | None,
        typer.Option(
            "--clusters",
            help="Cluster column Z (repeat or comma-separate). Default: every column named "
            "label_gran_* or cluster_*.",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print strict JSON, one object per cluster column.")
    ] = False,
    references: Annotated[
        bool,
        typer.Option(
            "--references/--no-references",
            help="Add the reference rows Z = label and Z = instance id, as the authors publish.",
        ),
    ] = True,
) -> None:
    """Information statistics (bits) of each cluster column Z against the label T.

    JSON values are strict (null where a statistic is undefined); each object carries
    ``published_names``, the authors' column names (Y = clusters) for our keys.
    """
    from infoclr.clusters.stats import statistics_report

    names = None if clusters is None else [n.strip() for v in clusters for n in v.split(",")]
    report = statistics_report(table, label, [n for n in names if n] if names else None, references)
    if as_json:
        records = [{"column": name, **stats.as_json()} for name, stats in report.items()]
        typer.echo(json.dumps(records, indent=2, allow_nan=False))
        return
    _print_statistics(table, label, report)


def _print_statistics(table: Path, label: str, report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    from infoclr.clusters.stats import PUBLISHED_NAMES

    columns = ("n_clusters", "largest_cluster_share", "H(Z)", "H(T)", "H(Z,T)", "H(Z|T)",
               "H(T|Z)", "I(Z;T)")  # fmt: skip
    first = next(iter(report.values()))
    view = Table(
        title=f"{table} against {label!r}: N = {first.n_samples}, entropies in bits",
        caption="published names, Y = clusters: "
        + ", ".join(f"{theirs}={ours}" for ours, theirs in PUBLISHED_NAMES.items() if "(" in ours),
        caption_justify="left",
    )
    view.add_column("clusters Z", style="bold")
    for header in ("K", "largest", *columns[2:]):
        view.add_column(header, justify="right")
    for name, stats in report.items():
        values = stats.as_dict()
        cells = [
            str(values[k]) if isinstance(values[k], int) else f"{values[k]:.4f}" for k in columns
        ]
        shown = {"instance_id": "instance_id (row ids)", label: f"{label} (= T)"}.get(name, name)
        view.add_row(shown, *cells)
    # A pipe or a test capture has no terminal width; rich would then squeeze the table to 80.
    Console(width=None if os.isatty(1) else 120, highlight=False).print(view)


@config_command(
    clusters_app,
    [
        flag(ClusterBuildConfig, "out"),
        flag(ClusterBuildConfig, "attributes"),
        flag(ClusterBuildConfig, "hierarchy"),
        flag(ClusterBuildConfig, "class_column"),
        flag(ClusterBuildConfig, "level"),
        flag(ClusterBuildConfig, "tags"),
        flag(ClusterBuildConfig, "top_k"),
        flag(ClusterBuildConfig, "separator"),
        flag(ClusterBuildConfig, "path_separator"),
        flag(ClusterBuildConfig, "label"),
        flag(ClusterBuildConfig, "overwrite"),
    ],
    name="build",
)
def build_command(
    table: Annotated[Path, typer.Argument(help="CSV, TSV or parquet table, one row per sample.")],
    *,
    overrides: dict[str, Any],
) -> None:
    """Add cluster columns (cluster_attr_kK, cluster_hier_lL, cluster_tags_kK) to a table;
    the settings are saved beside it as <out stem>.clusters.yaml."""
    from infoclr.clusters.build import build_clusters, config_path_for
    from infoclr.config import from_dict

    config = from_dict(ClusterBuildConfig, {"table": str(table), **overrides})
    result = build_clusters(config)
    out = Path(config.out)
    typer.echo(
        f"wrote {out} ({result.rows} rows, {len(result.columns)} new column(s)) and "
        f"{config_path_for(out).name}"
    )
    for column, description in result.columns.items():
        typer.echo(f"  {column}: {description}")
