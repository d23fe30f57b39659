"""Clusters from a class hierarchy: each class goes to its ancestor at a chosen level.

Tsai et al. (arXiv 2106.02869) cluster ImageNet-100 by WordNet: level ℓ of the hierarchy is one
cluster column. Here a hierarchy is a forest of named nodes given either as child -> parent links
or as one root-first path per class (``"animal/bird/sparrow"``).

Levels count from the root: level 0 is a class's root-most ancestor, level 1 the node below it on
the class's path, and so on. A class whose path is shorter than the level asked for keeps its own
deepest node, i.e. the class itself (so with an uneven tree, high levels mix coarse and fine
clusters, as the paper's WordNet levels do). Cluster ids number the ancestor names in sorted
(string) order, ``0..K-1``.

Node names are strings; class values from a table are turned into strings the same way
(``7`` and ``7.0`` both become ``"7"``) so that an integer class column matches a text file.

Files (:func:`load_hierarchy`):

- CSV/TSV with a header and two columns, ``child,parent`` (an empty parent marks a root), or one
  column of paths;
- JSON/YAML: an object ``{child: parent-or-null}``, or a list of paths (strings or lists);
- ``.txt``: one path per line (blank lines and ``#`` comments skipped).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from infoclr.errors import ConfigError, DataError

_MAX_LISTED = 5


def node_name(value: Any) -> str:
    """The node name of a class value: stripped text, integral numbers without ``.0``."""
    if isinstance(value, (bool, np.bool_)):
        return str(value)
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value).strip()


def _is_root_marker(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and np.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def _split_path(path: str | Sequence[Any], separator: str) -> list[str]:
    pieces = path.split(separator) if isinstance(path, str) else list(path)
    nodes = [node_name(piece) for piece in pieces]
    nodes = [node for node in nodes if node]
    if not nodes:
        raise DataError(f"hierarchy path {path!r} has no node names; write e.g. 'animal/bird'")
    return nodes


class Hierarchy:
    """A forest of named nodes defined by child -> parent links, checked for cycles.

    Args:
        parents: child -> parent; a parent of ``None``/``""``/NaN marks a root. Nodes that only
            appear as parents are roots.

    Raises:
        DataError: the links contain a cycle (the message shows it).
    """

    def __init__(self, parents: Mapping[Any, Any]) -> None:
        links: dict[str, str | None] = {}
        for child, parent in parents.items():
            child_name = node_name(child)
            if not child_name:
                raise DataError("hierarchy has an empty child name; every node needs a name")
            links[child_name] = None if _is_root_marker(parent) else node_name(parent)
        for parent in list(links.values()):
            if parent is not None and parent not in links:
                links[parent] = None
        self._parents = links
        self._paths: dict[str, tuple[str, ...]] = {}
        for node in links:
            self._paths[node] = self._walk_to_root(node)

    def _walk_to_root(self, node: str) -> tuple[str, ...]:
        chain = [node]
        seen = {node}
        current = node
        while True:
            if current in self._paths:
                return self._paths[current][:-1] + tuple(reversed(chain))
            parent = self._parents[current]
            if parent is None:
                return tuple(reversed(chain))
            if parent in seen:
                cycle = chain[chain.index(parent) :] + [parent]
                raise DataError(
                    f"hierarchy has a cycle: {' -> '.join(cycle)}; every chain of parents must "
                    "end at a root"
                )
            seen.add(parent)
            chain.append(parent)
            current = parent

    @classmethod
    def from_paths(
        cls,
        paths: Iterable[str | Sequence[Any]] | Mapping[Any, str | Sequence[Any]],
        separator: str = "/",
    ) -> Hierarchy:
        """Build a hierarchy from root-first paths.

        Args:
            paths: either paths whose last node is the class (``["animal/bird/sparrow"]``), or a
                mapping class -> path of its ancestors, root first, with the class itself
                optionally last (``{"12": "animal/bird/sparrow"}`` makes ``"12"`` a child of
                ``"sparrow"``).
            separator: splits string paths.

        Raises:
            DataError: a node is given two different parents, or a path is empty.
        """
        if not separator:
            raise ConfigError("the path separator is empty; use e.g. '/'")
        chains: list[list[str]] = []
        if isinstance(paths, Mapping):
            for leaf, path in paths.items():
                chain = _split_path(path, separator)
                if chain[-1] != node_name(leaf):
                    chain.append(node_name(leaf))
                chains.append(chain)
        else:
            chains = [_split_path(path, separator) for path in paths]
        parents: dict[str, str | None] = {}
        for chain in chains:
            for depth, node in enumerate(chain):
                parent = chain[depth - 1] if depth else None
                _add_link(parents, node, parent)
        return cls(parents)

    @property
    def nodes(self) -> frozenset[str]:
        """Every node name, classes and ancestors."""
        return frozenset(self._parents)

    def parent(self, node: Any) -> str | None:
        """The parent of ``node``, or ``None`` for a root."""
        return self._parents[self._known(node)]

    def path(self, node: Any) -> tuple[str, ...]:
        """Root-first path of ``node``, ending with ``node`` itself."""
        return self._paths[self._known(node)]

    def depth(self, node: Any) -> int:
        """Number of edges from ``node`` to its root (a root has depth 0)."""
        return len(self.path(node)) - 1

    def ancestor(self, node: Any, level: int) -> str:
        """The ancestor of ``node`` at ``level`` (0 = root), or ``node`` if it is shallower."""
        if isinstance(level, bool) or not isinstance(level, (int, np.integer)) or level < 0:
            raise ConfigError(f"hierarchy level must be an integer >= 0, got {level!r}")
        path = self.path(node)
        return path[min(int(level), len(path) - 1)]

    def _known(self, node: Any) -> str:
        name = node_name(node)
        if name not in self._parents:
            raise DataError(f"class {name!r} is not in the hierarchy; add it to the hierarchy file")
        return name

    def __len__(self) -> int:
        return len(self._parents)

    def __repr__(self) -> str:
        roots = sum(parent is None for parent in self._parents.values())
        return f"Hierarchy({len(self)} nodes, {roots} root(s))"


def _add_link(parents: dict[str, str | None], child: str, parent: str | None) -> None:
    if child in parents and parents[child] != parent:
        raise DataError(
            f"hierarchy node {child!r} has two parents, {parents[child]!r} and {parent!r}; "
            "each node needs exactly one (rename one of the nodes)"
        )
    parents[child] = parent


def _parents_from_pairs(pairs: Iterable[tuple[Any, Any]], source: str) -> dict[str, str | None]:
    parents: dict[str, str | None] = {}
    for row, (child, parent) in enumerate(pairs, start=1):
        if _is_root_marker(child):
            raise DataError(f"{source}: row {row} has an empty child; every row needs a child node")
        _add_link(parents, node_name(child), None if _is_root_marker(parent) else node_name(parent))
    return parents


def load_hierarchy(path: str | os.PathLike[str], separator: str = "/") -> Hierarchy:
    """Read a hierarchy file (CSV/TSV, JSON, YAML or text; see the module docstring).

    Raises:
        DataError: missing or malformed file, a node with two parents, or a cycle.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"hierarchy file {path} does not exist; check the path")
    suffix = path.suffix.lower()
    try:
        if suffix in (".csv", ".tsv", ".tab"):
            table = pd.read_csv(
                path, sep="," if suffix == ".csv" else "\t", dtype=str, keep_default_na=False
            )
            if table.shape[1] == 2:
                pairs = table.itertuples(index=False, name=None)
                return Hierarchy(_parents_from_pairs(pairs, str(path)))
            if table.shape[1] == 1:
                return Hierarchy.from_paths(table.iloc[:, 0].tolist(), separator)
            raise DataError(
                f"{path} has {table.shape[1]} columns; a hierarchy CSV has two (child,parent) "
                "or one (paths)"
            )
        if suffix in (".json", ".yaml", ".yml"):
            with path.open(encoding="utf-8") as handle:
                content = json.load(handle) if suffix == ".json" else yaml.safe_load(handle)
            if isinstance(content, Mapping):
                if any(isinstance(parent, (list, dict)) for parent in content.values()):
                    raise DataError(
                        f"{path}: an object must map each child to one parent name (or null)"
                    )
                return Hierarchy(_parents_from_pairs(content.items(), str(path)))
            if isinstance(content, list):
                return Hierarchy.from_paths(content, separator)
            raise DataError(
                f"{path} must hold an object {{child: parent}} or a list of paths, "
                f"not {type(content).__name__}"
            )
        if suffix == ".txt":
            lines = path.read_text(encoding="utf-8").splitlines()
            paths = [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
            return Hierarchy.from_paths(paths, separator)
    except pd.errors.EmptyDataError:
        raise DataError(f"hierarchy file {path} is empty") from None
    except (json.JSONDecodeError, yaml.YAMLError, pd.errors.ParserError, UnicodeDecodeError) as err:
        reason = " ".join(str(err).split())
        raise DataError(f"cannot parse hierarchy file {path}: {reason}") from None
    raise DataError(
        f"hierarchy file {path} has unsupported extension {suffix!r}; "
        "use .csv, .tsv, .json, .yaml or .txt"
    )


@dataclass(frozen=True)
class HierarchyClusters:
    """Clusters of one hierarchy level.

    Attributes:
        level: the level ℓ (0 = root-most).
        cluster_ids: ``(N,)`` int64 id of each row's ancestor at ``level``.
        cluster_names: ``(K,)`` the ancestor name of each id, sorted.
    """

    level: int
    cluster_ids: np.ndarray
    cluster_names: tuple[str, ...]


def hierarchy_clusters(
    classes: Iterable[Any], hierarchy: Hierarchy, level: int
) -> HierarchyClusters:
    """Map every row's class to its ancestor at ``level`` and number the ancestors.

    Args:
        classes: ``(N,)`` class of each row (ints or strings; see :func:`node_name`).
        hierarchy: the class hierarchy.
        level: 0 = root-most; classes shallower than ``level`` keep themselves.

    Raises:
        DataError: a class is not in the hierarchy (the message lists some), or missing values.
        ConfigError: negative level.
    """
    if isinstance(level, bool) or not isinstance(level, (int, np.integer)) or level < 0:
        raise ConfigError(f"hierarchy level must be an integer >= 0, got {level!r}")
    values = pd.Series(list(classes), dtype=object)
    missing = np.flatnonzero(values.isna().to_numpy()) + 1
    if len(missing):
        rows = ", ".join(map(str, missing[:_MAX_LISTED]))
        raise DataError(f"class values are missing at row(s) {rows}; fill or drop those rows")
    names = np.array([node_name(value) for value in values], dtype=object)
    unique_names = sorted(set(names))
    unknown = [name for name in unique_names if name not in hierarchy.nodes]
    if unknown:
        shown = ", ".join(repr(name) for name in unknown[:_MAX_LISTED])
        more = f" and {len(unknown) - _MAX_LISTED} more" if len(unknown) > _MAX_LISTED else ""
        raise DataError(
            f"{len(unknown)} class(es) are not in the hierarchy: {shown}{more}; add them to the "
            "hierarchy file"
        )
    ancestor_of = {name: hierarchy.ancestor(name, level) for name in unique_names}
    cluster_names = tuple(sorted(set(ancestor_of.values())))
    id_of = {name: index for index, name in enumerate(cluster_names)}
    cluster_ids = np.array([id_of[ancestor_of[name]] for name in names], dtype=np.int64)
    return HierarchyClusters(level=int(level), cluster_ids=cluster_ids, cluster_names=cluster_names)
