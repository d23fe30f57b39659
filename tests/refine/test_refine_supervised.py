"""The supervised objective of refine, the held-out rows it never trains on, and the guard."""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import pytest
import torch

from infoclr.errors import ConfigError
from infoclr.evaluation.guard import guard_refinement
from infoclr.evaluation.selection import split_labelled
from infoclr.methods.simskip import SimSkip
from infoclr.refine import RefineConfig, fit_refiner
from infoclr.refine.fit import training_ids


def nuisance_rows(rows: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three classes in 4 dimensions, drowned by 12 dimensions of larger noise."""
    rng = np.random.default_rng(seed)
    labels = np.arange(rows) % 3
    means = rng.choice([-1.0, 1.0], size=(3, 4))
    informative = means[labels] + 0.5 * rng.normal(size=(rows, 4))
    noise = 3.0 * rng.normal(size=(rows, 12))
    return np.concatenate([informative, noise], 1).astype(np.float32), labels


def loop_partial_sup_con(z1: torch.Tensor, z2: torch.Tensor, labels: list[int], t: float) -> float:
    """SupCon L_out over 2B views, one anchor at a time; label −1 = only the own other view."""
    z = torch.nn.functional.normalize(torch.cat([z1, z2]).double(), dim=1)
    count = z1.shape[0]
    row = [i % count for i in range(2 * count)]
    total = 0.0
    for i in range(2 * count):
        logits = [float(z[i] @ z[a]) / t for a in range(2 * count) if a != i]
        log_denominator = math.log(sum(math.exp(v) for v in logits))
        positives = [
            p
            for p in range(2 * count)
            if p != i
            and (row[p] == row[i] or (labels[row[i]] >= 0 and labels[row[p]] == labels[row[i]]))
        ]
        total += -sum(float(z[i] @ z[p]) / t - log_denominator for p in positives) / len(positives)
    return total / (2 * count)


def test_the_supervised_loss_equals_a_loop_reference_with_labels_and_unknowns() -> None:
    torch.manual_seed(0)
    module = SimSkip(6, temperature=0.3, projection_dim=5)
    x = torch.randn(10, 6)
    labels = torch.tensor([0, 1, -1, 0, 2, -1, 1, -1, 0, 2])
    torch.manual_seed(1)
    loss = module.contrastive_loss(x, labels)
    torch.manual_seed(1)  # the same views and dropout
    view1, view2 = module.views.pair(x)
    z1, z2 = module.project(torch.cat([view1, view2])).chunk(2)
    reference = loop_partial_sup_con(z1.detach(), z2.detach(), labels.tolist(), 0.3)
    assert float(loss) == pytest.approx(reference, rel=1e-5)
    # Unknown labels are not a class of their own: −1 rows do not attract each other.
    torch.manual_seed(1)
    as_class = module.contrastive_loss(x, torch.where(labels < 0, 3, labels))
    assert abs(float(as_class) - float(loss)) > 1e-4


def test_training_ids_hide_the_held_out_rows_whatever_their_labels() -> None:
    labels = np.array([0, 1, -1, 2, 1, -1, 0])
    clusters = np.array([5, -1, 4, 0, -1, -1, 1])
    held = np.array([3, 6])
    ids = training_ids(labels, clusters, held)
    # Labels win; a row without one takes its cluster, shifted above every label (3 labels).
    np.testing.assert_array_equal(ids, [0, 1, 4 + 3, -1, 1, -1, -1])
    poisoned = labels.copy()
    poisoned[held] = 2
    poisoned_clusters = clusters.copy()
    poisoned_clusters[held] = 9
    np.testing.assert_array_equal(training_ids(poisoned, poisoned_clusters, held), ids)
    np.testing.assert_array_equal(training_ids(None, clusters, held), [5, -1, 4, -1, -1, -1, -1])


def _run(
    vectors: np.ndarray, labels: np.ndarray, config: RefineConfig, batches: list | None = None
) -> tuple[Any, list[dict[str, torch.Tensor]]]:
    states: list[dict[str, torch.Tensor]] = []

    def keep(epoch: int, scores: Any, module: SimSkip) -> None:
        states.append(copy.deepcopy(module.state_dict()))

    result = fit_refiner(vectors, config, labels, labels, on_epoch=keep)
    return result, states


def test_held_out_labels_never_reach_the_training(monkeypatch: pytest.MonkeyPatch) -> None:
    """A mutant check: the val and test rows' labels (and clusters) turned into another class
    leave training bit for bit the same, and their rows never appear in a batch."""
    import infoclr.evaluation.selection as selection

    vectors, labels = nuisance_rows(200)
    config = RefineConfig(epochs=2, batch_size=40, lr=1e-2, select_by="knn", test_fraction=0.25)
    split = split_labelled(labels, config.val_fraction, config.test_fraction, config.split_seed)
    # The split itself is a function of all labels; fix it so that only training can differ.
    monkeypatch.setattr(selection, "split_labelled", lambda *args, **kwargs: split)
    seen: list[tuple[torch.Tensor, torch.Tensor | None]] = []
    real_loss = SimSkip.contrastive_loss

    def recording(self: SimSkip, x: torch.Tensor, ids: Any = None) -> torch.Tensor:
        seen.append((x.clone(), None if ids is None else ids.clone()))
        return real_loss(self, x, ids)

    monkeypatch.setattr(SimSkip, "contrastive_loss", recording)
    clean, clean_states = _run(vectors, labels, config)
    held = np.concatenate([split.val, split.test])
    poisoned = labels.copy()
    poisoned[held] = (labels[held] + 1) % 3
    mutant, mutant_states = _run(vectors, poisoned, config)
    assert clean.objective == mutant.objective == "supervised"
    assert clean.epochs.losses == mutant.epochs.losses
    for before, after in zip(clean_states, mutant_states, strict=True):
        for key, value in before.items():
            assert torch.equal(after[key], value), key
    trained = torch.cat([x for x, _ in seen])
    held_rows = torch.from_numpy(vectors[held])
    assert not (trained[:, None, :] == held_rows[None, :, :]).all(-1).any()
    assert clean.trained_rows == len(vectors) - len(held)
    # Each batch's ids are the labels of its rows.
    index = {row.tobytes(): i for i, row in enumerate(vectors)}
    for x, ids in seen:
        rows = [index[r.numpy().tobytes()] for r in x]
        np.testing.assert_array_equal(ids.numpy(), labels[rows])


def test_simskip_keeps_the_unsupervised_loss_and_supervised_needs_labels(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    vectors, labels = nuisance_rows(120)
    calls: list[Any] = []
    real_loss = SimSkip.contrastive_loss

    def recording(self: SimSkip, x: torch.Tensor, ids: Any = None) -> torch.Tensor:
        calls.append(ids)
        return real_loss(self, x, ids)

    monkeypatch.setattr(SimSkip, "contrastive_loss", recording)
    config = RefineConfig(epochs=1, batch_size=30, objective="simskip")
    result = fit_refiner(vectors, config, label_codes=labels)
    assert result.objective == "simskip" and calls and all(ids is None for ids in calls)
    assert result.trained_rows == 120 - len(result.split.val) - len(result.split.test)
    with pytest.raises(ConfigError, match="objective 'supervised' needs labels or clusters"):
        fit_refiner(vectors, RefineConfig(epochs=1, batch_size=30, objective="supervised"))
    assert fit_refiner(vectors, RefineConfig(epochs=1, batch_size=30)).objective == "simskip"


def test_the_guard_refuses_noise_and_accepts_a_clearly_better_refiner() -> None:
    vectors, labels = nuisance_rows(600)
    split = split_labelled(labels, 0.2, 0.3, seed=0)
    rng = np.random.default_rng(1)

    def noisy(rows: np.ndarray) -> np.ndarray:
        return rows + 0.05 * rng.normal(size=rows.shape).astype(np.float32)

    def better(rows: np.ndarray) -> np.ndarray:
        out = rows.copy()
        out[:, 4:] *= 0.05  # what a refiner that learned the nuisance could do
        return out

    refused = guard_refinement(vectors, noisy, labels, split)
    assert not refused.accepted and refused.reason.startswith("kept the input")
    assert refused.primary.rows == len(split.test)
    accepted = guard_refinement(vectors, better, labels, split)
    assert accepted.accepted, accepted.reason
    assert accepted.primary.gain > 0.1 and accepted.primary.lower > 0
    knn = next(gain for gain in accepted.protected if gain.metric == "knn_top1")
    assert knn.after > knn.before + 0.1


@pytest.mark.parametrize("skip", [True, False])
def test_a_refused_candidate_leaves_the_input_bit_for_bit(skip: bool) -> None:
    vectors, labels = nuisance_rows(300)
    # A huge guard margin: no candidate can pass it.
    config = RefineConfig(epochs=4, batch_size=50, lr=1e-2, select_by="knn", guard_z=1e6, skip=skip)
    result = fit_refiner(vectors, config, label_codes=labels)
    # Selection wanted a trained epoch (or, without skip, epoch 0 is no input either).
    assert result.selection.chosen_epoch > 0 or not skip
    assert result.guard is not None and not result.guard.accepted
    assert result.kept == "input" and result.identity
    np.testing.assert_array_equal(result.refine(vectors), vectors)
    np.testing.assert_array_equal(result.output_refiner.refine_rows(vectors), vectors)
