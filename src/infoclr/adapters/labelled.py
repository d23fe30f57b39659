"""Refinement of labelled (or partly labelled) rows: supervised, weakly supervised or SimSkip.

A Python-API front end over the one refine engine, :func:`infoclr.refine.fit_refiner` (the
engine of ``infoclr refine``): the :class:`~infoclr.adapters.AdapterConfig` becomes a
:class:`~infoclr.refine.RefineConfig` and the result an
:class:`~infoclr.adapters.engine.AdapterResult` that can also hand back the chosen candidate
regardless of the guard, and the unselected last epoch (what the benchmarks compare).

``objective="supervised"`` (what ``"auto"`` means when labels or clusters are given): two views
of each training row pass through the refiner, and the partially labelled SupCon loss
(:class:`~infoclr.losses.PartialSupConLoss`) treats views of rows with one label as positives,
while a row without a label (−1) pairs only with its own other view (SimSkip's NT-Xent).
``objective="simskip"``: every training row pairs only with its own other view (the
unsupervised objective); labels then serve selection and the guard only.

The labelled rows are split three ways (stratified, :func:`infoclr.evaluation.selection.
split_labelled`): *train* (their labels may be trained on), *select* (chooses the epoch) and
*guard* (decides whether the output replaces the input). Select and guard rows are never
trained on, not even as unlabelled rows. The guard is
:func:`infoclr.evaluation.guard.guard_refinement`: per-row mean correctness of a linear probe and
a k-NN, and neither probe may be less accurate than on the input.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from infoclr.adapters.config import AdapterConfig
from infoclr.adapters.engine import AdapterResult
from infoclr.errors import ConfigError, DataError
from infoclr.evaluation.selection import check_labels

__all__ = ["fit_labelled"]


def _refine_config(config: AdapterConfig, max_eval_rows: int) -> Any:
    """The :class:`~infoclr.refine.RefineConfig` of an adapter run (same views and model)."""
    from infoclr.refine import RefineConfig

    if config.epochs < 1:
        raise ConfigError("fit_labelled needs epochs >= 1")
    mask_value, noise_scale, standardize = config.views()
    largest = max(config.select_fraction, config.guard_fraction)
    same = ("objective", "epochs", "batch_size", "lr", "weight_decay", "temperature", "hidden")
    same += ("dropout", "skip", "projector", "mask_prob", "noise_std", "augment", "seed")
    same += ("eval_every", "guard_method", "guard_z", "guard_tolerance", "threads", "device")
    return RefineConfig(
        **{name: getattr(config, name) for name in same},
        mask_value=mask_value,
        noise_scale=noise_scale,
        standardize=standardize,
        val_fraction=config.select_fraction,
        test_fraction=config.guard_fraction,
        split_seed=config.seed,
        # select and guard rows: at most max_eval_rows each
        eval_rows=max(20, math.ceil(max_eval_rows / largest)),
    )


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
        clusters: (N,) int64 auxiliary cluster ids (−1 = none): positives where a training row
            has no label (weak supervision, Cl-InfoNCE's official form).
        max_eval_rows: at most this many rows each for select and guard.
        on_epoch: progress callback ``(epoch, mean_loss, select score or None)``.

    Returns:
        An :class:`AdapterResult`; ``result.refine(x)`` is the guarded output.
    """
    from infoclr.refine import fit_refiner

    config = config or AdapterConfig()
    config.validate()
    if config.objective == "pairs":
        raise ConfigError("objective 'pairs' needs query/document pairs; use fit_pairs")
    if labels is None:
        raise DataError("refinement with selection and the guard needs labels for some rows")
    labels = np.asarray(labels, dtype=np.int64)
    if len(labels) != len(vectors):
        raise DataError(
            f"labels has {len(labels)} values but there are {len(vectors)} rows; give one per row"
        )
    check_labels(labels)
    refine_config = _refine_config(config, max_eval_rows)
    states: dict[int, dict[str, Any]] = {}  # every candidate's weights, and the last epoch's
    losses: list[float] = []

    def keep(epoch: int, scores: dict[str, float] | None, module: Any) -> None:
        state = copy.deepcopy(module.state_dict())
        states[-1] = state
        if scores is not None:
            states[epoch] = state
        if on_epoch is not None and epoch > 0:
            score = None if scores is None else scores["mean_top1"]
            on_epoch(epoch, losses[-1] if losses else float("nan"), score)

    result = fit_refiner(
        vectors,
        refine_config,
        labels,
        clusters,
        on_progress=lambda epoch, steps, total, loss: losses.append(loss),
        on_epoch=keep,
    )
    return _adapter_result(result, config, states)


def _adapter_result(result: Any, config: AdapterConfig, states: dict[int, Any]) -> AdapterResult:
    """The :class:`AdapterResult` of a refine run: the module holds the chosen candidate."""
    selection, split = result.selection, result.split
    chosen = selection.chosen_epoch
    result.module.load_state_dict(states[chosen])
    result.module.eval()
    held = np.concatenate([split.val, split.test])
    candidates = [c | {"score": c[selection.metric]} for c in selection.candidates]
    return AdapterResult(
        adapter=result.module,
        last_state=states[-1],
        chosen_epoch=chosen,
        accepted=result.kept == "refined" and not (chosen == 0 and config.skip),
        decision=result.guard,
        reason=f"{selection.reason}; {result.guard_reason}",
        candidates=candidates,
        config=config,
        split={
            "train": split.fit,
            "select": split.val,
            "guard": split.test,
            "trained": np.setdiff1d(np.arange(result.stats.num_rows), held),
        },
        epochs=result.epochs,
    )
