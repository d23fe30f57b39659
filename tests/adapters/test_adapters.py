"""Refinement with side information: gains where the labels/pairs carry signal, the input kept
where they do not, and held-out rows never trained on."""

from __future__ import annotations

import numpy as np
import pytest

from infoclr.adapters import AdapterConfig, fit_labelled, fit_pairs
from infoclr.data.pairs import Pairs
from infoclr.errors import ConfigError, DataError

FAST = dict(epochs=12, batch_size=64, eval_every=3, threads=1, lr=3e-3)


def hidden_signal(rows: int = 600, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """3 classes told apart by 2 weak dimensions under 14 loud noise dimensions: cosine k-NN
    is poor on the input, and a learned reweighting fixes it."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(3, size=rows)
    signal = np.array([[1.0, 0.0], [-0.5, 0.87], [-0.5, -0.87]])[labels]
    noise = rng.normal(size=(rows, 14)) * 1.5
    x = np.hstack([signal + 0.1 * rng.normal(size=(rows, 2)), noise]).astype(np.float32)
    return x, labels


def test_supervised_refinement_gains_and_is_accepted() -> None:
    x, labels = hidden_signal()
    result = fit_labelled(x, labels, AdapterConfig(**FAST))
    assert result.chosen_epoch > 0 and result.accepted, result.reason
    assert result.decision is not None and result.decision.primary.lower > 0
    assert not np.allclose(result.refine(x), x)
    # The held-out rows were never trained on.
    trained = set(result.split["trained"].tolist())
    assert not trained & set(result.split["select"].tolist())
    assert not trained & set(result.split["guard"].tolist())
    assert len(trained) == len(x) - len(result.split["select"]) - len(result.split["guard"])


def test_labels_without_signal_keep_the_input() -> None:
    x, _ = hidden_signal()
    random_labels = np.random.default_rng(5).integers(3, size=len(x))
    result = fit_labelled(x, random_labels, AdapterConfig(**FAST))
    assert not result.accepted
    np.testing.assert_array_equal(result.refine(x), x)
    assert "kept the input" in result.reason


def test_simskip_objective_ignores_labels_for_training() -> None:
    x, labels = hidden_signal(300)
    partly = np.where(np.arange(300) % 10 == 0, labels, -1)
    config = AdapterConfig(objective="simskip", **FAST | {"epochs": 2})
    result = fit_labelled(x, partly, config)
    assert result.candidates[0]["epoch"] == 0 and len(result.epochs.losses) == 2
    with pytest.raises(DataError, match="one per row"):
        fit_labelled(x, labels[:-1], config)
    with pytest.raises(DataError, match="needs labels"):
        fit_labelled(x, None, config)


def test_split_with_few_labels_per_class() -> None:
    from infoclr.evaluation.selection import split_labelled  # the split fit_labelled uses

    codes = np.full(400, -1)
    codes[:40] = np.r_[np.zeros(3), np.ones(3), np.full(3, 2), np.full(31, 3)]
    split = split_labelled(codes, 0.2, 0.2, seed=0, max_rows=1000)
    parts = [split.fit, split.val, split.test]
    assert sum(len(p) for p in parts) == 40 and len(np.unique(np.concatenate(parts))) == 40
    assert (codes[np.concatenate(parts)] >= 0).all()


def loud_dimensions(rows: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Documents, and queries whose first 4 dimensions are loud nuisance: raw cosine retrieval
    of a query's own document is poor; shrinking those dimensions fixes it."""
    rng = np.random.default_rng(seed)
    documents = rng.normal(size=(rows, 16)).astype(np.float32)
    queries = documents + 0.3 * rng.normal(size=documents.shape)
    queries[:, :4] = 4.0 * rng.normal(size=(rows, 4))
    return queries.astype(np.float32), documents


@pytest.mark.parametrize("query_only", [True, False])
def test_pairs_refinement_gains(query_only: bool) -> None:
    queries, documents = loud_dimensions()
    rows = np.arange(len(queries))
    pairs = Pairs(rows, rows, np.full(len(rows), -1))
    config = AdapterConfig(objective="pairs", query_only=query_only, **FAST)
    result = fit_pairs(queries, documents, pairs, config)
    assert result.accepted, result.reason
    assert result.decision is not None and result.decision.primary.metric == "mrr"
    refined_documents = result.refine_documents(documents)
    if query_only:
        np.testing.assert_array_equal(refined_documents, documents)
    trained = set(result.split["train"].tolist())
    assert not trained & set(result.split["guard"].tolist())


def test_config_checks() -> None:
    with pytest.raises(ConfigError, match="must be below 1"):
        AdapterConfig(select_fraction=0.5, guard_fraction=0.5).validate()
    with pytest.raises(ConfigError, match="batch_size must be >= 2"):
        AdapterConfig(batch_size=1).validate()


def test_heldout_scores_and_hidden_labels() -> None:
    from infoclr.adapters.evaluate import heldout_probe_scores, hide_labels
    from infoclr.evaluation.probes import probe_correctness

    x, labels = hidden_signal(800)
    hidden = hide_labels(labels[:600], 0.1, seed=0)
    assert set(np.unique(hidden)) == {-1, 0, 1, 2}
    assert 30 < (hidden >= 0).sum() < 100
    assert (hidden[hidden >= 0] == labels[:600][hidden >= 0]).all()
    result = fit_labelled(x[:600], labels[:600], AdapterConfig(**FAST))
    scores = heldout_probe_scores(result, x[:600], labels[:600], x[600:], labels[600:])
    raw = probe_correctness(x[:600], labels[:600], x[600:], labels[600:])
    assert scores["input"]["knn_top1"] == pytest.approx(raw["knn_top1"].mean())
    assert scores["output"] == scores["chosen"]  # accepted: the output is the chosen epoch
    assert scores["output"]["knn_top1"] > scores["input"]["knn_top1"] + 0.1


def test_view_options() -> None:
    import torch

    from infoclr.adapters.engine import VectorAdapter

    x = torch.randn(200, 6) + 3.0
    mean, std = np.full(6, 3.0), np.full(6, 2.0)
    zero = VectorAdapter(
        6, mean, std, AdapterConfig(mask_prob=0.5, noise_std=0.0, mask_value="zero")
    )
    view, _ = zero.view_pair(x)
    assert ((view == 0) | (view == x)).all() and (view == 0).any()
    split = AdapterConfig(mask_prob=0.5, noise_std=0.1, augment="one_per_view", noise_scale="fixed")
    first, second = VectorAdapter(6, mean, std, split).view_pair(x)
    assert ((first == 3.0) | (first == x)).all()  # masked to the mean, no noise
    assert (second != x).all()  # noised everywhere, never masked
    assert float((second - x).std()) == pytest.approx(0.1, rel=0.1)  # fixed δ, not δ·std
    raw = VectorAdapter(6, mean, std, AdapterConfig(standardize=False))
    assert float(raw.refiner.feature_std[0]) == 1.0 and float(raw.refiner.feature_mean[0]) == 0.0


def test_objective_defaults_follow_the_objective() -> None:
    assert AdapterConfig(objective="simskip").views() == ("zero", "fixed", False)
    assert AdapterConfig().views() == ("mean", "per_dim", True)
    explicit = AdapterConfig(objective="simskip", mask_value="mean", standardize=True)
    assert explicit.views() == ("mean", "fixed", True)
    # Weight decay: 0.05 for the supervised objective unless set, 0 for the others.
    from infoclr.refine import RefineConfig

    assert AdapterConfig(objective="supervised").resolved_weight_decay() == 0.05
    assert AdapterConfig(objective="simskip").resolved_weight_decay() == 0.0
    assert AdapterConfig(objective="pairs").resolved_weight_decay() == 0.0
    assert AdapterConfig(objective="supervised", weight_decay=0.0).resolved_weight_decay() == 0.0
    assert RefineConfig().simskip_options("supervised")["weight_decay"] == 0.05
    assert RefineConfig(weight_decay=0.2).simskip_options("supervised")["weight_decay"] == 0.2
    assert RefineConfig().simskip_options("simskip")["weight_decay"] == 0.0


def test_fit_labelled_runs_on_the_refine_engine() -> None:
    """One engine: fit_labelled is fit_refiner with the adapter settings, epoch for epoch."""
    from infoclr.adapters.labelled import _refine_config
    from infoclr.refine import fit_refiner

    x, labels = hidden_signal(300)
    config = AdapterConfig(**FAST | {"epochs": 2, "eval_every": 1})
    adapter = fit_labelled(x, labels, config)
    refine = fit_refiner(x, _refine_config(config, 5000), labels)
    assert adapter.epochs.losses == refine.epochs.losses
    assert [c["epoch"] for c in adapter.candidates] == [0, 1, 2]
    assert adapter.candidates[1]["score"] == refine.selection.candidates[1]["mean_top1"]
    assert (adapter.decision is None) == (refine.guard is None)
    last = adapter.refine(x, "last")
    assert last.shape == x.shape and len(adapter.epochs.cpu_seconds) == 2
