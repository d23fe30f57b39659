"""A memory bank of negatives: a queue of past projections with their group ids.

:class:`MemoryBankLoss` is SupCon L_out over the batch whose denominators also hold the last K
projections of earlier batches (the math: :func:`infoclr.functional.sup_con` with ``memory=``).
It serves NT-Xent (group ids = the inputs' data-set indices), SupCon (labels) and Cl-InfoNCE
(cluster ids), so that a small batch meets as many negatives as the bank holds.

State and its consequences:

* the bank (:class:`MemoryBank`) is made of buffers, so it is saved in every checkpoint and a
  resumed run continues with the queue it had;
* under DDP with ``gather_distributed=True`` (default) every rank's anchors meet the whole
  global batch plus the bank, and every rank enqueues the whole global batch, so the banks stay
  identical across ranks and rank 0's checkpoint holds the one bank there is. With
  ``gather_distributed=False`` each rank keeps a bank of its own rows (resuming gives every rank
  rank 0's bank);
* rows are enqueued after the loss of a training step (``module.training``), never in eval mode;
* the bank's rows come from older weights (stale): a large bank behind a fast-changing encoder
  adds noisy negatives. MoCo's momentum encoder is the usual cure; infoclr keeps the plain queue.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from infoclr.errors import InfoclrError
from infoclr.functional.contrastive import _STACKED_IDS, check_ids, check_rows
from infoclr.losses.contrastive import _GroupContrastive

__all__ = ["MemoryBank", "MemoryBankLoss"]


class MemoryBank(nn.Module):
    """A first-in-first-out queue of ``size`` rows of dimension ``dim`` with integer ids.

    Buffers: ``rows`` (size, dim) float32, ``ids`` (size,) int64, ``count`` (rows filled) and
    ``pointer`` (next slot). They are part of the state dict.
    """

    def __init__(self, size: int, dim: int) -> None:
        super().__init__()
        if size < 1 or dim < 1:
            raise InfoclrError(f"a memory bank needs size >= 1 and dim >= 1, got {size}, {dim}")
        self.register_buffer("rows", torch.zeros(size, dim))
        self.register_buffer("ids", torch.full((size,), -1, dtype=torch.long))
        self.register_buffer("count", torch.zeros((), dtype=torch.long))
        self.register_buffer("pointer", torch.zeros((), dtype=torch.long))

    @property
    def size(self) -> int:
        return int(self.rows.shape[0])

    def contents(self) -> tuple[Tensor, Tensor]:
        """The filled rows (n, dim) and their ids (n,), n <= size (slot order, not age)."""
        filled = int(self.count)
        return self.rows[:filled], self.ids[:filled]

    @torch.no_grad()
    def push(self, rows: Tensor, ids: Tensor) -> None:
        """Enqueue ``rows`` (n, dim) with ``ids`` (n,), dropping the oldest rows when full."""
        if rows.shape[0] >= self.size:
            rows, ids = rows[-self.size :], ids[-self.size :]
        n = rows.shape[0]
        start = int(self.pointer)
        slots = (torch.arange(n, device=self.rows.device) + start) % self.size
        self.rows[slots] = rows.detach().to(self.rows.dtype)
        self.ids[slots] = ids.to(self.ids.device, torch.long)
        self.pointer.fill_((start + n) % self.size)
        self.count.fill_(min(self.size, int(self.count) + n))

    def reset(self) -> None:
        """Empty the queue (after re-clustering, when the stored ids mean something else)."""
        self.count.zero_()
        self.pointer.zero_()
        self.ids.fill_(-1)

    def extra_repr(self) -> str:
        return f"size={self.size}, dim={self.rows.shape[1]}"


class MemoryBankLoss(_GroupContrastive):
    """SupCon L_out with a memory bank of negatives (see the module docstring).

    ``forward(features, group_ids)``: features (N, D) with all views stacked, group_ids (N,)
    integers (data-set indices for SimCLR, labels for SupCon, cluster ids for Cl-InfoNCE).
    Returns a scalar; in training mode the rows are then enqueued.

    Args:
        memory_size: K, the rows the bank keeps.
        dim: D, the projection size.
        temperature: t > 0.
        options: the keywords of :class:`~infoclr.losses.SupConLoss`: ``base_temperature``
            (multiply by ``temperature/base_temperature``, the official SupCon code),
            ``chunk_size`` (this many anchors at a time: O(chunk·(N+K)) memory),
            ``gather_distributed`` (under DDP, negatives from every rank and one bank) and
            ``check_finite`` (off by default: a device sync per step).
    """

    def __init__(
        self, memory_size: int, dim: int, temperature: float = 0.1, **options: Any
    ) -> None:
        super().__init__(temperature, **options)
        self.memory = MemoryBank(memory_size, dim)

    def reset_memory(self) -> None:
        self.memory.reset()

    def forward(self, features: Tensor, group_ids: Tensor) -> Tensor:
        check_rows("features", features, self.check_finite, min_rows=1)
        check_ids("group_ids", group_ids, features.shape[0], _STACKED_IDS)
        loss, rows, ids = self._sup_con(features, group_ids, self.memory.contents())
        if self.training:
            self.memory.push(rows.detach(), ids)
        return loss
