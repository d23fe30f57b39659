"""One LightningModule per method, and the registry that builds them from a config.

A builder takes the resolved :class:`~infoclr.pretrain.PretrainConfig` and the assembled
:class:`MethodParts` and returns the module. New methods register with :func:`register_method`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from torch import nn

from infoclr.errors import ConfigError, DataError, InfoclrWarning
from infoclr.methods.base import LARS, ContrastiveMethod, OptimConfig
from infoclr.methods.clinfonce import ClInfoNCE, ClusterCrossEntropy
from infoclr.methods.simclr import SimCLR
from infoclr.methods.supcon import SupCon


@dataclass
class MethodParts:
    """What every builder receives besides the config."""

    backbone: nn.Module
    views: nn.Module
    optim: OptimConfig
    num_samples: int
    labels: np.ndarray | None
    aux: dict[str, np.ndarray]
    image_size: int
    channels: int


MethodBuilder = Callable[[Any, MethodParts], ContrastiveMethod]
METHODS: dict[str, MethodBuilder] = {}


def register_method(name: str) -> Callable[[MethodBuilder], MethodBuilder]:
    def add(builder: MethodBuilder) -> MethodBuilder:
        METHODS[name] = builder
        return builder

    return add


def available_methods() -> list[str]:
    _load_optional_methods()
    return sorted(METHODS)


def build_method(config: Any, parts: MethodParts) -> ContrastiveMethod:
    _load_optional_methods()
    if config.method not in METHODS:
        raise ConfigError(
            f"unknown method {config.method!r}; choose one of: {', '.join(sorted(METHODS))}"
        )
    return METHODS[config.method](config, parts)


def _load_optional_methods() -> None:
    # Methods in their own modules register themselves on import.
    import importlib

    for module in ("infoclr.methods.mrcl", "infoclr.methods.superinfo"):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as err:
            if err.name != module:
                raise


def _common(config: Any, parts: MethodParts) -> dict[str, Any]:
    return dict(
        backbone=parts.backbone,
        views=parts.views,
        optim=parts.optim,
        projection_dim=config.projection_dim,
        projection_hidden=config.projection_hidden,
        channels_last=config.resolved_channels_last(parts.image_size),
    )


def _distinct_binary_columns(aux: dict[str, np.ndarray]) -> list[str]:
    """The 0/1 columns of ``aux`` that vary, in name order, without repeats: a column equal to
    an earlier one, or to its complement, splits the rows the same way and would only waste a
    bit of the top-k code (shapes' ``shape_group`` is ``has_corners`` again)."""
    kept: list[str] = []
    seen: set[bytes] = set()
    for name in sorted(aux):
        values = np.asarray(aux[name])
        if set(np.unique(values).tolist()) != {0, 1}:
            continue  # not binary, or constant (a constant column carries no information)
        bits = values.astype(bool)
        if bits[0]:
            bits = ~bits  # one key for a column and its complement
        key = np.packbits(bits).tobytes() + len(bits).to_bytes(8, "little")
        if key not in seen:
            seen.add(key)
            kept.append(name)
    return kept


def aux_clusters(config: Any, parts: MethodParts) -> np.ndarray:
    """Cluster ids 0..K−1 from the data set's auxiliary columns.

    Either ``config.cluster_column`` (one column, used as is), or ``config.cluster_attributes``
    (binary columns, or ``["binary"]`` for every 0/1 column) with ``config.cluster_top_k``:
    Cl-InfoNCE's top-k-by-entropy attribute combination (METHODS.md §1).
    """
    column = config.cluster_column
    attributes = config.cluster_attributes
    if column is None and attributes is None:
        choices = ", ".join(sorted(parts.aux)) or "none in this data set"
        raise ConfigError(
            f"method {config.method!r} needs --cluster-column or cluster_attributes "
            f"(auxiliary columns: {choices}); or use clinfonce-kmeans"
        )
    if attributes is not None:
        from infoclr.clusters import fit_attribute_clusters

        if list(attributes) == ["binary"]:
            attributes = _distinct_binary_columns(parts.aux)
        missing = [name for name in attributes if name not in parts.aux]
        if missing:
            raise DataError(
                f"attribute column {missing[0]!r} is not in data set {config.dataset!r} "
                f"(auxiliary columns: {', '.join(sorted(parts.aux)) or 'none'})"
            )
        if config.cluster_top_k is None:
            raise ConfigError("cluster_attributes needs cluster_top_k (e.g. --set cluster_top_k=3)")
        import pandas as pd

        table = pd.DataFrame({name: np.asarray(parts.aux[name]) for name in attributes})
        fitted = fit_attribute_clusters(table, list(attributes), config.cluster_top_k)
        tie = fitted.near_tie(config.cluster_top_k)
        if tie is not None:
            warnings.warn(tie, InfoclrWarning, stacklevel=2)
        return np.asarray(fitted.cluster_ids[config.cluster_top_k], dtype=np.int64)
    if column not in parts.aux:
        choices = ", ".join(sorted(parts.aux)) or "none"
        raise DataError(
            f"cluster column {column!r} is not in data set {config.dataset!r} "
            f"(auxiliary columns: {choices})"
        )
    values = np.asarray(parts.aux[column])
    _, ids = np.unique(values, return_inverse=True)
    return ids.astype(np.int64)


@register_method("simclr")
def _simclr(config: Any, parts: MethodParts) -> ContrastiveMethod:
    return SimCLR(
        temperature=config.resolved_temperature(),
        chunk_size=config.chunk_size,
        **_common(config, parts),
    )


@register_method("supcon")
def _supcon(config: Any, parts: MethodParts) -> ContrastiveMethod:
    if parts.labels is None or bool((np.asarray(parts.labels) < 0).any()):
        raise DataError(
            f"supcon needs labels and data set {config.dataset!r} has none; use simclr or clinfonce"
        )
    return SupCon(
        temperature=config.resolved_temperature(),
        base_temperature=config.base_temperature,
        chunk_size=config.chunk_size,
        **_common(config, parts),
    )


@register_method("clinfonce")
def _clinfonce(config: Any, parts: MethodParts) -> ContrastiveMethod:
    return ClInfoNCE(
        temperature=config.resolved_temperature(),
        form=config.loss_form,
        base_temperature=config.base_temperature,
        chunk_size=config.chunk_size,
        cluster_ids=aux_clusters(config, parts),
        **_common(config, parts),
    )


@register_method("clinfonce-kmeans")
def _clinfonce_kmeans(config: Any, parts: MethodParts) -> ContrastiveMethod:
    return ClInfoNCE(
        temperature=config.resolved_temperature(),
        form=config.loss_form,
        base_temperature=config.base_temperature,
        chunk_size=config.chunk_size,
        num_samples=parts.num_samples,
        **_common(config, parts),
    )


@register_method("ce-clusters")
def _ce_clusters(config: Any, parts: MethodParts) -> ContrastiveMethod:
    ids = aux_clusters(config, parts)
    return ClusterCrossEntropy(
        cluster_ids=ids, num_clusters=int(ids.max()) + 1, **_common(config, parts)
    )


__all__ = [
    "LARS",
    "METHODS",
    "ClInfoNCE",
    "ClusterCrossEntropy",
    "ContrastiveMethod",
    "MethodParts",
    "OptimConfig",
    "SimCLR",
    "SupCon",
    "available_methods",
    "build_method",
    "register_method",
]
