"""Lightning callbacks: the online k-NN monitor and k-means re-clustering of pretraining, and
the epoch seeds, loss watch and candidate selection of refinement.

Each keeps its history in ``state_dict()``, which Lightning stores in every checkpoint, so that
a resumed run reports the history of the whole run, not only of the part after the resume.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import lightning as L
import numpy as np
import torch
from torch import Tensor, nn

from infoclr import distributed
from infoclr.evaluation.features import extract_features
from infoclr.runs import EpochLog

#: A source of un-augmented batches for evaluation: a callable that yields (images, labels).
BatchSource = Callable[[], Iterator[tuple[Tensor, Tensor]]]

__all__ = [
    "BatchSource",
    "CandidateSelection",
    "EpochSeeds",
    "KMeansReclustering",
    "KNNMonitor",
    "LossWatch",
    "RunClock",
    "RunRecord",
    "StopOnNonFinite",
    "TrainContext",
    "epoch_seed",
]


@dataclass
class TrainContext:
    """What a method's callbacks may need from the job (see ``MethodOptions.callbacks``)."""

    train_batches: BatchSource
    eval_view: nn.Module
    seed: int


class KNNMonitor(L.Callback):
    """Every ``every_n_epochs`` epochs, log the cosine k-NN top-1 of frozen backbone features
    (train set as memory bank, test set as queries) as ``val/knn_top1``."""

    def __init__(
        self,
        train_batches: BatchSource,
        test_batches: BatchSource,
        eval_view: nn.Module,
        every_n_epochs: int = 10,
        k: int = 200,
        temperature: float = 0.1,
    ) -> None:
        self.train_batches, self.test_batches = train_batches, test_batches
        self.eval_view = eval_view
        self.every_n_epochs, self.k, self.temperature = every_n_epochs, k, temperature
        self.history: list[tuple[int, float]] = []

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        epoch = trainer.current_epoch + 1
        if self.every_n_epochs <= 0 or (
            epoch % self.every_n_epochs and epoch != trainer.max_epochs
        ):
            return
        from infoclr.evaluation.knn import knn_top1

        device = pl_module.device
        eval_view = self.eval_view.to(device)
        backbone = pl_module.backbone
        train_f, train_y = extract_features(backbone, self.train_batches, eval_view, device)
        test_f, test_y = extract_features(backbone, self.test_batches, eval_view, device)
        top1 = knn_top1(train_f, train_y, test_f, test_y, k=self.k, temperature=self.temperature)
        self.history.append((epoch, top1))
        pl_module.log("val/knn_top1", top1, prog_bar=True, sync_dist=False, rank_zero_only=True)

    def state_dict(self) -> dict[str, Any]:
        return {"history": [list(item) for item in self.history]}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.history = [(int(epoch), float(value)) for epoch, value in state_dict["history"]]


class KMeansReclustering(L.Callback):
    """Cl-InfoNCE's unsupervised variant: before every ``every_n_epochs``-th epoch, embed the
    training set (centre view, L2-normalised projection), run faiss k-means with
    ``num_clusters`` clusters, and use the nearest-centroid ids as the clusters.

    When labels exist, logs ``clusters/I_ZT`` and ``clusters/H_Z_given_T`` (bits) each time.
    Under DDP rank 0 clusters and broadcasts, so every rank trains on the same ids.
    """

    def __init__(
        self,
        train_batches: BatchSource,
        eval_view: nn.Module,
        num_clusters: int,
        every_n_epochs: int = 1,
        niter: int = 20,
        seed: int = 0,
    ) -> None:
        self.train_batches = train_batches
        self.eval_view = eval_view
        self.num_clusters, self.every_n_epochs = num_clusters, every_n_epochs
        self.niter, self.seed = niter, seed
        self.history: list[dict[str, float]] = []

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.current_epoch % self.every_n_epochs:
            return
        from infoclr.clusters.faiss_kmeans import kmeans

        device = pl_module.device
        ids = torch.zeros_like(pl_module.cluster_ids)
        labels = None
        if distributed.rank() == 0:
            feats, labels = extract_features(
                pl_module.backbone,
                self.train_batches,
                self.eval_view.to(device),
                device,
                head=pl_module.projector,
            )
            assigned, _ = kmeans(
                feats.numpy(),
                self.num_clusters,
                niter=self.niter,
                seed=self.seed + trainer.current_epoch,
            )
            ids = torch.as_tensor(assigned, dtype=torch.long, device=ids.device)
        if distributed.is_distributed():
            torch.distributed.broadcast(ids, src=0)
        pl_module.set_clusters(ids)
        if labels is not None and bool((labels >= 0).all()):
            from infoclr.clusters.stats import cluster_statistics

            stats = cluster_statistics(ids.cpu().numpy(), labels.numpy()).as_dict()
            record = {
                "epoch": float(trainer.current_epoch),
                **{k: float(v) for k, v in stats.items() if isinstance(v, (int, float))},
            }
            self.history.append(record)
            pl_module.log("clusters/I_ZT", float(stats["I(Z;T)"]), rank_zero_only=True)
            pl_module.log("clusters/H_Z_given_T", float(stats["H(Z|T)"]), rank_zero_only=True)

    def state_dict(self) -> dict[str, Any]:
        return {"history": list(self.history)}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.history = list(state_dict["history"])


