"""The one differentiable all_gather, and small helpers around torch.distributed.

Contrastive losses want negatives from every rank. :func:`gather` concatenates a tensor from all
ranks along dim 0 and keeps the autograd graph: in backward, each rank receives the *sum over
ranks* of the gradients that flowed into its slice. Combined with a loss that averages over the
rank's own anchors (scaled as in :mod:`infoclr.losses`) and DDP's gradient averaging, every
parameter gets exactly the gradient of the single-process loss on the concatenated batch.

Ranks may hold different numbers of rows (a short last batch): sizes are exchanged first and the
rows padded for the collective.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch import Tensor


def is_distributed() -> bool:
    """True inside an initialised process group with more than one rank."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def world_size() -> int:
    return dist.get_world_size() if is_distributed() else 1


def rank() -> int:
    return dist.get_rank() if is_distributed() else 0


def _all_sizes(n: int, device: torch.device) -> list[int]:
    size = torch.tensor([n], device=device, dtype=torch.long)
    sizes = [torch.zeros_like(size) for _ in range(dist.get_world_size())]
    dist.all_gather(sizes, size)
    return [int(s.item()) for s in sizes]


def _gather_padded(x: Tensor, sizes: list[int]) -> Tensor:
    longest = max(sizes)
    if x.shape[0] < longest:
        pad = x.new_zeros((longest - x.shape[0], *x.shape[1:]))
        x = torch.cat([x, pad], dim=0)
    parts = [torch.empty_like(x) for _ in sizes]
    dist.all_gather(parts, x.contiguous())
    return torch.cat([p[:n] for p, n in zip(parts, sizes, strict=True)], dim=0)


class _Gather(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, sizes: list[int]) -> Tensor:  # type: ignore[override]
        ctx.sizes = sizes
        ctx.rank = dist.get_rank()
        return _gather_padded(x, sizes)

    @staticmethod
    def backward(ctx, grad: Tensor):  # type: ignore[override]
        grad = grad.contiguous()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        start = sum(ctx.sizes[: ctx.rank])
        return grad[start : start + ctx.sizes[ctx.rank]], None


def gather(x: Tensor) -> tuple[Tensor, int]:
    """Concatenate ``x`` (n_r, ...) from all ranks along dim 0, differentiably.

    Returns:
        ``(gathered, offset)``: the (Σ n_r, ...) tensor ordered by rank, and the row where this
        rank's own rows start. Outside a multi-rank group, ``(x, 0)``.
    """
    if not is_distributed():
        return x, 0
    sizes = _all_sizes(x.shape[0], x.device)
    offset = sum(sizes[: dist.get_rank()])
    if x.requires_grad:
        return _Gather.apply(x, sizes), offset
    return _gather_padded(x, sizes), offset


def all_reduce_sum(x: Tensor) -> Tensor:
    """Sum of ``x`` over ranks (no gradient); ``x`` itself when not distributed."""
    if not is_distributed():
        return x
    x = x.detach().clone()
    dist.all_reduce(x, op=dist.ReduceOp.SUM)
    return x
