"""Train a SimSkip refiner from (memory-mapped) rows, with checkpoint selection.

The loop reads random row batches straight from the input array. For a ``.npy`` input that
array is a read-only memmap, and each batch gathers only its own rows (in sorted order, which
turns random reads into forward sweeps), so nothing beyond the current batch, the evaluation
subset and the model is held in RAM.

By default a Lightning ``Trainer`` drives :class:`~infoclr.methods.simskip.SimSkip` (the repo's
one-LightningModule-per-method rule); ``engine="lean"`` runs a plain loop over the same
``training_step``. ``benchmarks/simskip.py`` measures both over 100,000 × 384 memmapped rows:
Lightning's per-step overhead is a few percent there (``docs/benchmarks-simskip.md``), so it
does not threaten the speed target and is the default.
"""

from __future__ import annotations

import copy
import logging
import math
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import lightning as L
import numpy as np
import torch
from torch import Tensor

from infoclr.errors import ConfigError, DataError
from infoclr.methods.simskip import SimSkip
from infoclr.refine.io import EmbeddingStats, scan_embeddings
from infoclr.refine.select import (
    LabelSplit,
    Selection,
    kmeans_stability,
    probe_scores,
    split_labelled,
)

__all__ = ["MemmapBatches", "RefineConfig", "RefineResult", "fit_refiner"]


@dataclass
class RefineConfig:
    """Everything that defines one refinement run (saved with the refiner and the report).

    Model and objective (SimSkip, reconstructed; see ``docs/guide-refine.md``):
        hidden: refiner hidden width (None: dim // 2). dropout: inside the refiner.
        skip: skip connection (False: the no-skip ablation). projector: use g (d → d → 128).
        projection_dim: g's output width. temperature: NT-Xent / Cl-InfoNCE τ.
        mask_prob, noise_std: the two embedding augmentations (0 switches one off).
        cluster_form: Cl-InfoNCE form when cluster ids are given.

    Optimisation:
        epochs, batch_size, lr (Adam), weight_decay, seed, device.
        engine: ``"lightning"`` (a ``Trainer`` drives :class:`SimSkip`; the default) or
            ``"lean"`` (a plain loop over the same ``training_step``).
        threads: torch CPU threads during the run (None: torch's default; restored after).
            On a machine whose cores are busy with other jobs, 1 avoids OpenMP threads
            spinning against them (measured 4-8x slower epochs with 2 threads there).

    Selection (see :mod:`infoclr.refine.select`):
        val_fraction, test_fraction: label splits for selection and the final report.
        select_by: with labels, ``"both"`` (default: the mean of linear-probe and k-NN val
            top-1, and neither may fall below the input's), ``"linear"`` or ``"knn"``.
        eval_every: evaluate a candidate every this many epochs (the last epoch always).
        eval_rows: at most this many rows are refined and scored per candidate.
        num_clusters: K of the unsupervised k-means-stability criterion (None: 10).
        min_gain: a later candidate must beat the best so far by more than this.
    """

    epochs: int = 20
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 0.0
    temperature: float = 0.2
    mask_prob: float = 0.2
    noise_std: float = 0.1
    hidden: int | None = None
    dropout: float = 0.1
    skip: bool = True
    projector: bool = True
    projection_dim: int = 128
    cluster_form: Literal["official", "paper"] = "official"
    seed: int = 0
    device: str = "cpu"
    val_fraction: float = 0.2
    test_fraction: float = 0.2
    select_by: Literal["both", "linear", "knn"] = "both"
    engine: Literal["lightning", "lean"] = "lightning"
    threads: int | None = None
    eval_every: int = 1
    eval_rows: int = 10000
    num_clusters: int | None = None
    min_gain: float = 0.0

    def validate(self) -> None:
        """Raise ConfigError for values no run can use."""
        positive_ints = ("epochs", "batch_size", "eval_every", "eval_rows", "projection_dim")
        for name in positive_ints:
            value = getattr(self, name)
            minimum = 0 if name == "epochs" else 1
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")
        if self.batch_size < 2:
            raise ConfigError(
                f"batch_size must be >= 2 for a contrastive loss, got {self.batch_size}"
            )
        if self.threads is not None and self.threads < 1:
            raise ConfigError(f"threads must be >= 1, got {self.threads}")
        if self.engine not in ("lightning", "lean"):
            raise ConfigError(f"engine must be 'lightning' or 'lean', got {self.engine!r}")
        if self.select_by not in ("both", "linear", "knn"):
            raise ConfigError(
                f"select_by must be 'both', 'linear' or 'knn', got {self.select_by!r}"
            )
        if self.num_clusters is not None and self.num_clusters < 2:
            raise ConfigError(f"num_clusters must be >= 2, got {self.num_clusters}")
        if self.min_gain < 0:
            raise ConfigError(f"min_gain must be >= 0, got {self.min_gain}")
        if not self.device.startswith(("cpu", "cuda", "mps")):
            raise ConfigError(f"device must be cpu, cuda[:i] or mps, got {self.device!r}")
        if self.device.startswith("cuda") and not torch.cuda.is_available():
            raise ConfigError("device 'cuda' was requested but CUDA is not available; use cpu")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class MemmapBatches:
    """Random row batches of a (N, D) array (or memmap), gathered in sorted index order.

    Each epoch draws a fresh permutation and cuts it into ``len(self)`` full batches (the
    remainder is dropped, so BatchNorm never sees a batch of one; a different remainder is
    dropped each epoch). Only the batch's rows are read.

    Yields ``(x, cluster_ids)`` with x (B, D) float32 and cluster_ids (B,) int64 or None.
    """

    def __init__(
        self,
        vectors: np.ndarray,
        batch_size: int,
        seed: int = 0,
        cluster_ids: np.ndarray | None = None,
    ) -> None:
        if vectors.shape[0] < 2:
            raise DataError(f"training needs at least 2 rows, got {vectors.shape[0]}")
        self.vectors = vectors
        self.batch_size = min(batch_size, vectors.shape[0])
        self.cluster_ids = cluster_ids
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return self.vectors.shape[0] // self.batch_size

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
        order = self.rng.permutation(self.vectors.shape[0])
        for index in range(len(self)):
            rows = np.sort(order[index * self.batch_size : (index + 1) * self.batch_size])
            x = torch.from_numpy(np.asarray(self.vectors[rows], dtype=np.float32))
            ids = None if self.cluster_ids is None else torch.from_numpy(self.cluster_ids[rows])
            yield x, ids


