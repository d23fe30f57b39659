"""Train a refiner on (N, D) rows, keep the best scored epoch, guard it (the Python API).

A Lightning ``Trainer`` drives :class:`~infoclr.methods.simskip.SimSkip` over random row
batches gathered straight from the input (:func:`infoclr.data.loaders.row_loader`; a memmap is
read one batch at a time). The objective is supervised (partial SupCon on labels and/or
cluster ids) or SimSkip's NT-Xent (:meth:`RefineConfig.resolved_objective`). Callbacks seed
every epoch, watch the loss and score candidates (:mod:`infoclr.methods.callbacks`); scoring
and the rule are :mod:`infoclr.evaluation.selection`'s, the guard
:mod:`infoclr.evaluation.guard`'s.

With labels, the rows of the held-out split (val, which selects the epoch, and test, which
guards it) are never trained on, under either objective: the loader leaves them out, and
their ids in the training targets are −1 as well (:func:`training_ids`).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from infoclr.data.embeddings import EmbeddingStats, scan_embeddings
from infoclr.errors import DataError
from infoclr.evaluation.guard import GuardDecision
from infoclr.evaluation.selection import CandidateScorer, LabelSplit, Selection
from infoclr.methods.simskip import SimSkip
from infoclr.models.refiner import Refiner
from infoclr.refine.config import RefineConfig
from infoclr.runs import EpochLog

__all__ = ["RefineResult", "fit_refiner", "training_ids"]


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
        epochs: each epoch's mean training loss, wall-clock and CPU time.
        eval_seconds: total time spent scoring candidates.
        stopped: why training stopped early (a non-finite loss), or None.
        note: what selection changed on its own (a lowered K), or None.
        objective: ``"supervised"`` or ``"simskip"`` (the resolved objective).
        trained_rows: how many rows the refiner was trained on.
        kept: ``"refined"`` (the output is the kept candidate) or ``"input"`` (the output is
            the input itself: selection kept epoch 0 of a skip refiner, or the guard refused).
        guard: the guard's decision, or None when there was nothing to guard or no test rows.
        guard_reason: one sentence on what was kept and why.
    """

    module: SimSkip
    config: RefineConfig
    stats: EmbeddingStats
    selection: Selection
    split: LabelSplit | None = None
    input_scores: dict[str, float] = field(default_factory=dict)
    epochs: EpochLog = field(default_factory=EpochLog)
    eval_seconds: float = 0.0
    stopped: str | None = None
    note: str | None = None
    objective: str = "simskip"
    trained_rows: int = 0
    kept: str = "refined"
    guard: GuardDecision | None = None
    guard_reason: str = ""

    @property
    def identity(self) -> bool:
        """Whether the output is the input unchanged (epoch 0 of a skip refiner, or refused)."""
        return self.kept == "input"

    @property
    def output_refiner(self) -> Refiner:
        """The refiner that produces the output: the module's, or an identity skip refiner
        when the guard kept the input of a refiner without skip connection."""
        refiner = self.module.refiner
        if not self.identity or refiner.skip:
            return refiner  # a skip refiner holding epoch 0's weights is the identity
        return refiner.identity()

    def refine(self, x: np.ndarray | torch.Tensor) -> np.ndarray:
        """The output for (N, D) rows: float32 rows through the kept refiner (the identity
        when the input was kept)."""
        if isinstance(x, torch.Tensor):
            x = x.detach().cpu().numpy()
        return self.output_refiner.refine_rows(x)


def _check_rows(vectors: np.ndarray, *codes: np.ndarray | None) -> None:
    if vectors.ndim != 2:
        raise DataError(f"vectors must be 2-D (rows, dim), got shape {tuple(vectors.shape)}")
    for name, values in zip(("labels", "clusters"), codes, strict=True):
        if values is not None and len(values) != vectors.shape[0]:
            raise DataError(
                f"{name} has {len(values)} values but there are {vectors.shape[0]} rows; "
                "give one per row"
            )


def training_ids(
    label_codes: np.ndarray | None,
    cluster_codes: np.ndarray | None,
    held_rows: np.ndarray,
) -> np.ndarray:
    """(N,) int64 training targets of the supervised objective, −1 = unknown.

    A row's label where it has one; else its cluster id, shifted above every label so that the
    two never share an id; else −1 (the row pairs only with its own other view). The held-out
    rows (``held_rows``: val and test) are −1 whatever their label or cluster.
    """
    codes = label_codes if label_codes is not None else cluster_codes
    if codes is None:
        raise DataError("the supervised objective needs labels or cluster ids")
    ids = np.full(len(codes), -1, dtype=np.int64)
    if cluster_codes is not None:
        clusters = np.asarray(cluster_codes, dtype=np.int64)
        shift = 0 if label_codes is None else max(int(np.max(label_codes, initial=-1)), -1) + 1
        ids = np.where(clusters >= 0, clusters + shift, -1)
    if label_codes is not None:
        ids = np.where(np.asarray(label_codes) >= 0, label_codes, ids).astype(np.int64)
    ids[held_rows] = -1
    return ids


