"""Row-wise log-sum-exp over cosine similarities, with a hand-written backward.

Every contrastive loss in infoclr reduces to two pieces: a *denominator*, the log-sum-exp of an
anchor's similarities to all other rows, and a *numerator*, a (mean) similarity to its positives.
The numerator is O(N·D) and left to autograd. The denominator is the O(N²·D) part, and this module
evaluates it in two ways:

* dense: one (n×N) similarity matrix, exponentiated in place and reused in backward;
* chunked: ``chunk_size`` anchor rows at a time with a streaming log-sum-exp; backward recomputes
  each chunk, so peak memory is O(chunk_size·N) instead of O(N²).

Both shift the logits by the constant ``1/temperature``, an upper bound for unit vectors, so that
the similarity matrix stays symmetric in value and no row-max pass is needed. Rows whose sum then
falls near float32 underflow (only possible for temperatures below ~0.02) are recomputed exactly
with their own maximum.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

# A row sum below this means its largest term was shifted by more than ~57 nats: too close to
# float32 underflow to trust, so that row is recomputed with its own maximum.
_UNDERFLOW_GUARD = 1e-25


def _exp_block(
    anchors: Tensor, rows: Tensor, inv_t: float, self_offset: int | None
) -> tuple[Tensor, Tensor]:
    """exp(s - shift) for a block of anchors against ``rows``, self-similarity zeroed.

    Returns the block (n, N), the natural log-sum-exp per anchor (n,), and the shift per anchor
    (n,): 1/t for ordinary rows, the exact lse for rows recomputed against underflow.
    """
    # s/t − 1/t straight out of the GEMM (alpha scales, beta adds the shift), then one in-place
    # exp: two passes over the (n, N) block instead of four.
    shift = torch.full((1, 1), -inv_t, dtype=anchors.dtype, device=anchors.device)
    block = torch.addmm(shift, anchors, rows.t(), alpha=inv_t).exp_()
    if self_offset is not None:
        n = anchors.shape[0]
        idx = torch.arange(n, device=block.device)
        block[idx, idx + self_offset] = 0.0
    sums = block.sum(dim=1)
    lse = torch.log(sums) + inv_t
    shift = torch.full_like(lse, inv_t)
    bad = sums < _UNDERFLOW_GUARD
    if bool(bad.any()):
        bad_idx = bad.nonzero().squeeze(1)
        exact = torch.mm(anchors[bad_idx], rows.t()).mul_(inv_t)
        if self_offset is not None:
            exact[torch.arange(bad_idx.numel(), device=block.device), bad_idx + self_offset] = (
                float("-inf")
            )
        lse_bad = torch.logsumexp(exact, dim=1)
        lse[bad_idx] = lse_bad
        shift[bad_idx] = lse_bad
        block[bad_idx] = torch.exp(exact - lse_bad[:, None])
    return block, lse, shift


class _RowLogSumExp(torch.autograd.Function):
    """lse_a = log Σ_{b≠a} exp(z_a·z_b / t) for anchors a in rows [start, stop) of z."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx, z: Tensor, start: int, stop: int, temperature: float, chunk_size: int | None
    ) -> Tensor:
        inv_t = 1.0 / temperature
        anchors = z[start:stop]
        n = anchors.shape[0]
        if chunk_size is None or chunk_size >= n:
            block, lse, shift = _exp_block(anchors, z, inv_t, start)
            ctx.save_for_backward(z, lse, shift)
            # Held outside save_for_backward because backward scales it in place.
            ctx.block = block
            ctx.dense = True
        else:
            lse = torch.empty(n, dtype=z.dtype, device=z.device)
            for lo in range(0, n, chunk_size):
                hi = min(lo + chunk_size, n)
                lse[lo:hi] = _exp_block(anchors[lo:hi], z, inv_t, start + lo)[1]
            ctx.save_for_backward(z, lse)
            ctx.dense = False
        ctx.start, ctx.stop, ctx.inv_t, ctx.chunk_size = start, stop, inv_t, chunk_size
        return lse

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_lse: Tensor):  # type: ignore[override]
        start, stop, inv_t = ctx.start, ctx.stop, ctx.inv_t
        if ctx.dense:
            z, lse, shift = ctx.saved_tensors
            block = ctx.block
            if getattr(ctx, "consumed", False):
                # A second backward (retain_graph=True): the buffer was scaled in place by the
                # first one, so rebuild it.
                block, _, shift = _exp_block(z[start:stop], z, inv_t, start)
            ctx.consumed = True
            # d lse_a / d s_ab = softmax_ab = block_ab·exp(shift_a - lse_a). The saved buffer is
            # scaled in place (one pass, no second N×N allocation).
            weights = block.mul_((torch.exp(shift - lse) * grad_lse * inv_t)[:, None])
            grad = torch.mm(weights.t(), z[start:stop])
            grad[start:stop] += torch.mm(weights, z)
            del weights, block
            ctx.block = None
            return grad, None, None, None, None
        z, lse = ctx.saved_tensors
        grad = torch.zeros_like(z)
        anchors = z[start:stop]
        chunk = ctx.chunk_size
        for lo in range(0, anchors.shape[0], chunk):
            hi = min(lo + chunk, anchors.shape[0])
            block = torch.addmm(-lse[lo:hi, None], anchors[lo:hi], z.t(), alpha=inv_t).exp_()
            idx = torch.arange(hi - lo, device=z.device)
            block[idx, idx + start + lo] = 0.0
            block.mul_(grad_lse[lo:hi, None] * inv_t)
            grad[start + lo : start + hi] += torch.mm(block, z)
            grad.addmm_(block.t(), anchors[lo:hi])
            # Free this chunk before the next one is allocated: peak memory is one block.
            del block
        return grad, None, None, None, None


def row_logsumexp(
    z: Tensor,
    temperature: float,
    start: int = 0,
    stop: int | None = None,
    chunk_size: int | None = None,
) -> Tensor:
    """Log-sum-exp of each anchor's scaled similarities to every *other* row.

    Args:
        z: (N, D) L2-normalised rows.
        temperature: the softmax temperature t > 0.
        start, stop: the anchors are rows ``z[start:stop]`` (default: all rows). Columns are
            always all N rows, which is how one rank's anchors meet every rank's negatives.
        chunk_size: evaluate ``chunk_size`` anchors at a time and recompute in backward, so
            that the full (N×N) matrix is never held. ``None`` is the dense path.

    Returns:
        (stop-start,) tensor, ``log Σ_{b≠a} exp(z_a·z_b / t)``, in z's dtype.
    """
    stop = z.shape[0] if stop is None else stop
    return _RowLogSumExp.apply(z, start, stop, temperature, chunk_size)
