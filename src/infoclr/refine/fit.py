"""Train a SimSkip refiner on (N, D) rows and keep the best scored epoch (the Python API).

A Lightning ``Trainer`` drives :class:`~infoclr.methods.simskip.SimSkip` over random row
batches gathered straight from the input (:func:`infoclr.data.loaders.row_loader`; a memmap is
read one batch at a time). Callbacks seed every epoch, watch the loss and score candidates
(:mod:`infoclr.methods.callbacks`); scoring and the rule are
:mod:`infoclr.evaluation.selection`'s.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from infoclr.data.embeddings import EmbeddingStats, scan_embeddings
from infoclr.errors import DataError
from infoclr.evaluation.selection import CandidateScorer, LabelSplit, Selection
from infoclr.methods.simskip import SimSkip
from infoclr.refine.config import RefineConfig

__all__ = ["RefineResult", "fit_refiner"]


@dataclass
class RefineResult:
    """A trained refiner with the kept weights loaded, and how it got there.

    Attributes:
        module: the SimSkip module (eval mode, on the CPU) holding the kept weights.
        config: the run's configuration.
        stats: per-dimension statistics of the training rows.
        selection: every candidate's scores and the kept epoch.
        split: the label split (None without labels).
        input_scores: the selection scores of the input vectors themselves (epoch 0's for a
            skip refiner, which starts at the identity).
        epoch_losses: mean training loss of each completed epoch.
        epoch_seconds: wall-clock time of each epoch's training steps.
        eval_seconds: total time spent scoring candidates.
        stopped: why training stopped early (a non-finite loss), or None.
        note: what selection changed on its own (a lowered K), or None.
    """

    module: SimSkip
    config: RefineConfig
    stats: EmbeddingStats
    selection: Selection
    split: LabelSplit | None = None
    input_scores: dict[str, float] = field(default_factory=dict)
    epoch_losses: list[float] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)
    eval_seconds: float = 0.0
    stopped: str | None = None
    note: str | None = None

    @property
    def identity(self) -> bool:
        """Whether the kept refiner returns its input unchanged (epoch 0 of a skip refiner)."""
        return self.selection.chosen_epoch == 0 and self.config.skip

    def refine(self, x: np.ndarray | torch.Tensor) -> np.ndarray:
        """Refined (N, D) float32 rows (the un-augmented input through the kept refiner)."""
        return self.module.refine(x)


def _check_rows(vectors: np.ndarray, *codes: np.ndarray | None) -> None:
    if vectors.ndim != 2:
        raise DataError(f"vectors must be 2-D (rows, dim), got shape {tuple(vectors.shape)}")
    for name, values in zip(("labels", "clusters"), codes, strict=True):
        if values is not None and len(values) != vectors.shape[0]:
            raise DataError(
                f"{name} has {len(values)} values but there are {vectors.shape[0]} rows; "
                "give one per row"
            )


def _singleton_clusters(cluster_codes: np.ndarray | None) -> np.ndarray | None:
    if cluster_codes is None:
        return None
    ids = np.asarray(cluster_codes, dtype=np.int64).copy()
    missing = ids < 0
    # A row without a cluster is its own cluster, so it only pairs with its other view
    # (plain NT-Xent for that row).
    ids[missing] = ids.max(initial=-1) + 1 + np.arange(int(missing.sum()))
    return ids


def _fit(trainer: Any, module: SimSkip, loader: Any, checkpoint: Path | None) -> None:
    try:
        trainer.fit(module, loader, ckpt_path=None if checkpoint is None else str(checkpoint))
    except SystemExit:
        if trainer.interrupted:  # Lightning turns Ctrl-C into sys.exit(1)
            raise KeyboardInterrupt from None
        raise
    if trainer.interrupted:
        raise KeyboardInterrupt


def fit_refiner(
    vectors: np.ndarray,
    config: RefineConfig | None = None,
    label_codes: np.ndarray | None = None,
    cluster_codes: np.ndarray | None = None,
    stats: EmbeddingStats | None = None,
    on_progress: Callable[[int, int, int, float], None] | None = None,
    on_epoch: Callable[[int, dict[str, float] | None, SimSkip], None] | None = None,
    checkpoint: Path | None = None,
    resume: bool = False,
    echo: Callable[[str], Any] | None = None,
    record: dict[str, Any] | None = None,
) -> RefineResult:
    """Train a SimSkip refiner on (N, D) rows and keep the best scored epoch.

    Args:
        vectors: (N, D) numeric rows; a memmap is read batch by batch, never whole.
        config: the run's configuration (default :class:`RefineConfig`).
        label_codes: (N,) int64 label codes, −1 = unlabelled. With labels, selection scores
            probes on a held-out split; without, k-means stability.
        cluster_codes: (N,) int64 auxiliary cluster ids, −1 = none. Switches the loss to
            Cl-InfoNCE (weakly supervised refinement; Tsai et al. 2021).
        stats: per-dimension statistics of ``vectors`` (computed here when None, in one
            streaming pass that also rejects NaN/inf rows).
        on_progress: ``on_progress(epoch, steps_done, steps_per_epoch, mean_loss)``, called
            every few steps.
        on_epoch: ``on_epoch(epoch, scores or None, module)``, called before training (epoch
            0) and after every epoch with the module as it is then (do not change it).
        checkpoint: save the run there (a ``.ckpt`` path) at the end of every epoch.
        resume: continue the run saved in ``checkpoint``.
        echo: prints what selection scores on how many rows (and any subsampling).
        record: stored in every checkpoint (what run wrote it), for a later resume to check.

    Returns:
        A :class:`RefineResult` whose module holds the kept weights.
    """
    from infoclr.data.loaders import row_loader
    from infoclr.methods.callbacks import CandidateSelection, EpochSeeds, LossWatch, RunRecord
    from infoclr.methods.trainer import refine_trainer, torch_threads

    config = config or RefineConfig()
    config.validate()
    _check_rows(vectors, label_codes, cluster_codes)
    stats = stats or scan_embeddings(vectors)
    with torch_threads(config.threads):
        scorer = CandidateScorer(vectors, label_codes, cluster_codes, **config.selection_options())
        if echo is not None:
            echo(scorer.describe())
        torch.manual_seed(config.seed)
        module = SimSkip(
            vectors.shape[1],
            **config.simskip_options(),
            feature_mean=stats.mean,
            feature_std=stats.std,
        )
        input_scores = {} if config.skip else scorer.score(None)
        watch = LossWatch(on_progress=on_progress)
        selection = CandidateSelection(scorer, config.eval_every, watch, on_epoch)
        callbacks = [EpochSeeds(config.seed), watch, selection, RunRecord(record or {})]
        trainer = refine_trainer(
            config.epochs, config.device, callbacks, checkpoint, config.precision
        )
        loader = row_loader(
            vectors, config.batch_size, config.seed, _singleton_clusters(cluster_codes)
        )
        _fit(trainer, module, loader, checkpoint if resume else None)
    return _result(module, config, stats, scorer, selection, watch, input_scores)


def _result(
    module: SimSkip,
    config: RefineConfig,
    stats: EmbeddingStats,
    scorer: CandidateScorer,
    selection: Any,
    watch: Any,
    input_scores: dict[str, float],
) -> RefineResult:
    """The result of a finished run, with the kept candidate's weights loaded."""
    module.load_state_dict(selection.best_state)
    module.cpu().eval()
    chosen = scorer.selection
    chosen.explain(identity_at_zero=config.skip)
    if config.skip:  # epoch 0 is the input itself
        input_scores = {k: v for k, v in chosen.candidates[0].items() if k != "epoch"}
    return RefineResult(
        module=module,
        config=config,
        stats=stats,
        selection=chosen,
        split=scorer.split,
        input_scores=input_scores,
        epoch_losses=watch.epoch_losses,
        epoch_seconds=watch.epoch_seconds,
        eval_seconds=selection.eval_seconds,
        stopped=watch.stopped,
        note=scorer.note,
    )