def epoch_seed(seed: int, epoch: int) -> int:
    """The seed of epoch ``epoch``: every epoch's random draws (views, masks, noise) depend
    only on the run's seed and the epoch, so a resumed run replays them exactly."""
    return (seed * 1_000_003 + epoch * 7_919 + 12_345) % (2**31 - 1)


class EpochSeeds(L.Callback):
    """Re-seed torch, numpy and random at the start of every epoch (see :func:`epoch_seed`).

    Together with the per-epoch shuffling of :func:`~infoclr.data.loaders.train_loader` and the
    callbacks' saved state, this makes ``--resume`` after a kill give the same weights and
    metrics as an uninterrupted run with the same seed.
    """

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        import random

        value = epoch_seed(self.seed, trainer.current_epoch)
        random.seed(value)
        np.random.seed(value)
        torch.manual_seed(value)


class RunClock(L.Callback):
    """Training time, images seen and wall time of the whole run, across resumed parts.

    Its state is saved in every checkpoint, so ``metrics.json`` of a resumed run covers the
    whole run, not only the part after the resume.
    """

    def __init__(self, images_per_step: int) -> None:
        import time

        self.images_per_step = images_per_step
        self.train_seconds = 0.0
        self.epoch_seconds: list[float] = []
        self.steps = 0
        self.parts = 1
        self.wall_before = 0.0
        self._part_started = time.perf_counter()
        self._epoch_started: float | None = None

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        import time

        self._epoch_started = time.perf_counter()

    def on_train_batch_end(self, trainer: L.Trainer, *args: Any) -> None:
        self.steps += 1

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        import time

        if self._epoch_started is not None:
            seconds = time.perf_counter() - self._epoch_started
            self.train_seconds += seconds
            self.epoch_seconds.append(round(seconds, 3))
            self._epoch_started = None

    def wall_seconds(self) -> float:
        import time

        return self.wall_before + (time.perf_counter() - self._part_started)

    def summary(self) -> dict[str, Any]:
        images = self.steps * self.images_per_step
        return {
            "train_seconds": round(self.train_seconds, 3),
            "images_per_second": round(images / max(self.train_seconds, 1e-9), 1),
            "epoch_seconds": list(self.epoch_seconds),
            "run_parts": self.parts,
        }

    def state_dict(self) -> dict[str, Any]:
        return {
            "train_seconds": self.train_seconds,
            "epoch_seconds": list(self.epoch_seconds),
            "steps": self.steps,
            "parts": self.parts,
            "wall_seconds": self.wall_seconds(),
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.train_seconds = float(state_dict["train_seconds"])
        self.epoch_seconds = [float(v) for v in state_dict.get("epoch_seconds", [])]
        self.steps = int(state_dict["steps"])
        self.parts = int(state_dict["parts"]) + 1
        self.wall_before = float(state_dict["wall_seconds"])


class StopOnNonFinite(L.Callback):
    """Stop with a one-line error when the training loss becomes NaN or inf.

    The loss is checked every ``every_n_steps`` steps and at each epoch's end, not at every
    step: on a GPU each check waits for the device, and the loss modules no longer check
    their inputs inside training.
    """

    def __init__(self, every_n_steps: int = 50) -> None:
        self.every_n_steps = max(1, every_n_steps)
        self._finite: Tensor | None = None

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, *args: Any
    ) -> None:
        loss = outputs["loss"] if isinstance(outputs, dict) else outputs
        if loss is None:
            return
        finite = torch.isfinite(loss.detach()).all()
        self._finite = finite if self._finite is None else self._finite & finite
        if (trainer.global_step % self.every_n_steps) == 0:
            self._check(trainer)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._check(trainer)

    def _check(self, trainer: L.Trainer) -> None:
        if self._finite is None or bool(self._finite):
            return
        from infoclr.errors import TrainingDiverged

        raise TrainingDiverged(
            f"the training loss became non-finite by epoch {trainer.current_epoch + 1} "
            f"(step {trainer.global_step}); lower the learning rate (--lr) or raise the "
            "temperature, then start a new run"
        )


