"""``infoclr clusters build``: add cluster columns to a table, as one config-driven job.

:class:`ClusterBuildConfig` holds everything the command takes (one source: binary attributes,
a class hierarchy or multi-valued tags); :func:`build_clusters` checks it, computes the new
columns with :mod:`~infoclr.clusters.attributes`, :mod:`~infoclr.clusters.hierarchy` or
:mod:`~infoclr.clusters.tags`, and writes the table and the config beside it as one set
(``<out>`` and ``<out stem>.clusters.yaml``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infoclr.config import check_fields, option
from infoclr.errors import ConfigError, DataError

__all__ = ["BuildResult", "ClusterBuildConfig", "build_clusters", "config_path_for"]


@dataclass
class ClusterBuildConfig:
    """The settings of ``infoclr clusters build`` (saved beside the output table)."""

    table: str = option("", "CSV, TSV or parquet table, one row per sample.")
    out: str = option("", "Output table (.csv/.tsv/.parquet); not the input.")
    attributes: str | None = option(
        None,
        "Comma-separated binary attribute columns, or 'all' (every 0/1 column except --label "
        "and existing cluster columns).",
    )
    hierarchy: str | None = option(None, "Hierarchy file: child,parent CSV, JSON/YAML or paths.")
    class_column: str | None = option(None, "Class column mapped by --hierarchy.")
    level: list[int] = option(
        help="Hierarchy levels (0 = root-most); repeat --level for several.", factory=list
    )
    tags: str | None = option(None, "Column of multi-valued tags, e.g. 'a;b;c'.")
    top_k: list[int] = option(
        help="Keep the top k attributes/tags; repeat --top-k for several k.", factory=list
    )
    separator: str = option(";", "Separator between tags in --tags.")
    path_separator: str = option("/", "Separator inside hierarchy paths.")
    label: str | None = option(None, "Label column, never used as an attribute by 'all'.")
    overwrite: bool = option(False, "Replace an existing output.")

    def source(self) -> str:
        """Which source builds the clusters: ``attributes``, ``hierarchy`` or ``tags``."""
        given = [name for name in ("attributes", "hierarchy", "tags") if getattr(self, name)]
        if len(given) != 1:
            shown = ", ".join(f"--{name}" for name in given) if given else "none"
            raise ConfigError(
                f"give exactly one of --attributes, --hierarchy, --tags (got {shown})"
            )
        return given[0]

    def validate(self) -> None:
        """One-line ConfigError for a combination that cannot work (no data is read)."""
        check_fields(self)
        if not self.table or not self.out:
            raise ConfigError("give the input TABLE and --out FILE")
        source = self.source()
        if source == "hierarchy":
            if self.class_column is None or not self.level:
                raise ConfigError("--hierarchy needs --class-column COL and at least one --level L")
            if self.top_k:
                raise ConfigError(
                    "--top-k applies to --attributes/--tags; use --level with --hierarchy"
                )
        else:
            if not self.top_k:
                raise ConfigError(f"--{source} needs at least one --top-k K")
            if self.class_column is not None or self.level:
                raise ConfigError("--class-column and --level apply only with --hierarchy")
        if any(k < 1 for k in self.top_k) or any(level < 0 for level in self.level):
            raise ConfigError("--top-k must be >= 1 and --level >= 0")


def config_path_for(out: Path) -> Path:
    """Where the config of a build is saved: ``<out stem>.clusters.yaml`` beside the output."""
    name = out.name
    for suffix in (".gz", ".bz2", ".xz", ".zip"):
        name = name.removesuffix(suffix)
    return out.with_name(Path(name).stem + ".clusters.yaml")


@dataclass
class BuildResult:
    """The written table's size and, per new column, its cluster count and a description."""

    rows: int
    columns: dict[str, str]


def _check_paths(config: ClusterBuildConfig) -> tuple[Path, Path]:
    from infoclr.clusters.tables import check_output_path
    from infoclr.runs import check_new_outputs

    table, out = Path(config.table), Path(config.out)
    if not table.exists():
        raise DataError(f"input table {table} does not exist; check the path")
    if table.is_dir():
        raise DataError(f"input table {table} is a folder; give a CSV, TSV or parquet file")
    if out.resolve() == table.resolve():
        raise ConfigError(f"--out {out} is the input table; write to a new file")
    check_output_path(out)
    check_new_outputs([out, config_path_for(out)], config.overwrite)
    return table, out


