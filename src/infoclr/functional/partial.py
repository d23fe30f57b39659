"""Contrastive loss with partial labels: supervised where a row has a label, SimCLR where not.

Two views of B rows; each row has a class label or −1 (unknown). Views of rows of one class are
positives of each other (SupCon L_out, Khosla et al. 2020; Cl-InfoNCE's official form when the
labels are auxiliary clusters, Tsai et al. 2021); a row without a label has one positive, its
own other view (NT-Xent, Chen et al. 2020). All 2B views are anchors and every other view is in
the denominator. With every label −1 this is exactly NT-Xent; with every label known it is
SupCon over the two views.
"""

from __future__ import annotations

import torch
from torch import Tensor

from infoclr.errors import InfoclrError
from infoclr.functional.contrastive import check_pair, sup_con

__all__ = ["partial_sup_con", "singleton_ids"]


def singleton_ids(labels: Tensor, offset: int = 0) -> Tensor:
    """Group ids where every unknown label (−1) becomes a group of its own.

    Args:
        labels: (B,) integer labels, −1 = unknown; known labels must lie in [0, 2**40).
        offset: added to the new ids, so that several calls (ranks) never share one.

    Returns:
        (B,) int64 ids: the known labels unchanged, unknown row i gets ``2**40 + offset + i``
        (no device synchronisation: the ids never depend on the labels' values).
    """
    if not isinstance(labels, Tensor) or labels.dim() != 1 or labels.is_floating_point():
        raise InfoclrError("labels must be a 1-D integer tensor with one label per row")
    labels = labels.long()
    if bool((labels < -1).any()):
        raise InfoclrError("labels must be >= 0, or -1 for an unknown label")
    unknown = labels < 0
    fresh = (1 << 40) + offset + torch.arange(labels.shape[0], device=labels.device)
    return torch.where(unknown, fresh, labels)


def partial_sup_con(
    z1: Tensor,
    z2: Tensor,
    labels: Tensor,
    temperature: float = 0.1,
    chunk_size: int | None = None,
    check_finite: bool = True,
) -> Tensor:
    """SupCon over two views with partial labels (see the module docstring).

    Args:
        z1, z2: (B, D) projections of two views of the same B rows.
        labels: (B,) integer class of each row, −1 where unknown.
        temperature: t > 0.
        chunk_size: evaluate this many anchors at a time (O(chunk·B) memory).
        check_finite: raise on NaN/inf inputs.

    Returns:
        Scalar loss (float32), the mean over the 2B view anchors.
    """
    check_pair(z1, z2, check_finite)
    if not isinstance(labels, Tensor) or labels.shape != (z1.shape[0],):
        raise InfoclrError(
            f"labels must be a ({z1.shape[0]},) integer tensor, one per row (not per view)"
        )
    ids = singleton_ids(labels.to(z1.device))
    return sup_con(
        torch.cat([z1, z2]),
        torch.cat([ids, ids]),
        temperature,
        chunk_size=chunk_size,
        check_finite=False,
    )
