"""fit_refiner: training from memory-mapped rows, selection, divergence, resume, config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from infoclr.data.embeddings import scan_embeddings
from infoclr.errors import ConfigError, DataError
from infoclr.evaluation.probes import probe_scores
from infoclr.refine import RefineConfig, fit_refiner


def nuisance_data(
    rows: int = 300,
    seed: int = 0,
    classes: int = 3,
    signal: int = 4,
    nuisance: int = 28,
    spread: float = 1.0,
    noise_scale: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Classes separated in a few dimensions, drowned by many pure-noise dimensions.

    Cosine k-NN on the raw rows is dominated by the noise dimensions; a refiner that learns
    which dimensions carry the classes helps it (a lot with a small ``spread`` of the classes
    and a large ``noise_scale`` of the other dimensions).
    """
    rng = np.random.default_rng(seed)
    labels = np.arange(rows) % classes
    means = rng.choice([-1.0, 1.0], size=(classes, signal))
    informative = means[labels] + spread * rng.normal(size=(rows, signal))
    noise = noise_scale * rng.normal(size=(rows, nuisance))
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


def test_training_reads_a_memmap_batch_by_batch(tmp_path: Path) -> None:
    vectors, _ = nuisance_data(600)
    np.save(tmp_path / "rows.npy", vectors)
    mapped = np.load(tmp_path / "rows.npy", mmap_mode="r")
    recorder = RecordingRows(mapped)
    stats = scan_embeddings(recorder, chunk_rows=64)  # type: ignore[arg-type]
    config = RefineConfig(epochs=2, batch_size=64, eval_rows=100, lr=1e-2)
    progress: list[tuple[int, int]] = []
    result = fit_refiner(
        recorder,  # type: ignore[arg-type]
        config,
        stats=stats,
        on_progress=lambda epoch, steps, total, loss: progress.append((epoch, steps)),
    )
    assert progress == [(1, 9), (2, 9)]  # 600 // 64 = 9 steps, read once per epoch
    assert recorder.largest_read <= 100 < len(vectors)
    assert len(result.epochs.losses) == 2 and all(np.isfinite(result.epochs.losses))
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
    assert result.selection.chosen_epoch == 0 and result.identity
    assert result.selection.reason.startswith("kept epoch 0 (the input itself)")
    # Epoch 0 of a skip refiner is the input, bit for bit.
    np.testing.assert_array_equal(result.refine(vectors), vectors)


def test_selection_picks_a_later_epoch_when_refinement_helps() -> None:
    # The supervised objective (the default with labels) tells the refiner which rows belong
    # together, which clearly helps k-NN here; plain SimSkip did not clearly help on this data.
    vectors, labels = nuisance_data(400, nuisance=12, spread=0.5, noise_scale=3.0)
    config = RefineConfig(epochs=6, batch_size=50, lr=1e-2, select_by="knn")
    result = fit_refiner(vectors, config, label_codes=labels)
    assert result.objective == "supervised"
    candidates = result.selection.candidates
    assert result.selection.chosen_epoch > 0
    chosen = next(c for c in candidates if c["epoch"] == result.selection.chosen_epoch)
    assert chosen["knn_top1"] >= candidates[0]["knn_top1"] + 0.05
    assert result.split is not None and len(result.split.test) > 0
    # And the gain holds on the test rows that neither trained nor selected it: the guard
    # scored the candidate there (before = the input, after = the candidate).
    assert result.guard is not None
    knn = next(gain for gain in result.guard.protected if gain.metric == "knn_top1")
    assert knn.rows == len(result.split.test) and knn.after > knn.before + 0.03
    train = np.concatenate([result.split.fit, result.split.val])
    test = result.split.test
    before = probe_scores(vectors[train], labels[train], vectors[test], labels[test], linear=False)
    assert before["knn_top1"] == pytest.approx(knn.before)
    assert result.kept == ("refined" if result.guard.accepted else "input")


def test_the_split_and_the_input_scores_do_not_move_with_the_training_seed() -> None:
    vectors, labels = nuisance_data(200)
    runs = [
        fit_refiner(vectors, RefineConfig(epochs=1, batch_size=50, seed=seed), label_codes=labels)
        for seed in (0, 1)
    ]
    assert np.array_equal(runs[0].split.test, runs[1].split.test)
    assert runs[0].input_scores == runs[1].input_scores
    assert runs[0].epochs.losses != runs[1].epochs.losses


