"""Training with candidate selection and the guard for the pairs objective (:mod:`.pairs`).

Labelled rows train on the refine engine (:func:`infoclr.refine.fit_refiner`, through
:func:`infoclr.adapters.fit_labelled`); this lean loop remains for query/document pairs only.

The loop trains a :class:`VectorAdapter` for ``config.epochs`` epochs. The input itself is
candidate 0; after every ``eval_every`` epochs (and the last) the adapter is a candidate too.
Candidates are scored on the *select* rows and the best one is kept (ties keep the earlier, so
the input wins ties); the guard then compares that one candidate with the input on the *guard*
rows, which played no part in training or in the choice, and the output is the candidate only
when the guard accepts it (:func:`infoclr.evaluation.guard.guard`).

Rows are read batch by batch in sorted order from the (memory-mapped) input: memory stays
O(batch) beyond the input, the evaluation rows and the model.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from infoclr.adapters.config import AdapterConfig
from infoclr.errors import DataError
from infoclr.evaluation.guard import GuardDecision
from infoclr.evaluation.selection import gather_rows  # re-exported for the pairs objective
from infoclr.runs import EpochLog

__all__ = [
    "AdapterResult",
    "Training",
    "VectorAdapter",
    "gather_rows",
    "row_batches",
    "train_with_selection",
]


def row_batches(count: int, batch_size: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """One epoch of random batches of positions ``0..count-1``; the remainder is dropped (a
    different one each epoch), so BatchNorm never sees a batch of one."""
    size = min(batch_size, count)
    order = rng.permutation(count)
    for start in range(0, count - size + 1, size):
        yield order[start : start + size]


class VectorAdapter(nn.Module):
    """The refiner ``h = x + F(x)`` with the parts an objective may need.

    * ``refiner``: :class:`~infoclr.models.refiner.Refiner` (SimSkip's skip-connected residual
      MLP on standardised inputs; F starts at zero, so the adapter starts at the identity).
    * ``projector``: optional :class:`~infoclr.models.heads.ProjectionHead` (d → d → 128); when
      absent, the loss sees the refined vectors themselves, in the input's coordinates.
    * ``views``: two :class:`~infoclr.augment.embedding.EmbeddingViews`, one per view (the same
      one twice unless ``augment="one_per_view"``); masked entries become the dimension's mean
      or zero, noise is δ·std per dimension or a fixed δ (SimSkip's reported form).
    * ``standardize=False``: the refiner sees raw x (``h = x + F(x)``) instead of
      ``(x − mean) / std``.

    Shapes: ``forward`` (N, d) → (N, d); ``embed`` (N, d) → (N, 128 or d).
    """

    def __init__(self, dim: int, mean: np.ndarray, std: np.ndarray, config: AdapterConfig) -> None:
        super().__init__()
        from infoclr.augment.embedding import EmbeddingViews
        from infoclr.models.heads import ProjectionHead
        from infoclr.models.refiner import Refiner

        mean_t = torch.as_tensor(np.asarray(mean), dtype=torch.float32)
        std_t = torch.as_tensor(np.asarray(std), dtype=torch.float32)
        mask_value, noise_scale, standardize = config.views()
        if standardize:
            self.refiner = Refiner(dim, config.hidden, config.dropout, config.skip, mean_t, std_t)
        else:
            self.refiner = Refiner(dim, config.hidden, config.dropout, config.skip)
        self.projector = ProjectionHead(dim) if config.projector else None
        fill = mean_t if mask_value == "mean" else 0.0
        scale = std_t if noise_scale == "per_dim" else None
        if config.augment == "both":
            first = EmbeddingViews(config.mask_prob, config.noise_std, scale, fill)
            second = first
        else:  # view 1 masked only, view 2 noised only
            first = EmbeddingViews(config.mask_prob, 0.0, scale, fill)
            second = EmbeddingViews(0.0, config.noise_std, scale, fill)
        self.views = nn.ModuleList([first, second])

    def view_pair(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Two random views of (N, d) rows (see :class:`AdapterConfig`'s view options)."""
        return self.views[0](x), self.views[1](x)

    def forward(self, x: Tensor) -> Tensor:
        return self.refiner(x)

    def embed(self, x: Tensor) -> Tensor:
        """What the contrastive loss compares: g(h) in standardised coordinates, or h."""
        if self.projector is None:
            return self.refiner(x)
        return self.projector(self.refiner.standardized(x))

    @torch.no_grad()
    def refine(self, x: np.ndarray, batch_size: int = 8192) -> np.ndarray:
        """Refined (N, d) float32 rows in eval mode (the train/eval mode is restored)."""
        was_training = self.training
        self.eval()
        try:
            device = self.refiner.feature_std.device
            chunks = []
            for start in range(0, len(x), batch_size):
                # A copy: a memory-mapped input is read-only, which torch must not wrap.
                rows = torch.from_numpy(np.array(x[start : start + batch_size], np.float32))
                chunks.append(self.refiner(rows.to(device)).cpu().numpy())
        finally:
            self.train(was_training)
        return np.concatenate(chunks) if chunks else np.zeros((0, self.refiner.dim), np.float32)


@dataclass
class AdapterResult:
    """A trained adapter, the candidate that was chosen, and the guard's decision.

    Attributes:
        adapter: the model holding the chosen candidate's weights (eval mode, CPU): a
            :class:`VectorAdapter` (pairs) or a :class:`~infoclr.methods.simskip.SimSkip`
            module (labelled rows); either has ``refine(rows) -> rows``.
        last_state: the weights after the last epoch (the unselected output).
        chosen_epoch: the candidate the select rows preferred (0 = the input).
        accepted: whether the guard let the chosen candidate replace the input.
        decision: the guard's decision (None when the input itself was chosen).
        reason: one sentence on what the output is and why.
        candidates: ``{"epoch": e, <score>: value, ...}`` for every scored candidate.
        config: the run's settings.
        split: row (or query) indices of the ``train``, ``select`` and ``guard`` parts (and
            ``trained``: every row the loss saw, labelled or not).
        epochs: each epoch's mean training loss, wall-clock and CPU time.
        query_only: the adapter applies to queries only (pairs).
    """

    adapter: nn.Module
    last_state: dict[str, Tensor]
    chosen_epoch: int
    accepted: bool
    decision: GuardDecision | None
    reason: str
    candidates: list[dict[str, float]]
    config: AdapterConfig
    split: dict[str, np.ndarray]
    epochs: EpochLog = field(default_factory=EpochLog)
    query_only: bool = False

    def refine(self, x: np.ndarray, which: str = "output") -> np.ndarray:
        """Rows through ``"output"`` (the chosen candidate if the guard accepted it, else the
        input unchanged), ``"chosen"`` (the chosen candidate regardless) or ``"last"``."""
        if which == "output":
            if not self.accepted:
                return np.asarray(x, dtype=np.float32)
            return self.adapter.refine(x)
        if which == "chosen":
            return np.asarray(x, np.float32) if self.chosen_epoch == 0 else self.adapter.refine(x)
        if which == "last":
            chosen = copy.deepcopy(self.adapter.state_dict())
            self.adapter.load_state_dict(self.last_state)
            try:
                return self.adapter.refine(x)
            finally:
                self.adapter.load_state_dict(chosen)
        raise ValueError(f"which must be 'output', 'chosen' or 'last', got {which!r}")

    def refine_documents(self, x: np.ndarray, which: str = "output") -> np.ndarray:
        """Documents for the index: unchanged for a query-only adapter, else :meth:`refine`."""
        return np.asarray(x, np.float32) if self.query_only else self.refine(x, which)

    def summary(self) -> dict[str, Any]:
        """JSON-friendly record for a report."""
        return {
            "chosen_epoch": self.chosen_epoch,
            "accepted": self.accepted,
            "reason": self.reason,
            "guard": None if self.decision is None else self.decision.as_dict(),
            "candidates": self.candidates,
            "split": {k: int(len(v)) for k, v in self.split.items()},
            **self.epochs.as_dict(),
        }


@dataclass
class Training:
    """What :func:`train_with_selection` did: the chosen epoch (0 = the input), every scored
    candidate, per-epoch losses and times, and the weights after the last epoch."""

    chosen_epoch: int
    candidates: list[dict[str, float]]
    epochs: EpochLog
    last_state: dict[str, Tensor]


def _check_rows(count: int) -> None:
    if count < 2:
        raise DataError(f"training needs at least 2 rows, got {count}")


def train_with_selection(
    adapter: VectorAdapter,
    config: AdapterConfig,
    train_count: int,
    batch_loss: Callable[[np.ndarray], Tensor],
    select_score: Callable[[VectorAdapter | None], float],
    on_epoch: Callable[[int, float, float | None], None] | None = None,
) -> Training:
    """Train for ``config.epochs`` epochs and keep the candidate the select rows prefer.

    Args:
        adapter: the model (starts at the identity when ``config.skip``).
        config: epochs, batch size, optimiser, ``eval_every``, seed.
        train_count: the number of training items; batches are positions into them.
        batch_loss: the loss of one batch of positions.
        select_score: the selection score of a candidate (None = the input itself).
        on_epoch: called as ``on_epoch(epoch, mean_loss, score or None)``.

    Returns:
        A :class:`Training`; the adapter holds the chosen candidate's weights when this
        returns (epoch 0: the initial ones).
    """
    _check_rows(train_count)
    device = torch.device(config.device)
    adapter.to(device)
    optimizer = torch.optim.Adam(
        adapter.parameters(), lr=config.lr, weight_decay=config.resolved_weight_decay()
    )
    rng = np.random.default_rng(config.seed)
    candidates = [{"epoch": 0, "score": select_score(None)}]
    best, best_state = candidates[0]["score"], copy.deepcopy(adapter.state_dict())
    chosen, log = 0, EpochLog()
    for epoch in range(1, config.epochs + 1):
        adapter.train()
        started, cpu, total, steps = time.perf_counter(), time.process_time(), 0.0, 0
        for positions in row_batches(train_count, config.batch_size, rng):
            loss = batch_loss(positions)
            value = float(loss.detach())
            if not math.isfinite(value):
                break
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total, steps = total + value, steps + 1
        log.seconds.append(time.perf_counter() - started)
        log.cpu_seconds.append(time.process_time() - cpu)
        loss_mean = total / max(steps, 1)
        log.losses.append(loss_mean)
        diverged = steps == 0 or not math.isfinite(loss_mean)
        score = None
        if not diverged and (epoch % config.eval_every == 0 or epoch == config.epochs):
            adapter.eval()
            score = select_score(adapter)
            candidates.append({"epoch": epoch, "score": score})
            if score > best:
                best, chosen, best_state = score, epoch, copy.deepcopy(adapter.state_dict())
        if on_epoch is not None:
            on_epoch(epoch, loss_mean, score)
        if diverged:
            break
    last_state = copy.deepcopy(adapter.state_dict())
    adapter.load_state_dict(best_state)
    adapter.cpu().eval()
    last = {k: v.cpu() for k, v in last_state.items()}
    return Training(chosen, candidates, log, last)
