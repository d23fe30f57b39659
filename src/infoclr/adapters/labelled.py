"""Refinement of labelled (or partly labelled) rows: supervised, weakly supervised or SimSkip.

``objective="supervised"`` (what ``"auto"`` means when labels or clusters are given): two views
of each training row pass through the refiner, and the partially labelled SupCon loss
(:class:`~infoclr.losses.PartialSupConLoss`) treats views of rows with one label as positives,
while a row without a label (−1) pairs only with its own other view (SimSkip's NT-Xent).
``objective="simskip"``: every training row pairs only with its own other view (the
unsupervised objective); labels then serve selection and the guard only.

The labelled rows are split three ways (stratified): *train* (their labels may be trained on),
*select* (chooses the epoch) and *guard* (decides whether the output replaces the input).
Select and guard rows are never trained on, not even as unlabelled rows. Candidates are scored
by a linear probe and a k-NN (:func:`infoclr.evaluation.paired.probe_correctness`) trained on
the train rows' labels; the guard's primary metric is the per-row mean of the two probes'
correctness, and neither probe may be less accurate than on the input
(:func:`infoclr.evaluation.guard.guard`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from infoclr.adapters.config import AdapterConfig
from infoclr.adapters.engine import (
    AdapterResult,
    VectorAdapter,
    gather_rows,
    train_with_selection,
)
from infoclr.errors import ConfigError, DataError

__all__ = ["fit_labelled", "split_rows"]


def _min_count(codes: np.ndarray) -> int:
    counts = np.bincount(codes)
    return int(counts[counts > 0].min())


def split_rows(
    codes: np.ndarray, select_fraction: float, guard_fraction: float, seed: int, max_rows: int
) -> dict[str, np.ndarray]:
    """Stratified split of the labelled rows (code ≥ 0) into train / select / guard.

    Select and guard each get their fraction of the labelled rows, at most ``max_rows`` each;
    the split is unstratified when a class has fewer than 3 labelled rows.
    """
    from sklearn.model_selection import train_test_split

    labelled = np.flatnonzero(codes >= 0)
    if labelled.size < 10:
        raise DataError(
            f"only {labelled.size} rows have a label; the guard needs at least 10 labelled rows"
        )
    if len(np.unique(codes[labelled])) < 2:
        raise DataError("the labels have a single class; give at least 2 classes")
    stratify = _min_count(codes[labelled]) >= 3
    num_select = max(2, min(round(select_fraction * labelled.size), max_rows))
    num_guard = max(2, min(round(guard_fraction * labelled.size), max_rows))
    rng = np.random.default_rng(seed)
    train, held = train_test_split(
        labelled,
        test_size=num_select + num_guard,
        random_state=int(rng.integers(2**31)),
        stratify=codes[labelled] if stratify else None,
    )
    select, guard = train_test_split(
        held,
        test_size=num_guard,
        random_state=int(rng.integers(2**31)),
        stratify=codes[held] if stratify and _min_count(codes[held]) >= 2 else None,
    )
    return {"train": np.sort(train), "select": np.sort(select), "guard": np.sort(guard)}


def fit_labelled(
    vectors: np.ndarray,
    labels: np.ndarray | None,
    config: AdapterConfig | None = None,
    clusters: np.ndarray | None = None,
    max_eval_rows: int = 5000,
    on_epoch: Callable[[int, float, float | None], None] | None = None,
) -> AdapterResult:
    """Refine (N, D) rows using labels (and/or auxiliary clusters), with selection and guard.

    Args:
        vectors: (N, D) rows; a memmap is read batch by batch.
        labels: (N,) int64 label codes, −1 = unknown. They choose the epoch and feed the
            guard; with ``objective`` supervised/auto, the train rows' labels are positives.
        config: settings (default :class:`AdapterConfig`).
        clusters: (N,) int64 auxiliary cluster ids (−1 = none): positives for training when
            no labels are given for training (weak supervision, Cl-InfoNCE's official form).
        max_eval_rows: at most this many rows each for the probes' training, select and guard.
        on_epoch: progress callback ``(epoch, mean_loss, select score or None)``.

    Returns:
        An :class:`AdapterResult`; ``result.refine(x)`` is the guarded output.
    """
    from infoclr.evaluation.guard import guard
    from infoclr.evaluation.paired import probe_correctness
    from infoclr.losses import PartialSupConLoss

    try:
        from infoclr.data.embeddings import scan_embeddings
    except ImportError:  # before refine's I/O moved to infoclr.data.embeddings
        from infoclr.data.embeddings import scan_embeddings

    config = config or AdapterConfig()
    config.validate()
    if config.objective == "pairs":
        raise ConfigError("objective 'pairs' needs query/document pairs; use fit_pairs")
    if vectors.ndim != 2:
        raise DataError(f"vectors must be 2-D (rows, dim), got shape {tuple(vectors.shape)}")
    num_rows = vectors.shape[0]
    if labels is None:
        raise DataError("refinement with selection and the guard needs labels for some rows")
    for name, codes in (("labels", labels), ("clusters", clusters)):
        if codes is not None and len(codes) != num_rows:
            raise DataError(
                f"{name} has {len(codes)} values but there are {num_rows} rows; give one per row"
            )
    labels = np.asarray(labels, dtype=np.int64)
    split = split_rows(
        labels, config.select_fraction, config.guard_fraction, config.seed, max_eval_rows
    )
    held = np.zeros(num_rows, dtype=bool)
    held[split["select"]] = held[split["guard"]] = True
    train_rows = np.flatnonzero(~held)
    split["trained"] = train_rows
    supervised = config.objective in ("auto", "supervised")
    positives = np.full(num_rows, -1, dtype=np.int64)
    if supervised:
        if clusters is not None:
            # Cluster ids are shifted above every label code: labels win where known.
            codes = np.asarray(clusters, dtype=np.int64)
            positives = np.where(codes >= 0, codes + max(int(labels.max()), -1) + 1, -1)
        positives = np.where(labels >= 0, labels, positives)
    positives[held] = -1
    train_positives = positives[train_rows]
    if config.objective == "supervised" and not (train_positives >= 0).any():
        raise DataError("objective 'supervised' needs labels or clusters on the training rows")

    rng = np.random.default_rng(config.seed + 1)
    probe_rows = split["train"]
    if probe_rows.size > max_eval_rows:
        probe_rows = np.sort(rng.choice(probe_rows, size=max_eval_rows, replace=False))
    stats = scan_embeddings(vectors)
    torch.manual_seed(config.seed)
    adapter = VectorAdapter(vectors.shape[1], stats.mean, stats.std, config)
    loss_fn = PartialSupConLoss(config.temperature, check_finite=False)
    device = torch.device(config.device)

    def batch_loss(positions: np.ndarray) -> torch.Tensor:
        positions = np.sort(positions)
        x = torch.from_numpy(gather_rows(vectors, train_rows[positions])).to(device)
        ids = torch.from_numpy(train_positives[positions]).to(device)
        view1, view2 = adapter.view_pair(x)
        return loss_fn(adapter.embed(view1), adapter.embed(view2), ids)

    select_x = gather_rows(vectors, np.concatenate([probe_rows, split["select"]]))
    cut = probe_rows.size

    def select_score(candidate: VectorAdapter | None) -> float:
        refined = select_x if candidate is None else candidate.refine(select_x)
        if not np.isfinite(refined).all():
            return float("-inf")
        scores = probe_correctness(
            refined[:cut], labels[probe_rows], refined[cut:], labels[split["select"]]
        )
        return float(scores["mean_top1"].mean())

    previous = torch.get_num_threads()
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    try:
        training = train_with_selection(
            adapter, config, train_rows.size, batch_loss, select_score, on_epoch
        )
        chosen = training.chosen_epoch
        decision, accepted = None, False
        if chosen == 0:
            reason = (
                "kept the input: no trained epoch scored above it on the "
                f"{split['select'].size} select rows"
            )
        else:
            guard_train = np.concatenate([probe_rows, split["select"]])
            guard_x = gather_rows(vectors, np.concatenate([guard_train, split["guard"]]))
            refined = adapter.refine(guard_x)
            cut_guard = guard_train.size
            train_labels, guard_labels = labels[guard_train], labels[split["guard"]]
            before = probe_correctness(
                guard_x[:cut_guard], train_labels, guard_x[cut_guard:], guard_labels
            )
            after = probe_correctness(
                refined[:cut_guard], train_labels, refined[cut_guard:], guard_labels
            )
            decision = guard(
                before,
                after,
                "mean_top1",
                protected=("knn_top1", "linear_top1"),
                method=config.guard_method,
                z=config.guard_z,
                tolerance=config.guard_tolerance,
                seed=config.seed,
            )
            accepted = decision.accepted
            reason = f"epoch {chosen} scored best on the select rows; {decision.reason}"
    finally:
        torch.set_num_threads(previous)
    return AdapterResult(
        adapter=adapter,
        last_state=training.last_state,
        chosen_epoch=chosen,
        accepted=accepted,
        decision=decision,
        reason=reason,
        candidates=training.candidates,
        config=config,
        split=split,
        epoch_losses=training.losses,
        epoch_seconds=training.seconds,
        epoch_cpu_seconds=training.cpu_seconds,
    )