@dataclass
class RefineResult:
    """A trained refiner with the selected weights loaded, and how it got there.

    Attributes:
        module: the SimSkip module (eval mode, on the CPU) holding the chosen weights.
        config: the run's configuration.
        stats: per-dimension statistics of the training rows.
        selection: every candidate's scores and the chosen epoch.
        split: the label split (None without labels).
        epoch_losses: mean training loss of each epoch.
        epoch_seconds: wall-clock time of each epoch's training steps.
        eval_seconds: total time spent scoring candidates.
        input_scores: the selection scores of the input vectors themselves (equal to epoch 0's
            for a skip refiner, which starts at the identity).
    """

    module: SimSkip
    config: RefineConfig
    stats: EmbeddingStats
    selection: Selection
    split: LabelSplit | None = None
    epoch_losses: list[float] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)
    eval_seconds: float = 0.0
    input_scores: dict[str, float] = field(default_factory=dict)

    def refine(self, x: np.ndarray | torch.Tensor) -> np.ndarray:
        """Refined (N, D) float32 rows (the un-augmented input through the chosen refiner)."""
        return self.module.refine(x).numpy()


def _missing_to_singletons(cluster_ids: np.ndarray) -> np.ndarray:
    ids = np.asarray(cluster_ids, dtype=np.int64).copy()
    missing = ids < 0
    # A row without a cluster is its own cluster, so it only pairs with its other view
    # (plain NT-Xent for that row).
    ids[missing] = ids.max(initial=-1) + 1 + np.arange(int(missing.sum()))
    return ids


