"""``infoclr clusters``: build cluster columns from auxiliary information and measure them.

- ``infoclr clusters build TABLE (--attributes COLS | --hierarchy FILE --class-column COL
  --level L | --tags COL) [--top-k K ...] --out FILE`` adds cluster columns to a table;
- ``infoclr clusters stats TABLE --label COL [--clusters COL ...] [--json]`` prints the
  information statistics of Tsai et al. (arXiv 2106.02869) for each cluster column.

The command only parses flags and calls :mod:`infoclr.clusters`; every user mistake there is an
:class:`~infoclr.errors.InfoclrError`, which :func:`infoclr.cli.main` prints as one line.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from infoclr.cli import app
from infoclr.clusters.attributes import binary_columns, fit_attribute_clusters
from infoclr.clusters.hierarchy import hierarchy_clusters, load_hierarchy
from infoclr.clusters.stats import (
    INSTANCE_ID,
    PUBLISHED_NAMES,
    default_cluster_columns,
    table_statistics,
)
from infoclr.clusters.tables import check_output_path, read_table, require_columns, write_table
from infoclr.clusters.tags import fit_tag_clusters
from infoclr.errors import ConfigError, DataError

clusters_app = typer.Typer(
    name="clusters",
    help="Build cluster columns from attributes, a hierarchy or tags; measure I(Z;T), H(Z|T).",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(clusters_app, name="clusters")

# Columns that `rich` prints, in order: (header, ClusterStats.as_dict key).
_STATS_COLUMNS = (
    ("K", "n_clusters"),
    ("largest", "largest_cluster_share"),
    ("H(Z)", "H(Z)"),
    ("H(T)", "H(T)"),
    ("H(Z,T)", "H(Z,T)"),
    ("H(Z|T)", "H(Z|T)"),
    ("H(T|Z)", "H(T|Z)"),
    ("I(Z;T)", "I(Z;T)"),
)


def _console() -> Console:
    # A pipe or a test capture has no terminal width; rich would then squeeze the table to 80.
    return Console(width=None if os.isatty(1) else 120, highlight=False)


def _split_names(values: list[str] | None) -> list[str] | None:
    if values is None:
        return None
    names = [name.strip() for value in values for name in value.split(",")]
    return [name for name in names if name]


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
        bool, typer.Option("--json", help="Print JSON, one object per cluster column.")
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

    JSON keys include both H(Z|T)-style names and the published H(Y|T)-style names
    (Y = clusters), so that the official CUB statistics can be checked against the output.
    """
    data = read_table(table)
    cluster_columns = _split_names(clusters)
    if cluster_columns is None:
        require_columns(data, [label], source=str(table))
        if not [c for c in default_cluster_columns(data) if c != label]:
            raise ConfigError(
                f"{table} has no column named label_gran_* or cluster_*; "
                "name the cluster columns with --clusters"
            )
    statistics = table_statistics(data, label, cluster_columns, include_references=references)
    if as_json:
        records = [{"column": name, **stats.as_dict()} for name, stats in statistics.items()]
        # Python's json writes the published score's -inf as -Infinity; json.loads reads it.
        typer.echo(json.dumps(records, indent=2))
        return
    n_samples = next(iter(statistics.values())).n_samples
    view = Table(
        title=f"{table} against {label!r}: N = {n_samples}, entropies in bits",
        caption="published names, Y = clusters: "
        + ", ".join(f"{theirs}={ours}" for ours, theirs in PUBLISHED_NAMES.items() if "(" in ours),
        caption_justify="left",
    )
    view.add_column("clusters Z", style="bold")
    for header, _ in _STATS_COLUMNS:
        view.add_column(header, justify="right")
    for name, stats in statistics.items():
        values = stats.as_dict()
        cells = []
        for _, key in _STATS_COLUMNS:
            value = values[key]
            cells.append(str(value) if isinstance(value, int) else f"{value:.4f}")
        shown = name
        if name == INSTANCE_ID and INSTANCE_ID not in data.columns:
            shown = f"{name} (row ids)"
        elif name == label and references and name not in (cluster_columns or []):
            shown = f"{name} (= T)"
        view.add_row(shown, *cells)
    _console().print(view)


def _output_path(table: Path, out: Path) -> None:
    if out.exists() and table.exists() and os.path.samefile(out, table):
        raise ConfigError(f"--out {out} is the input table; write to a new file")
    if out.resolve() == table.resolve():
        raise ConfigError(f"--out {out} is the input table; write to a new file")
    check_output_path(out)


def _describe(names: tuple[object, ...], limit: int = 6) -> str:
    shown = ", ".join(map(str, names[:limit]))
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


