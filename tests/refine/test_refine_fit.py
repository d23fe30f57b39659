"""Training from memory-mapped rows, label splits, selection criteria and checkpoints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from infoclr.errors import ConfigError, DataError
from infoclr.refine.checkpoint import load_refiner, save_refiner
from infoclr.refine.fit import MemmapBatches, RefineConfig, fit_refiner
from infoclr.refine.io import scan_embeddings
from infoclr.refine.select import (
    Selection,
    encode_values,
    kmeans_nmi_restarts,
    kmeans_stability,
    split_labelled,
)


def nuisance_data(
    rows: int = 300, seed: int = 0, classes: int = 3, signal: int = 4, nuisance: int = 28
) -> tuple[np.ndarray, np.ndarray]:
    """Classes separated in a few dimensions, drowned by many pure-noise dimensions.

    Cosine k-NN on the raw rows is dominated by the noise dimensions; a refiner that learns
    which dimensions carry the classes helps it a lot.
    """
    rng = np.random.default_rng(seed)
    labels = np.arange(rows) % classes
    means = rng.choice([-1.0, 1.0], size=(classes, signal))
    informative = means[labels] + rng.normal(size=(rows, signal))
    noise = rng.normal(size=(rows, nuisance))
    return np.concatenate([informative, noise], axis=1).astype(np.float32), labels


class RecordingRows:
    """A read-only (N, D) array that records how many rows each read touches."""

    def __init__(self, array: np.ndarray) -> None:
        self.array = array
        self.shape = array.shape
        self.ndim = array.ndim
        self.dtype = array.dtype
        self.largest_read = 0

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, index: Any) -> np.ndarray:
        rows = self.array[index]
        self.largest_read = max(self.largest_read, rows.shape[0] if rows.ndim == 2 else 1)
        return rows


def test_memmap_batches_cover_each_epoch_without_repeats() -> None:
    vectors = np.arange(50 * 3, dtype=np.float32).reshape(50, 3)
    clusters = np.arange(50) * 10
    batches = MemmapBatches(vectors, batch_size=8, seed=0, cluster_ids=clusters)
    assert len(batches) == 6
    seen: list[int] = []
    for x, ids in batches:
        rows = (x[:, 0] / 3).long()
        assert torch.all(rows[1:] > rows[:-1])  # sorted reads
        assert torch.equal(ids, rows * 10)  # cluster ids travel with their rows
        seen.extend(rows.tolist())
    assert len(seen) == len(set(seen)) == 48
    first_epoch = sorted(seen)
    second_epoch = sorted(int(r) for x, _ in batches for r in (x[:, 0] / 3).long())
    assert first_epoch != second_epoch or len(first_epoch) == 50


@pytest.mark.parametrize("engine", ["lightning", "lean"])
def test_training_reads_a_memmap_batch_by_batch(tmp_path: Path, engine: str) -> None:
    vectors, labels = nuisance_data(600)
    np.save(tmp_path / "rows.npy", vectors)
    mapped = np.load(tmp_path / "rows.npy", mmap_mode="r")
    assert isinstance(mapped, np.memmap)
    recorder = RecordingRows(mapped)
    stats = scan_embeddings(recorder, chunk_rows=64)  # type: ignore[arg-type]
    config = RefineConfig(epochs=2, batch_size=64, eval_rows=100, lr=1e-2, engine=engine)
    steps: list[tuple[int, int]] = []
    result = fit_refiner(
        recorder,  # type: ignore[arg-type]
        config,
        stats=stats,
        on_step=lambda epoch, step, total, loss: steps.append((epoch, step)),
    )
    assert steps == [(e, s) for e in (1, 2) for s in range(1, 10)]  # 600 // 64 = 9 steps
    assert recorder.largest_read <= 100 < len(vectors)
    assert len(result.epoch_losses) == 2 and all(np.isfinite(result.epoch_losses))
    assert [c["epoch"] for c in result.selection.candidates] == [0, 1, 2]
    assert result.selection.metric == "kmeans_stability"
    refined = result.refine(mapped[:10])
    assert refined.shape == (10, vectors.shape[1]) and np.isfinite(refined).all()


def test_selection_keeps_the_input_when_training_is_destroyed() -> None:
    vectors, labels = nuisance_data(300, signal=12, nuisance=4)
    config = RefineConfig(epochs=3, batch_size=100, lr=30.0, select_by="knn")
    result = fit_refiner(vectors, config, label_codes=labels)
    scores = [c["knn_top1"] for c in result.selection.candidates]
    assert max(scores[1:]) < scores[0]  # the huge learning rate really did damage
    assert result.selection.chosen_epoch == 0
    assert "epoch 0 (the input itself)" in result.selection.reason
    # Epoch 0 of a skip refiner is the input, bit for bit.
    np.testing.assert_array_equal(result.refine(vectors), vectors)


def test_selection_picks_a_later_epoch_when_refinement_helps() -> None:
    # Auxiliary clusters (weak supervision, Cl-InfoNCE) tell the refiner which rows belong
    # together, which clearly helps here; plain SimSkip did not clearly help on this data.
    vectors, labels = nuisance_data(300)
    config = RefineConfig(epochs=10, batch_size=100, lr=1e-2, select_by="knn")
    result = fit_refiner(vectors, config, label_codes=labels, cluster_codes=labels)
    candidates = result.selection.candidates
    assert result.selection.chosen_epoch > 0
    chosen = next(c for c in candidates if c["epoch"] == result.selection.chosen_epoch)
    assert chosen["knn_top1"] >= candidates[0]["knn_top1"] + 0.05
    assert result.split is not None and len(result.split.test) > 0
    # And the gain holds on the test rows that selection never saw.
    from infoclr.refine.select import probe_scores

    train = np.concatenate([result.split.fit, result.split.val])
    test = result.split.test
    refined = result.refine(vectors)
    before = probe_scores(vectors[train], labels[train], vectors[test], labels[test], linear=False)
    after = probe_scores(refined[train], labels[train], refined[test], labels[test], linear=False)
    assert after["knn_top1"] > before["knn_top1"]


@pytest.mark.parametrize("engine", ["lightning", "lean"])
def test_divergence_stops_training_and_keeps_the_best_candidate(
    monkeypatch: pytest.MonkeyPatch, engine: str
) -> None:
    from infoclr.methods.simskip import SimSkip

    real_loss = SimSkip.contrastive_loss
    calls = {"n": 0}

    def loss_that_diverges(self: SimSkip, x: torch.Tensor, ids: Any = None) -> torch.Tensor:
        calls["n"] += 1
        loss = real_loss(self, x, ids)
        return loss * float("nan") if calls["n"] > 4 else loss  # epoch 1 = 4 steps

    monkeypatch.setattr(SimSkip, "contrastive_loss", loss_that_diverges)
    vectors, labels = nuisance_data(200)
    config = RefineConfig(epochs=5, batch_size=50, lr=1e-2, select_by="knn", engine=engine)
    result = fit_refiner(vectors, config, label_codes=labels)
    assert [c["epoch"] for c in result.selection.candidates] == [0, 1]
    assert len(result.epoch_losses) == 1
    assert result.selection.reason.startswith("training loss became nan at epoch 2 step 1")
    assert np.isfinite(result.refine(vectors)).all()


def test_split_is_stratified_disjoint_and_skips_unlabelled_rows() -> None:
    codes = np.repeat([0, 1, 2, 3], 50)
    codes[::7] = -1
    split = split_labelled(codes, 0.2, 0.2, seed=0)
    parts = [split.fit, split.val, split.test]
    union = np.concatenate(parts)
    assert len(union) == len(set(union.tolist())) == int((codes >= 0).sum())
    assert (codes[union] >= 0).all()
    assert split.stratified
    for part in parts:
        counts = np.bincount(codes[part], minlength=4)
        assert counts.max() - counts.min() <= 2
    small = split_labelled(codes, 0.2, 0.0, seed=1, max_rows=40)
    assert len(small.fit) + len(small.val) == 40 and len(small.test) == 0
    with pytest.raises(DataError, match="at least 10 labelled"):
        split_labelled(np.array([0, 1, -1, 0, 1]), 0.2, 0.2, 0)
    with pytest.raises(ConfigError):
        split_labelled(codes, 0.6, 0.5, 0)


def test_encode_values_merges_number_spellings_and_marks_missing() -> None:
    codes, classes = encode_values(np.array(["3", 3, None, "a", 3.0, "a"], dtype=object))
    assert classes == [3, "a"] or classes == ["3", "a"] or len(classes) == 2
    assert codes[0] == codes[1] == codes[4] and codes[3] == codes[5] != codes[0]
    assert codes[2] == -1


def test_kmeans_stability_rewards_cluster_structure() -> None:
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(4, 8)) * 5
    clustered = (centres[np.arange(400) % 4] + 0.1 * rng.normal(size=(400, 8))).astype(np.float32)
    noise = rng.normal(size=(400, 8)).astype(np.float32)
    halves = [rng.choice(400, 200, replace=False) for _ in range(4)]
    structured = kmeans_stability(clustered, 4, halves)
    unstructured = kmeans_stability(noise, 4, halves)
    assert structured > 0.95
    assert unstructured < structured - 0.2


def test_kmeans_nmi_with_restarts_finds_well_separated_classes() -> None:
    rng = np.random.default_rng(1)
    labels = np.arange(500) % 5
    centres = rng.normal(size=(5, 6)) * 4
    features = (centres[labels] + 0.2 * rng.normal(size=(500, 6))).astype(np.float32)
    for seed in range(3):
        assert kmeans_nmi_restarts(features, labels, 5, seed=seed) == pytest.approx(1.0)
    shuffled = rng.permutation(labels)
    assert kmeans_nmi_restarts(features, shuffled, 5) < 0.05


def test_selection_ties_go_to_the_earlier_epoch() -> None:
    selection = Selection(criterion="c", metric="m", min_gain=0.01)
    assert selection.offer(0, {"m": 0.5})
    assert not selection.offer(1, {"m": 0.505})  # within min_gain
    assert selection.offer(2, {"m": 0.52})
    assert not selection.offer(3, {"m": 0.52})
    assert selection.chosen_epoch == 2
    selection.explain(identity_at_zero=True)
    assert "epoch 2" in selection.reason


def test_selection_guards_keep_every_metric_at_or_above_the_input() -> None:
    selection = Selection(criterion="c", metric="mean", guards=("a", "b"))
    selection.offer(0, {"mean": 0.80, "a": 0.90, "b": 0.70})
    assert not selection.offer(1, {"mean": 0.85, "a": 1.00, "b": 0.69})  # b fell
    assert selection.offer(2, {"mean": 0.82, "a": 0.93, "b": 0.71})
    assert selection.chosen_epoch == 2 and selection.as_dict()["guards"] == ["a", "b"]


def test_refiner_checkpoint_round_trip(tmp_path: Path) -> None:
    vectors, labels = nuisance_data(200)
    result = fit_refiner(
        vectors, RefineConfig(epochs=2, batch_size=50, lr=1e-2), label_codes=labels
    )
    # Force a non-identity refiner so the round trip is not trivially the identity.
    with torch.no_grad():
        result.module.refiner.residual[-1].weight.normal_()
    path = save_refiner(
        tmp_path / "r.refiner.pt",
        result.module.refiner,
        result.config.to_dict(),
        result.selection.as_dict(),
    )
    loaded = load_refiner(path)
    np.testing.assert_allclose(loaded.refine(vectors), result.refine(vectors), rtol=1e-6)
    assert loaded.train_config["epochs"] == 2
    np.testing.assert_allclose(loaded.refiner.feature_std.numpy(), result.stats.std, rtol=1e-6)
    with pytest.raises(DataError, match="not an infoclr refiner"):
        torch.save({"x": 1}, tmp_path / "bad.pt")
        load_refiner(tmp_path / "bad.pt")


def test_threads_apply_during_the_run_and_are_restored() -> None:
    vectors, _ = nuisance_data(120)
    before = torch.get_num_threads()
    seen: set[int] = set()
    fit_refiner(
        vectors,
        RefineConfig(epochs=1, batch_size=40, threads=1),
        on_step=lambda *args: seen.add(torch.get_num_threads()),
    )
    assert seen == {1}
    assert torch.get_num_threads() == before


def test_config_validation() -> None:
    with pytest.raises(ConfigError):
        RefineConfig(batch_size=1).validate()
    with pytest.raises(ConfigError):
        RefineConfig(select_by="auc").validate()  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        RefineConfig(engine="keras").validate()  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        RefineConfig(threads=0).validate()
    with pytest.raises(DataError):
        fit_refiner(np.zeros(5, dtype=np.float32))  # type: ignore[arg-type]
