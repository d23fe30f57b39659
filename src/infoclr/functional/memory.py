"""Contrastive loss against a memory bank of past projections, as a pure function.

A memory bank (Wu et al. 2018, "Unsupervised Feature Learning via Non-Parametric Instance
Discrimination"; the queue of He et al. 2020, "Momentum Contrast") holds K projections from
earlier batches with their group ids. They join every anchor's denominator as extra columns;
they are never anchors and get no gradient. Rows of the bank with the anchor's group id are
positives, as in cross-batch memory (Wang et al. 2020, "Cross-Batch Memory for Embedding
Learning"), so that SupCon and Cl-InfoNCE keep their meaning; with instance ids (SimCLR) a bank
row is a positive only when it holds an earlier view of the same input.

For anchor a of the batch, with A(a) = every other batch row and every bank row, and P(a) the
rows of A(a) with a's group id:

    ℓ_a = log Σ_{b∈A(a)} exp s(a,b)  −  (1/|P(a)|) Σ_{p∈P(a)} s(a,p),    s(a,b) = ẑ_a·ẑ_b / t

averaged over the anchors that have a positive. With an empty bank it is
:func:`~infoclr.functional.sup_con`.
"""

from __future__ import annotations

import torch
from torch import Tensor

from infoclr.errors import InfoclrError
from infoclr.functional.contrastive import (
    _check_chunk,
    _masked_mean,
    _normalise,
    check_rows,
    check_temperature,
    sup_con_per_anchor,
)

__all__ = ["memory_sup_con", "memory_sup_con_per_anchor"]


def memory_sup_con_per_anchor(
    z: Tensor,
    group_ids: Tensor,
    memory: Tensor,
    memory_ids: Tensor,
    temperature: float,
    start: int = 0,
    stop: int | None = None,
    chunk_size: int | None = None,
) -> tuple[Tensor, Tensor]:
    """Per-anchor terms for anchors ``z[start:stop]`` against all rows of ``z`` and the bank.

    No input checks (the building block of the loss modules).

    Args:
        z: (N, D) L2-normalised rows, float32.
        group_ids: (N,) integer group ids.
        memory: (K, D) L2-normalised bank rows (no gradient flows into them).
        memory_ids: (K,) their group ids.
        temperature: t > 0.
        start, stop: the anchor rows (default all of ``z``).
        chunk_size: see :func:`~infoclr.functional.row_logsumexp`.

    Returns:
        ``(loss, has_positive)``, both (stop−start,).
    """
    stop = z.shape[0] if stop is None else stop
    if memory.shape[0] == 0:
        return sup_con_per_anchor(z, group_ids, temperature, start, stop, chunk_size)
    columns = torch.cat([z, memory.detach().to(z.dtype)])
    ids = torch.cat([group_ids, memory_ids.to(group_ids.device)])
    return sup_con_per_anchor(columns, ids, temperature, start, stop, chunk_size)


def memory_sup_con(
    features: Tensor,
    group_ids: Tensor,
    memory: Tensor,
    memory_ids: Tensor,
    temperature: float = 0.1,
    base_temperature: float | None = None,
    chunk_size: int | None = None,
    check_finite: bool = True,
) -> Tensor:
    """SupCon L_out over a batch whose denominators also hold a memory bank (module docstring).

    Args:
        features: (N, D) view features, all views stacked; normalised inside.
        group_ids: (N,) integer group ids (instance ids for SimCLR, labels, cluster ids).
        memory: (K, D) earlier projections (normalised inside; K may be 0).
        memory_ids: (K,) their group ids.
        temperature: t > 0.
        base_temperature: if set, multiply the loss by ``temperature / base_temperature``.
        chunk_size: evaluate ``chunk_size`` anchors at a time (O(chunk·(N+K)) memory).
        check_finite: raise on NaN/inf inputs.

    Returns:
        Scalar loss (float32).
    """
    check_rows("features", features, check_finite)
    check_temperature(temperature)
    _check_chunk(chunk_size)
    if base_temperature is not None:
        check_temperature(base_temperature, "base_temperature")
    for name, ids, rows in (("group_ids", group_ids, features), ("memory_ids", memory_ids, memory)):
        if not isinstance(ids, Tensor) or ids.dim() != 1 or ids.is_floating_point():
            raise InfoclrError(f"{name} must be a 1-D integer tensor with one id per row")
        if ids.shape[0] != rows.shape[0]:
            raise InfoclrError(
                f"{name} has {ids.shape[0]} entries for {rows.shape[0]} rows; pass one id per row"
            )
    if memory.dim() != 2 or memory.shape[1] != features.shape[1]:
        raise InfoclrError(
            f"memory must be (K, {features.shape[1]}) like the features, got {tuple(memory.shape)}"
        )
    with torch.autocast(device_type=features.device.type, enabled=False):
        z = _normalise(features)
        bank = _normalise(memory.to(z.device))
        per_anchor, valid = memory_sup_con_per_anchor(
            z, group_ids.to(z.device), bank, memory_ids, temperature, chunk_size=chunk_size
        )
        loss = _masked_mean(per_anchor, valid)
    if base_temperature is not None:
        loss = loss * (temperature / base_temperature)
    return loss