def _describe(names: tuple[object, ...], limit: int = 6) -> str:
    shown = ", ".join(map(str, names[:limit]))
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def _attribute_columns(config: ClusterBuildConfig, data: Any) -> dict[str, tuple[Any, str]]:
    from infoclr.clusters.attributes import binary_columns, fit_attribute_clusters
    from infoclr.clusters.stats import default_cluster_columns
    from infoclr.clusters.tables import require_columns

    spec = str(config.attributes).strip()
    if spec.lower() == "all":
        excluded = ([config.label] if config.label else []) + default_cluster_columns(data)
        names = binary_columns(data, exclude=excluded)
        if not names:
            raise DataError(f"{config.table} has no binary (0/1) column to use as an attribute")
    else:
        names = [name.strip() for name in spec.split(",") if name.strip()]
        if not names:
            raise ConfigError("--attributes is empty; list columns like 'a,b,c' or use 'all'")
    require_columns(data, names, source=config.table)
    fitted = fit_attribute_clusters(data, names, config.top_k)
    columns = {}
    for k in fitted.top_k:
        note = f"top-{k} attributes by entropy: {_describe(fitted.attributes(k))}"
        tie = fitted.near_tie(k)
        columns[f"cluster_attr_k{k}"] = (fitted.cluster_ids[k], note + (f"; {tie}" if tie else ""))
    return columns


def _hierarchy_columns(config: ClusterBuildConfig, data: Any) -> dict[str, tuple[Any, str]]:
    from infoclr.clusters.hierarchy import hierarchy_clusters, load_hierarchy
    from infoclr.clusters.tables import require_columns

    tree = load_hierarchy(config.hierarchy, separator=config.path_separator)
    require_columns(data, [config.class_column], source=config.table)
    columns = {}
    for depth in dict.fromkeys(config.level):
        found = hierarchy_clusters(data[config.class_column], tree, depth)
        note = f"level {depth}: {_describe(found.cluster_names)}"
        columns[f"cluster_hier_l{depth}"] = (found.cluster_ids, note)
    return columns


def _tag_columns(config: ClusterBuildConfig, data: Any) -> dict[str, tuple[Any, str]]:
    from infoclr.clusters.tables import require_columns
    from infoclr.clusters.tags import fit_tag_clusters

    require_columns(data, [config.tags], source=config.table, allow_missing_values=True)
    fitted = fit_tag_clusters(data[config.tags], config.top_k, separator=config.separator)
    return {
        f"cluster_tags_k{k}": (
            fitted.cluster_ids[k],
            f"top-{k} tags by frequency: {_describe(fitted.tags(k))}",
        )
        for k in fitted.top_k
    }


def build_clusters(config: ClusterBuildConfig) -> BuildResult:
    """Check ``config``, add the cluster columns and write table + config as one set."""
    import numpy as np
    import pandas as pd
    import yaml

    from infoclr.clusters.tables import read_table, serialize_table
    from infoclr.config import to_dict
    from infoclr.runs import OutputSet

    config.validate()
    _, out = _check_paths(config)
    data = read_table(config.table)
    builders = {"attributes": _attribute_columns, "hierarchy": _hierarchy_columns}
    new = builders.get(config.source(), _tag_columns)(config, data)
    clashes = [column for column in new if column in data.columns]
    if clashes:
        raise DataError(
            f"{config.table} already has column(s) {', '.join(clashes)}; drop them or build "
            "from the original table"
        )
    frame = pd.DataFrame({name: ids for name, (ids, _) in new.items()}, index=data.index)
    result = pd.concat([data, frame], axis=1)
    outputs = OutputSet([out, config_path_for(out)])
    outputs.write(out, lambda handle: serialize_table(result, handle, out))
    outputs.write_text(config_path_for(out), yaml.safe_dump(to_dict(config), sort_keys=False))
    outputs.commit()
    summary = {}
    for name, (ids, note) in new.items():
        ids = np.asarray(ids)
        largest = float(np.bincount(ids).max() / len(ids)) if len(ids) else math.nan
        summary[name] = f"{len(np.unique(ids))} clusters, largest {largest:.1%}; {note}"
    return BuildResult(rows=len(result), columns=summary)