@clusters_app.command("build")
def build_command(
    table: Annotated[Path, typer.Argument(help="CSV, TSV or parquet table, one row per sample.")],
    out: Annotated[
        Path, typer.Option("--out", help="Output table (.csv/.tsv/.parquet); not the input.")
    ],
    attributes: Annotated[
        str | None,
        typer.Option(
            "--attributes",
            help="Comma-separated binary attribute columns, or 'all' (every 0/1 column except "
            "--label and existing cluster columns).",
        ),
    ] = None,
    hierarchy: Annotated[
        Path | None,
        typer.Option("--hierarchy", help="Hierarchy file: child,parent CSV, JSON/YAML or paths."),
    ] = None,
    class_column: Annotated[
        str | None, typer.Option("--class-column", help="Class column mapped by --hierarchy.")
    ] = None,
    level: Annotated[
        list[int] | None,
        typer.Option("--level", help="Hierarchy level (0 = root-most); repeat for several."),
    ] = None,
    tags: Annotated[
        str | None, typer.Option("--tags", help="Column of multi-valued tags, e.g. 'a;b;c'.")
    ] = None,
    top_k: Annotated[
        list[int] | None,
        typer.Option("--top-k", help="Keep the top k attributes/tags; repeat for several k."),
    ] = None,
    separator: Annotated[
        str, typer.Option("--separator", help="Separator between tags in --tags.")
    ] = ";",
    path_separator: Annotated[
        str, typer.Option("--path-separator", help="Separator inside hierarchy paths.")
    ] = "/",
    label: Annotated[
        str | None,
        typer.Option("--label", help="Label column, never used as an attribute by 'all'."),
    ] = None,
) -> None:
    """Add cluster columns (cluster_attr_kK, cluster_hier_lL, cluster_tags_kK) to a table."""
    sources = [
        name
        for name, value in (
            ("--attributes", attributes),
            ("--hierarchy", hierarchy),
            ("--tags", tags),
        )
        if value is not None
    ]
    if len(sources) != 1:
        given = ", ".join(sources) if sources else "none"
        raise ConfigError(f"give exactly one of --attributes, --hierarchy, --tags (got {given})")
    if hierarchy is not None:
        if class_column is None or not level:
            raise ConfigError("--hierarchy needs --class-column COL and at least one --level L")
        if top_k:
            raise ConfigError(
                "--top-k applies to --attributes/--tags; use --level with --hierarchy"
            )
    else:
        if not top_k:
            raise ConfigError(f"{sources[0]} needs at least one --top-k K")
        if class_column is not None or level:
            raise ConfigError("--class-column and --level apply only with --hierarchy")
    _output_path(table, out)

    data = read_table(table)
    new_columns: dict[str, np.ndarray] = {}
    notes: dict[str, str] = {}
    if attributes is not None:
        if attributes.strip().lower() == "all":
            excluded = [label] if label else []
            excluded += default_cluster_columns(data)
            names: list[str] = binary_columns(data, exclude=excluded)
            if not names:
                raise DataError(f"{table} has no binary (0/1) column to use as an attribute")
        else:
            names = _split_names([attributes]) or []
            if not names:
                raise ConfigError("--attributes is empty; list columns like 'a,b,c' or use 'all'")
        require_columns(data, names, source=str(table))
        fitted = fit_attribute_clusters(data, names, top_k or [])
        for k in fitted.top_k:
            column = f"cluster_attr_k{k}"
            new_columns[column] = fitted.cluster_ids[k]
            notes[column] = f"top-{k} attributes by entropy: {_describe(fitted.attributes(k))}"
            tie = fitted.near_tie(k)
            if tie is not None:
                notes[column] += f"; {tie}"
    elif hierarchy is not None:
        tree = load_hierarchy(hierarchy, separator=path_separator)
        require_columns(data, [class_column], source=str(table))
        for depth in dict.fromkeys(level or []):
            found = hierarchy_clusters(data[class_column], tree, depth)
            column = f"cluster_hier_l{depth}"
            new_columns[column] = found.cluster_ids
            notes[column] = f"level {depth}: {_describe(found.cluster_names)}"
    else:
        require_columns(data, [tags], source=str(table), allow_missing_values=True)
        fitted_tags = fit_tag_clusters(data[tags], top_k or [], separator=separator)
        for k in fitted_tags.top_k:
            column = f"cluster_tags_k{k}"
            new_columns[column] = fitted_tags.cluster_ids[k]
            notes[column] = f"top-{k} tags by frequency: {_describe(fitted_tags.tags(k))}"

    clashes = [column for column in new_columns if column in data.columns]
    if clashes:
        raise DataError(
            f"{table} already has column(s) {', '.join(clashes)}; drop them or build from the "
            "original table"
        )
    result = pd.concat([data, pd.DataFrame(new_columns, index=data.index)], axis=1)
    write_table(result, out)
    typer.echo(f"wrote {out}: {len(result)} rows, {len(new_columns)} new column(s)")
    for column, ids in new_columns.items():
        n_clusters = int(np.unique(ids).size)
        largest = float(np.bincount(ids).max() / len(ids)) if len(ids) else math.nan
        typer.echo(f"  {column}: {n_clusters} clusters, largest {largest:.1%}; {notes[column]}")
