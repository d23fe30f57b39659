"""Loss modules: configuration and distributed behaviour around :mod:`infoclr.functional`.

Every module takes ``gather_distributed``. When it is True and a multi-rank process group is
running, each rank's anchors meet the negatives of *every* rank (through the differentiable
:func:`infoclr.distributed.gather`). The returned value is the loss of the whole global batch on
every rank, and its gradient is scaled so that DDP's gradient averaging yields exactly the
single-process gradient of that global loss. With ``gather_distributed=False`` each rank computes
the loss of its own batch only, which is what lightly and solo-learn do by default.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

from infoclr import distributed
from infoclr.errors import InfoclrError
from infoclr.functional import cl_info_nce, nt_xent, sup_con
from infoclr.functional.contrastive import (
    _STACKED_IDS,
    _masked_mean,
    _normalise,
    _with_memory,
    check_ids,
    check_pair,
    check_rows,
    check_temperature,
    sup_con_per_anchor,
)

__all__ = ["ClInfoNCELoss", "NTXentLoss", "SupConLoss"]

# Instance ids of different ranks must never collide; ranks hold far fewer rows than this.
_RANK_STRIDE = 1 << 32


def _global_mean(per_anchor: Tensor, valid: Tensor) -> Tensor:
    """The mean of ``per_anchor`` over the ``valid`` anchors of every rank (each rank holds
    its own anchors' terms). Its value is the global loss on every rank; its gradient is the
    local one, scaled so that DDP's gradient averaging gives the single-process gradient."""
    world = distributed.world_size()
    n_valid = distributed.all_reduce_sum(valid.sum()).clamp(min=1)
    local = (per_anchor * valid).sum() * (world / n_valid)
    global_value = distributed.all_reduce_sum(local.detach()) / world
    return local + (global_value - local.detach())


class _GroupContrastive(nn.Module):
    """Shared machinery: SupCon L_out over stacked views with group ids, optionally gathered.

    Its signature and defaults are :class:`SupConLoss`'s.
    """

    def __init__(
        self,
        temperature: float = 0.1,
        base_temperature: float | None = None,
        chunk_size: int | None = None,
        gather_distributed: bool = True,
        check_finite: bool = False,
    ) -> None:
        super().__init__()
        check_temperature(temperature)
        if base_temperature is not None:
            check_temperature(base_temperature, "base_temperature")
        self.temperature = temperature
        self.base_temperature = base_temperature
        self.chunk_size = chunk_size
        self.gather_distributed = gather_distributed
        self.check_finite = check_finite

    def _scale(self) -> float:
        if self.base_temperature is None:
            return 1.0
        return self.temperature / self.base_temperature

    def _sup_con(
        self, features: Tensor, group_ids: Tensor, memory: tuple[Tensor, Tensor] | None = None
    ) -> tuple[Tensor, Tensor, Tensor]:
        """SupCon of this rank's anchors against every rank's rows (when gathering) and the
        ``memory`` rows and ids, if any. Returns the loss and the normalised rows and ids its
        anchors met in the batch (every rank's when gathering)."""
        gather = self._use_gather()
        with torch.autocast(device_type=features.device.type, enabled=False):
            z = _normalise(features)
            ids = group_ids.to(z.device)
            rows, offset = distributed.gather(z) if gather else (z, 0)
            row_ids = distributed.gather(ids)[0] if gather else ids
            columns, column_ids = _with_memory(rows, row_ids, memory)
            per_anchor, valid = sup_con_per_anchor(
                columns, column_ids, self.temperature, offset, offset + z.shape[0], self.chunk_size
            )
            loss = _global_mean(per_anchor, valid) if gather else _masked_mean(per_anchor, valid)
        return loss * self._scale(), rows, row_ids

    def _use_gather(self) -> bool:
        return self.gather_distributed and distributed.is_distributed()

    def extra_repr(self) -> str:
        return (
            f"temperature={self.temperature}, base_temperature={self.base_temperature}, "
            f"chunk_size={self.chunk_size}, gather_distributed={self.gather_distributed}"
        )


class NTXentLoss(_GroupContrastive):
    """SimCLR's NT-Xent loss (Chen et al. 2020, "A Simple Framework for Contrastive Learning").

    ``forward(z1, z2)``: z1, z2 are (B, D) projections of two views of the same B inputs.
    Returns the scalar mean over the 2B anchors of ``−s(a,p(a)) + log Σ_{b≠a} exp s(a,b)``.

    Args:
        temperature: t > 0; 0.5 is usual on small images, 0.1-0.2 on ImageNet.
        chunk_size: evaluate this many anchors at a time (memory O(chunk·B) instead of O(B²)).
        gather_distributed: under DDP, take negatives from every rank (see module docstring).
        check_finite: raise on NaN/inf inputs. Off by default: inside training it would wait
            for the device at every step; training checks its inputs when they are loaded
            and stops on a non-finite loss instead (``StopOnNonFinite``).
    """

    def __init__(
        self,
        temperature: float = 0.5,
        chunk_size: int | None = None,
        gather_distributed: bool = True,
        check_finite: bool = False,
    ) -> None:
        super().__init__(temperature, None, chunk_size, gather_distributed, check_finite)

    def forward(self, z1: Tensor, z2: Tensor) -> Tensor:
        if not self._use_gather():
            return nt_xent(z1, z2, self.temperature, self.chunk_size, self.check_finite)
        check_pair(z1, z2, self.check_finite)
        instance = torch.arange(z1.shape[0], device=z1.device) + distributed.rank() * _RANK_STRIDE
        return self._sup_con(torch.cat([z1, z2]), torch.cat([instance, instance]))[0]


class SupConLoss(_GroupContrastive):
    """Supervised contrastive loss, L_out form (Khosla et al. 2020).

    ``forward(features, group_ids)``: features (N, D) with all views stacked, group_ids (N,)
    integers. Positives are the other rows with the same id; anchors without a positive are left
    out of the mean. Returns a scalar.

    Args:
        temperature: t > 0.
        base_temperature: multiply by ``temperature/base_temperature`` (official code: 0.07).
        chunk_size, gather_distributed, check_finite: as in :class:`NTXentLoss`.
    """

    def forward(self, features: Tensor, group_ids: Tensor) -> Tensor:
        if not self._use_gather():
            return sup_con(
                features,
                group_ids,
                self.temperature,
                self.base_temperature,
                self.chunk_size,
                self.check_finite,
            )
        check_rows("features", features, self.check_finite, min_rows=1)
        check_ids("group_ids", group_ids, features.shape[0], _STACKED_IDS)
        return self._sup_con(features, group_ids)[0]


class ClInfoNCELoss(_GroupContrastive):
    """Cl-InfoNCE (Tsai et al. 2021, arXiv 2106.02869): same-cluster views are positives.

    ``forward(z1, z2, cluster_ids)``: z1, z2 (B, D) projections of two views, cluster_ids (B,).
    ``form="official"`` is SupCon over both views with cluster ids (what the authors' code
    computes); ``form="paper"`` draws one same-cluster positive per anchor from the other view
    (see :func:`infoclr.functional.cl_info_nce`). The paper form is computed per rank.

    Args:
        temperature: t > 0 (0.1 for attribute clusters, 0.2 for k-means in the official runs).
        form: ``"official"`` or ``"paper"``.
        base_temperature: official form; multiply by ``temperature/base_temperature``.
        chunk_size, gather_distributed, check_finite: as in :class:`NTXentLoss`.
    """

    def __init__(
        self,
        temperature: float = 0.1,
        form: Literal["official", "paper"] = "official",
        base_temperature: float | None = None,
        chunk_size: int | None = None,
        gather_distributed: bool = True,
        check_finite: bool = False,
    ) -> None:
        super().__init__(
            temperature, base_temperature, chunk_size, gather_distributed, check_finite
        )
        if form not in ("official", "paper"):
            raise InfoclrError(f"form must be 'official' or 'paper', got {form!r}")
        self.form = form

    def forward(self, z1: Tensor, z2: Tensor, cluster_ids: Tensor) -> Tensor:
        if self.form == "paper" or not self._use_gather():
            return cl_info_nce(
                z1,
                z2,
                cluster_ids,
                self.temperature,
                form=self.form,
                base_temperature=self.base_temperature,
                chunk_size=self.chunk_size,
                check_finite=self.check_finite,
            )
        check_pair(z1, z2, self.check_finite)
        if cluster_ids.shape[0] != z1.shape[0]:
            raise InfoclrError(
                f"cluster_ids has {cluster_ids.shape[0]} entries but z1 has {z1.shape[0]} rows; "
                "pass one cluster id per input"
            )
        ids = cluster_ids.to(z1.device)
        return self._sup_con(torch.cat([z1, z2]), torch.cat([ids, ids]))[0]