class LossWatch(L.Callback):
    """Mean loss and time of every epoch, with few host synchronisations.

    Step losses are summed on the device; the sum is read every ``sync_every`` steps and at
    the end of each epoch. A non-finite value stops training: :attr:`stopped` says where, and
    the epoch is not a candidate. ``on_progress(epoch, steps_done, steps_per_epoch, mean_loss)``
    is called at each read.
    """

    def __init__(
        self,
        sync_every: int = 25,
        on_progress: Callable[[int, int, int, float], None] | None = None,
    ) -> None:
        self.sync_every, self.on_progress = sync_every, on_progress
        self.epochs = EpochLog()
        self.stopped: str | None = None
        self._total: Tensor | None = None
        self._steps = 0
        self._started = self._cpu_started = 0.0

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._total, self._steps, self._started = None, 0, time.perf_counter()
        self._cpu_started = time.process_time()

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, idx: int
    ) -> None:
        loss = (outputs["loss"] if isinstance(outputs, dict) else outputs).detach()
        self._total = loss if self._total is None else self._total + loss
        self._steps += 1
        if self._steps % self.sync_every == 0:
            self._read(trainer)

    def _read(self, trainer: L.Trainer) -> float:
        mean = float(self._total) / max(self._steps, 1) if self._total is not None else 0.0
        epoch = trainer.current_epoch + 1
        if not math.isfinite(mean) and self.stopped is None:
            self.stopped = f"the training loss became {mean} in epoch {epoch}"
            trainer.should_stop = True
        if self.on_progress is not None:
            self.on_progress(epoch, self._steps, int(trainer.num_training_batches), mean)
        return mean

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        mean = self._read(trainer)
        self.epochs.seconds.append(time.perf_counter() - self._started)
        self.epochs.cpu_seconds.append(time.process_time() - self._cpu_started)
        if self.stopped is None:
            self.epochs.losses.append(mean)

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.stopped is not None:  # resumed from the checkpoint of a diverged epoch
            trainer.should_stop = True

    def state_dict(self) -> dict[str, Any]:
        return {**self.epochs.as_dict(), "stopped": self.stopped}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.epochs = EpochLog.from_dict(state_dict)
        self.stopped = state_dict["stopped"]


class CandidateSelection(L.Callback):
    """Score the refiner as a candidate before training and after every ``eval_every``-th epoch
    (and the last); keep a copy of the weights of the kept candidate.

    Args:
        scorer: an :class:`~infoclr.evaluation.selection.CandidateScorer`; ``scorer.selection``
            records the candidates.
        eval_every: score every this many epochs.
        watch: the run's :class:`LossWatch`; an epoch whose loss was not finite is no candidate.
        on_epoch: called as ``on_epoch(epoch, scores or None, module)`` before training
            (epoch 0) and after every epoch, with the module as it is then (it must not change
            it), e.g. to score candidates another way or keep the last epoch.
    """

    def __init__(
        self,
        scorer: Any,
        eval_every: int,
        watch: LossWatch,
        on_epoch: Callable[[int, dict[str, float] | None, Any], None] | None = None,
    ) -> None:
        self.scorer, self.selection = scorer, scorer.selection
        self.eval_every, self.watch, self.on_epoch = eval_every, watch, on_epoch
        self.best_state: dict[str, Tensor] = {}
        self.eval_seconds = 0.0

    def _offer(self, epoch: int, pl_module: L.LightningModule) -> dict[str, float]:
        started = time.perf_counter()
        scores = self.scorer.score(pl_module.refine)
        self.eval_seconds += time.perf_counter() - started
        if self.selection.offer(epoch, scores):
            self.best_state = copy.deepcopy(pl_module.state_dict())
        return scores

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not self.selection.candidates:  # a resumed run restored them
            scores = self._offer(0, pl_module)
            if self.on_epoch is not None:
                self.on_epoch(0, scores, pl_module)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        epoch = trainer.current_epoch + 1
        scores = None
        due = epoch % self.eval_every == 0 or epoch == trainer.max_epochs
        if self.watch.stopped is None and due:
            scores = self._offer(epoch, pl_module)
        if self.on_epoch is not None:
            self.on_epoch(epoch, scores, pl_module)

    def state_dict(self) -> dict[str, Any]:
        return {
            "selection": self.selection.as_dict(),
            "best_state": self.best_state,
            "eval_seconds": self.eval_seconds,
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.selection.load(state_dict["selection"])
        self.best_state = state_dict["best_state"]
        self.eval_seconds = float(state_dict["eval_seconds"])


class RunRecord(L.Callback):
    """Store ``record`` (what run this is: input, settings) as ``checkpoint["infoclr_run"]``,
    so that a resume can check that it continues the same run."""

    def __init__(self, record: dict[str, Any]) -> None:
        self.record = record

    def on_save_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        checkpoint["infoclr_run"] = self.record
