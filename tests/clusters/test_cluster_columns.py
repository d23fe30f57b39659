"""``check_cluster_columns(...).cluster_ids``: the cluster ids that clinfonce and ce-clusters
train on."""

from __future__ import annotations

import numpy as np
import pytest

from infoclr.clusters.columns import check_cluster_columns
from infoclr.errors import DataError, InfoclrWarning


def aux_clusters(config: dict, aux: dict[str, np.ndarray]) -> np.ndarray:
    source = check_cluster_columns(
        aux,
        config.get("cluster_column"),
        config.get("cluster_attributes"),
        config.get("cluster_top_k"),
        "csv",
    )
    return source.cluster_ids(aux)


def _parts(aux: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return aux


def _config(**overrides) -> dict:
    return overrides


def test_top_k_attributes_warn_on_a_near_tie_and_name_the_attributes() -> None:
    index = np.arange(1000)
    aux = {
        "is_warm": (index % 2).astype(int),  # exactly 1 bit
        "has_corners": (index < 480).astype(int),  # 0.9988 bits
        "is_left": (index < 200).astype(int),  # 0.7219 bits
    }
    with pytest.warns(InfoclrWarning, match="top-1 cut: is_warm .* has_corners"):
        ids = aux_clusters(_config(cluster_attributes=["binary"], cluster_top_k=1), _parts(aux))
    assert np.array_equal(ids, aux["is_warm"])
    ids = aux_clusters(
        _config(cluster_attributes=["is_warm", "has_corners", "is_left"], cluster_top_k=2),
        _parts(aux),
    )
    assert len(np.unique(ids)) == 4  # no warning needed: 0.9988 vs 0.7219 bits


def test_a_cluster_column_is_renumbered() -> None:
    aux = {"group": np.array(["b", "a", "b", "c"])}
    ids = aux_clusters(_config(cluster_column="group"), _parts(aux))
    assert ids.tolist() == [1, 0, 1, 2]


def test_binary_keeps_each_distinct_split_once() -> None:
    aux = {
        "a": np.array([0, 1, 1, 0]),
        "a_copy": np.array([0, 1, 1, 0]),
        "not_a": np.array([1, 0, 0, 1]),  # the same split, complemented
        "b": np.array([0, 0, 1, 1]),
        "constant": np.array([1, 1, 1, 1]),
        "colour": np.array([0, 1, 2, 0]),  # not binary
    }
    config = _config(cluster_attributes=["binary"], cluster_top_k=2)
    ids = aux_clusters(config, _parts(aux))
    # a and b are kept (4 patterns); with a_copy or not_a among the top 2 there would be only 2.
    assert len(np.unique(ids)) == 4
    explicit = _config(cluster_attributes=["a", "b"], cluster_top_k=2)
    assert np.array_equal(ids, aux_clusters(explicit, _parts(aux)))


def test_a_missing_column_names_the_option_that_adds_it() -> None:
    with pytest.raises(DataError, match="data_options.attribute_columns"):
        aux_clusters(_config(cluster_column="order"), {})
