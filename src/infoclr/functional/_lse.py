"""Row-wise log-sum-exp over cosine similarities, with a hand-written backward.

Every contrastive loss in infoclr reduces to two pieces: a *denominator*, the log-sum-exp of an
anchor's similarities to all other rows, and a *numerator*, a (mean) similarity to its positives.
The numerator is O(N·D) and left to autograd. The denominator is the O(N²·D) part, and this module
evaluates it in two ways:

* dense: E = exp(s/t − k) is built once and reused in backward;
* chunked: blocks of at most ``chunk_size``·N entries (``chunk_size`` anchor rows of the full
  width; the narrower panels of the symmetric route take more rows), or one 2 MiB block where
  that is more; backward recomputes each block, so peak memory is O(chunk_size·N) instead of
  O(N²).

For unit vectors and t ≥ 0.02, exp(s/t) stays within e^±50, so k = 0. Below that, k = 1/t, an
upper bound of s/t, so that no term overflows; E stays symmetric in value and no row-max pass is
needed. Rows whose shifted sum then falls near float32 underflow (only possible for temperatures
below ~0.02) are recomputed exactly with their own maximum.

Where the time goes, and what is done about it (numbers: docs/benchmarks.md):

* The N×N work is walked in blocks of rows sized for the core's cache (see _BLOCK_BYTES), so
  a GEMM's output is exponentiated, summed, scaled and multiplied while it is still in cache
  instead of making one trip to memory per elementwise pass.
* When the anchors are all N rows (NT-Xent, SupCon and Cl-InfoNCE outside a distributed split),
  E is symmetric. Forward then computes only the upper *panels* [lo, hi) × [lo, N): their row
  sums and column sums together give every row's sum, so the forward GEMM and the exp cost half
  of a full pass, and dense mode stores half of E. Backward uses that symmetry as well: the
  gradient of Σ_a g_a·lse_a is (W + Wᵀ) z with W_ab = c_a·E_ab, c_a = g_a / (t · Σ_b E_ab), i.e.
  (E ⊙ (c_a + c_b)) z, which each panel contributes to its own rows and, transposed, to the rows
  below it. Forward + backward is therefore 1.5 GEMMs of work, less than the two full GEMMs of
  the naive route; chunked mode adds a half-GEMM recompute.
* Everything else, a rank's anchor rows ``[start, stop)`` of a gathered batch and rows recomputed
  against underflow (their E row is not their column), takes the general path: full-width row
  blocks and Wᵀ·anchors + W·z, two GEMMs in backward.

Everything is float32 (or z's dtype) throughout; no lower-precision exp is used, because the
losses are held equal to the float64 loop references and to the peers to 1e-5.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

# A row sum below this means its largest term was shifted by more than ~57 nats: too close to
# float32 underflow to trust, so that row is recomputed with its own maximum.
_UNDERFLOW_GUARD = 1e-25

# Rows per block of the (n×N) matrix on the CPU: ~2 MiB, so that a block stays in a core's cache
# between the GEMM that writes it and the passes that read it, but at least 256 rows. The floor
# is there because the mirrored half of each panel's backward is a GEMM whose inner dimension is
# the block's row count, and it re-reads the gradient rows below the panel once per panel:
# measured on 2 cores at N = 16384, 32-row panels (what 2 MiB gives) were ~1.5× slower than
# 256-row ones; at N = 4096, 128- and 256-row blocks were alike, and whole-matrix passes and
# 0.5 MiB blocks 10-25% slower. Accelerators have no such cache to fit and pay per kernel launch:
# they get 256 MiB blocks (a single block up to N ≈ 8192), which still bound the scratch buffers.
_BLOCK_BYTES = 2 << 20
_MIN_BLOCK_ROWS = 256
_DEVICE_BLOCK_BYTES = 256 << 20
# A chunk is never thinner than this: a smaller block saves no memory worth its kernel calls.
_MIN_CHUNK_BYTES = 2 << 20


def _block_rows(n: int, z: Tensor, chunk_size: int | None) -> int:
    """Rows per block of the (n×N) matrix (see _BLOCK_BYTES), at most ``n`` and, in chunked
    mode, at most ``chunk_size`` rows or one 2 MiB block, whichever is more: a block thinner
    than that saves no memory worth its kernel calls (at N = 512, 16-row chunks made the
    chunked path 6× the dense one)."""
    row_bytes = max(1, z.shape[0] * z.element_size())
    budget = _BLOCK_BYTES if z.device.type == "cpu" else _DEVICE_BLOCK_BYTES
    step = max(_MIN_BLOCK_ROWS, budget // row_bytes)
    if chunk_size is not None:
        step = min(step, max(chunk_size, _MIN_CHUNK_BYTES // row_bytes))
    return max(1, min(step, n))


# Below this 1/t, exp(s/t) for unit vectors lies within e^±50: no overflow and no underflow in
# float32 (row sums stay below 3e38 up to N ~ 1e16), so no shift is needed and the GEMM writes
# s/t directly (no broadcast copy of a shift into its output first).
_UNSHIFTED_MAX_INV_T = 50.0


def _fill_exp(
    out: Tensor, scaled: Tensor, rows_t: Tensor, shift: Tensor | None, col: int
) -> Tensor:
    """Write exp(scaled·rows_t − shift) into ``out``; zero each anchor's self-similarity.

    Args:
        out: (m, w) destination, contiguous.
        scaled: (m, D) anchors already divided by t.
        rows_t: (D, w) the columns' rows, transposed.
        shift: None (no shift), or (1, 1) / (m, 1), subtracted inside the GEMM.
        col: column of anchor 0's own row, so anchor i's self-similarity sits at (i, col + i).

    Returns:
        ``out``.
    """
    if shift is None:
        torch.mm(scaled, rows_t, out=out)
    else:
        torch.addmm(shift, scaled, rows_t, beta=-1.0, out=out)
    out.exp_().diagonal(col).zero_()
    return out


def _exact_rows(anchors: Tensor, rows: Tensor, inv_t: float, cols: Tensor) -> tuple[Tensor, Tensor]:
    """Log-sum-exp with each row's own maximum, for the few rows whose shifted sum underflowed.

    Args:
        anchors: (k, D); rows: (N, D); cols: (k,), the column of each anchor's own row.

    Returns:
        ``(lse, probs)``: (k,) exact log-sum-exp and (k, N) softmax rows (self entry 0).
    """
    logits = torch.mm(anchors, rows.t()).mul_(inv_t)
    logits[torch.arange(cols.numel(), device=logits.device), cols] = float("-inf")
    lse = torch.logsumexp(logits, dim=1)
    return lse, torch.exp(logits - lse[:, None])


def _panels(n: int, step: int) -> list[tuple[int, int, int]]:
    """(lo, hi, offset) of each upper panel: rows [lo, hi), columns [lo, n), flat offset.

    Every panel holds at most ``step · n`` entries, the size of the first one: as the panels
    narrow towards the bottom of the matrix they grow taller, which halves their number (each
    costs a few kernel calls and re-reads the gradient rows below it) at the same memory and
    cache footprint."""
    out, offset, lo = [], 0, 0
    while lo < n:
        width = n - lo
        hi = lo + min(width, max(step, step * n // width))
        out.append((lo, hi, offset))
        offset += (hi - lo) * width
        lo = hi
    return out


class _RowLogSumExp(torch.autograd.Function):
    """lse_a = log Σ_{b≠a} exp(z_a·z_b / t) for anchors a in rows [start, stop) of z."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx, z: Tensor, start: int, stop: int, temperature: float, chunk_size: int | None
    ) -> Tensor:
        inv_t = 1.0 / temperature
        # E = exp(s/t − k); k = 1/t bounds the exponent by 0 when 1/t is too large for float32.
        k = 0.0 if inv_t <= _UNSHIFTED_MAX_INV_T else inv_t
        shift = None if k == 0.0 else torch.full((1, 1), k, dtype=z.dtype, device=z.device)
        scaled = z * inv_t
        anchors = scaled[start:stop]
        n, n_cols = anchors.shape[0], z.shape[0]
        dense = chunk_size is None or chunk_size >= n
        symmetric = start == 0 and stop == n_cols
        step = _block_rows(n, z, None if dense else chunk_size)
        like = {"dtype": z.dtype, "device": z.device}
        z_t = z.t()
        if symmetric:
            # Upper panels only: panel [lo, hi) × [lo, N) gives its rows' sums over columns ≥ lo
            # and, through its column sums, the later rows' sums over columns [lo, hi).
            panels = _panels(n, step)
            sums = torch.zeros(n, **like)
            last = panels[-1]
            size = last[2] + (last[1] - last[0]) * (n - last[0]) if dense else step * n
            store = torch.empty(size, **like)
            for lo, hi, offset in panels:
                m, w = hi - lo, n - lo
                block = store.narrow(0, offset if dense else 0, m * w).view(m, w)
                _fill_exp(block, anchors[lo:hi], z_t[:, lo:], shift, 0)
                sums[lo:hi] += block.sum(dim=1)
                if hi < n:
                    sums[hi:] += block[:, m:].sum(dim=0)
        else:
            sums = torch.empty(n, **like)
            store = torch.empty(n if dense else step, n_cols, **like)
            for lo in range(0, n, step):
                hi = min(lo + step, n)
                block = store[lo:hi] if dense else store[: hi - lo]
                _fill_exp(block, anchors[lo:hi], z_t, shift, start + lo)
                torch.sum(block, dim=1, out=sums[lo:hi])
        bad = (sums < _UNDERFLOW_GUARD).nonzero().squeeze(1)
        lse = sums.log_().add_(k)
        if bad.numel():
            lse_bad, probs = _exact_rows(z[start:stop][bad], z, inv_t, bad + start)
            lse[bad] = lse_bad
            if dense and not symmetric:
                # These rows of the stored E now hold the softmax itself.
                store[bad] = probs
        # Rows recomputed against underflow break E's symmetry: backward then recomputes the
        # exact softmax, so a symmetric store would be dead weight.
        keep = dense and not (symmetric and bad.numel())
        ctx.save_for_backward(z, lse, store if keep else None, bad)
        ctx.start, ctx.stop, ctx.inv_t, ctx.k, ctx.step = start, stop, inv_t, k, step
        return lse

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_lse: Tensor):  # type: ignore[override]
        z, lse, stored, bad = ctx.saved_tensors
        start, stop, inv_t, k, step = ctx.start, ctx.stop, ctx.inv_t, ctx.k, ctx.step
        n, n_cols = stop - start, z.shape[0]
        like = {"dtype": z.dtype, "device": z.device}
        buffer = torch.empty(step * n_cols, **like)
        grad = torch.zeros_like(z)
        scaled, z_t = z * inv_t, z.t()

        if start == 0 and stop == n_cols and bad.numel() == 0:
            # Symmetric E: grad = (E ⊙ (c_a + c_b)) z with c_a = g_a / (t·Σ_b E_ab), and
            # Σ_b E_ab = exp(lse_a − k). Panel [lo, hi) × [lo, N) of that matrix, W, adds
            # W·z[lo:] to rows [lo, hi) and, as its mirror image below the diagonal,
            # W[:, hi-lo:]ᵀ·z[lo:hi] to rows [hi, N).
            c = torch.exp(k - lse).mul_(grad_lse).mul_(inv_t)
            c_col, c_row = c[:, None], c[None, :]
            shift = None if k == 0.0 else torch.full((1, 1), k, **like)
            recompute = None if stored is not None else torch.empty_like(buffer)
            for lo, hi, offset in _panels(n, step):
                m, w = hi - lo, n - lo
                if recompute is None:
                    block = stored.narrow(0, offset, m * w).view(m, w)
                else:
                    block = recompute.narrow(0, 0, m * w).view(m, w)
                    _fill_exp(block, scaled[lo:hi], z_t[:, lo:], shift, 0)
                weights = buffer.narrow(0, 0, m * w).view(m, w)
                torch.add(c_col[lo:hi], c_row[:, lo:], out=weights).mul_(block)
                grad[lo:hi].addmm_(weights, z[lo:])
                if hi < n:
                    grad[hi:].addmm_(weights[:, m:].t(), z[lo:hi])
            return grad, None, None, None, None

        # General path: W = softmax rows scaled by g_a/t; grad = Wᵀ·anchors, plus W·z on the
        # anchors' own rows. Two GEMMs per block.
        anchors = z[start:stop]
        scale = grad_lse * inv_t
        if stored is not None:
            # Stored rows are exp(s/t − k); the softmax is that times exp(k − lse_a).
            # Rows recomputed against underflow already hold the softmax.
            row_factor = torch.exp(k - lse)
            row_factor[bad] = 1.0
            scale = scale * row_factor
        for lo in range(0, n, step):
            hi = min(lo + step, n)
            weights = buffer.narrow(0, 0, (hi - lo) * n_cols).view(hi - lo, n_cols)
            if stored is not None:
                torch.mul(stored[lo:hi], scale[lo:hi, None], out=weights)
            else:
                # Recompute with each row's exact lse as the shift: the softmax itself, exact
                # for every row, including those recomputed against underflow.
                shift = lse[lo:hi, None]
                _fill_exp(weights, scaled[start + lo : start + hi], z_t, shift, start + lo)
                weights.mul_(scale[lo:hi, None])
            grad.addmm_(weights.t(), anchors[lo:hi])
            grad[start + lo : start + hi].addmm_(weights, z)
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
        chunk_size: evaluate blocks of at most ``chunk_size``·N similarities (``chunk_size``
            anchors of the full width; never less than one 2 MiB block) and recompute them in
            backward, so that the full (N×N) matrix is never held. ``None`` is the dense path.

    Returns:
        (stop-start,) tensor, ``log Σ_{b≠a} exp(z_a·z_b / t)``, in z's dtype.
    """
    stop = z.shape[0] if stop is None else stop
    return _RowLogSumExp.apply(z, start, stop, temperature, chunk_size)
