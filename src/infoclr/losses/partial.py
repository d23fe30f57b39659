"""Partially labelled contrastive loss module around :func:`infoclr.functional.partial_sup_con`.

Refinement with labels for some rows (``infoclr refine --labels``): rows of one class are
positives, unlabelled rows pair only with their own other view.
"""

from __future__ import annotations

import torch
from torch import Tensor

from infoclr import distributed
from infoclr.errors import InfoclrError
from infoclr.functional.contrastive import check_pair
from infoclr.functional.partial import singleton_ids
from infoclr.losses.contrastive import _RANK_STRIDE, SupConLoss

__all__ = ["PartialSupConLoss"]


class PartialSupConLoss(SupConLoss):
    """SupCon over two views where labels may be unknown (−1): SimCLR for those rows.

    ``forward(z1, z2, labels)``: z1, z2 (B, D) projections of two views of B rows, labels (B,)
    integers with −1 = unknown. Views of rows with one label are positives (Khosla et al.
    2020, L_out; Cl-InfoNCE's official form, Tsai et al. 2021); an unlabelled row's only
    positive is its own other view (NT-Xent, Chen et al. 2020). Returns a scalar.

    Under DDP with ``gather_distributed`` the anchors meet every rank's views, and the
    unlabelled rows of different ranks never share an id.

    Args: those of :class:`~infoclr.losses.SupConLoss` (temperature 0.1 by default).
    """

    def forward(self, z1: Tensor, z2: Tensor, labels: Tensor) -> Tensor:  # type: ignore[override]
        check_pair(z1, z2, self.check_finite)
        if not isinstance(labels, Tensor) or labels.shape != (z1.shape[0],):
            raise InfoclrError(
                f"labels must be a ({z1.shape[0]},) integer tensor, one per row (not per view)"
            )
        offset = distributed.rank() * _RANK_STRIDE if self._use_gather() else 0
        ids = singleton_ids(labels.to(z1.device), offset=offset)
        return super().forward(torch.cat([z1, z2]), torch.cat([ids, ids]))