def _training_rows(
    config: RefineConfig,
    split: LabelSplit | None,
    label_codes: np.ndarray | None,
    cluster_codes: np.ndarray | None,
) -> tuple[str, np.ndarray | None, np.ndarray | None]:
    """(the resolved objective, rows trained on or None for all, ids or None for NT-Xent)."""
    codes = (label_codes, cluster_codes)
    objective = config.resolved_objective(*(c is not None and bool((c >= 0).any()) for c in codes))
    held, rows = np.empty(0, dtype=np.int64), None
    if split is not None and label_codes is not None:  # a split exists only with labels
        held = np.concatenate([split.val, split.test]).astype(np.int64)
        rows = np.setdiff1d(np.arange(len(label_codes)), held)
    if rows is not None and config.batch_size > rows.size:
        raise DataError(
            f"batch_size {config.batch_size} is larger than the {rows.size} rows left to train "
            f"on once the held-out rows are set aside; use --batch-size {max(2, rows.size // 2)}"
        )
    if objective == "simskip":
        return objective, rows, None
    return objective, rows, training_ids(label_codes, cluster_codes, held)


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
    """Train a refiner on (N, D) rows, keep the best scored epoch, and guard it.

    Args:
        vectors: (N, D) numeric rows; a memmap is read batch by batch, never whole.
        config: the run's configuration (default :class:`RefineConfig`).
        label_codes: (N,) int64 label codes, −1 = unlabelled. With labels, selection scores
            probes on a held-out split (val), the guard on another (test); without,
            selection uses k-means stability and there is no guard. With the supervised
            objective the labels of the other rows are positives.
        cluster_codes: (N,) int64 auxiliary cluster ids, −1 = none: positives of the
            supervised objective where a row has no label (weak supervision, Cl-InfoNCE's
            official form; Tsai et al. 2021).
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
        A :class:`RefineResult` whose module holds the output's weights (the initial ones when
        the guard refused the candidate) and whose ``kept`` and ``guard_reason`` say why.

    Raises:
        ConfigError: ``objective="supervised"`` without any label or cluster id.
    """
    from infoclr.methods.trainer import torch_threads

    config = config or RefineConfig()
    config.validate()
    _check_rows(vectors, label_codes, cluster_codes)
    stats = stats or scan_embeddings(vectors)
    with torch_threads(config.threads):
        scorer = CandidateScorer(vectors, label_codes, cluster_codes, **config.selection_options())
        if echo is not None:
            echo(scorer.describe())
        objective, rows, ids = _training_rows(config, scorer.split, label_codes, cluster_codes)
        torch.manual_seed(config.seed)
        module = SimSkip(
            vectors.shape[1],
            **config.simskip_options(objective),
            feature_mean=stats.mean,
            feature_std=stats.std,
        )
        initial_state = copy.deepcopy(module.state_dict())
        input_scores = {} if config.skip else scorer.score(None)
        selection, watch = _train(
            module,
            config,
            scorer,
            (vectors, rows, ids),
            on_progress,
            on_epoch,
            checkpoint,
            resume,
            record,
        )
        result = _result(module, config, stats, scorer, selection, watch, input_scores)
        result.objective, result.trained_rows = objective, len(vectors if rows is None else rows)
        _guard(result, vectors, label_codes, initial_state)
    return result


def _train(
    module: SimSkip,
    config: RefineConfig,
    scorer: CandidateScorer,
    data: tuple[np.ndarray, np.ndarray | None, np.ndarray | None],
    on_progress: Any,
    on_epoch: Any,
    checkpoint: Path | None,
    resume: bool,
    record: dict[str, Any] | None,
) -> tuple[Any, Any]:
    """Run the Lightning trainer over ``data`` = (vectors, rows or None, ids or None)."""
    from infoclr.data.loaders import row_loader
    from infoclr.methods.callbacks import CandidateSelection, EpochSeeds, LossWatch, RunRecord
    from infoclr.methods.trainer import refine_trainer

    vectors, rows, ids = data
    watch = LossWatch(on_progress=on_progress)
    selection = CandidateSelection(scorer, config.eval_every, watch, on_epoch)
    callbacks = [EpochSeeds(config.seed), watch, selection, RunRecord(record or {})]
    trainer = refine_trainer(config.epochs, config.device, callbacks, checkpoint, config.precision)
    loader = row_loader(vectors, config.batch_size, config.seed, ids, rows)
    _fit(trainer, module, loader, checkpoint if resume else None)
    return selection, watch


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
        epochs=watch.epochs,
        eval_seconds=selection.eval_seconds,
        stopped=watch.stopped,
        note=scorer.note,
    )


def _guard(
    result: RefineResult,
    vectors: np.ndarray,
    label_codes: np.ndarray | None,
    initial_state: dict[str, torch.Tensor],
) -> None:
    """Let the kept candidate replace the input only when the guard accepts it on the test
    rows; otherwise load the initial weights (the identity, for a skip refiner)."""
    from infoclr.evaluation.guard import guard_refinement

    config, split = result.config, result.split
    if result.selection.chosen_epoch == 0 and config.skip:
        result.kept = "input"
        result.guard_reason = "kept the input: selection kept epoch 0, the input itself"
        return
    if split is None or label_codes is None or len(split.test) < 2:
        why = "without labels" if split is None else "with test_fraction 0 (no test rows)"
        result.guard_reason = (
            f"refined output kept unguarded: {why} there are no held-out labelled rows to "
            "test the selected candidate on"
        )
        return
    started = time.perf_counter()
    decision = guard_refinement(
        vectors,
        result.refine,
        label_codes,
        split,
        method=config.guard_method,
        z=config.guard_z,
        tolerance=config.guard_tolerance,
        seed=config.split_seed,
    )
    result.eval_seconds += time.perf_counter() - started
    result.guard = decision
    result.kept = "refined" if decision.accepted else "input"
    result.guard_reason = f"{decision.reason} (SE {decision.primary.std_error:.4f})"
    if not decision.accepted:
        result.module.load_state_dict(initial_state)
        result.module.eval()