def test_divergence_stops_training_and_keeps_the_best_candidate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from infoclr.methods.simskip import SimSkip

    real_loss = SimSkip.contrastive_loss
    calls = {"n": 0}

    def loss_that_diverges(self: SimSkip, x: torch.Tensor, ids: Any = None) -> torch.Tensor:
        calls["n"] += 1
        loss = real_loss(self, x, ids)
        # Epoch 1 = 2 steps: 120 rows to train on (the 80 val and test rows are held out).
        return loss * float("nan") if calls["n"] > 2 else loss

    monkeypatch.setattr(SimSkip, "contrastive_loss", loss_that_diverges)
    vectors, labels = nuisance_data(200)
    config = RefineConfig(epochs=5, batch_size=50, lr=1e-2, select_by="knn")
    result = fit_refiner(vectors, config, label_codes=labels)
    assert [c["epoch"] for c in result.selection.candidates] == [0, 1]
    assert len(result.epochs.losses) == 1
    assert result.stopped == "the training loss became nan in epoch 2"
    assert np.isfinite(result.refine(vectors)).all()


def test_a_resumed_run_ends_where_the_uninterrupted_run_ends(tmp_path: Path) -> None:
    vectors, labels = nuisance_data(200)
    config = RefineConfig(epochs=3, batch_size=50, lr=1e-2, select_by="knn", eval_every=1)
    full = fit_refiner(vectors, config, label_codes=labels)
    checkpoint = tmp_path / "run.ckpt"
    fit_refiner(
        vectors,
        RefineConfig(**{**config.to_dict(), "epochs": 2}),
        labels,
        None,
        checkpoint=checkpoint,
    )
    resumed = fit_refiner(vectors, config, labels, None, checkpoint=checkpoint, resume=True)
    assert resumed.selection.candidates == full.selection.candidates
    assert resumed.epochs.losses == full.epochs.losses
    for key, value in full.module.state_dict().items():
        assert torch.equal(resumed.module.state_dict()[key], value), key


def test_threads_apply_during_the_run_and_are_restored() -> None:
    vectors, _ = nuisance_data(120)
    before = torch.get_num_threads()
    seen: set[int] = set()
    fit_refiner(
        vectors,
        RefineConfig(epochs=1, batch_size=40, threads=1),
        on_progress=lambda *args: seen.add(torch.get_num_threads()),
    )
    assert seen == {1}
    assert torch.get_num_threads() == before


def test_config_validation() -> None:
    for bad in ({"batch_size": 1}, {"epochs": 0}, {"threads": 0}, {"temperature": 0.0}):
        with pytest.raises(ConfigError):
            RefineConfig(**bad).validate()  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="val_fraction \\+ test_fraction must be below 1"):
        RefineConfig(val_fraction=0.6, test_fraction=0.5).validate()
    with pytest.raises(DataError):
        fit_refiner(np.zeros(5, dtype=np.float32))


def test_the_view_options_reach_the_simskip_module() -> None:
    vectors, _ = nuisance_data(120)
    config = RefineConfig(
        epochs=1,
        batch_size=40,
        mask_value="zero",
        noise_scale="fixed",
        augment="one_per_view",
        standardize=False,
        noise_std=0.05,
        mask_prob=0.3,
    )
    views = fit_refiner(vectors, config).module.views
    assert float(views.mask_value) == 0.0 and views.feature_std is None
    assert (views.augment, views.noise_std, views.mask_prob) == ("one_per_view", 0.05, 0.3)


def test_unset_view_options_follow_the_objective() -> None:
    vectors, labels = nuisance_data(300)
    # Unsupervised (simskip): SimSkip's reported form, zero mask, fixed δ, raw coordinates.
    paper = fit_refiner(vectors, RefineConfig(epochs=1, batch_size=40)).module
    assert paper.views.feature_std is None and float(paper.views.mask_value.abs().sum()) == 0
    assert torch.equal(paper.refiner.feature_std, torch.ones(vectors.shape[1]))
    # Supervised: infoclr's form, mean mask, per-dimension δ, standardised.
    ours = fit_refiner(vectors, RefineConfig(epochs=1, batch_size=40), label_codes=labels).module
    assert ours.views.feature_std is not None and float(ours.views.mask_value.abs().sum()) > 0
    assert not torch.equal(ours.refiner.feature_std, torch.ones(vectors.shape[1]))