class _Evaluator:
    """Scores candidates on a fixed subset of rows that is read once."""

    def __init__(
        self,
        vectors: np.ndarray,
        config: RefineConfig,
        label_codes: np.ndarray | None,
        cluster_codes: np.ndarray | None,
    ) -> None:
        self.config = config
        rng = np.random.default_rng(config.seed + 1)
        self.split: LabelSplit | None = None
        if label_codes is not None and (label_codes >= 0).any():
            self.split = split_labelled(
                label_codes,
                config.val_fraction,
                config.test_fraction,
                config.seed,
                max_rows=config.eval_rows,
            )
            self.rows = np.concatenate([self.split.fit, self.split.val])
            self.fit_codes = label_codes[self.split.fit]
            self.val_codes = label_codes[self.split.val]
            if config.select_by == "both":
                self.selection = Selection(
                    criterion="mean val top-1 of a linear probe and a k-NN (k=200, T=0.1) "
                    "trained on the fit split, neither below the input's",
                    metric="mean_top1",
                    min_gain=config.min_gain,
                    guards=("linear_top1", "knn_top1"),
                )
            else:
                name = "linear probe" if config.select_by == "linear" else "k-NN (k=200, T=0.1)"
                self.selection = Selection(
                    criterion=f"val top-1 of a {name} trained on the fit split",
                    metric=f"{config.select_by}_top1",
                    min_gain=config.min_gain,
                )
        else:
            num_rows = vectors.shape[0]
            count = min(num_rows, config.eval_rows)
            self.rows = np.sort(rng.choice(num_rows, size=count, replace=False))
            if config.num_clusters is not None:
                clusters = config.num_clusters
            elif cluster_codes is not None and (cluster_codes >= 0).any():
                clusters = len(np.unique(cluster_codes[cluster_codes >= 0]))
            else:
                clusters = 10
            self.num_clusters = int(max(2, min(clusters, count // 10)))
            if count < 20:
                raise DataError(
                    f"the unsupervised selection needs at least 20 rows, got {count}; "
                    "pass --labels or more rows"
                )
            self.halves = [rng.choice(count, size=count // 2, replace=False) for _ in range(4)]
            self.selection = Selection(
                criterion=f"k-means stability (mean pairwise ARI, K={self.num_clusters}, "
                "4 random halves)",
                metric="kmeans_stability",
                min_gain=config.min_gain,
            )
        # Sorted so that a memmap is read front to back.
        order = np.argsort(self.rows)
        self.inputs = np.asarray(vectors[self.rows[order]], dtype=np.float32)[np.argsort(order)]

    def score(self, module: SimSkip | None) -> dict[str, float]:
        """Scores of the refined evaluation rows (of the rows themselves for None)."""
        refined = self.inputs if module is None else module.refine(self.inputs).numpy()
        if not np.isfinite(refined).all():
            # Weights that produce NaN/inf can never be the kept candidate.
            return {key: float("-inf") for key in (self.selection.metric, *self.selection.guards)}
        if self.split is not None:
            cut = len(self.split.fit)
            scores = probe_scores(refined[:cut], self.fit_codes, refined[cut:], self.val_codes)
            scores["mean_top1"] = 0.5 * (scores["linear_top1"] + scores["knn_top1"])
            return scores
        return {
            "kmeans_stability": kmeans_stability(
                refined, self.num_clusters, self.halves, seed=self.config.seed
            )
        }


class _Run:
    """Bookkeeping shared by both training drivers: losses, timings, candidates, divergence."""

    def __init__(
        self,
        module: SimSkip,
        evaluator: _Evaluator,
        config: RefineConfig,
        steps_per_epoch: int,
        on_step: Callable[[int, int, int, float], None] | None,
        on_epoch: Callable[[int, float, dict[str, float] | None], None] | None,
        on_candidate: Callable[[int, SimSkip], None] | None,
    ) -> None:
        self.module = module
        self.evaluator = evaluator
        self.selection = evaluator.selection
        self.config = config
        self.steps_per_epoch = steps_per_epoch
        self.on_step, self.on_epoch, self.on_candidate = on_step, on_epoch, on_candidate
        self.epoch_losses: list[float] = []
        self.epoch_seconds: list[float] = []
        self.eval_seconds = 0.0
        self.stopped: str | None = None
        self._epoch_started = 0.0
        self._loss_total = 0.0
        self.best_state: dict[str, Tensor] = {}
        self._score(0)

    def _score(self, epoch: int) -> dict[str, float]:
        started = time.perf_counter()
        scores = self.evaluator.score(self.module)
        self.eval_seconds += time.perf_counter() - started
        if self.selection.offer(epoch, scores):
            self.best_state = copy.deepcopy(self.module.state_dict())
        if self.on_candidate is not None:
            self.on_candidate(epoch, self.module)
        return scores

    def epoch_start(self) -> None:
        self._epoch_started = time.perf_counter()
        self._loss_total = 0.0

    def step_end(self, epoch: int, step: int, loss: Tensor) -> bool:
        """Record one step; returns False (and stops the run) when the loss is not finite."""
        value = float(loss.detach())
        if not math.isfinite(value):
            # Diverged: the weights are no longer usable, so stop and keep the best
            # candidate so far (epoch 0 at worst).
            self.stopped = f"training loss became {value} at epoch {epoch} step {step}; stopped"
            return False
        self._loss_total += value
        if self.on_step is not None:
            self.on_step(epoch, step, self.steps_per_epoch, value)
        return True

    def epoch_end(self, epoch: int) -> None:
        self.epoch_seconds.append(time.perf_counter() - self._epoch_started)
        if self.stopped is not None:
            return
        self.epoch_losses.append(self._loss_total / max(self.steps_per_epoch, 1))
        scores = None
        if epoch % self.config.eval_every == 0 or epoch == self.config.epochs:
            scores = self._score(epoch)
        if self.on_epoch is not None:
            self.on_epoch(epoch, self.epoch_losses[-1], scores)


def _train_lean(module: SimSkip, batches: MemmapBatches, config: RefineConfig, run: _Run) -> None:
    """A plain loop over :meth:`SimSkip.training_step` (the measured alternative)."""
    device = torch.device(config.device)
    module.to(device)
    optimizer = module.configure_optimizers()
    for epoch in range(1, config.epochs + 1):
        module.train()
        run.epoch_start()
        for step, (x, ids) in enumerate(batches):
            x = x.to(device, non_blocking=True)
            batch = x if ids is None else (x, ids.to(device, non_blocking=True))
            loss = module.training_step(batch, step)
            if not run.step_end(epoch, step + 1, loss):
                break
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        run.epoch_end(epoch)
        if run.stopped is not None:
            return


class _EpochOfBatches(torch.utils.data.IterableDataset):
    """One epoch of :class:`MemmapBatches` as an iterable dataset (already batched)."""

    def __init__(self, batches: MemmapBatches) -> None:
        self.batches = batches

    def __iter__(self) -> Iterator[Tensor | tuple[Tensor, Tensor]]:
        for x, ids in self.batches:
            yield x if ids is None else (x, ids)

    def __len__(self) -> int:
        return len(self.batches)


class _RunCallback(L.Callback):
    """Feeds Lightning's loop events into :class:`_Run`."""

    def __init__(self, run: _Run) -> None:
        self.run = run

    def on_train_epoch_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self.run.epoch_start()

    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        loss = outputs["loss"] if isinstance(outputs, dict) else outputs
        if not self.run.step_end(trainer.current_epoch + 1, batch_idx + 1, loss):
            trainer.should_stop = True

    def on_train_epoch_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self.run.epoch_end(trainer.current_epoch + 1)


def _train_lightning(
    module: SimSkip, batches: MemmapBatches, config: RefineConfig, run: _Run
) -> None:
    """Train with a Lightning ``Trainer`` over the memmap batches (the default)."""
    for name in ("lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)
    if config.device.startswith("cuda"):
        index = config.device.partition(":")[2]
        accelerator, devices = "gpu", [int(index)] if index else 1
    else:
        accelerator, devices = config.device.split(":")[0], 1
    trainer = L.Trainer(
        max_epochs=config.epochs,
        accelerator=accelerator,
        devices=devices,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        callbacks=[_RunCallback(run)],
    )
    loader = torch.utils.data.DataLoader(_EpochOfBatches(batches), batch_size=None)
    with warnings.catch_warnings():
        # Lightning suggests workers and warns about a sized IterableDataset; the batches are
        # gathered from a memmap in this process on purpose, and the length is exact.
        warnings.filterwarnings("ignore", ".*does not have many workers.*")
        warnings.filterwarnings("ignore", ".*IterableDataset.*__len__.*")
        warnings.filterwarnings("ignore", ".*LeafSpec.*")
        trainer.fit(module, loader)


def fit_refiner(
    vectors: np.ndarray,
    config: RefineConfig | None = None,
    label_codes: np.ndarray | None = None,
    cluster_codes: np.ndarray | None = None,
    stats: EmbeddingStats | None = None,
    on_step: Callable[[int, int, int, float], None] | None = None,
    on_epoch: Callable[[int, float, dict[str, float] | None], None] | None = None,
    on_candidate: Callable[[int, SimSkip], None] | None = None,
) -> RefineResult:
    """Train a SimSkip refiner on (N, D) rows and keep the best evaluated epoch.

    Args:
        vectors: (N, D) numeric rows; a memmap is read batch by batch, never whole.
        config: the run's configuration (default :class:`RefineConfig`).
        label_codes: (N,) int64 label codes, −1 = unlabelled. With at least some labels,
            selection scores a probe on a held-out split; without, k-means stability.
        cluster_codes: (N,) int64 auxiliary cluster ids, −1 = none. Switches the loss to
            Cl-InfoNCE (weakly supervised refinement; Tsai et al. 2021, official form).
        stats: per-dimension statistics of ``vectors`` (computed here when None, in one
            streaming pass that also rejects NaN/inf rows).
        on_step: called as ``on_step(epoch, step, steps_per_epoch, loss)`` after every step.
        on_epoch: called as ``on_epoch(epoch, mean_loss, scores or None)`` after every epoch.
        on_candidate: called as ``on_candidate(epoch, module)`` with the module as it is at
            every scored candidate (epoch 0 included), e.g. to score it another way; the
            callback must not change the module.

    Returns:
        A :class:`RefineResult` whose module holds the chosen weights.
    """
    config = config or RefineConfig()
    config.validate()
    previous_threads = torch.get_num_threads()
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    try:
        return _fit(
            vectors, config, label_codes, cluster_codes, stats, on_step, on_epoch, on_candidate
        )
    finally:
        torch.set_num_threads(previous_threads)


def _fit(
    vectors: np.ndarray,
    config: RefineConfig,
    label_codes: np.ndarray | None,
    cluster_codes: np.ndarray | None,
    stats: EmbeddingStats | None,
    on_step: Callable[[int, int, int, float], None] | None,
    on_epoch: Callable[[int, float, dict[str, float] | None], None] | None,
    on_candidate: Callable[[int, SimSkip], None] | None,
) -> RefineResult:
    if vectors.ndim != 2:
        raise DataError(f"vectors must be 2-D (rows, dim), got shape {tuple(vectors.shape)}")
    num_rows, dim = vectors.shape
    for name, codes in (("labels", label_codes), ("clusters", cluster_codes)):
        if codes is not None and len(codes) != num_rows:
            raise DataError(
                f"{name} has {len(codes)} values but there are {num_rows} rows; give one per row"
            )
    stats = stats or scan_embeddings(vectors)
    torch.manual_seed(config.seed)
    module = SimSkip(
        dim,
        hidden=config.hidden,
        dropout=config.dropout,
        skip=config.skip,
        projector=config.projector,
        projection_dim=config.projection_dim,
        temperature=config.temperature,
        lr=config.lr,
        weight_decay=config.weight_decay,
        mask_prob=config.mask_prob,
        noise_std=config.noise_std,
        feature_mean=torch.from_numpy(stats.mean),
        feature_std=torch.from_numpy(stats.std),
        cluster_form=config.cluster_form,
    )
    clusters = None if cluster_codes is None else _missing_to_singletons(cluster_codes)
    batches = MemmapBatches(vectors, config.batch_size, config.seed, clusters)
    evaluator = _Evaluator(vectors, config, label_codes, cluster_codes)
    run = _Run(module, evaluator, config, len(batches), on_step, on_epoch, on_candidate)
    # A skip refiner starts at the identity, so its epoch 0 already is the input.
    input_scores = dict(run.selection.candidates[0]) if config.skip else evaluator.score(None)
    input_scores.pop("epoch", None)
    if config.epochs > 0:
        if config.engine == "lightning":
            _train_lightning(module, batches, config, run)
        else:
            _train_lean(module, batches, config, run)
    selection = run.selection
    selection.explain(identity_at_zero=config.skip)
    if run.stopped is not None:
        selection.reason = f"{run.stopped}; {selection.reason}"
    module.load_state_dict(run.best_state)
    module.cpu().eval()
    return RefineResult(
        module=module,
        config=config,
        stats=stats,
        selection=selection,
        split=evaluator.split,
        epoch_losses=run.epoch_losses,
        epoch_seconds=run.epoch_seconds,
        eval_seconds=run.eval_seconds,
        input_scores=input_scores,
    )
